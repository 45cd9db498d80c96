import { describe, expect, it } from 'vitest';
import { inspectServerFlight, tlsVersionName, type ServerFlight } from '../../src/protocol/tls-records.js';
import { ascii, be16, be24, cat, hex } from '../helpers/bytes.js';

const RANDOM = hex`
  5f 1e 8c 04 a9 32 77 d0 13 6b e2 48 90 cc 0a 5d
  71 3e a4 08 bb 19 f2 6c 2d 80 47 e5 39 c6 0e 93
`;
const SESSION_ID = hex`
  e7 1c 00 00 44 2b 8a 1f 70 c2 39 05 d1 6e a8 93
  2f 48 b0 11 9c 7d 06 e4 53 ba 21 8f 6a 05 cd 74
`;

/** RFC 5246 7.4.1.3 / RFC 8446 4.1.3 ServerHello in a handshake record, built field by field. */
function serverHello(o: { recordVersion: number; version: number; cipher: number; extensions?: Uint8Array; after?: Uint8Array }): Uint8Array {
  const body = cat(
    be16(o.version), // legacy_version
    RANDOM, // random (32)
    SESSION_ID.length, // legacy_session_id length
    SESSION_ID,
    be16(o.cipher), // cipher_suite
    0x00, // compression_method null
    o.extensions ? cat(be16(o.extensions.length), o.extensions) : new Uint8Array(0),
  );
  const handshake = cat(0x02, be24(body.length), body, o.after ?? new Uint8Array(0));
  return cat(0x16, be16(o.recordVersion), be16(handshake.length), handshake);
}

const TLS10_SERVER_HELLO = hex`
  16 03 01 00 4a   # handshake record, TLS 1.0, length 74
  02 00 00 46      # ServerHello, length 70
  03 01            # server_version TLS 1.0
  ${RANDOM}        # random
  20 ${SESSION_ID} # session id, 32 bytes
  c0 14            # TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
  00               # compression null, no extensions
`;

const TLS13_EXTENSIONS = cat(
  hex`00 2b 00 02 03 04         # supported_versions: TLS 1.3`,
  hex`00 33 00 24 00 1d 00 20   # key_share: x25519, 32 bytes`,
  RANDOM,
);

describe('inspectServerFlight', () => {
  const cases: { name: string; bytes: Uint8Array; flight: ServerFlight }[] = [
    { name: 'nothing', bytes: new Uint8Array(0), flight: { kind: 'empty' } },
    {
      name: 'alert protocol_version',
      bytes: hex`15 03 03 00 02   # alert record, TLS 1.2, length 2
                 02 46            # fatal, protocol_version (70)`,
      flight: { kind: 'alert', level: 2, description: 70, descriptionName: 'protocol_version', recordVersion: 0x0303, encrypted: false },
    },
    {
      name: 'alert internal_error in a TLS 1.0 record (xrdp-tls10-seclevel1)',
      bytes: hex`15 03 01 00 02 02 50`,
      flight: { kind: 'alert', level: 2, description: 80, descriptionName: 'internal_error', recordVersion: 0x0301, encrypted: false },
    },
    {
      name: 'alert handshake_failure',
      bytes: hex`15 03 03 00 02 02 28`,
      flight: { kind: 'alert', level: 2, description: 40, descriptionName: 'handshake_failure', recordVersion: 0x0303, encrypted: false },
    },
    {
      name: 'an alert with an unassigned description',
      bytes: hex`15 03 03 00 02 01 fe`,
      flight: { kind: 'alert', level: 1, description: 254, descriptionName: 'unknown (254)', recordVersion: 0x0303, encrypted: false },
    },
    {
      name: 'an encrypted alert (19-byte record after a TLS 1.3 ServerHello)',
      bytes: cat(hex`15 03 03 00 13`, RANDOM.subarray(0, 19)),
      flight: { kind: 'alert', level: 2, description: -1, descriptionName: 'encrypted alert', recordVersion: 0x0303, encrypted: true },
    },
    {
      name: 'the plaintext MCS Disconnect Provider Ultimatum xrdp sends when its TLS setup fails',
      bytes: hex`03 00 00 09 02 f0 80 21 80`,
      flight: { kind: 'tpkt', length: 9 },
    },
    {
      name: 'a TLS 1.0 ServerHello without extensions',
      bytes: TLS10_SERVER_HELLO,
      flight: { kind: 'server_hello', version: 0x0301, versionName: 'TLSv1', cipherSuite: 0xc014 },
    },
    {
      name: 'a TLS 1.2 ServerHello with renegotiation_info',
      bytes: serverHello({ recordVersion: 0x0303, version: 0x0303, cipher: 0xc030, extensions: hex`ff 01 00 01 00` }),
      flight: { kind: 'server_hello', version: 0x0303, versionName: 'TLSv1.2', cipherSuite: 0xc030 },
    },
    {
      name: 'a TLS 1.3 ServerHello (legacy_version 1.2, supported_versions 0x0304)',
      bytes: serverHello({ recordVersion: 0x0303, version: 0x0303, cipher: 0x1302, extensions: TLS13_EXTENSIONS }),
      flight: { kind: 'server_hello', version: 0x0304, versionName: 'TLSv1.3', cipherSuite: 0x1302 },
    },
    {
      name: 'a Certificate message first',
      bytes: hex`16 03 03 00 07 0b 00 00 03 00 00 00`,
      flight: { kind: 'handshake_other', handshakeType: 11 },
    },
    {
      name: 'a ChangeCipherSpec record',
      bytes: hex`14 03 03 00 01 01`,
      flight: { kind: 'handshake_other', handshakeType: -1 },
    },
    { name: 'an SSH banner', bytes: Uint8Array.from(ascii('SSH-2.0-OpenSSH_9.2p1\r\n')), flight: { kind: 'not_tls' } },
    { name: 'an HTTP response', bytes: Uint8Array.from(ascii('HTTP/1.1 400 Bad Request\r\n\r\n')), flight: { kind: 'not_tls' } },
    { name: 'an SSLv2-style record version', bytes: hex`16 02 00 00 02 02 46`, flight: { kind: 'not_tls' } },
  ];

  it.each(cases)('$name', ({ bytes, flight }) => {
    expect(inspectServerFlight(bytes)).toEqual(flight);
  });

  it('builds the same TLS 1.0 ServerHello field by field as the annotated hex', () => {
    expect(serverHello({ recordVersion: 0x0301, version: 0x0301, cipher: 0xc014 })).toEqual(TLS10_SERVER_HELLO);
  });

  it('does not read the handshake message after an extension-less ServerHello as its extensions', () => {
    // A TLS 1.0 ServerHello without extensions, followed in the same record by a 43-byte handshake message whose
    // body happens to start like a supported_versions extension. The ServerHello ends where its length says.
    const next = cat(hex`0d 00 00 2b   # CertificateRequest, length 43`, hex`00 02 03 04`, new Uint8Array(39));
    const bytes = serverHello({ recordVersion: 0x0301, version: 0x0301, cipher: 0xc014, after: next });
    expect(inspectServerFlight(bytes)).toEqual({ kind: 'server_hello', version: 0x0301, versionName: 'TLSv1', cipherSuite: 0xc014 });
  });

  it('reads supported_versions after other extensions', () => {
    const extensions = cat(hex`ff 01 00 01 00`, hex`00 17 00 00`, hex`00 2b 00 02 03 04`);
    const bytes = serverHello({ recordVersion: 0x0303, version: 0x0303, cipher: 0x1301, extensions });
    expect(inspectServerFlight(bytes)).toMatchObject({ kind: 'server_hello', version: 0x0304, versionName: 'TLSv1.3' });
  });

  it('never throws on any prefix of a real flight', () => {
    const flights = [TLS10_SERVER_HELLO, hex`15 03 03 00 02 02 46`, serverHello({ recordVersion: 0x0303, version: 0x0303, cipher: 0x1302, extensions: TLS13_EXTENSIONS })];
    const kinds = new Set(['empty', 'alert', 'server_hello', 'handshake_other', 'tpkt', 'not_tls']);
    for (const f of flights) {
      for (let n = 0; n <= f.length; n++) expect(kinds.has(inspectServerFlight(f.subarray(0, n)).kind)).toBe(true);
    }
  });
});

describe('tlsVersionName', () => {
  it.each([
    [0x0300, 'SSLv3'],
    [0x0301, 'TLSv1'],
    [0x0302, 'TLSv1.1'],
    [0x0303, 'TLSv1.2'],
    [0x0304, 'TLSv1.3'],
    [0x7f17, '0x7f17'],
    [0x0002, '0x0002'],
  ])('%i = %s', (v, name) => {
    expect(tlsVersionName(v)).toBe(name);
  });
});
