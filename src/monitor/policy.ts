/**
 * Monitoring policies: a YAML file of hosts (or groups of hosts) and what each must show. Loading is strict: an
 * unknown key, a wrong type or a bad value is one PolicyError naming the file, line and column, so a typo never
 * turns into a check that silently passes. A password never lives in the policy: only the name of an environment
 * variable or a file that holds it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { parseDuration, parseTarget } from '../model/target-syntax.js';

export const NLA_EXPECT = ['required', 'offered', 'any'] as const;
export const STANDARD_RDP_EXPECT = ['refused', 'allowed'] as const;
export const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
export const REACH = ['x224', 'tls', 'credssp', 'auth', 'activation'] as const;

export type NlaExpect = (typeof NLA_EXPECT)[number];
export type StandardRdpExpect = (typeof STANDARD_RDP_EXPECT)[number];
export type TlsVersion = (typeof TLS_VERSIONS)[number];
export type Reach = (typeof REACH)[number];

export interface CertificateExpect {
  /** CRITICAL when the certificate expires in fewer days. */
  minDaysValid?: number;
  /** WARNING when it expires in fewer days. */
  warnDays?: number;
  /** sha256:<hex> of the certificate or of its public key; any one matches. */
  pin?: string[];
  /** The CA file as written, resolved against the policy's folder, and its PEM text. */
  ca?: { file: string; pem: string };
}

export interface AuthExpect {
  user: string;
  passwordEnv?: string;
  passwordFile?: string;
}

export interface Expectations {
  nla?: NlaExpect;
  standardRdpSecurity?: StandardRdpExpect;
  tlsMin?: TlsVersion;
  certificate?: CertificateExpect;
  credssp?: { minVersion: number };
  auth?: AuthExpect;
  reach?: Reach;
}

export interface PolicyEntry {
  /** The target as written. */
  target: string;
  host: string;
  port: number;
  /** Display name: `name:` when given, else the target. */
  name: string;
  group?: string;
  expect: Expectations;
  stageTimeoutMs: number;
  targetTimeoutMs: number;
  /** Where the entry starts, for messages. */
  line: number;
}

export interface Policy {
  file: string;
  entries: PolicyEntry[];
  /** monitor: how many hosts are probed at once. */
  concurrency: number;
}

export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${col}: ${detail}`);
  }
}

export interface ParseOptions {
  /** Folder that relative `ca:` paths are resolved against; default the policy file's folder. */
  baseDir?: string;
  /** Reads a `ca:` file; default fs.readFileSync(…, 'utf8'). */
  readFile?: (file: string) => string;
}

const MAX_POLICY_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

/** Reads and parses a policy file; every problem, including an unreadable file, is a PolicyError. */
export function readPolicyFile(file: string, opts: ParseOptions = {}): Policy {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new PolicyError(file, 1, 1, 'not a file');
    if (st.size > MAX_POLICY_BYTES) throw new PolicyError(file, 1, 1, `the policy is ${st.size} bytes; more than ${MAX_POLICY_BYTES} is not read`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw new PolicyError(file, 1, 1, `cannot read the policy: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parsePolicy(text, file, { baseDir: path.dirname(path.resolve(file)), ...opts });
}

type Where = { line: number; col: number };

/** Parses policy text. `file` names it in messages. */
export function parsePolicy(text: string, file: string, opts: ParseOptions = {}): Policy {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true, strict: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = lc.linePos(firstError.pos[0]);
    throw new PolicyError(file, pos.line, pos.col, firstError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  const at = (n: YamlNode | Pair | null | undefined): Where => {
    const offset = n && 'range' in n && n.range ? n.range[0] : n && 'key' in n && isNode(n.key) && n.key.range ? n.key.range[0] : 0;
    return lc.linePos(offset);
  };
  const fail = (n: YamlNode | Pair | null | undefined, msg: string): never => {
    const w = at(n);
    throw new PolicyError(file, w.line, w.col, msg);
  };
  const baseDir = opts.baseDir ?? path.dirname(path.resolve(file));
  const readFile = opts.readFile ?? ((f: string) => fs.readFileSync(f, 'utf8'));

  const root = doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === ''))) fail(null, 'the policy is empty: it needs hosts: (or groups:)');
  const top = asMap(root as YamlNode, 'the policy', fail);
  checkKeys(top, ['defaults', 'hosts', 'groups'], 'the policy', fail);

  let stageTimeoutMs = 5000;
  let targetTimeoutMs = 30000;
  let concurrency = 4;
  let defaultExpect: RawExpect = {};
  const defaults = top.get('defaults', true) as YamlNode | undefined;
  if (defaults !== undefined) {
    const m = asMap(defaults, 'defaults', fail);
    checkKeys(m, ['timeout', 'targetTimeout', 'concurrency', 'expect'], 'defaults', fail);
    stageTimeoutMs = durationAt(m, 'timeout', 'defaults.timeout', fail) ?? stageTimeoutMs;
    targetTimeoutMs = durationAt(m, 'targetTimeout', 'defaults.targetTimeout', fail) ?? targetTimeoutMs;
    const c = m.get('concurrency', true) as YamlNode | undefined;
    if (c !== undefined) concurrency = intAt(c, 'defaults.concurrency', 1, 256, fail);
    const e = m.get('expect', true) as YamlNode | undefined;
    if (e !== undefined) defaultExpect = readExpect(e, 'defaults.expect', fail, baseDir, readFile);
  }

  const entries: PolicyEntry[] = [];
  const seen = new Map<string, number>();
  const addEntry = (targetNode: YamlNode, where: string, name: string | undefined, group: string | undefined, layers: RawExpect[], timeouts: { stage: number; target: number }, line: number): void => {
    if (!isScalar(targetNode) || typeof targetNode.value !== 'string' && typeof targetNode.value !== 'number') fail(targetNode, `${where}: a target is HOST, HOST:PORT or [IPv6]:PORT`);
    const text = String((targetNode as { value: unknown }).value);
    let t: { host: string; port: number };
    try {
      t = parseTarget(text, 3389);
    } catch (e) {
      return fail(targetNode, `${where}: ${(e as Error).message}`);
    }
    const key = `${t.host.toLowerCase()}:${t.port}`;
    const prev = seen.get(key);
    if (prev !== undefined) fail(targetNode, `${where}: ${text} is already listed (line ${prev})`);
    seen.set(key, at(targetNode).line);
    const merged = mergeExpect([defaultExpect, ...layers]);
    const expect = finishExpect(merged, where, fail);
    if (entries.length >= MAX_ENTRIES) fail(targetNode, `more than ${MAX_ENTRIES} hosts`);
    entries.push({ target: text, host: t.host, port: t.port, name: name ?? text, ...(group !== undefined ? { group } : {}), expect, stageTimeoutMs: timeouts.stage, targetTimeoutMs: timeouts.target, line });
  };

  const hosts = top.get('hosts', true) as YamlNode | undefined;
  if (hosts !== undefined) {
    const seq = asSeq(hosts, 'hosts', fail);
    seq.items.forEach((item, i) => {
      const where = `hosts[${i}]`;
      const m = asMap(item as YamlNode, where, fail);
      checkKeys(m, ['target', 'name', 'expect', 'timeout', 'targetTimeout'], where, fail);
      const target = m.get('target', true) as YamlNode | undefined;
      if (target === undefined) fail(m, `${where}: target: is missing`);
      const name = stringAt(m, 'name', `${where}.name`, fail);
      const e = m.get('expect', true) as YamlNode | undefined;
      const layer = e !== undefined ? readExpect(e, `${where}.expect`, fail, baseDir, readFile) : {};
      const timeouts = { stage: durationAt(m, 'timeout', `${where}.timeout`, fail) ?? stageTimeoutMs, target: durationAt(m, 'targetTimeout', `${where}.targetTimeout`, fail) ?? targetTimeoutMs };
      addEntry(target!, where, name, undefined, [layer], timeouts, at(m).line);
    });
  }
  const groups = top.get('groups', true) as YamlNode | undefined;
  if (groups !== undefined) {
    const seq = asSeq(groups, 'groups', fail);
    seq.items.forEach((item, i) => {
      const where = `groups[${i}]`;
      const m = asMap(item as YamlNode, where, fail);
      checkKeys(m, ['name', 'targets', 'expect', 'timeout', 'targetTimeout'], where, fail);
      const name = stringAt(m, 'name', `${where}.name`, fail);
      const targets = m.get('targets', true) as YamlNode | undefined;
      if (targets === undefined) fail(m, `${where}: targets: is missing (a list of HOST[:PORT])`);
      const list = asSeq(targets!, `${where}.targets`, fail);
      if (list.items.length === 0) fail(list, `${where}.targets: the list is empty`);
      const e = m.get('expect', true) as YamlNode | undefined;
      const layer = e !== undefined ? readExpect(e, `${where}.expect`, fail, baseDir, readFile) : {};
      const timeouts = { stage: durationAt(m, 'timeout', `${where}.timeout`, fail) ?? stageTimeoutMs, target: durationAt(m, 'targetTimeout', `${where}.targetTimeout`, fail) ?? targetTimeoutMs };
      list.items.forEach((t, j) => addEntry(t as YamlNode, `${where}.targets[${j}]`, undefined, name, [layer], timeouts, at(t as YamlNode).line));
    });
  }
  if (entries.length === 0) fail(top, 'the policy lists no hosts (hosts: or groups:)');
  return { file, entries, concurrency };
}

/** Finds the entry for a target given on the command line: by name, by target as written, or by host and port. */
export function findEntry(policy: Policy, text: string, defaultPort = 3389): PolicyEntry | undefined {
  const byName = policy.entries.find((e) => e.name === text || e.target === text);
  if (byName) return byName;
  let t: { host: string; port: number };
  try {
    t = parseTarget(text, defaultPort);
  } catch {
    return undefined;
  }
  return policy.entries.find((e) => e.host.toLowerCase() === t.host.toLowerCase() && e.port === t.port);
}

// --- the expect: block -----------------------------------------------------------------------------------------

type Fail = (n: YamlNode | Pair | null | undefined, msg: string) => never;

/** One layer (defaults, group or host) before merging; `auth` keeps its node so errors after merging can point at it. */
interface RawExpect {
  nla?: NlaExpect;
  standardRdpSecurity?: StandardRdpExpect;
  tlsMin?: TlsVersion;
  certificate?: CertificateExpect;
  credssp?: { minVersion: number };
  auth?: AuthExpect & { node: YamlNode };
  reach?: Reach & string;
  reachNode?: YamlNode;
}

const EXPECT_KEYS = ['nla', 'standardRdpSecurity', 'tlsMin', 'certificate', 'credssp', 'auth', 'reach'];

function readExpect(node: YamlNode, where: string, fail: Fail, baseDir: string, readFile: (f: string) => string): RawExpect {
  const m = asMap(node, where, fail);
  checkKeys(m, EXPECT_KEYS, where, fail);
  const out: RawExpect = {};
  const nla = enumAt(m, 'nla', NLA_EXPECT, `${where}.nla`, fail);
  if (nla) out.nla = nla;
  const std = enumAt(m, 'standardRdpSecurity', STANDARD_RDP_EXPECT, `${where}.standardRdpSecurity`, fail);
  if (std) out.standardRdpSecurity = std;
  const tlsNode = m.get('tlsMin', true) as YamlNode | undefined;
  if (tlsNode !== undefined) {
    const v = isScalar(tlsNode) ? tlsNode.value : undefined;
    // 1.0 written as a YAML number reads back as 1: accept the numbers that mean a version too.
    const text = typeof v === 'number' ? (Number.isInteger(v) ? v.toFixed(1) : String(v)) : typeof v === 'string' ? v.replace(/^TLS\s*v?/i, '') : undefined;
    if (text === undefined || !(TLS_VERSIONS as readonly string[]).includes(text)) fail(tlsNode, `${where}.tlsMin: expected one of "1.0", "1.1", "1.2", "1.3"`);
    out.tlsMin = text as TlsVersion;
  }
  const certNode = m.get('certificate', true) as YamlNode | undefined;
  if (certNode !== undefined) {
    const c = asMap(certNode, `${where}.certificate`, fail);
    checkKeys(c, ['minDaysValid', 'warnDays', 'pin', 'ca'], `${where}.certificate`, fail);
    const cert: CertificateExpect = {};
    const min = c.get('minDaysValid', true) as YamlNode | undefined;
    if (min !== undefined) cert.minDaysValid = intAt(min, `${where}.certificate.minDaysValid`, 0, 3650, fail);
    const warn = c.get('warnDays', true) as YamlNode | undefined;
    if (warn !== undefined) cert.warnDays = intAt(warn, `${where}.certificate.warnDays`, 0, 3650, fail);
    const pin = c.get('pin', true) as YamlNode | undefined;
    if (pin !== undefined) {
      const items = isSeq(pin) ? (pin.items as YamlNode[]) : [pin];
      if (items.length === 0) fail(pin, `${where}.certificate.pin: the list is empty`);
      cert.pin = items.map((p) => {
        const v = isScalar(p) ? p.value : undefined;
        if (typeof v !== 'string' || !/^sha256:(?:[0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/.test(v)) fail(p, `${where}.certificate.pin: expected sha256: and 64 hex digits`);
        return normalizePin(v as string);
      });
    }
    const ca = c.get('ca', true) as YamlNode | undefined;
    if (ca !== undefined) {
      const v = isScalar(ca) ? ca.value : undefined;
      if (typeof v !== 'string' || v === '') fail(ca, `${where}.certificate.ca: expected the path of a PEM file`);
      const f = path.resolve(baseDir, v as string);
      let pem: string;
      try {
        pem = readFile(f);
      } catch (e) {
        return fail(ca, `${where}.certificate.ca: cannot read ${String(v)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(ca, `${where}.certificate.ca: ${String(v)} holds no PEM certificate`);
      cert.ca = { file: v as string, pem };
    }
    if (cert.minDaysValid !== undefined && cert.warnDays !== undefined && cert.warnDays < cert.minDaysValid) {
      fail(warn, `${where}.certificate.warnDays (${cert.warnDays}) is below minDaysValid (${cert.minDaysValid}): the warning would never come first`);
    }
    out.certificate = cert;
  }
  const credssp = m.get('credssp', true) as YamlNode | undefined;
  if (credssp !== undefined) {
    const c = asMap(credssp, `${where}.credssp`, fail);
    checkKeys(c, ['minVersion'], `${where}.credssp`, fail);
    const v = c.get('minVersion', true) as YamlNode | undefined;
    if (v === undefined) fail(c, `${where}.credssp: minVersion: is missing`);
    out.credssp = { minVersion: intAt(v!, `${where}.credssp.minVersion`, 2, 6, fail) };
  }
  const auth = m.get('auth', true) as YamlNode | undefined;
  if (auth !== undefined) {
    const a = asMap(auth, `${where}.auth`, fail);
    const pw = a.items.find((p) => isScalar(p.key) && p.key.value === 'password');
    if (pw) fail(pw.key as YamlNode, `${where}.auth.password: a password never goes in the policy; name an environment variable (passwordEnv) or a file (passwordFile)`);
    checkKeys(a, ['user', 'passwordEnv', 'passwordFile'], `${where}.auth`, fail);
    const user = stringAt(a, 'user', `${where}.auth.user`, fail);
    if (user === undefined || user === '') fail(a, `${where}.auth: user: is missing`);
    const env = stringAt(a, 'passwordEnv', `${where}.auth.passwordEnv`, fail);
    const pf = stringAt(a, 'passwordFile', `${where}.auth.passwordFile`, fail);
    if ((env === undefined) === (pf === undefined)) fail(a, `${where}.auth: give one of passwordEnv or passwordFile`);
    if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) fail(a.get('passwordEnv', true) as YamlNode, `${where}.auth.passwordEnv: ${JSON.stringify(env)} is not an environment variable name`);
    out.auth = { user: user!, ...(env !== undefined ? { passwordEnv: env } : {}), ...(pf !== undefined ? { passwordFile: path.resolve(baseDir, pf) } : {}), node: a };
  }
  const reach = enumAt(m, 'reach', REACH, `${where}.reach`, fail);
  if (reach) {
    out.reach = reach;
    out.reachNode = m.get('reach', true) as YamlNode;
  }
  return out;
}

function mergeExpect(layers: RawExpect[]): RawExpect {
  const out: RawExpect = {};
  for (const l of layers) {
    const { certificate, ...rest } = l;
    Object.assign(out, rest);
    if (certificate) out.certificate = { ...out.certificate, ...certificate };
  }
  return out;
}

/** Checks that need the merged result (a layer may bring the pin another layer's auth relies on). */
function finishExpect(raw: RawExpect, where: string, fail: Fail): Expectations {
  const { auth, reachNode, ...rest } = raw;
  if (raw.reach === 'auth' && !auth) fail(reachNode, `${where}: reach: auth needs an auth: block (user and passwordEnv or passwordFile)`);
  if (auth && !raw.certificate?.pin && !raw.certificate?.ca) {
    fail(auth.node, `${where}: auth: needs certificate.pin or certificate.ca, so the password only goes to a server the policy can verify`);
  }
  const c = raw.certificate;
  if (c?.minDaysValid !== undefined && c.warnDays !== undefined && c.warnDays < c.minDaysValid) fail(null, `${where}: certificate.warnDays (${c.warnDays}) is below minDaysValid (${c.minDaysValid})`);
  return { ...rest, ...(auth ? { auth: { user: auth.user, ...(auth.passwordEnv !== undefined ? { passwordEnv: auth.passwordEnv } : {}), ...(auth.passwordFile !== undefined ? { passwordFile: auth.passwordFile } : {}) } } : {}) };
}

/** "sha256:AB:CD…" → "sha256:abcd…". */
export function normalizePin(pin: string): string {
  return `sha256:${pin.slice(7).replace(/:/g, '').toLowerCase()}`;
}

// --- node helpers ----------------------------------------------------------------------------------------------

function isNode(n: unknown): n is YamlNode {
  return typeof n === 'object' && n !== null && 'range' in n;
}

function kind(n: YamlNode | null | undefined): string {
  if (n === null || n === undefined) return 'nothing';
  if (isMap(n)) return 'a mapping';
  if (isSeq(n)) return 'a list';
  if (isScalar(n)) return n.value === null ? 'nothing' : typeof n.value === 'string' ? `the text ${JSON.stringify(truncate(n.value))}` : `the ${typeof n.value} ${String(n.value)}`;
  return 'an alias';
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function asMap(n: YamlNode, where: string, fail: Fail): YAMLMap<unknown, unknown> {
  if (!isMap(n)) fail(n, `${where}: expected a mapping (key: value), found ${kind(n)}`);
  return n as YAMLMap<unknown, unknown>;
}

function asSeq(n: YamlNode, where: string, fail: Fail): { items: unknown[]; range?: [number, number, number] | null } & YamlNode {
  if (!isSeq(n)) fail(n, `${where}: expected a list (- item), found ${kind(n)}`);
  return n as { items: unknown[] } & YamlNode;
}

function checkKeys(m: YAMLMap<unknown, unknown>, known: string[], where: string, fail: Fail): void {
  for (const p of m.items) {
    const k = isScalar(p.key) ? p.key.value : undefined;
    if (typeof k !== 'string') fail(p.key as YamlNode, `${where}: keys are plain names`);
    if (!known.includes(k as string)) {
      const near = known.find((x) => x.toLowerCase() === (k as string).toLowerCase());
      fail(p.key as YamlNode, `${where}: unknown key ${JSON.stringify(k)}${near ? ` (did you mean ${near}?)` : ''} (known: ${known.join(', ')})`);
    }
  }
}

function enumAt<T extends string>(m: YAMLMap<unknown, unknown>, key: string, values: readonly T[], where: string, fail: Fail): T | undefined {
  const n = m.get(key, true) as YamlNode | undefined;
  if (n === undefined) return undefined;
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(n, `${where}: expected ${values.join(' | ')}, found ${kind(n)}`);
  return v as T;
}

function stringAt(m: YAMLMap<unknown, unknown>, key: string, where: string, fail: Fail): string | undefined {
  const n = m.get(key, true) as YamlNode | undefined;
  if (n === undefined) return undefined;
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== 'string') fail(n, `${where}: expected text, found ${kind(n)}`);
  return v as string;
}

function intAt(n: YamlNode, where: string, min: number, max: number, fail: Fail): number {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(n, `${where}: expected a whole number from ${min} to ${max}, found ${kind(n)}`);
  return v as number;
}

function durationAt(m: YAMLMap<unknown, unknown>, key: string, where: string, fail: Fail): number | undefined {
  const n = m.get(key, true) as YamlNode | undefined;
  if (n === undefined) return undefined;
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v !== 'string' && typeof v !== 'number') fail(n, `${where}: expected a duration (e.g. 5s, 500ms), found ${kind(n)}`);
  try {
    return parseDuration(v as string | number, where);
  } catch (e) {
    return fail(n, (e as Error).message);
  }
}
