/**
 * The layering the design rests on, checked on the source text: the protocol layer and the connectors are pure
 * (no sockets, files, timers, clocks, randomness or logger: the drivers bring those in), and nothing outside
 * src/cli imports src/cli.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const importsOf = (text: string): string[] => [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2] ?? '');
/** Source without comments, so a doc comment that names setTimeout does not count. */
const code = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

const FORBIDDEN_MODULES = /^(node:)?(net|tls|dns|fs|fs\/promises|dgram|child_process|http|https|timers|timers\/promises|worker_threads)$|^pino$/;
const FORBIDDEN_CALLS = /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random|randomBytes|process\.)/;

describe('architecture', () => {
  for (const layer of ['protocol', 'connector']) {
    it(`src/${layer} imports no socket, file, timer, clock, randomness or logger, and no transport`, () => {
      const bad: string[] = [];
      for (const f of files(join(ROOT, layer))) {
        const text = readFileSync(f, 'utf8');
        for (const m of importsOf(text)) if (FORBIDDEN_MODULES.test(m) || /\/transport\//.test(m) || /\/cli\//.test(m)) bad.push(`${relative(ROOT, f)} imports ${m}`);
        const hit = FORBIDDEN_CALLS.exec(code(text));
        if (hit) bad.push(`${relative(ROOT, f)} calls ${hit[1]}`);
      }
      expect(bad).toEqual([]);
    });
  }

  it('nothing outside src/cli imports src/cli', () => {
    const bad: string[] = [];
    for (const f of files(ROOT)) {
      if (relative(ROOT, f).startsWith('cli/')) continue;
      for (const m of importsOf(readFileSync(f, 'utf8'))) if (/(^|\/)cli\//.test(m)) bad.push(`${relative(ROOT, f)} imports ${m}`);
    }
    expect(bad).toEqual([]);
  });

  it('the guard sees imports at all (a check that could not fail would prove nothing)', () => {
    expect(importsOf(`import { x } from 'node:net';\nexport { y } from '../cli/z.js';\nconst m = await import('./heavy.js');`)).toEqual(['node:net', '../cli/z.js', './heavy.js']);
    expect(FORBIDDEN_CALLS.test(code('const t = setTimeout(f, 1);'))).toBe(true);
    expect(FORBIDDEN_CALLS.test(code('/** setTimeout is the driver\'s */ const a = 1;'))).toBe(false);
  });
});
