/** A trust-on-first-use store: one "HOST:PORT sha256:HEX" line per server, like ssh's known_hosts. */
import fs from 'node:fs';
import type { KnownHostsStore } from '../transport/drive.js';
import { UsageError } from './target.js';

export function openKnownHosts(file: string): KnownHostsStore {
  const entries = new Map<string, string>();
  if (fs.existsSync(file)) {
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
