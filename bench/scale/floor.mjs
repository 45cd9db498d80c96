#!/usr/bin/env node
// The bare connect floor for bench:scale: a plain net.connect() to every address of an IPv4 CIDR (loopback only)
// on one port, with the same concurrency as the scan, closing each socket as soon as it connects or fails.
// Usage: node bench/scale/floor.mjs 127.0.0.0/16 3389 64
import net from 'node:net';

const [cidr = '127.0.0.0/16', portText = '3389', cText = '64'] = process.argv.slice(2);
const [base, bitsText] = cidr.split('/');
const bits = Number(bitsText ?? 32);
const start = base.split('.').reduce((a, o) => a * 256 + Number(o), 0) >>> 0;
if (start >>> 24 !== 127) throw new Error('loopback only');
const total = 2 ** (32 - bits);
const port = Number(portText);
const concurrency = Number(cText);
let next = 0;
let done = 0;
let open = 0;
const ip = (n) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
function one() {
  if (next >= total) return;
  const s = net.connect({ host: ip(start + next++), port });
  const end = () => {
    s.destroy();
    if (++done === total) process.stdout.write(`${total} addresses, ${open} open\n`);
    else one();
  };
  s.once('connect', () => (open++, end()));
  s.once('error', end);
}
for (let i = 0; i < Math.min(concurrency, total); i++) one();
