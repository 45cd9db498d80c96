/**
 * The lab's scenarios: a public table (the names are API) of servers that fail on purpose, each with the verdict
 * and stage a probe should report and what the probe needs to get there (depth, options). Pure data: the socket
 * code in server.ts reads each scenario's `server` plan; lab-command.ts and the tests read the rest.
 */
import { NegFailureCode, SecurityProtocol } from '../protocol/nego.js';
import { LicenseErrorCode, LicenseStateTransition } from '../protocol/licensing.js';
import { NtStatus } from '../protocol/ntstatus.js';
import type { Depth, Stage, VerdictId } from '../probe/types.js';
import type { LabCertName } from './certs.js';
import type { SessionScript } from './session-server.js';

/** What the lab does with the connection, stage by stage. */
export interface ServerPlan {
  /** How the X.224 Connection Request is answered. */
  x224:
    | { kind: 'select'; protocol: 'nla' | 'tls' | 'rdp'; hybridEx?: boolean }
    | { kind: 'neg-failure'; code: number }
    | { kind: 'legacy' }
    | { kind: 'reset' }
    | { kind: 'hang' };
  /** TLS (after a selected SSL or NLA): the certificate, the versions, or a reset after the ClientHello. */
  tls?: { cert?: LabCertName; versions?: 'tls1.0-only'; resetAfterClientHello?: boolean };
  /** CredSSP (after a selected NLA). */
  credssp?: { version: 2 | 3 | 4 | 5 | 6; errorCodeAfterAuthenticate?: number; earlyUserAuthResult?: number; closeOnLogonFailure?: boolean };
  /** MCS through activation (after TLS without NLA, after delegated NLA, or under standard RDP security). */
  session?: SessionScript;
  /** A hostile server: what it does instead at one stage (src/lab/hostile.ts). */
  hostile?: HostilePlan;
}

/**
 * What a hostile scenario's server does wrong, and where. Each must end in a named verdict within the probe's
 * stage deadline, with the probe's memory bounded.
 */
export type HostilePlan =
  /** The right Connection Confirm (selecting TLS), `bytesPerSecond` bytes a second. */
  | { at: 'x224'; kind: 'dribble'; bytesPerSecond: number }
  /** A Connection Confirm whose TPKT header claims `length` bytes (the body is the real 15), then nothing. */
  | { at: 'x224'; kind: 'tpkt-length'; length: number }
  /** The byte `fill` at `bytesPerSecond`, without end, instead of an answer. */
  | { at: 'x224'; kind: 'endless'; fill: number; bytesPerSecond: number }
  /** A real TLS server whose first record, the ServerHello, goes out, and nothing after it. */
  | { at: 'tls'; kind: 'server-hello-only' }
  /** A leaf certificate of about `bytes` (tens of thousands of subjectAltNames), otherwise a healthy server. */
  | { at: 'tls'; kind: 'huge-cert'; bytes: number }
  /** The answer to the NTLM NEGOTIATE: SEQUENCEs nested as deep as one 64 KiB TSRequest holds (about 16,000). */
  | { at: 'credssp'; kind: 'der-deep' }
  /** The answer to the NTLM NEGOTIATE: a SEQUENCE claiming 0x7fffffff bytes, then zeros without end. */
  | { at: 'credssp'; kind: 'der-huge-length'; bytesPerSecond: number }
  /** The answer to the NTLM NEGOTIATE: a CHALLENGE whose TargetName buffer and AV_PAIR point outside the message. */
  | { at: 'credssp'; kind: 'ntlm-bad-offsets' };

/** What a probe needs to reach the scenario's failure. */
export interface ProbePlan {
  depth: Depth;
  /** The lab's own account: the probe supplies it ('lab-wrong': with a wrong password), and delegates it when `delegate`. */
  account?: 'lab' | 'lab-wrong';
  delegate?: boolean;
  /** requestedProtocols of the probe's X.224 request, when not the default (ssl, hybrid, hybrid_ex). */
  requestedProtocols?: number;
  /** A short stage deadline for scenarios that time out. */
  stageTimeoutMs?: number;
  /** The flags a user types to reach it against a running `rdp-probe lab`. */
  flags: string;
}

export interface Expected {
  verdict: VerdictId;
  /** The stage the verdict names; absent for ok / connects / legacy_server at no stage. */
  stage?: Stage;
  /** A finding the report must carry (the certificate scenarios end ok, with a finding). */
  finding?: string;
  /** A stage fact the report must carry. */
  fact?: { stage: Stage; key: string; value: unknown };
  /** The codeName of the failed stage's error (an NTSTATUS, a license error …). */
  codeName?: string;
  /** The pair mstsc shows (disconnect reason, extended reason). */
  mstsc?: [number, number];
}

export interface LabScenario {
  name: string;
  description: string;
  expected: Expected;
  probe: ProbePlan;
  server: ServerPlan;
}

const TLS = { kind: 'select', protocol: 'tls' } as const;
const NLA = { kind: 'select', protocol: 'nla', hybridEx: true } as const;
const session = (flags = ''): ProbePlan => ({ depth: 'session', flags: `--depth session${flags}` });
const delegated: ProbePlan = { depth: 'session', account: 'lab', delegate: true, flags: "--depth session --delegate --user 'LAB\\lab' --password-stdin (lab-password)" };
const auth: ProbePlan = { depth: 'auth', account: 'lab', flags: "--depth auth --user 'LAB\\lab' --password-stdin (lab-password)" };
const plain: ProbePlan = { depth: 'credssp', flags: '' };

const neg = (name: string, code: number, what: string): LabScenario => ({
  name,
  description: `answers the Connection Request with RDP_NEG_FAILURE ${what}`,
  expected: { verdict: 'negotiation_failure', stage: 'x224' },
  probe: plain,
  server: { x224: { kind: 'neg-failure', code } },
});

const cert = (name: string, c: LabCertName, what: string, finding: string): LabScenario => ({
  name,
  description: `TLS with ${what}; CredSSP and a session follow as on a healthy server`,
  expected: { verdict: 'ok', finding },
  probe: plain,
  server: { x224: NLA, tls: { cert: c }, credssp: { version: 6 }, session: {} },
});

const credssp = (v: 2 | 3 | 5 | 6): LabScenario => ({
  name: `credssp-${v}`,
  description: `NLA with a CredSSP ${v} server (HYBRID_EX); delegated credentials reach a session`,
  expected: { verdict: 'ok', fact: { stage: 'credssp', key: 'serverVersion', value: v } },
  probe: plain,
  server: { x224: NLA, tls: {}, credssp: { version: v }, session: {} },
});

const nlaStatus = (name: string, status: number, statusName: string): LabScenario => ({
  name,
  description: `verifies the NTLM AUTHENTICATE, then refuses the logon with TSRequest.errorCode ${statusName}`,
  expected: { verdict: 'nla_rejected', stage: 'nla_auth', codeName: statusName },
  probe: auth,
  server: { x224: NLA, tls: {}, credssp: { version: 6, errorCodeAfterAuthenticate: status } },
});

const license = (name: string, errorCode: number, codeName: string): LabScenario => ({
  name,
  description: `after the Client Info: License Error ${codeName} with ST_TOTAL_ABORT, then an MCS Disconnect Provider Ultimatum`,
  expected: { verdict: 'license_failure', stage: 'licensing', codeName },
  probe: session(),
  server: { x224: TLS, tls: {}, session: { license: { errorCode, stateTransition: LicenseStateTransition.ST_TOTAL_ABORT } } },
});

const errinfo = (code: number, name: string): LabScenario => ({
  name: `errinfo-0x${code.toString(16)}`,
  description: `after licensing: Set Error Info ${name} (0x${code.toString(16).toUpperCase()}), then an MCS Disconnect Provider Ultimatum`,
  expected: { verdict: 'session_refused', stage: 'activation', mstsc: [3, code] },
  probe: session(),
  server: { x224: TLS, tls: {}, session: { errorInfo: code } },
});

/** The default NTSTATUS of `nla-status`; `rdp-probe lab --nla-status CODE` chooses another. */
export const DEFAULT_NLA_STATUS = NtStatus.STATUS_ACCOUNT_DISABLED;

/** A short deadline for the hostile scenarios: their verdict must come within it (or at once). */
const HOSTILE_TIMEOUT_MS = 1500;
const hostile = (name: string, description: string, expected: Expected, server: ServerPlan, depth: Depth = 'credssp'): LabScenario => ({
  name,
  description,
  expected,
  probe: { depth, stageTimeoutMs: HOSTILE_TIMEOUT_MS, flags: `${depth === 'credssp' ? '' : `--depth ${depth} `}--timeout 1.5s` },
  server,
});
const tpktLength = (length: number, expected: Expected, what: string): LabScenario =>
  hostile(`tpkt-length-${length}`, `answers the Connection Request with a TPKT header claiming ${length} bytes (${what}), then nothing`, expected, { x224: TLS, hostile: { at: 'x224', kind: 'tpkt-length', length } });

/** Servers that misbehave on purpose: each shows a named verdict within the deadline, with bounded memory. */
const HOSTILE: LabScenario[] = [
  hostile('dribble', 'answers the Connection Request correctly, but one byte a second: the stage deadline ends it with the partial frame', { verdict: 'timeout', stage: 'x224' }, { x224: TLS, hostile: { at: 'x224', kind: 'dribble', bytesPerSecond: 1 } }),
  tpktLength(0, { verdict: 'not_rdp', stage: 'x224' }, 'shorter than its own header'),
  tpktLength(3, { verdict: 'not_rdp', stage: 'x224' }, 'shorter than its own header'),
  tpktLength(65535, { verdict: 'timeout', stage: 'x224' }, 'the longest a TPKT can claim; 19 come'),
  hostile('endless', 'answers the Connection Request with zeros at 64 KiB/s, without end', { verdict: 'not_rdp', stage: 'x224' }, { x224: TLS, hostile: { at: 'x224', kind: 'endless', fill: 0, bytesPerSecond: 64 * 1024 } }),
  hostile('tls-never-finishes', 'selects TLS, sends its ServerHello, and then nothing: the handshake never finishes', { verdict: 'tls_failure', stage: 'tls' }, { x224: TLS, tls: {}, hostile: { at: 'tls', kind: 'server-hello-only' } }),
  hostile('cert-1mb', 'selects TLS with a certificate of about 1 MB (35,000 subjectAltNames), otherwise healthy', { verdict: 'tls_failure', stage: 'tls' }, { x224: NLA, tls: {}, credssp: { version: 6 }, session: {}, hostile: { at: 'tls', kind: 'huge-cert', bytes: 1 << 20 } }),
  hostile('der-deep', 'NLA: answers the NTLM NEGOTIATE with a TSRequest of SEQUENCEs nested about 16,000 deep (as many as 64 KiB holds)', { verdict: 'nla_failure', stage: 'credssp' }, { x224: NLA, tls: {}, hostile: { at: 'credssp', kind: 'der-deep' } }),
  hostile('der-huge-length', 'NLA: answers the NTLM NEGOTIATE with a SEQUENCE claiming 0x7fffffff bytes, then zeros without end', { verdict: 'nla_failure', stage: 'credssp' }, { x224: NLA, tls: {}, hostile: { at: 'credssp', kind: 'der-huge-length', bytesPerSecond: 256 * 1024 } }),
  hostile('ntlm-bad-offsets', 'NLA: an NTLM CHALLENGE whose TargetName buffer (offset 0x7ffffff0) and AV_PAIR (AvLen 0xffff) point outside the message', { verdict: 'nla_failure', stage: 'credssp' }, { x224: NLA, tls: {}, hostile: { at: 'credssp', kind: 'ntlm-bad-offsets' } }),
  hostile('mcs-bad-per', 'answers the MCS Connect-Initial with a Connect-Response whose GCC user-data PER length runs past the end', { verdict: 'protocol_error', stage: 'mcs' }, { x224: TLS, tls: {}, session: { malformedConnectResponse: 'per-length-past-end' } }, 'session'),
  hostile('errinfo-flood', 'after licensing: Set Error Info ERRINFO_DISCONNECTED_BY_OTHERCONNECTION again and again (about 2 MB/s), without end', { verdict: 'session_refused', stage: 'activation', mstsc: [3, 5] }, { x224: TLS, tls: {}, session: { errorInfoFlood: { errorInfo: 0x5, bytesPerSecond: 2 * 1024 * 1024 } } }, 'session'),
];

export const SCENARIOS: readonly LabScenario[] = Object.freeze([
  neg('neg-ssl-required', NegFailureCode.SSL_REQUIRED_BY_SERVER, 'SSL_REQUIRED_BY_SERVER'),
  neg('neg-ssl-not-allowed', NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER, 'SSL_NOT_ALLOWED_BY_SERVER'),
  neg('neg-cert-not-on-server', NegFailureCode.SSL_CERT_NOT_ON_SERVER, 'SSL_CERT_NOT_ON_SERVER'),
  neg('neg-inconsistent-flags', NegFailureCode.INCONSISTENT_FLAGS, 'INCONSISTENT_FLAGS'),
  neg('neg-hybrid-required', NegFailureCode.HYBRID_REQUIRED_BY_SERVER, 'HYBRID_REQUIRED_BY_SERVER'),
  neg('neg-ssl-with-user-auth', NegFailureCode.SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER, 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER'),
  {
    name: 'legacy',
    description: 'a Connection Confirm without negotiation data (a pre-2003 server), then standard RDP security to a Demand Active',
    expected: { verdict: 'legacy_server', stage: 'x224' },
    probe: plain,
    server: { x224: { kind: 'legacy' }, session: {} },
  },
  cert('cert-expired', 'expired', 'a certificate that expired in 2021', 'cert-expired'),
  cert('cert-not-yet-valid', 'not-yet-valid', 'a certificate valid only from 2035', 'cert-not-yet-valid'),
  cert('cert-wrong-name', 'wrong-name', 'a certificate for wrong.example.invalid', 'cert-name-mismatch'),
  cert('cert-self-signed', 'self-signed', 'a self-signed certificate (the others come from the lab CA)', 'cert-self-signed'),
  cert('cert-sha1', 'sha1', 'a certificate signed with SHA-1', 'cert-sha1-signature'),
  cert('cert-1024', 'rsa1024', 'a 1024-bit RSA key', 'cert-weak-key'),
  {
    name: 'tls10-only',
    description: 'selects SSL, then speaks only TLS 1.0 (an unpatched 2008 R2)',
    expected: { verdict: 'tls_version_mismatch', stage: 'tls' },
    probe: plain,
    server: { x224: TLS, tls: { versions: 'tls1.0-only' }, session: {} },
  },
  {
    name: 'reset-after-cr',
    description: 'reads the Connection Request and resets the connection without an answer',
    expected: { verdict: 'connection_dropped', stage: 'x224' },
    probe: plain,
    server: { x224: { kind: 'reset' } },
  },
  {
    name: 'reset-in-tls',
    description: 'selects SSL, reads the ClientHello and resets: the broken listener certificate binding that "reset the listener" fixes',
    expected: { verdict: 'tls_failure', stage: 'tls' },
    probe: plain,
    server: { x224: TLS, tls: { resetAfterClientHello: true } },
  },
  {
    name: 'hang',
    description: 'accepts the TCP connection and the Connection Request, then never answers',
    expected: { verdict: 'no_answer', stage: 'x224' },
    probe: { depth: 'credssp', stageTimeoutMs: 1000, flags: '--timeout 1s' },
    server: { x224: { kind: 'hang' } },
  },
  credssp(2),
  credssp(3),
  credssp(5),
  credssp(6),
  {
    name: 'nla-closes-on-failure',
    description: "NLA as FreeRDP's shadow server does it: a wrong password gets no errorCode, the server closes the connection",
    expected: { verdict: 'nla_rejected', stage: 'nla_auth' },
    probe: { depth: 'auth', account: 'lab-wrong', flags: "--depth auth --user 'LAB\\lab' --password-stdin (any wrong password)" },
    server: { x224: NLA, tls: {}, credssp: { version: 6, closeOnLogonFailure: true }, session: {} },
  },
  nlaStatus('nla-logon-failure', NtStatus.STATUS_LOGON_FAILURE, 'STATUS_LOGON_FAILURE'),
  nlaStatus('nla-status', DEFAULT_NLA_STATUS, 'STATUS_ACCOUNT_DISABLED'),
  nlaStatus('nla-account-locked', NtStatus.STATUS_ACCOUNT_LOCKED_OUT, 'STATUS_ACCOUNT_LOCKED_OUT'),
  {
    name: 'early-authz-denied',
    description: 'HYBRID_EX: authenticates the delegated account, then sends the Early User Authorization Result AUTHZ_ACCESS_DENIED',
    expected: { verdict: 'not_authorized', stage: 'authz' },
    probe: delegated,
    server: { x224: NLA, tls: {}, credssp: { version: 6, earlyUserAuthResult: 5 } },
  },
  license('license-no-server', LicenseErrorCode.ERR_NO_LICENSE_SERVER, 'ERR_NO_LICENSE_SERVER'),
  license('license-total-abort', LicenseErrorCode.ERR_NO_LICENSE, 'ERR_NO_LICENSE'),
  license('license-invalid-client', LicenseErrorCode.ERR_INVALID_CLIENT, 'ERR_INVALID_CLIENT'),
  errinfo(0x7, 'ERRINFO_SERVER_DENIED_CONNECTION'),
  errinfo(0x9, 'ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES'),
  errinfo(0xa, 'ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED'),
  {
    name: 'dpum-after-connect-initial',
    description: 'answers the MCS Connect-Initial with an MCS Disconnect Provider Ultimatum',
    expected: { verdict: 'connection_dropped', stage: 'mcs', mstsc: [3, 0] },
    probe: session(),
    server: { x224: TLS, tls: {}, session: { ultimatumAfterConnectInitial: true } },
  },
  {
    name: 'mcs-connect-failed',
    description: 'answers the MCS Connect-Initial with a Connect-Response whose result is rt-parameters-unacceptable',
    expected: { verdict: 'mcs_failure', stage: 'mcs' },
    probe: session(),
    server: { x224: TLS, tls: {}, session: { connectResult: 8 } },
  },
  {
    name: 'redirect',
    description: 'a connection broker: after licensing, a Server Redirection PDU naming the session host rdsh01.lab.test',
    expected: { verdict: 'redirected', stage: 'activation' },
    probe: session(),
    server: {
      x224: TLS,
      tls: {},
      session: { redirect: { sessionId: 2, targetNetAddress: '192.0.2.17', targetFqdn: 'rdsh01.lab.test', targetNetBiosName: 'RDSH01', loadBalanceInfo: new TextEncoder().encode('tsv://MS Terminal Services Plugin.1.Desktops\r\n') } },
    },
  },
  {
    name: 'connects',
    description: 'a healthy TLS server: MCS, licensing (valid client) and a Demand Active',
    expected: { verdict: 'connects' },
    probe: session(),
    server: { x224: TLS, tls: {}, session: {} },
  },
  {
    name: 'connects-rdp-security',
    description: 'standard RDP security at HIGH: a proprietary certificate signed with the Terminal Services key, RC4 128-bit both ways, a Demand Active',
    expected: { verdict: 'connects', fact: { stage: 'security', key: 'encryptionMethod', value: '128BIT' } },
    probe: { depth: 'session', requestedProtocols: SecurityProtocol.PROTOCOL_RDP, flags: '--depth session --protocols rdp' },
    server: { x224: { kind: 'select', protocol: 'rdp' }, session: {} },
  },
  // The names `check --lab` has always taken.
  {
    name: 'nla',
    description: 'NLA required (CredSSP 6, HYBRID_EX); the lab account reaches a session when delegated',
    expected: { verdict: 'ok', fact: { stage: 'credssp', key: 'serverVersion', value: 6 } },
    probe: plain,
    server: { x224: NLA, tls: {}, credssp: { version: 6 }, session: {} },
  },
  {
    name: 'old-credssp',
    description: 'NLA with an unpatched CredSSP 3 server (before CVE-2018-0886)',
    expected: { verdict: 'ok', fact: { stage: 'credssp', key: 'serverVersion', value: 3 } },
    probe: plain,
    server: { x224: NLA, tls: {}, credssp: { version: 3 }, session: {} },
  },
  {
    name: 'access-denied',
    description: 'the lab account authenticates but may not log on (AUTHZ_ACCESS_DENIED), as early-authz-denied',
    expected: { verdict: 'not_authorized', stage: 'authz' },
    probe: delegated,
    server: { x224: NLA, tls: {}, credssp: { version: 6, earlyUserAuthResult: 5 } },
  },
  ...HOSTILE,
]);

export const SCENARIO_NAMES: readonly string[] = Object.freeze(SCENARIOS.map((s) => s.name));

export function scenario(name: string): LabScenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** "negotiation_failure at x224", "ok (finding cert-expired)", "connects". */
export function expectedText(e: Expected): string {
  const base = e.stage ? `${e.verdict} at ${e.stage}` : e.verdict;
  return e.finding ? `${base} + ${e.finding}` : base;
}
