/**
 * An independent oracle for expected bytes (node-postgres style): shares no code with
 * src/protocol/codec/writer.ts, so a bug there cannot hide in the expectations.
 *
 * `hex` reads annotated hex, one field per line:
 *
 *   hex`
 *     03 00 00 13   # TPKT: version 3, reserved, length 19
 *     0e            # X.224: length indicator 14
 *   `
 *
 * Everything after `#` on a line is a comment. Every other token must be whole bytes of hex digits, so a
 * typo fails loudly instead of being skipped.
 */

export type Part = Uint8Array | readonly number[] | number | string;

export function hex(strings: TemplateStringsArray | string, ...values: Part[]): Uint8Array {
  const raw = typeof strings === 'string' ? [strings] : strings.raw;
  const out: number[] = [];
  raw.forEach((chunk, i) => {
    for (const line of chunk.split('\n')) {
      const code = line.split('#')[0] ?? '';
      for (const token of code.split(/\s+/)) {
        if (token === '') continue;
        if (!/^(?:[0-9a-fA-F]{2})+$/.test(token)) throw new Error(`hex helper: bad token ${JSON.stringify(token)}`);
        for (let j = 0; j < token.length; j += 2) out.push(parseInt(token.slice(j, j + 2), 16));
      }
    }
    if (i < values.length) out.push(...partBytes(values[i]!));
  });
  return Uint8Array.from(out);
}

/** Concatenates bytes, byte arrays, single byte values and ASCII strings. */
export function cat(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...partBytes(p));
  return Uint8Array.from(out);
}

function partBytes(p: Part): number[] {
  if (typeof p === 'number') return [byte(p)];
  if (typeof p === 'string') return ascii(p);
  return Array.from(p, byte);
}

function byte(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new Error(`bytes helper: ${v} is not a byte`);
  return v;
}

export function ascii(s: string): number[] {
  return Array.from(s, (c) => {
    const code = c.charCodeAt(0);
    if (code > 0x7e) throw new Error(`bytes helper: non-ASCII character in ${JSON.stringify(s)}`);
    return code;
  });
}

export const be16 = (v: number): number[] => [Math.floor(v / 256) % 256, v % 256];
export const le16 = (v: number): number[] => [v % 256, Math.floor(v / 256) % 256];
export const be24 = (v: number): number[] => [Math.floor(v / 65536) % 256, ...be16(v % 65536)];
export const le32 = (v: number): number[] => [...le16(v % 65536), ...le16(Math.floor(v / 65536))];

/** Readable form for assertion messages. */
export function toSpacedHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
