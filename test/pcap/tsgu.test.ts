/** MS-TSGU HTTP transport packets: hand-laid bytes decode to their fields, encode round-trips, errors are named. */
import { describe, expect, it } from 'vitest';
import { encodeTsgu, hresultMeaning, hresultName, splitTsgu, type TsguPacket } from '../../src/pcap/tsgu.js';

describe('TSGU packets', () => {
  it('decodes a hand-laid CHANNEL_CREATE (resource and port) and CHANNEL_RESPONSE (errorCode)', () => {
    const name = Buffer.from('rdp.example.test\0', 'utf16le');
    const body = Buffer.concat([Buffer.from([1, 0, 0x3d, 0x0d, 3, 0, name.length, 0]), name]);
    const cc = Buffer.concat([Buffer.from([8, 0, 0, 0, 8 + body.length, 0, 0, 0]), body]);
    const cr = Buffer.from('0900000010000000da59078000000000', 'hex');
    const { packets, rest } = splitTsgu(Buffer.concat([cc, cr, cr.subarray(0, 5)]));
    expect(packets).toEqual([
      { type: 'channel_create', resources: ['rdp.example.test'], altResources: [], port: 3389, protocol: 3 },
      expect.objectContaining({ type: 'channel_response', errorCode: 0x800759da, fieldsPresent: 0 }),
    ]);
    expect(rest).toHaveLength(5);
  });

  it('round-trips every decoded kind', () => {
    const all: TsguPacket[] = [
      { type: 'handshake_request', verMajor: 1, verMinor: 0, clientVersion: 0, extendedAuth: 0 },
      { type: 'handshake_response', errorCode: 0, verMajor: 1, verMinor: 0, serverVersion: 0, extendedAuth: 0 },
      { type: 'tunnel_create', capsFlags: 0x3f, fieldsPresent: 0, tail: new Uint8Array(0) },
      { type: 'tunnel_response', serverVersion: 5, statusCode: 0x800759db, fieldsPresent: 3, tail: Uint8Array.from([1, 2, 3, 4]) },
      { type: 'tunnel_auth', clientName: 'WS01', fieldsPresent: 0, tail: new Uint8Array(0) },
      { type: 'tunnel_auth_response', errorCode: 0, fieldsPresent: 0, tail: new Uint8Array(0) },
      { type: 'channel_create', resources: ['a', 'b'], altResources: ['c'], port: 3390, protocol: 3 },
      { type: 'channel_response', errorCode: 0x800759da, fieldsPresent: 0, tail: new Uint8Array(0) },
      { type: 'data', data: Uint8Array.from([3, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0]) },
      { type: 'close_channel', statusCode: 0 },
      { type: 'close_channel_response', statusCode: 0 },
      { type: 'other', packetType: 0xd, body: new Uint8Array(0) },
    ];
    const bytes = Buffer.concat(all.map((p) => encodeTsgu(p)));
    const got = splitTsgu(bytes);
    expect(got.packets.map((p) => ({ ...p, ...('tail' in p ? { tail: Uint8Array.from(p.tail) } : {}), ...('data' in p ? { data: Uint8Array.from(p.data) } : {}), ...('body' in p ? { body: Uint8Array.from(p.body) } : {}) }))).toEqual(all);
    expect(got.rest).toHaveLength(0);
  });

  it('names the gateway refusals and stops on a header that is not TSGU; a short body is a DecodeError', () => {
    expect(hresultName(0x800759da)).toBe('E_PROXY_RAP_ACCESSDENIED (0x800759DA)');
    expect(hresultName(0x800759dd)).toBe('E_PROXY_TS_CONNECTFAILED (0x800759DD)');
    expect(hresultName(0x12345678)).toBe('0x12345678');
    expect(hresultMeaning(0x800759db)).toMatch(/authorization policy/);
    expect(splitTsgu(Buffer.from('0a00000004000000', 'hex')).error).toMatch(/packetLength 4/);
    expect(() => splitTsgu(Buffer.from('0a0000000a000000ff00', 'hex'))).toThrow(/DATA|not_enough|bytes/i);
  });
});
