/**
 * The fuzz corpus: real frames taken apart at every layer the project decodes, built at start from the shared
 * captures (/work/shared/captures/**), our own recordings (captures/*.pcap) and the CredSSP transcripts
 * (captures/*.transcript.jsonl: the plaintext inside TLS), plus the certificates in test/fixtures/x509. Each unit is cut out with the project's own
 * decoders, so a unit is exactly what the next decoder down is handed in the real code path.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowsFromCapture } from '../../src/pcap/index.js';
import { decodeTsRequest } from '../../src/protocol/credssp/ts-request.js';
import { decodeGccConferenceCreateRequest, decodeGccConferenceCreateResponse } from '../../src/protocol/gcc/conference.js';
import { splitBlocks } from '../../src/protocol/gcc/blocks.js';
import { decodeMcsConnectInitial, decodeMcsConnectResponse } from '../../src/protocol/mcs/connect.js';
import { decodeMcsDomainPdu } from '../../src/protocol/mcs/domain.js';
import { certificateList, plaintextHandshakeMessages, splitTlsRecords } from '../../src/protocol/tls-records.js';
import { decodeX224Frame } from '../../src/protocol/x224.js';

export interface Unit {
  /** Where it came from: file and layer, e.g. `loopback/x.pcap server tpkt#3`. */
  source: string;
  layer: string;
  bytes: Uint8Array;
}

/** The repository root: the nearest directory above this file with rdp-probe's package.json (works compiled too). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = path.join(dir, 'package.json');
    if (existsSync(p) && (JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'rdp-probe') return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the rdp-probe repository root');
}

export const ROOT = repoRoot();
export const SHARED_CAPTURES = path.resolve(ROOT, '../shared/captures');
export const OWN_CAPTURES = path.join(ROOT, 'captures');
export const REGRESSIONS = path.join(ROOT, 'test', 'fixtures', 'regressions');

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Every capture file (pcap or pcapng) of the shared set and our recordings. */
export function captureFiles(): string[] {
  return [...walk(SHARED_CAPTURES), ...walk(OWN_CAPTURES)].filter((p) => /\.pcap(ng)?$/.test(p));
}

class Collector {
  readonly units: Unit[] = [];
  private readonly seen = new Set<string>();
  private readonly perLayer = new Map<string, number>();

  constructor(private readonly maxPerLayer: number) {}

  add(source: string, layer: string, bytes: Uint8Array): void {
    if (bytes.length === 0 || bytes.length > 70_000) return;
    const n = this.perLayer.get(layer) ?? 0;
    if (n >= this.maxPerLayer) return;
    const key = `${layer}:${Buffer.from(bytes).toString('base64')}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.perLayer.set(layer, n + 1);
    this.units.push({ source, layer, bytes: bytes.slice() });
  }
}

/** Runs `fn` and ignores a failure: a unit that does not decode simply yields no inner units. */
function attempt(fn: () => void): void {
  try {
    fn();
  } catch {
    /* not this layer */
  }
}

/** TPKT frames from the start of a stream, then TLS records once the stream turns to TLS. */
function takeStream(c: Collector, src: string, stream: Uint8Array): void {
  let at = 0;
  let k = 0;
  while (at + 4 <= stream.length && stream[at] === 0x03 && k < 400) {
    const len = (stream[at + 2]! << 8) | stream[at + 3]!;
    if (len < 4 || at + len > stream.length) break;
    takeTpkt(c, `${src} tpkt#${k++}`, stream.subarray(at, at + len));
    at += len;
  }
  const rest = stream.subarray(at);
  if (rest.length === 0) return;
  if (rest[0]! >= 0x14 && rest[0]! <= 0x17) {
    const { records } = splitTlsRecords(rest, 200);
    records.forEach((r, i) => {
      const raw = rest.subarray(r.offset, r.offset + 5 + r.fragment.length);
      c.add(`${src} tls#${i}`, 'tls-record', raw);
    });
    // The first flight: everything the server sent before the client's next record.
    c.add(`${src} flight`, 'tls-flight', rest.subarray(0, Math.min(rest.length, 16_384)));
    attempt(() => {
      for (const m of plaintextHandshakeMessages(records)) {
        c.add(`${src} hs${m.type}`, 'tls-handshake', m.body);
        if (m.type === 11) for (const cert of certificateList(m.body)) c.add(`${src} cert`, 'x509', cert);
      }
    });
  } else {
    c.add(`${src} rest`, 'other', rest.subarray(0, 4096));
  }
}

function takeTpkt(c: Collector, src: string, frame: Uint8Array): void {
  c.add(src, 'tpkt', frame);
  c.add(`${src} x224`, 'x224', frame.subarray(4));
  attempt(() => {
    const x = decodeX224Frame(frame);
    if (x.type === 'connection_request' || x.type === 'connection_confirm') {
      // The negotiation structure is the last 8 bytes of a CR/CC that has one.
      if (frame.length >= 8 + 11) c.add(`${src} neg`, 'nego', frame.subarray(frame.length - 8));
    }
    if (x.type !== 'data') return;
    c.add(`${src} mcs`, 'mcs', x.data);
    takeMcs(c, src, x.data);
  });
}

function takeMcs(c: Collector, src: string, data: Uint8Array): void {
  attempt(() => {
    const ci = decodeMcsConnectInitial(data);
    c.add(`${src} gcc-req`, 'gcc', ci.userData);
    const g = decodeGccConferenceCreateRequest(ci.userData);
    c.add(`${src} client-data`, 'gcc-data', g.clientData);
    for (const b of splitBlocks(g.clientData, 'client data')) c.add(`${src} block ${b.type.toString(16)}`, 'gcc-block', b.body);
  });
  attempt(() => {
    const cr = decodeMcsConnectResponse(data);
    c.add(`${src} gcc-rsp`, 'gcc', cr.userData);
    const g = decodeGccConferenceCreateResponse(cr.userData);
    c.add(`${src} server-data`, 'gcc-data', g.serverData);
    for (const b of splitBlocks(g.serverData, 'server data')) {
      c.add(`${src} block ${b.type.toString(16)}`, 'gcc-block', b.body);
      // SC_SECURITY: the server certificate sits after method, level, random length, certificate length, random.
      if (b.type === 0x0c02 && b.body.length > 16) {
        const randomLen = b.body[8]! | (b.body[9]! << 8);
        c.add(`${src} server-cert`, 'server-cert', b.body.subarray(16 + randomLen));
      }
    }
  });
  attempt(() => {
    const pdu = decodeMcsDomainPdu(data);
    if (pdu.type !== 'send_data_request' && pdu.type !== 'send_data_indication') return;
    c.add(`${src} send-data`, 'secured', pdu.userData);
    const flags = pdu.userData[0]! | (pdu.userData[1]! << 8);
    // Behind a basic (unencrypted) security header: licensing, or a share PDU when the header is absent.
    if ((flags & 0x0008) === 0) c.add(`${src} after-sec`, 'after-sec', pdu.userData.subarray(4));
    c.add(`${src} share?`, 'share', pdu.userData);
  });
}

/** The CredSSP plaintext of our recorded transcripts: TSRequests and the NTLM messages inside them. */
function takeTranscripts(c: Collector): void {
  for (const file of walk(OWN_CAPTURES).filter((p) => p.endsWith('.transcript.jsonl'))) {
    const name = path.basename(file);
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as { stage?: string; hex?: string; dir?: string };
      if (!m.hex || m.stage === 'config') continue;
      const bytes = new Uint8Array(Buffer.from(m.hex, 'hex'));
      c.add(`${name} ${m.dir} ${m.stage}`, 'der', bytes);
      attempt(() => {
        const req = decodeTsRequest(bytes);
        for (const t of req.negoTokens ?? []) c.add(`${name} ntlm`, 'ntlm', t);
        if (req.authInfo) c.add(`${name} authInfo`, 'opaque', req.authInfo);
      });
    }
  }
}

export interface Corpus {
  units: Unit[];
  captures: { file: string; bytes: Uint8Array }[];
  /** Whole client and server streams of every flow (for the connectors). */
  streams: { source: string; direction: 'client' | 'server'; bytes: Uint8Array }[];
}

let cached: Corpus | undefined;

/** Builds (once per process) the corpus from every capture and transcript; `maxPerLayer` caps each layer. */
export function loadCorpus(maxPerLayer = 400): Corpus {
  if (cached) return cached;
  const c = new Collector(maxPerLayer);
  const captures: Corpus['captures'] = [];
  const streams: Corpus['streams'] = [];
  for (const file of captureFiles()) {
    const bytes = new Uint8Array(readFileSync(file));
    const rel = path.relative(path.dirname(SHARED_CAPTURES), file);
    captures.push({ file: rel, bytes });
    if (bytes.length <= 40_000) c.add(rel, 'capture', bytes);
    let flows;
    try {
      flows = flowsFromCapture(bytes).flows;
    } catch {
      continue;
    }
    flows.slice(0, 40).forEach((f, i) => {
      for (const [dir, s] of [
        ['client', f.clientBytes],
        ['server', f.serverBytes],
      ] as const) {
        if (s.length === 0) continue;
        streams.push({ source: `${rel} flow${i} ${dir}`, direction: dir, bytes: s.subarray(0, 256 * 1024) });
        takeStream(c, `${rel} flow${i} ${dir}`, s);
      }
    });
  }
  takeTranscripts(c);
  const x509 = path.join(ROOT, 'test', 'fixtures', 'x509');
  for (const f of walk(x509).filter((p) => p.endsWith('.der'))) c.add(`fixtures/x509/${path.basename(f)}`, 'x509', new Uint8Array(readFileSync(f)));
  cached = { units: c.units, captures, streams };
  return cached;
}
