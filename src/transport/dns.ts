import dns from 'node:dns';
import { ipVersion } from '../model/target-syntax.js';

export interface Resolved {
  address: string;
  family: 4 | 6;
  /** All addresses the name had, in resolver order. */
  all: string[];
  literal: boolean;
}

/** An address given as such (no lookup), synchronously; undefined for a name. */
export function literalAddress(host: string): Resolved | undefined {
  const fam = ipVersion(host);
  return fam === 0 ? undefined : { address: host, family: fam as 4 | 6, all: [host], literal: true };
}

/**
 * Resolves a host name. With `servers`, queries those DNS servers directly (dns.Resolver), otherwise uses the
 * system resolver (getaddrinfo: /etc/hosts, nsswitch), like any other client on the machine.
 */
export async function resolveHost(host: string, servers: string[] | undefined, timeoutMs: number, signal: AbortSignal): Promise<Resolved> {
  const lit = literalAddress(host);
  if (lit) return lit;
  const work = servers && servers.length > 0 ? viaResolver(host, servers, timeoutMs) : viaLookup(host);
  return raceAbort(work, timeoutMs, signal);
}

async function viaLookup(host: string): Promise<Resolved> {
  const list = await dns.promises.lookup(host, { all: true, verbatim: true });
  const first = list[0];
  if (!first) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENODATA' });
  return { address: first.address, family: first.family as 4 | 6, all: list.map((a) => a.address), literal: false };
}

async function viaResolver(host: string, servers: string[], timeoutMs: number): Promise<Resolved> {
  const r = new dns.promises.Resolver({ timeout: Math.max(100, Math.floor(timeoutMs / 2)), tries: 1 });
  r.setServers(servers);
  try {
    const v4 = await r.resolve4(host);
    if (v4[0]) return { address: v4[0], family: 4, all: v4, literal: false };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENODATA') throw e;
  }
  const v6 = await r.resolve6(host);
  if (!v6[0]) throw Object.assign(new Error(`no address for ${host}`), { code: 'ENODATA' });
  return { address: v6[0], family: 6, all: v6, literal: false };
}

function raceAbort<T>(p: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })), timeoutMs);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}
