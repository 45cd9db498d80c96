/**
 * Issue #11 item 2: scan results go out in batches with back-pressure. A reader that stops reading makes the scan
 * wait once about a MiB is queued in the stream (it never grows without bound), and nothing is lost or changed:
 * once the reader reads again every line arrives, in order within each batch, each the JSON.stringify of a report.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { closedPort } from '../helpers/ports.js';

/** A stdout whose writes complete only while `open`; it records the bytes. */
class Gate extends Writable {
  open = false;
  readonly chunks: Buffer[] = [];
  private held: (() => void)[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error) => void): void {
    this.chunks.push(Buffer.from(chunk));
    if (this.open) done();
    else this.held.push(() => done());
  }
  release(): void {
    this.open = true;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
}

describe('scan output batches', () => {
  it('a reader that stops reading holds the scan at about a MiB queued; when it reads again every line arrives intact', async () => {
    const port = await closedPort();
    const out = new Gate();
    const err = new Writable({ write: (_c, _e, done) => done() });
    // 2048 closed ports: about 3.5 MB of NDJSON, three times what may wait in the stream.
    const run = main(['scan', `127.0.8.0/21:${port}`, '--no-enumerate', '-c', '64', '-o', 'ndjson'], { stdout: out, stderr: err, env: {} });
    // Let it run into the gate: it must stop well short of the whole output.
    // (until what is queued has stopped growing for 300 ms; 10 s at most)
    let last = -1;
    let still = 0;
    for (let i = 0; i < 500 && still < 15; i++) {
      await new Promise((r) => setTimeout(r, 20));
      still = out.writableLength > 0 && out.writableLength === last ? still + 1 : 0;
      last = out.writableLength;
    }
    // Held: more than the MiB it may queue before it waits, and far from the whole output.
    const queued = out.writableLength;
    expect(queued).toBeGreaterThan(1024 * 1024);
    expect(queued).toBeLessThan(1024 * 1024 + 2 * 64 * 1024);
    out.release();
    expect(await run).toBe(0);
    const lines = Buffer.concat(out.chunks).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(2048);
    const hosts = new Set<string>();
    for (const l of lines) {
      const r = JSON.parse(l) as { target: { host: string }; verdict: { id: string } };
      // Byte for byte the report's JSON.stringify (key order included).
      expect(JSON.stringify(r)).toBe(l);
      expect(r.verdict.id).toBe('port_closed');
      hosts.add(r.target.host);
    }
    expect(hosts.size).toBe(2048);
  }, 60_000);
});
