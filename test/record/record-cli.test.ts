/**
 * `rdp-probe check --record FILE` in process: the file is written (owner-only) and analyze reads the live verdict
 * back; usage errors for what it does not go with; a recording that would expose the password is not written and
 * the run does not exit 0.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, main } from '../../src/cli/main.js';
import { analyzed } from './helpers.js';
import { memoryIo } from '../helpers/cli-io.js';

const io = (stdin?: string): ReturnType<typeof memoryIo> => memoryIo({ stdin: stdin ?? '' });

const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-record-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('check --record', () => {
  it('writes the file, readable by its owner only; analyze gives the same verdict and stage', async () => {
    const file = join(dir, 'errinfo.pcapng');
    const t = io();
    const code = await main(['check', '--lab', 'errinfo-0x7', '--record', file, '--json'], t.io as never);
    expect(code).toBe(EXIT.FAILED);
    const live = JSON.parse(t.out()) as { verdict: { id: string; stage?: string } };
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const a = analyzed(new Uint8Array(readFileSync(file)));
    expect({ verdict: a.verdict, stage: a.stage }).toEqual({ verdict: live.verdict.id, stage: live.verdict.stage });
    expect(t.err()).toMatch(/recorded \d+ connection\(s\), \d+ bytes, to .*errinfo\.pcapng with the TLS key log/);
    expect(Buffer.from(readFileSync(file)).toString('latin1')).toContain('check --lab errinfo-0x7');
  }, 30_000);

  it('with the lab account delegated under NLA (TSCredentials): written, no password in it, and a note on what it holds', async () => {
    const file = join(dir, 'access-denied.pcapng');
    const t = io();
    await main(['check', '--lab', 'access-denied', '--record', file], t.io as never);
    const bytes = readFileSync(file);
    expect(bytes.includes(Buffer.from('lab-password'))).toBe(false);
    expect(bytes.includes(Buffer.from('lab-password', 'utf16le'))).toBe(false);
    expect(t.err()).toMatch(/NTLMv2 response, not the password\): keep it as you would a password hash/);
  }, 30_000);

  it('refuses to write a recording whose Client Info carried the password, and exits non-zero', async () => {
    const file = join(dir, 'rdp-security.pcapng');
    const t = io('lab-password\n');
    const code = await main(['check', '--lab', 'connects-rdp-security', '--depth', 'session', '--protocols', 'rdp', '--user', 'LAB\\lab', '--password-stdin', '--delegate', '--insecure', '--record', file], t.io as never);
    expect(existsSync(file)).toBe(false);
    expect(t.err()).toMatch(/--record: .* not written: .*Client Info/);
    expect(code).not.toBe(EXIT.OK);
  }, 30_000);

  it('is a usage error with --policy or an empty name', async () => {
    const a = io();
    expect(await main(['check', '127.0.0.1', '--record', '', ], a.io as never)).toBe(EXIT.USAGE);
    expect(a.err()).toMatch(/--record needs a file name/);
    const b = io();
    expect(await main(['check', '127.0.0.1', '--make-policy', '--record', join(dir, 'x.pcapng')], b.io as never)).toBe(EXIT.USAGE);
    expect(b.err()).toMatch(/--record goes with a plain check/);
  });
});
