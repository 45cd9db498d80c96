/** A trust-on-first-use store: one "HOST:PORT sha256:HEX" line per server, like ssh's known_hosts. */
import fs from 'node:fs';
import path from 'node:path';
import type { KnownHostsStore } from '../transport/drive.js';
import { UsageError } from './target.js';

/**
 * Opens the store; every reason it could not be read now or written later (a missing directory, a file that is
 * not readable or writable) is a UsageError before any probe: failing at the first new host would lose trust.
 */
export function openKnownHosts(file: string): KnownHostsStore {
  const entries = new Map<string, string>();
  const code = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? String(e);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`--known-hosts ${file}: ${code(e)}`);
  }
  if (st) {
    if (!st.isFile()) throw new UsageError(`--known-hosts ${file} is not a file`);
    try {
      fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
    } catch (e) {
      throw new UsageError(`--known-hosts ${file} must be readable and writable: ${code(e)}`);
    }
  } else {
    const dir = path.dirname(path.resolve(file));
    let dirSt: fs.Stats;
    try {
      dirSt = fs.statSync(dir);
    } catch (e) {
      throw new UsageError(`--known-hosts ${file}: its directory ${dir} does not exist (${code(e)})`);
    }
    if (!dirSt.isDirectory()) throw new UsageError(`--known-hosts ${file}: ${dir} is not a directory`);
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch (e) {
      throw new UsageError(`--known-hosts ${file}: cannot create it in ${dir} (${code(e)})`);
    }
  }
  if (st) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --known-hosts ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let n = 0;
    for (const raw of text.split('\n')) {
      n++;
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = /^(\S+)\s+(sha256:[0-9a-f]{64})$/i.exec(line);
      if (!m) throw new UsageError(`--known-hosts ${file}:${n}: expected "HOST:PORT sha256:HEX"`);
      entries.set(m[1]!, m[2]!.toLowerCase());
    }
  }
  return {
    lookup: (hostPort) => entries.get(hostPort),
    remember: (hostPort, fp) => {
      entries.set(hostPort, fp);
      fs.appendFileSync(file, `${hostPort} ${fp}\n`, { mode: 0o600 });
    },
  };
}
