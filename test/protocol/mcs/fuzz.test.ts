/**
 * Random, truncated and mutated input to every MCS/GCC decoder gives a value or a DecodeError, nothing else
 * (no RangeError, no TypeError, no hang). Seeded with test/helpers/prng.ts, so a failure names a reproducible case.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { decodeMcsConnectInitial, decodeMcsConnectResponse } from '../../../src/protocol/mcs/connect.js';
import { decodeMcsDomainPdu } from '../../../src/protocol/mcs/domain.js';
import { classifyMcs } from '../../../src/protocol/mcs.js';
import { decodeGccConferenceCreateRequest, decodeGccConferenceCreateResponse } from '../../../src/protocol/gcc/conference.js';
import { decodeClientConnectInitial, decodeClientData, decodeClientCoreData } from '../../../src/protocol/gcc/client-data.js';
import { decodeServerConnectResponse, decodeServerData } from '../../../src/protocol/gcc/server-data.js';
import { decodeServerCertificate } from '../../../src/protocol/security/proprietary-cert.js';
import { prng, type Rng } from '../../helpers/prng.js';
import { toSpacedHex } from '../../helpers/bytes.js';
import { CAPTURE_FILES, mcsFlow } from './capture-frames.js';

const RUNS = 2000;

const flows = Object.values(CAPTURE_FILES).map(mcsFlow);
const initials = flows.map((f) => f.client[0]!);
const responses = flows.map((f) => f.server[0]!);
const domain = flows.flatMap((f) => [...f.client.slice(1, 12), ...f.server.slice(1, 12)]);
const gccReqs = initials.map((b) => decodeMcsConnectInitial(b).userData);
const gccRsps = responses.map((b) => decodeMcsConnectResponse(b).userData);
const clientBlocks = gccReqs.map((b) => decodeGccConferenceCreateRequest(b).clientData);
const serverBlocks = gccRsps.map((b) => decodeGccConferenceCreateResponse(b).serverData);
const certs = serverBlocks.map((b) => decodeServerData(b).security?.serverCertificate).filter((c): c is Uint8Array => !!c && c.length > 0);

/** Random bytes, or a real sample cut short, with bytes flipped, with a byte inserted or removed. */
function input(rng: Rng, seeds: Uint8Array[]): Uint8Array {
  const seed = rng.pick(seeds);
  switch (rng.int(5)) {
    case 0:
      return rng.bytes(rng.int(64));
    case 1:
      return seed.slice(0, rng.int(seed.length + 1));
    case 2: {
      const b = seed.slice();
      for (let i = 0, n = 1 + rng.int(4); i < n && b.length > 0; i++) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 3: {
      const at = rng.int(seed.length + 1);
      return Uint8Array.from([...seed.subarray(0, at), rng.int(256), ...seed.subarray(at)]);
    }
    default: {
      const at = rng.int(Math.max(1, seed.length));
      return Uint8Array.from([...seed.subarray(0, at), ...seed.subarray(at + 1)]);
    }
  }
}

const cases: [string, (b: Uint8Array) => unknown, Uint8Array[]][] = [
  ['decodeMcsConnectInitial', decodeMcsConnectInitial, initials],
  ['decodeMcsConnectResponse', decodeMcsConnectResponse, responses],
  ['decodeMcsDomainPdu', decodeMcsDomainPdu, domain],
  ['decodeGccConferenceCreateRequest', decodeGccConferenceCreateRequest, gccReqs],
  ['decodeGccConferenceCreateResponse', decodeGccConferenceCreateResponse, gccRsps],
  ['decodeClientData', decodeClientData, clientBlocks],
  ['decodeClientCoreData', (b) => decodeClientCoreData(b.subarray(4)), clientBlocks],
  ['decodeServerData', decodeServerData, serverBlocks],
  ['decodeServerCertificate', decodeServerCertificate, certs],
  ['decodeClientConnectInitial', decodeClientConnectInitial, initials],
  ['decodeServerConnectResponse', decodeServerConnectResponse, responses],
];

describe('random input', () => {
  for (const [name, decode, seeds] of cases) {
    it(`${name}: ${RUNS} inputs give a value or a DecodeError`, () => {
      expect(seeds.length).toBeGreaterThan(0);
      const rng = prng(0x12c0 + name.length);
      let errors = 0;
      for (let i = 0; i < RUNS; i++) {
        const b = input(rng, seeds);
        try {
          decode(b);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw new Error(`${name}(${toSpacedHex(b)}) threw ${String(e)}`);
          expect(e.path.length).toBeGreaterThan(0);
          errors++;
        }
      }
      // The inputs really exercise the error paths (and the seeds still decode).
      expect(errors).toBeGreaterThan(RUNS / 10);
      expect(errors).toBeLessThan(RUNS);
    });
  }

  it('classifyMcs never throws', () => {
    const rng = prng(7);
    for (let i = 0; i < RUNS; i++) expect(() => classifyMcs(input(rng, [...responses, ...domain]))).not.toThrow();
  });
});
