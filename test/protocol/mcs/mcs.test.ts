/**
 * MCS encoders against the bytes real peers send (the shared captures; see capture-frames.ts), every encoder
 * through its decoder, and the decoders' error paths.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeMcsConnectInitial,
  decodeMcsConnectResponse,
  encodeMcsConnectInitial,
  encodeMcsConnectResponse,
  WINDOWS_RESPONSE_PARAMETERS,
} from '../../../src/protocol/mcs/connect.js';
import {
  decodeMcsAttachUserConfirm,
  decodeMcsChannelJoinConfirm,
  decodeMcsDomainPdu,
  decodeMcsSendDataIndication,
  encodeMcsAttachUserConfirm,
  encodeMcsAttachUserRequest,
  encodeMcsChannelJoinConfirm,
  encodeMcsChannelJoinRequest,
  encodeMcsDisconnectProviderUltimatum,
  encodeMcsErectDomainRequest,
  encodeMcsSendDataIndication,
  encodeMcsSendDataRequest,
  type McsDomainPdu,
} from '../../../src/protocol/mcs/domain.js';
import { MCS_REASONS, MCS_RESULTS } from '../../../src/protocol/mcs/constants.js';
import { classifyMcs } from '../../../src/protocol/mcs.js';
import { EncodeError } from '../../../src/protocol/codec/errors.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';
import { decodeError } from '../../helpers/errors.js';
import { CAPTURE_FILES, mcsFlow } from './capture-frames.js';

const h = toSpacedHex;

describe('Connect-Initial / Connect-Response', () => {
  it('the encoder writes the Connect-Initial header mstsc writes, up to its INTEGER style', () => {
    const real = mcsFlow(CAPTURE_FILES.xrdp).client[0]!; // xfreerdp: proper BER (02 03 00 ff ff)
    const decoded = decodeMcsConnectInitial(real);
    expect(h(encodeMcsConnectInitial(decoded.userData))).toBe(h(real));
  });

  it('a Windows Connect-Initial (02 02 ff ff integers) decodes to the same parameters the encoder defaults to', () => {
    const win = decodeMcsConnectInitial(mcsFlow(CAPTURE_FILES.proprietary).client[0]!);
    const ours = decodeMcsConnectInitial(encodeMcsConnectInitial(win.userData));
    expect(ours).toEqual(win);
  });

  it('Connect-Response round-trips, and matches the Windows 2003 bytes exactly', () => {
    const real = mcsFlow(CAPTURE_FILES.proprietary).server[0]!;
    const d = decodeMcsConnectResponse(real);
    expect(d.domainParameters).toEqual(WINDOWS_RESPONSE_PARAMETERS);
    expect(h(encodeMcsConnectResponse(d))).toBe(h(real));
    for (const result of [0, 8, 14, 15, 16]) {
      const again = decodeMcsConnectResponse(encodeMcsConnectResponse({ result, calledConnectId: 7, userData: hex`01 02` }));
      expect(again).toMatchObject({ result, calledConnectId: 7, resultName: MCS_RESULTS[result] ?? 'unknown (16)' });
      expect(classifyMcs(encodeMcsConnectResponse({ result, userData: new Uint8Array(0) }))).toMatchObject({ type: 'connect_response', result });
    }
  });

  it('errors carry a path and an offset', () => {
    const real = mcsFlow(CAPTURE_FILES.proprietary).server[0]!;
    const cut = decodeError(() => decodeMcsConnectResponse(real.subarray(0, 20)));
    expect(cut.path).toEqual(['MCS Connect-Response']);
    expect(cut.detail.kind).toBe('not_enough_bytes');
    const trailing = decodeError(() => decodeMcsConnectResponse(Uint8Array.from([...real, 0])));
    expect(trailing.detail.kind).toBe('trailing_bytes');
    const wrongTag = decodeError(() => decodeMcsConnectResponse(mcsFlow(CAPTURE_FILES.proprietary).client[0]!));
    expect(wrongTag.message).toMatch(/expected \[APPLICATION 102\].*got \[APPLICATION 101\]/);
    const indefinite = decodeError(() => decodeMcsConnectInitial(hex`7f 65 80 00 00`));
    expect(indefinite.message).toMatch(/indefinite/);
  });
});

describe('domain PDUs', () => {
  it('encoders reproduce the real bytes', () => {
    const f = mcsFlow(CAPTURE_FILES.proprietary);
    expect(h(encodeMcsErectDomainRequest())).toBe(h(f.client[1]!)); // 04 01 00 01 00
    expect(h(encodeMcsAttachUserRequest())).toBe(h(f.client[2]!)); // 28
    expect(h(encodeMcsChannelJoinRequest({ initiator: 1008, channelId: 1008 }))).toBe(h(f.client[3]!));
    expect(h(encodeMcsAttachUserConfirm({ result: 0, initiator: 1008 }))).toBe(h(f.server[1]!)); // 2e 00 00 07
    expect(h(encodeMcsChannelJoinConfirm({ result: 0, initiator: 1008, requested: 1003, channelId: 1003 }))).toBe(h(f.server[3]!));
    const send = decodeMcsDomainPdu(f.client[9]!);
    expect(send.type).toBe('send_data_request');
    if (send.type === 'send_data_request') expect(h(encodeMcsSendDataRequest(send))).toBe(h(f.client[9]!));
    const xrdpDpum = mcsFlow(CAPTURE_FILES.xrdp).server.at(-1)!;
    expect(h(encodeMcsDisconnectProviderUltimatum(3))).toBe(h(xrdpDpum)); // 21 80
    const long = decodeMcsSendDataIndication(mcsFlow(CAPTURE_FILES.shadow).server.find((d) => d[0] === 0x68 && d.length > 200)!);
    expect(long.userData.length).toBeGreaterThan(127); // two-octet PER length
  });

  it('every encoder round-trips through decodeMcsDomainPdu', () => {
    const cases: [Uint8Array, McsDomainPdu][] = [
      [encodeMcsErectDomainRequest(1, 300), { type: 'erect_domain_request', subHeight: 1, subInterval: 300 }],
      [encodeMcsAttachUserRequest(), { type: 'attach_user_request' }],
      [encodeMcsAttachUserConfirm({ result: 13 }), { type: 'attach_user_confirm', result: 13, resultName: 'rt-too-many-users' }],
      [encodeMcsChannelJoinRequest({ initiator: 65535, channelId: 0 }), { type: 'channel_join_request', initiator: 65535, channelId: 0 }],
      [encodeMcsChannelJoinConfirm({ result: 3, initiator: 1007, requested: 1010 }), { type: 'channel_join_confirm', result: 3, resultName: 'rt-no-such-channel', initiator: 1007, requested: 1010 }],
      [encodeMcsSendDataIndication({ initiator: 1002, channelId: 1003, priority: 'low', segmentation: 2, userData: new Uint8Array(300).fill(7) }), { type: 'send_data_indication', initiator: 1002, channelId: 1003, priority: 'low', segmentation: 2, userData: new Uint8Array(300).fill(7) }],
    ];
    MCS_REASONS.forEach((name, reason) => cases.push([encodeMcsDisconnectProviderUltimatum(reason), { type: 'disconnect_provider_ultimatum', reason, reasonName: name }]));
    for (const [bytes, want] of cases) expect(decodeMcsDomainPdu(bytes)).toEqual(want);
    for (let result = 0; result < 16; result++) {
      expect(decodeMcsAttachUserConfirm(encodeMcsAttachUserConfirm({ result, initiator: 1001 }))).toEqual({ type: 'attach_user_confirm', result, resultName: MCS_RESULTS[result], initiator: 1001 });
    }
  });

  it('a confirm result in strict aligned-PER bit form (4 bits after the optional bit) reads the same', () => {
    // rt-no-such-channel (3): 0011 11 1 0 | 011 00000 ; rt-user-rejected (15): 0011 11 1 1 | 111 00000
    expect(decodeMcsChannelJoinConfirm(hex`3e 60 00 07 03 ec 03 ec`)).toMatchObject({ result: 3, resultName: 'rt-no-such-channel', channelId: 1004 });
    expect(decodeMcsChannelJoinConfirm(hex`3f e0 00 07 03 ec 03 ec`)).toMatchObject({ result: 15, resultName: 'rt-user-rejected' });
    expect(decodeMcsAttachUserConfirm(hex`2f 00 00 07`)).toMatchObject({ result: 8, initiator: 1008 });
    expect(decodeError(() => decodeMcsAttachUserConfirm(hex`2e 41 00 07`)).message).toMatch(/not a Result in either encoding/);
  });

  it('unknown choices are named, never errors; malformed known ones are DecodeErrors with the PDU name', () => {
    expect(decodeMcsDomainPdu(hex`30 00 07`)).toEqual({ type: 'other', choice: 12, name: 'detachUserRequest' });
    expect(decodeMcsDomainPdu(hex`fc`)).toEqual({ type: 'other', choice: 63, name: 'unknown (63)' });
    expect(decodeError(() => decodeMcsDomainPdu(new Uint8Array(0))).detail.kind).toBe('not_enough_bytes');
    const short = decodeError(() => decodeMcsDomainPdu(hex`38 00 07 03`));
    expect(short.path).toEqual(['MCS channelJoinRequest']);
    const extra = decodeError(() => decodeMcsDomainPdu(hex`28 00`));
    expect(extra.detail).toEqual({ kind: 'trailing_bytes', count: 1 });
    const longer = decodeError(() => decodeMcsDomainPdu(hex`64 00 07 03 eb 70 05 01 02`));
    expect(longer.detail.kind).toBe('not_enough_bytes');
    expect(decodeError(() => decodeMcsAttachUserConfirm(encodeMcsAttachUserRequest())).message).toMatch(/attach_user_request.*attach_user_confirm/);
  });

  it('encoders refuse values the PDU cannot carry', () => {
    expect(() => encodeMcsChannelJoinRequest({ initiator: 1000, channelId: 1003 })).toThrow(EncodeError);
    expect(() => encodeMcsAttachUserConfirm({ result: 16 })).toThrow(EncodeError);
    expect(() => encodeMcsDisconnectProviderUltimatum(8)).toThrow(EncodeError);
    expect(() => encodeMcsSendDataRequest({ initiator: 1007, channelId: 1003, userData: new Uint8Array(0x4000) })).toThrow(EncodeError);
  });
});
