/** Option checks shared by check and scan: each a one-line UsageError. */
import { ipVersion, UsageError } from '../model/target-syntax.js';

export function checkWarnDays(days: number): void {
  if (!Number.isInteger(days) || days < 0 || days > 3650) throw new UsageError('--warn-days must be a whole number from 0 to 3650');
}

/** --dns-server values: an address, optionally with a port (1.2.3.4:53, [2001:db8::1]:53). */
export function parseDnsServers(values: readonly (string | number)[]): string[] {
  if (values.length === 0) throw new UsageError('--dns-server needs an address (e.g. --dns-server 192.0.2.53)');
  return values.map((v) => {
    const text = String(v).trim();
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:]+):(\d{1,5})$/.exec(text);
    const host = m ? m[1]! : text;
    const port = m?.[2];
    if (ipVersion(host) === 0) throw new UsageError(`--dns-server ${JSON.stringify(text.slice(0, 80))} is not an IP address (a DNS server is given by address, with an optional :port)`);
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw new UsageError(`--dns-server ${text}: port ${port} is out of range 1-65535`);
    return text;
  });
}
