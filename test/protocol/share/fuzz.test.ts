/**
 * Every decoder of the post-MCS PDUs, fed 2000 random and mutated inputs each: the answer is a value or a
 * DecodeError, never another exception.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { decodeClientInfo, encodeClientInfo, UTC_TIME_ZONE } from '../../../src/protocol/client-info.js';
import { decodeLicensingPdu, encodeClientNewLicenseRequest, encodeLicenseErrorAlert, encodeLicenseRequest, encodePlatformChallenge } from '../../../src/protocol/licensing.js';
import {
  decodeCapabilitySets,
  decodeConfirmActiveBody,
  decodeDeactivateAllBody,
  decodeDemandActiveBody,
  decodeSaveSessionInfoBody,
  decodeServerRedirectionPacket,
  decodeSetErrorInfoBody,
  decodeSharePdu,
  decodeSharePdus,
  defaultServerCapabilities,
  encodeCapabilitySets,
  encodeDeactivateAll,
  encodeDemandActive,
  encodeEnhancedSecurityRedirection,
  encodeSaveSessionInfo,
  encodeSaveSessionInfoBody,
  encodeServerRedirectionPacket,
  encodeSetErrorInfo,
} from '../../../src/protocol/share/index.js';
import { prng, type Rng } from '../../helpers/prng.js';
import { basicSecurity, mcsPayloads } from './capture-frames.js';

const real = mcsPayloads('shadow-rdp_xfreerdp-sec-rdp_std-security.pcap');
const shareSeeds = [
  ...real.server.slice(1).map((p) => p.data),
  ...real.client.slice(1).map((p) => p.data),
  encodeSetErrorInfo({ shareId: 1, errorInfo: 7 }),
  encodeDeactivateAll({ shareId: 1 }),
  encodeSaveSessionInfo({ shareId: 1, info: { infoType: 'logon_extended', logonErrors: { notificationType: 1, notificationData: 0 }, autoReconnect: { logonId: 1, randomBits: new Uint8Array(16) } } }),
  encodeEnhancedSecurityRedirection({ sessionId: 1, targetNetAddress: '10.0.0.1', userName: 'u', targetNetAddresses: ['a', 'b'] }),
];
const licenseSeeds = [
  basicSecurity(real.server[0]!.data).body,
  encodeLicenseErrorAlert({ errorCode: 8, stateTransition: 1, errorInfo: { blobType: 4, data: Uint8Array.of(1, 2, 3) } }),
  encodeLicenseRequest({ serverRandom: new Uint8Array(32), productInfo: { version: 1, companyName: 'c', productId: 'p' }, serverCertificate: new Uint8Array(20), scopes: ['s'] }),
  encodePlatformChallenge({ encryptedPlatformChallenge: Uint8Array.of(1), macData: new Uint8Array(16) }),
  encodeClientNewLicenseRequest({ clientRandom: new Uint8Array(32), encryptedPreMasterSecret: new Uint8Array(8), clientUserName: 'u', clientMachineName: 'm' }),
];
const infoSeeds = [
  basicSecurity(real.client[0]!.data).body,
  encodeClientInfo({ domain: 'd', user: 'u', alternateShell: 's', workingDir: 'w', extra: { clientAddressFamily: 2, clientAddress: '1.2.3.4', clientDir: 'x', timeZone: UTC_TIME_ZONE, dynamicDSTTimeZoneKeyName: 'k' } }),
];
const body = (b: Uint8Array, n: number): Uint8Array => b.subarray(n);

function mutate(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  const choice = rng.int(5);
  if (choice === 0) return rng.bytes(rng.int(64));
  const s = rng.pick(seeds).slice();
  if (choice === 1) return s.subarray(0, rng.int(s.length + 1));
  if (choice === 2) {
    for (let i = 0, n = 1 + rng.int(4); i < n && s.length > 0; i++) s[rng.int(s.length)] = rng.int(256);
    return s;
  }
  if (choice === 3) {
    // Lengths live in the first bytes of most structures: hit them harder.
    for (let i = 0, n = 1 + rng.int(3); i < n && s.length > 0; i++) s[rng.int(Math.min(s.length, 40))] = rng.pick([0, 1, 0x7f, 0x80, 0xff]);
    return s;
  }
  const at = rng.int(s.length + 1);
  return Uint8Array.from([...s.subarray(0, at), ...rng.bytes(1 + rng.int(8)), ...s.subarray(at)]);
}

const decoders: Array<[string, (b: Uint8Array) => unknown, readonly Uint8Array[]]> = [
  ['decodeSharePdu', decodeSharePdu, shareSeeds],
  ['decodeSharePdus', (b) => decodeSharePdus(b), shareSeeds],
  ['decodeDemandActiveBody', decodeDemandActiveBody, [body(real.server[1]!.data, 6)]],
  ['decodeConfirmActiveBody', decodeConfirmActiveBody, [body(real.client[1]!.data, 6)]],
  ['decodeDeactivateAllBody', decodeDeactivateAllBody, [body(encodeDeactivateAll({ shareId: 1, sourceDescriptor: 'RDP' }), 6)]],
  ['decodeCapabilitySets', (b) => decodeCapabilitySets(b, 13), [encodeCapabilitySets(defaultServerCapabilities())]],
  ['decodeSetErrorInfoBody', decodeSetErrorInfoBody, [Uint8Array.of(7, 0, 0, 0)]],
  ['decodeSaveSessionInfoBody', decodeSaveSessionInfoBody, [encodeSaveSessionInfoBody({ infoType: 'logon', domain: 'd', userName: 'u', sessionId: 1 }), encodeSaveSessionInfoBody({ infoType: 'logon_long', domain: 'd', userName: 'u', sessionId: 1 }), encodeSaveSessionInfoBody({ infoType: 'logon_extended', logonErrors: { notificationType: 1, notificationData: 2 } })]],
  ['decodeServerRedirectionPacket', decodeServerRedirectionPacket, [encodeServerRedirectionPacket({ sessionId: 1, targetFqdn: 'f', loadBalanceInfo: Uint8Array.of(65), targetNetAddresses: ['x'] })]],
  ['decodeLicensingPdu', decodeLicensingPdu, licenseSeeds],
  ['decodeClientInfo', decodeClientInfo, infoSeeds],
  ['encodeDemandActive seeds', decodeSharePdu, [encodeDemandActive({ shareId: 1, capabilities: defaultServerCapabilities() })]],
];

describe('post-MCS decoders on random and mutated input', () => {
  for (const [name, decode, seeds] of decoders) {
    it(`${name}: 2000 inputs give a value or a DecodeError`, () => {
      const rng = prng(name.length * 7919 + 1);
      let values = 0;
      let errors = 0;
      for (let i = 0; i < 2000; i++) {
        const input = mutate(rng, seeds);
        try {
          decode(input);
          values++;
        } catch (e) {
          if (!(e instanceof DecodeError)) throw new Error(`${name} threw ${String(e)} on ${Buffer.from(input).toString('hex')}`);
          expect(e.path.length).toBeGreaterThan(0);
          errors++;
        }
      }
      // Both outcomes occur, so the mutations reach past the first length check.
      expect(values).toBeGreaterThan(0);
      expect(errors).toBeGreaterThan(0);
    });
  }
  it('every seed decodes cleanly', () => {
    for (const [, decode, seeds] of decoders) for (const s of seeds) expect(() => decode(s)).not.toThrow();
  });
});
