/**
 * The pure X.224 negotiation step: bytes in, actions out. No sockets, timers or clocks here; the driver
 * (src/transport/drive.ts) feeds it frames and tells it about closes and deadlines.
 */
import { concat } from '../protocol/codec/bytes.js';
import { DecodeError } from '../protocol/codec/errors.js';
import { toHex } from '../protocol/hex.js';
import {
  flagNames,
  negFailureName,
  NegFailureCode,
  NegReqFlags,
  NegRspFlags,
  protocolNames,
  SecurityProtocol,
} from '../protocol/nego.js';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import { decodeMcsDisconnectProviderUltimatum, decodeX224Frame, encodeConnectionRequest, type X224Pdu } from '../protocol/x224.js';
import type { FrameEvidence, StageError } from '../model/report.js';
import { describeNonRdp } from './banners.js';

export interface X224Config {
  requestedProtocols: number;
  negFlags: number;
  /** mstshash cookie; absent = no cookie (the probe's default: no user name on the wire). */
  cookie?: string;
}

export interface X224Facts {
  requestedProtocols: number;
  requested: string;
  /** RDP_NEG_REQ flags, when any were sent (RESTRICTED_ADMIN_MODE_REQUIRED …). */
  requestFlags?: string[];
  selectedProtocol?: number;
  selected?: string;
  responseFlags?: number;
  responseFlagNames?: string[];
  failureCode?: number;
  failureName?: string;
  legacy?: boolean;
  srcRef?: number;
}

/** What the negotiation concluded; `ok` includes a legacy confirm (it is an answer, not a failure). */
export type X224Outcome =
  | { ok: true; facts: X224Facts; evidence: FrameEvidence; selectedProtocol: number; legacy: boolean; responseFlags?: number }
  | { ok: false; facts: X224Facts; evidence?: FrameEvidence; error: StageError };

export type X224Action = { type: 'send'; bytes: Uint8Array; pdu: string } | { type: 'done'; outcome: X224Outcome };

const NEG_FAILURE_SENTENCES: Record<number, string> = {
  [NegFailureCode.SSL_REQUIRED_BY_SERVER]: 'the server requires TLS (or CredSSP) and refused the security protocols offered',
  [NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER]: 'the server allows only standard RDP security and refused TLS',
  [NegFailureCode.SSL_CERT_NOT_ON_SERVER]: 'the server has no usable TLS certificate, so TLS cannot start',
  [NegFailureCode.INCONSISTENT_FLAGS]: 'the server found the requested protocol flags inconsistent with its configuration',
  [NegFailureCode.HYBRID_REQUIRED_BY_SERVER]: 'the server requires network level authentication (CredSSP/NLA)',
  [NegFailureCode.SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER]: 'the server requires TLS with client certificate authentication',
};

/** A non-TPKT reply is judged once this many bytes (or a line end) are in. */
const NON_RDP_JUDGE_BYTES = 16;

export class X224Connector {
  private buffer: Uint8Array = new Uint8Array(0);
  private finished = false;
  readonly facts: X224Facts;

  constructor(readonly config: X224Config) {
    this.facts = {
      requestedProtocols: config.requestedProtocols,
      requested: protocolNames(config.requestedProtocols),
      ...(config.negFlags !== 0 ? { requestFlags: flagNames(config.negFlags, NegReqFlags) } : {}),
    };
  }

  get isDone(): boolean {
    return this.finished;
  }

  start(): X224Action[] {
    const neg = { flags: this.config.negFlags, requestedProtocols: this.config.requestedProtocols };
    const bytes = encodeConnectionRequest(this.config.cookie !== undefined ? { cookie: this.config.cookie, neg } : { neg });
    return [{ type: 'send', bytes, pdu: 'X.224 Connection Request / RDP_NEG_REQ' }];
  }

  /** Bytes after the Connection Confirm frame (must be empty before a TLS upgrade). */
  leftover(): Uint8Array {
    return this.buffer;
  }

  /** Feed bytes as they arrive (any split). */
  receive(chunk: Uint8Array): X224Action[] {
    if (this.finished) return [];
    this.buffer = concat(this.buffer, chunk);
    let len: number | undefined;
    try {
      len = frameLengthTpkt(this.buffer);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      // Not TPKT. Wait for a line or a few bytes so a banner that arrives in pieces is still named.
      const b = this.buffer;
      const recognisable = b[0] === 0x03 || ((b[0] === 0x15 || b[0] === 0x16) && b[1] === 0x03);
      if (!recognisable && b.length < NON_RDP_JUDGE_BYTES && !b.includes(0x0a)) return [];
      return this.finish(this.notRdp('the reply is not TPKT'));
    }
    if (len === undefined || this.buffer.length < len) return [];
    const frame = this.buffer.subarray(0, len);
    this.buffer = this.buffer.slice(len);
    return this.finish(this.onFrame(frame));
  }

  /** The peer closed (FIN) or reset the connection before a whole answer arrived. */
  closed(how: 'eof' | 'reset'): X224Action[] {
    if (this.finished) return [];
    if (this.buffer.length > 0) return this.finish(this.partialAnswer(how === 'eof' ? ', then closed the connection' : ', then reset the connection'));
    const kind = how === 'eof' ? 'closed_after_request' : 'reset_after_request';
    const message =
      how === 'eof'
        ? 'the server accepted the TCP connection and closed it right after the X.224 Connection Request, without an answer'
        : 'the server reset the connection right after the X.224 Connection Request, without an answer';
    return this.finish({ ok: false, facts: this.facts, error: { layer: 'peer', kind, message } });
  }

  /** The stage deadline passed. */
  timedOut(ms: number): X224Action[] {
    if (this.finished) return [];
    // Bytes came, but not a whole frame: a stall or a dribble that the deadline cut, not a malformed answer.
    if (this.buffer.length > 0) return this.finish(this.partialAnswer(` by the end of the ${ms} ms stage deadline`, 'transport'));
    return this.finish({
      ok: false,
      facts: this.facts,
      error: {
        layer: 'transport',
        kind: 'timeout',
        message: `the server accepted the TCP connection but sent no X.224 answer within ${ms} ms`,
      },
    });
  }

  private finish(outcome: X224Outcome): X224Action[] {
    this.finished = true;
    return [{ type: 'done', outcome }];
  }

  private evidence(frame: Uint8Array, pdu: string): FrameEvidence {
    return { direction: 'server', hex: toHex(frame), length: frame.length, pdu };
  }

  private notRdp(why: string): X224Outcome {
    const what = describeNonRdp(this.buffer);
    return {
      ok: false,
      facts: this.facts,
      evidence: { ...this.evidence(this.buffer.subarray(0, 256), what.name), length: this.buffer.length },
      error: { layer: 'protocol', kind: 'not_rdp', message: `${why}: ${what.sentence}` },
    };
  }

  /** Some bytes came, but not a whole frame. */
  private partialAnswer(then: string, layer: 'protocol' | 'transport' = 'protocol'): X224Outcome {
    const b = this.buffer;
    if (b[0] !== 0x03) return this.notRdp(`the reply is not TPKT${then}`);
    // A TPKT header whose X.224 code is not a TPDU code, or a reply that never completes: not an RDP server.
    const code = b.length > 5 ? b[5]! & 0xf0 : undefined;
    const plausible = code === undefined || code === 0xd0 || code === 0x80 || code === 0xf0;
    if (!plausible) return this.notRdp(`the reply looks like a TPKT header but is not X.224${then}`);
    const declared = b.length >= 4 ? (b[2]! << 8) | b[3]! : undefined;
    return {
      ok: false,
      facts: this.facts,
      evidence: this.evidence(b, 'truncated TPKT frame'),
      error: {
        layer,
        kind: 'truncated_answer',
        message: `the server sent ${b.length} of ${declared ?? '?'} bytes of an X.224 answer${then}`,
      },
    };
  }

  private onFrame(frame: Uint8Array): X224Outcome {
    let pdu: X224Pdu;
    try {
      pdu = decodeX224Frame(frame);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return {
        ok: false,
        facts: this.facts,
        evidence: this.evidence(frame, 'malformed X.224 frame'),
        error: { layer: 'protocol', kind: 'malformed_answer', message: `malformed X.224 answer: ${e.message}`, path: e.path.join(' > '), offset: e.offset },
      };
    }
    switch (pdu.type) {
      case 'connection_confirm': {
        this.facts.srcRef = pdu.srcRef;
        if (!pdu.neg) {
          this.facts.legacy = true;
          this.facts.selectedProtocol = SecurityProtocol.PROTOCOL_RDP;
          this.facts.selected = 'RDP';
          return { ok: true, facts: this.facts, evidence: this.evidence(frame, 'X.224 Connection Confirm (no negotiation data)'), selectedProtocol: 0, legacy: true };
        }
        if (pdu.neg.type === 'failure') {
          const code = pdu.neg.failureCode;
          this.facts.failureCode = code;
          this.facts.failureName = negFailureName(code);
          return {
            ok: false,
            facts: this.facts,
            evidence: this.evidence(frame, 'X.224 Connection Confirm / RDP_NEG_FAILURE'),
            error: {
              layer: 'peer',
              kind: 'negotiation_failure',
              code,
              codeName: this.facts.failureName,
              spec: 'MS-RDPBCGR 2.2.1.2.2',
              message: NEG_FAILURE_SENTENCES[code] ?? `the server refused the negotiation with an unknown failure code ${code}`,
            },
          };
        }
        const sel = pdu.neg.selectedProtocol;
        this.facts.selectedProtocol = sel;
        this.facts.selected = protocolNames(sel);
        this.facts.responseFlags = pdu.neg.flags;
        this.facts.responseFlagNames = flagNames(pdu.neg.flags, NegRspFlags);
        const requested = this.config.requestedProtocols;
        const known = [0, SecurityProtocol.PROTOCOL_SSL, SecurityProtocol.PROTOCOL_HYBRID, SecurityProtocol.PROTOCOL_RDSTLS, SecurityProtocol.PROTOCOL_HYBRID_EX, SecurityProtocol.PROTOCOL_RDSAAD];
        if (!known.includes(sel) || (sel !== 0 && (sel & requested) !== sel)) {
          return {
            ok: false,
            facts: this.facts,
            evidence: this.evidence(frame, 'X.224 Connection Confirm / RDP_NEG_RSP'),
            error: {
              layer: 'protocol',
              kind: 'unrequested_protocol',
              message: `the server selected ${this.facts.selected}, which the client did not offer (${this.facts.requested})`,
              spec: 'MS-RDPBCGR 2.2.1.2.1',
            },
          };
        }
        return {
          ok: true,
          facts: this.facts,
          evidence: this.evidence(frame, 'X.224 Connection Confirm / RDP_NEG_RSP'),
          selectedProtocol: sel,
          legacy: false,
          responseFlags: pdu.neg.flags,
        };
      }
      case 'disconnect_request':
        return {
          ok: false,
          facts: this.facts,
          evidence: this.evidence(frame, 'X.224 Disconnect Request'),
          error: { layer: 'peer', kind: 'disconnect_request', code: pdu.reason, message: `the server answered with an X.224 Disconnect Request (reason ${pdu.reason})` },
        };
      case 'data': {
        const dpu = decodeMcsDisconnectProviderUltimatum(pdu.data);
        const what = dpu ? `an MCS Disconnect Provider Ultimatum (${dpu.reasonName})` : 'an X.224 Data TPDU';
        return {
          ok: false,
          facts: this.facts,
          evidence: this.evidence(frame, dpu ? 'MCS Disconnect Provider Ultimatum' : 'X.224 Data'),
          error: { layer: 'peer', kind: 'unexpected_pdu', message: `the server answered the Connection Request with ${what} instead of a Connection Confirm` },
        };
      }
      default:
        return {
          ok: false,
          facts: this.facts,
          evidence: this.evidence(frame, `X.224 ${pdu.type}`),
          error: { layer: 'protocol', kind: 'unexpected_pdu', message: `the server answered the Connection Request with an X.224 ${pdu.type.replace('_', ' ')}` },
        };
    }
  }
}
