import { describe, expect, it } from 'vitest';
import {
  decodeLicensingPdu,
  encodeClientNewLicenseRequest,
  encodeLicenseErrorAlert,
  encodeLicenseRequest,
  encodePlatformChallenge,
  encodeValidClientAlert,
  LICENSE_ERROR_MEANINGS,
  LICENSE_STATE_MEANINGS,
  LicenseErrorCode,
  LicenseStateTransition,
  SEC_LICENSE_PKT,
  type LicensingPdu,
} from '../../src/protocol/licensing.js';
import { hex } from '../helpers/bytes.js';
import { decodeError } from '../helpers/errors.js';
import { prng } from '../helpers/prng.js';
import { basicSecurity, mcsPayloads } from './share/capture-frames.js';

function as<T extends LicensingPdu['type']>(p: LicensingPdu, t: T): Extract<LicensingPdu, { type: T }> {
  expect(p.type).toBe(t);
  return p as Extract<LicensingPdu, { type: T }>;
}

describe('licensing PDUs (MS-RDPBCGR 2.2.1.12, MS-RDPELE 2.2.2)', () => {
  it('names every error code and state transition of 2.2.1.12.1.3, each with a sentence', () => {
    expect(Object.keys(LicenseErrorCode)).toHaveLength(9);
    for (const v of Object.values(LicenseErrorCode)) expect(LICENSE_ERROR_MEANINGS[v]?.meaning).toMatch(/\w+ \w+/);
    for (const v of Object.values(LicenseStateTransition)) expect(LICENSE_STATE_MEANINGS[v]).toMatch(/\w+ \w+/);
    expect(LicenseErrorCode.ERR_INVALID_MAC).toBe(3);
    expect(LICENSE_ERROR_MEANINGS[3]?.sentBy).toBe('both');
  });

  it('reads the valid-client verdict FreeRDP shadow sends (real capture)', () => {
    const { server } = mcsPayloads('shadow-rdp_xfreerdp-sec-rdp_std-security.pcap');
    const sec = basicSecurity(server[0]!.data);
    expect(sec.flags & SEC_LICENSE_PKT).toBe(SEC_LICENSE_PKT);
    const p = as(decodeLicensingPdu(sec.body), 'error_alert');
    expect(p).toMatchObject({
      errorCode: 7,
      errorName: 'STATUS_VALID_CLIENT',
      stateTransition: 2,
      stateName: 'ST_NO_TRANSITION',
      validClient: true,
      errorInfo: { blobType: 0x0004 },
    });
    expect(p.preamble).toMatchObject({ msgType: 0xff, version: 3, extendedErrorSupported: false, msgSize: 16 });
    // The lab's encoder gives the same 16 bytes.
    expect(encodeValidClientAlert()).toEqual(sec.body);
  });

  it('encodes the valid-client alert byte for byte (2.2.1.12.1)', () => {
    expect(encodeValidClientAlert()).toEqual(
      hex`
        ff 03 1000   # ERROR_ALERT, PREAMBLE_VERSION_3_0, wMsgSize 16
        07000000     # STATUS_VALID_CLIENT
        02000000     # ST_NO_TRANSITION
        0400 0000    # empty BB_ERROR_BLOB
      `,
    );
  });

  it('round-trips an error alert with any code and transition, unknown ones named as unknown', () => {
    const p = as(decodeLicensingPdu(encodeLicenseErrorAlert({ errorCode: 8, stateTransition: 1, errorInfo: { blobType: 4, data: Uint8Array.of(1, 2) } })), 'error_alert');
    expect(p).toMatchObject({ errorName: 'ERR_INVALID_CLIENT', stateName: 'ST_TOTAL_ABORT', validClient: false, errorInfo: { data: Uint8Array.of(1, 2) } });
    expect(p.stateMeaning).toMatch(/end the connection/);
    const u = as(decodeLicensingPdu(encodeLicenseErrorAlert({ errorCode: 0x55, stateTransition: 9 })), 'error_alert');
    expect(u.errorName).toBe('unknown (0x00000055)');
    expect(u.stateName).toBe('unknown (0x00000009)');
  });

  it('round-trips a license request with product info, key exchange list, certificate and scopes', () => {
    const rnd = prng(7).bytes(32);
    const cert = prng(8).bytes(60);
    const p = as(
      decodeLicensingPdu(
        encodeLicenseRequest({
          serverRandom: rnd,
          productInfo: { version: 0x00060000, companyName: 'Microsoft Corporation', productId: 'A02' },
          serverCertificate: cert,
          scopes: ['microsoft.com', 'lab.test'],
        }),
      ),
      'license_request',
    );
    expect(p.serverRandom).toEqual(rnd);
    expect(p.productInfo).toEqual({ version: 0x00060000, companyName: 'Microsoft Corporation', productId: 'A02' });
    expect(p.keyExchangeList).toEqual([1]);
    expect(p.serverCertificate).toEqual(cert);
    expect(p.scopes).toEqual(['microsoft.com', 'lab.test']);
    expect(p.preamble.extendedErrorSupported).toBe(true);
  });

  it('round-trips a platform challenge, reads new/upgrade license as type and size only', () => {
    const mac = prng(1).bytes(16);
    const p = as(decodeLicensingPdu(encodePlatformChallenge({ encryptedPlatformChallenge: Uint8Array.of(9, 9, 9), macData: mac })), 'platform_challenge');
    expect(p.encryptedPlatformChallenge).toEqual(Uint8Array.of(9, 9, 9));
    expect(p.macData).toEqual(mac);
    const nl = decodeLicensingPdu(hex`03 03 0a00 0900 0200 abcd`);
    expect(nl).toMatchObject({ type: 'new_license', size: 10 });
    expect(decodeLicensingPdu(hex`04 83 0400`)).toMatchObject({ type: 'upgrade_license', size: 4 });
  });

  it('round-trips a client new license request', () => {
    const rnd = prng(2).bytes(32);
    const p = as(
      decodeLicensingPdu(encodeClientNewLicenseRequest({ clientRandom: rnd, encryptedPreMasterSecret: prng(3).bytes(72), clientUserName: 'probe', clientMachineName: 'rdp-probe' })),
      'new_license_request',
    );
    expect(p).toMatchObject({ preferredKeyExchangeAlg: 1, platformId: 0x04000000, clientUserName: 'probe', clientMachineName: 'rdp-probe' });
    expect(p.clientRandom).toEqual(rnd);
  });

  it('accepts any blob type on an empty blob, and is strict otherwise', () => {
    // Empty certificate blob with type 0 (servers under TLS do this).
    const req = encodeLicenseRequest({ serverRandom: new Uint8Array(32), productInfo: { version: 1, companyName: 'c', productId: 'p' }, scopes: [] });
    expect(decodeLicensingPdu(req).type).toBe('license_request');
    const alert = encodeValidClientAlert();
    expect(decodeError(() => decodeLicensingPdu(alert.subarray(0, 15))).detail).toMatchObject({ kind: 'not_enough_bytes' });
    const longer = Uint8Array.from([...alert, 0]);
    expect(decodeError(() => decodeLicensingPdu(longer)).detail).toMatchObject({ kind: 'trailing_bytes', count: 1 });
    const huge = alert.slice();
    huge[14] = 0xff; // wBlobLen 0xFF with nothing after it
    expect(decodeError(() => decodeLicensingPdu(huge)).path).toEqual(['ERROR_ALERT']);
  });

  it('gives an unknown message type as data', () => {
    expect(decodeLicensingPdu(hex`77 03 0600 0102`)).toMatchObject({ type: 'other', preamble: { msgType: 0x77, msgTypeName: 'unknown (0x77)' } });
  });
});
