/**
 * RD Gateway traffic on TCP 443: TLS whose first request, once a key log opens it, is the gateway's HTTP transport
 * (MS-TSGU: an RDG_OUT_DATA or RDG_IN_DATA request on /remoteDesktopGateway/, or a websocket upgrade there), with the
 * gateway's status, reason phrase and WWW-Authenticate schemes. Without keys nothing inside is visible: the flow is
 * named only with evidence from elsewhere in the capture (RDP-UDP to the same server on UDP 3391, the gateway's UDP
 * transport), and then only as "possibly an RD Gateway", with its SNI. Ordinary HTTPS is never listed.
 */
import { splitTlsRecords, plaintextHandshakeMessages, type TlsRecord } from '../protocol/tls-records.js';
import { formatHostPort } from '../probe/host-port.js';
import type { KeyLog } from './keylog.js';
import type { TcpFlow } from './tcp-reassembly.js';
import { decryptTls } from './tls-decrypt.js';
import type { ProbeReport } from '../probe/types.js';
import { hresultMeaning, hresultName, splitTsgu, type TsguPacket } from './tsgu.js';

export const RD_GATEWAY_UDP_PORT = 3391;
/** What a 443 flow needs kept: its handshake and first HTTP exchange. */
export const GATEWAY_BYTES_PER_DIRECTION = 256 * 1024;
/** Header bytes read from each side's first message. */
const MAX_HEAD = 16 * 1024;

export interface GatewayFlow {
  flow: number;
  client: string;
  server: string;
  firstFrame: number;
  sni?: string;
  /** 'rdg_http' / 'websocket': seen inside TLS with a key log; 'possible': inferred from other traffic, nothing decrypted. */
  identified: 'rdg_http' | 'websocket' | 'possible';
  request?: { method: string; path: string; version: string };
  response?: { status: number; reason: string; authenticate: string[] };
  /** RDG-Connection-Id: pairs the RDG_IN_DATA and RDG_OUT_DATA connections of one tunnel. */
  connectionId?: string;
  /** The MS-TSGU tunnel read from the bodies (on the first flow of the pair; the other names it in sameTunnelAs). */
  tunnel?: GatewayTunnel;
  sameTunnelAs?: number;
  summary: string;
}

/** What the gateway's own protocol says: each step's answer named, the resource asked for, and the tunnelled RDP. */
export interface GatewayTunnel {
  /** The flows whose bodies carried the client's and the server's TSGU packets. */
  flows: number[];
  handshake?: { errorCode: number; error: string };
  tunnelCreate?: { statusCode: number; status: string };
  tunnelAuth?: { clientName: string; errorCode?: number; error?: string };
  channel?: { resources: string[]; port: number; errorCode?: number; error?: string };
  /** The first refusal in the gateway's answers: its verdict, named. */
  refused?: { step: 'handshake' | 'tunnel' | 'tunnel_auth' | 'channel'; errorCode: number; error: string; meaning?: string };
  dataPackets: { client: number; server: number };
  /** The tunnelled connection's own ladder, from the DATA packets both ways. */
  tunnelled?: ProbeReport;
  /** Why the TSGU split stopped early, when it did. */
  problem?: string;
  summary: string;
}

/** The de-chunked TSGU byte streams of a decrypted gateway flow (kept out of the JSON report). */
const tsguStreams = new WeakMap<GatewayFlow, { client: Uint8Array; server: Uint8Array; flow: TcpFlow }>();

/** The server_name of a ClientHello (RFC 6066 3), from the client's first TLS records. */
export function clientHelloSni(records: TlsRecord[]): string | undefined {
  const ch = plaintextHandshakeMessages(records).find((m) => m.type === 1)?.body;
  if (!ch || ch.length < 35) return undefined;
  let at = 34;
  const u16 = (i: number): number => ((ch[i] ?? 0) << 8) | (ch[i + 1] ?? 0);
  at += 1 + ch[at]!; // session id
  at += 2 + u16(at); // cipher suites
  at += 1 + (ch[at] ?? 0); // compression methods
  const end = Math.min(ch.length, at + 2 + u16(at));
  at += 2;
  while (at + 4 <= end) {
    const type = u16(at);
    const len = u16(at + 2);
    const data = ch.subarray(at + 4, at + 4 + len);
    if (type === 0 && data.length >= 5 && data[2] === 0) {
      const n = ((data[3]! << 8) | data[4]!) >>> 0;
      if (5 + n <= data.length) return Buffer.from(data.subarray(5, 5 + n)).toString('latin1');
    }
    at += 4 + len;
  }
  return undefined;
}

/** The start line and headers of an HTTP/1.x message at the start of `b`, or undefined if it is not one. */
function httpHead(b: Uint8Array): { start: string; headers: [string, string][] } | undefined {
  const text = Buffer.from(b.subarray(0, MAX_HEAD)).toString('latin1');
  const stop = text.indexOf('\r\n\r\n');
  if (stop < 0) return undefined;
  const lines = text.slice(0, stop).split('\r\n');
  const start = lines[0] ?? '';
  const headers: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c > 0) headers.push([l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]);
  }
  return { start, headers };
}

/** A gateway flow seen inside TLS with the key log, or undefined (no keys, not decrypted, or ordinary HTTPS). */
export function gatewayInsideTls(flow: TcpFlow, keylog: KeyLog | undefined): GatewayFlow | undefined {
  const client = splitTlsRecords(flow.clientBytes).records;
  const server = splitTlsRecords(flow.serverBytes).records;
  const sni = clientHelloSni(client);
  if (!keylog) return undefined;
  const dec = decryptTls(client, server, keylog);
  if (!dec.ok) return undefined;
  const req = httpHead(dec.client.data);
  const m = req ? /^(\S+) (\S+) (HTTP\/1\.[01])$/.exec(req.start) : null;
  if (!req || !m) return undefined;
  const [, method, path, version] = m as unknown as [string, string, string, string];
  const upgrade = req.headers.find(([k]) => k === 'upgrade')?.[1].toLowerCase() === 'websocket';
  const rdg = method === 'RDG_OUT_DATA' || method === 'RDG_IN_DATA';
  const onGatewayPath = /^\/remoteDesktopGateway\//i.test(path);
  if (!rdg && !(upgrade && onGatewayPath)) return undefined;
  const res = httpHead(dec.server.data);
  const sm = res ? /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(res.start) : null;
  const response = sm ? { status: Number(sm[1]), reason: sm[2] ?? '', authenticate: res!.headers.filter(([k]) => k === 'www-authenticate').map(([, v]) => v.split(/[\s,]/)[0] ?? v) } : undefined;
  const identified = rdg ? 'rdg_http' : 'websocket';
  const connectionId = req.headers.find(([k]) => k === 'rdg-connection-id')?.[1];
  const streams = bodies(dec.client.data, dec.server.data, upgrade && response?.status === 101);
  const how = rdg ? `the HTTP transport (${method} ${path})` : `the websocket transport (upgrade on ${path})`;
  const answer = response
    ? ` the gateway answered ${response.status} ${response.reason}${response.authenticate.length > 0 ? ` asking for ${response.authenticate.join(', ')}` : ''}${response.status === 401 ? ': it wants the user authenticated first (a client without those credentials stops here)' : ''}`
    : ' no HTTP answer from the gateway in the capture';
  const g: GatewayFlow = {
    flow: flow.id,
    client: formatHostPort(flow.client.address, flow.client.port),
    server: formatHostPort(flow.server.address, flow.server.port),
    firstFrame: flow.firstFrame,
    ...(sni !== undefined ? { sni } : {}),
    identified,
    request: { method, path, version },
    ...(response ? { response } : {}),
    ...(connectionId !== undefined ? { connectionId } : {}),
    summary: `RD Gateway${sni ? ` ${sni}` : ''}: decrypted with the key log, the client opened ${how};${answer}`,
  };
  if (streams.client.length > 0 || streams.server.length > 0) tsguStreams.set(g, { ...streams, flow });
  return g;
}

/** RFC 9112 7.1 chunked body: the chunks' data, as far as the capture has it (a cut last chunk gives what is there). */
export function dechunk(b: Uint8Array, from = 0): { data: Uint8Array; end: number; complete: boolean } {
  const parts: Uint8Array[] = [];
  let at = from;
  for (let guard = 0; guard < 1_000_000; guard++) {
    let eol = -1;
    for (let i = at; i + 1 < b.length && i < at + 1024; i++) if (b[i] === 13 && b[i + 1] === 10) { eol = i; break; }
    if (eol < 0) break;
    const size = parseInt(Buffer.from(b.subarray(at, eol)).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) break;
    if (size === 0) return { data: Buffer.concat(parts), end: Math.min(b.length, eol + 4), complete: true };
    const start = eol + 2;
    parts.push(b.subarray(start, Math.min(b.length, start + size)));
    at = start + size + 2;
    if (at > b.length) break;
  }
  return { data: Buffer.concat(parts), end: Math.min(at, b.length), complete: false };
}

/** RFC 6455 5.2 frames from `b`: the binary / continuation payloads, unmasked, as far as whole frames go. */
export function websocketPayloads(b: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at + 2 <= b.length) {
    const op = b[at]! & 0x0f;
    const masked = (b[at + 1]! & 0x80) !== 0;
    let len = b[at + 1]! & 0x7f;
    let h = 2;
    if (len === 126) {
      if (at + 4 > b.length) break;
      len = (b[at + 2]! << 8) | b[at + 3]!;
      h = 4;
    } else if (len === 127) {
      if (at + 10 > b.length) break;
      len = Number(Buffer.from(b.subarray(at + 2, at + 10)).readBigUInt64BE());
      h = 10;
    }
    const key = masked ? b.subarray(at + h, at + h + 4) : undefined;
    if (masked) h += 4;
    if (at + h + len > b.length) break;
    const payload = Uint8Array.from(b.subarray(at + h, at + h + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    if (op === 0 || op === 2) parts.push(payload);
    if (op === 8) break;
    at += h + len;
  }
  return Buffer.concat(parts);
}

/** The HTTP messages of one direction (at most 16): each head and its body (chunked, Content-Length, or the rest). */
function httpBodies(b: Uint8Array, requests: boolean): { start: string; body: Uint8Array }[] {
  const out: { start: string; body: Uint8Array }[] = [];
  let at = 0;
  while (at < b.length && out.length < 16) {
    const head = httpHead(b.subarray(at));
    if (!head) break;
    const text = Buffer.from(b.subarray(at, at + MAX_HEAD)).toString('latin1');
    const bodyAt = at + text.indexOf('\r\n\r\n') + 4;
    const te = head.headers.find(([k]) => k === 'transfer-encoding')?.[1].toLowerCase();
    const cl = head.headers.find(([k]) => k === 'content-length')?.[1];
    if (te?.includes('chunked')) {
      const d = dechunk(b, bodyAt);
      out.push({ start: head.start, body: d.data });
      if (!d.complete) break;
      at = d.end;
    } else if (cl !== undefined && /^\d+$/.test(cl)) {
      const end = Math.min(b.length, bodyAt + Number(cl));
      out.push({ start: head.start, body: b.subarray(bodyAt, end) });
      at = end;
    } else {
      // No framing: a request with no body, or a response whose body runs to the close.
      out.push({ start: head.start, body: requests ? new Uint8Array(0) : b.subarray(bodyAt) });
      if (!requests) break;
      at = bodyAt;
    }
  }
  return out;
}

/** The TSGU bytes of each direction: the RDG requests' bodies and the 2xx answers' bodies, or the websocket payloads. */
function bodies(client: Uint8Array, server: Uint8Array, websocket: boolean): { client: Uint8Array; server: Uint8Array } {
  if (websocket) {
    const after = (b: Uint8Array): Uint8Array => {
      const t = Buffer.from(b.subarray(0, MAX_HEAD)).toString('latin1').indexOf('\r\n\r\n');
      return t < 0 ? new Uint8Array(0) : b.subarray(t + 4);
    };
    return { client: websocketPayloads(after(client)), server: websocketPayloads(after(server)) };
  }
  const c = httpBodies(client, true).filter((m) => /^RDG_(IN|OUT)_DATA /.test(m.start)).map((m) => m.body);
  const s = httpBodies(server, false).filter((m) => /^HTTP\/1\.[01] 2\d\d/.test(m.start)).map((m) => m.body);
  return { client: Buffer.concat(c), server: Buffer.concat(s) };
}

/**
 * Reads the MS-TSGU tunnel of the decrypted gateway flows: the RDG_IN_DATA and RDG_OUT_DATA connections paired by
 * RDG-Connection-Id (a websocket flow carries both ways alone), each step's answer named, the first refusal as the
 * gateway's verdict, and the DATA packets both ways run through `analyze` as the tunnelled RDP connection.
 */
export function attachTunnels(gateways: GatewayFlow[], analyze: (flow: TcpFlow) => ProbeReport): void {
  const groups = new Map<string, GatewayFlow[]>();
  for (const g of gateways) {
    if (!tsguStreams.has(g)) continue;
    const key = g.identified === 'rdg_http' && g.connectionId !== undefined ? `id:${g.connectionId}` : `flow:${g.flow}`;
    groups.set(key, [...(groups.get(key) ?? []), g]);
  }
  for (const group of groups.values()) {
    group.sort((a, b) => a.flow - b.flow);
    const parts = group.map((g) => tsguStreams.get(g)!);
    const client = Buffer.concat(parts.map((p) => p.client));
    const server = Buffer.concat(parts.map((p) => p.server));
    const first = group[0]!;
    first.tunnel = readTunnel(client, server, group.map((g) => g.flow), parts[0]!.flow, analyze);
    for (const g of group.slice(1)) g.sameTunnelAs = first.flow;
  }
}

function readTunnel(client: Uint8Array, server: Uint8Array, flows: number[], base: TcpFlow, analyze: (flow: TcpFlow) => ProbeReport): GatewayTunnel {
  const problems: string[] = [];
  const split = (b: Uint8Array, who: string): TsguPacket[] => {
    try {
      const r = splitTsgu(b);
      if (r.error) problems.push(`${who}: ${r.error}`);
      return r.packets;
    } catch (e) {
      problems.push(`${who}: ${(e as Error).message}`);
      return [];
    }
  };
  const cp = split(client, 'client');
  const sp = split(server, 'gateway');
  const t: GatewayTunnel = { flows, dataPackets: { client: 0, server: 0 }, summary: '' };
  const refuse = (step: NonNullable<GatewayTunnel['refused']>['step'], code: number): void => {
    if (code === 0 || t.refused) return;
    const meaning = hresultMeaning(code);
    t.refused = { step, errorCode: code, error: hresultName(code), ...(meaning ? { meaning } : {}) };
  };
  const cData: Uint8Array[] = [];
  const sData: Uint8Array[] = [];
  for (const p of cp) {
    if (p.type === 'tunnel_auth') t.tunnelAuth = { ...t.tunnelAuth, clientName: p.clientName };
    else if (p.type === 'channel_create') t.channel = { ...t.channel, resources: p.resources, port: p.port };
    else if (p.type === 'data') cData.push(p.data);
  }
  for (const p of sp) {
    if (p.type === 'handshake_response') {
      t.handshake = { errorCode: p.errorCode, error: hresultName(p.errorCode) };
      refuse('handshake', p.errorCode);
    } else if (p.type === 'tunnel_response') {
      t.tunnelCreate = { statusCode: p.statusCode, status: hresultName(p.statusCode) };
      refuse('tunnel', p.statusCode);
    } else if (p.type === 'tunnel_auth_response') {
      t.tunnelAuth = { clientName: t.tunnelAuth?.clientName ?? '', errorCode: p.errorCode, error: hresultName(p.errorCode) };
      refuse('tunnel_auth', p.errorCode);
    } else if (p.type === 'channel_response') {
      t.channel = { resources: t.channel?.resources ?? [], port: t.channel?.port ?? 0, errorCode: p.errorCode, error: hresultName(p.errorCode) };
      refuse('channel', p.errorCode);
    } else if (p.type === 'data') sData.push(p.data);
  }
  t.dataPackets = { client: cData.length, server: sData.length };
  if (problems.length > 0) t.problem = problems.join('; ');
  const target = t.channel && t.channel.resources.length > 0 ? formatHostPort(t.channel.resources[0]!, t.channel.port) : undefined;
  if (cData.length > 0) {
    const c = Buffer.concat(cData);
    const s = Buffer.concat(sData);
    const at = base.startUs;
    const pseudo: TcpFlow = {
      ...base,
      server: { address: t.channel?.resources[0] ?? base.server.address, port: t.channel?.port ?? base.server.port },
      clientBytes: c,
      serverBytes: s,
      clientChunks: c.length > 0 ? [{ frame: base.firstFrame, timestampUs: at, offset: 0, length: c.length, frameOffset: 0 }] : [],
      serverChunks: s.length > 0 ? [{ frame: base.firstFrame, timestampUs: at, offset: 0, length: s.length, frameOffset: 0 }] : [],
      handshake: 'complete',
      gaps: 0,
      truncated: false,
    };
    delete pseudo.clientGapAt;
    delete pseudo.serverGapAt;
    t.tunnelled = analyze(pseudo);
  }
  const steps: string[] = [];
  if (t.handshake) steps.push(`handshake ${t.handshake.error}`);
  if (t.tunnelCreate) steps.push(`tunnel ${t.tunnelCreate.status}`);
  if (t.tunnelAuth?.error) steps.push(`tunnel auth ${t.tunnelAuth.error}`);
  if (t.channel) steps.push(`channel to ${target ?? 'an unnamed resource'}${t.channel.error ? ` ${t.channel.error}` : ' (no answer)'}`);
  const verdict = t.refused
    ? `the gateway refused at the ${t.refused.step.replace('_', ' ')} step with ${t.refused.error}${t.refused.meaning ? `: ${t.refused.meaning}` : ''}`
    : t.tunnelled
      ? `the tunnelled connection to ${target ?? 'the RDP server'}: ${t.tunnelled.verdict.summary}`
      : 'no tunnelled RDP bytes in the capture';
  t.summary = `MS-TSGU ${steps.join(', ') || 'no gateway answers'}; ${verdict}`;
  return t;
}

/** A TLS flow on 443 kept as a candidate until the end: its SNI, and where it was. */
export interface GatewayCandidate {
  flow: number;
  client: string;
  server: string;
  serverAddress: string;
  firstFrame: number;
  sni?: string;
}

export function gatewayCandidate(flow: TcpFlow): GatewayCandidate {
  const sni = clientHelloSni(splitTlsRecords(flow.clientBytes).records);
  return {
    flow: flow.id,
    client: formatHostPort(flow.client.address, flow.client.port),
    server: formatHostPort(flow.server.address, flow.server.port),
    serverAddress: flow.server.address,
    firstFrame: flow.firstFrame,
    ...(sni !== undefined ? { sni } : {}),
  };
}

/** Candidates named "possibly an RD Gateway" when the same server took RDP-UDP on UDP 3391. */
export function possibleGateways(cands: GatewayCandidate[], udp3391Servers: Set<string>): GatewayFlow[] {
  return cands
    .filter((c) => udp3391Servers.has(c.serverAddress))
    .map((c) => ({
      flow: c.flow,
      client: c.client,
      server: c.server,
      firstFrame: c.firstFrame,
      ...(c.sni !== undefined ? { sni: c.sni } : {}),
      identified: 'possible' as const,
      summary: `possibly an RD Gateway${c.sni ? ` (SNI ${c.sni})` : ''}: TLS on 443 to a server that also took RDP-UDP on UDP ${RD_GATEWAY_UDP_PORT}, the gateway's UDP transport; what is inside is not visible without keys`,
    }));
}
