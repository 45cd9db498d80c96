/**
 * "Filtered" and unreachable TCP targets, built from a network namespace this code creates itself.
 *
 *   root ns: veth rpb<pid>h  10.200.N.1/29  <--->  netns rdpprobe-<pid>: veth rpb<pid>n 10.200.N.2/29
 *
 * Firewall rules live INSIDE the namespace only (the root namespace's firewall is not touched; no forwarding,
 * no NAT, nothing leaves the machine):
 *   10.200.N.2:3389  DROP                                 -> connect() times out         (filtered)
 *   10.200.N.2:3390  nothing listening                    -> RST, ECONNREFUSED            (closed)
 *   10.200.N.2:3391  REJECT icmp-port-unreachable         -> ECONNREFUSED via ICMP
 *   10.200.N.2:3392  REJECT icmp-admin-prohibited         -> EHOSTUNREACH
 *   10.200.N.3:3389  no such neighbour                    -> ARP fails, EHOSTUNREACH after ~3 s
 * N is picked so that 10.200.N.0/29 is not used by anything else on this machine (N = 0 is left to the shared
 * shell harness). Needs root, `ip` (iproute2) and `iptables`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect } from 'vitest';
import { promisify } from 'node:util';
import { findBinary, pidAlive } from './env.js';
import { onProcessExit } from './proc.js';

const run = promisify(execFile);

export interface NetTarget {
  host: string;
  port: number;
}

export interface FilteredNetns {
  /** Namespace name, `rdpprobe-<pid>`. */
  readonly name: string;
  /** 10.200.N.0/29 */
  readonly subnet: string;
  /** Root-namespace end of the veth pair (10.200.N.1). */
  readonly hostAddress: string;
  /** Namespace end of the veth pair (10.200.N.2). */
  readonly nsAddress: string;
  /** iptables DROP: SYNs vanish, connect() times out. */
  readonly filtered: NetTarget;
  /** Nothing listens: RST -> ECONNREFUSED. */
  readonly closedRst: NetTarget;
  /** REJECT icmp-port-unreachable -> ECONNREFUSED. */
  readonly icmpRefused: NetTarget;
  /** REJECT icmp-admin-prohibited -> EHOSTUNREACH. */
  readonly adminProhibited: NetTarget;
  /** Unassigned address in the /29: no ARP reply -> EHOSTUNREACH after ~3 s. */
  readonly noArpHost: NetTarget;
  /** Removes the namespace and the veth pair. Idempotent. */
  down(): Promise<void>;
}

const NS_PREFIX = 'rdpprobe-';
const CMD_TIMEOUT_MS = 10_000;

function ipBin(): string {
  const p = findBinary('ip');
  if (!p) throw new Error('ip (iproute2) not found');
  return p;
}

function iptablesBin(): string {
  const p = findBinary('iptables');
  if (!p) throw new Error('iptables not found (apt-get install iptables)');
  return p;
}

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run(ipBin(), args, { timeout: CMD_TIMEOUT_MS });
  return stdout;
}

async function tryIp(...args: string[]): Promise<void> {
  try {
    await ip(...args);
  } catch {
    // best effort
  }
}

async function namespaces(): Promise<string[]> {
  const out = await ip('netns', 'list');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Removes namespaces / veths left behind by earlier runs of this code whose process is gone. */
async function removeStale(): Promise<void> {
  for (const ns of await namespaces()) {
    const m = new RegExp(`^${NS_PREFIX}(\\d+)$`).exec(ns);
    if (m && !pidAlive(Number(m[1]))) await tryIp('netns', 'del', ns);
  }
  const links = await ip('-o', 'link', 'show');
  for (const m of links.matchAll(/^\d+:\s+(rpb(\d+)h)[@:]/gm)) {
    if (!pidAlive(Number(m[2]))) await tryIp('link', 'del', m[1]!);
  }
}

/** Picks N (1..254) such that nothing on this machine has an address or route in 10.200.N.0/29. */
async function pickSubnet(): Promise<number> {
  const used = `${await ip('-o', '-4', 'addr', 'show')}\n${await ip('-4', 'route', 'show', 'table', 'all')}`;
  const start = 1 + (process.pid % 254);
  for (let i = 0; i < 254; i++) {
    const n = 1 + ((start - 1 + i) % 254);
    if (!used.includes(`10.200.${n}.`)) return n;
  }
  throw new Error('no free 10.200.N.0/29 subnet');
}

let current: Promise<FilteredNetns> | undefined;

/**
 * Creates (once per test process) the namespace described above. Calling it again while it is up returns the
 * same instance; after down() a new one is built. A failed setup removes whatever it had created.
 */
export function filteredNetns(): Promise<FilteredNetns> {
  if (!current) {
    current = build().catch((e: unknown) => {
      current = undefined;
      throw e;
    });
  }
  return current;
}

async function build(): Promise<FilteredNetns> {
  if (process.getuid?.() !== 0) throw new Error('filteredNetns needs root');
  const iptables = iptablesBin();
  await removeStale();

  const name = `${NS_PREFIX}${process.pid}`;
  const hostVeth = `rpb${process.pid}h`;
  const nsVeth = `rpb${process.pid}n`;
  // Leftovers with our own name (e.g. a previous failed attempt in this process): start clean.
  await tryIp('link', 'del', hostVeth);
  if ((await namespaces()).includes(name)) await tryIp('netns', 'del', name);

  const n = await pickSubnet();
  const subnet = `10.200.${n}.0/29`;
  const hostAddress = `10.200.${n}.1`;
  const nsAddress = `10.200.${n}.2`;
  const noArp = `10.200.${n}.3`;

  const teardownSync = (): void => {
    for (const args of [
      ['link', 'del', hostVeth],
      ['netns', 'del', name],
    ]) {
      try {
        execFileSync(ipBin(), args, { timeout: CMD_TIMEOUT_MS, stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  const unregister = onProcessExit(teardownSync);

  let isDown = false;
  const down = async (): Promise<void> => {
    if (isDown) return;
    isDown = true;
    await tryIp('link', 'del', hostVeth); // deleting one end removes the pair
    await tryIp('netns', 'del', name);
    unregister();
    current = undefined;
    if ((await namespaces()).includes(name)) throw new Error(`netns ${name} still present after down()`);
  };

  try {
    await ip('netns', 'add', name);
    await ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth);
    await ip('link', 'set', nsVeth, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/29`, 'dev', hostVeth);
    await ip('link', 'set', hostVeth, 'up');
    await ip('netns', 'exec', name, ipBin(), 'addr', 'add', `${nsAddress}/29`, 'dev', nsVeth);
    await ip('netns', 'exec', name, ipBin(), 'link', 'set', nsVeth, 'up');
    await ip('netns', 'exec', name, ipBin(), 'link', 'set', 'lo', 'up');
    const rule = (...r: string[]): Promise<string> => ip('netns', 'exec', name, iptables, '-A', 'INPUT', ...r);
    await rule('-p', 'tcp', '--dport', '3389', '-j', 'DROP');
    await rule('-p', 'tcp', '--dport', '3391', '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable');
    await rule('-p', 'tcp', '--dport', '3392', '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited');
  } catch (e) {
    await down().catch(() => undefined);
    throw new Error(`filteredNetns setup failed: ${(e as Error).message}`);
  }

  return {
    name,
    subnet,
    hostAddress,
    nsAddress,
    filtered: { host: nsAddress, port: 3389 },
    closedRst: { host: nsAddress, port: 3390 },
    icmpRefused: { host: nsAddress, port: 3391 },
    adminProhibited: { host: nsAddress, port: 3392 },
    noArpHost: { host: noArp, port: 3389 },
    down,
  };
}

/** Names of the namespaces currently present (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  return namespaces();
}

/**
 * For a describe block: the namespace is built before its tests and taken down after them, and must then be gone.
 * Returns a getter (the namespace exists only once beforeAll has run).
 */
export function filteredNetnsForSuite(): () => FilteredNetns {
  let ns: FilteredNetns | undefined;
  beforeAll(async () => {
    ns = await filteredNetns();
  }, 30_000);
  afterAll(async () => {
    if (!ns) return;
    await ns.down();
    expect(await listNetns()).not.toContain(ns.name);
  });
  return () => {
    if (!ns) throw new Error('the network namespace is not up (filteredNetnsForSuite is used outside its describe)');
    return ns;
  };
}
