import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinConfig, ConfigError, describeModule, loadConfigFile, parseConfig, readModulePassword } from '../../src/exporter/config.js';
import { generateCert } from '../../src/lab/certs.js';
import { testTempDir } from '../helpers/temp-dir.js';

const err = (text: string, env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseConfig(text, { file: 'x.yml', env });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('exporter config', () => {
  it('reads modules with their settings; defaults fill the rest', () => {
    const c = parseConfig('modules:\n  quick:\n    depth: tls\n    timeout: 2.5s\n    enumerate: false\n  rdp:\n');
    expect(c.defaultModule).toBe('rdp');
    expect(c.modules.get('quick')).toMatchObject({ depth: 'tls', timeoutMs: 2500, stageTimeoutMs: 2500, enumerate: false, warnDays: 30 });
    expect(c.modules.get('rdp')).toMatchObject({ depth: 'credssp', timeoutMs: 10_000 });
    expect(builtinConfig().modules.get('rdp_tcp')).toMatchObject({ depth: 'tcp', enumerate: false });
  });

  it('one error line naming file, line and column for an unknown key, a bad value, a password in the file', () => {
    expect(err('modules:\n  a:\n    depht: tls\n')).toBe('x.yml:3:5: unknown key "depht" in module a (known: depth, timeout, stageTimeout, enumerate, legacyTls, warnDays, credentials, delegate, trust, policy)');
    expect(err('modules:\n  a:\n    depth: deep\n')).toMatch(/^x\.yml:3:12: module a: depth must be one of tcp, x224/);
    expect(err('modules:\n  a:\n    timeout: soon\n')).toMatch(/^x\.yml:3:14: module a: timeout must be a duration/);
    expect(err('modules:\n  a:\n    depth: auth\n    credentials:\n      user: u\n      password: hunter2\n')).toMatch(/^x\.yml:6:7: a password never goes in the config/);
    expect(err('modules:\n  a:\n    depth: auth\n    credentials: { user: u, passwordEnv: NOPE }\n')).toMatch(/^x\.yml:4:\d+: module a: the environment variable NOPE is not set/);
    expect(err('modules:\n  a:\n    depth: auth\n')).toMatch(/depth auth needs credentials/);
    expect(err('modules: [a, b]\n')).toMatch(/^x\.yml:1:10: "modules" must map/);
    expect(err('modules:\n  a: {depth: tls\n')).toMatch(/^x\.yml:\d+:\d+: /);
    expect(err('mods: {}\n')).toMatch(/^x\.yml:1:1: unknown key "mods"/);
    expect(err('modules:\n  a:\n    trust: { pins: [abc] }\n')).toMatch(/^x\.yml:3:21: module a: each pin is sha256:HEX/);
  });

  it('a password comes from the environment or a file at probe time, and debug shows only where from', () => {
    const dir = testTempDir('rdp-probe-exporter-');
    writeFileSync(join(dir, 'pw'), 'S3cret-from-file\n');
    const cert = generateCert({ commonName: 'lab-ca', isCa: true, keyName: 'exporter-ca' });
    writeFileSync(join(dir, 'ca.pem'), cert.certPem);
    const file = join(dir, 'exporter.yml');
    writeFileSync(file, 'modules:\n  a:\n    depth: auth\n    credentials: { user: "EX\\\\probe", passwordFile: pw }\n    trust: { ca: ca.pem }\n  b:\n    depth: session\n    delegate: true\n    credentials: { user: probe@ex, passwordEnv: PW }\n');
    const c = loadConfigFile(file, { PW: 'from-env' });
    const a = c.modules.get('a')!;
    expect(a.credentials).toEqual({ user: 'probe', domain: 'EX', passwordFile: join(dir, 'pw') });
    expect(readModulePassword(a.credentials!, {})).toBe('S3cret-from-file');
    expect(a.trust?.caPem).toContain('-----BEGIN CERTIFICATE-----');
    expect(readModulePassword(c.modules.get('b')!.credentials!, { PW: 'rotated' })).toBe('rotated');
    expect(() => readModulePassword(c.modules.get('b')!.credentials!, {})).toThrow(/PW is not set/);
    const shown = JSON.stringify([describeModule(a), describeModule(c.modules.get('b')!)]);
    expect(shown).not.toMatch(/S3cret|from-env|BEGIN CERTIFICATE/);
    expect(shown).toContain('"passwordEnv":"PW"');
  });
});
