/**
 * The three stage machines under fuzz: X224Connector, CredsspConnector and SessionConnector, fed server flights
 * (real ones from the captures and transcripts, scripted ones from the project's server-side encoders, random
 * bytes), with frames mutated and the byte stream cut into arbitrary chunks, then a close or a deadline. The
 * contract: no call throws, each is bounded in time, exactly one 'done' comes out by the end, nothing after it,
 * and the connector never holds more than one maximal frame of unconsumed bytes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { CredsspConnector, type CredsspConfig } from '../../src/connector/credssp-connector.js';
import { SessionConnector, type SessionConfig } from '../../src/connector/session-connector.js';
import { X224Connector } from '../../src/connector/x224-connector.js';
import { concat } from '../../src/protocol/codec/bytes.js';
import { MAX_DER_FRAME_LENGTH } from '../../src/protocol/credssp/der.js';
import { encodeTsRequest } from '../../src/protocol/credssp/ts-request.js';
import { encodeServerConnectResponse, encodeServerData } from '../../src/protocol/gcc/server-data.js';
import { encodeLicenseErrorAlert, encodeValidClientAlert } from '../../src/protocol/licensing.js';
import {
  encodeMcsAttachUserConfirm,
  encodeMcsChannelJoinConfirm,
  encodeMcsDisconnectProviderUltimatum,
  encodeMcsSendDataIndication,
} from '../../src/protocol/mcs/domain.js';
import { encodeNegFailure, encodeNegResponse } from '../../src/protocol/nego.js';
import { SEC } from '../../src/protocol/security/constants.js';
import { wrapSecured } from '../../src/protocol/security/header.js';
import { defaultServerCapabilities, encodeDemandActive, encodeEnhancedSecurityRedirection, encodeSetErrorInfo } from '../../src/protocol/share/index.js';
import { encodeConnectionConfirm, encodeDataTpdu, decodeX224Frame } from '../../src/protocol/x224.js';
import { loadCorpus, OWN_CAPTURES } from './corpus.js';
import { applyMutations, describeMutations, mutationArb, type Mutation } from './mutate.js';

/** The biggest frame each connector may wait for: TPKT's 16-bit length, fast-path's 15 bits, our DER limit. */
export const MAX_FRAME: Record<ConnectorKind, number> = { x224: 0xffff, credssp: MAX_DER_FRAME_LENGTH, session: 0xffff };
export const MAX_CALL_MS = 2000;

export type ConnectorKind = 'x224' | 'credssp' | 'session';
type AnyAction = { type: string };

/** One connector behind a common face; `pending` is the unconsumed byte count (read from its private buffer). */
export interface Driven {
  start(): AnyAction[];
  receive(b: Uint8Array): AnyAction[];
  closed(how: 'eof' | 'reset', alert?: string): AnyAction[];
  timedOut(ms: number): AnyAction[];
  readonly isDone: boolean;
  pending(): number;
}

function drive(c: X224Connector | CredsspConnector | SessionConnector): Driven {
  return {
    start: () => c.start(),
    receive: (b) => c.receive(b),
    closed: (how, alert) => (c instanceof X224Connector ? c.closed(how) : c.closed(how, alert)),
    timedOut: (ms) => c.timedOut(ms),
    get isDone() {
      return c.isDone;
    },
    // A white-box look: the buffers are private, and bounded buffering is exactly what is being checked.
    pending: () => (c as unknown as { buffer: Uint8Array }).buffer.length,
  };
}

// ---- configurations ----

const X224_REQUESTS = [0, 1, 3, 0x0b];

interface TranscriptConfig {
  name: string;
  config: CredsspConfig;
  server: Uint8Array[];
}

const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/**
 * The test account of the SAM file the transcripts were recorded against (captures/README.md): with it the
 * recorded server pubKeyAuth verifies, so mutations reach the nla_auth and authz states too.
 */
const TEST_ACCOUNT_PASSWORD: Record<string, string> = {
  'shadow-nla_auth_ok': 'Passw0rd!',
  'shadow-nla_session_delegate': 'Passw0rd!',
};

let transcriptCache: TranscriptConfig[] | undefined;

function transcripts(): TranscriptConfig[] {
  if (transcriptCache) return transcriptCache;
  transcriptCache = [];
  for (const f of readdirSync(OWN_CAPTURES).filter((x) => x.endsWith('.transcript.jsonl')).sort()) {
    const name = f.replace('.transcript.jsonl', '');
    const lines = readFileSync(path.join(OWN_CAPTURES, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { dir: string; hex: string; event?: string });
    const cfg = JSON.parse(Buffer.from(lines[0]!.hex, 'hex').toString('utf8')) as {
      mode: CredsspConfig['mode'];
      user: string | null;
      domain?: string;
      subjectPublicKey: string;
      hybridEx: boolean;
      clientVersion: number;
      targetName: string;
      channelBindings?: string;
      random: { clientChallenge: string; sessionKey: string; nonce: string };
      nowMs: number;
    };
    const password = TEST_ACCOUNT_PASSWORD[name];
    const config: CredsspConfig = {
      mode: cfg.mode,
      ...(cfg.user !== null ? { credentials: { user: cfg.user, domain: cfg.domain ?? '', password: password ?? 'not-the-password' } } : {}),
      subjectPublicKey: unhex(cfg.subjectPublicKey),
      hybridEx: cfg.hybridEx,
      clientVersion: cfg.clientVersion,
      targetName: cfg.targetName,
      ...(cfg.channelBindings ? { channelBindings: unhex(cfg.channelBindings) } : {}),
      random: { clientChallenge: unhex(cfg.random.clientChallenge), sessionKey: unhex(cfg.random.sessionKey), nonce: unhex(cfg.random.nonce) },
      nowMs: cfg.nowMs,
    };
    const server = lines.slice(1).filter((l) => l.dir === 'server' && !l.event && l.hex).map((l) => unhex(l.hex));
    transcriptCache.push({ name, config, server });
    // The delegate exchange once more under HYBRID_EX, so the Early User Authorization Result state is reached.
    if (cfg.mode === 'delegate') transcriptCache.push({ name: `${name} (HYBRID_EX)`, config: { ...config, hybridEx: true }, server: [...server, Uint8Array.of(0, 0, 0, 0)] });
  }
  return transcriptCache;
}

const SESSION_BASE: SessionConfig = {
  selectedProtocol: 1,
  requestedProtocols: 1,
  legacy: false,
  encryptionMethods: 0x1b,
  clientName: 'rdp-probe',
  clientRandom: new Uint8Array(32).fill(7),
  licenseClientRandom: new Uint8Array(32).fill(8),
  licensePreMasterSecret: new Uint8Array(48).fill(9),
};

// ---- flights ----

export interface Flight {
  name: string;
  /** Which configuration of the connector it is played against. */
  variant: number;
  frames: Uint8Array[];
}

const USER = 1007;
const IO = 1003;
const onIo = (payload: Uint8Array): Uint8Array => encodeDataTpdu(encodeMcsSendDataIndication({ initiator: 1002, channelId: IO, userData: payload }));

/** A TLS-path session flight built with the server-side encoders: Connect-Response to Demand Active, or a refusal. */
function scriptedSession(): Flight[] {
  const cr = encodeDataTpdu(encodeServerConnectResponse({ result: 0, serverData: encodeServerData({ core: { version: 0x00080004, clientRequestedProtocols: 1 }, security: { encryptionMethod: 0, encryptionLevel: 0 }, net: { mcsChannelId: IO, channelIds: [1004, 1005] } }) }));
  const joins = [
    encodeDataTpdu(encodeMcsAttachUserConfirm({ result: 0, initiator: USER })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: USER, channelId: USER })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: IO, channelId: IO })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: 1004, channelId: 1004 })),
    encodeDataTpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: 1005, channelId: 1005 })),
  ];
  const license = (p: Uint8Array): Uint8Array => onIo(wrapSecured(p, SEC.LICENSE_PKT));
  const demand = onIo(encodeDemandActive({ shareId: 0x103ea, capabilities: defaultServerCapabilities() }));
  return [
    { name: 'scripted ok', variant: 0, frames: [cr, ...joins, license(encodeValidClientAlert()), demand] },
    { name: 'scripted license error', variant: 0, frames: [cr, ...joins, license(encodeLicenseErrorAlert({ errorCode: 6, stateTransition: 1 }))] },
    { name: 'scripted errinfo + DPUm', variant: 0, frames: [cr, ...joins, license(encodeValidClientAlert()), onIo(encodeSetErrorInfo({ shareId: 0x103ea, errorInfo: 7 })), encodeDataTpdu(encodeMcsDisconnectProviderUltimatum(1))] },
    { name: 'scripted redirection', variant: 0, frames: [cr, ...joins, license(encodeValidClientAlert()), onIo(encodeEnhancedSecurityRedirection({ sessionId: 3, targetNetAddress: '10.1.2.3', targetFqdn: 'host7.example.test' } as Parameters<typeof encodeEnhancedSecurityRedirection>[0]))] },
  ];
}

/** TPKT frames of a stream (stopping at the first non-TPKT byte). */
function tpktFrames(s: Uint8Array, max = 40): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= s.length && s[at] === 3 && out.length < max) {
    const len = (s[at + 2]! << 8) | s[at + 3]!;
    if (len < 4 || at + len > s.length) break;
    out.push(s.subarray(at, at + len));
    at += len;
  }
  return out;
}

let flightCache: Record<ConnectorKind, Flight[]> | undefined;
/** Session variants: 0 = TLS path; 1 = standard RDP security (a real capture's server answers after its CC). */
const SESSION_VARIANTS: SessionConfig[] = [SESSION_BASE, { ...SESSION_BASE, selectedProtocol: 0, requestedProtocols: 0 }];

export function flights(): Record<ConnectorKind, Flight[]> {
  if (flightCache) return flightCache;
  const corpus = loadCorpus();
  const x224: Flight[] = [
    { name: 'CC RDP_NEG_RSP SSL', variant: 1, frames: [encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegResponse({ flags: 0x1f, selectedProtocol: 1 }) })] },
    { name: 'CC RDP_NEG_FAILURE', variant: 2, frames: [encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) })] },
    { name: 'legacy CC', variant: 0, frames: [encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0 })] },
  ];
  const session: Flight[] = scriptedSession();
  for (const s of corpus.streams.filter((x) => x.direction === 'server')) {
    const frames = tpktFrames(s.bytes);
    if (frames.length === 0) continue;
    x224.push({ name: s.source, variant: x224.length % X224_REQUESTS.length, frames: [frames[0]!, s.bytes.subarray(frames[0]!.length, frames[0]!.length + 2048)] });
    let cc;
    try {
      cc = decodeX224Frame(frames[0]!);
    } catch {
      continue;
    }
    if (cc.type !== 'connection_confirm' || frames.length < 2) continue;
    const selected = cc.neg?.type === 'response' ? cc.neg.selectedProtocol : 0;
    if (selected === 0) session.push({ name: s.source, variant: 1, frames: frames.slice(1) });
  }
  const credssp: Flight[] = transcripts().map((t, i) => ({ name: t.name, variant: i, frames: t.server }));
  credssp.push({ name: 'TSRequest errorCode', variant: 0, frames: [encodeTsRequest({ version: 6, errorCode: 0xc000006d })] });
  flightCache = { x224, credssp, session };
  return flightCache;
}

export function makeConnector(kind: ConnectorKind, variant: number): Driven {
  switch (kind) {
    case 'x224':
      return drive(new X224Connector({ requestedProtocols: X224_REQUESTS[variant % X224_REQUESTS.length]!, negFlags: 0 }));
    case 'credssp': {
      const t = transcripts();
      return drive(new CredsspConnector(t[variant % t.length]!.config));
    }
    case 'session':
      return drive(new SessionConnector(SESSION_VARIANTS[variant % SESSION_VARIANTS.length]!));
  }
}

// ---- one run ----

export type Ending = { how: 'eof' } | { how: 'reset' } | { how: 'alert'; alert: string } | { how: 'timeout'; ms: number };

export interface ConnectorPlan {
  variant: number;
  /** The server's bytes, in the order it sends them. */
  stream: Uint8Array;
  /** Chunk sizes (cycled; each at least 1). */
  chunks: number[];
  ending: Ending;
  /** How the stream was made (for the report). */
  how: string;
}

/** Plays one plan; says how the connector broke the contract, or undefined. */
export function checkConnector(kind: ConnectorKind, p: ConnectorPlan, seen?: Map<string, number>): { why: string; stack?: string } | undefined {
  let c: Driven;
  let dones = 0;
  let afterDone = 0;
  const take = (as: AnyAction[]): void => {
    for (const a of as) {
      if (dones > 0) afterDone++;
      if (a.type === 'done') dones++;
      if (seen) {
        const key = stageKey(kind, a);
        if (key) seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
  };
  const timed = (what: string, fn: () => AnyAction[]): string | undefined => {
    const t0 = performance.now();
    take(fn());
    const ms = performance.now() - t0;
    return ms > MAX_CALL_MS ? `${what} took ${ms.toFixed(0)} ms` : undefined;
  };
  try {
    c = makeConnector(kind, p.variant);
    take(c.start());
    let at = 0;
    for (let i = 0; at < p.stream.length; i++) {
      const n = Math.max(1, p.chunks.length > 0 ? p.chunks[i % p.chunks.length]! : p.stream.length);
      const slow = timed(`receive #${i}`, () => c.receive(p.stream.subarray(at, at + n)));
      if (slow) return { why: slow };
      at += n;
      if (!c.isDone && c.pending() > MAX_FRAME[kind] + n) return { why: `holds ${c.pending()} unconsumed bytes (more than one ${MAX_FRAME[kind]}-byte frame)` };
    }
    const e = p.ending;
    const slow = timed(e.how, () => (e.how === 'timeout' ? c.timedOut(e.ms) : e.how === 'alert' ? c.closed('reset', e.alert) : c.closed(e.how)));
    if (slow) return { why: slow };
  } catch (err) {
    return { why: `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) };
  }
  if (dones !== 1) return { why: `${dones} 'done' actions by the end (one expected)` };
  if (afterDone > 0) return { why: `${afterDone} actions after 'done'` };
  if (!c.isDone) return { why: "isDone is false after 'done'" };
  return undefined;
}

/** 'nla_auth ok', 'mcs failed: malformed_pdu', 'x224 failed: not_rdp'...: what the runs reached, for the counts. */
function stageKey(kind: ConnectorKind, a: AnyAction): string | undefined {
  if (kind === 'x224') {
    if (a.type !== 'done') return undefined;
    const o = (a as unknown as { outcome: { ok: boolean; error?: { kind: string } } }).outcome;
    return o.ok ? 'x224 ok' : `x224 failed: ${o.error?.kind}`;
  }
  if (a.type !== 'stage') return undefined;
  const o = (a as unknown as { outcome: { stage: string; ok: boolean; error?: { kind: string } } }).outcome;
  return o.ok ? `${o.stage} ok` : `${o.stage} failed: ${o.error?.kind}`;
}

// ---- arbitraries ----

const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.constant({ how: 'eof' as const }),
  fc.constant({ how: 'reset' as const }),
  fc.constantFrom('access_denied', 'internal_error', 'handshake_failure').map((alert) => ({ how: 'alert' as const, alert })),
  fc.integer({ min: 1, max: 60_000 }).map((ms) => ({ how: 'timeout' as const, ms })),
);

const chunksArb = fc.oneof(
  fc.constant([] as number[]),
  fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
  fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 8 }),
);

/** A flight with some frames mutated (and sometimes dropped, repeated or followed by junk), or random bytes. */
export function planArb(kind: ConnectorKind): fc.Arbitrary<ConnectorPlan> {
  const fl = flights()[kind];
  const all = fl.flatMap((f) => f.frames);
  const perFrame = fc.option(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 });
  const mutatedFlight = fc
    .record({
      f: fc.nat({ max: fl.length - 1 }),
      edits: fc.array(perFrame, { maxLength: 40 }),
      keep: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
      tail: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 }), { nil: undefined, freq: 4 }),
      chunks: chunksArb,
      ending: endingArb,
    })
    .map(({ f, edits, keep, tail, chunks, ending }): ConnectorPlan => {
      const flight = fl[f]!;
      const frames = flight.frames.slice(0, keep === undefined ? undefined : Math.max(1, keep)).map((fr, i) => {
        const ms: Mutation[] | undefined = edits[i];
        return ms ? applyMutations(fr, ms, all) : fr;
      });
      const stream = tail ? concat(...frames, tail) : concat(...frames);
      const described = edits.map((e, i) => (e ? `frame ${i}: ${describeMutations(e)}` : '')).filter(Boolean);
      return { variant: flight.variant, stream, chunks, ending, how: `${flight.name}; ${described.join('; ') || 'unmutated'}${tail ? ' + junk' : ''}` };
    });
  const random = fc
    .record({ variant: fc.nat({ max: 7 }), stream: fc.uint8Array({ maxLength: 512 }), chunks: chunksArb, ending: endingArb })
    .map((r): ConnectorPlan => ({ ...r, how: 'random bytes' }));
  return fc.oneof({ weight: 4, arbitrary: mutatedFlight }, { weight: 1, arbitrary: random });
}

/**
 * Bounded buffering: more than 1 MiB behind a maximal frame header (filler, or `block` repeated: frames the
 * connector skips), in chunks. The connector must stop (done) or keep no more than one maximal frame.
 */
export function checkFlood(
  kind: ConnectorKind,
  variant: number,
  header: Uint8Array,
  filler: number,
  chunk: number,
  make: () => Driven = () => makeConnector(kind, variant),
  block: Uint8Array = new Uint8Array(chunk).fill(filler),
): string | undefined {
  const c = make();
  c.start();
  const total = (1 << 20) + 1;
  c.receive(header);
  let fed = header.length;
  while (fed < total && !c.isDone) {
    c.receive(block);
    fed += block.length;
    if (c.pending() > MAX_FRAME[kind] + chunk) return `after ${fed} bytes it holds ${c.pending()} unconsumed bytes`;
  }
  return undefined;
}
