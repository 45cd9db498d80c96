/**
 * Credentials come from stdin, a file or a named environment variable, never from argv (argv is visible to every
 * user of the machine through ps and /proc).
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { UsageError } from './target.js';

export interface PasswordSource {
  stdin?: boolean;
  file?: string;
  env?: string;
}

const MAX_PASSWORD = 1024;

export async function readPassword(src: PasswordSource, env: NodeJS.ProcessEnv, stdin: Readable | undefined): Promise<string> {
  const given = [src.stdin, src.file !== undefined, src.env !== undefined].filter(Boolean).length;
  if (given === 0) throw new UsageError('a password is needed: give --password-stdin, --password-file FILE or --password-env NAME (never on the command line)');
  if (given > 1) throw new UsageError('give only one of --password-stdin, --password-file, --password-env');
  let raw: string;
  if (src.env !== undefined) {
    const v = env[src.env];
    if (v === undefined) throw new UsageError(`--password-env ${src.env}: that environment variable is not set`);
    raw = v;
  } else if (src.file !== undefined) {
    try {
      const st = fs.statSync(src.file);
      if (!st.isFile()) throw new UsageError(`--password-file ${src.file} is not a file`);
      if (st.size > MAX_PASSWORD * 4) throw new UsageError(`--password-file ${src.file} is too large to hold a password`);
      raw = fs.readFileSync(src.file, 'utf8');
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`cannot read --password-file ${src.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  } else {
    if (!stdin) throw new UsageError('--password-stdin: no standard input');
    raw = await readAll(stdin, MAX_PASSWORD * 4);
  }
  const pw = raw.replace(/\r?\n$/, '');
  if (pw.length === 0) throw new UsageError('the password is empty');
  if (pw.length > MAX_PASSWORD) throw new UsageError('the password is too long');
  return pw;
}

function readAll(stream: Readable, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    stream.on('data', (d: Buffer | string) => {
      const b = typeof d === 'string' ? Buffer.from(d) : d;
      n += b.length;
      if (n > max) {
        stream.destroy();
        reject(new UsageError('--password-stdin: too much input for a password'));
        return;
      }
      parts.push(b);
    });
    stream.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    stream.once('error', (e) => reject(new UsageError(`--password-stdin: ${e.message}`)));
  });
}

/** "DOMAIN\\user" or "user@domain" in --user fills the domain when --domain is absent. */
export function splitUser(user: string, domain: string | undefined): { user: string; domain: string } {
  if (domain !== undefined) return { user, domain };
  const bs = user.indexOf('\\');
  if (bs > 0) return { domain: user.slice(0, bs), user: user.slice(bs + 1) };
  return { user, domain: '' };
}
