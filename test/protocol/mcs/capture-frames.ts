/** MCS payloads (X.224 Data TPDU user data) of the shared captures, read with the project's own pcap reader. */
import { flowsFromCapture, type TcpFlow } from '../../../src/pcap/index.js';
import { decodeX224Frame } from '../../../src/protocol/x224.js';
import { loadCapture } from '../../pcap/files.js';

export interface McsFlow {
  flow: TcpFlow;
  /** User data of each X.224 Data TPDU, client to server, in order. */
  client: Uint8Array[];
  server: Uint8Array[];
}

/** Splits one direction into TPKT frames and keeps the Data TPDUs' payloads; stops at the first non-TPKT byte (TLS, fast-path). */
function dataPayloads(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 4 <= stream.length && stream[at] === 3) {
    const len = (stream[at + 2]! << 8) | stream[at + 3]!;
    if (len < 7 || at + len > stream.length) break;
    const x = decodeX224Frame(stream.subarray(at, at + len));
    if (x.type === 'data') out.push(x.data);
    at += len;
  }
  return out;
}

export function mcsFlows(file: string): McsFlow[] {
  return flowsFromCapture(loadCapture(file), { port: 3389 }).flows.map((flow) => ({
    flow,
    client: dataPayloads(flow.clientBytes),
    server: dataPayloads(flow.serverBytes),
  }));
}

/** The one flow of a capture that carries an MCS Connect-Initial. */
export function mcsFlow(file: string): McsFlow {
  const flows = mcsFlows(file).filter((f) => f.client[0]?.[0] === 0x7f);
  if (flows.length !== 1) throw new Error(`${file}: ${flows.length} flows with a Connect-Initial`);
  return flows[0]!;
}

export const CAPTURE_FILES = {
  proprietary: 'public/zeek/rdp-proprietary-encryption.pcap',
  x509: 'public/zeek/rdp-x509.pcap',
  rdp3: 'public/nDPI/rdp3.pcap',
  xrdp: 'loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap',
  shadow: 'loopback/shadow-rdp_xfreerdp-sec-rdp_std-security.pcap',
} as const;
