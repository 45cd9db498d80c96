/**
 * The driver against in-process scripted peers on loopback: the cases that no real server here can show.
 * Real xrdp/FreeRDP cases are in test/integration.
 */
import net from 'node:net';
import tls from 'node:tls';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../src/transport/drive.js';
import { encodeConnectionConfirm, encodeDataTpdu, encodeDisconnectRequest } from '../../src/protocol/x224.js';
import { encodeNegFailure, encodeNegResponse, NegFailureCode } from '../../src/protocol/nego.js';
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { requestedProtocolsOf, startScripted, type ScriptedServer } from '../helpers/scripted-server.js';
import { STAGES } from '../../src/probe/types.js';

const fast = { stageTimeoutMs: 700, targetTimeoutMs: 5000, enumerate: false } as const;

function cc(neg?: Uint8Array): Buffer {
  return Buffer.from(encodeConnectionConfirm({ dstRef: 0, srcRef: 0x1234, classOption: 0, ...(neg ? { neg } : {}) }));
}

const servers: ScriptedServer[] = [];
async function serve(...args: Parameters<typeof startScripted>): Promise<ScriptedServer> {
  const s = await startScripted(...args);
  servers.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

function stage(r: Awaited<ReturnType<typeof runProbe>>, id: string) {
  return r.stages.find((s) => s.stage === id)!;
}

describe('x224 failures from scripted peers', () => {
  it('names every RDP_NEG_FAILURE code, with the deciding bytes', async () => {
    for (const [name, code] of Object.entries(NegFailureCode)) {
      const srv = await serve((s) => {
        s.end(cc(encodeNegFailure({ flags: 0, failureCode: code })));
      });
      const r = await runProbe({ host: srv.host, port: srv.port }, fast);
      const x = stage(r, 'x224');
      expect(x.status).toBe('failed');
      expect(x.error?.kind).toBe('negotiation_failure');
      expect(x.error?.codeName).toBe(name);
      expect(x.error?.code).toBe(code);
      expect(x.evidence?.[0]?.hex).toBe(`030000130ed00000123400030008000${code.toString(16)}000000`);
      expect(r.verdict.id).toBe('negotiation_failure');
      expect(r.verdict.summary).toContain(name);
      expect(r.verdict.fixes.length).toBeGreaterThan(0);
      expect(stage(r, 'tls').status).toBe('not_reached');
    }
  });

  it('a listener that accepts and never answers ends at the x224 deadline', async () => {
    const srv = await serve(() => undefined);
    const t0 = performance.now();
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    const took = performance.now() - t0;
    expect(r.verdict.id).toBe('no_answer');
    expect(stage(r, 'x224').error?.kind).toBe('timeout');
    expect(stage(r, 'tcp').status).toBe('ok');
    expect(took).toBeLessThan(fast.targetTimeoutMs);
    expect(srv.requests.length).toBe(1);
  });

  it('an SSH banner is not RDP', async () => {
    const srv = await serve((s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'), { onAccept: true });
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(r.verdict.id).toBe('not_rdp');
    expect(stage(r, 'x224').error?.message).toContain('SSH');
    expect(stage(r, 'x224').evidence?.[0]?.hex.startsWith(Buffer.from('SSH-2.0').toString('hex'))).toBe(true);
  });

  it('a real HTTP server on the port is not RDP', async () => {
    const http = await import('node:http');
    const server = http.createServer((_q, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const r = await runProbe({ host: '127.0.0.1', port }, fast);
      expect(r.verdict.id).toBe('not_rdp');
      expect(stage(r, 'x224').error?.message).toMatch(/HTTP/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('random garbage is not RDP', async () => {
    const srv = await serve((s) => s.write(Buffer.from('8a11f0e2deadbeef00ff', 'hex')));
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(r.verdict.id).toBe('not_rdp');
  });

  it('close right after the Connection Request', async () => {
    const srv = await serve((s) => s.end());
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(r.verdict.id).toBe('connection_dropped');
    expect(stage(r, 'x224').error?.kind).toBe('closed_after_request');
  });

  it('reset right after the Connection Request', async () => {
    const srv = await serve((s) => s.resetAndDestroy());
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(r.verdict.id).toBe('connection_dropped');
    expect(stage(r, 'x224').error?.kind).toBe('reset_after_request');
  });

  it('a Disconnect Request and an MCS Disconnect Provider Ultimatum are named', async () => {
    const dr = await serve((s) => s.end(Buffer.from(encodeDisconnectRequest(1))));
    let r = await runProbe({ host: dr.host, port: dr.port }, fast);
    expect(stage(r, 'x224').error?.kind).toBe('disconnect_request');
    const dpu = await serve((s) => s.end(Buffer.from(encodeDataTpdu(new Uint8Array([0x21, 0x80])))));
    r = await runProbe({ host: dpu.host, port: dpu.port }, fast);
    expect(stage(r, 'x224').error?.message).toContain('Disconnect Provider Ultimatum');
  });

  it('a legacy Connection Confirm without negotiation data', async () => {
    const srv = await serve((s) => s.write(cc()));
    const r = await runProbe({ host: srv.host, port: srv.port }, { ...fast, enumerate: true });
    expect(r.verdict.id).toBe('legacy_server');
    expect(stage(r, 'x224').facts?.['legacy']).toBe(true);
    expect(stage(r, 'tls').status).toBe('skipped');
    // One connection settles everything: a legacy server does standard RDP security only.
    expect(r.enumeration?.connections).toBe(1);
    expect(r.enumeration?.standardRdpSecurity).toBe('allowed');
    expect(r.enumeration?.nla).toBe('not_supported');
  });

  it('the Modbus-like 9-byte TPKT reply that never completes is not RDP', async () => {
    const srv = await serve((s) => s.write(Buffer.from('03 00 00 2b 00 03 00 80 01'.replace(/ /g, ''), 'hex')));
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(r.verdict.id).toBe('not_rdp');
  });
});

describe('tls failures from scripted peers', () => {
  const good = generateCert({ commonName: 'localhost', sans: LOCAL_SANS });

  it('a peer that selects SSL and never answers the ClientHello ends at the tls deadline', async () => {
    const srv = await serve((s) => s.write(cc(encodeNegResponse({ flags: 0, selectedProtocol: 1 }))));
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(stage(r, 'x224').status).toBe('ok');
    expect(stage(r, 'tls').error?.kind).toBe('tls_timeout');
    expect(r.verdict.id).toBe('tls_failure');
  });

  it('a peer that resets on the ClientHello', async () => {
    const srv = await serve((s) => {
      s.write(cc(encodeNegResponse({ flags: 0, selectedProtocol: 1 })));
      s.once('data', () => s.resetAndDestroy());
      s.resume();
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    expect(stage(r, 'tls').error?.kind).toBe('tls_reset');
  });

  it('a real TLS server with no cipher in common sends handshake_failure', async () => {
    const srv = await serve((s) => {
      s.write(cc(encodeNegResponse({ flags: 0, selectedProtocol: 1 })));
      const t = new tls.TLSSocket(s, { isServer: true, cert: good.certPem, key: good.keyPem, maxVersion: 'TLSv1.2', ciphers: 'PSK-AES128-CBC-SHA' });
      t.on('error', () => undefined);
      s.resume();
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, fast);
    const t = stage(r, 'tls');
    expect(t.status).toBe('failed');
    expect(t.error?.codeName).toBe('handshake_failure');
    expect(t.evidence?.[0]?.hex).toBe('1503030002022'.padEnd(14, '8'));
  });

  it('a real TLS server after X.224: version, cipher and certificate facts', async () => {
    const srv = await serve((s) => {
      s.write(cc(encodeNegResponse({ flags: 0x1f, selectedProtocol: 2 })));
      const t = new tls.TLSSocket(s, { isServer: true, cert: good.certPem, key: good.keyPem });
      t.on('error', () => undefined);
      s.resume();
    });
    const r = await runProbe({ host: srv.host, port: srv.port }, { ...fast, depth: 'tls' });
    expect(r.verdict.id).toBe('ok');
    const t = stage(r, 'tls');
    expect(t.facts?.['version']).toBe('TLS 1.3');
    const cert = t.facts?.['certificate'] as Record<string, unknown>;
    expect(cert['subjectCN']).toBe('localhost');
    expect(r.findings.map((f) => f.id)).toContain('cert-self-signed');
    expect(r.findings.map((f) => f.id)).not.toContain('cert-name-mismatch');
    expect(stage(r, 'x224').facts?.['responseFlagNames']).toContain('RESTRICTED_ADMIN_MODE_SUPPORTED');
    expect(srv.requests[0] && requestedProtocolsOf(srv.requests[0])).toBe(0x0b);
  });
});

describe('tcp, dns and deadlines', () => {
  it('a closed port is port_closed, every stage present in order', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runProbe({ host: '127.0.0.1', port }, fast);
    expect(r.verdict.id).toBe('port_closed');
    expect(r.stages.map((s) => s.stage)).toEqual([...STAGES]);
    expect(r.stages.slice(2).every((s) => s.status === 'not_reached')).toBe(true);
  });

  it('NXDOMAIN from a real DNS server on loopback is dns_failure', async () => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      // Answer every query with NXDOMAIN: copy id and question, set QR, RD, RA, RCODE=3.
      const out = Buffer.from(msg);
      out[2] = 0x81;
      out[3] = 0x83;
      out.writeUInt16BE(0, 6);
      out.writeUInt16BE(0, 8);
      out.writeUInt16BE(0, 10);
      sock.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    try {
      const port = sock.address().port;
      const r = await runProbe({ host: 'no-such-host.rdp-probe.test', port: 3389 }, { ...fast, dnsServers: [`127.0.0.1:${port}`] });
      expect(r.verdict.id).toBe('dns_failure');
      expect(r.stages[0]?.error?.kind).toBe('nxdomain');
      expect(r.stages[1]?.status).toBe('not_reached');
    } finally {
      sock.close();
    }
  });

  it('the target deadline bounds every connection of a target', async () => {
    const srv = await serve(() => undefined);
    const t0 = performance.now();
    const r = await runProbe({ host: srv.host, port: srv.port }, { stageTimeoutMs: 5000, targetTimeoutMs: 400, enumerate: true });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(['timeout', 'no_answer']).toContain(r.verdict.id);
  });
});
