/**
 * Target syntax (HOST, HOST:PORT, [V6]:PORT), ports and durations, and the one-line UsageError they throw. Pure, and
 * below every other layer: the CLI, the library entry points and the scan engine all parse with it.
 */
import net from 'node:net';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * net.isIP without its IPv6 pattern for text that cannot be IPv6 (fewer than two colons): Node compiles that
 * pattern on first use, 3-4 ms of a run that only ever sees IPv4 addresses, names and HOST:PORT.
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  // Every IPv6 text form has two colons at least ("::" itself); HOST:PORT has one.
  const colon = text.indexOf(':');
  if (colon >= 0) return colon !== text.lastIndexOf(':') && net.isIPv6(text) ? 6 : 0;
  return net.isIPv4(text) ? 4 : 0;
}

/**
 * Parses HOST, HOST:PORT, [V6]:PORT, [V6] or a bare IPv6 address. Pure; throws UsageError with one line.
 */
export function parseTarget(input: string, defaultPort = 3389): { host: string; port: number } {
  const s = input.trim();
  if (s === '') throw new UsageError('empty target');
  if (s.length > 255 + 8) throw new UsageError('target is too long');
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new UsageError(`unclosed "[" in target ${JSON.stringify(s)}`);
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new UsageError(`unexpected text after "]" in target ${JSON.stringify(s)}`);
      portText = rest.slice(1);
    }
    if (net.isIPv6(host) === false) throw new UsageError(`${JSON.stringify(host)} in brackets is not an IPv6 address`);
  } else if (ipVersion(s) === 6) {
    host = s;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon >= 0) {
      if (s.indexOf(':') !== colon) throw new UsageError(`ambiguous target ${JSON.stringify(s)}: write IPv6 addresses with a port as [addr]:port`);
      host = s.slice(0, colon);
      portText = s.slice(colon + 1);
    } else host = s;
  }
  if (host === '') throw new UsageError(`no host in target ${JSON.stringify(s)}`);
  if (ipVersion(host) === 0 && !isHostName(host)) throw new UsageError(`${JSON.stringify(host)} is not a valid host name or address`);
  const port = portText === undefined ? checkPort(defaultPort) : parsePort(portText);
  return { host, port };
}

/** Dot-separated labels of 1-63 characters (one trailing dot allowed): "a..b" and ".a" are not names. */
function isHostName(host: string): boolean {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/.test(host)) return false;
  const labels = host.replace(/\.$/, '').split('.');
  return labels.every((l) => l.length >= 1 && l.length <= 63);
}

/** The default port comes from --port (a yargs number, possibly NaN or out of range): same rules as a typed port. */
function checkPort(n: number): number {
  if (!Number.isInteger(n)) throw new UsageError(`invalid port ${JSON.stringify(String(n))}`);
  if (n < 1 || n > 65535) throw new UsageError(`port ${n} is out of range 1-65535`);
  return n;
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`invalid port ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new UsageError(`port ${n} is out of range 1-65535`);
  return n;
}

/** "5", "5s", "1.5s", "500ms" → milliseconds. */
export function parseDuration(text: string | number, what: string): number {
  let ms: number;
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text <= 0) throw new UsageError(`${what} must be a positive duration`);
    ms = Math.round(text * 1000);
  } else {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
    if (!m) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a duration (e.g. 5, 2.5s, 500ms)`);
    const v = Number(m[1]);
    const unit = m[2] ?? 's';
    ms = Math.round(unit === 'ms' ? v : unit === 'm' ? v * 60000 : v * 1000);
  }
  // Checked after rounding: "0.4ms" must not become a 0 ms deadline.
  if (ms < 1 || ms > 3_600_000) throw new UsageError(`${what} must be between 1 ms and 1 hour`);
  return ms;
}
