/** The CLI's io for an in-process main(): stdout and stderr kept in memory, optional env, stdin text and signals. */
import type { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';

export function memoryIo(o: { env?: NodeJS.ProcessEnv; stdin?: string; signals?: EventEmitter } = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  let errText = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  let stdin: PassThrough | undefined;
  if (o.stdin !== undefined) {
    stdin = new PassThrough();
    stdin.end(o.stdin);
  }
  return {
    io: { stdout: out as PassThrough & { isTTY?: boolean }, stderr: err, env: o.env ?? {}, ...(stdin ? { stdin } : {}), ...(o.signals ? { signals: o.signals } : {}) },
    out: () => text,
    err: () => errText,
  };
}
