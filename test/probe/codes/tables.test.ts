import { describe, expect, it } from 'vitest';
import { describeStatus, NtStatus, SecStatus } from '../../../src/protocol/ntstatus.js';
import { NegFailureCode } from '../../../src/protocol/nego.js';
import { STAGES } from '../../../src/probe/types.js';
import {
  CODE_TABLES,
  ERRCONNECT_CODES,
  ERRINFO_CODES,
  LICENSE_ERROR_CODES,
  LICENSE_STATE_TRANSITIONS,
  MSTSC_DISCONNECT_REASONS,
  MSTSC_EXTENDED_REASONS,
  NEG_FAILURE_CODES,
  STATUS_CODES,
  XFREERDP_EXIT_CODES,
  errinfoEntry,
  errinfoName,
  explain,
  freerdpEntry,
  licenseErrorEntry,
  mstscDisconnectEntry,
  mstscExtendedEntry,
  mstscPairFor,
  negFailureEntry,
  stateTransitionName,
  statusEntry,
  xfreerdpExitEntry,
  type CodeEntry,
} from '../../../src/probe/codes/index.js';

const names = (entries: readonly CodeEntry[]) => entries.map((e) => e.name);
const inRange = (lo: number, hi: number) => ERRINFO_CODES.filter((e) => e.code >= lo && e.code <= hi).length;

describe('ERRINFO (MS-RDPBCGR 2.2.5.1.1, Set Error Info PDU errorInfo)', () => {
  it('has every code of the current spec, range by range', () => {
    expect(ERRINFO_CODES).toHaveLength(120);
    expect(inRange(0x0000, 0x00ff)).toBe(20); // protocol-independent, 0x0–0x1A with gaps
    expect(inRange(0x0100, 0x010a)).toBe(11); // licensing, contiguous
    expect(inRange(0x0400, 0x0412)).toBe(11); // Connection Broker
    expect(inRange(0x10c9, 0x1136)).toBe(73); // RDP-specific
    expect(inRange(0x1191, 0x1195)).toBe(5); // standard RDP security
  });
  it('spot values as the spec spells them', () => {
    expect(errinfoName(0x7)).toBe('ERRINFO_SERVER_DENIED_CONNECTION');
    expect(errinfoName(0x5)).toBe('ERRINFO_DISCONNECTED_BY_OTHERCONNECTION'); // spec: no underscore in OTHERCONNECTION
    expect(errinfoName(0x19)).toBe('ERRINFO_SERVER_SHUTDOWN'); // absent from FreeRDP and IronRDP
    expect(errinfoName(0x1a)).toBe('ERRINFO_SERVER_REBOOT');
    expect(errinfoName(0x10a)).toBe('ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS');
    expect(errinfoName(0x410)).toBe('ERRINFO_CB_CONNECTION_ERROR_INVALID_SETTINGS');
    expect(errinfoName(0x10c9)).toBe('ERRINFO_UNKNOWNPDUTYPE2');
    expect(errinfoName(0x10e3)).toBe('ERRINFO_BADSUPRESSOUTPUTPDU'); // the spec's spelling
    expect(errinfoName(0x10d3)).toBe('ERRINFO_CONNECTFAILED');
    expect(errinfoName(0x1136)).toBe('ERRINFO_INVALIDMONITORCOUNT');
    expect(errinfoName(0x1195)).toBe('ERRINFO_DECRYPTFAILED2');
  });
  it('leaves the spec gaps unknown instead of inventing them', () => {
    for (const gap of [0x8, 0xd, 0xe, 0x13, 0x16, 0x1b, 0x401, 0x403, 0x10cc, 0x10e4, 0x1127, 0x1137, 0x1196]) {
      expect(errinfoEntry(gap), `0x${gap.toString(16)}`).toBeUndefined();
    }
    expect(errinfoName(0x8)).toBe('unknown (0x00000008)');
  });
  it('stages follow where the PDU that fails lives', () => {
    expect(errinfoEntry(0x7)?.stage).toBe('activation');
    expect(errinfoEntry(0x102)?.stage).toBe('licensing');
    expect(errinfoEntry(0x1129)?.stage).toBe('mcs'); // Client Monitor Data, a GCC block
    expect(errinfoEntry(0x1114)?.stage).toBe('licensing'); // Client Info PDU, sent in the licensing stage
    expect(errinfoEntry(0x1192)?.stage).toBe('security');
  });
  it('keeps FreeRDP spellings as aliases', () => {
    expect(errinfoEntry(0x5)?.aliases).toContain('ERRINFO_DISCONNECTED_BY_OTHER_CONNECTION');
    expect(errinfoEntry(0x10c9)?.aliases).toContain('ERRINFO_UNKNOWN_DATA_PDU_TYPE');
  });
});

describe('mstsc pair for an ERRINFO (ExtendedDisconnectReasonCode values line up with ERRINFO)', () => {
  it('0x3 plus the same value where the enumeration has it', () => {
    expect(mstscPairFor(0x7)).toEqual({ disconnectReason: 0x3, extendedReason: 0x7 });
    expect(mstscPairFor(0x9)).toEqual({ disconnectReason: 0x3, extendedReason: 9 });
    expect(mstscPairFor(0x100)).toEqual({ disconnectReason: 0x3, extendedReason: 256 });
    expect(mstscPairFor(0x10c9)).toEqual({ disconnectReason: 0x3, extendedReason: 4297 });
    expect(errinfoEntry(0x7)?.mstsc).toEqual({ disconnectReason: 3, extendedReason: 7 });
  });
  it('none where the enumeration is silent', () => {
    for (const c of [0x0, 0xf, 0x10, 0x19, 0x1a, 0x400, 0x412]) expect(mstscPairFor(c), `0x${c.toString(16)}`).toBeUndefined();
    expect(errinfoEntry(0x19)?.mstsc).toBeUndefined();
  });
});

describe('mstsc disconnectReason (IMsTscAxEvents::OnDisconnected)', () => {
  it('lists every documented value', () => {
    expect(MSTSC_DISCONNECT_REASONS).toHaveLength(47);
    expect(mstscDisconnectEntry(0x3)?.name).toBe('disconnectReasonByServer');
    expect(mstscDisconnectEntry(0x904)?.name).toBe('disconnectReasonAtClientWinsockFDCLOSE');
    expect(mstscDisconnectEntry(0x204)?.name).toBe('disconnectReasonSocketConnectFailed');
    expect(mstscDisconnectEntry(0x808)?.name).toBe('disconnectReasonLicensingFailed');
    expect(mstscDisconnectEntry(0xc08)?.name).toBe('disconnectReasonClientDecompressionError');
    expect(mstscDisconnectEntry(0x2107)?.name).toBe('SSL_ERR_FRESH_CRED_REQUIRED_BY_SERVER');
    expect(mstscDisconnectEntry(0x5)).toBeUndefined();
  });
});

describe('mstsc ExtendedDisconnectReasonCode', () => {
  it('has every member of the enumeration', () => {
    expect(MSTSC_EXTENDED_REASONS).toHaveLength(28); // 0–12, 256–267, 768, 4096, 32767
    expect(mstscExtendedEntry(7)?.name).toBe('exDiscReasonServerDeniedConnection');
    expect(mstscExtendedEntry(8)?.name).toBe('exDiscReasonServerDeniedConnectionFips');
    expect(mstscExtendedEntry(12)?.name).toBe('exDiscReasonLogoffByUser');
    expect(mstscExtendedEntry(267)?.name).toBe('exDiscReasonLicenseCreatingLicStoreAccDenied');
    expect(mstscExtendedEntry(768)?.name).toBe('exDiscReasonRdpEncInvalidCredentials');
    expect(mstscExtendedEntry(4096)?.name).toBe('exDiscReasonProtocolRangeStart');
    expect(mstscExtendedEntry(32767)?.name).toBe('exDiscReasonProtocolRangeEnd');
  });
  it('a value inside the protocol range gets a range entry; outside it nothing', () => {
    expect(mstscExtendedEntry(0x10c9)).toMatchObject({ code: 0x10c9, name: 'exDiscReasonProtocolRange' });
    for (const c of [13, 255, 268, 769, 4095, 32768]) expect(mstscExtendedEntry(c), String(c)).toBeUndefined();
  });
});

describe('RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2)', () => {
  it('codes 1–6 with the names of protocol/nego.ts, all at the x224 stage', () => {
    expect(NEG_FAILURE_CODES).toHaveLength(6);
    expect(NEG_FAILURE_CODES.map((e) => [e.code, e.name])).toEqual(Object.entries(NegFailureCode).map(([k, v]) => [v, k]));
    expect(NEG_FAILURE_CODES.every((e) => e.stage === 'x224')).toBe(true);
    expect(negFailureEntry(5)?.name).toBe('HYBRID_REQUIRED_BY_SERVER');
    expect(negFailureEntry(3)?.related?.[0]).toContain('ERRCONNECT_TLS_CONNECT_FAILED');
    expect(negFailureEntry(7)).toBeUndefined();
  });
});

describe('NTSTATUS / SSPI (view over protocol/ntstatus.ts)', () => {
  it('one entry per code there, with its sentence and fix', () => {
    const all = { ...NtStatus, ...SecStatus };
    expect(STATUS_CODES).toHaveLength(Object.keys(all).length);
    for (const [name, value] of Object.entries(all)) {
      const e = statusEntry(value);
      expect(e?.name).toBe(name);
      expect(e?.checks).toEqual([describeStatus(value).fix]);
    }
  });
  it('adds the stage and FreeRDP mapping (nla.c)', () => {
    expect(statusEntry(0xc000006d)?.stage).toBe('nla_auth');
    expect(statusEntry(-1073741715)?.name).toBe('STATUS_LOGON_FAILURE'); // signed form of 0xC000006D
    expect(statusEntry(0xc000006d)?.related).toEqual(['FreeRDP: ERRCONNECT_LOGON_FAILURE (0x00020014)']);
    expect(statusEntry(0xc0000064)?.related).toEqual(['FreeRDP: ERRCONNECT_AUTHENTICATION_FAILED (0x00020009)']);
    expect(statusEntry(0x80090302)?.stage).toBe('credssp');
    expect(statusEntry(0xc0000001)).toBeUndefined();
  });
});

describe('licensing (MS-RDPBCGR 2.2.1.12.1.3, LICENSE_ERROR_MESSAGE)', () => {
  it('dwErrorCode values with who sends them', () => {
    expect(LICENSE_ERROR_CODES).toHaveLength(9);
    expect(LICENSE_ERROR_CODES.map((e) => e.code)).toEqual([1, 2, 3, 4, 6, 7, 8, 0xb, 0xc]);
    expect(licenseErrorEntry(7)).toMatchObject({ name: 'STATUS_VALID_CLIENT', sentBy: 'server' });
    expect(licenseErrorEntry(1)).toMatchObject({ name: 'ERR_INVALID_SERVER_CERTIFICATE', sentBy: 'client' });
    expect(licenseErrorEntry(3)).toMatchObject({ name: 'ERR_INVALID_MAC', sentBy: 'both' });
    expect(licenseErrorEntry(5)).toBeUndefined();
  });
  it('dwStateTransition values', () => {
    expect(LICENSE_STATE_TRANSITIONS).toHaveLength(4);
    expect([1, 2, 3, 4, 5].map(stateTransitionName)).toEqual(['ST_TOTAL_ABORT', 'ST_NO_TRANSITION', 'ST_RESET_PHASE_TO_START', 'ST_RESEND_LAST_MESSAGE', 'unknown (0x00000005)']);
  });
  it('names the decrypted Valid Client packet of spec example 4.1.11', () => {
    // ERROR_ALERT preamble (ff 03 1000), dwErrorCode, dwStateTransition, empty BB_ERROR_BLOB (type 4, length 0).
    const bytes = Uint8Array.from([0xff, 0x03, 0x10, 0x00, 0x07, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00]);
    const v = new DataView(bytes.buffer);
    expect(licenseErrorEntry(v.getUint32(4, true))?.name).toBe('STATUS_VALID_CLIENT');
    expect(stateTransitionName(v.getUint32(8, true))).toBe('ST_NO_TRANSITION');
  });
});

describe('FreeRDP connect errors (include/freerdp/error.h) and xfreerdp exit codes (xfreerdp.h)', () => {
  it('ERRCONNECT types 0x1–0x1E in class 2', () => {
    expect(ERRCONNECT_CODES).toHaveLength(30);
    expect(ERRCONNECT_CODES.map((e) => e.code)).toEqual(Array.from({ length: 30 }, (_, i) => 0x20001 + i));
    expect(freerdpEntry(0x20009)?.name).toBe('ERRCONNECT_AUTHENTICATION_FAILED');
    expect(freerdpEntry(0x9)?.name).toBe('ERRCONNECT_AUTHENTICATION_FAILED'); // the bare type, as error.h writes it
    expect(freerdpEntry(0x2001e)?.name).toBe('ERRCONNECT_HYBRID_REQUIRED_BY_SERVER');
    expect(freerdpEntry(0x2001f)).toBeUndefined();
    expect(freerdpEntry(0x30009)).toBeUndefined();
  });
  it('XF_EXIT_* with its gaps', () => {
    expect(XFREERDP_EXIT_CODES).toHaveLength(58);
    expect(xfreerdpExitEntry(0)?.name).toBe('XF_EXIT_SUCCESS');
    expect(xfreerdpExitEntry(8)?.name).toBe('XF_EXIT_CONN_DENIED_FIPS');
    expect(xfreerdpExitEntry(16)?.name).toBe('XF_EXIT_LICENSE_INTERNAL');
    expect(xfreerdpExitEntry(128)?.name).toBe('XF_EXIT_PARSE_ARGUMENTS');
    expect(xfreerdpExitEntry(131)?.name).toBe('XF_EXIT_CONN_FAILED');
    expect(xfreerdpExitEntry(132)?.name).toBe('XF_EXIT_AUTH_FAILURE');
    expect(xfreerdpExitEntry(161)?.name).toBe('XF_EXIT_CONNECT_HYBRID_REQUIRED_BY_SERVER');
    expect(xfreerdpExitEntry(255)?.name).toBe('XF_EXIT_UNKNOWN');
    for (const gap of [12, 15, 27, 31, 33, 127, 146, 162, 254]) expect(xfreerdpExitEntry(gap), String(gap)).toBeUndefined();
  });
  it('exit codes of connect errors carry that error (xf_exit_code_map)', () => {
    expect(xfreerdpExitEntry(134)?.related).toEqual(['ERRCONNECT_LOGON_FAILURE (0x00020014)']);
    expect(xfreerdpExitEntry(7)?.related).toEqual(['ERRINFO 0x00000007']);
  });
});

describe('every table', () => {
  const stageOk = (s: string | undefined) => s === undefined || (STAGES as readonly string[]).includes(s);
  for (const t of CODE_TABLES) {
    it(`${t.id}: unique codes and names (aliases included), a stage id, a sentence, and its table id`, () => {
      const all = t.entries.flatMap((e) => [e.name, ...(e.aliases ?? [])].map((n) => n.toUpperCase()));
      expect(new Set(all).size).toBe(all.length);
      expect(new Set(t.entries.map((e) => e.code)).size).toBe(t.entries.length);
      for (const e of t.entries) {
        expect(e.table).toBe(t.id);
        expect(stageOk(e.stage), `${e.name} stage ${e.stage}`).toBe(true);
        expect(e.meaning, e.name).toMatch(/^[A-Z].*\.$/);
        expect(e.checks.length, e.name).toBeGreaterThan(0);
      }
    });
  }
  it('spec tables give causes for every code', () => {
    for (const e of [...ERRINFO_CODES, ...NEG_FAILURE_CODES, ...STATUS_CODES, ...LICENSE_ERROR_CODES, ...ERRCONNECT_CODES]) expect(e.causes.length, e.name).toBeGreaterThan(0);
  });
  it('no two tables disagree about the table an entry belongs to', () => {
    expect(names(ERRINFO_CODES).every((n) => n.startsWith('ERRINFO_'))).toBe(true);
    expect(names(ERRCONNECT_CODES).every((n) => n.startsWith('ERRCONNECT_'))).toBe(true);
    expect(names(XFREERDP_EXIT_CODES).every((n) => n.startsWith('XF_EXIT_'))).toBe(true);
  });
});

describe('round trip name → code → name for every entry', () => {
  const keyword: Record<string, string> = {
    errinfo: 'errinfo', 'mstsc-disconnect': 'disconnect', 'mstsc-extended': 'extended', 'neg-failure': 'neg', status: 'ntstatus',
    'license-error': 'license', 'license-state': 'license-state', freerdp: 'freerdp', 'xfreerdp-exit': 'xfreerdp-exit',
  };
  for (const t of CODE_TABLES) {
    it(t.id, () => {
      for (const e of t.entries) {
        const byName = explain([e.name]).filter((r) => r.known && r.table === t.id);
        expect(byName.map((r) => r.entry?.code), e.name).toEqual([e.code]);
        const back = explain([keyword[t.id]!, `0x${e.code.toString(16)}`]);
        expect(back, e.name).toHaveLength(1);
        expect(back[0]?.entry?.name).toBe(e.name);
      }
    });
  }
});
