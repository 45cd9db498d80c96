/**
 * `check --record FILE.pcapng`: every connection the probe makes, rebuilt as TCP segments (SYN, SYN-ACK, ACK,
 * data with the sequence numbers the bytes imply, FIN or RST as observed) carrying the exact bytes sent and
 * received, with their wall-clock times, and the TLS key log of every TLS socket in a Decryption Secrets Block,
 * so Wireshark and `rdp-probe analyze` read the file decrypted.
 *
 * What the segments cannot show: the kernel's own packetisation, retransmissions and window updates (one segment
 * per chunk the socket saw, split at MSS); whether our close was a FIN or a RST is not observable from Node
 * (a FIN is written); the ports of a connection that never completed are made up.
 *
 * The password, and what the key log exposes. The file holds the TLS secrets, so whatever crossed TLS is as
 * readable as plaintext to anyone who has the file. What crosses TLS with credentials:
 *  - NTLM NEGOTIATE/CHALLENGE/AUTHENTICATE: the AUTHENTICATE carries the user name and the NTLMv2 response (an
 *    HMAC keyed by the NT hash, NTProofStr), never the password. As with any capture of an NTLM logon, a weak
 *    password can be guessed offline from it: keep the file as you would a password hash.
 *  - pubKeyAuth / clientNonce: sealed with NTLM keys, and hold the server's public key, not a secret of ours.
 *  - TSCredentials (only with --delegate, under NLA): the password, sealed (RC4) with the client sealing key. That
 *    key derives from the exported session key, which travels encrypted under the key-exchange key, which derives
 *    from the NT hash of the password: without the password (or its hash) the file does not open the TSCredentials.
 *  - The Client Info PDU with a password (--delegate without NLA): under TLS it is protected by nothing but TLS,
 *    so the key log in the file would give it away; under standard RDP security it is RC4 with keys from a client
 *    random encrypted to the server's RSA key (often 512-bit) or, at encryption level NONE, not encrypted at all.
 *    A recording where that can have happened is refused (recordingRefusal), and every file is checked for the
 *    password in UTF-8, UTF-16LE and hex before it is written (findSecret).
 */
import { encodeTcpPacket, encodePcapng, TCP_FLAG, type PcapngPacket } from '../pcap/pcapng-writer.js';
import type { ConnectionLog, ProbeCapture } from '../transport/capture-tap.js';
import type { ProbeReport } from './types.js';
import { concatAll } from '../protocol/codec/bytes.js';

/** Largest payload per synthesized segment (fits an IPv4 or IPv6 packet with room to spare). */
const MSS = 32 * 1024;
/** Bound on what one recording keeps (the probe's own bytes are far below: a session is tens of KiB). */
export const MAX_RECORDED_BYTES = 64 * 1024 * 1024;

type Ev =
  | { k: 'connected'; t: number; local: string; port: number }
  | { k: 'data'; t: number; from: 'client' | 'server'; bytes: Uint8Array }
  | { k: 'server_closed'; t: number; how: 'fin' | 'rst' | 'refused' }
  | { k: 'client_closed'; t: number };

interface Conn {
  index: number;
  label: string;
  address: string;
  port: number;
  synUs: number;
  events: Ev[];
}

export interface RecorderMeta {
  tool: string;
  version: string;
  /** host:port as typed. */
  target: string;
  /** The command line without secrets, for the comment. */
  command?: string;
  os?: string;
}

export class PcapngRecorder implements ProbeCapture {
  private readonly conns: Conn[] = [];
  private readonly keylogLines: Uint8Array[] = [];
  private bytes = 0;
  /** Set when MAX_RECORDED_BYTES was reached: later bytes were not kept. */
  overflowed = false;

  constructor(private readonly meta: RecorderMeta) {}

  get connections(): number {
    return this.conns.length;
  }
  get keylogLineCount(): number {
    return this.keylogLines.length;
  }

  connection(label: string, address: string, port: number, tUs: number): ConnectionLog {
    const c: Conn = { index: this.conns.length, label, address, port, synUs: tUs, events: [] };
    this.conns.push(c);
    const data = (from: 'client' | 'server', bytes: Uint8Array, t: number): void => {
      if (this.bytes + bytes.length > MAX_RECORDED_BYTES) {
        this.overflowed = true;
        return;
      }
      this.bytes += bytes.length;
      c.events.push({ k: 'data', t, from, bytes });
    };
    return {
      connected: (local, lport, t) => c.events.push({ k: 'connected', t, local, port: lport }),
      sent: (b, t) => data('client', b, t),
      received: (b, t) => data('server', b, t),
      serverClosed: (how, t) => c.events.push({ k: 'server_closed', t, how }),
      clientClosed: (t) => c.events.push({ k: 'client_closed', t }),
    };
  }

  keylog(line: Uint8Array): void {
    if (this.keylogLines.length < 10_000) this.keylogLines.push(new Uint8Array(line));
  }

  /** The file: packets of every connection in time order, the key log before them. */
  toPcapng(recordedAt: Date = new Date()): Uint8Array {
    const packets: (PcapngPacket & { order: number })[] = [];
    for (const c of this.conns) for (const p of segments(c)) packets.push({ ...p, order: packets.length });
    packets.sort((a, b) => a.timestampUs - b.timestampUs || a.order - b.order);
    const keylog = concatAll(this.keylogLines);
    const m = this.meta;
    const comment =
      `${m.tool} ${m.version} ${m.command ?? `check ${m.target}`}: the probe's own ${this.conns.length} connection(s) to ${m.target}, recorded ${recordedAt.toISOString()}. ` +
      `TCP/IP headers are synthesized around the exact bytes sent and received; ${this.keylogLines.length > 0 ? 'the TLS secrets are in the Decryption Secrets Block' : 'no TLS secrets (no TLS connection)'}.` +
      (this.overflowed ? ` Truncated: bytes past ${MAX_RECORDED_BYTES} were not kept.` : '');
    return encodePcapng({
      section: { comment, application: `${m.tool} ${m.version}`, ...(m.os ? { os: m.os } : {}) },
      interfaceName: 'rdp-probe',
      ...(keylog.length > 0 ? { keylog } : {}),
      packets,
    });
  }
}

/** Made-up but valid initial sequence numbers, distinct per connection (nothing random: the file is a function of the events). */
const isn = (index: number, side: 0 | 1): number => ((0x1f000000 + index * 0x01000193 + side * 0x40000000) >>> 0);

function fallbackLocal(remote: string): string {
  if (remote.includes(':')) return remote === '::1' ? '::1' : '::';
  return remote.startsWith('127.') ? '127.0.0.1' : '0.0.0.0';
}

/** The segments of one connection. */
function segments(c: Conn): PcapngPacket[] {
  const connected = c.events.find((e): e is Extract<Ev, { k: 'connected' }> => e.k === 'connected');
  const local = connected?.local && connected.local !== '' ? connected.local : fallbackLocal(c.address);
  const lport = connected?.port || 49152 + (c.index % 16384);
  const cli = { addr: local, port: lport };
  const srv = { addr: c.address, port: c.port };
  let cSeq = isn(c.index, 0);
  let sSeq = isn(c.index, 1);
  let ipId = (c.index * 4099) & 0xffff;
  const out: PcapngPacket[] = [];
  const emit = (from: 'client' | 'server', t: number, flags: number, payload?: Uint8Array, opts?: Uint8Array, comment?: string): void => {
    const [a, b] = from === 'client' ? [cli, srv] : [srv, cli];
    const seq = from === 'client' ? cSeq : sSeq;
    const ack = flags & TCP_FLAG.ACK ? (from === 'client' ? sSeq : cSeq) : 0;
    const data = encodeTcpPacket({ src: a.addr, dst: b.addr, srcPort: a.port, dstPort: b.port, seq, ack, flags, ipId: ipId++, ...(opts ? { tcpOptions: opts } : {}), ...(payload ? { payload } : {}) });
    out.push({ timestampUs: t, data, ...(comment !== undefined ? { comment } : {}) });
  };
  const MSS_OPT = Uint8Array.of(2, 4, (65495 >> 8) & 0xff, 65495 & 0xff);
  const advance = (from: 'client' | 'server', n: number): void => {
    if (from === 'client') cSeq = (cSeq + n) >>> 0;
    else sSeq = (sSeq + n) >>> 0;
  };
  emit('client', c.synUs, TCP_FLAG.SYN, undefined, MSS_OPT, `rdp-probe connection ${c.index + 1}: ${c.label}`);
  advance('client', 1);
  let open = false;
  let clientFin = false;
  let serverFin = false;
  for (const e of c.events) {
    if (e.k === 'connected') {
      emit('server', e.t, TCP_FLAG.SYN | TCP_FLAG.ACK, undefined, MSS_OPT);
      advance('server', 1);
      emit('client', e.t, TCP_FLAG.ACK);
      open = true;
    } else if (e.k === 'data') {
      if (!open || (e.from === 'client' ? clientFin : serverFin)) continue;
      for (let at = 0; at < e.bytes.length; at += MSS) {
        const chunk = e.bytes.subarray(at, Math.min(e.bytes.length, at + MSS));
        emit(e.from, e.t, TCP_FLAG.PSH | TCP_FLAG.ACK, chunk);
        advance(e.from, chunk.length);
      }
    } else if (e.k === 'server_closed') {
      if (e.how === 'refused') {
        // The SYN answered by RST|ACK: ack = ISN + 1.
        emit('server', e.t, TCP_FLAG.RST | TCP_FLAG.ACK);
        return out;
      }
      if (!open || serverFin) continue;
      if (e.how === 'rst') {
        emit('server', e.t, TCP_FLAG.RST | TCP_FLAG.ACK);
        return out;
      }
      emit('server', e.t, TCP_FLAG.FIN | TCP_FLAG.ACK);
      advance('server', 1);
      serverFin = true;
    } else if (e.k === 'client_closed') {
      if (!open || clientFin) continue;
      emit('client', e.t, TCP_FLAG.FIN | TCP_FLAG.ACK);
      advance('client', 1);
      clientFin = true;
      // The server's answer to our FIN is not observed once the socket is gone; its ACK is implied.
      emit('server', e.t, TCP_FLAG.ACK);
    }
  }
  return out;
}

/**
 * Why a recording must not be written, or undefined. With --delegate on a connection without NLA, the password
 * goes (or would have gone, had the certificate been trusted) in the Client Info PDU, which this file would make
 * readable: under TLS because the key log is in it, under standard RDP security because its encryption is weak
 * or none (see the comment at the top).
 */
export function recordingRefusal(report: ProbeReport, o: { delegate?: boolean; credentials?: unknown }): string | undefined {
  if (!o.delegate || o.credentials === undefined) return undefined;
  const x = report.stages.find((s) => s.stage === 'x224');
  const selected = x?.facts?.['selectedProtocol'];
  const nla = typeof selected === 'number' && (selected & 0x0a) !== 0;
  const clientInfo = report.stages.find((s) => s.stage === 'licensing')?.facts?.['clientInfo'] as { password?: string } | undefined;
  if (clientInfo?.password === 'delegated') return 'the password went in the Client Info PDU, which the recording would expose (the TLS key log is in the file, or standard RDP security protected it weakly)';
  if (x?.status === 'ok' && !nla) return `the server selected ${String(x.facts?.['selected'] ?? 'no NLA')}: with --delegate and no NLA the password goes in the Client Info PDU, which a recording would expose`;
  return undefined;
}

/** The encoding in which `secret` appears in `bytes` (UTF-8, UTF-16LE, hex in either case), or undefined. */
export function findSecret(bytes: Uint8Array, secret: string): string | undefined {
  if (secret.length === 0) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hex = Buffer.from(secret, 'utf8').toString('hex');
  const forms: [string, Buffer][] = [
    ['UTF-8', Buffer.from(secret, 'utf8')],
    ['UTF-16LE', Buffer.from(secret, 'utf16le')],
    ['hex', Buffer.from(hex, 'latin1')],
    ['HEX', Buffer.from(hex.toUpperCase(), 'latin1')],
    ['UTF-16LE hex', Buffer.from(Buffer.from(secret, 'utf16le').toString('hex'), 'latin1')],
  ];
  for (const [name, f] of forms) if (buf.indexOf(f) >= 0) return name;
  return undefined;
}
