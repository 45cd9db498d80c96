/**
 * Text forms of IP addresses, matching what Node's net module prints (socket.remoteAddress,
 * net.SocketAddress#address), which is libuv's inet_ntop:
 * - IPv4: dotted decimal;
 * - IPv6 (RFC 5952 style): lower-case hex without leading zeros, the longest run of two or more zero
 *   groups (the first one on a tie) written as '::', and the last 32 bits in dotted form for
 *   IPv4-compatible (::a.b.c.d, first six groups zero) and IPv4-mapped (::ffff:a.b.c.d) addresses.
 */

export function formatIpv4(b: Uint8Array, at = 0): string {
  return `${b[at] ?? 0}.${b[at + 1] ?? 0}.${b[at + 2] ?? 0}.${b[at + 3] ?? 0}`;
}

export function formatIpv6(b: Uint8Array, at = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0));

  // Longest run of zero words, length >= 2.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;

  const embedsIpv4 = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? ':' : ''); // joined with ':' this yields '::' at the start, middle or end
      i += bestLen - 1;
      if (i === 7) parts.push('');
      continue;
    }
    if (i === 6 && embedsIpv4) {
      parts.push(formatIpv4(b, at + 12));
      break;
    }
    parts.push(words[i]!.toString(16));
  }
  return parts.join(':');
}

/**
 * A string built by concatenation (a flow key, an address), flattened: V8 keeps a concatenated string as a rope (about 190 bytes a key in a Map)
 * unless something reads it by index, which makes V8 flatten it in place (about 50 bytes); a table of a million
 * flows is the difference. Reading one character is the cheapest such read.
 */
export function flat(key: string): string {
  key.charCodeAt(0);
  return key;
}
