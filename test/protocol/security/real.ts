/**
 * Standard-security facts dug out of the shared real captures by byte search (no MCS decoder needed): the
 * SC_SECURITY block of the server's Connect-Response and the client's Security Exchange PDU.
 */
import { loadCapture } from '../../pcap/files.js';
import { flowsFromCapture } from '../../../src/pcap/flows.js';

export interface RealStdSecurity {
  name: string;
  encryptionMethod: number;
  encryptionLevel: number;
  serverRandom: Uint8Array;
  serverCertificate: Uint8Array;
  clientBytes: Uint8Array;
  serverBytes: Uint8Array;
}

export const REAL_CAPTURES = [
  'public/zeek/rdp-proprietary-encryption.pcap',
  'public/nDPI/rdp3.pcap',
  'loopback/xrdp-rdp_xfreerdp-sec-rdp_std-security.pcap',
  'public/zeek/rdp-x509.pcap',
] as const;

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;

/** Every flow whose server stream holds an SC_SECURITY block (type 0x0C02) with a 32-byte server random. */
export function realStdSecurity(rel: string): RealStdSecurity[] {
  const out: RealStdSecurity[] = [];
  for (const flow of flowsFromCapture(loadCapture(rel)).flows) {
    const s = flow.serverBytes;
    for (let i = 0; i + 20 <= s.length; i++) {
      if (s[i] !== 0x02 || s[i + 1] !== 0x0c) continue;
      const blockLength = s[i + 2]! | (s[i + 3]! << 8);
      if (u32(s, i + 12) !== 32) continue;
      const certLength = u32(s, i + 16);
      if (blockLength !== 20 + 32 + certLength || i + blockLength > s.length) continue;
      out.push({
        name: `${rel}#${flow.id}`,
        encryptionMethod: u32(s, i + 4),
        encryptionLevel: u32(s, i + 8),
        serverRandom: s.slice(i + 20, i + 52),
        serverCertificate: s.slice(i + 52, i + blockLength),
        clientBytes: flow.clientBytes,
        serverBytes: s,
      });
      break;
    }
  }
  return out;
}

/** The userData of the client's Security Exchange PDU: flags with SEC_EXCHANGE_PKT, then `length` bytes. */
export function findSecurityExchange(clientBytes: Uint8Array, encryptedLength: number): Uint8Array | undefined {
  for (let i = 0; i + 8 + encryptedLength <= clientBytes.length; i++) {
    if ((clientBytes[i]! & 0x01) === 0 || clientBytes[i + 2] !== 0 || clientBytes[i + 3] !== 0) continue;
    if ((clientBytes[i]! | (clientBytes[i + 1]! << 8)) & ~0x0201) continue;
    if (u32(clientBytes, i + 4) !== encryptedLength) continue;
    return clientBytes.subarray(i, i + 8 + encryptedLength);
  }
  return undefined;
}

export function indexOf(hay: Uint8Array, needle: readonly number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
