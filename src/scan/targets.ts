/**
 * Target expansion for `rdp-probe scan`: user tokens and list-file lines → specs → a lazy stream of
 * (host, port) targets, with --exclude, duplicate removal and --shard applied on the way.
 *
 * Pure: no sockets, no DNS. Host names pass through unresolved (the prober resolves them), so --exclude of an
 * address does not exclude a name that resolves to it here; ExcludeSet.excludesHost lets the prober check the
 * resolved address afterwards if it wants to.
 *
 * Token syntax (parseTargetSpec):
 *   10.0.0.5              2001:db8::5           an address
 *   10.0.0.0/24           2001:db8::/120        a CIDR (host bits set are cleared, with spec.note saying so)
 *   10.0.0.1-10.0.0.50    10.0.0.1-50           an inclusive range; "-50" replaces the last octet
 *   2001:db8::1-2001:db8::ff                    an IPv6 range, both ends written in full
 *   rdp01.corp.example                          a host name (kept as typed, key lower-cased)
 *   host:3390   10.0.0.5:3390   [2001:db8::5]:3390
 *   10.0.0.0/24:3390   10.0.0.1-50:3390   [2001:db8::/120]:3390   [2001:db8::1-2001:db8::9]:3390
 *       a port on a CIDR or range is accepted: it applies to every address in it, like on a single address
 *       (IPv4: unambiguous since the only ':' is the port separator; IPv6: the whole spec in brackets).
 *   fe80::1%eth0  [fe80::1%eth0]:3390            a scoped IPv6 address passes through like a host name
 *   A spec's own port overrides the --ports list for that spec.
 *
 * Duplicates. Target keys ('addr:port', '[v6]:port', 'name:port') repeated by overlapping specs are produced
 * once, at their first position, without remembering every target: each finished address spec adds its
 * interval to a merged interval list (one per family for specs using the --ports list, and one per family per
 * explicit port), and a later spec's (address, port) is a duplicate iff the address falls in an earlier
 * interval for that port. Memory grows with the number of specs (disjoint ones; adjacent ones merge), never
 * with the number of addresses. Host names are remembered as keys in a Set capped at NAME_MEMORY_LIMIT;
 * past that, repeated names may be probed twice (harmless, noted here).
 * Not detected as duplicates: a name and an address it resolves to, and an IPv4 address vs its IPv4-mapped
 * IPv6 form (::ffff:a.b.c.d) — both are different targets as far as expansion can tell.
 *
 * Laziness. Ranges are walked as bigint intervals split into segments of constant status (excluded /
 * already seen / new) by binary search over the interval lists, and the addresses of a segment are produced
 * one at a time, so a /8 or an IPv6 /64 is never held in memory, and excluding a /16 from a /8 skips it in
 * one step. Specs are pulled from their (async) iterable only when the previous one is finished.
 * Guard: one spec covering more than maxPerSpec addresses (default 2^32, i.e. all of IPv4) is refused with
 * a UsageError when it is reached, so an IPv6 /64 typo does not run for ever.
 */
import { parsePort, UsageError } from '../model/target-syntax.js';
import { checkShard, shardSize, type Shard } from './shard.js';
import { IntervalSet, minNext, type Probe } from './target-intervals.js';
import {
  formatIp,
  formatIpv4Number,
  formatIpv6Value,
  maxOf,
  parseIp,
  targetKey,
  type Family,
} from './target-ip.js';

export { targetKey } from './target-ip.js';
export type { Family } from './target-ip.js';

/** A run of addresses: a single address (first === last), a CIDR or an a-b range. */
export interface AddressSpec {
  kind: 'range';
  family: Family;
  first: bigint;
  last: bigint;
  /** The spec's own port; overrides the --ports list. */
  port?: number;
  /** The token as given, for messages. */
  text: string;
  /** Where it came from, e.g. "targets.txt:12", when not the command line. */
  origin?: string;
  /** Set when the token was normalised (a CIDR with host bits set); worth showing the user. */
  note?: string;
}

/** A host name (or a scoped IPv6 literal), passed through unresolved. */
export interface NameSpec {
  kind: 'name';
  host: string;
  port?: number;
  text: string;
  origin?: string;
}

export type TargetSpec = AddressSpec | NameSpec;

export interface Target {
  /** Address text (canonical) or host name as typed. */
  host: string;
  port: number;
  /** Canonical 'addr:port' / '[v6]:port' / 'name:port' (lower-cased name): for --resume and dedupe. */
  key: string;
}

export const DEFAULT_MAX_PER_SPEC = 1n << 32n;
export const NAME_MEMORY_LIMIT = 1_000_000;

// ---------------------------------------------------------------------------------------------------------
// Parsing

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
/** Every dot-separated label numeric (decimal or 0x hex): an IPv4 attempt, never a host name (inet_aton forms). */
const NUMERIC_RE = /^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+))*\.?$/i;

function prefix(origin: string | undefined): string {
  return origin === undefined ? '' : `${origin}: `;
}

/**
 * One user token → a spec. Throws UsageError with one line naming the token.
 * `origin` (e.g. "hosts.txt:7") prefixes messages and is kept on the spec.
 */
export function parseTargetSpec(input: string, origin?: string): TargetSpec {
  const token = input.trim();
  const fail = (why: string): UsageError =>
    new UsageError(`${prefix(origin)}invalid target ${JSON.stringify(token)}: ${why}`);
  if (token === '') throw fail('empty target');
  if (token.length > 300) throw fail('too long');
  if (/[\s\x00-\x1f\x7f]/.test(token)) throw fail('contains whitespace or control characters');

  let body: string;
  let portText: string | undefined;
  let bracketed = false;
  if (token.startsWith('[')) {
    const close = token.indexOf(']');
    if (close < 0) throw fail('unclosed "["');
    body = token.slice(1, close);
    const rest = token.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw fail('unexpected text after "]"');
      portText = rest.slice(1);
    }
    bracketed = true;
  } else {
    const colon = token.indexOf(':');
    if (colon >= 0 && token.indexOf(':', colon + 1) < 0) {
      body = token.slice(0, colon);
      portText = token.slice(colon + 1);
    } else body = token; // no colon, or an IPv6 form (several colons, no port)
  }
  if (body === '') throw fail('no host');

  let port: number | undefined;
  if (portText !== undefined) {
    try {
      port = parsePort(portText);
    } catch (e) {
      if (e instanceof UsageError) throw fail(e.message);
      throw e;
    }
  }

  const spec = parseBody(body, fail);
  if (bracketed && (spec.kind === 'name' ? !spec.host.includes(':') : spec.family !== 6)) {
    throw fail('only IPv6 addresses go in brackets');
  }
  spec.text = token;
  if (origin !== undefined) spec.origin = origin;
  if (port !== undefined) spec.port = port;
  return spec;
}

function parseBody(body: string, fail: (why: string) => UsageError): TargetSpec {
  const slash = body.indexOf('/');
  if (slash >= 0) return parseCidr(body.slice(0, slash), body.slice(slash + 1), fail);
  const ip = parseIp(body);
  if (ip) return { kind: 'range', family: ip.family, first: ip.value, last: ip.value, text: body };
  const dash = body.indexOf('-');
  if (dash >= 0) {
    const left = body.slice(0, dash);
    // A range when the left side is (or tries to be) an address; '10-0-0-5.nip.io' stays a host name.
    if (parseIp(left) || (left.includes('.') && NUMERIC_RE.test(left)) || left.includes(':')) {
      return parseRange(left, body.slice(dash + 1), fail);
    }
  }
  if (body.includes(':')) {
    if (body.includes('%') && !body.includes('/') && isScopedV6(body)) return { kind: 'name', host: body, text: body };
    throw fail(`${JSON.stringify(body)} is not a valid IPv6 address`);
  }
  if (NUMERIC_RE.test(body)) throw fail(`${JSON.stringify(body)} is not a valid IPv4 address`);
  if (!NAME_RE.test(body) || /\.\./.test(body) || body.startsWith('.')) {
    throw fail(`${JSON.stringify(body)} is not a valid host name or address`);
  }
  const labels = body.replace(/\.$/, '').split('.');
  if (labels.length > 1 && /^\d+$/.test(labels[labels.length - 1]!)) {
    throw fail(`${JSON.stringify(body)} is not a valid host name (its last label is numeric)`);
  }
  return { kind: 'name', host: body, text: body };
}

function isScopedV6(text: string): boolean {
  const pct = text.indexOf('%');
  return /^[A-Za-z0-9_.-]{1,64}$/.test(text.slice(pct + 1)) && parseIp(text.slice(0, pct))?.family === 6;
}

function parseCidr(addr: string, bitsText: string, fail: (why: string) => UsageError): AddressSpec {
  const ip = parseIp(addr);
  if (!ip) throw fail(`${JSON.stringify(addr)} is not an IP address`);
  const width = ip.family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText)) throw fail(`invalid prefix length ${JSON.stringify(`/${bitsText}`)}`);
  const bits = Number(bitsText);
  if (bits > width) throw fail(`prefix /${bits} is longer than ${width} bits`);
  const hostMask = (1n << BigInt(width - bits)) - 1n;
  const first = ip.value & ~hostMask & maxOf(ip.family);
  const spec: AddressSpec = { kind: 'range', family: ip.family, first, last: first | hostMask, text: '' };
  if (first !== ip.value) {
    spec.note = `${addr}/${bits} has host bits set; scanning ${formatIp(ip.family, first)}/${bits}`;
  }
  return spec;
}

function parseRange(left: string, right: string, fail: (why: string) => UsageError): AddressSpec {
  const a = parseIp(left);
  if (!a) throw fail(`${JSON.stringify(left)} is not a valid IP address`);
  let last: bigint;
  if (a.family === 4 && /^\d{1,3}$/.test(right)) {
    const octet = Number(right);
    if (octet > 255 || (right.length > 1 && right.startsWith('0'))) throw fail(`invalid last octet ${JSON.stringify(right)}`);
    last = (a.value & ~0xffn) | BigInt(octet);
  } else {
    const b = parseIp(right);
    if (!b) {
      throw fail(
        a.family === 4
          ? `range end ${JSON.stringify(right)} is neither an IPv4 address nor a last octet`
          : `range end ${JSON.stringify(right)} is not an IPv6 address (write both ends in full)`,
      );
    }
    if (b.family !== a.family) throw fail('the ends of a range must be of the same address family');
    last = b.value;
  }
  if (last < a.value) throw fail(`range end ${formatIp(a.family, last)} is before its start ${formatIp(a.family, a.value)}`);
  return { kind: 'range', family: a.family, first: a.value, last, text: '' };
}

/** `-p 3389,3390` (ranges like 3389-3391 too) → ports in the order given, duplicates dropped. */
export function parsePortList(text: string): number[] {
  const out: number[] = [];
  const seen = new Set<number>();
  const parts = text.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) throw new UsageError(`--ports ${JSON.stringify(text)}: no ports given`);
  for (const part of parts) {
    if (part === '') throw new UsageError(`--ports ${JSON.stringify(text)}: empty item`);
    const m = /^(\d+)\s*-\s*(\d+)$/.exec(part);
    let lo: number;
    let hi: number;
    try {
      lo = parsePort(m ? m[1]! : part);
      hi = m ? parsePort(m[2]!) : lo;
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`--ports ${JSON.stringify(part)}: ${e.message}`);
      throw e;
    }
    if (hi < lo) throw new UsageError(`--ports ${JSON.stringify(part)}: range end is below its start`);
    for (let p = lo; p <= hi; p++) {
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// List files (-iL, --exclude-file)

const MASSCAN_RE = /^(open|closed)\s+(tcp|udp|sctp|icmp)\s+(\d+)\s+(\S+)\s+\d+$/;
const MASSCAN_OTHER_RE = /^banner\s+(tcp|udp|sctp)\s+\d+\s+\S+\s+\d+(\s|$)/;

/**
 * One line of a target list → zero or more specs.
 * - blank lines and '#' comments (also trailing "  # note") are skipped; so are masscan's '#masscan'/'# end';
 * - nmap -oG: `Host: ADDR (name)<TAB>Ports: 3389/open/tcp//ms-wbt-server///, 22/closed/tcp//ssh///` gives
 *   ADDR with each open TCP port (none open → nothing); `Host: ADDR ()<TAB>Status: Up` gives ADDR with the
 *   --ports list; Status: Down gives nothing. (nmap writes both a Status and a Ports line per host; the
 *   Status line then adds ADDR × --ports, duplicates of the Ports line's targets being dropped.)
 * - masscan -oL: `open tcp 3389 ADDR TIMESTAMP` gives ADDR:3389; closed/udp/banner lines give nothing;
 * - anything else: whitespace-separated target tokens (parseTargetSpec).
 */
export function parseTargetLine(line: string, origin?: string): TargetSpec[] {
  const s = line.replace(/^\uFEFF/, '').trim();
  if (s === '' || s.startsWith('#')) return [];

  if (/^Host:\s/.test(s)) return parseNmapGrepable(s, origin);

  const mm = MASSCAN_RE.exec(s);
  if (mm) {
    if (mm[1] !== 'open' || mm[2] !== 'tcp') return [];
    return [addressWithPort(mm[4]!, mm[3]!, s, origin)];
  }
  if (MASSCAN_OTHER_RE.test(s)) return [];

  const out: TargetSpec[] = [];
  for (const tok of s.split(/\s+/)) {
    if (tok.startsWith('#')) break;
    out.push(parseTargetSpec(tok, origin));
  }
  return out;
}

function addressWithPort(addr: string, port: string | undefined, line: string, origin: string | undefined): AddressSpec {
  const ip = parseIp(addr);
  if (!ip) throw new UsageError(`${prefix(origin)}no IP address in ${JSON.stringify(line.slice(0, 120))}`);
  const spec: AddressSpec = { kind: 'range', family: ip.family, first: ip.value, last: ip.value, text: addr };
  if (origin !== undefined) spec.origin = origin;
  if (port !== undefined) {
    try {
      spec.port = parsePort(port);
    } catch (e) {
      if (e instanceof UsageError) throw new UsageError(`${prefix(origin)}${e.message} in ${JSON.stringify(line.slice(0, 120))}`);
      throw e;
    }
  }
  return spec;
}

function parseNmapGrepable(s: string, origin: string | undefined): TargetSpec[] {
  const fields = s.split('\t').map((f) => f.trim());
  const head = /^Host:\s+(\S+)(?:\s+\(.*\))?$/.exec(fields[0] ?? '');
  if (!head) throw new UsageError(`${prefix(origin)}unrecognised nmap -oG line ${JSON.stringify(s.slice(0, 120))}`);
  const addr = head[1]!;
  const portsField = fields.find((f) => f.startsWith('Ports:'));
  if (portsField !== undefined) {
    const out: TargetSpec[] = [];
    // Entries: port/state/protocol/owner/service/rpc/version/ joined by ", ". A version string may itself
    // contain ", ": such fragments do not start with "digits/" and are skipped.
    for (const entry of portsField.slice('Ports:'.length).split(/,\s*/)) {
      const m = /^\s*(\d+)\/([^/]*)\/([^/]*)\//.exec(entry);
      if (m && m[2] === 'open' && m[3] === 'tcp') out.push(addressWithPort(addr, m[1], s, origin));
    }
    return out;
  }
  const status = fields.find((f) => f.startsWith('Status:'));
  if (status !== undefined && /^Status:\s*Up\b/.test(status)) return [addressWithPort(addr, undefined, s, origin)];
  return [];
}

/**
 * Specs from the lines of a list file or stdin (the CLI opens it). Errors are prefixed "SOURCE:LINE: ".
 * Lines are read only as specs are pulled, so a huge list is not held in memory either.
 */
export async function* readTargetList(
  lines: AsyncIterable<string> | Iterable<string>,
  source: string,
): AsyncGenerator<TargetSpec> {
  let n = 0;
  for await (const line of lines) {
    n++;
    yield* parseTargetLine(line, `${source}:${n}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Exclusions

/**
 * Addresses, CIDRs, ranges and host names to skip, from the same syntax as targets. Address specs become
 * merged interval lists (IPv4 and IPv6 apart), so membership is O(log n) and excluded runs are skipped in
 * one step; names are matched case-insensitively against name targets only (no DNS).
 */
export class ExcludeSet {
  private readonly v4 = new IntervalSet();
  private readonly v6 = new IntervalSet();
  private readonly names = new Set<string>();

  static async from(specs: AsyncIterable<TargetSpec> | Iterable<TargetSpec>): Promise<ExcludeSet> {
    const set = new ExcludeSet();
    for await (const spec of specs) set.add(spec);
    return set;
  }

  /** Exclusion applies to every port; a spec with a port is refused. */
  add(spec: TargetSpec): this {
    if (spec.port !== undefined) {
      throw new UsageError(`${prefix(spec.origin)}--exclude ${JSON.stringify(spec.text)}: exclusions take no port; exclude the address`);
    }
    if (spec.kind === 'name') this.names.add(spec.host.toLowerCase());
    else (spec.family === 4 ? this.v4 : this.v6).add(spec.first, spec.last);
    return this;
  }

  /** For an address or name as text (e.g. the address a name resolved to). */
  excludesHost(host: string): boolean {
    const ip = parseIp(host);
    if (ip) return this.intervals(ip.family).has(ip.value);
    return this.names.has(host.toLowerCase());
  }

  /** @internal */
  intervals(family: Family): IntervalSet {
    return family === 4 ? this.v4 : this.v6;
  }

  /** @internal */
  hasName(lowerName: string): boolean {
    return this.names.has(lowerName);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Expansion

export interface ExpandOptions {
  /** The --ports list, in order (duplicates are dropped). Used for specs without their own port. */
  ports: number[];
  exclude?: ExcludeSet;
  /** 1-based, see shard.ts. Applied to the target numbering after exclusions and dedupe. */
  shard?: Shard;
  /** Refuse one spec covering more addresses than this (default 2^32). */
  maxPerSpec?: bigint | number;
  /** Targets already done (--resume): skipped after sharding, so ordinals and shards do not move. */
  done?: { has(key: string): boolean };
}

/** A run of consecutive addresses that all get the same (non-empty) list of ports. */
interface Segment {
  family: Family;
  first: bigint;
  last: bigint;
  ports: number[];
}

type PerFamily = { 4: IntervalSet; 6: IntervalSet };
const perFamily = (): PerFamily => ({ 4: new IntervalSet(), 6: new IntervalSet() });

export function specSize(spec: TargetSpec): bigint {
  return spec.kind === 'name' ? 1n : spec.last - spec.first + 1n;
}

function describeCount(n: bigint): string {
  const log = n.toString(2).length - 1;
  return n === 1n << BigInt(log) ? `2^${log}` : n.toString();
}

/** Exclusion + dedupe state shared by expandTargets and countTargets. */
class Planner {
  readonly ports: number[];
  private readonly portSet: Set<number>;
  private readonly exclude: ExcludeSet;
  private readonly maxPerSpec: bigint;
  /** Intervals of finished specs that used the --ports list. */
  private readonly defaultSeen = perFamily();
  /** Intervals of finished specs with their own port, by port. */
  private readonly portSeen = new Map<number, PerFamily>();
  private readonly names = new Set<string>();

  constructor(opts: ExpandOptions) {
    const ports: number[] = [];
    for (const p of opts.ports) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`port ${p} is out of range 1-65535`);
      if (!ports.includes(p)) ports.push(p);
    }
    if (ports.length === 0) throw new UsageError('no ports to scan');
    this.ports = ports;
    this.portSet = new Set(ports);
    this.exclude = opts.exclude ?? new ExcludeSet();
    this.maxPerSpec = opts.maxPerSpec === undefined ? DEFAULT_MAX_PER_SPEC : BigInt(opts.maxPerSpec);
  }

  check(spec: TargetSpec): void {
    const size = specSize(spec);
    if (size > this.maxPerSpec) {
      throw new UsageError(
        `${prefix(spec.origin)}target ${JSON.stringify(spec.text)} covers ${describeCount(size)} addresses, ` +
          `more than the limit of ${describeCount(this.maxPerSpec)} per target; split it or raise the limit`,
      );
    }
  }

  /** Ports to produce for a name spec (after exclusion and dedupe), in order; records them as seen. */
  namePorts(spec: NameSpec): number[] {
    const lower = spec.host.toLowerCase();
    if (this.exclude.hasName(lower)) return [];
    const out: number[] = [];
    for (const p of spec.port !== undefined ? [spec.port] : this.ports) {
      const key = targetKey(lower, p);
      if (this.names.has(key)) continue;
      if (this.names.size < NAME_MEMORY_LIMIT) this.names.add(key);
      out.push(p);
    }
    return out;
  }

  /**
   * The new parts of an address spec, in address order, as segments of constant status. When the walk
   * completes, the spec's interval is recorded so later specs skip it.
   */
  *segments(spec: AddressSpec): Generator<Segment> {
    const fam = spec.family;
    const ex = this.exclude.intervals(fam);
    const own = spec.port;
    const P = own !== undefined ? [own] : this.ports;
    const ds = own === undefined || this.portSet.has(own) ? this.defaultSeen[fam] : undefined;
    const per = P.map((p) => this.portSeen.get(p)?.[fam]);
    const anyPer = per.some((s) => s !== undefined);

    let x = spec.first;
    while (x <= spec.last) {
      const e = ex.probe(x);
      if (e.inside) {
        if (e.next === undefined) break;
        x = e.next;
        continue;
      }
      let next = e.next;
      let d: Probe | undefined;
      if (ds) {
        d = ds.probe(x);
        next = minNext(next, d.next);
      }
      let ports: number[];
      if (d?.inside) ports = [];
      else if (!anyPer) ports = P;
      else {
        ports = [];
        for (let i = 0; i < P.length; i++) {
          const s = per[i];
          if (s) {
            const q = s.probe(x);
            next = minNext(next, q.next);
            if (q.inside) continue;
          }
          ports.push(P[i]!);
        }
      }
      const end = next === undefined || next - 1n > spec.last ? spec.last : next - 1n;
      if (ports.length > 0) yield { family: fam, first: x, last: end, ports };
      x = end + 1n;
    }

    if (own === undefined) this.defaultSeen[fam].add(spec.first, spec.last);
    else {
      let s = this.portSeen.get(own);
      if (!s) this.portSeen.set(own, (s = perFamily()));
      s[fam].add(spec.first, spec.last);
    }
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Targets per batch of expandTargetBatches unless asked otherwise. */
export const TARGET_BATCH = 256;

/**
 * The targets of `specs` × ports, lazily: spec order, then address order, then port order (--ports order;
 * a spec's own port replaces the list). Excluded and duplicate targets are skipped; with a shard, only
 * targets whose number (0-based, counted after exclusion and dedupe) is ≡ index-1 mod count are produced;
 * with `done`, those already done are then skipped. Throws UsageError (when reached) for a spec over
 * maxPerSpec addresses. One target at a time; expandTargetBatches is the same stream in arrays.
 */
export async function* expandTargets(
  specs: AsyncIterable<TargetSpec> | Iterable<TargetSpec>,
  opts: ExpandOptions,
): AsyncGenerator<Target> {
  for await (const batch of expandTargetBatches(specs, opts)) yield* batch;
}

/**
 * expandTargets' targets, in the same order, as arrays of at most `size` (never empty): a scan pulls a batch per
 * async step instead of a target (over a /16 the per-target generator steps were a measurable part of a closed
 * port's cost). Still lazy: a batch is filled synchronously from the current spec, so a /8 is never held. A batch
 * is also handed over short before the next spec is awaited from an async source (a list read from stdin starts
 * probing as lines come), and before an error (a bad line, an oversized spec) is thrown, so the targets before
 * it are still produced.
 */
export async function* expandTargetBatches(
  specs: AsyncIterable<TargetSpec> | Iterable<TargetSpec>,
  opts: ExpandOptions,
  size = TARGET_BATCH,
): AsyncGenerator<Target[]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('batch size must be a positive integer');
  const planner = new Planner(opts);
  const shard = checkShard(opts.shard ?? { index: 1, count: 1 });
  const n = BigInt(shard.count);
  const r = BigInt(shard.index - 1);
  const step = shard.count;
  const done = opts.done;
  const awaited = !(Symbol.iterator in specs);
  let ordinal = 0n; // number of the next target in the unsharded order
  let batch: Target[] = [];
  /** Queues a target unless an earlier run did it (--resume); true when the batch is full. */
  const add = (host: string, port: number, key: string): boolean => {
    if (!done?.has(key)) batch.push({ host, port, key });
    return batch.length >= size;
  };
  /** The batch so far, leaving an empty one: emptied before it is yielded, so a generator resumed with throw() never yields it twice. */
  const take = (): Target[] => {
    const b = batch;
    batch = [];
    return b;
  };

  try {
    for await (const spec of specs) {
      planner.check(spec);
      if (spec.kind === 'name') {
        for (const port of planner.namePorts(spec)) {
          if (ordinal % n === r && add(spec.host, port, targetKey(spec.host, port))) {
            yield take();
          }
          ordinal++;
        }
      } else {
        for (const seg of planner.segments(spec)) {
          const m = seg.ports.length;
          const total = (seg.last - seg.first + 1n) * BigInt(m);
          const skip = (((r - ordinal) % n) + n) % n; // offset of this shard's first target in the segment
          if (total <= SAFE) {
            // Offsets fit a double: number arithmetic, one address text per address.
            const tot = Number(total);
            const v4base = seg.family === 4 ? Number(seg.first) : 0;
            let lastIndex = -1;
            let host = '';
            for (let o = Number(skip); o < tot; o += step) {
              const ai = Math.floor(o / m);
              const port = seg.ports[o - ai * m]!;
              if (ai !== lastIndex) {
                lastIndex = ai;
                host = seg.family === 4 ? formatIpv4Number(v4base + ai) : formatIpv6Value(seg.first + BigInt(ai));
              }
              if (add(host, port, seg.family === 4 ? `${host}:${port}` : `[${host}]:${port}`)) {
                yield take();
              }
            }
          } else {
            // Only reachable with maxPerSpec raised past 2^53 / ports.
            const mm = BigInt(m);
            for (let o = skip; o < total; o += n) {
              const ai = o / mm;
              const port = seg.ports[Number(o - ai * mm)]!;
              const host = formatIp(seg.family, seg.first + ai);
              if (add(host, port, seg.family === 4 ? `${host}:${port}` : `[${host}]:${port}`)) {
                yield take();
              }
            }
          }
          ordinal += total;
        }
      }
      if (awaited && batch.length > 0) {
        yield take();
      }
    }
  } catch (e) {
    if (batch.length > 0) yield take();
    throw e;
  }
  if (batch.length > 0) yield take();
}

/**
 * The number of targets expandTargets would produce (before `done`), without producing them: sums of
 * segment sizes, so it costs O(specs + exclusions), not O(targets). Undefined when `specs` is only an async
 * iterable (a file or stdin not read yet). Throws like expandTargets for an oversized spec.
 */
export function countTargets(
  specs: AsyncIterable<TargetSpec> | Iterable<TargetSpec>,
  opts: Omit<ExpandOptions, 'done'>,
): bigint | undefined {
  if (!(Symbol.iterator in specs)) return undefined;
  const planner = new Planner(opts);
  let total = 0n;
  for (const spec of specs) {
    planner.check(spec);
    if (spec.kind === 'name') total += BigInt(planner.namePorts(spec).length);
    else for (const seg of planner.segments(spec)) total += (seg.last - seg.first + 1n) * BigInt(seg.ports.length);
  }
  return opts.shard ? shardSize(checkShard(opts.shard), total) : total;
}
