/**
 * The report shape. Stage ids (snake_case), finding ids (kebab-case) and JSON keys (camelCase) are public API:
 * changing one bumps SCHEMA_VERSION.
 */

export const SCHEMA_VERSION = 1;

export const STAGES = [
  'dns',
  'tcp',
  'x224',
  'tls',
  'credssp',
  'nla_auth',
  'authz',
  'mcs',
  'security',
  'licensing',
  'activation',
] as const;
export type Stage = (typeof STAGES)[number];

export type StageStatus = 'ok' | 'failed' | 'skipped' | 'not_reached';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

/** The raw bytes that decided a stage, with where they came from. */
export interface FrameEvidence {
  direction: 'server' | 'client';
  /** Hex of the frame (truncated for very large frames). */
  hex: string;
  /** Byte length of the whole frame. */
  length: number;
  /** Decoded name of the PDU, e.g. "X.224 Connection Confirm / RDP_NEG_FAILURE". */
  pdu?: string;
}

/** 'local' = this machine (out of descriptors, ports, memory; a local file), never the target. */
export type ErrorLayer = 'transport' | 'protocol' | 'peer' | 'internal' | 'policy' | 'local';

/** A failure as data. `kind` is a stable id; `code`/`codeName` carry the spec code when there is one. */
export interface StageError {
  layer: ErrorLayer;
  kind: string;
  /** One plain sentence, lower case, no trailing period. */
  message: string;
  code?: number;
  codeName?: string;
  /** Spec reference for the code, e.g. "MS-RDPBCGR 2.2.1.2.2". */
  spec?: string;
  /** The local library's own error code (e.g. Node's ERR_SSL_*), when it adds something to codeName. */
  localCode?: string;
  /** DecodeError path, for protocol errors. */
  path?: string;
  offset?: number;
}

export interface StageResult {
  stage: Stage;
  status: StageStatus;
  /** Milliseconds since the probe started, when the stage began. */
  startMs?: number;
  durationMs?: number;
  /** Why a stage was skipped (depth, selected protocol, …). */
  reason?: string;
  facts?: Record<string, unknown>;
  error?: StageError;
  evidence?: FrameEvidence[];
}

export interface Finding {
  id: string;
  severity: Severity;
  stage: Stage;
  message: string;
  evidence?: Record<string, string | number | boolean | null>;
}

export type VerdictId =
  | 'ok'
  | 'dns_failure'
  | 'port_closed'
  | 'filtered'
  | 'unreachable'
  | 'no_answer'
  | 'not_rdp'
  | 'connection_dropped'
  | 'negotiation_failure'
  | 'legacy_server'
  | 'protocol_error'
  | 'tls_failure'
  | 'tls_version_mismatch'
  | 'tls_server_setup_failure'
  | 'nla_failure'
  | 'nla_rejected'
  | 'not_authorized'
  | 'untrusted_certificate'
  | 'possible_mitm'
  | 'network_error'
  | 'timeout'
  | 'cancelled'
  | 'local_failure'
  | 'internal_error'
  | 'connects'
  | 'mcs_failure'
  | 'security_failure'
  | 'license_failure'
  | 'session_refused'
  | 'redirected';

/** Every verdict, for tests and documentation (README's verdict table lists the same ids). */
export const VERDICT_IDS: readonly VerdictId[] = [
  'ok', 'dns_failure', 'port_closed', 'filtered', 'unreachable', 'no_answer', 'not_rdp', 'connection_dropped', 'negotiation_failure',
  'legacy_server', 'protocol_error', 'tls_failure', 'tls_version_mismatch', 'tls_server_setup_failure', 'nla_failure', 'nla_rejected',
  'not_authorized', 'untrusted_certificate', 'possible_mitm', 'network_error', 'timeout', 'cancelled', 'local_failure', 'internal_error',
  'connects', 'mcs_failure', 'security_failure', 'license_failure', 'session_refused', 'redirected',
];

export interface Verdict {
  id: VerdictId;
  /** The stage where the connection died, absent when every stage run passed. */
  stage?: Stage;
  /** One sentence for a human. */
  summary: string;
  /** What usually fixes it. */
  fixes: string[];
  /** How mstsc would show this failure ("error code" / "extended error code"), where the mapping is known. */
  mstsc?: { disconnectReason: number; extendedReason: number; text: string };
}

export interface ProbeTarget {
  /** As the user typed it (name or address). */
  host: string;
  port: number;
  /** Resolved address used for the connection. */
  address?: string;
}

export interface ProbeReport {
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: 'rdp-probe'; version: string };
  target: ProbeTarget;
  startedAt: string;
  durationMs: number;
  depth: Depth;
  verdict: Verdict;
  /** Every stage of STAGES, in order. */
  stages: StageResult[];
  findings: Finding[];
  /** Protocol enumeration, when it ran. */
  enumeration?: Enumeration;
  anomalies: string[];
}

export type Depth = 'tcp' | 'x224' | 'tls' | 'credssp' | 'auth' | 'session';

export const PROTOCOL_NAMES = ['RDP', 'SSL', 'HYBRID', 'HYBRID_EX', 'RDSTLS', 'RDSAAD'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

export interface ProtocolAnswer {
  protocol: ProtocolName;
  /** true/false when known; null when no connection could tell. */
  accepted: boolean | null;
  /** observed = a connection asked exactly this; inferred = deduced from another answer. */
  how: 'observed' | 'inferred' | 'unknown';
  /** requestedProtocols value of the connection that told, and what came back. */
  requested?: number;
  answer?: string;
}

export interface EncryptionMethodAnswer {
  method: 'NONE' | '40BIT' | '56BIT' | '128BIT' | 'FIPS';
  /** null when the connection could not tell (closed before the Connect-Response, cut by the deadline). */
  accepted: boolean | null;
  /** What the server did: "chose 128BIT", "disconnected (rn-provider-initiated)" … */
  answer: string;
}

export interface Enumeration {
  protocols: ProtocolAnswer[];
  connections: number;
  nla: 'required' | 'offered' | 'not_supported' | 'unknown';
  standardRdpSecurity: 'allowed' | 'refused' | 'unknown';
  restrictedAdmin: boolean | null;
  redirectedAuthentication: boolean | null;
  /**
   * Standard RDP security: which encryption methods the server accepts, one connection each offering only that
   * method (as nmap's rdp-enum-encryption asks); present when standard security is allowed.
   */
  encryptionMethods?: EncryptionMethodAnswer[];
  /** The encryption level the server announced on those connections. */
  encryptionLevel?: string;
  /** Flags byte of the first RDP_NEG_RSP seen. */
  negotiationFlags?: number;
}
