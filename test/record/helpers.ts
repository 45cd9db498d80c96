/**
 * Shared by the --record tests: a probe with a recorder, tshark as an independent reader of the file (Debian
 * tshark; missing locally it skips with a notice, missing in CI it fails), and the checks every recording gets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { analyzeCapture } from '../../src/pcap/analyze.js';
import { PcapngRecorder } from '../../src/probe/recorder.js';
import { runProbe, type ProbeOptions } from '../../src/probe/run.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { inCI } from '../servers/support.js';

export interface Recorded {
  report: ProbeReport;
  recorder: PcapngRecorder;
  bytes: Uint8Array;
  file: string;
}

/**
 * Made on the first recordProbe() only (importers that just read files back need none), and removed after the
 * importing test file: vitest runs this module's top level while it collects that file (each file gets its own
 * copy of the module), so the afterAll below belongs to the file's root suite.
 */
let dir: string | undefined;
afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

export async function recordProbe(name: string, target: { host: string; port: number }, opts: Partial<ProbeOptions>): Promise<Recorded> {
  const recorder = new PcapngRecorder({ tool: 'rdp-probe', version: 'test', target: `${target.host}:${target.port}` });
  const report = await runProbe(target, { ...opts, capture: recorder });
  const bytes = recorder.toPcapng();
  dir ??= mkdtempSync(join(tmpdir(), 'rdp-probe-record-'));
  const file = join(dir, `${name}.pcapng`);
  writeFileSync(file, bytes);
  return { report, recorder, bytes, file };
}

/** The first connection's verdict as analyze reads the file back. */
export function analyzed(bytes: Uint8Array): { verdict: string; stage: string | undefined; report: ProbeReport; json: string; connections: number; secrets: number | undefined } {
  const a = analyzeCapture(bytes);
  const r = a.connections[0]!.report;
  return { verdict: r.verdict.id, stage: r.verdict.stage, report: r, json: JSON.stringify(a), connections: a.connections.length, secrets: a.embeddedSecrets };
}

let tsharkPresent: boolean | undefined;
/** Whether tshark can run; in CI its absence is an error, locally a visible skip. */
export function haveTshark(): boolean {
  if (tsharkPresent === undefined) {
    try {
      execFileSync('tshark', ['--version'], { stdio: 'ignore', timeout: 20_000 });
      tsharkPresent = true;
    } catch {
      tsharkPresent = false;
    }
    if (!tsharkPresent) {
      if (inCI()) throw new Error('tshark is missing in CI (apt-get install tshark)');
      process.stderr.write('\nSKIPPING tshark checks of --record files: tshark not installed (apt-get install tshark)\n\n');
    }
  }
  return tsharkPresent;
}

/**
 * tshark on the file with TLS on `port` and TPKT inside it (Debian's tshark 4.0 does not follow the X.224 switch
 * to TLS by itself, even on 3389, and the lab's ports are not 3389); the secrets come only from the file's
 * Decryption Secrets Block: no key log option is given.
 */
export function tshark(file: string, port: number, args: string[]): string {
  const decodeAs = ['-d', `tcp.port==${port},tls`, '-d', `tls.port==${port},tpkt`];
  return execFileSync('tshark', ['-n', '-r', file, ...decodeAs, ...args], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Every encoding of the password the file or a reader's output must not hold. */
export function passwordForms(password: string): string[] {
  const hex = Buffer.from(password, 'utf8').toString('hex');
  const u16 = Buffer.from(password, 'utf16le');
  return [password, u16.toString('latin1'), hex, hex.toUpperCase(), u16.toString('hex'), u16.toString('hex').toUpperCase(), hex.replace(/(..)(?!$)/g, '$1:'), u16.toString('hex').replace(/(..)(?!$)/g, '$1:')];
}
