/** Byte helpers shared by the protocol families. */

/** One new array holding every part in order. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** concat() of a list (no spread: a list may be longer than a call's arguments may be). */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** UTF-16LE code units as they are (lone surrogates kept), as Windows encodes strings on the wire. */
export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    out[i * 2] = u & 0xff;
    out[i * 2 + 1] = u >>> 8;
  }
  return out;
}
