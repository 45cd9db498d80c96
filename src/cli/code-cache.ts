/**
 * Runs the bundled CLI (dist/cli-main.cjs, one CommonJS file) from V8's code cache (dist/cli-main.cache).
 *
 * Why: on Node 20 an ES module cannot be compiled from a code cache (module.enableCompileCache came in Node 22),
 * and compiling is a good part of a short run: the source of every module a run touches is parsed, then each
 * function again when it first runs. A classic script can take a cache, and a cache made after a run holds the
 * compiled code of every function that run called. scripts/build.mjs makes the cache with a check against the
 * embedded lab; a run here deserialises it instead of compiling (about 12 ms off a closed-port check, 35 ms off a
 * live one). Modules behind an import() are still evaluated only when a run needs them (esbuild wraps each in an
 * init function); V8 compiles nothing until it is called.
 *
 * V8 rejects a cache made by another V8 version or with other V8 flags; the script then compiles as usual. When
 * the cache is missing or rejected and the run has no V8-relevant flags, a fresh cache is written beside the
 * bundle at exit (to a temporary name, then renamed, so concurrent runs never see half a file); a directory we
 * cannot write is left alone.
 */
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** What the bundle exports. */
export interface BundledCli {
  runAsProcess(argv?: string[]): Promise<void>;
}

/** scripts/build.mjs sets it: 1 for its warm-up run (write the cache at exit in any case), 0 for the lab it probes (never). */
export const WRITE_CACHE_ENV = 'RDP_PROBE_WRITE_CODE_CACHE';

/** Loads `bundle` (an absolute path to the CommonJS bundle) with its code cache, or returns undefined if it is absent. */
export function loadBundledCli(bundle: string, env: NodeJS.ProcessEnv = process.env): BundledCli | undefined {
  let source: string;
  try {
    // esbuild writes ASCII only (it escapes the rest; scripts/build.mjs checks): latin1 reads the same text 10x
    // faster than utf8 (0.3 against 4.5 ms for 2.3 MB).
    source = fs.readFileSync(bundle, 'latin1');
  } catch {
    return undefined;
  }
  const cacheFile = bundle.replace(/\.cjs$/, '.cache');
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The same wrapper as Node's own CommonJS loader, plus the bundle's import.meta.url (esbuild's define).
  const wrapped = `(function (exports, require, module, __filename, __dirname, __rdpImportMetaUrl) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  const accepted = cachedData !== undefined && !script.cachedDataRejected;
  const asked = env[WRITE_CACHE_ENV];
  if (asked === '1' || (asked !== '0' && !accepted && process.execArgv.length === 0 && !env['NODE_OPTIONS'])) {
    process.once('exit', () => writeCache(script, cacheFile));
  }
  const fn = script.runInThisContext() as (...a: unknown[]) => void;
  const mod = { exports: {} as BundledCli };
  fn(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle), pathToFileURL(bundle).href);
  return mod.exports;
}

function writeCache(script: vm.Script, cacheFile: string): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {
    // A read-only install: every run compiles, as it would without a cache.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing to clean */
    }
  }
}
