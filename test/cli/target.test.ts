import { describe, expect, it } from 'vitest';
import { parseDuration, parsePort, parseTarget, UsageError } from '../../src/cli/target.js';

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw new Error(`expected a UsageError, got ${String(e)}`);
  }
  throw new Error('expected a UsageError, got a value');
}

describe('parseTarget', () => {
  it.each([
    ['host', 'host', 3389],
    ['host:3390', 'host', 3390],
    ['rdp-01.corp.example.', 'rdp-01.corp.example.', 3389],
    ['10.0.0.1:3389', '10.0.0.1', 3389],
    ['10.0.0.1', '10.0.0.1', 3389],
    ['[::1]:13389', '::1', 13389],
    ['[::1]', '::1', 3389],
    ['::1', '::1', 3389],
    ['fe80::1', 'fe80::1', 3389],
    ['[2001:db8::7]:65535', '2001:db8::7', 65535],
    ['  host:1  ', 'host', 1],
  ])('%j -> %s port %i', (input, host, port) => {
    expect(parseTarget(input)).toEqual({ host, port });
  });

  it('uses the given default port when the target has none', () => {
    expect(parseTarget('host', 13389)).toEqual({ host: 'host', port: 13389 });
    expect(parseTarget('[::1]', 13390)).toEqual({ host: '::1', port: 13390 });
    expect(parseTarget('host:3390', 13389)).toEqual({ host: 'host', port: 3390 });
  });

  it.each([
    ['', /empty target/],
    ['   ', /empty target/],
    ['host:0', /out of range/],
    ['host:70000', /out of range/],
    ['host:abc', /invalid port/],
    ['host:', /invalid port/],
    ['host:-1', /invalid port/],
    ['[::1', /unclosed/],
    ['[nothost]:1', /not an IPv6 address/],
    ['[10.0.0.1]:3389', /not an IPv6 address/],
    ['[::1]x', /unexpected text/],
    ['[::1]:', /invalid port/],
    ['a:b:c', /ambiguous/],
    ['fe80::1:3389x', /ambiguous/],
    ['bad host!', /not a valid host name/],
    [':3389', /no host/],
    ['-host', /not a valid host name/],
    ['x'.repeat(300), /too long/],
  ])('%j is a one-line UsageError', (input, why) => {
    const e = usageError(() => parseTarget(input));
    expect(e.message).toMatch(why);
    expect(e.message).not.toMatch(/[\r\n]/);
  });

  it('quotes control characters instead of printing them', () => {
    const e = usageError(() => parseTarget('bad\nhost'));
    expect(e.message).not.toMatch(/[\r\n]/);
    expect(e.message).toContain('\\n');
  });

  it.each([0, 70000, Number.NaN, 3389.5])('rejects a default port of %s (from --port)', (port) => {
    const e = usageError(() => parseTarget('host', port));
    expect(e.message).toMatch(/port/);
  });
});

describe('parsePort', () => {
  it.each([
    ['1', 1],
    ['3389', 3389],
    ['65535', 65535],
    ['03389', 3389],
  ])('%j -> %i', (text, port) => {
    expect(parsePort(text)).toBe(port);
  });

  it.each(['0', '65536', '99999', '123456', '1e3', ' 1', '0x10', ''])('%j is a UsageError', (text) => {
    expect(() => parsePort(text)).toThrow(UsageError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['5', 5000],
    ['5s', 5000],
    ['2.5s', 2500],
    ['500ms', 500],
    ['1ms', 1],
    ['1m', 60000],
    ['1.5m', 90000],
    ['60m', 3_600_000],
  ])('%j -> %i ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it('takes a number as seconds', () => {
    expect(parseDuration(5, '--timeout')).toBe(5000);
    expect(parseDuration(0.25, '--timeout')).toBe(250);
  });

  it.each([
    ['0', /between 1 ms and 1 hour/],
    ['0ms', /between 1 ms and 1 hour/],
    ['0.4ms', /between 1 ms and 1 hour/],
    ['0.0001', /between 1 ms and 1 hour/],
    ['61m', /between 1 ms and 1 hour/],
    ['-1', /not a duration/],
    ['abc', /not a duration/],
    ['2h', /not a duration/],
    ['5 s', /not a duration/],
    ['', /not a duration/],
  ])('%j is a one-line UsageError naming the option', (text, why) => {
    const e = usageError(() => parseDuration(text, '--timeout'));
    expect(e.message).toMatch(why);
    expect(e.message).toContain('--timeout');
    expect(e.message).not.toMatch(/[\r\n]/);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 0.0001, 7200])('rejects the number %s', (n) => {
    expect(() => parseDuration(n, '--target-timeout')).toThrow(UsageError);
  });
});

describe('ipVersion (net.isIP without the IPv6 pattern for text with no colon)', () => {
  it('agrees with net.isIP on addresses, names and any text', async () => {
    const net = await import('node:net');
    const fc = await import('fast-check');
    const { ipVersion } = await import('../../src/model/target-syntax.js');
    for (const t of ['127.0.0.1', '127.0.0.1:3389', 'host:1', '::1', '[::1]', 'fe80::1%eth0', '::ffff:1.2.3.4', '1.2.3', '01.2.3.4', 'host', 'a:b', '', ':', '::', '1::2::3']) {
      expect(ipVersion(t), t).toBe(net.isIP(t));
    }
    fc.assert(fc.property(fc.oneof(fc.string(), fc.ipV4(), fc.ipV6(), fc.stringMatching(/^[0-9a-f:.%]{0,40}$/)), (t) => ipVersion(t) === net.isIP(t)), { numRuns: 3000 });
  });
});
