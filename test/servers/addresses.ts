/**
 * The single table of default listen addresses. Every scenario gets its own 127.0.0.N on port 3389 (nmap's
 * rdp-* scripts and impacket's rdp_check only talk to 3389), so any number of servers can run side by side.
 * The range 127.0.0.111+ stays clear of the shared shell harness (127.0.0.11–60).
 *
 * On '::1' all servers share one address, so the default port there is 13000 + N (e.g. xrdp 'tls' →
 * [::1]:13112).
 */
import { assertLoopback } from './env.js';
import type { ListenOptions } from './types.js';

export const DEFAULT_ADDRESS = {
  xrdp: {
    negotiate: '127.0.0.111',
    tls: '127.0.0.112',
    rdp: '127.0.0.113',
    nocert: '127.0.0.114',
    'negotiate-nocert': '127.0.0.115',
    expired: '127.0.0.116',
    notyetvalid: '127.0.0.117',
    wrongcn: '127.0.0.118',
    rsa1024: '127.0.0.119',
    'rsa1024-sec0': '127.0.0.120',
    sha1: '127.0.0.121',
    casigned: '127.0.0.122',
    keymismatch: '127.0.0.123',
    tls10: '127.0.0.124',
    'tls10-broken': '127.0.0.125',
    tls12: '127.0.0.126',
    'rdp-low': '127.0.0.127',
    'rdp-high': '127.0.0.128',
    'rdp-fips': '127.0.0.129',
    'rdp-none': '127.0.0.130',
    'rdp-medium': '127.0.0.131',
  },
  shadow: {
    nla: '127.0.0.140',
    tls: '127.0.0.141',
    rdp: '127.0.0.142',
    any: '127.0.0.143',
  },
} as const;

export type XrdpScenario = keyof typeof DEFAULT_ADDRESS.xrdp;
export type ShadowMode = keyof typeof DEFAULT_ADDRESS.shadow;

export const XRDP_SCENARIOS = Object.keys(DEFAULT_ADDRESS.xrdp) as XrdpScenario[];
export const SHADOW_MODES = Object.keys(DEFAULT_ADDRESS.shadow) as ShadowMode[];

export const DEFAULT_PORT = 3389;
export const IPV6_PORT_BASE = 13000;

/** Resolves host/port for a server whose table address is `defaultHost`; throws for non-loopback hosts. */
export function resolveListen(defaultHost: string, opts: ListenOptions = {}): { host: string; port: number } {
  const host = opts.host ?? defaultHost;
  assertLoopback(host);
  let port = opts.port;
  if (port === undefined) {
    port = host.includes(':') ? IPV6_PORT_BASE + Number(defaultHost.split('.')[3]) : DEFAULT_PORT;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
  return { host, port };
}
