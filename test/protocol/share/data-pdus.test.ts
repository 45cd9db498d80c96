import { describe, expect, it } from 'vitest';
import {
  ControlAction,
  decodeSharePdu,
  decodeSharePdus,
  encodeControlPdu,
  encodeEnhancedSecurityRedirection,
  encodeFontMapPdu,
  encodeSaveSessionInfo,
  encodeSetErrorInfo,
  encodeShareControl,
  encodeShareDataPdu,
  encodeSynchronizePdu,
  LogonErrorType,
  PduType2,
  RedirFlags,
  decodeServerRedirectionPacket,
  encodeServerRedirectionPacket,
  type SharePdu,
} from '../../../src/protocol/share/index.js';
import { utf16le } from '../../../src/protocol/codec/bytes.js';
import { hex } from '../../helpers/bytes.js';
import { decodeError } from '../../helpers/errors.js';
import { mcsPayloads } from './capture-frames.js';

function as<T extends SharePdu['type']>(p: SharePdu, t: T): Extract<SharePdu, { type: T }> {
  expect(p.type).toBe(t);
  return p as Extract<SharePdu, { type: T }>;
}

describe('Share Data PDUs (MS-RDPBCGR 2.2.8.1.1.1.2)', () => {
  it('decodes the server finalization PDUs of a real FreeRDP shadow session', () => {
    const { server } = mcsPayloads('shadow-rdp_xfreerdp-sec-rdp_std-security.pcap');
    const kinds = server.slice(2).map((p) => as(decodeSharePdu(p.data), 'data'));
    expect(kinds.map((k) => k.dataHeader.pduType2Name)).toEqual(['PDUTYPE2_SYNCHRONIZE', 'PDUTYPE2_CONTROL', 'PDUTYPE2_CONTROL', 'PDUTYPE2_FONTMAP']);
    expect(kinds[0]!.dataHeader).toMatchObject({ shareId: 0x000103f1, streamId: 1, compressed: false });
    expect(kinds[1]!.finalization).toMatchObject({ kind: 'control', actionName: 'CTRLACTION_COOPERATE' });
    expect(kinds[2]!.finalization).toMatchObject({ kind: 'control', action: ControlAction.CTRLACTION_GRANTED_CONTROL, grantId: 0x03f1, controlId: 0x03ea });
    expect(kinds[3]!.finalization).toMatchObject({ kind: 'font_map', mapFlags: 3, entrySize: 4 });
  });

  it('decodes the client finalization PDUs too (font list)', () => {
    const { client } = mcsPayloads('shadow-rdp_xfreerdp-sec-rdp_std-security.pcap');
    const last = as(decodeSharePdu(client[client.length - 1]!.data), 'data');
    expect(last.finalization).toMatchObject({ kind: 'font_list', listFlags: 3, entrySize: 0x32 });
  });

  it('round-trips the lab finalization encoders', () => {
    expect(as(decodeSharePdu(encodeSynchronizePdu(7, 1007)), 'data').finalization).toEqual({ kind: 'synchronize', messageType: 1, targetUser: 1007 });
    expect(as(decodeSharePdu(encodeControlPdu(7, ControlAction.CTRLACTION_GRANTED_CONTROL, 1007, 0x3ea)), 'data').finalization).toMatchObject({ grantId: 1007, controlId: 0x3ea });
    expect(as(decodeSharePdu(encodeFontMapPdu(7)), 'data').finalization).toMatchObject({ kind: 'font_map', mapFlags: 3 });
  });

  it('encodes Set Error Info byte for byte (2.2.5.1.1: pduSource 0, pduType2 0x2F)', () => {
    expect(encodeSetErrorInfo({ shareId: 0x000103ea, errorInfo: 7 })).toEqual(
      hex`
        1600 1700 0000   # totalLength 22, PDUTYPE_DATAPDU | version 1, pduSource 0
        ea030100 00 01   # shareId, pad, STREAM_LOW
        0800 2f 00 0000  # uncompressedLength, PDUTYPE2_SET_ERROR_INFO_PDU, not compressed
        07000000         # ERRINFO_SERVER_DENIED_CONNECTION
      `,
    );
    const p = as(decodeSharePdu(encodeSetErrorInfo({ shareId: 1, errorInfo: 7 })), 'set_error_info');
    expect(p.errorInfo).toBe(7);
  });

  it('never throws for unknown codes or pduType2s', () => {
    expect(as(decodeSharePdu(encodeSetErrorInfo({ shareId: 1, errorInfo: 0xdeadbeef })), 'set_error_info').errorInfo).toBe(0xdeadbeef);
    const odd = as(decodeSharePdu(encodeShareDataPdu({ shareId: 1, pduType2: 0x99, body: Uint8Array.of(1, 2, 3) })), 'data');
    expect(odd.dataHeader.pduType2Name).toBe('unknown (0x99)');
    expect(odd.body).toEqual(Uint8Array.of(1, 2, 3));
    expect(as(decodeSharePdu(encodeShareControl(0x0c, 0x3ea, Uint8Array.of(5))), 'other').header.pduTypeName).toBe('unknown (0x0c)');
  });

  it('does not read a compressed body', () => {
    const b = encodeSetErrorInfo({ shareId: 1, errorInfo: 7 });
    b[15] = 0x21; // compressedType: PACKET_COMPRESSED | type 1
    const p = as(decodeSharePdu(b), 'data');
    expect(p.dataHeader).toMatchObject({ compressed: true, pduType2: 0x2f });
  });

  it('is strict: short bodies, trailing bytes, bad totalLength', () => {
    const b = encodeSetErrorInfo({ shareId: 1, errorInfo: 7 });
    const cut = b.slice(0, 20);
    cut[0] = 20;
    expect(decodeError(() => decodeSharePdu(cut)).path).toEqual(['Share Control', 'Set Error Info']);
    expect(decodeError(() => decodeSharePdu(Uint8Array.from([...b, 0]))).detail).toMatchObject({ kind: 'trailing_bytes', count: 1 });
    expect(decodeError(() => decodeSharePdu(hex`0400 1700 0000`)).detail).toMatchObject({ field: 'totalLength' });
    expect(decodeError(() => decodeSharePdu(hex`01`)).detail.kind).toBe('not_enough_bytes');
  });

  it('walks PDUs packed back to back, and ignores FlowPDUs', () => {
    const a = encodeSetErrorInfo({ shareId: 1, errorInfo: 9 });
    const flow = hex`0080 00 42 00 00 ea03`;
    const list = decodeSharePdus(Uint8Array.from([...a, ...flow, ...encodeSynchronizePdu(1, 1007)]));
    expect(list.map((p) => p.type)).toEqual(['set_error_info', 'flow', 'data']);
    expect(list[1]).toEqual({ type: 'flow', pduTypeFlow: 0x42, pduSource: 0x03ea });
  });
});

describe('Save Session Info (MS-RDPBCGR 2.2.10.1)', () => {
  it('round-trips INFOTYPE_LOGON with names and session id', () => {
    const p = as(decodeSharePdu(encodeSaveSessionInfo({ shareId: 1, info: { infoType: 'logon', domain: 'LAB', userName: 'alice', sessionId: 4 } })), 'save_session_info');
    expect(p.saveSessionInfo).toEqual({ infoType: 0, infoTypeName: 'INFOTYPE_LOGON', domain: 'LAB', userName: 'alice', sessionId: 4 });
    expect(p.dataHeader.pduType2).toBe(PduType2.PDUTYPE2_SAVE_SESSION_INFO);
  });

  it('round-trips INFOTYPE_LOGON_LONG and PLAIN_NOTIFY', () => {
    const long = as(decodeSharePdu(encodeSaveSessionInfo({ shareId: 1, info: { infoType: 'logon_long', domain: 'CORP', userName: 'a'.repeat(200), sessionId: 9 } })), 'save_session_info');
    expect(long.saveSessionInfo).toMatchObject({ infoTypeName: 'INFOTYPE_LOGON_LONG', domain: 'CORP', userName: 'a'.repeat(200), sessionId: 9 });
    const plain = as(decodeSharePdu(encodeSaveSessionInfo({ shareId: 1, info: { infoType: 'plain_notify' } })), 'save_session_info');
    expect(plain.saveSessionInfo).toEqual({ infoType: 2, infoTypeName: 'INFOTYPE_LOGON_PLAINNOTIFY' });
  });

  it('reads logon errors and an auto-reconnect cookie without keeping the cookie bits', () => {
    const randomBits = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const bytes = encodeSaveSessionInfo({
      shareId: 1,
      info: { infoType: 'logon_extended', autoReconnect: { logonId: 3, randomBits }, logonErrors: { notificationType: LogonErrorType.LOGON_MSG_SESSION_CONTINUE, notificationData: 3 } },
    });
    const s = as(decodeSharePdu(bytes), 'save_session_info').saveSessionInfo;
    expect(s).toMatchObject({
      infoTypeName: 'INFOTYPE_LOGON_EXTENDED_INFO',
      fieldsPresentNames: ['LOGON_EX_AUTORECONNECTCOOKIE', 'LOGON_EX_LOGONERRORS'],
      autoReconnect: { version: 1, logonId: 3 },
      logonErrors: { notificationTypeName: 'LOGON_MSG_SESSION_CONTINUE', notificationData: 3 },
    });
    expect(s.logonErrors?.notificationDataName).toBeUndefined();
    expect(JSON.stringify(s)).not.toMatch(/160|a0a1/);
    const failed = as(
      decodeSharePdu(encodeSaveSessionInfo({ shareId: 1, info: { infoType: 'logon_extended', logonErrors: { notificationType: 0xc000006d, notificationData: 0 } } })),
      'save_session_info',
    ).saveSessionInfo;
    expect(failed.logonErrors).toMatchObject({ notificationDataName: 'LOGON_FAILED_BAD_PASSWORD' });
  });
});

describe('Server Redirection (MS-RDPBCGR 2.2.13.1 / 2.2.13.3.1)', () => {
  it('round-trips the enhanced-security PDU and names the broker target', () => {
    const bytes = encodeEnhancedSecurityRedirection({
      sessionId: 2,
      extraFlags: RedirFlags.LB_DONTSTOREUSERNAME,
      targetNetAddress: '10.0.0.7',
      loadBalanceInfo: new TextEncoder().encode('Cookie: msts=117440522.15629.0000\r\n'),
      userName: 'alice',
      domain: 'CORP',
      passwordCookie: Uint8Array.of(1, 2, 3, 4, 0, 0),
      targetFqdn: 'rdsh2.corp.example',
      targetNetBiosName: 'RDSH2',
      targetNetAddresses: ['10.0.0.7', 'fe80::7'],
    });
    const r = as(decodeSharePdu(bytes), 'redirection').redirection;
    expect(r).toMatchObject({
      flags: 0x0400,
      sessionId: 2,
      targetNetAddress: '10.0.0.7',
      userName: 'alice',
      domain: 'CORP',
      password: { present: true, length: 6 },
      targetFqdn: 'rdsh2.corp.example',
      targetNetBiosName: 'RDSH2',
      targetNetAddresses: ['10.0.0.7', 'fe80::7'],
    });
    expect(r.loadBalanceInfoText).toBe('Cookie: msts=117440522.15629.0000\r\n');
    expect(r.redirFlagNames).toEqual(
      expect.arrayContaining(['LB_TARGET_NET_ADDRESS', 'LB_LOAD_BALANCE_INFO', 'LB_USERNAME', 'LB_DOMAIN', 'LB_PASSWORD', 'LB_DONTSTOREUSERNAME', 'LB_TARGET_FQDN', 'LB_TARGET_NETBIOS_NAME', 'LB_TARGET_NET_ADDRESSES']),
    );
    expect(JSON.stringify(r)).not.toContain('"1":2'); // no password bytes anywhere in the result
  });

  it('decodes the standard-security form (the packet alone), with or without its pad', () => {
    const packet = encodeServerRedirectionPacket({ sessionId: 5, targetFqdn: 'h.example' });
    expect(decodeServerRedirectionPacket(packet).targetFqdn).toBe('h.example');
    expect(decodeServerRedirectionPacket(packet.subarray(0, packet.length - 8)).targetFqdn).toBe('h.example');
  });

  it('is strict on field lengths and the Flags value', () => {
    const packet = encodeServerRedirectionPacket({ sessionId: 5, userName: 'u' });
    const bad = packet.slice();
    bad.set([0xff, 0xff, 0, 0], 12);
    expect(decodeError(() => decodeServerRedirectionPacket(bad)).detail).toMatchObject({ field: 'UserNameLength' });
    const flags = packet.slice();
    flags[1] = 0x05;
    expect(decodeError(() => decodeServerRedirectionPacket(flags)).detail).toMatchObject({ field: 'Flags' });
    expect(utf16le('u').length).toBe(2);
  });
});
