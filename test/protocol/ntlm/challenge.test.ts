/** CHALLENGE_MESSAGE decoding ([MS-NLMP] 2.2.1.2, AV pairs 2.2.2.1, VERSION 2.2.2.10): fields, errors, fuzz. */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/protocol/codec/errors.js';
import { decodeAvPairs } from '../../../src/protocol/ntlm/av-pairs.js';
import { decodeNtlmChallenge, encodeNtlmChallenge } from '../../../src/protocol/ntlm/challenge.js';
import { AvId, NegotiateFlags } from '../../../src/protocol/ntlm/constants.js';
import { hex, toSpacedHex } from '../../helpers/bytes.js';
import { prng } from '../../helpers/prng.js';

/** A Windows Server 2022 style CHALLENGE (domain member), built by hand: 170 bytes. */
const WS2022 = hex`
  4e 54 4c 4d 53 53 50 00   # Signature
  02 00 00 00               # MessageType 2
  06 00 06 00 38 00 00 00   # TargetNameFields: 6 @56
  35 82 89 e2               # NegotiateFlags 0xe2898235 (… TARGET_TYPE_DOMAIN, ESS, TARGET_INFO, VERSION, 128, KEY_EXCH, 56)
  11 22 33 44 55 66 77 88   # ServerChallenge
  00 00 00 00 00 00 00 00   # Reserved
  6c 00 6c 00 3e 00 00 00   # TargetInfoFields: 108 @62
  0a 00 7c 4f 00 00 00 0f   # Version 10.0 build 20348, revision 15
  4c 00 41 00 42 00         # TargetName "LAB"
  02 00 06 00 4c 00 41 00 42 00                    # MsvAvNbDomainName "LAB"
  01 00 08 00 57 00 53 00 32 00 32 00              # MsvAvNbComputerName "WS22"
  04 00 10 00 6c 00 61 00 62 00 2e 00 74 00 65 00 73 00 74 00   # MsvAvDnsDomainName "lab.test"
  03 00 1a 00 77 00 73 00 32 00 32 00 2e 00 6c 00 61 00 62 00 2e 00 74 00 65 00 73 00 74 00   # MsvAvDnsComputerName
  05 00 10 00 6c 00 61 00 62 00 2e 00 74 00 65 00 73 00 74 00   # MsvAvDnsTreeName "lab.test"
  07 00 08 00 22 01 83 f9 c3 9b da 01              # MsvAvTimestamp 2024-05-01T12:34:56.7891234Z
  00 00 00 00                                      # MsvAvEOL
`;

describe('decodeNtlmChallenge: a Server 2022 style message', () => {
  it('decodes every field', () => {
    expect(WS2022.length).toBe(170);
    const c = decodeNtlmChallenge(WS2022);
    expect(c.negotiateFlags).toBe(0xe2898235);
    expect(c.targetName).toBe('LAB');
    expect(toSpacedHex(c.serverChallenge)).toBe('11 22 33 44 55 66 77 88');
    expect(c.version).toEqual({ major: 10, minor: 0, build: 20348, ntlmRevision: 15, windowsName: 'Windows Server 2022' });
    const ti = c.targetInfo!;
    expect(ti.nbDomainName).toBe('LAB');
    expect(ti.nbComputerName).toBe('WS22');
    expect(ti.dnsDomainName).toBe('lab.test');
    expect(ti.dnsComputerName).toBe('ws22.lab.test');
    expect(ti.dnsTreeName).toBe('lab.test');
    expect(ti.timestamp).toBe('2024-05-01T12:34:56.789Z');
    expect(ti.timestampFileTime).toBe(133590404967891234n);
    expect(ti.flags).toBeUndefined();
    expect(ti.pairs.map((p) => p.id)).toEqual([2, 1, 4, 3, 5, 7]);
  });

  it('round-trips through encodeNtlmChallenge', () => {
    const c = decodeNtlmChallenge(WS2022);
    const again = encodeNtlmChallenge({
      negotiateFlags: c.negotiateFlags,
      targetName: c.targetName!,
      serverChallenge: c.serverChallenge,
      targetInfo: c.targetInfo!.pairs,
      version: c.version!,
    });
    expect(toSpacedHex(again)).toBe(toSpacedHex(WS2022));
  });

  it('decodes MsvAvFlags, MsvAvSingleHost, MsvAvTargetName, MsvAvChannelBindings and keeps unknown AvIds', () => {
    const info = decodeAvPairs(hex`
      06 00 04 00 02 00 00 00          # MsvAvFlags 0x2
      08 00 03 00 aa bb cc             # MsvAvSingleHost (raw)
      09 00 04 00 41 00 42 00          # MsvAvTargetName "AB"
      0a 00 10 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f   # MsvAvChannelBindings
      42 00 02 00 99 99                # unknown AvId 0x42
      00 00 00 00
    `);
    expect(info.flags).toBe(2);
    expect(toSpacedHex(info.singleHost!)).toBe('aa bb cc');
    expect(info.targetName).toBe('AB');
    expect(info.channelBindings!.length).toBe(16);
    expect(info.pairs.at(-1)).toEqual({ id: 0x42, value: hex`99 99` });
  });

  it('without VERSION: 48-byte header, no version; an OEM target name is read byte for byte', () => {
    const flags = (NegotiateFlags.NTLM_NEGOTIATE_OEM | NegotiateFlags.NTLMSSP_NEGOTIATE_NTLM) >>> 0;
    const msg = hex`
      4e 54 4c 4d 53 53 50 00  02 00 00 00
      03 00 03 00 30 00 00 00   # TargetNameFields: 3 @48
      02 02 00 00               # flags OEM | NTLM
      01 02 03 04 05 06 07 08  00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00   # no TargetInfo
      44 4f 4d                  # "DOM"
    `;
    const c = decodeNtlmChallenge(msg);
    expect(c.negotiateFlags).toBe(flags);
    expect(c.targetName).toBe('DOM');
    expect(c.version).toBeUndefined();
    expect(c.targetInfo).toBeUndefined();
    expect(c.targetInfoBytes.length).toBe(0);
  });
});

function decodeError(bytes: Uint8Array): DecodeError {
  try {
    decodeNtlmChallenge(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('decoded without error');
}

function patched(at: number, ...values: number[]): Uint8Array {
  const b = WS2022.slice();
  values.forEach((v, i) => (b[at + i] = v));
  return b;
}

describe('decodeNtlmChallenge: malformed input', () => {
  it('rejects a wrong signature', () => {
    const e = decodeError(patched(0, 0x4d));
    expect(e.detail).toMatchObject({ kind: 'invalid_field', field: 'Signature' });
    expect(e.path).toEqual(['NTLM CHALLENGE_MESSAGE']);
  });

  it('rejects another message type', () => {
    expect(decodeError(patched(8, 3)).detail).toEqual({ kind: 'unexpected_type', got: 3, expected: 2 });
  });

  it('rejects a payload buffer inside the header', () => {
    const e = decodeError(patched(16, 0x30));
    expect(e.detail).toMatchObject({ kind: 'invalid_field', field: 'TargetNameBufferOffset' });
    expect(e.offset).toBe(12);
  });

  it('rejects a payload buffer past the end', () => {
    const e = decodeError(patched(40, 0x6d, 0x00));
    expect(e.detail).toEqual({ kind: 'not_enough_bytes', received: 170, expected: 62 + 0x6d });
  });

  it('rejects an odd-length Unicode target name', () => {
    expect(decodeError(patched(12, 5, 0, 5, 0)).detail).toMatchObject({ kind: 'invalid_field', field: 'TargetNameLen' });
  });

  it('rejects bytes after the payload', () => {
    expect(decodeError(Uint8Array.from([...WS2022, 0])).detail).toEqual({ kind: 'trailing_bytes', count: 1 });
  });

  it('reports AV_PAIR problems under the message, offsets relative to the list', () => {
    // EOL with a non-zero length
    const eol = WS2022.slice();
    eol[168] = 1;
    const e = decodeError(eol);
    expect(e.path).toEqual(['NTLM CHALLENGE_MESSAGE', 'AV_PAIR list']);
    expect(e.detail).toMatchObject({ kind: 'invalid_field', field: 'MsvAvEOL.AvLen' });
    expect(e.offset).toBe(62 + 104 + 2);
  });

  it('AV pair list rules', () => {
    const err = (b: Uint8Array): DecodeError => {
      try {
        decodeAvPairs(b);
      } catch (e) {
        return e as DecodeError;
      }
      throw new Error('no error');
    };
    expect(err(hex`02 00 02 00 41 00`).detail.kind).toBe('not_enough_bytes'); // no EOL
    expect(err(hex`06 00 02 00 00 00 00 00 00 00`).detail).toMatchObject({ field: 'MsvAvFlags.AvLen' });
    expect(err(hex`07 00 04 00 00 00 00 00 00 00 00 00`).detail).toMatchObject({ field: 'MsvAvTimestamp.AvLen' });
    expect(err(hex`0a 00 04 00 00 00 00 00 00 00 00 00`).detail).toMatchObject({ field: 'MsvAvChannelBindings.AvLen' });
    expect(err(hex`01 00 01 00 41 00 00 00 00`).detail).toMatchObject({ field: 'nbComputerName.AvLen' });
    expect(err(hex`01 00 00 00 01 00 00 00 00 00 00 00`).detail).toMatchObject({ field: 'AvId' });
    expect(err(hex`00 00 00 00 ff`).detail).toEqual({ kind: 'trailing_bytes', count: 1 });
  });

  it('truncation at every offset gives a DecodeError and nothing else', () => {
    for (let n = 0; n < WS2022.length; n++) {
      expect(() => decodeNtlmChallenge(WS2022.subarray(0, n)), `length ${n}`).toThrow(DecodeError);
    }
  });

  it('seeded random mutations give a value or a DecodeError', () => {
    const r = prng(0x4e544c4d);
    for (let i = 0; i < 4000; i++) {
      const b = WS2022.slice();
      for (let k = 1 + r.int(4); k > 0; k--) b[r.int(b.length)] = r.int(256);
      const input = r.int(5) === 0 ? b.subarray(0, r.int(b.length + 1)) : b;
      try {
        decodeNtlmChallenge(input);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`non-DecodeError for ${toSpacedHex(input)}: ${String(e)}`);
      }
    }
  });

  it('random bytes behind a valid header give a value or a DecodeError', () => {
    const r = prng(7);
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from([...WS2022.subarray(0, 12), ...r.bytes(r.int(120))]);
      try {
        decodeNtlmChallenge(b);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }
  });
});

describe('AvId values', () => {
  it('match MS-NLMP 2.2.2.1', () => {
    expect(AvId).toMatchObject({ MsvAvEOL: 0, MsvAvTimestamp: 7, MsvAvTargetName: 9, MsvAvChannelBindings: 10 });
  });
});
