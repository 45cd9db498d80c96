/** Issue #7 item 8: --open, table cells cut on a word boundary, the summary after --resume. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ReportBuilder } from '../../src/probe/report-builder.js';
import { encodeConnectionConfirm } from '../../src/protocol/x224.js';
import { encodeNegFailure } from '../../src/protocol/nego.js';
import { cutCell, formatTable } from '../../src/report/rows.js';
import { startScripted, type ScriptedServer } from '../helpers/scripted-server.js';
import { memoryIo } from '../helpers/cli-io.js';
import { testTempDir } from '../helpers/temp-dir.js';

const io = (): ReturnType<typeof memoryIo> => memoryIo();

let peer: ScriptedServer;
beforeAll(async () => {
  peer = await startScripted((s) => s.end(Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, neg: encodeNegFailure({ flags: 0, failureCode: 5 }) }))), { host: '127.0.0.221' });
});
afterAll(() => peer.close());

describe('scan --open', () => {
  it('hides port_closed (and filtered/unreachable/dns_failure) targets from every format; the summary counts them', async () => {
    const range = `127.0.0.220-127.0.0.223:${peer.port}`;
    for (const fmt of ['ndjson', 'csv', 'json', 'table']) {
      const t = io();
      expect(await main(['scan', range, '--depth', 'x224', '--no-enumerate', '-o', fmt, '--open'], t.io)).toBe(0);
      const out = t.out();
      expect(out).toContain('127.0.0.221');
      for (const h of ['127.0.0.220', '127.0.0.222', '127.0.0.223']) expect(out).not.toContain(h);
      expect(t.err()).toMatch(/scanned 4 target\(s\)/);
      expect(t.err()).toMatch(/port_closed 3/);
    }
    const all = io();
    await main(['scan', range, '--depth', 'x224', '--no-enumerate', '-o', 'ndjson'], all.io);
    expect(all.out().trim().split('\n')).toHaveLength(4);
  });
});

describe('table cells', () => {
  it('cutCell cuts on a word boundary with a marker, and only when needed', () => {
    expect(cutCell('short')).toBe('short');
    const findings = 'cert-self-signed;cert-expired;nla-not-required;tls-legacy-version-allowed';
    const cut = cutCell(findings, 48);
    expect([...cut].length).toBeLessThanOrEqual(48);
    expect(cut.endsWith('…')).toBe(true);
    // Whole ids only: the cut falls between two of them.
    expect(cut).toBe('cert-self-signed;cert-expired;nla-not-required…');
    expect(cutCell('CN=a very long certificate subject name that goes on and on', 20)).toBe('CN=a very long…');
    // No boundary at all: a hard cut, still marked.
    expect(cutCell('x'.repeat(60), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('the table uses it: a long finding list ends in the marker, never mid-id', () => {
    const b = new ReportBuilder({ host: '192.0.2.1', port: 3389 }, 'tcp', () => 0, new Date(0), 'test');
    b.skip('dns', 'test');
    b.begin('tcp').end({ status: 'ok' });
    const r = b.build();
    r.findings = ['cert-self-signed', 'cert-expired', 'nla-not-required', 'tls-legacy-version-allowed'].map((id) => ({ id, severity: 'info' as const, stage: 'tls' as const, message: id }));
    const row = formatTable([r]).split('\n')[1]!;
    expect(row).toMatch(/cert-self-signed;cert-expired;nla-not-required…$/);
  });
});

describe('the summary after --resume', () => {
  it('counts the earlier results read from the file with the new ones', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = testTempDir('rdp-probe-summary-');
    const f = join(dir, 'r.ndjson');
    const t1 = io();
    await main(['scan', `127.0.0.221:${peer.port}`, '--depth', 'x224', '--no-enumerate', '-o', 'ndjson'], t1.io);
    writeFileSync(f, t1.out());
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const closed = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const t2 = io();
    await main(['scan', `127.0.0.221:${peer.port}`, `127.0.0.1:${closed}`, '--depth', 'x224', '--no-enumerate', '-o', 'ndjson', '--resume', f], t2.io);
    expect(t2.err()).toMatch(/scanned 2 target\(s\) \(1 from --resume, 1 now\)/);
    expect(t2.err()).toMatch(/verdicts: (negotiation_failure 1, port_closed 1|port_closed 1, negotiation_failure 1)/);
  });
});
