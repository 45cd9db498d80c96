/**
 * Offline diagnosis: the same decoders and the same X.224 connector as the live probe, fed from a reassembled
 * TCP stream of a capture instead of a socket. One report per RDP connection in the file, with stage timings
 * taken from the capture's own timestamps. Pure: bytes in, reports out.
 */
import { X224Connector, type X224Outcome } from '../connector/x224-connector.js';
import { DecodeError } from '../protocol/codec/errors.js';
import { toHex } from '../protocol/hex.js';
import { NegReqFlags, protocolNames, SecurityProtocol } from '../protocol/nego.js';
import { bitNames } from '../protocol/gcc/blocks.js';
import { certificateList, inspectServerFlight, plaintextHandshakeMessages, splitTlsRecords } from '../protocol/tls-records.js';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import { decodeX224Frame } from '../protocol/x224.js';
import { certificateFactsForReport, decodeCertificate, type CertificateFacts } from '../protocol/x509.js';
import { createHash } from 'node:crypto';
import { certificateFindings } from '../probe/cert-findings.js';
import { ReportBuilder } from '../probe/report-builder.js';
import { standardRdpSecuritySelected, tlsLegacyVersion } from '../probe/findings.js';
import { formatHostPort } from '../probe/host-port.js';
import { classifyTlsFailure } from '../probe/tls-classify.js';
import { tlsVersionLabel } from '../probe/tls-version.js';
import type { ProbeReport, StageResult } from '../probe/types.js';
import { VERSION } from '../version.js';
import { streamCapture } from './capture.js';
import { decodePacket } from './decode-packet.js';
import { FlowTracker, type TcpFlow } from './tcp-reassembly.js';
import { memorySource, MemorySource, type ByteSource } from './source.js';
import type { CaptureFormat } from './types.js';
import { DSB_TLS_KEY_LOG } from './keylog.js';
import { RdpUdpTracker, type RdpUdpFlow } from './rdpeudp.js';
import { attachTunnels, GATEWAY_BYTES_PER_DIRECTION, gatewayCandidate, gatewayInsideTls, possibleGateways, RD_GATEWAY_UDP_PORT, type GatewayCandidate, type GatewayFlow } from './rd-gateway.js';
import { locate, type Chunk } from './tcp-stream.js';
import { replaySession, type ByteTime } from './session-replay.js';
import { decryptTls } from './tls-decrypt.js';
import { fileDecrypted } from './decrypted.js';
import { KeyLog } from './keylog.js';

export interface AnalyzeOptions {
  /** RDP port for flows that carry no payload (SYN-only, refused). Flows that send an X.224 CR are found on any port. */
  port?: number;
  warnDays?: number;
  /** TLS secrets (SSLKEYLOGFILE lines): TLS connections they open are followed inside (CredSSP, MCS, licensing, activation). */
  keylog?: KeyLog;
}

export interface CaptureAnalysis {
  format: CaptureFormat;
  packets: number;
  tcpFlows: number;
  udpPackets: number;
  truncated: boolean;
  unsupportedLinkTypes: number[];
  /** Connections whose TLS secrets the file itself carried (pcapng Decryption Secrets Blocks), when it did. */
  embeddedSecrets?: number;
  /** One report per RDP connection, in capture order. */
  connections: { flow: number; client: string; server: string; firstFrame: number; report: ProbeReport }[];
  /** SYN-only flows to the RDP port past the first MAX_SYN_ONLY_REPORTS (which have reports), counted by target. */
  synOnly?: SynOnlySummary;
  /** UDP flows with an RDP-UDP (MS-RDPEUDP) handshake, or datagrams on the RDP port: one summary each. */
  rdpUdp?: RdpUdpFlow[];
  /** TLS flows on 443 named as RD Gateway traffic: seen inside with a key log, or "possibly" with evidence. */
  rdGateway?: GatewayFlow[];
}

const TLS_BASED = SecurityProtocol.PROTOCOL_SSL | SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX;

/** SYN-only flows beyond this many get no report of their own: they are counted in `synOnly` by target. */
export const MAX_SYN_ONLY_REPORTS = 1000;
/** Targets named in `synOnly.targets`; the rest are only counted. */
const MAX_SYN_ONLY_TARGETS = 50;
/** Per-target tallies kept while counting (bounded: a scan of a million hosts does not grow this past it). */
const MAX_SYN_ONLY_TALLIES = 10_000;
/** Bytes of each direction of a flow kept for its analysis (the handshakes, CredSSP and the session sequence fit many times over). */
export const STREAM_BYTES_PER_DIRECTION = 4 * 1024 * 1024;
const HTTPS_PORT = 443;
/** RD Gateway flows (and 443 candidates) listed at most. */
const MAX_GATEWAY_FLOWS = 1000;
/**
 * Capture-time idle limits after which a flow is analysed before the end of the file: closed (FIN or RST seen), open
 * (an RDP session quiet for an hour would be split in two: a later packet starts a mid-stream flow), SYN-only.
 */
const IDLE_US = { closed: 120e6, open: 3600e6, synOnly: 300e6 };

/** Throws only DecodeError, when the bytes are not a capture file at all. */
export function analyzeCapture(bytes: Uint8Array, opts: AnalyzeOptions = {}): CaptureAnalysis {
  return analyzeSource(memorySource(bytes), opts);
}

/**
 * The same, read as a stream (e.g. a FileSource): packets are decoded one at a time, each TCP flow is analysed when
 * it ends (or at the end of the file) and then forgotten, flows that are not RDP are dropped at their first client
 * bytes, and SYN-only flows are compact slots. Memory follows the flows open at once, not the file's size.
 */
export function analyzeSource(src: ByteSource, opts: AnalyzeOptions = {}): CaptureAnalysis {
  const port = opts.port ?? 3389;
  const warnDays = opts.warnDays ?? 30;
  const connections: CaptureAnalysis['connections'] = [];
  // Secrets in the file are used like --keylog; both together when both are given.
  let embedded: KeyLog | undefined;
  let merged: KeyLog | undefined = opts.keylog;
  let stale = false;
  const keylogNow = (): KeyLog | undefined => {
    if (stale && embedded) {
      merged = opts.keylog ? KeyLog.merge(opts.keylog, embedded) : embedded;
      stale = false;
    }
    return merged;
  };
  let synOnlyReports = 0;
  const synOnly = new SynOnlyTally();
  let udpPackets = 0;
  const unsupported: number[] = [];
  const udp = new RdpUdpTracker(port);
  const gateways: GatewayFlow[] = [];
  const gatewayCandidates: GatewayCandidate[] = [];
  const streamed = !(src instanceof MemorySource);
  const tracker = new FlowTracker({
    maxBytesPerDirection: STREAM_BYTES_PER_DIRECTION,
    copyPayloads: streamed,
    idleUs: IDLE_US,
    synOnlyPort: port,
    keep: (f) => {
      if (f.server.port === port || f.client.port === port || f.firstClientByte === 0x03 || f.firstClientByte === 0x05) return true;
      // TLS on 443: an RD Gateway shows itself in its first exchanges (with keys) or not at all.
      return f.server.port === HTTPS_PORT && f.firstClientByte === 0x16 ? GATEWAY_BYTES_PER_DIRECTION : false;
    },
    onFlow: (flow) => {
      const client = stripSocks5(flow.clientBytes, flow.serverBytes);
      const looksRdp = client.client[0] === 0x03 || flow.server.port === port;
      if (!looksRdp) {
        if (flow.server.port === HTTPS_PORT && flow.clientBytes[0] === 0x16) {
          const g = gatewayInsideTls(flow, keylogNow());
          if (g) {
            if (gateways.length < MAX_GATEWAY_FLOWS) gateways.push(g);
          } else if (gatewayCandidates.length < MAX_GATEWAY_FLOWS) gatewayCandidates.push(gatewayCandidate(flow));
        }
        return;
      }
      if (flow.clientBytes.length === 0 && flow.handshake === 'complete' && flow.server.port !== port) return;
      if (flow.handshake === 'syn_only' && synOnlyReports >= MAX_SYN_ONLY_REPORTS) {
        synOnly.add(flow);
        return;
      }
      if (flow.handshake === 'syn_only') synOnlyReports++;
      connections.push({ flow: flow.id, client: ep(flow.client), server: ep(flow.server), firstFrame: flow.firstFrame, report: analyzeFlow(flow, client, warnDays, keylogNow()) });
    },
  });
  const capture = streamCapture(src, {
    onSecrets: (sec) => {
      if (sec.type !== DSB_TLS_KEY_LOG) return;
      embedded ??= new KeyLog();
      embedded.add(Buffer.from(sec.data).toString('latin1'));
      stale = true;
    },
    onPacket: (packet) => {
      const d = decodePacket(packet);
      if (d.kind === 'tcp') tracker.push(d.segment);
      else if (d.kind === 'udp') {
        udpPackets++;
        udp.push(d.datagram);
      }
      else if (d.kind === 'unsupported_link' && !unsupported.includes(d.linkType)) unsupported.push(d.linkType);
    },
  });
  tracker.finish();
  connections.sort((a, b) => a.flow - b.flow);
  const rdpUdp = udp.finish();
  const udpGatewayServers = new Set(rdpUdp.filter((u) => u.syn && u.server.endsWith(`:${RD_GATEWAY_UDP_PORT}`)).map((u) => u.server.slice(0, u.server.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1')));
  // The tunnel inside decrypted gateway flows: TSGU steps named, and the tunnelled RDP through the same analysis.
  attachTunnels(gateways, (f) => analyzeFlow(f, { client: f.clientBytes, server: f.serverBytes, clientSkip: 0, serverSkip: 0 }, warnDays, keylogNow()));
  const rdGateway = [...gateways, ...possibleGateways(gatewayCandidates, udpGatewayServers)].sort((a, b) => a.flow - b.flow);
  return {
    format: capture.format,
    packets: capture.packetCount,
    tcpFlows: tracker.flows,
    udpPackets,
    truncated: capture.truncated,
    unsupportedLinkTypes: unsupported,
    ...(embedded ? { embeddedSecrets: embedded.size } : {}),
    connections,
    ...(synOnly.flows > 0 ? { synOnly: synOnly.summary() } : {}),
    ...(rdpUdp.length > 0 ? { rdpUdp } : {}),
    ...(rdGateway.length > 0 ? { rdGateway } : {}),
  };
}

/** SYN-only flows past MAX_SYN_ONLY_REPORTS, by target. */
export interface SynOnlySummary {
  /** Flows counted here (each got no answer to its SYNs), and their SYNs. */
  flows: number;
  syns: number;
  /** Distinct targets among them (at least; counting stops naming new ones past a bound). */
  targets: number;
  firstFrame: number;
  lastFrame: number;
  /** The targets with the most flows, most first. */
  top: { server: string; flows: number; syns: number; firstFrame: number; lastFrame: number }[];
}

class SynOnlyTally {
  flows = 0;
  private syns = 0;
  private first = Infinity;
  private last = 0;
  private targets = 0;
  private readonly by = new Map<string, { flows: number; syns: number; firstFrame: number; lastFrame: number }>();

  add(flow: TcpFlow): void {
    this.flows++;
    this.syns += flow.synFrames.length;
    this.first = Math.min(this.first, flow.firstFrame);
    this.last = Math.max(this.last, flow.lastFrame);
    const key = ep(flow.server);
    const t = this.by.get(key);
    if (t) {
      t.flows++;
      t.syns += flow.synFrames.length;
      t.firstFrame = Math.min(t.firstFrame, flow.firstFrame);
      t.lastFrame = Math.max(t.lastFrame, flow.lastFrame);
    } else {
      this.targets++;
      if (this.by.size < MAX_SYN_ONLY_TALLIES) this.by.set(key, { flows: 1, syns: flow.synFrames.length, firstFrame: flow.firstFrame, lastFrame: flow.lastFrame });
    }
  }

  summary(): SynOnlySummary {
    const top = [...this.by].sort((a, b) => b[1].flows - a[1].flows || a[1].firstFrame - b[1].firstFrame).slice(0, MAX_SYN_ONLY_TARGETS);
    return { flows: this.flows, syns: this.syns, targets: this.targets, firstFrame: this.first, lastFrame: this.last, top: top.map(([server, t]) => ({ server, ...t })) };
  }
}

/** Distinct certificates decoded so far, by DER (a capture repeats its servers' certificates on every connection). */
const certCache = new Map<string, CertificateFacts | DecodeError>();
const MAX_CACHED_CERTS = 1024;

/** decodeCertificate once per distinct DER; a DER that failed fails the same way again. */
function decodeCertificateOnce(der: Uint8Array): CertificateFacts {
  const key = createHash('sha256').update(der).digest('base64');
  let hit = certCache.get(key);
  if (hit === undefined) {
    try {
      hit = decodeCertificate(der);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      hit = e;
    }
    if (certCache.size >= MAX_CACHED_CERTS) certCache.clear();
    certCache.set(key, hit);
  }
  if (hit instanceof DecodeError) throw hit;
  return hit;
}

function ep(e: { address: string; port: number }): string {
  return formatHostPort(e.address, e.port);
}

interface Streams {
  client: Uint8Array;
  server: Uint8Array;
  clientSkip: number;
  serverSkip: number;
  socks?: string;
}

/** A SOCKS5 (RFC 1928) preamble before the RDP bytes: greeting, method, CONNECT and its reply. */
function stripSocks5(c: Uint8Array, s: Uint8Array): Streams {
  const plain: Streams = { client: c, server: s, clientSkip: 0, serverSkip: 0 };
  if (c[0] !== 5 || s[0] !== 5 || c.length < 3) return plain;
  const nMethods = c[1]!;
  let ci = 2 + nMethods;
  let si = 2;
  const addrLen = (b: Uint8Array, at: number): number | undefined => {
    const t = b[at];
    if (t === 1) return 4;
    if (t === 4) return 16;
    if (t === 3) return b[at + 1] === undefined ? undefined : 1 + b[at + 1]!;
    return undefined;
  };
  if (c[ci] !== 5 || c[ci + 1] !== 1) return plain;
  const cl = addrLen(c, ci + 3);
  if (cl === undefined) return plain;
  let dest = '';
  if (c[ci + 3] === 1) dest = `${c[ci + 4]}.${c[ci + 5]}.${c[ci + 6]}.${c[ci + 7]}:${(c[ci + 8]! << 8) | c[ci + 9]!}`;
  ci += 4 + cl + 2;
  if (s[si] !== 5 || s[si + 1] !== 0) return plain;
  const sl = addrLen(s, si + 3);
  if (sl === undefined) return plain;
  si += 4 + sl + 2;
  if (ci > c.length || si > s.length) return plain;
  return { client: c.subarray(ci), server: s.subarray(si), clientSkip: ci, serverSkip: si, socks: dest || 'a SOCKS5 destination' };
}

function analyzeFlow(flow: TcpFlow, st: Streams, warnDays: number, keylog?: KeyLog): ProbeReport {
  let cur = 0;
  const at = (us: number): number => (us - flow.startUs) / 1000;
  const report = new ReportBuilder({ host: flow.server.address, port: flow.server.port, address: flow.server.address }, 'session', () => cur, new Date(flow.startUs / 1000), VERSION);
  const timeOf = (chunks: Chunk[], offset: number): number => {
    const loc = chunks.find((c) => offset >= c.offset && offset < c.offset + c.length) ?? chunks[chunks.length - 1];
    return loc ? at(loc.timestampUs) : 0;
  };
  const frameOf = (chunks: Chunk[], offset: number): string => {
    const l = locate(chunks, offset);
    return l ? `frame #${l.frame}, offset ${l.offsetInFrame}` : 'unknown frame';
  };
  const cut = flow.end.fin === undefined && flow.end.rst === undefined;
  // Who ended the connection is who closed first: when both sent FIN, the other side only answered.
  const firstClose = flow.closes[0];
  const clientEnded = firstClose?.by === 'client';
  const serverClose: 'eof' | 'reset' | undefined = firstClose?.by === 'server' ? (flow.closes.some((c) => c.by === 'server' && c.how === 'rst') ? 'reset' : 'eof') : undefined;
  const endMs = at(flow.endUs);

  report.skip('dns', 'offline: analysed from a capture');
  if (st.socks) report.anomalies.push(`the RDP connection is tunnelled through a SOCKS5 proxy to ${st.socks}`);

  // tcp
  cur = 0;
  const t = report.begin('tcp');
  if (flow.handshake === 'syn_rst') {
    cur = endMs;
    t.end({ status: 'failed', facts: { synFrames: flow.synFrames }, error: { layer: 'transport', kind: 'refused', codeName: 'ECONNREFUSED', message: `the server answered the SYN with RST (frame #${flow.end.rstFrame ?? flow.lastFrame})` } });
    return report.build();
  }
  if (flow.handshake === 'syn_only') {
    cur = endMs;
    t.end({
      status: 'failed',
      facts: { synFrames: flow.synFrames },
      error: { layer: 'transport', kind: 'connect_timeout', message: `${flow.synFrames.length} SYN(s) over ${(endMs / 1000).toFixed(1)} s got no answer (frames ${flow.synFrames.slice(0, 8).join(', ')})` },
    });
    return report.build();
  }
  if (flow.handshake === 'none') report.anomalies.push('the capture starts in the middle of this connection (no SYN)');
  if (flow.handshake === 'syn_synack') {
    cur = endMs;
    t.end({ status: 'ok', facts: { handshake: flow.handshake } });
    report.anomalies.push('the server answered SYN/ACK but the client never completed the handshake (a SYN scan)');
    return report.build();
  }
  cur = st.client.length > 0 ? timeOf(flow.clientChunks, st.clientSkip) : endMs;
  t.end({ status: 'ok', facts: { handshake: flow.handshake, ended: endedBy(flow) } });

  // x224: what the client asked for
  const cr = clientRequest(st.client);
  if (st.client.length === 0) {
    report.anomalies.push(cut ? 'the capture ends before the client sent anything' : 'the client closed without sending an X.224 Connection Request');
    return report.build();
  }
  const x = report.begin('x224');
  const requested = cr.requestedProtocols ?? 0;
  const connector = new X224Connector({ requestedProtocols: requested, negFlags: 0 });
  let len: number | undefined;
  try {
    len = frameLengthTpkt(st.server);
  } catch {
    len = undefined;
  }
  const feed = len !== undefined && len <= st.server.length ? st.server.subarray(0, len) : st.server;
  const rest = len !== undefined && len <= st.server.length ? st.server.subarray(len) : new Uint8Array(0);
  let actions = feed.length > 0 ? connector.receive(feed) : [];
  if (!connector.isDone) {
    if (serverClose) actions = connector.closed(serverClose);
    else if (clientEnded) actions = connector.timedOut(Math.round(endMs - cur));
    else {
      report.anomalies.push('the capture ends while waiting for the X.224 answer');
      cur = endMs;
      return report.build();
    }
  }
  const outcome = actions.find((a) => a.type === 'done')?.outcome as X224Outcome;
  cur = feed.length > 0 ? timeOf(flow.serverChunks, st.serverSkip + feed.length - 1) : endMs;
  const facts: Record<string, unknown> = { ...outcome.facts, clientNegotiation: cr.requestedProtocols !== undefined };
  if (cr.requestedProtocols === undefined && outcome.ok && outcome.legacy) {
    // The client itself sent no RDP_NEG_REQ: a Connection Confirm without negotiation data is the normal answer,
    // not a sign of a legacy server.
    facts['legacy'] = false;
    facts['requested'] = 'none (no RDP_NEG_REQ)';
  }
  if (cr.cookie !== undefined) facts['cookie'] = cr.cookie;
  if (cr.negFlags !== undefined && cr.negFlags !== 0) facts['requestFlags'] = bitNames(cr.negFlags, NegReqFlags);
  if (cr.correlationInfo) facts['correlationInfo'] = true;
  if (cr.error) facts['clientRequestError'] = cr.error;
  if (!outcome.ok) {
    x.end({ status: 'failed', facts, error: { ...outcome.error, message: `${outcome.error.message} (server ${frameOf(flow.serverChunks, st.serverSkip)})` }, ...(outcome.evidence ? { evidence: [outcome.evidence] } : {}) });
    return report.build();
  }
  const sel = outcome.selectedProtocol;
  const clientSentMore = st.client.length > (cr.length ?? st.client.length);
  const rdpSelected = standardRdpSecuritySelected(requested, sel, outcome.legacy);
  if (rdpSelected) {
    report.findings.push(rdpSelected);
    if (!clientSentMore && clientEnded) report.anomalies.push('the client closed the connection right after the server chose standard RDP security, which it had not offered (clients that require TLS abort here)');
  }
  x.end({ status: 'ok', facts, evidence: [outcome.evidence] });

  if ((sel & TLS_BASED) === 0 || outcome.legacy) {
    report.skip('tls', outcome.legacy ? 'no negotiation data: standard RDP security' : `the server selected ${protocolNames(sel)}`);
    for (const s of ['credssp', 'nla_auth', 'authz'] as const) report.skip(s, 'standard RDP security: no CredSSP (NLA)');
    const crLen = cr.length ?? 0;
    const ccLen = len ?? 0;
    replaySession(
      {
        client: st.client.subarray(crLen),
        server: rest,
        clientAt: byteTime(flow.clientChunks, st.clientSkip + crLen, flow.startUs),
        serverAt: byteTime(flow.serverChunks, st.serverSkip + ccLen, flow.startUs),
        selectedProtocol: outcome.legacy ? 0 : sel,
        legacy: outcome.legacy,
        ...(cr.requestedProtocols !== undefined ? { requestedProtocols: cr.requestedProtocols } : {}),
        closes: flow.closes.map((c) => ({ by: c.by, how: c.how, frame: c.frame, ms: at(c.timestampUs) })),
        endMs,

      },
      report,
    );
    cur = endMs;
    return report.build();
  }

  // tls
  const tl = report.begin('tls');
  const tlsStart = st.serverSkip + (len ?? 0);
  const clientTls = splitTlsRecords(st.client.subarray(cr.length ?? 0)).records;
  const clientFinished = clientTls.slice(1).some((r) => r.type === 20 || r.type === 23);
  const clientAlert = clientTls.slice(1).find((r) => r.type === 21 && r.fragment.length === 2);
  const flight = inspectServerFlight(rest);
  const recs = splitTlsRecords(rest);
  cur = rest.length > 0 ? timeOf(flow.serverChunks, tlsStart + Math.max(0, recs.consumed - 1)) : endMs;
  const bad = flight.kind === 'tpkt' || flight.kind === 'not_tls' || (flight.kind === 'alert' && !flight.encrypted) || flight.kind === 'empty';
  if (bad) {
    if (flight.kind === 'empty' && !serverClose && !clientEnded) {
      report.anomalies.push('the capture ends before the server answered the ClientHello');
      return report.build();
    }
    const f = classifyTlsFailure({ message: '', timedOut: flight.kind === 'empty' && !serverClose, closed: serverClose ?? 'none', serverBytes: rest, timeoutMs: Math.round(endMs - cur), legacyAllowed: true });
    tl.end({ status: 'failed', error: f.error, ...(f.evidence ? { evidence: [f.evidence] } : {}) });
    return report.build();
  }
  const tfacts: Record<string, unknown> = {};
  if (flight.kind === 'server_hello') {
    tfacts['version'] = tlsVersionLabel(flight.version);
    tfacts['cipherSuite'] = `0x${flight.cipherSuite.toString(16).padStart(4, '0')}`;
    const legacy = tlsLegacyVersion(flight.version);
    if (legacy) report.findings.push(legacy);
  }
  const cert = plaintextHandshakeMessages(recs.records).find((m) => m.type === 11);
  if (cert) {
    try {
      const list = certificateList(cert.body);
      tfacts['chainLength'] = list.length;
      if (list[0]) {
        const c = decodeCertificateOnce(list[0]);
        tfacts['certificate'] = certificateFactsForReport(c);
        const when = new Date((flow.startUs + cur * 1000) / 1000);
        tfacts['judgedAt'] = when.toISOString();
        report.findings.push(...certificateFindings(c, { now: when, warnDays, host: flow.server.address, caGiven: false }));
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      report.anomalies.push(`the server certificate could not be decoded: ${e.message}`);
    }
  } else if (flight.kind === 'server_hello' && flight.version === 0x0304) {
    tfacts['certificate'] = 'hidden: TLS 1.3 encrypts the Certificate message (a key log opens it)';
  }
  if (clientAlert) {
    const a = inspectServerFlight(st.client.subarray((cr.length ?? 0) + clientAlert.offset));
    tl.end({ status: 'failed', facts: tfacts, error: { layer: 'peer', kind: 'client_alert', message: `the client aborted the handshake with alert ${a.kind === 'alert' ? a.descriptionName : '?'}: it rejected the server's certificate or parameters` } });
    return report.build();
  }
  if (!clientFinished && clientEnded && !serverClose) {
    tl.end({
      status: 'failed',
      facts: tfacts,
      error: { layer: 'peer', kind: 'client_closed_handshake', message: "the client closed the connection after the server's TLS flight without finishing the handshake: it rejected the server certificate or TLS parameters" },
    });
    return report.build();
  }
  if (!clientFinished && serverClose) {
    tl.end({ status: 'failed', facts: tfacts, error: { layer: 'transport', kind: serverClose === 'reset' ? 'tls_reset' : 'tls_closed', message: 'the server closed the connection during the TLS handshake' } });
    return report.build();
  }
  if (!clientFinished) report.anomalies.push('the capture ends before the TLS handshake completes');
  const clientAfterHandshake = clientTls.slice(clientTls.findIndex((r) => r.type === 20) + 2);
  if (clientFinished && clientEnded && clientAfterHandshake.length === 0) report.anomalies.push('the client closed the connection right after the TLS handshake, without sending RDP data or an alert');
  if (clientFinished && clientEnded && closedRightAfterHandshake(clientTls)) {
    tl.end({
      status: 'failed',
      facts: tfacts,
      error: {
        layer: 'peer',
        kind: 'client_closed_after_handshake',
        message: 'the TLS handshake completed, then the client sent only an alert and closed, with no RDP data: the client rejected the server certificate after the handshake (FreeRDP checks it there)',
      },
    });
    return report.build();
  }
  const closes = flow.closes.map((c) => ({ by: c.by, how: c.how, frame: c.frame, ms: at(c.timestampUs) }));
  if (keylog && clientFinished) {
    const dec = decryptTls(clientTls, recs.records, keylog);
    if (dec.ok) {
      tfacts['decrypted'] = `${dec.version}, cipher suite 0x${dec.cipherSuite.toString(16).padStart(4, '0')}, with the key log`;
      for (const [who, d] of [['client', dec.client], ['server', dec.server]] as const) {
        if (d.stopped) report.anomalies.push(`decryption of the ${who}'s records stopped: ${d.stopped}`);
        for (const a of d.alerts) if (a.name !== 'close_notify') report.anomalies.push(`the ${who} sent the encrypted TLS alert ${a.name}`);
      }
      tl.end({ status: 'ok', facts: tfacts });
      const cBase = st.clientSkip + (cr.length ?? 0);
      fileDecrypted(
        {
          client: dec.client,
          server: dec.server,
          clientRecordAt: byteTime(flow.clientChunks, cBase, flow.startUs),
          serverRecordAt: byteTime(flow.serverChunks, tlsStart, flow.startUs),
          selectedProtocol: sel,
          ...(cr.requestedProtocols !== undefined ? { requestedProtocols: cr.requestedProtocols } : {}),
          closes,
          endMs,
        },
        report,
      );
      cur = endMs;
      skipInsideTls(report);
      return report.build();
    }
    report.anomalies.push(`not decrypted: ${dec.reason}`);
  }
  tl.end({ status: 'ok', facts: tfacts });
  if (sel !== SecurityProtocol.PROTOCOL_SSL) {
    const clientBase = st.clientSkip + (cr.length ?? 0);
    const nla = clientFinished ? nlaFromShapes(clientTls, recs.records, serverClose, flow, clientBase, tlsStart, timeOf) : undefined;
    if (nla) for (const r of nla) report.set(r);
    else report.skip('credssp', 'CredSSP runs inside TLS: encrypted in the capture');
  }
  skipInsideTls(report);
  return report.build();
}

/** Who closed or reset the connection and when, in capture order; said even when nothing else is visible. */
function endedBy(flow: TcpFlow): string {
  if (flow.closes.length === 0) return 'neither side closed it in the capture (it ends while the connection is open)';
  return flow.closes.map((c) => `the ${c.by} ${c.how === 'rst' ? 'reset it' : 'closed it (FIN)'} at ${((c.timestampUs - flow.startUs) / 1000).toFixed(1)} ms (frame #${c.frame})`).join(', then ');
}

/** An encrypted alert or close_notify: a plaintext alert record, or (TLS 1.3) 2 bytes + content type + 16-byte tag. */
function alertSized(r: { type: number; fragment: Uint8Array }): boolean {
  return r.type === 21 || (r.type === 23 && r.fragment.length <= 19);
}

/** An NTLM AUTHENTICATE with an NTLMv2 response and pubKeyAuth inside a TSRequest is hundreds of bytes. */
const MIN_AUTHENTICATE_RECORD = 200;
/** A TSRequest with pubKeyAuth (or an errorCode) in one record: well under this; a session's first PDUs are not. */
const MAX_SHORT_ANSWER_RECORD = 160;

/**
 * CredSSP is encrypted in a capture, but its shape is not: the client's first application record after the
 * handshake is the NEGOTIATE, its second the AUTHENTICATE (+ pubKeyAuth). When the server then closes with no
 * application data of its own (at most an alert), the credentials were refused: FreeRDP's server and older
 * Windows end the connection that way. Inferred, and said so; undefined when the shapes do not show it.
 */
function nlaFromShapes(
  clientTls: { type: number; offset: number; fragment: Uint8Array }[],
  serverTls: { type: number; offset: number; fragment: Uint8Array }[],
  serverClose: 'eof' | 'reset' | undefined,
  flow: TcpFlow,
  clientBase: number,
  serverBase: number,
  timeOf: (chunks: Chunk[], offset: number) => number,
): StageResult[] | undefined {
  const clientClose = flow.closes[0]?.by === 'client' ? flow.closes[0] : undefined;
  if (!serverClose && !clientClose) return undefined;
  const ccs = clientTls.findIndex((r) => r.type === 20);
  if (ccs < 0) return undefined;
  const app = clientTls.slice(ccs + 2).filter((r) => r.type === 23 && !alertSized(r));
  const negotiate = app[0];
  const authenticate = app[1];
  if (!negotiate || !authenticate || app.length > 2 || authenticate.fragment.length < MIN_AUTHENTICATE_RECORD) return undefined;
  const tNeg = timeOf(flow.clientChunks, clientBase + negotiate.offset);
  const tAuth = timeOf(flow.clientChunks, clientBase + authenticate.offset);
  const serverAt = serverTls.map((r) => ({ r, t: timeOf(flow.serverChunks, serverBase + r.offset) }));
  const challenge = serverAt.find((x) => x.t >= tNeg && x.t < tAuth && x.r.type === 23 && !alertSized(x.r));
  const after = serverAt.filter((x) => x.t >= tAuth);
  if (!challenge) return undefined;
  const frame = (chunks: Chunk[], off: number): string => `#${locate(chunks, off)?.frame ?? '?'}`;
  const authFrame = frame(flow.clientChunks, clientBase + authenticate.offset);
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  const credssp: StageResult = {
    stage: 'credssp',
    status: 'ok',
    startMs: round(tNeg),
    durationMs: round(challenge.t - tNeg),
    facts: { inferred: `from record sizes (CredSSP is encrypted): the server answered the client's ${negotiate.fragment.length}-byte record with a ${challenge.r.fragment.length}-byte one, as it answers an NTLM NEGOTIATE with a CHALLENGE` },
  };
  if (clientClose) {
    // The server answered the AUTHENTICATE with a short record, then the client ended: a pubKeyAuth the client
    // rejected, or an errorCode it gave up on, look the same from outside.
    const answer = after.filter((x) => !alertSized(x.r));
    if (answer.length !== 1 || answer[0]!.r.fragment.length > MAX_SHORT_ANSWER_RECORD) return undefined;
    const a = answer[0]!;
    return [
      credssp,
      {
        stage: 'nla_auth',
        status: 'skipped',
        reason: `outcome not visible without keys: the server answered the client's ${authenticate.fragment.length}-byte record (frame ${authFrame}, the size of an NTLM AUTHENTICATE) with a ${a.r.fragment.length}-byte record (frame ${frame(flow.serverChunks, serverBase + a.r.offset)}), then the client ${clientClose.how === 'rst' ? 'reset' : 'closed'} the connection (frame #${clientClose.frame}); a pubKeyAuth and an errorCode are both that short, so only a key log tells which`,
      },
    ];
  }
  if (after.some((x) => !alertSized(x.r))) return undefined;
  const closeFrame = flow.closes.find((c) => c.by === 'server')?.frame;
  const alert = after.find((x) => alertSized(x.r));
  const alertFrame = alert ? frame(flow.serverChunks, serverBase + alert.r.offset) : undefined;
  const endMs = (flow.endUs - flow.startUs) / 1000;
  return [
    credssp,
    {
      stage: 'nla_auth',
      status: 'failed',
      startMs: round(tAuth),
      durationMs: round(endMs - tAuth),
      facts: { inferred: true, authenticateRecordBytes: authenticate.fragment.length, ...(alert ? { serverAlert: `encrypted (frame ${alertFrame}): its description is not visible without keys` } : {}) },
      error: {
        layer: 'peer',
        kind: 'closed_after_authenticate',
        message: alert
          ? `NLA rejected by alert, inferred from record sizes (CredSSP is encrypted): right after the client's ${authenticate.fragment.length}-byte record (frame ${authFrame}), the size of an NTLM AUTHENTICATE, the server sent an encrypted TLS alert (frame ${alertFrame}; its description, access_denied or a bare close_notify, is hidden) and ${serverClose === 'reset' ? 'reset' : 'closed'} the connection${closeFrame !== undefined ? ` (frame #${closeFrame})` : ''}, with no application data of its own: the credentials were refused`
          : `inferred from record sizes (CredSSP is encrypted): after the client's ${authenticate.fragment.length}-byte record (frame ${authFrame}), the size of an NTLM AUTHENTICATE, the server ${serverClose === 'reset' ? 'reset' : 'closed'} the connection${closeFrame !== undefined ? ` (frame #${closeFrame})` : ''} with no application data of its own: the credentials were refused`,
      },
    },
  ];
}

/**
 * The client's records after its ChangeCipherSpec are its Finished and then only an encrypted alert (TLS 1.3: an
 * application-data record of 19 bytes = 2-byte alert + content type + 16-byte tag; TLS 1.2: an alert record).
 */
function closedRightAfterHandshake(records: { type: number; fragment: Uint8Array }[]): boolean {
  const ccs = records.findIndex((r) => r.type === 20);
  if (ccs < 0) return false;
  const after = records.slice(ccs + 2);
  // A client that just stops (a probe, or a check that needed only the handshake) sends no alert; one that
  // rejects what it got sends one.
  if (after.length === 0) return false;
  return after.every((r) => r.type === 21 || (r.type === 23 && r.fragment.length <= 19));
}

/** Stages inside TLS that a capture without keys cannot show: said to be encrypted, not passed. */
function skipInsideTls(report: ReportBuilder): void {
  const stages = ['credssp', 'nla_auth', 'authz', 'mcs', 'security', 'licensing', 'activation'] as const;
  if (stages.some((s) => report.get(s)?.status === 'failed')) return;
  for (const s of stages) if (!report.get(s)) report.skip(s, 'inside TLS: encrypted in the capture (no TLS key log for this connection)');
}

/** Where byte `offset` (relative to `base`) of a direction was captured. */
function byteTime(chunks: Chunk[], base: number, startUs: number): (offset: number) => ByteTime | undefined {
  return (offset) => {
    const o = base + offset;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = chunks[mid]!;
      if (o < c.offset) hi = mid - 1;
      else if (o >= c.offset + c.length) lo = mid + 1;
      else return { ms: (c.timestampUs - startUs) / 1000, frame: c.frame };
    }
    return undefined;
  };
}

function clientRequest(c: Uint8Array): { requestedProtocols?: number; negFlags?: number; correlationInfo?: boolean; cookie?: string; length?: number; error?: string } {
  try {
    const len = frameLengthTpkt(c);
    if (len === undefined || len > c.length) return { error: 'the client request is incomplete' };
    const pdu = decodeX224Frame(c.subarray(0, len));
    if (pdu.type !== 'connection_request') return { error: `the client's first frame is an X.224 ${pdu.type}`, length: len };
    return { ...(pdu.neg ? { requestedProtocols: pdu.neg.requestedProtocols, negFlags: pdu.neg.flags } : {}), ...(pdu.correlationInfo ? { correlationInfo: true } : {}), ...(pdu.cookie !== undefined ? { cookie: pdu.cookie } : {}), length: len };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

