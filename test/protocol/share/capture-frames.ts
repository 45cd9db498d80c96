/**
 * Test helper: the MCS Send Data payloads of a shared loopback capture, per direction, taken apart with the
 * project's TPKT/X.224 decoders and a minimal PER read of the MCS Send Data header (initiator, channel,
 * priority/segmentation, length).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flowsFromCapture } from '../../../src/pcap/flows.js';
import { decodeTpkt } from '../../../src/protocol/tpkt.js';
import { decodeX224 } from '../../../src/protocol/x224.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const LOOPBACK = path.resolve(here, '../../../../shared/captures/loopback');

export interface McsPayload {
  /** 'request' from the client (choice 25), 'indication' from the server (choice 26). */
  kind: 'request' | 'indication';
  channelId: number;
  data: Uint8Array;
}

export function mcsPayloads(file: string): { client: McsPayload[]; server: McsPayload[] } {
  const r = flowsFromCapture(new Uint8Array(readFileSync(path.join(LOOPBACK, file))));
  const flow = r.flows[0]!;
  return { client: split(flow.clientBytes), server: split(flow.serverBytes) };
}

function split(stream: Uint8Array): McsPayload[] {
  const out: McsPayload[] = [];
  let at = 0;
  while (at + 4 <= stream.length && stream[at] === 3) {
    const len = (stream[at + 2]! << 8) | stream[at + 3]!;
    const frame = stream.subarray(at, at + len);
    at += len;
    const x = decodeX224(decodeTpkt(frame));
    if (x.type !== 'data') continue;
    const d = x.data;
    const choice = d[0]! >> 2;
    if (choice !== 25 && choice !== 26) continue;
    const channelId = (d[3]! << 8) | d[4]!;
    let p = 6;
    let n = d[p++]!;
    if (n & 0x80) n = ((n & 0x3f) << 8) | d[p++]!;
    out.push({ kind: choice === 25 ? 'request' : 'indication', channelId, data: d.subarray(p, p + n) });
  }
  return out;
}

/** Drops the 4-byte basic security header (flags, flagsHi) and returns its flags. */
export function basicSecurity(data: Uint8Array): { flags: number; body: Uint8Array } {
  return { flags: data[0]! | (data[1]! << 8), body: data.subarray(4) };
}
