/**
 * What a capture shows inside TLS once a key log opens it: the CredSSP exchange (mechanism, TSRequest errorCode
 * with its NTSTATUS name, pubKeyAuth), the Early User Authorization Result of HYBRID_EX, then the session
 * sequence through the same replay as cleartext standard security. Stage ids and error kinds are the live ones.
 */
import { DecodeError } from '../protocol/codec/errors.js';
import { decodeTsRequest, type TsRequest } from '../protocol/credssp/ts-request.js';
import { SecurityProtocol } from '../protocol/nego.js';
import { describeStatus, formatStatus } from '../protocol/ntstatus.js';
import { decodeNtlmChallenge } from '../protocol/ntlm/challenge.js';
import { challengeFacts, oracleFacts } from '../connector/credssp-connector.js';
import { recordOf, type DecryptedDirection } from './tls-decrypt.js';
import { replaySession, type ByteTime, type ReplaySink } from './session-replay.js';

export interface DecryptedFlow {
  client: DecryptedDirection;
  server: DecryptedDirection;
  /** Time of a TLS record, by its offset in that direction's TLS stream. */
  clientRecordAt(recordOffset: number): ByteTime | undefined;
  serverRecordAt(recordOffset: number): ByteTime | undefined;
  selectedProtocol: number;
  requestedProtocols?: number;
  closes: { by: 'client' | 'server'; how: 'fin' | 'rst'; frame: number; ms: number }[];
  endMs: number;
}

/** DER SEQUENCEs at the start of a plaintext stream: the TSRequests, and where the bytes after them start. */
function tsRequests(b: Uint8Array, max = 16): { reqs: { at: number; req?: TsRequest; error?: string }[]; end: number } {
  const reqs: { at: number; req?: TsRequest; error?: string }[] = [];
  let at = 0;
  while (reqs.length < max && b[at] === 0x30 && at + 2 <= b.length) {
    const l0 = b[at + 1]!;
    let len: number;
    let hdr: number;
    if (l0 < 0x80) [len, hdr] = [l0, 2];
    else {
      const n = l0 & 0x7f;
      if (n < 1 || n > 3 || at + 2 + n > b.length) break;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
      hdr = 2 + n;
    }
    if (at + hdr + len > b.length) break;
    const bytes = b.subarray(at, at + hdr + len);
    try {
      reqs.push({ at, req: decodeTsRequest(bytes) });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      reqs.push({ at, error: e.message });
    }
    at += hdr + len;
  }
  return { reqs, end: at };
}

function mechanism(token: Uint8Array | undefined): string | undefined {
  if (!token || token.length === 0) return undefined;
  if (Buffer.from(token.subarray(0, 8)).toString('latin1') === 'NTLMSSP\0') return 'NTLM';
  if (token[0] === 0x60) return 'SPNEGO (Kerberos or NTLM inside GSS-API)';
  if (token[0] === 0xa0 || token[0] === 0xa1) return 'SPNEGO';
  return undefined;
}

/** Files credssp, nla_auth, authz and the session stages from the decrypted streams. */
export function fileDecrypted(d: DecryptedFlow, sink: ReplaySink): void {
  const cAt = (off: number): ByteTime | undefined => {
    const r = recordOf(d.client, off);
    return r === undefined ? undefined : d.clientRecordAt(r);
  };
  const sAt = (off: number): ByteTime | undefined => {
    const r = recordOf(d.server, off);
    return r === undefined ? undefined : d.serverRecordAt(r);
  };
  let clientFrom = 0;
  let serverFrom = 0;
  const nla = (d.selectedProtocol & (SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX)) !== 0;
  if (nla) {
    const c = tsRequests(d.client.data);
    const s = tsRequests(d.server.data);
    clientFrom = c.end;
    serverFrom = s.end;
    const t0 = cAt(0)?.ms ?? 0;
    const mech = mechanism(c.reqs[0]?.req?.negoTokens?.[0]);
    const facts: Record<string, unknown> = {
      decrypted: true,
      ...(mech ? { mechanism: mech } : {}),
      ...(c.reqs[0]?.req ? { clientVersion: c.reqs[0].req.version } : {}),
      ...(s.reqs[0]?.req ? { serverVersion: s.reqs[0].req.version } : {}),
      tsRequests: { client: c.reqs.length, server: s.reqs.length },
    };
    if (s.reqs[0]?.req) Object.assign(facts, oracleFacts(s.reqs[0].req.version));
    const challenge = s.reqs[0]?.req?.negoTokens?.[0];
    if (challenge && mech === 'NTLM') {
      // The CHALLENGE's names, as the live CredSSP step files them.
      try {
        facts['ntlm'] = challengeFacts(decodeNtlmChallenge(challenge));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        facts['ntlmChallengeError'] = e.message;
      }
    }
    const errored = s.reqs.find((r) => r.req?.errorCode !== undefined);
    const pubKey = s.reqs.find((r) => r.req?.pubKeyAuth !== undefined);
    const delegated = c.reqs.some((r) => r.req?.authInfo !== undefined);
    const end = (x: { at: number } | undefined, side: 'c' | 's'): number => (x ? ((side === 'c' ? cAt(x.at) : sAt(x.at))?.ms ?? t0) : d.endMs);
    if (s.reqs.length === 0) {
      sink.set({ stage: 'credssp', status: 'failed', startMs: round(t0), durationMs: round(d.endMs - t0), facts, error: { layer: 'peer', kind: 'closed', message: 'the server sent no TSRequest inside TLS' } });
      return;
    }
    sink.set({ stage: 'credssp', status: 'ok', startMs: round(t0), durationMs: round(end(s.reqs[0], 's') - t0), facts });
    if (c.reqs.length < 2 && errored === undefined) {
      // The client stopped after the CHALLENGE (rdp-probe at --depth credssp does): no credentials were tried.
      sink.set({ stage: 'nla_auth', status: 'skipped', reason: 'the client sent no AUTHENTICATE: it stopped after the CHALLENGE' });
      return;
    }
    const authStart = end(c.reqs[1], 'c');
    if (errored?.req?.errorCode !== undefined) {
      const code = errored.req.errorCode;
      const st = describeStatus(code);
      sink.set({ stage: 'nla_auth', status: 'failed', startMs: round(authStart), durationMs: round(end(errored, 's') - authStart), facts: { errorCode: formatStatus(code) }, error: { layer: 'peer', kind: 'error_code', code, codeName: st.name, spec: 'MS-CSSP 2.2.1', message: `${st.message} (TSRequest.errorCode ${st.label}); usual fix: ${st.fix}` } });
      return;
    }
    // An alert, or a close, instead of the pubKeyAuth: mapped as the live CredSSP step maps it.
    const alert = d.server.alerts.find((a) => a.name !== 'close_notify') ?? d.server.alerts[0];
    if (!pubKey && (alert || d.closes[0]?.by === 'server')) {
      const at = alert ? (d.serverRecordAt(alert.record)?.ms ?? d.endMs) : (d.closes[0]?.ms ?? d.endMs);
      const kind = alert?.name === 'access_denied' ? 'access_denied' : alert?.name === 'internal_error' ? 'internal_error_after_authenticate' : 'closed_after_authenticate';
      const how = alert ? `sent the TLS alert ${alert.name}` : `${d.closes[0]!.how === 'rst' ? 'reset' : 'closed'} the connection`;
      sink.set({ stage: 'nla_auth', status: 'failed', startMs: round(authStart), durationMs: round(at - authStart), facts: { decrypted: true, ...(alert ? { serverAlert: alert.name } : {}) }, error: { layer: 'peer', kind, message: `after the AUTHENTICATE the server ${how} instead of answering with pubKeyAuth (decrypted with the key log)` } });
      return;
    }
    if (!pubKey) {
      sink.set({ stage: 'nla_auth', status: 'failed', startMs: round(authStart), durationMs: round(d.endMs - authStart), error: { layer: 'protocol', kind: 'no_pubkeyauth', message: 'the server sent no pubKeyAuth after the AUTHENTICATE' } });
      return;
    }
    sink.set({ stage: 'nla_auth', status: 'ok', startMs: round(authStart), durationMs: round(end(pubKey, 's') - authStart), facts: { pubKeyAuth: 'sent by the server', credentialsDelegated: delegated } });
    if (d.selectedProtocol & SecurityProtocol.PROTOCOL_HYBRID_EX) {
      const rest = d.server.data.subarray(serverFrom);
      if (rest.length >= 4) {
        const v = rest[0]! | (rest[1]! << 8) | (rest[2]! << 16) | (rest[3]! << 24);
        const ms = sAt(serverFrom)?.ms ?? d.endMs;
        if (v === 0) sink.set({ stage: 'authz', status: 'ok', startMs: round(ms), durationMs: 0, facts: { result: 'AUTHZ_SUCCESS' } });
        else sink.set({ stage: 'authz', status: 'failed', startMs: round(ms), durationMs: 0, error: { layer: 'peer', kind: v === 5 ? 'access_denied' : 'authz_failed', code: v >>> 0, codeName: v === 5 ? 'AUTHZ_ACCESS_DENIED' : `0x${(v >>> 0).toString(16)}`, message: 'the Early User Authorization Result refused the user' } });
        serverFrom += 4;
        if (v !== 0) return;
      }
    } else sink.set({ stage: 'authz', status: 'skipped', reason: 'HYBRID has no Early User Authorization Result' });
  } else {
    for (const s of ['credssp', 'nla_auth', 'authz'] as const) sink.set({ stage: s, status: 'skipped', reason: 'the server selected TLS without CredSSP' });
  }
  replaySession(
    {
      client: d.client.data.subarray(clientFrom),
      server: d.server.data.subarray(serverFrom),
      clientAt: (o) => cAt(o + clientFrom),
      serverAt: (o) => sAt(o + serverFrom),
      selectedProtocol: d.selectedProtocol,
      legacy: false,
      ...(d.requestedProtocols !== undefined ? { requestedProtocols: d.requestedProtocols } : {}),
      closes: d.closes,
      endMs: d.endMs,
      decrypted: true,
    },
    sink,
  );
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
