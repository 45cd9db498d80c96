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
  summary: string;
}

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
  const how = rdg ? `the HTTP transport (${method} ${path})` : `the websocket transport (upgrade on ${path})`;
  const answer = response
    ? ` the gateway answered ${response.status} ${response.reason}${response.authenticate.length > 0 ? ` asking for ${response.authenticate.join(', ')}` : ''}${response.status === 401 ? ': it wants the user authenticated first (a client without those credentials stops here)' : ''}`
    : ' no HTTP answer from the gateway in the capture';
  return {
    flow: flow.id,
    client: formatHostPort(flow.client.address, flow.client.port),
    server: formatHostPort(flow.server.address, flow.server.port),
    firstFrame: flow.firstFrame,
    ...(sni !== undefined ? { sni } : {}),
    identified,
    request: { method, path, version },
    ...(response ? { response } : {}),
    summary: `RD Gateway${sni ? ` ${sni}` : ''}: decrypted with the key log, the client opened ${how};${answer}`,
  };
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
