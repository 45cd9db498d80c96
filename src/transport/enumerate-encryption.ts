import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { SessionConnector } from '../connector/session-connector.js';
import { X224Connector } from '../connector/x224-connector.js';
import type { EncryptionMethodAnswer, StageResult } from '../probe/types.js';
import { runSession, runX224 } from './exchange.js';
import { connectTcp } from './tcp.js';
import { captureHook, type ProbeCapture } from './capture-tap.js';
import { Slots } from './slots.js';

/** CS_SECURITY encryptionMethods bits (MS-RDPBCGR 2.2.1.3.3); NONE offers nothing. */
const METHODS: { method: EncryptionMethodAnswer['method']; bits: number }[] = [
  { method: 'NONE', bits: 0 },
  { method: '40BIT', bits: 0x01 },
  { method: '56BIT', bits: 0x08 },
  { method: '128BIT', bits: 0x02 },
  { method: 'FIPS', bits: 0x10 },
];

/**
 * Which standard-security encryption methods the server accepts: one connection per method, each asking for
 * standard RDP security and offering only that method in CS_SECURITY, read up to the Connect-Response. Accepted
 * means the server chose exactly that method; a server that picks another one, or disconnects, did not accept it.
 * (nmap's rdp-enum-encryption asks the same question; it calls a method accepted on any answer that echoes it.)
 * The methods are asked in order, each on a connection slot from `slots` (default: one at a time), so several can
 * be in flight when the caller has slots to spare; a server that did not answer one Connect-Initial is not asked
 * the methods that had not started yet.
 */
export async function enumerateEncryption(
  address: string,
  port: number,
  o: { stageTimeoutMs: number; signal: AbortSignal; legacy: boolean; capture?: ProbeCapture; slots?: Slots },
): Promise<{ methods: EncryptionMethodAnswer[]; level?: string; connections: number }> {
  const slots = o.slots ?? new Slots(1);
  let connections = 0;
  let silent = false;
  const levels: (string | undefined)[] = [];
  const ask = async (m: (typeof METHODS)[number], i: number): Promise<EncryptionMethodAnswer> => {
    const release = await slots.take();
    try {
      if (o.signal.aborted) return { method: m.method, accepted: null, answer: 'cut: the probe deadline passed' };
      // A server that did not answer one Connect-Initial will not answer the next: do not wait four more times.
      if (silent) return { method: m.method, accepted: null, answer: 'not asked: the server did not answer the previous Connect-Initial' };
      connections++;
      const r = await askOne(address, port, o, m);
      if (r.silent) silent = true;
      levels[i] = r.level;
      return r.answer;
    } finally {
      release();
    }
  };
  // Each method takes its slot in order (take() serves waiters first come, first served).
  const methods = await Promise.all(METHODS.map((m, i) => ask(m, i)));
  const level = levels.find((l) => l !== undefined);
  return { methods, ...(level ? { level } : {}), connections };
}

async function askOne(
  address: string,
  port: number,
  o: { stageTimeoutMs: number; signal: AbortSignal; capture?: ProbeCapture },
  m: (typeof METHODS)[number],
): Promise<{ answer: EncryptionMethodAnswer; level?: string; silent?: boolean }> {
  let s: net.Socket | undefined;
  try {
    s = await connectTcp(address, port, o.stageTimeoutMs, o.signal, captureHook(o.capture, `encryption methods: standard RDP security offering ${m.method}`, address, port));
    const x = new X224Connector({ requestedProtocols: 0, negFlags: 0 });
    const xo = await runX224(s, x, o.stageTimeoutMs, o.signal);
    if (!xo.ok || (xo.selectedProtocol & 0x0b) !== 0) {
      return { answer: { method: m.method, accepted: null, answer: xo.ok ? `the server selected ${String(xo.facts.selected)}` : `no standard security on this connection (${xo.error.kind})` } };
    }
    const c = new SessionConnector({
      selectedProtocol: 0,
      legacy: xo.legacy,
      encryptionMethods: m.bits,
      clientName: 'rdp-probe',
      clientRandom: randomBytes(32),
      licenseClientRandom: randomBytes(32),
      licensePreMasterSecret: randomBytes(48),
      stopAfterConnectResponse: true,
    });
    let mcs: Pick<StageResult, 'status' | 'facts' | 'error'> | undefined;
    await runSession(s, c, o.stageTimeoutMs, o.signal, (out) => {
      if (out.stage === 'mcs') mcs = { status: out.ok ? 'ok' : 'failed', facts: out.facts, ...(out.error ? { error: out.error } : {}) };
    }, () => {}, x.leftover());
    if (mcs?.status === 'ok') {
      const chose = String(mcs.facts?.['encryptionMethod'] ?? '?');
      const level = typeof mcs.facts?.['encryptionLevel'] === 'string' ? (mcs.facts['encryptionLevel'] as string) : undefined;
      return { answer: { method: m.method, accepted: chose === m.method, answer: `chose ${chose}` }, ...(level ? { level } : {}) };
    }
    if (mcs?.error?.kind === 'timeout') return { answer: { method: m.method, accepted: null, answer: 'no Connect-Response within the stage deadline' }, silent: true };
    if (mcs?.error) {
      const refused = ['disconnect_provider_ultimatum', 'closed', 'reset', 'mcs_connect_rejected', 'gcc_create_rejected'].includes(mcs.error.kind);
      return { answer: { method: m.method, accepted: refused ? false : null, answer: mcs.error.codeName ? `${mcs.error.kind} (${mcs.error.codeName})` : mcs.error.kind } };
    }
    return { answer: { method: m.method, accepted: null, answer: 'no answer' } };
  } catch (e) {
    return { answer: { method: m.method, accepted: null, answer: `connection failed: ${e instanceof Error ? e.message : String(e)}` } };
  } finally {
    s?.destroy();
  }
}
