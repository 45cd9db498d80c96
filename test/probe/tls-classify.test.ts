import { describe, expect, it } from 'vitest';
import { classifyTlsFailure, type TlsFailureInput } from '../../src/probe/tls-classify.js';
import { ascii, be16, be24, cat, hex } from '../helpers/bytes.js';

const input = (over: Partial<TlsFailureInput>): TlsFailureInput => ({
  message: 'Client network socket disconnected before secure TLS connection was established',
  timedOut: false,
  closed: 'none',
  serverBytes: new Uint8Array(0),
  timeoutMs: 5000,
  legacyAllowed: false,
  ...over,
});

const RANDOM = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

/** A ServerHello record: 16 03 xx, handshake type 2, version, random, session id, cipher, compression 0, extensions. */
function serverHello(recordVersion: number, version: number, cipher: number, extensions?: Uint8Array): Uint8Array {
  const sessionId = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
  const body = cat(be16(version), RANDOM, sessionId.length, sessionId, be16(cipher), 0x00, extensions ? cat(be16(extensions.length), extensions) : []);
  const handshake = cat(0x02, be24(body.length), body);
  return cat(0x16, be16(recordVersion), be16(handshake.length), handshake);
}

const TLS10_HELLO = serverHello(0x0301, 0x0301, 0xc014); // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, as xrdp-tls10 answers
const TLS13_HELLO = serverHello(0x0303, 0x0303, 0x1302, cat(hex`00 2b 00 02 03 04   # supported_versions TLS 1.3`, hex`00 33 00 24 00 1d 00 20`, RANDOM));
const XRDP_DPUM = hex`03 00 00 09 02 f0 80 21 80`;

describe('alerts', () => {
  it('protocol_version is a version mismatch worth a legacy retry', () => {
    const f = classifyTlsFailure(input({ serverBytes: hex`15 03 03 00 02 02 46`, code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }));
    expect(f.error).toMatchObject({ layer: 'peer', kind: 'tls_version_mismatch', code: 70, codeName: 'protocol_version', spec: 'RFC 8446 6.2', localCode: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(f.error.message).toContain('older than TLS 1.2');
    expect(f.versionProblem).toBe(true);
    expect(f.flight.kind).toBe('alert');
    expect(f.evidence).toEqual({ direction: 'server', hex: '15030300020246', length: 7, pdu: 'TLS alert protocol_version' });
  });

  it('internal_error (xrdp with only TLS 1.0 under seclevel 2) is its own kind, a version problem unless legacy is already allowed', () => {
    const strict = classifyTlsFailure(input({ serverBytes: hex`15 03 01 00 02 02 50` }));
    expect(strict.error).toMatchObject({ kind: 'tls_internal_error', code: 80, codeName: 'internal_error' });
    expect(strict.versionProblem).toBe(true);
    expect(classifyTlsFailure(input({ serverBytes: hex`15 03 01 00 02 02 50`, legacyAllowed: true })).versionProblem).toBe(false);
  });

  it('handshake_failure: no common cipher suite', () => {
    const f = classifyTlsFailure(input({ serverBytes: hex`15 03 03 00 02 02 28` }));
    expect(f.error).toMatchObject({ kind: 'tls_handshake_failure', code: 40, codeName: 'handshake_failure' });
  });

  it('insufficient_security and any other alert keep the alert name', () => {
    expect(classifyTlsFailure(input({ serverBytes: hex`15 03 03 00 02 02 47` })).error).toMatchObject({ kind: 'tls_insufficient_security', code: 71 });
    const other = classifyTlsFailure(input({ serverBytes: hex`15 03 03 00 02 02 30` })).error;
    expect(other).toMatchObject({ kind: 'tls_alert', code: 48, codeName: 'unknown_ca' });
    expect(other.message).toContain('unknown_ca');
  });
});

describe('not a TLS answer', () => {
  it("xrdp's plaintext DPUm: the server's own TLS setup failed", () => {
    const f = classifyTlsFailure(input({ serverBytes: XRDP_DPUM, code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' }));
    expect(f.error.kind).toBe('server_tls_setup_failure');
    expect(f.error.message).toContain('Disconnect Provider Ultimatum');
    expect(f.flight).toEqual({ kind: 'tpkt', length: 9 });
    expect(f.evidence?.pdu).toBe('plaintext TPKT frame');
    expect(f.versionProblem).toBe(false);
  });

  it('another plaintext TPKT frame is still a server-side setup failure, with the generic wording', () => {
    const f = classifyTlsFailure(input({ serverBytes: hex`03 00 00 0b 06 80 00 00 00 00 00` }));
    expect(f.error.kind).toBe('server_tls_setup_failure');
    expect(f.error.message).toContain('a plaintext RDP frame');
  });

  it('bytes that are not TLS at all', () => {
    const f = classifyTlsFailure(input({ serverBytes: Uint8Array.from(ascii('HTTP/1.1 400 Bad Request\r\n')) }));
    expect(f.error).toMatchObject({ layer: 'protocol', kind: 'tls_not_tls' });
  });
});

describe('ServerHello versions', () => {
  it('a TLS 1.0 ServerHello without legacy allowed is a version mismatch', () => {
    const f = classifyTlsFailure(input({ serverBytes: TLS10_HELLO, code: 'ERR_SSL_UNSUPPORTED_PROTOCOL' }));
    expect(f.error.kind).toBe('tls_version_mismatch');
    expect(f.error.message).toContain('TLS 1.0');
    expect(f.versionProblem).toBe(true);
    expect(f.flight).toEqual({ kind: 'server_hello', version: 0x0301, versionName: 'TLSv1', cipherSuite: 0xc014 });
    expect(f.evidence?.pdu).toBe('TLS ServerHello (TLS 1.0)');
  });

  it('a TLS 1.0 ServerHello with legacy allowed is not called a version mismatch', () => {
    const f = classifyTlsFailure(input({ serverBytes: TLS10_HELLO, legacyAllowed: true, message: 'Some Other Failure' }));
    expect(f.error.kind).not.toBe('tls_version_mismatch');
    expect(f.versionProblem).toBe(false);
  });

  it('a TLS 1.3 ServerHello is named TLS 1.3 from supported_versions', () => {
    const f = classifyTlsFailure(input({ serverBytes: TLS13_HELLO, code: 'ERR_SSL_BAD_SIGNATURE', message: 'bad signature' }));
    expect(f.flight).toEqual({ kind: 'server_hello', version: 0x0304, versionName: 'TLSv1.3', cipherSuite: 0x1302 });
    expect(f.evidence?.pdu).toBe('TLS ServerHello (TLS 1.3)');
    expect(f.error.kind).toBe('tls_bad_signature');
  });
});

describe('no bytes from the server', () => {
  it('empty bytes and a reset: tls_reset', () => {
    const f = classifyTlsFailure(input({ closed: 'reset', code: 'ECONNRESET' }));
    expect(f.error).toMatchObject({ layer: 'transport', kind: 'tls_reset', localCode: 'ECONNRESET' });
    expect(f.error.codeName).toBeUndefined(); // codeName carries spec names only
    expect(f.evidence).toBeUndefined();
    expect(f.flight).toEqual({ kind: 'empty' });
  });

  it('empty bytes and a close: tls_closed', () => {
    expect(classifyTlsFailure(input({ closed: 'eof' })).error.kind).toBe('tls_closed');
  });

  it('timed out with no bytes: tls_timeout naming the deadline', () => {
    const f = classifyTlsFailure(input({ timedOut: true, timeoutMs: 2500 }));
    expect(f.error).toMatchObject({ layer: 'transport', kind: 'tls_timeout' });
    expect(f.error.message).toContain('2500 ms');
    expect(f.error.message).toContain('did not answer the ClientHello');
  });

  it('timed out after some bytes: still tls_timeout, but not "did not answer"', () => {
    const f = classifyTlsFailure(input({ timedOut: true, serverBytes: TLS13_HELLO, legacyAllowed: true }));
    expect(f.error.kind).toBe('tls_timeout');
    expect(f.error.message).not.toContain('did not answer');
  });
});

describe('Node error codes without server bytes', () => {
  it.each(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE'])('%s is a version mismatch', (code) => {
    const f = classifyTlsFailure(input({ code, closed: 'reset' }));
    expect(f.error.kind).toBe('tls_version_mismatch');
    expect(f.versionProblem).toBe(true);
  });

  it('a decrypt error message is a bad signature (certificate and key do not match)', () => {
    expect(classifyTlsFailure(input({ message: 'error:0A00007B:SSL routines::decrypt error', closed: 'eof' })).error.kind).toBe('tls_bad_signature');
  });
});

it('keeps at most 512 bytes of evidence hex but the full length', () => {
  const big = cat(TLS13_HELLO, new Uint8Array(1000));
  const f = classifyTlsFailure(input({ serverBytes: big, legacyAllowed: true }));
  expect(f.evidence?.length).toBe(big.length);
  expect(f.evidence?.hex.length).toBe(1024);
});
