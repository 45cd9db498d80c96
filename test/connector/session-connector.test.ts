/**
 * The session connector with scripted server flights built by the protocol layer's own server-side encoders (no
 * sockets): the Demand Active path, Set Error Info then DPUm, a license error, a redirection, a DPUm after the
 * Connect-Initial, a failed Connect-Response, every byte split of a whole flight, and standard RDP security with
 * real keys on both sides (a MAC mismatch when they differ).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SessionConnector, type SessionAction, type SessionConfig } from '../../src/connector/session-connector.js';
import { concat } from '../../src/protocol/codec/bytes.js';
import { encodeServerConnectResponse, encodeServerData } from '../../src/protocol/gcc/server-data.js';
import { decodeClientConnectInitial } from '../../src/protocol/gcc/client-data.js';
import {
  decodeMcsDomainPdu,
  encodeMcsAttachUserConfirm,
  encodeMcsChannelJoinConfirm,
  encodeMcsDisconnectProviderUltimatum,
  encodeMcsSendDataIndication,
} from '../../src/protocol/mcs/domain.js';
import { encodeLicenseErrorAlert, encodeValidClientAlert } from '../../src/protocol/licensing.js';
import { defaultServerCapabilities, encodeDemandActive, encodeEnhancedSecurityRedirection, encodeSetErrorInfo } from '../../src/protocol/share/index.js';
import { decryptClientRandom, decodeSecurityExchangePdu } from '../../src/protocol/security/exchange.js';
import { deriveSessionKeys } from '../../src/protocol/security/keys.js';
import { StandardSecurity } from '../../src/protocol/security/cipher.js';
import { encodeProprietaryCertificate } from '../../src/protocol/security/proprietary-cert.js';
import { SEC } from '../../src/protocol/security/constants.js';
import { unwrapSecured, wrapSecured } from '../../src/protocol/security/header.js';
import { decodeClientInfo } from '../../src/protocol/client-info.js';
import { decodeX224Frame, encodeDataTpdu } from '../../src/protocol/x224.js';
import { prng } from '../helpers/prng.js';

const USER = 1007;
const IO = 1003;

const config = (over: Partial<SessionConfig> = {}): SessionConfig => ({
  selectedProtocol: 1,
  requestedProtocols: 1,
  legacy: false,
  encryptionMethods: 0x1b,
  clientName: 'rdp-probe',
  clientRandom: new Uint8Array(32).fill(7),
  licenseClientRandom: new Uint8Array(32).fill(8),
  licensePreMasterSecret: new Uint8Array(48).fill(9),
  ...over,
});

const tpdu = (mcs: Uint8Array) => encodeDataTpdu(mcs);
const onIo = (payload: Uint8Array) => tpdu(encodeMcsSendDataIndication({ initiator: 1002, channelId: IO, userData: payload }));
const licensePdu = (p: Uint8Array) => onIo(wrapSecured(p, SEC.LICENSE_PKT));

function connectResponse(opts: { result?: number; security?: { encryptionMethod: number; encryptionLevel: number; serverRandom?: Uint8Array; serverCertificate?: Uint8Array }; requested?: number } = {}): Uint8Array {
  const serverData = encodeServerData({
    core: { version: 0x00080004, clientRequestedProtocols: opts.requested ?? 1 },
    security: opts.security ?? { encryptionMethod: 0, encryptionLevel: 0 },
    net: { mcsChannelId: IO, channelIds: [] },
  });
  return tpdu(encodeServerConnectResponse({ result: opts.result ?? 0, serverData }));
}

const channelFlight = (): Uint8Array[] => [
  tpdu(encodeMcsAttachUserConfirm({ result: 0, initiator: USER })),
  tpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: USER, channelId: USER })),
  tpdu(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER, requested: IO, channelId: IO })),
];

const demandActive = () => onIo(encodeDemandActive({ shareId: 0x103ea, capabilities: defaultServerCapabilities() }));

/** Feeds frames one by one, answering as a server would: returns every action. */
function run(c: SessionConnector, frames: Uint8Array[], split?: number): SessionAction[] {
  const out: SessionAction[] = [...c.start()];
  const all = concat(...frames);
  if (split !== undefined) {
    out.push(...c.receive(all.subarray(0, split)), ...c.receive(all.subarray(split)));
  } else for (const f of frames) out.push(...c.receive(f));
  return out;
}
const stages = (a: SessionAction[]) => a.filter((x): x is Extract<SessionAction, { type: 'stage' }> => x.type === 'stage').map((x) => x.outcome);
const sends = (a: SessionAction[]) => a.filter((x): x is Extract<SessionAction, { type: 'send' }> => x.type === 'send');

describe('SessionConnector (scripted server, TLS path)', () => {
  const flight = () => [connectResponse(), ...channelFlight(), licensePdu(encodeValidClientAlert()), demandActive()];

  it('Connect-Initial carries the ERRINFO capability and the selected protocol; then mcs, licensing and activation pass', () => {
    const c = new SessionConnector(config());
    const a = run(c, flight());
    const ci = decodeClientConnectInitial(decodeX224Frame(sends(a)[0]!.bytes).type === 'data' ? (decodeX224Frame(sends(a)[0]!.bytes) as { data: Uint8Array }).data : new Uint8Array());
    expect(ci.clientData.core?.earlyCapabilityFlags ?? 0).toSatisfy((f: number) => (f & 0x0001) !== 0);
    expect(ci.clientData.core?.serverSelectedProtocol).toBe(1);
    expect(stages(a).map((s) => [s.stage, s.ok])).toEqual([['mcs', true], ['licensing', true], ['activation', true]]);
    expect(c.isDone).toBe(true);
    // It leaves politely: the last thing sent is a DPUm.
    const last = decodeX224Frame(sends(a).at(-1)!.bytes) as { data: Uint8Array };
    expect(decodeMcsDomainPdu(last.data).type).toBe('disconnect_provider_ultimatum');
  });

  it('every split of the whole server flight gives the same outcome', () => {
    const frames = flight();
    const total = concat(...frames).length;
    for (let i = 1; i < total; i++) {
      const a = run(new SessionConnector(config()), frames, i);
      expect(stages(a).map((s) => s.ok), `split at ${i}`).toEqual([true, true, true]);
    }
  });

  it('the Client Info names no password unless one was given to delegate', () => {
    const a = run(new SessionConnector(config({ user: 'alice', domain: 'EXAMPLE' })), flight());
    const info = sends(a).find((s) => s.pdu.startsWith('Client Info'))!;
    const x = decodeX224Frame(info.bytes) as { data: Uint8Array };
    const sd = decodeMcsDomainPdu(x.data) as { userData: Uint8Array };
    const u = unwrapSecured(sd.userData);
    expect(u.flags & SEC.INFO_PKT).toBe(SEC.INFO_PKT);
    const ci = decodeClientInfo(u.payload);
    expect(ci.user).toBe('alice');
    expect(ci.readPassword()).toBe('');
  });

  it('Set Error Info 0x7 then DPUm: activation fails with ERRINFO_SERVER_DENIED_CONNECTION', () => {
    const c = new SessionConnector(config());
    const a = run(c, [connectResponse(), ...channelFlight(), licensePdu(encodeValidClientAlert()), onIo(encodeSetErrorInfo({ shareId: 0x103ea, errorInfo: 7 })), tpdu(encodeMcsDisconnectProviderUltimatum(1))]);
    const act = stages(a).find((s) => s.stage === 'activation')!;
    expect(act.ok).toBe(false);
    expect(act.error).toMatchObject({ kind: 'error_info', code: 7, codeName: 'ERRINFO_SERVER_DENIED_CONNECTION' });
  });

  it('a license error with ST_TOTAL_ABORT fails licensing with both names', () => {
    const a = run(new SessionConnector(config()), [connectResponse(), ...channelFlight(), licensePdu(encodeLicenseErrorAlert({ errorCode: 6, stateTransition: 1 }))]);
    const lic = stages(a).find((s) => s.stage === 'licensing')!;
    expect(lic.ok).toBe(false);
    expect(lic.error).toMatchObject({ kind: 'license_error', code: 6, codeName: 'ERR_NO_LICENSE_SERVER' });
    expect(lic.error?.message).toMatch(/ST_TOTAL_ABORT/);
  });

  it('a Server Redirection names the target and stops', () => {
    const a = run(new SessionConnector(config()), [connectResponse(), ...channelFlight(), licensePdu(encodeValidClientAlert()), onIo(encodeEnhancedSecurityRedirection({ sessionId: 3, targetNetAddress: '10.1.2.3', targetFqdn: 'host7.example.test' } as Parameters<typeof encodeEnhancedSecurityRedirection>[0]))]);
    const act = stages(a).find((s) => s.stage === 'activation')!;
    expect(act.error?.kind).toBe('redirected');
    expect(act.error?.message).toMatch(/host7\.example\.test|10\.1\.2\.3/);
  });

  it('a DPUm right after the Connect-Initial fails mcs with the reason', () => {
    const a = run(new SessionConnector(config()), [tpdu(encodeMcsDisconnectProviderUltimatum(1))]);
    expect(stages(a)[0]).toMatchObject({ stage: 'mcs', ok: false, error: { kind: 'disconnect_provider_ultimatum', codeName: 'rn-provider-initiated' } });
  });

  it('a Connect-Response with a failure result fails mcs with its T.125 name', () => {
    const a = run(new SessionConnector(config()), [connectResponse({ result: 8 })]);
    expect(stages(a)[0]).toMatchObject({ stage: 'mcs', ok: false, error: { kind: 'mcs_connect_rejected', codeName: 'rt-parameters-unacceptable' } });
  });

  it('a server echoing other requestedProtocols than were sent is a downgrade finding', () => {
    const a = run(new SessionConnector(config({ requestedProtocols: 0x0b })), [connectResponse({ requested: 1 })]);
    expect(a.some((x) => x.type === 'finding' && x.finding.id === 'mcs-requested-protocols-mismatch')).toBe(true);
  });

  it('random bytes after the Connect-Initial end in a named failure, never a throw', () => {
    const rnd = prng(42);
    for (let i = 0; i < 300; i++) {
      const c = new SessionConnector(config());
      c.start();
      const junk = rnd.bytes(1 + rnd.int(64));
      junk[0] = 3;
      expect(() => [...c.receive(junk), ...c.closed('eof')]).not.toThrow();
      expect(c.isDone).toBe(true);
    }
  });
});

describe('SessionConnector under standard RDP security (real keys on both sides)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 512, publicExponent: 65537 });
  const jwk = privateKey.export({ format: 'jwk' }) as { n: string; d: string };
  const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
  const modulus = b64(jwk.n);
  const cert = encodeProprietaryCertificate({ publicExponent: 65537, modulus });
  const serverRandom = new Uint8Array(32).fill(0x5a);
  void publicKey;

  function serve(over: Partial<SessionConfig> = {}, tamper = false) {
    const c = new SessionConnector(config({ selectedProtocol: 0, requestedProtocols: 0, ...over }));
    const actions: SessionAction[] = [...c.start()];
    actions.push(...c.receive(connectResponse({ requested: 0, security: { encryptionMethod: 2, encryptionLevel: 3, serverRandom, serverCertificate: cert } })));
    for (const f of channelFlight()) actions.push(...c.receive(f));
    // The server reads the Security Exchange with its private key and derives its own view of the keys.
    const exch = sends(actions).find((s) => s.pdu === 'Security Exchange PDU')!;
    const sd = decodeMcsDomainPdu((decodeX224Frame(exch.bytes) as { data: Uint8Array }).data) as { userData: Uint8Array };
    const random = decryptClientRandom(decodeSecurityExchangePdu(sd.userData).encryptedClientRandom, { publicExponent: 65537, modulus, privateExponent: b64(jwk.d) } as never);
    const server = new StandardSecurity(deriveSessionKeys(tamper ? new Uint8Array(32) : random, serverRandom, 2, 'server'));
    // The Client Info arrives encrypted and decrypts with the server's keys (tampered keys: not checked here).
    const info = sends(actions).find((s) => s.pdu.startsWith('Client Info'))!;
    const isd = decodeMcsDomainPdu((decodeX224Frame(info.bytes) as { data: Uint8Array }).data) as { userData: Uint8Array };
    if (!tamper) expect(decodeClientInfo(unwrapSecured(isd.userData, server).payload).user).toBe('');
    const enc = (p: Uint8Array, flags = 0) => onIo(wrapSecured(p, flags | SEC.ENCRYPT, server));
    actions.push(...c.receive(enc(encodeValidClientAlert(), SEC.LICENSE_PKT)));
    actions.push(...c.receive(enc(encodeDemandActive({ shareId: 0x103ea, capabilities: defaultServerCapabilities() }))));
    return { c, actions };
  }

  it('the client random reaches the server, both derive the same keys, and encrypted licensing and Demand Active decrypt', () => {
    const { actions } = serve();
    expect(stages(actions).map((s) => [s.stage, s.ok])).toEqual([['mcs', true], ['security', true], ['licensing', true], ['activation', true]]);
    const sec = stages(actions).find((s) => s.stage === 'security')!;
    expect(sec.facts?.['encryptionMethod']).toBe('128BIT');
    // The lab key is not signed by the Terminal Services key holder… but encodeProprietaryCertificate signs with it.
    expect(String((sec.facts?.['certificate'] as Record<string, unknown>)['signature'])).toMatch(/verified/);
  });

  it('keys that differ on the two sides are named as a MAC mismatch, not as a server refusal', () => {
    const { actions } = serve({}, true);
    const failed = stages(actions).find((s) => !s.ok)!;
    expect(failed.error?.kind).toBe('mac_mismatch');
  });
});
