/**
 * scan -o html: real reports (the lab NLA peer, one with a certificate whose subject holds markup and a newline,
 * a CredSSP failure, a closed port, a silent listener) rendered to one page; then the page in headless Chromium
 * (Debian's chromium, no network): the rows after its script ran, sorting and filtering from the URL fragment,
 * and a screenshot. Locally a missing chromium skips with a notice; in CI it fails.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';
import type { ProbeReport } from '../../src/probe/types.js';
import { escapeHtml, formatHtml } from '../../src/report/html.js';
import { summarize } from '../../src/report/rows.js';
import { runProbe } from '../../src/transport/drive.js';
import { findBinary } from '../servers/env.js';
import { inCI } from '../servers/support.js';

const EVIL_SUBJECT = '<script>alert("owned")</script>\n<img src=x onerror=alert(2)>';

function chromiumSuite(): string | undefined {
  const bin = findBinary('chromium') ?? findBinary('chromium-browser');
  if (bin) return bin;
  const why = 'chromium not installed (apt-get install chromium)';
  if (inCI()) throw new Error(`real-browser suite "HTML report in Chromium" cannot run in CI: ${why}`);
  process.stderr.write(`\nSKIPPING real-browser suite "HTML report in Chromium": ${why}\n\n`);
  return undefined;
}
const chromium = chromiumSuite();

const dir = mkdtempSync(join(tmpdir(), 'rdp-probe-html-'));
/** RDP_PROBE_KEEP_HTML=1 keeps the page and its screenshot for a person to look at; by default the dir goes. */
const KEEP_HTML = Boolean(process.env['RDP_PROBE_KEEP_HTML']);
const reports: ProbeReport[] = [];
let page = '';
const peers: NlaPeer[] = [];
let silent: net.Server | undefined;
const held: net.Socket[] = [];

beforeAll(async () => {
  const users = [{ user: 'u', domain: 'D', password: 'html-test-pw' }];
  const good = await startNlaPeer({ credsspVersion: 6, users, protocol: 'hybrid_ex', host: '127.0.0.1' });
  const evil = await startNlaPeer({ credsspVersion: 6, users, protocol: 'hybrid', host: '127.0.0.2', cert: generateCert({ commonName: EVIL_SUBJECT, sans: LOCAL_SANS, keyName: 'html-evil' }), ntlm: { netbiosComputer: 'EVIL<b>', dnsComputer: 'evil"<i>host\n.lab' } });
  const broken = await startNlaPeer({ credsspVersion: 6, users, host: '127.0.0.3', garbageInsteadOfChallenge: true });
  peers.push(good, evil, broken);
  silent = net.createServer((s) => {
    held.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent!.listen(0, '127.0.0.4', r));
  const closedSrv = net.createServer();
  await new Promise<void>((r) => closedSrv.listen(0, '127.0.0.5', r));
  const closed = (closedSrv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closedSrv.close(() => r()));
  // The silent target's deadline is short (its verdict is that deadline passing); the others get room to finish
  // on a loaded machine (five cold probes and three peers share this event loop).
  const opts = { depth: 'credssp' as const, stageTimeoutMs: 5000, targetTimeoutMs: 8000 };
  const targets = [
    { host: '127.0.0.1', port: good.port },
    { host: '127.0.0.2', port: evil.port },
    { host: '127.0.0.3', port: broken.port },
    { host: '127.0.0.4', port: (silent.address() as net.AddressInfo).port },
    { host: '127.0.0.5', port: closed },
  ];
  reports.push(...(await Promise.all(targets.map((t, i) => runProbe(t, i === 3 ? { ...opts, stageTimeoutMs: 700 } : opts)))));
  page = formatHtml(reports, summarize(reports), { title: 'lab scan' });
  writeFileSync(join(dir, 'report.html'), page);
}, 60_000);

afterAll(async () => {
  // The browser profiles always go; the page and its screenshot only stay when asked for.
  if (KEEP_HTML) {
    for (const f of readdirSync(dir)) if (f.startsWith('profile-')) rmSync(join(dir, f), { recursive: true, force: true });
  } else {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const s of held) s.destroy();
  silent?.close();
  await Promise.all(peers.map((p) => p.close()));
});

const cellsOf = (html: string, key: string): string[] => [...html.matchAll(new RegExp(`<td data-key="${key}" data-sort="[^"]*"(?: class="[^"]*")?>([^<]*)</td>`, 'g'))].map((m) => m[1]!);

describe('formatHtml (the page itself)', () => {
  it('the lab reports are what the page is meant to show', () => {
    expect(reports.map((r) => r.verdict.id)).toEqual(['ok', 'ok', expect.stringMatching(/^(nla_failure|protocol_error)$/), expect.stringMatching(/^(timeout|no_answer)$/), 'port_closed']);
    const subject = (reports[1]!.stages.find((s) => s.stage === 'tls')!.facts!['certificate'] as Record<string, unknown>)['subject'];
    // The report's DN is RFC 4514 text (\< for <), with the newline as it came.
    expect(subject).toBe('CN=\\<script\\>alert(\\"owned\\")\\</script\\>\n\\<img src=x onerror=alert(2)\\>');
  });

  it('server strings are escaped: no markup from the certificate or NTLM names, the newline shown as \\n', () => {
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('EVIL<b>');
    expect(page).toContain('CN=\\&lt;script\\&gt;alert(\\&quot;owned\\&quot;)\\&lt;/script\\&gt;\\n\\&lt;img src=x onerror=alert(2)\\&gt;');
    expect(page).toContain('evil&quot;&lt;i&gt;host\\n.lab');
    // Our own script is the only one.
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(escapeHtml('a&b<"\'>\u0000\u2028')).toBe('a&amp;b&lt;&quot;&#39;&gt;\\x00\\u2028');
  });

  it('self-contained: a CSP that forbids fetching, no external URL anywhere', () => {
    expect(page).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    expect(page).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
    expect(page).not.toMatch(/@import|url\(/);
  });

  it('counts per verdict and finding, certificate expiry dates, a stage ladder per failing host', () => {
    expect(page).toMatch(/<a href="#verdict=ok" class="good">ok<\/a><\/td><td class="num">2<\/td>/);
    expect(page).toMatch(/<a href="#verdict=port_closed" class="bad">port_closed<\/a><\/td><td class="num">1<\/td>/);
    expect(page).toMatch(/<a href="#q=cert-self-signed">cert-self-signed<\/a><\/td><td class="num">3<\/td>/);
    const year = new Date(Date.now() + 365 * 86400_000).toISOString().slice(0, 4);
    expect(cellsOf(page, 'expiry').filter((c) => c.startsWith(year))).toHaveLength(3);
    const ladders = page.slice(page.indexOf('Where the failing hosts stopped'));
    expect(ladders.match(/<article class="host">/g)).toHaveLength(3);
    expect(ladders).toMatch(/<li class="st-failed"><span class="mark">✗<\/span><span class="sname">credssp<\/span>/);
    expect(ladders).toMatch(/<li class="st-failed"><span class="mark">✗<\/span><span class="sname">tcp<\/span>[\s\S]*refused/);
    expect(ladders).not.toContain('127.0.0.1:');
  });
});

describe('scan -o html --output FILE', () => {
  it('writes the page for the scanned targets, with the summary counts', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    const err = new PassThrough();
    let errText = '';
    err.on('data', (d) => (errText += d));
    const file = join(dir, 'scan.html');
    const good = peers[0]!;
    const code = await main(['scan', `127.0.0.1:${good.port}`, '127.0.0.5:1', '--timeout', '2s', '-o', 'html', '--output', file], { stdout: out, stderr: err, env: {} });
    expect(code, errText).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<tr data-verdict="/g)).toHaveLength(2);
    expect(html).toContain('<tr data-verdict="ok">');
    expect(html).toContain('<tr data-verdict="port_closed">');
    expect(html).toContain('2 target(s) scanned');
    expect(errText).toMatch(/scanned 2 target\(s\)/);
  });
});

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

const BROWSER_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-extensions', '--hide-scrollbars'];

describe.skipIf(!chromium)('the page in headless Chromium', () => {
  const url = pathToFileURL(join(dir, 'report.html')).href;
  const dump = (hash: string) => run(chromium!, [...BROWSER_FLAGS, `--user-data-dir=${mkdtempSync(join(dir, 'profile-'))}`, '--dump-dom', `${url}${hash}`]);
  /** Table rows as the browser left them: target, verdict, hidden. */
  const rowsOf = (dom: string) =>
    [...dom.matchAll(/<tr data-verdict="([^"]*)"( hidden="")?>([\s\S]*?)<\/tr>/g)].map((m) => ({ verdict: m[1]!, hidden: m[2] !== undefined, target: cellsOf(m[3]!, 'target')[0]!, ms: Number(cellsOf(m[3]!, 'ms')[0]) }));
  const targetsSorted = () => reports.map((r) => `${r.target.host}:${r.target.port}`);

  it('the script ran: every row shown, the markup in the subject is text, not an element', async () => {
    const dom = await dump('');
    expect(dom).toContain('data-ready="1"');
    expect(dom).toContain(`${reports.length} of ${reports.length} shown`);
    const rows = rowsOf(dom);
    expect(rows.map((r) => r.target)).toEqual(targetsSorted());
    expect(rows.every((r) => !r.hidden)).toBe(true);
    // The DOM after parsing: still one script element, no img, the subject as escaped text.
    expect(dom.match(/<script/g)).toHaveLength(1);
    expect(dom).not.toMatch(/<img/);
    expect(dom).toContain('CN=\\&lt;script\\&gt;alert(\\"owned\\")\\&lt;/script\\&gt;\\n\\&lt;img src=x onerror=alert(2)\\&gt;');
  });

  it('sorts by a column from the fragment: target descending, duration descending', async () => {
    const byTarget = rowsOf(await dump('#sort=target&dir=desc'));
    expect(byTarget.map((r) => r.target)).toEqual([...targetsSorted()].reverse());
    const byMs = rowsOf(await dump('#sort=ms&dir=desc')).map((r) => r.ms);
    expect(byMs).toEqual([...byMs].sort((a, b) => b - a));
    expect(byMs[0]).toBe(Math.max(...reports.map((r) => Math.round(r.durationMs))));
  });

  it('filters by verdict and by text from the fragment', async () => {
    const closed = await dump('#verdict=port_closed');
    expect(closed).toContain(`1 of ${reports.length} shown`);
    expect(rowsOf(closed).filter((r) => !r.hidden).map((r) => r.verdict)).toEqual(['port_closed']);
    const text = rowsOf(await dump('#q=hybrid_ex'));
    expect(text.filter((r) => !r.hidden).map((r) => r.target)).toEqual([targetsSorted()[0]]);
  });

  it('takes a screenshot', async () => {
    const png = join(dir, 'report.png');
    await run(chromium!, [...BROWSER_FLAGS, `--user-data-dir=${mkdtempSync(join(dir, 'profile-'))}`, '--window-size=1500,1500', `--screenshot=${png}`, url]);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(bytes.readUInt32BE(16)).toBe(1500);
    expect(statSync(png).size).toBeGreaterThan(20_000);
    if (KEEP_HTML) process.stderr.write(`HTML report screenshot (kept: RDP_PROBE_KEEP_HTML): ${png}\n`);
  });
});
