import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { md4, ntHash } from '../../../src/protocol/crypto/md4.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('md4 (RFC 1320 appendix A.5)', () => {
  const vectors: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ];
  for (const [input, digest] of vectors) {
    it(`MD4("${input}")`, () => {
      expect(hex(md4(ascii(input)))).toBe(digest);
    });
  }

  it('does not modify its input and accepts a subarray view', () => {
    const backing = ascii('xxabcxx');
    const view = backing.subarray(2, 5);
    expect(hex(md4(view))).toBe('a448017aaf21d8525fc10ae87aa6729d');
    expect(Buffer.from(backing).toString()).toBe('xxabcxx');
  });
});

describe('ntHash', () => {
  it("NT hash of 'Passw0rd!'", () => {
    expect(hex(ntHash('Passw0rd!'))).toBe('fc525c9683e8fe067095ba2ddc971889');
  });
  it('NT hash of the empty password', () => {
    expect(hex(ntHash(''))).toBe('31d6cfe0d16ae931b73c59d7e0c089c0');
  });
  it('NT hash of "password" (well-known value)', () => {
    expect(hex(ntHash('password'))).toBe('8846f7eaee8fb117ad06bdd830b7586c');
  });
});

/** MD4 via the OpenSSL CLI with the legacy provider, or null when that is not available here. */
function opensslMd4(data: Uint8Array): string | null {
  try {
    const out = execFileSync('openssl', ['dgst', '-md4', '-provider', 'legacy', '-provider', 'default'], {
      input: data,
      timeout: 5_000,
      stdio: ['pipe', 'pipe', 'ignore'],
    }).toString();
    const m = /([0-9a-f]{32})\s*$/.exec(out);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

const opensslAvailable = opensslMd4(new Uint8Array(0)) === '31d6cfe0d16ae931b73c59d7e0c089c0';
if (!opensslAvailable) {
  console.warn(
    'NOTICE md4.test: `openssl dgst -md4 -provider legacy` is not available on this machine; ' +
      'skipping the block-boundary cross-check against OpenSSL (RFC vectors still run).',
  );
}

describe('md4 around block boundaries', () => {
  const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
  const sample = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
    return b;
  };

  it('distinct lengths give distinct 16-byte digests', () => {
    const seen = new Set<string>();
    for (const n of lengths) {
      const d = md4(sample(n));
      expect(d.length).toBe(16);
      seen.add(hex(d));
    }
    expect(seen.size).toBe(lengths.length);
  });

  it.skipIf(!opensslAvailable)('matches `openssl dgst -md4` (legacy provider)', () => {
    for (const n of lengths) {
      const data = sample(n);
      expect(hex(md4(data)), `length ${n}`).toBe(opensslMd4(data));
    }
  });
});
