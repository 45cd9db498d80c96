/**
 * Records rdp-probe's own connections to real servers with tcpdump on loopback: NAME.pcap plus NAME.expect.json,
 * the live report's verdict for the same connection. test/pcap/own-captures.test.ts replays each capture through
 * the offline path and requires the same stage verdict.
 *
 * Decryptable recordings (NAME.pcapng, written by the probe's own --record recorder with the TLS key log in a
 * Decryption Secrets Block) of real xrdp and FreeRDP shadow sessions and of the lab's failures, each with
 * NAME.expect.json; test/pcap/record-fixtures.test.ts analyzes them.
 *
 *   npm run record-captures        (root, tcpdump, xrdp, freerdp2-shadow-x11, xvfb installed)
 *   npm run record-captures -- -t decryptable     (only the .pcapng recordings: no tcpdump needed)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, it } from 'vitest';
import { runProbe } from '../src/transport/drive.js';
import type { ProbeReport } from '../src/probe/types.js';
import { startShadow, startXrdp, stopAllServers, TEST_PASSWORD, TEST_USER } from '../test/servers/launcher.js';
import { startLab } from '../src/lab/server.js';
import { scenario } from '../src/lab/scenarios.js';
import { scenarioProbeOptions } from '../src/lab/tour.js';
import { findSecret, PcapngRecorder, recordingRefusal } from '../src/probe/recorder.js';
import type { ProbeOptions } from '../src/probe/run.js';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const VERSION_OF_TOOL = JSON.parse(readFileSync(resolve(DIR, '../package.json'), 'utf8')).version as string;

interface Case {
  name: string;
  start: () => Promise<{ host: string; port: number }>;
}

const CASES: Case[] = [
  { name: 'xrdp-tls_probe_ok', start: () => startXrdp('tls') },
  { name: 'xrdp-rsa1024_probe_tls-server-setup-failure', start: () => startXrdp('rsa1024') },
  { name: 'xrdp-tls10_probe_tls-version-mismatch', start: () => startXrdp('tls10') },
  { name: 'xrdp-nocert_probe_SSL_CERT_NOT_ON_SERVER', start: () => startXrdp('nocert') },
  { name: 'xrdp-rdp_probe_selects-rdp', start: () => startXrdp('rdp') },
  { name: 'shadow-nla_probe_hybrid', start: () => startShadow('nla') },
  { name: 'shadow-rdp_probe_SSL_NOT_ALLOWED', start: () => startShadow('rdp') },
  { name: 'closed_probe_refused', start: async () => ({ host: '127.0.0.160', port: 3389 }) },
];

function tcpdump(file: string, host: string, port: number): Promise<ChildProcess> {
  if (!/^127\./.test(host)) throw new Error('recordings are made on loopback only');
  const p = spawn('tcpdump', ['-i', 'lo', '-n', '-s', '0', '-U', '--immediate-mode', '-w', file, `host ${host} and tcp port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const kill = setTimeout(() => p.kill('SIGKILL'), 120_000);
  p.on('exit', () => clearTimeout(kill));
  return new Promise((res, rej) => {
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) res(p);
    });
    p.on('error', rej);
    p.on('exit', (c) => rej(new Error(`tcpdump exited ${c}: ${err}`)));
  });
}

function summary(r: ProbeReport) {
  const failed = r.stages.find((s) => s.status === 'failed');
  const x = r.stages.find((s) => s.stage === 'x224');
  const t = r.stages.find((s) => s.stage === 'tls');
  return {
    verdict: r.verdict.id,
    ...(r.verdict.stage ? { stage: r.verdict.stage } : {}),
    ...(failed?.error ? { kind: failed.error.kind, ...(failed.error.codeName ? { codeName: failed.error.codeName } : {}) } : {}),
    ...(x?.facts?.['selected'] ? { selected: x.facts['selected'] } : {}),
    ...(t?.facts?.['version'] ? { tlsVersion: t.facts['version'] } : {}),
  };
}

afterAll(stopAllServers, 60_000);

/**
 * CredSSP transcripts: the decrypted messages at the connector boundary, with the connector's inputs (random
 * values, clock, server public key) but never the password. The test credentials (rdpuser / Passw0rd!, and
 * WrongPassword1 for the rejection) are the SAM file's, documented in captures/README.md; replay tests supply them.
 */
const TRANSCRIPTS: { name: string; password?: string; user?: string; depth: 'credssp' | 'auth' | 'session'; delegate?: boolean }[] = [
  { name: 'shadow-nla_credssp_no-credentials', depth: 'credssp' },
  { name: 'shadow-nla_auth_ok', depth: 'auth', password: 'Passw0rd!' },
  { name: 'shadow-nla_auth_wrong-password', depth: 'auth', password: 'WrongPassword1' },
  { name: 'shadow-nla_auth_unknown-user', depth: 'auth', password: 'Passw0rd!', user: 'nosuchuser' },
  { name: 'shadow-nla_session_delegate', depth: 'session', password: 'Passw0rd!', delegate: true },
];

it.each(TRANSCRIPTS)('records transcript $name', async (t) => {
  const server = await startShadow('nla');
  const lines: string[] = [];
  const report = await runProbe(
    { host: server.host, port: server.port },
    {
      enumerate: false,
      stageTimeoutMs: 3000,
      depth: t.depth,
      ...(t.password ? { credentials: { user: t.user ?? 'rdpuser', domain: '', password: t.password }, trust: { insecure: true } } : {}),
      ...(t.delegate ? { delegate: true } : {}),
      record: (e) => lines.push(JSON.stringify(e)),
    },
  );
  const outcome = Object.fromEntries(report.stages.filter((s) => ['credssp', 'nla_auth', 'authz'].includes(s.stage)).map((s) => [s.stage, { status: s.status, ...(s.error ? { kind: s.error.kind } : {}) }]));
  writeFileSync(resolve(DIR, `${t.name}.transcript.jsonl`), `${lines.join('\n')}\n`);
  writeFileSync(resolve(DIR, `${t.name}.transcript.expect.json`), `${JSON.stringify({ verdict: report.verdict.id, stages: outcome }, null, 2)}\n`);
  await server.stop();
});

it.each(CASES)('records $name', async (c) => {
  const target = await c.start();
  const file = resolve(DIR, `${c.name}.pcap`);
  const dump = await tcpdump(file, target.host, target.port);
  const report = await runProbe({ host: target.host, port: target.port }, { enumerate: false, stageTimeoutMs: 3000 });
  await new Promise((r) => setTimeout(r, 800));
  const done = new Promise((r) => dump.once('exit', r));
  dump.kill('SIGINT');
  await done;
  const expect = {
    recordedWith: `rdp-probe ${report.tool.version} check ${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port} --no-enumerate --timeout 3s`,
    recordedAt: report.startedAt,
    firstConnection: summary(report),
    findings: report.findings.map((f) => f.id),
  };
  writeFileSync(resolve(DIR, `${c.name}.expect.json`), `${JSON.stringify(expect, null, 2)}\n`);
});

/** Decryptable recordings: the probe's own --record file of one real or lab session. */
const DECRYPTABLE: { name: string; target: () => Promise<{ host: string; port: number; stop: () => Promise<void>; options?: Partial<ProbeOptions>; command: string }> }[] = [
  {
    name: 'xrdp-tls_session_connects',
    target: async () => {
      const s = await startXrdp('tls', { host: '127.0.0.238' });
      return { host: s.host, port: s.port, stop: () => s.stop(), command: `check ${s.host}:${s.port} --depth session --no-enumerate`, options: { depth: 'session' } };
    },
  },
  {
    name: 'shadow-nla_auth_ok',
    target: async () => {
      const s = await startShadow('nla');
      return { host: s.host, port: s.port, stop: () => s.stop(), command: `check ${s.host}:${s.port} --depth auth --user ${TEST_USER} --password-stdin --insecure --no-enumerate`, options: { depth: 'auth', credentials: { user: TEST_USER, domain: '', password: TEST_PASSWORD }, trust: { insecure: true } } };
    },
  },
  ...['nla-logon-failure', 'errinfo-0x7', 'license-no-server'].map((n) => ({
    name: `lab-${n}`,
    target: async () => {
      const lab = await startLab({ scenarios: [n] });
      return { host: lab.host, port: lab.ports[n]!, stop: () => lab.close(), options: scenarioProbeOptions(lab, scenario(n)!), command: `check --lab ${n} --depth ${scenario(n)!.probe.depth}${scenario(n)!.probe.account ? ' (the lab account)' : ''}` };
    },
  })),
];

const PASSWORDS = [TEST_PASSWORD, 'lab-password', 'not-the-lab-password'];

it.each(DECRYPTABLE)('records decryptable $name', async (c) => {
  const t = await c.target();
  const recorder = new PcapngRecorder({ tool: 'rdp-probe', version: VERSION_OF_TOOL, target: `${t.host}:${t.port}`, command: t.command });
  const options: Partial<ProbeOptions> = { enumerate: false, stageTimeoutMs: 3000, ...t.options, capture: recorder };
  const report = await runProbe({ host: t.host, port: t.port }, options);
  await t.stop();
  const refusal = recordingRefusal(report, options);
  if (refusal) throw new Error(`${c.name}: ${refusal}`);
  const bytes = recorder.toPcapng(new Date(report.startedAt));
  for (const p of PASSWORDS) if (findSecret(bytes, p)) throw new Error(`${c.name}: a password is in the recording`);
  writeFileSync(resolve(DIR, `${c.name}.pcapng`), bytes);
  const expect = {
    recordedWith: `rdp-probe ${report.tool.version} ${t.command} --record ${c.name}.pcapng`,
    recordedAt: report.startedAt,
    connections: recorder.connections,
    tlsKeylogLines: recorder.keylogLineCount,
    firstConnection: summary(report),
    findings: report.findings.map((f) => f.id),
  };
  writeFileSync(resolve(DIR, `${c.name}.expect.json`), `${JSON.stringify(expect, null, 2)}\n`);
});
