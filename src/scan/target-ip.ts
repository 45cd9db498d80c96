/**
 * IP address text <-> integer for target expansion. Addresses are bigints so IPv4 (32 bits) and IPv6
 * (128 bits) share one code path; the text form is what Node prints (net.SocketAddress#address), via
 * the same formatter the pcap code uses, so keys built here match addresses seen elsewhere.
 */
import net from 'node:net';
import { formatIpv6 } from '../pcap/address.js';

export type Family = 4 | 6;

export const MAX_V4 = (1n << 32n) - 1n;
export const MAX_V6 = (1n << 128n) - 1n;

export function maxOf(family: Family): bigint {
  return family === 4 ? MAX_V4 : MAX_V6;
}

/** Strict dotted quad (net.isIPv4: no leading zeros, no short forms) → integer, else undefined. */
export function parseIpv4(text: string): bigint | undefined {
  if (!net.isIPv4(text)) return undefined;
  let v = 0;
  for (const part of text.split('.')) v = v * 256 + Number(part);
  return BigInt(v);
}

/** IPv6 text (any valid form, embedded IPv4 tail allowed, no zone id) → integer, else undefined. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.includes('%') || !net.isIPv6(text)) return undefined;
  const words = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === undefined) return [NaN];
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const dbl = text.indexOf('::');
  let all: number[];
  if (dbl >= 0) {
    const left = words(text.slice(0, dbl));
    const right = words(text.slice(dbl + 2));
    const fill = 8 - left.length - right.length;
    if (fill < 1) return undefined;
    all = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else all = words(text);
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return undefined;
  let v = 0n;
  for (const w of all) v = (v << 16n) | BigInt(w);
  return v;
}

export function parseIp(text: string): { family: Family; value: bigint } | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

export function formatIpv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

const v6Bytes = new Uint8Array(16);

export function formatIpv6Value(v: bigint): string {
  let x = v;
  for (let i = 15; i >= 0; i--) {
    v6Bytes[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return formatIpv6(v6Bytes);
}

export function formatIp(family: Family, value: bigint): string {
  return family === 4 ? formatIpv4Number(Number(value)) : formatIpv6Value(value);
}

/**
 * The canonical key of a target, 'addr:port', '[v6]:port' or 'name:port': IP literals in Node's text form
 * (so '2001:DB8:0::1' and '2001:db8::1' agree), host names lower-cased (DNS is case-insensitive) but
 * otherwise as typed (a trailing dot is kept: 'a.example.' and 'a.example' may resolve differently).
 */
export function targetKey(host: string, port: number): string {
  const ip = parseIp(host);
  if (ip) return ip.family === 4 ? `${host}:${port}` : `[${formatIpv6Value(ip.value)}]:${port}`;
  const name = host.toLowerCase();
  return name.includes(':') ? `[${name}]:${port}` : `${name}:${port}`;
}
