/**
 * The bench:session parsers on real tool output (bench/session/fixtures: xrdp 0.9.21 and FreeRDP 2.11 shadow on
 * loopback, captured by this runner): what they read must be what the tools printed, and a missing fact must stay
 * missing rather than be guessed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TimedResult } from '../lib/proc.js';
import { NMAP_CIPHER, NMAP_LEVEL, NMAP_VERSION, parseNmapSession, parseSessionProbe, parseXfDebug } from '../lib/session-tools.js';

const fx = (name: string): string => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
const result = (stdout: string, stderr = '', rc: number | null = 0): TimedResult => ({ rc, signal: null, timedOut: false, wallMs: 1, stdout, stderr });
const xf = (name: string, rc: number): TimedResult => {
  const [out, err] = fx(name).split('\n---stderr\n');
  return result(out ?? '', err ?? '', rc);
};

describe('xfreerdp +auth-only /log-level:DEBUG', () => {
  it('xrdp crypt_level=high: 128-bit, legacy X.224 reply, ERRINFO at licensing, no finalization', () => {
    const v = parseXfDebug(xf('xrdp-rdp.xfreerdp-debug.txt', 131));
    expect(v.encryptionMethod).toBe('128BIT');
    expect(v.requested).toBe(0);
    expect(v.selected).toBe('no rdpNegData');
    expect(v.errInfo).toBe('ERRINFO_LOGOFF_BY_USER');
    expect(v.dpumReason).toBe(3);
    expect(v.states).toContain('LICENSING');
    expect(v.states).not.toContain('CAPABILITIES_EXCHANGE');
    expect(v.finalized).toBe(false);
    expect(v.dataPduChannel).toBeUndefined();
    expect(v.clientChannels).toEqual(['rdpdr', 'rdpsnd', 'cliprdr', 'drdynvc']);
    expect(v.nonAdvertised).toBeUndefined();
  });

  it('xrdp crypt_level=none: NONE with the non-advertised warning, finalized, Data PDUs from user 1008', () => {
    const v = parseXfDebug(xf('xrdp-rdp-none.xfreerdp-debug.txt', 0));
    expect(v.encryptionMethod).toBe('NONE');
    expect(v.nonAdvertised).toBe('0x00000000');
    expect(v.finalized).toBe(true);
    expect(v.dataPduChannel).toBe(1008);
    expect(v.errInfo).toBeUndefined();
    // ERRCONNECT_CONNECT_CANCELLED is logged on every exit and means nothing
    expect(v.errConnect).toBeUndefined();
  });

  it('shadow NLA: selected HYBRID with RDP_NEG_RSP flags, finalized', () => {
    const v = parseXfDebug(xf('shadow-nla.xfreerdp-debug.txt', 0));
    expect(v.requested).toBe(3);
    expect(v.selected).toBe('2');
    expect(v.negFlags).toBe('0x03 EXTENDED_CLIENT_DATA_SUPPORTED|DYNVC_GFX_PROTOCOL_SUPPORTED');
    expect(v.encryptionMethod).toBe('NONE');
    expect(v.finalized).toBe(true);
    expect(v.dataPduChannel).toBe(1009);
  });
});

describe('nmap rdp-enum-encryption', () => {
  it('xrdp crypt_level=high: five layers SUCCESS, High, 128-bit only, the RDP 5-8 version', () => {
    const v = parseNmapSession(result(fx('xrdp-rdp.nmap.txt')));
    expect(Object.values(v.layers).filter((s) => s === 'SUCCESS')).toHaveLength(5);
    expect(v.encryptionLevel).toBe('High');
    expect(NMAP_LEVEL[v.encryptionLevel!]).toBe('HIGH');
    expect(v.ciphers).toEqual(['128-bit RC4']);
    expect(NMAP_CIPHER[v.ciphers[0]!]).toBe('128BIT');
    expect(v.protocolVersion).toBe('RDP 5.x, 6.x, 7.x, or 8.x server');
    expect(NMAP_VERSION[v.protocolVersion!]).toBe('0x00080004');
    expect(v.scriptFailed).toBe(false);
  });

  it('xrdp crypt_level=none: layers only; no level, cipher or version is invented', () => {
    const v = parseNmapSession(result(fx('xrdp-rdp-none.nmap.txt')));
    expect(Object.keys(v.layers).length).toBeGreaterThan(0);
    expect(v.encryptionLevel).toBeUndefined();
    expect(v.ciphers).toEqual([]);
    expect(v.protocolVersion).toBeUndefined();
    expect(v.cipherFailures).toEqual([]);
  });

  it('xrdp TLS-only: script execution failed', () => {
    const v = parseNmapSession(result(fx('xrdp-tls.nmap.txt')));
    expect(v.scriptFailed).toBe(true);
    expect(v.state).toBe('open');
    expect(v.layers).toEqual({});
  });
});

describe('rdp-probe check --depth session --json', () => {
  it('xrdp crypt_level=high: connects, with the MCS, security and enumeration facts', () => {
    const v = parseSessionProbe(result(fx('xrdp-rdp.probe.json')));
    expect(v.parsed).toBe(true);
    expect(v.verdict).toBe('connects');
    expect(v.selected).toBe('RDP');
    expect(v.mcs['serverVersionCode']).toBe('0x00080004');
    expect(v.mcs['encryptionMethod']).toBe('128BIT');
    expect(v.mcs['userId']).toBe(1004);
    expect(v.encryptionLevel).toBe('HIGH');
    expect(v.methods.filter((m) => m.accepted).map((m) => m.method)).toEqual(['128BIT']);
    expect(v.methods.find((m) => m.method === '40BIT')?.answer).toBe('chose 128BIT');
    expect(v.protocols.find((p) => p.protocol === 'SSL')).toMatchObject({ accepted: false, answer: 'selected RDP' });
    expect(v.statuses['activation']).toBe('ok');
  });

  it('stderr only (no JSON): not parsed, the last stderr line kept', () => {
    const v = parseSessionProbe(result('', 'boom\nError: something broke', 2));
    expect(v.parsed).toBe(false);
    expect(v.error).toBe('Error: something broke');
  });
});
