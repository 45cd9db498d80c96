/**
 * The exporter's modules, from a YAML file (blackbox_exporter style: a scrape names a module, the module says how
 * to probe). Passwords are never in the file nor in a URL: a module names an environment variable or a file that
 * holds one. An unknown key or a bad value is one error line naming FILE:LINE:COLUMN.
 *
 *   modules:
 *     rdp_nla:
 *       depth: credssp            # tcp | x224 | tls | credssp | auth | session
 *       timeout: 10s              # the whole probe; a lower scrape timeout wins
 *       stageTimeout: 5s
 *       enumerate: true
 *       warnDays: 30
 *     rdp_login:
 *       depth: auth
 *       credentials: { user: 'EXAMPLE\probe', passwordEnv: RDP_PROBE_PW }   # or passwordFile: /etc/…
 *       trust: { pins: ['sha256:…'], ca: ca.pem, insecure: false }
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { PolicyError, readPolicyFile, type PolicyEntry } from '../monitor/policy.js';
import type { Depth } from '../probe/types.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ModuleCredentials {
  user: string;
  domain: string;
  /** Where the password is read from at each probe (so a rotated secret is picked up without a restart). */
  passwordEnv?: string;
  passwordFile?: string;
}

export interface ExporterModule {
  name: string;
  depth: Depth;
  /** Deadline for the whole probe, ms (lowered to the scrape timeout minus the offset). */
  timeoutMs: number;
  /** Deadline per stage, ms (never above the probe's). */
  stageTimeoutMs: number;
  enumerate: boolean;
  legacyTls: boolean;
  warnDays: number;
  credentials?: ModuleCredentials;
  delegate: boolean;
  trust?: { pins?: string[]; insecure?: boolean; caFile?: string; caPem?: string };
  /** A monitoring policy (src/monitor): each target is probed and judged as its entry says. */
  policy?: { file: string; entries: Map<string, PolicyEntry> };
}

/** The key a policy entry is found under: lower-case host, port. */
export function policyKey(host: string, port: number): string {
  return `${host.toLowerCase()}:${port}`;
}

export interface ExporterConfig {
  modules: Map<string, ExporterModule>;
  /** The module a scrape without ?module= gets. */
  defaultModule: string;
}

const DEPTHS: readonly Depth[] = ['tcp', 'x224', 'tls', 'credssp', 'auth', 'session'];
const MODULE_KEYS = ['depth', 'timeout', 'stageTimeout', 'enumerate', 'legacyTls', 'warnDays', 'credentials', 'delegate', 'trust', 'policy'] as const;
const CRED_KEYS = ['user', 'domain', 'passwordEnv', 'passwordFile'] as const;
const TRUST_KEYS = ['pins', 'insecure', 'ca'] as const;
const MODULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const DEFAULT_MODULE = 'rdp';

function baseModule(name: string, over: Partial<ExporterModule> = {}): ExporterModule {
  return { name, depth: 'credssp', timeoutMs: 10_000, stageTimeoutMs: 5_000, enumerate: true, legacyTls: false, warnDays: 30, delegate: false, ...over };
}

/** Without --config: rdp (credssp depth, with enumeration), rdp_tls and rdp_tcp. */
export function builtinConfig(): ExporterConfig {
  const modules = new Map<string, ExporterModule>([
    [DEFAULT_MODULE, baseModule(DEFAULT_MODULE)],
    ['rdp_tls', baseModule('rdp_tls', { depth: 'tls' })],
    ['rdp_tcp', baseModule('rdp_tcp', { depth: 'tcp', enumerate: false })],
  ]);
  return { modules, defaultModule: DEFAULT_MODULE };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv): ExporterConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseConfig(text, { file, env, baseDir: path.dirname(file) });
}

/** Parses and checks the whole file; `env` is only used to check that a passwordEnv is set. */
export function parseConfig(text: string, o: { file?: string; env?: NodeJS.ProcessEnv; baseDir?: string } = {}): ExporterConfig {
  const file = o.file ?? 'config';
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const where = (n: Node | null | undefined, offset?: number): string => {
    const at = offset ?? n?.range?.[0];
    if (at === undefined) return file;
    const p = lc.linePos(at);
    return `${file}:${p.line}:${p.col}`;
  };
  const first = doc.errors[0];
  if (first) {
    const at = first.pos[0];
    throw new ConfigError(`${where(null, at)}: ${first.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigError(`${where(root)}: expected a mapping with a "modules" key`);
  checkKeys(root, ['modules'], 'the top level', where);
  const mods = root.get('modules', true) as Node | undefined;
  if (!isMap(mods) || mods.items.length === 0) throw new ConfigError(`${where(mods ?? root)}: "modules" must map module names to their settings`);
  const modules = new Map<string, ExporterModule>();
  for (const pair of mods.items) {
    const keyNode = pair.key as Node;
    const name = isScalar(keyNode) ? String(keyNode.value) : '';
    if (!MODULE_NAME.test(name)) throw new ConfigError(`${where(keyNode)}: module name ${JSON.stringify(name)}: use letters, digits, _ . - (at most 64)`);
    const body = pair.value as Node | null;
    const m = baseModule(name);
    if (body !== null && body !== undefined && !(isScalar(body) && body.value === null)) {
      if (!isMap(body)) throw new ConfigError(`${where(body)}: module ${name}: expected a mapping of settings`);
      readModule(body, m, where, o);
    }
    modules.set(name, m);
  }
  const firstName = [...modules.keys()][0]!;
  return { modules, defaultModule: modules.has(DEFAULT_MODULE) ? DEFAULT_MODULE : firstName };
}

type Where = (n: Node | null | undefined, offset?: number) => string;

function checkKeys(map: YAMLMap, allowed: readonly string[], what: string, where: Where): void {
  for (const pair of map.items) {
    const k = pair.key as Node;
    const key = isScalar(k) ? String(k.value) : '?';
    if (/^password$/i.test(key)) throw new ConfigError(`${where(k)}: a password never goes in the config: name passwordEnv (an environment variable) or passwordFile`);
    if (!allowed.includes(key)) throw new ConfigError(`${where(k)}: unknown key ${JSON.stringify(key)} in ${what} (known: ${allowed.join(', ')})`);
  }
}

function scalar(map: YAMLMap, key: string): { node: Node; value: unknown } | undefined {
  const node = map.get(key, true) as Node | undefined;
  if (node === undefined) return undefined;
  return { node, value: isScalar(node) ? node.value : undefined };
}

function readModule(body: YAMLMap, m: ExporterModule, where: Where, o: { env?: NodeJS.ProcessEnv; baseDir?: string }): void {
  const what = `module ${m.name}`;
  checkKeys(body, MODULE_KEYS, what, where);
  const bad = (n: Node, msg: string): never => {
    throw new ConfigError(`${where(n)}: ${what}: ${msg}`);
  };
  const depth = scalar(body, 'depth');
  if (depth) {
    if (!DEPTHS.includes(depth.value as Depth)) bad(depth.node, `depth must be one of ${DEPTHS.join(', ')}`);
    m.depth = depth.value as Depth;
  }
  const timeout = scalar(body, 'timeout');
  if (timeout) m.timeoutMs = duration(timeout, 'timeout', bad);
  const stage = scalar(body, 'stageTimeout');
  m.stageTimeoutMs = stage ? duration(stage, 'stageTimeout', bad) : Math.min(m.stageTimeoutMs, m.timeoutMs);
  for (const key of ['enumerate', 'legacyTls', 'delegate'] as const) {
    const v = scalar(body, key);
    if (!v) continue;
    if (typeof v.value !== 'boolean') bad(v.node, `${key} must be true or false`);
    m[key] = v.value as boolean;
  }
  const warn = scalar(body, 'warnDays');
  if (warn) {
    if (typeof warn.value !== 'number' || !Number.isInteger(warn.value) || warn.value < 0 || warn.value > 3650) bad(warn.node, 'warnDays must be a whole number of days from 0 to 3650');
    m.warnDays = warn.value as number;
  }
  if (m.depth === 'tcp') m.enumerate = false;

  const cn = body.get('credentials', true) as Node | undefined;
  if (cn !== undefined) {
    if (!isMap(cn)) return bad(cn, 'credentials must be a mapping (user, domain, passwordEnv or passwordFile)');
    checkKeys(cn, CRED_KEYS, `${what} credentials`, where);
    const text = (k: string): string | undefined => {
      const v = scalar(cn, k);
      if (!v) return undefined;
      if (typeof v.value !== 'string' || v.value === '') bad(v.node, `credentials.${k} must be a non-empty string`);
      return v.value as string;
    };
    const user = text('user');
    if (user === undefined) return bad(cn, 'credentials need a user');
    const domain = text('domain');
    const passwordEnv = text('passwordEnv');
    const passwordFile = text('passwordFile');
    if ((passwordEnv === undefined) === (passwordFile === undefined)) return bad(cn, 'credentials need exactly one of passwordEnv and passwordFile');
    if (passwordEnv !== undefined && o.env && o.env[passwordEnv] === undefined) bad(scalar(cn, 'passwordEnv')!.node, `the environment variable ${passwordEnv} is not set`);
    const split = splitUser(user, domain);
    m.credentials = { ...split, ...(passwordEnv !== undefined ? { passwordEnv } : {}), ...(passwordFile !== undefined ? { passwordFile: resolvePath(passwordFile, o.baseDir) } : {}) };
  }
  if ((m.depth === 'auth') && !m.credentials) bad(body, 'depth auth needs credentials');
  if (m.credentials && m.depth !== 'auth' && m.depth !== 'session') bad(body, 'credentials are used at depth auth or session only');
  if (m.delegate && m.depth !== 'session') bad(body, 'delegate needs depth session');

  const pn = scalar(body, 'policy');
  if (pn) {
    if (typeof pn.value !== 'string' || pn.value === '') return bad(pn.node, 'policy must be the file name of a monitoring policy');
    const file = resolvePath(pn.value, o.baseDir);
    try {
      const policy = readPolicyFile(file);
      m.policy = { file, entries: new Map(policy.entries.map((e) => [policyKey(e.host, e.port), e])) };
    } catch (e) {
      if (e instanceof PolicyError) return bad(pn.node, `policy ${e.message}`);
      throw e;
    }
    if (body.get('depth', true) !== undefined || body.get('credentials', true) !== undefined) bad(body, 'with a policy, its entries decide depth and credentials (auth:); leave depth and credentials out');
  }
  const tn = body.get('trust', true) as Node | undefined;
  if (tn !== undefined) {
    if (!isMap(tn)) return bad(tn, 'trust must be a mapping (pins, ca, insecure)');
    checkKeys(tn, TRUST_KEYS, `${what} trust`, where);
    const trust: NonNullable<ExporterModule['trust']> = {};
    const pins = tn.get('pins', true) as Node | undefined;
    if (pins !== undefined) {
      if (!isSeq(pins)) return bad(pins, 'trust.pins must be a list of sha256:HEX fingerprints');
      trust.pins = pins.items.map((p) => {
        const v = isScalar(p) ? p.value : undefined;
        if (typeof v !== 'string' || !/^sha256:[0-9a-fA-F:]{64,95}$/.test(v)) bad(p as Node, 'each pin is sha256:HEX (64 hex digits)');
        return v as string;
      });
    }
    const insecure = scalar(tn, 'insecure');
    if (insecure) {
      if (typeof insecure.value !== 'boolean') bad(insecure.node, 'trust.insecure must be true or false');
      trust.insecure = insecure.value as boolean;
    }
    const ca = scalar(tn, 'ca');
    if (ca) {
      if (typeof ca.value !== 'string' || ca.value === '') return bad(ca.node, 'trust.ca must be a file name');
      const file = resolvePath(ca.value, o.baseDir);
      let pem: string;
      try {
        pem = fs.readFileSync(file, 'utf8');
      } catch (e) {
        return bad(ca.node, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) bad(ca.node, `${file} holds no PEM certificate`);
      trust.caFile = file;
      trust.caPem = pem;
    }
    m.trust = trust;
  }
}

function resolvePath(p: string, baseDir: string | undefined): string {
  return baseDir && !path.isAbsolute(p) ? path.resolve(baseDir, p) : p;
}

/** "5", "5s", "2.5s", "500ms", "1m", or a YAML number of seconds. */
function duration(v: { node: Node; value: unknown }, key: string, bad: (n: Node, msg: string) => never): number {
  let ms = NaN;
  if (typeof v.value === 'number') ms = Math.round(v.value * 1000);
  else if (typeof v.value === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.value.trim());
    if (m) ms = Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000));
  }
  if (!(ms >= 1 && ms <= 3_600_000)) bad(v.node, `${key} must be a duration from 1ms to 1h (e.g. 5s, 500ms)`);
  return ms;
}

/** "DOMAIN\\user" fills the domain when none is given; "user@domain" stays a UPN, as with the CLI's --user. */
function splitUser(user: string, domain: string | undefined): { user: string; domain: string } {
  if (domain !== undefined) return { user, domain };
  const bs = user.indexOf('\\');
  if (bs > 0) return { domain: user.slice(0, bs), user: user.slice(bs + 1) };
  return { user, domain: '' };
}

const MAX_PASSWORD = 1024;

/** Reads a module's password at probe time. Throws ConfigError (never with the password in it). */
export function readModulePassword(c: ModuleCredentials, env: NodeJS.ProcessEnv): string {
  let raw: string;
  if (c.passwordEnv !== undefined) {
    const v = env[c.passwordEnv];
    if (v === undefined) throw new ConfigError(`the environment variable ${c.passwordEnv} is not set`);
    raw = v;
  } else {
    const file = c.passwordFile ?? '';
    try {
      if (fs.statSync(file).size > MAX_PASSWORD * 4) throw new ConfigError(`${file} is too large to hold a password`);
      raw = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`cannot read the password file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const pw = raw.replace(/\r?\n$/, '');
  if (pw === '') throw new ConfigError('the password is empty');
  return pw;
}

/** The module as shown by debug=true: where the password comes from, never the password. */
export function describeModule(m: ExporterModule): Record<string, unknown> {
  const { trust, policy, ...rest } = m;
  return { ...rest, ...(policy ? { policy: policy.file, policyHosts: policy.entries.size } : {}), ...(trust ? { trust: { ...(trust.pins ? { pins: trust.pins } : {}), ...(trust.insecure !== undefined ? { insecure: trust.insecure } : {}), ...(trust.caFile ? { ca: trust.caFile } : {}) } } : {}) };
}
