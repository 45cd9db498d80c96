import { describe, expect, it } from 'vitest';
import { explain, formatExplain, parseCode, type ExplainResult } from '../../../src/probe/codes/index.js';

const summary = (rs: ExplainResult[]) => rs.map((r) => (r.known ? `${r.table}:${r.entry?.name}` : `unknown:${r.table ?? '*'}`));

describe('explain: the mstsc pair', () => {
  it('0x3 0x7: disconnect reason, extended reason, and the ERRINFO and stage behind them', () => {
    const rs = explain(['0x3', '0x7']);
    expect(summary(rs)).toEqual(['mstsc-disconnect:disconnectReasonByServer', 'mstsc-extended:exDiscReasonServerDeniedConnection', 'errinfo:ERRINFO_SERVER_DENIED_CONNECTION']);
    expect(rs[1]?.notes.join(' ')).toMatch(/ERRINFO_SERVER_DENIED_CONNECTION \(0x00000007\).*stage activation/);
    expect(rs[2]?.entry?.mstsc).toEqual({ disconnectReason: 3, extendedReason: 7 });
  });
  it('the same pair written 3 7, 0x3/0x7, 0x3,0x7 or after the mstsc keyword', () => {
    const want = summary(explain(['0x3', '0x7']));
    for (const args of [['3', '7'], ['0x3/0x7'], ['0x3,0x7'], ['mstsc', '0x3', '0x7'], ['MSTSC', '3', '0x7']]) expect(summary(explain(args)), args.join(' ')).toEqual(want);
  });
  it('a licensing pair and a protocol-range pair map to their ERRINFO', () => {
    expect(summary(explain(['0x3', '258']))[2]).toBe('errinfo:ERRINFO_LICENSE_NO_LICENSE');
    const rs = explain(['0x3', '0x10d3']);
    expect(summary(rs)).toEqual(['mstsc-disconnect:disconnectReasonByServer', 'mstsc-extended:exDiscReasonProtocolRange', 'errinfo:ERRINFO_CONNECTFAILED']);
    expect(rs[1]?.notes[0]).toContain('stage mcs');
  });
  it('extended reasons with no ERRINFO say so instead of inventing one', () => {
    const fips = explain(['0x3', '0x8']);
    expect(summary(fips)).toEqual(['mstsc-disconnect:disconnectReasonByServer', 'mstsc-extended:exDiscReasonServerDeniedConnectionFips']);
    expect(fips[1]?.notes[0]).toContain('defines no ERRINFO 0x00000008');
    expect(explain(['0x3', '0x1234'])[1]?.notes[0]).toContain('names no such code');
    expect(explain(['0x904', '0'])[1]?.notes[0]).toContain('no extended reason');
  });
  it('an unknown half of a pair is reported unknown, the other half still explained', () => {
    expect(summary(explain(['0x5', '0x7']))).toEqual(['unknown:mstsc-disconnect', 'mstsc-extended:exDiscReasonServerDeniedConnection', 'errinfo:ERRINFO_SERVER_DENIED_CONNECTION']);
    expect(summary(explain(['0x3', '40000']))).toEqual(['mstsc-disconnect:disconnectReasonByServer', 'unknown:mstsc-extended']);
  });
  it('notes when an ERRINFO-based extended code comes with another error code', () => {
    expect(explain(['0x904', '0x7'])[1]?.notes.join(' ')).toContain('comes with error code 0x3');
  });
});

describe('explain: one table', () => {
  it('errinfo 0x19 / 26 / 0x19 0x1A', () => {
    expect(summary(explain(['errinfo', '0x19']))).toEqual(['errinfo:ERRINFO_SERVER_SHUTDOWN']);
    expect(summary(explain(['errinfo', '26']))).toEqual(['errinfo:ERRINFO_SERVER_REBOOT']);
    expect(summary(explain(['ERRINFO', '0x19', '0x1A']))).toEqual(['errinfo:ERRINFO_SERVER_SHUTDOWN', 'errinfo:ERRINFO_SERVER_REBOOT']);
  });
  it('license 2 is the licensing error only; license-state 1 the transition', () => {
    expect(summary(explain(['license', '2']))).toEqual(['license-error:ERR_NO_LICENSE']);
    expect(summary(explain(['license-state', '1']))).toEqual(['license-state:ST_TOTAL_ABORT']);
  });
  it('freerdp 0x20009 and freerdp 9', () => {
    expect(summary(explain(['freerdp', '0x20009']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
    expect(summary(explain(['freerdp', '9']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
    expect(summary(explain(['freerdp', '[0x00020009]']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
  });
  it('xfreerdp-exit 131, neg 5, ntstatus 0xc000006d', () => {
    expect(summary(explain(['xfreerdp-exit', '131']))).toEqual(['xfreerdp-exit:XF_EXIT_CONN_FAILED']);
    expect(summary(explain(['neg', '5']))).toEqual(['neg-failure:HYBRID_REQUIRED_BY_SERVER']);
    expect(summary(explain(['ntstatus', '0xc000006d']))).toEqual(['status:STATUS_LOGON_FAILURE']);
  });
  it('a name inside a table keyword stays inside that table', () => {
    expect(summary(explain(['freerdp', 'LOGON_FAILURE']))).toEqual(['freerdp:ERRCONNECT_LOGON_FAILURE']);
  });
});

describe('explain: names', () => {
  it('full, lower-case, dashed or without the prefix', () => {
    for (const w of ['ERRINFO_SERVER_DENIED_CONNECTION', 'errinfo_server_denied_connection', 'SERVER_DENIED_CONNECTION', 'server-denied-connection']) {
      expect(summary(explain([w])), w).toEqual(['errinfo:ERRINFO_SERVER_DENIED_CONNECTION']);
    }
  });
  it('FreeRDP spellings of ERRINFO and FREERDP_ERROR_ names', () => {
    expect(summary(explain(['ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION']))).toEqual(['errinfo:ERRINFO_DISCONNECTED_BY_OTHERCONNECTION']);
    expect(summary(explain(['FREERDP_ERROR_CONNECT_LOGON_FAILURE']))).toEqual(['freerdp:ERRCONNECT_LOGON_FAILURE']);
    expect(summary(explain(['FREERDP_ERROR_AUTHENTICATION_FAILED']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
  });
  it('HYBRID_REQUIRED_BY_SERVER is the negotiation failure and FreeRDP\'s error of the same name', () => {
    expect(summary(explain(['HYBRID_REQUIRED_BY_SERVER']))).toEqual(['neg-failure:HYBRID_REQUIRED_BY_SERVER', 'freerdp:ERRCONNECT_HYBRID_REQUIRED_BY_SERVER']);
  });
  it('a prefixed name finds only its own code; a bare one every table that uses it', () => {
    expect(summary(explain(['STATUS_LOGON_FAILURE']))).toEqual(['status:STATUS_LOGON_FAILURE']);
    expect(summary(explain(['ERRCONNECT_AUTHENTICATION_FAILED']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
    expect(summary(explain(['STATUS_VALID_CLIENT']))).toEqual(['license-error:STATUS_VALID_CLIENT']);
    expect(summary(explain(['LOGON_FAILURE']))).toEqual(['mstsc-disconnect:SSL_ERR_LOGON_FAILURE', 'status:STATUS_LOGON_FAILURE', 'freerdp:ERRCONNECT_LOGON_FAILURE', 'xfreerdp-exit:XF_EXIT_LOGON_FAILURE']);
  });
});

describe('explain: bare numbers', () => {
  it('7 is looked up in every table that has it', () => {
    expect(summary(explain(['7']))).toEqual(['errinfo:ERRINFO_SERVER_DENIED_CONNECTION', 'mstsc-extended:exDiscReasonServerDeniedConnection', 'license-error:STATUS_VALID_CLIENT', 'xfreerdp-exit:XF_EXIT_CONN_DENIED']);
  });
  it('NTSTATUS in hex, signed decimal or bare hex digits', () => {
    for (const w of ['0xC000006E', '0xc000006e', '-1073741714', 'C000006E']) expect(summary(explain([w])), w).toEqual(['status:STATUS_ACCOUNT_RESTRICTION']);
  });
  it('a FreeRDP full code only in the FreeRDP table; the bare type is not a FreeRDP match', () => {
    expect(summary(explain(['0x20009']))).toEqual(['freerdp:ERRCONNECT_AUTHENTICATION_FAILED']);
    expect(summary(explain(['9'])).some((s) => s.startsWith('freerdp:'))).toBe(false);
  });
  it('a protocol-range value finds its ERRINFO, not a synthetic range entry', () => {
    expect(summary(explain(['0x10c9']))).toEqual(['errinfo:ERRINFO_UNKNOWNPDUTYPE2']);
  });
  it('three numbers are three lookups, not a pair', () => {
    expect(explain(['0x3', '0x7', '0x9']).filter((r) => r.table === 'mstsc-disconnect' && r.query === '0x7')).toHaveLength(0);
    expect(explain(['0x19', '0x1a', '0x10a']).filter((r) => r.table === 'errinfo').map((r) => r.entry?.name)).toEqual(['ERRINFO_SERVER_SHUTDOWN', 'ERRINFO_SERVER_REBOOT', 'ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS']);
  });
});

describe('explain: unknown codes are said to be unknown', () => {
  it('in a named table', () => {
    const [r] = explain(['errinfo', '0x8']);
    expect(r).toMatchObject({ known: false, table: 'errinfo' });
    expect(r?.message).toContain('0x00000008 is not a known code');
    expect(explain(['neg', '7'])[0]?.known).toBe(false);
    expect(explain(['xfreerdp-exit', '146'])[0]?.known).toBe(false);
    expect(explain(['errinfo', 'NO_SUCH_NAME'])[0]?.known).toBe(false);
  });
  it('anywhere', () => {
    expect(explain(['0x1234'])).toEqual([{ query: '0x1234', known: false, notes: [], message: expect.stringContaining('0x00001234 (4660) is not a code in any table') }]);
    expect(explain(['NOT_A_CODE'])[0]).toMatchObject({ known: false });
    expect(explain(['0x1ffffffff'])[0]?.known).toBe(false);
    expect(explain([])[0]).toMatchObject({ known: false, message: expect.stringContaining('nothing to explain') });
    expect(explain(['  '])[0]?.known).toBe(false);
  });
});

describe('parseCode', () => {
  it('reads hex, decimal and signed forms, rejects the rest', () => {
    expect(parseCode('0x7')).toBe(7);
    expect(parseCode('0X00020009')).toBe(0x20009);
    expect(parseCode('4297')).toBe(0x10c9);
    expect(parseCode('-1073741715')).toBe(0xc000006d);
    expect(parseCode('c000006d')).toBe(0xc000006d);
    for (const bad of ['0x', '0x100000000', '12abc', '00000007x', 'seven', '', '-4294967296']) expect(parseCode(bad), bad).toBeUndefined();
  });
});

describe('formatExplain', () => {
  it('one block per result with table, code, name, stage, meaning, causes, checks and the mstsc pair', () => {
    const text = formatExplain(explain(['ERRINFO_SERVER_DENIED_CONNECTION']));
    expect(text).toContain('ERRINFO 0x00000007 ERRINFO_SERVER_DENIED_CONNECTION  [MS-RDPBCGR 2.2.5.1.1]');
    expect(text).toContain('  stage:    activation');
    expect(text).toMatch(/ {2}meaning: {2}The server refused the connection/);
    expect(text).toMatch(/ {2}causes: {3}- /);
    expect(text).toMatch(/ {2}check: {4}- /);
    expect(text).toContain('  mstsc:    error code 0x3, extended error code 0x7');
  });
  it('blocks are separated by a blank line; unknowns say so; notes are printed', () => {
    const text = formatExplain(explain(['0x3', '0x7']));
    expect(text.split('\n\n')).toHaveLength(3);
    expect(text).toContain('mstsc error code (disconnectReason) 0x3 (3) disconnectReasonByServer');
    expect(text).toContain('note:     the server sent Set Error Info ERRINFO_SERVER_DENIED_CONNECTION');
    expect(formatExplain(explain(['0x1234']))).toMatch(/^unknown: 0x00001234/);
    expect(formatExplain(explain(['xfreerdp-exit', '131']))).toContain('stage:    not tied to one stage');
  });
});
