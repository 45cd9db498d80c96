/**
 * The bin's own answers (src/cli/bin.ts): `--version` and `--help` without loading yargs or the CLI, from the help
 * text scripts/build.mjs rendered with yargs from the same build. They must be what yargs itself prints: checked
 * against the same bundle with its cli-help.json removed (yargs then renders it), on a pipe and on a wide terminal.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quickAnswer } from '../../src/cli/quick-answer.js';
import { startLab } from '../../src/lab/server.js';
import { VERSION } from '../../src/version.js';
import { buildCli, runShell } from './built-cli.js';

let cli = '';
beforeAll(() => {
  cli = buildCli();
}, 180_000);

/** A JSON report with what differs from run to run (times, the local port) zeroed. */
const strip = (t: string): unknown => JSON.parse(t, (k, v: unknown) => (['startedAt', 'durationMs', 'startMs', 'localPort'].includes(k) ? 0 : v));

const WIDE = `--import 'data:text/javascript,Object.defineProperty(process.stdout,"columns",{value:200})'`;

describe('the built bin', () => {
  it('answers --version and --help exactly as yargs does, at both widths', async () => {
    const quick = { version: await runShell(`node "$CLI" --version`, cli), help: await runShell(`node "$CLI" --help`, cli), wide: await runShell(`node ${WIDE} "$CLI" --help`, cli) };
    const file = join(dirname(cli), 'cli-help.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: string; help: Record<string, string> };
    expect(saved.version).toBe(VERSION);
    expect(Object.keys(saved.help).sort()).toEqual(['100', '110']);
    renameSync(file, `${file}.away`);
    try {
      const slow = { version: await runShell(`node "$CLI" --version`, cli), help: await runShell(`node "$CLI" --help`, cli), wide: await runShell(`node ${WIDE} "$CLI" --help`, cli) };
      for (const k of ['version', 'help', 'wide'] as const) {
        expect(quick[k].code).toBe(0);
        expect(slow[k].code).toBe(0);
        expect(quick[k].stderr).toBe('');
        expect(quick[k].stdout).toBe(slow[k].stdout);
      }
    } finally {
      renameSync(`${file}.away`, file);
    }
    expect(quick.version.stdout).toBe(`${VERSION}\n`);
    expect(quick.help.stdout).toContain('rdp-probe check [target]');
    // The two widths really differ (a wide terminal gets 110 columns, a pipe 100).
    expect(quick.wide.stdout).not.toBe(quick.help.stdout);
    expect(Math.max(...quick.wide.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(100);
    expect(Math.max(...quick.help.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
  }, 60_000);

  it('a command after --help, or a check, still goes to the CLI proper', async () => {
    const r = await runShell(`node "$CLI" explain --help`, cli);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rdp-probe explain <codes..>');
  });
});

describe('what loading the CLI costs', () => {
  // Counts Intl.Segmenter constructions (ICU segmentation data, 7-9 ms) and prints the count on exit.
  const COUNT = `--import 'data:text/javascript,const S=Intl.Segmenter;let n=0;Intl.Segmenter=class extends S{constructor(...a){super(...a);n++}};process.on("exit",()=>process.stderr.write("segmenters="+n+"\\n"))'`;
  it('a check makes no Intl.Segmenter (string-width makes its own on first use); a help text that wraps does', async () => {
    const check = await runShell(`node ${COUNT} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
    expect(check.stdout).toContain('tcp');
    expect(check.stderr).toContain('segmenters=0');
    const help = await runShell(`node ${COUNT} "$CLI" check --help`, cli);
    expect(help.code).toBe(0);
    expect(help.stderr).toMatch(/segmenters=[1-9]/);
  });
  it("string-width's RGI_Emoji pattern (10 ms to expand) is made on first use, not at import", () => {
    const bundle = readFileSync(join(dirname(cli), 'cli-main.cjs'), 'latin1');
    expect(bundle).toContain('RGI_Emoji');
    expect(bundle).not.toMatch(/=\/\^\\p\{RGI_Emoji\}\$\/v/);
    expect(bundle).toMatch(/\?\?=new RegExp\("\^\\\\p\{RGI_Emoji\}\$","v"\)/);
  });
});

describe('what a run loads', () => {
  // The builtins a run loaded, printed on exit (process.moduleLoadList).
  const LOADED = `--import 'data:text/javascript,process.on("exit",()=>process.stderr.write("loaded="+process.moduleLoadList.filter(x=>x.startsWith("NativeModule ")).map(x=>x.slice(13)).join(" ")+" \\n"))'`;
  it('a closed port loads neither TLS nor crypto; a check that reaches TLS loads both', async () => {
    const closed = await runShell(`node ${LOADED} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
    expect(closed.stderr).toMatch(/loaded=.* net /);
    expect(closed.stderr).not.toMatch(/ (tls|_tls_wrap|crypto) /);
    const tls = await runShell(`node ${LOADED} "$CLI" check --lab connects --timeout 5s`, cli);
    expect(tls.stderr).toMatch(/ tls /);
    expect(tls.stderr).toMatch(/ crypto /);
  }, 60_000);
});

describe('scan output through a real stdout (the batch buffer is refilled once stdout has taken a write)', () => {
  // 512 records of ~1.7 KB: the 64 KiB buffer is filled and written a dozen times over.
  const check = (stdout: string): void => {
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(512);
    const hosts = new Set<string>();
    for (const l of lines) {
      const r = JSON.parse(l) as { target: { host: string; port: number }; verdict: { id: string; summary: string } };
      expect(JSON.stringify(r)).toBe(l);
      expect(r.verdict.id).toBe('port_closed');
      expect(r.verdict.summary).toContain(`${r.target.host}:1 refused`);
      hosts.add(r.target.host);
    }
    expect(hosts.size).toBe(512);
  };
  it('to a pipe, and to a pipe read slowly', async () => {
    check((await runShell(`node "$CLI" scan 127.0.4.0/23 -p 1 --timeout 2s 2>/dev/null`, cli)).stdout);
    check((await runShell(`node "$CLI" scan 127.0.4.0/23 -p 1 --timeout 2s 2>/dev/null | (sleep 0.5; cat)`, cli)).stdout);
  }, 60_000);
  it('to a file', async () => {
    const file = join(dirname(cli), 'scan-out.ndjson');
    await runShell(`node "$CLI" scan 127.0.4.0/23 -p 1 --timeout 2s > "${file}" 2>/dev/null`, cli);
    check(readFileSync(file, 'utf8'));
  }, 60_000);
});

describe('dist/cli.mjs, the bin before it was CommonJS', () => {
  it('forwards to cli.cjs (npx keeps links to it in its cache after an upgrade)', async () => {
    const old = join(dirname(cli), 'cli.mjs');
    const v = await runShell(`node "${old}" --version`, cli);
    expect(v.stdout).toBe(`${VERSION}\n`);
    const a = await runShell(`node "${old}" check 127.0.0.1:1 --timeout 2s --json`, cli);
    const b = await runShell(`node "$CLI" check 127.0.0.1:1 --timeout 2s --json`, cli);
    expect(a.code).toBe(b.code);
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
  });
});

describe('the code cache (src/cli/code-cache.ts)', () => {
  // Reports, for each vm.Script the bin makes, whether it was given a cache and whether V8 took it.
  let WATCH = '';
  beforeAll(() => {
    const hook = join(dirname(cli), 'watch-vm.mjs');
    writeFileSync(
      hook,
      'import vm from "node:vm";\nconst S = vm.Script;\nvm.Script = class extends S {\n  constructor(c, o) {\n    super(c, o);\n    process.stderr.write(`cache=${o && o.cachedData ? (this.cachedDataRejected ? "rejected" : "accepted") : "none"}\\n`);\n  }\n};\n',
    );
    WATCH = `--import "${hook}"`;
  });
  const cacheOf = (): string => join(dirname(cli), 'cli-main.cache');
  it('the build made one and a run takes it', async () => {
    expect(readFileSync(cacheOf()).length).toBeGreaterThan(100_000);
    const r = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
    expect(r.stderr).toContain('cache=accepted');
    expect(r.stdout).toContain('refused the connection');
  });
  it('a missing or damaged cache: the run compiles, gives the same report, and leaves a cache the next run takes', async () => {
    const plain = await runShell(`node "$CLI" check 127.0.0.1:1 --timeout 2s --json`, cli);
    const saved = readFileSync(cacheOf());
    try {
      rmSync(cacheOf());
      const none = await runShell(`node "$CLI" check 127.0.0.1:1 --timeout 2s --json`, cli);
      expect(strip(none.stdout)).toEqual(strip(plain.stdout));
      expect(existsSync(cacheOf())).toBe(true);
      const next = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
      expect(next.stderr).toContain('cache=accepted');
      // Bytes that are not a cache of this script: V8 refuses them, the run is the same, and a good cache replaces them.
      writeFileSync(cacheOf(), Buffer.alloc(saved.length, 7));
      const bad = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s --json`, cli);
      expect(bad.stderr).toContain('cache=rejected');
      expect(strip(bad.stdout)).toEqual(strip(plain.stdout));
      const healed = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
      // The run with --import (a flag) did not write; the cache is still the bad one until a run without flags.
      expect(healed.stderr).toContain('cache=rejected');
      await runShell(`node "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
      const after = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
      expect(after.stderr).toContain('cache=accepted');
    } finally {
      writeFileSync(cacheOf(), saved);
    }
  }, 60_000);
  it("already holds what a check of a server that speaks TLS and standard RDP security compiles (the build's warm-up)", async () => {
    // A copy of the bundle with its cache: a check there that writes its cache at exit must add little to it. When the
    // warm-up checks had died before probing (exit 2), the build's cache held start-up alone and such a check doubled
    // it, compiling the TLS, certificate, MCS and enumeration code on every run.
    const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-cache-'));
    const lab = await startLab({ scenarios: ['connects', 'connects-rdp-security'] });
    try {
      for (const f of ['cli.cjs', 'cli-main.cjs', 'cli-main.cache', 'cli-help.json']) copyFileSync(join(dirname(cli), f), join(dir, f));
      const before = statSync(join(dir, 'cli-main.cache')).size;
      for (const scenario of ['connects', 'connects-rdp-security']) {
        const r = await runShell(`node "$CLI" check 127.0.0.1:${lab.ports[scenario]} --timeout 5s --json`, join(dir, 'cli.cjs'), 60_000, { RDP_PROBE_WRITE_CODE_CACHE: '1' });
        expect(r.code, r.stderr).toBeLessThan(2);
        expect(JSON.parse(r.stdout)).toHaveProperty('enumeration');
      }
      const after = statSync(join(dir, 'cli-main.cache')).size;
      expect(after / before).toBeLessThan(1.1);
    } finally {
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
  it('a scan (which tunes the heap while it runs, src/cli/heap-tuning.ts) writes a cache that the next run takes', async () => {
    const saved = readFileSync(cacheOf());
    try {
      rmSync(cacheOf());
      const scan = await runShell(`node "$CLI" scan 127.0.0.1 -p 1 --timeout 2s`, cli);
      expect(scan.stdout).toContain('"port_closed"');
      expect(existsSync(cacheOf())).toBe(true);
      const next = await runShell(`node ${WATCH} "$CLI" check 127.0.0.1:1 --timeout 2s`, cli);
      expect(next.stderr).toContain('cache=accepted');
    } finally {
      writeFileSync(cacheOf(), saved);
    }
  }, 60_000);
});

describe('quickAnswer', () => {
  const help = JSON.stringify({ version: VERSION, help: { '100': 'narrow\n', '110': 'wide\n' } });
  it('answers only a lone --version or --help', () => {
    expect(quickAnswer(['--version'], undefined, () => help)).toBe(`${VERSION}\n`);
    expect(quickAnswer(['--help'], undefined, () => help)).toBe('narrow\n');
    expect(quickAnswer(['--help'], 80, () => help)).toBeUndefined();
    expect(quickAnswer(['--help'], 300, () => help)).toBe('wide\n');
    expect(quickAnswer(['check', '--help'], undefined, () => help)).toBeUndefined();
    expect(quickAnswer([], undefined, () => help)).toBeUndefined();
  });
  it('leaves a stale, broken or missing help file to yargs', () => {
    expect(quickAnswer(['--help'], undefined, () => JSON.stringify({ version: '0.0.0-old', help: { '100': 'old\n' } }))).toBeUndefined();
    expect(quickAnswer(['--help'], undefined, () => '{')).toBeUndefined();
    expect(
      quickAnswer(['--help'], undefined, () => {
        throw Object.assign(new Error('no file'), { code: 'ENOENT' });
      }),
    ).toBeUndefined();
  });
});
