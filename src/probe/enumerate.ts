/**
 * Protocol enumeration, pure: which security protocols the server accepts, judged by the selectedProtocol it
 * returns to a request for exactly that protocol (a response alone proves nothing: xrdp answers a HYBRID-only
 * request by selecting RDP). Each answer also settles what it implies for the others, so the planner asks only
 * the questions still open.
 */
import { NegFailureCode, NegRspFlags, protocolNames, SecurityProtocol } from '../protocol/nego.js';
import type { X224Outcome } from '../connector/x224-connector.js';
import type { Enumeration, ProtocolAnswer, ProtocolName } from './types.js';
import { PROTOCOL_NAMES } from './types.js';

const BIT: Record<ProtocolName, number> = {
  RDP: SecurityProtocol.PROTOCOL_RDP,
  SSL: SecurityProtocol.PROTOCOL_SSL,
  HYBRID: SecurityProtocol.PROTOCOL_HYBRID,
  HYBRID_EX: SecurityProtocol.PROTOCOL_HYBRID_EX,
  RDSTLS: SecurityProtocol.PROTOCOL_RDSTLS,
  RDSAAD: SecurityProtocol.PROTOCOL_RDSAAD,
};

/** The request that asks about one protocol. HYBRID_EX is only valid together with HYBRID. */
export const QUESTION: Record<ProtocolName, number> = {
  RDP: 0,
  SSL: SecurityProtocol.PROTOCOL_SSL,
  HYBRID: SecurityProtocol.PROTOCOL_HYBRID,
  HYBRID_EX: SecurityProtocol.PROTOCOL_HYBRID | SecurityProtocol.PROTOCOL_HYBRID_EX,
  RDSTLS: SecurityProtocol.PROTOCOL_RDSTLS,
  RDSAAD: SecurityProtocol.PROTOCOL_RDSAAD,
};

const ASK_ORDER: ProtocolName[] = ['SSL', 'HYBRID', 'RDP', 'HYBRID_EX', 'RDSTLS', 'RDSAAD'];
const TLS_BASED: ProtocolName[] = ['SSL', 'HYBRID', 'HYBRID_EX'];

function nameOf(bit: number): ProtocolName | undefined {
  return PROTOCOL_NAMES.find((p) => BIT[p] === bit);
}

export class EnumerationPlanner {
  private readonly answers = new Map<ProtocolName, ProtocolAnswer>();
  private connections = 0;
  private flags: number | undefined;
  /** The server has no certificate (SSL_CERT_NOT_ON_SERVER): its TLS-based protocols are off for now, not unsupported. */
  private certMissing = false;

  constructor() {
    for (const p of PROTOCOL_NAMES) this.answers.set(p, { protocol: p, accepted: null, how: 'unknown' });
  }

  /** The next request to send, or undefined when every protocol is settled (or asked once already). */
  next(): number | undefined {
    for (const p of ASK_ORDER) {
      const a = this.answers.get(p)!;
      if (a.accepted === null && a.requested !== QUESTION[p]) return QUESTION[p];
    }
    return undefined;
  }

  private set(p: ProtocolName, accepted: boolean, how: 'observed' | 'inferred', requested: number, answer: string): void {
    const cur = this.answers.get(p)!;
    if (cur.how === 'observed' && how === 'inferred') return;
    if (cur.accepted !== null && how === 'inferred') return;
    this.answers.set(p, { protocol: p, accepted, how, requested, answer });
  }

  private markAsked(p: ProtocolName | undefined, requested: number, answer: string): void {
    if (!p) return;
    const cur = this.answers.get(p)!;
    if (cur.accepted === null) this.answers.set(p, { ...cur, requested, answer });
  }

  /** A connection our own deadline cut (or the caller stopped): it answers nothing, and is not asked again. */
  recordCut(requested: number, why: string): void {
    this.connections++;
    this.markAsked(PROTOCOL_NAMES.find((p) => QUESTION[p] === requested), requested, why);
  }

  /** Records what one connection that sent `requested` learned. */
  record(requested: number, outcome: X224Outcome): void {
    this.connections++;
    const exact = PROTOCOL_NAMES.find((p) => QUESTION[p] === requested);
    if (outcome.ok) {
      const sel = outcome.selectedProtocol;
      const answer = outcome.legacy ? 'Connection Confirm without negotiation data' : `selected ${protocolNames(sel)}`;
      if (!outcome.legacy && outcome.responseFlags !== undefined && this.flags === undefined) this.flags = outcome.responseFlags;
      const selName = nameOf(sel);
      if (selName) this.set(selName, true, 'observed', requested, answer);
      if (outcome.legacy) {
        for (const p of PROTOCOL_NAMES) if (p !== 'RDP') this.set(p, false, 'inferred', requested, answer);
        return;
      }
      if (exact && exact !== selName) this.set(exact, false, 'observed', requested, answer);
      return;
    }
    const code = outcome.error.kind === 'negotiation_failure' ? outcome.error.code : undefined;
    const answer = code !== undefined ? `RDP_NEG_FAILURE ${outcome.error.codeName}` : outcome.error.kind;
    if (code === undefined) {
      // A definite refusal from the server (Disconnect Request, MCS Disconnect Provider Ultimatum) answers an exact
      // question; a timeout, a close or a network error answers nothing.
      // A bare close or reset is not counted: a busy server (xrdp's listen backlog is 2) drops connections too.
      const definite = outcome.error.kind === 'disconnect_request' || outcome.error.kind === 'unexpected_pdu';
      if (exact && definite) this.set(exact, false, 'observed', requested, answer);
      else this.markAsked(exact, requested, answer);
      return;
    }
    if (code === NegFailureCode.HYBRID_REQUIRED_BY_SERVER && (exact === 'HYBRID' || exact === 'HYBRID_EX')) {
      // "CredSSP is required" in answer to a request for CredSSP contradicts itself: it says nothing about NLA.
      this.markAsked(exact, requested, answer);
      this.set('RDP', false, 'inferred', requested, answer);
      this.set('SSL', false, 'inferred', requested, answer);
      return;
    }
    if (exact) this.set(exact, false, 'observed', requested, answer);
    switch (code) {
      case NegFailureCode.SSL_REQUIRED_BY_SERVER:
        this.set('RDP', false, 'inferred', requested, answer);
        break;
      case NegFailureCode.SSL_NOT_ALLOWED_BY_SERVER:
        for (const p of TLS_BASED) this.set(p, false, 'inferred', requested, answer);
        this.set('RDP', true, 'inferred', requested, answer);
        break;
      case NegFailureCode.SSL_CERT_NOT_ON_SERVER:
        this.certMissing = true;
        for (const p of TLS_BASED) this.set(p, false, 'inferred', requested, answer);
        break;
      case NegFailureCode.HYBRID_REQUIRED_BY_SERVER:
        this.set('RDP', false, 'inferred', requested, answer);
        this.set('SSL', false, 'inferred', requested, answer);
        break;
      default:
        break;
    }
  }

  /** Every refusal of these protocols came from an SSL_CERT_NOT_ON_SERVER answer. */
  private onlyCertMissing(...ps: ProtocolName[]): boolean {
    return this.certMissing && ps.every((p) => this.answers.get(p)!.answer?.includes('SSL_CERT_NOT_ON_SERVER') === true);
  }

  result(): Enumeration {
    const protocols = PROTOCOL_NAMES.map((p) => this.answers.get(p)!);
    const acc = (p: ProtocolName): boolean | null => this.answers.get(p)!.accepted;
    const nlaYes = acc('HYBRID') === true || acc('HYBRID_EX') === true;
    const nlaNo = acc('HYBRID') === false && acc('HYBRID_EX') === false;
    let nla: Enumeration['nla'] = 'unknown';
    if (nlaYes) {
      if (acc('RDP') === false && acc('SSL') === false) nla = 'required';
      else if (acc('RDP') === true || acc('SSL') === true) nla = 'offered';
    } else if (nlaNo && !this.onlyCertMissing('HYBRID', 'HYBRID_EX')) nla = 'not_supported';
    const rdp = acc('RDP');
    return {
      protocols,
      connections: this.connections,
      nla,
      standardRdpSecurity: rdp === true ? 'allowed' : rdp === false ? 'refused' : 'unknown',
      restrictedAdmin: this.flags === undefined ? null : (this.flags & NegRspFlags.RESTRICTED_ADMIN_MODE_SUPPORTED) !== 0,
      redirectedAuthentication: this.flags === undefined ? null : (this.flags & NegRspFlags.REDIRECTED_AUTHENTICATION_MODE_SUPPORTED) !== 0,
      ...(this.flags !== undefined ? { negotiationFlags: this.flags } : {}),
    };
  }
}
