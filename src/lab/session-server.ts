/**
 * The server side of the session sequence, pure: MCS Connect-Initial → Connect-Response → Erect Domain / Attach
 * User → Channel Joins → [standard RDP security: Security Exchange] → Client Info → licensing → Demand Active (or
 * the failure a scenario scripts: Set Error Info, a license error, a redirection, a failed Connect-Response, an
 * ultimatum). Bytes in, actions out; randomness (the server random) and the RSA key come in through the config,
 * so the lab's socket code only moves bytes.
 *
 * It is also a verifier of the client: every PDU must decode strictly, the Client Info is decoded and its password
 * is only ever looked at to say whether one came and whether it is the lab account's (it is never kept). Under
 * standard RDP security the client random is decrypted with the lab's private key and every PDU after the
 * exchange is really encrypted and MAC-checked in both directions, so the client's session keys are tested.
 */
import { concat } from '../protocol/codec/bytes.js';
import { DecodeError, EncodeError } from '../protocol/codec/errors.js';
import { ClientEarlyCapabilityFlags, ClusterFlags, decodeClientConnectInitial, encryptionMethodNames } from '../protocol/gcc/client-data.js';
import { encodeServerConnectResponse, encodeServerData } from '../protocol/gcc/server-data.js';
import {
  decodeMcsDomainPdu,
  encodeMcsAttachUserConfirm,
  encodeMcsChannelJoinConfirm,
  encodeMcsDisconnectProviderUltimatum,
  encodeMcsSendDataIndication,
} from '../protocol/mcs/domain.js';
import { decodeClientInfo } from '../protocol/client-info.js';
import { encodeLicenseErrorAlert, encodeValidClientAlert } from '../protocol/licensing.js';
import { ENCRYPTION_LEVEL, ENCRYPTION_METHOD, SEC, encryptionMethodName } from '../protocol/security/constants.js';
import { encodeProprietaryCertificate } from '../protocol/security/proprietary-cert.js';
import { decodeSecurityExchangePdu, decryptClientRandom } from '../protocol/security/exchange.js';
import { deriveFipsKeys, deriveSessionKeys } from '../protocol/security/keys.js';
import { FipsSecurity, StandardSecurity, type SecurityLayer } from '../protocol/security/cipher.js';
import { unwrapSecured, wrapSecured } from '../protocol/security/header.js';
import type { RsaPrivateKey } from '../protocol/security/rsa.js';
import { defaultServerCapabilities } from '../protocol/share/capabilities.js';
import { encodeDemandActive } from '../protocol/share/demand-active.js';
import { ControlAction, encodeControlPdu, encodeFontMapPdu, encodeSynchronizePdu } from '../protocol/share/data.js';
import { decodeSharePdus } from '../protocol/share/index.js';
import { encodeSetErrorInfo } from '../protocol/share/error-info.js';
import { encodeEnhancedSecurityRedirection, type ServerRedirectionInput } from '../protocol/share/redirection.js';
import { frameLengthTpkt } from '../protocol/tpkt.js';
import { decodeX224Frame, encodeDataTpdu } from '../protocol/x224.js';
import type { LabUser } from './credssp-server.js';

/** What the server does once the client has asked; absent fields mean "like a healthy Windows server". */
export interface SessionScript {
  /** A non-zero T.125 result in the Connect-Response (8 = rt-parameters-unacceptable). */
  connectResult?: number;
  /** Answer the Connect-Initial with an MCS Disconnect Provider Ultimatum instead of a Connect-Response. */
  ultimatumAfterConnectInitial?: boolean;
  /** A License Error instead of STATUS_VALID_CLIENT, then an ultimatum. */
  license?: { errorCode: number; stateTransition: number };
  /** After licensing: Set Error Info with this ERRINFO, then an ultimatum. */
  errorInfo?: number;
  /** After licensing: a Server Redirection PDU (enhanced security: TLS only). */
  redirect?: ServerRedirectionInput;
  /** Hostile: a Connect-Response whose GCC user-data PER length runs past the end of the PDU. */
  malformedConnectResponse?: 'per-length-past-end';
  /** Hostile: after licensing, Set Error Info with this ERRINFO again and again, at about this rate, without end (TLS only). */
  errorInfoFlood?: { errorInfo: number; bytesPerSecond: number };
}

export interface SessionServerConfig {
  /** selectedProtocol of the X.224 answer (0 = standard RDP security). */
  selectedProtocol: number;
  /** requestedProtocols of the client's X.224 request, echoed in SC_CORE; undefined for a legacy answer. */
  requestedProtocols?: number;
  script: SessionScript;
  /** Standard RDP security: 32 random bytes, and the key of the proprietary certificate. */
  serverRandom?: Uint8Array;
  rsaKey?: RsaPrivateKey;
  /** Standard RDP security: default HIGH (FIPS when the client offers only FIPS). */
  encryptionLevel?: number;
  /** Who may log on with a Client Info password (only whether it matches is recorded). */
  users?: readonly LabUser[];
}

export type SessionServerAction =
  | { type: 'send'; bytes: Uint8Array; pdu: string }
  /** End the connection (after what was sent). */
  | { type: 'close'; reason: string }
  /** Send `bytes` again and again at about `bytesPerSecond` until the client leaves (a hostile scenario's flood). */
  | { type: 'repeat'; bytes: Uint8Array; pdu: string; bytesPerSecond: number };

export interface ClientInfoObservation {
  user: string;
  domain: string;
  flags: string[];
  /** cbPassword was not zero: the client put a password in the Client Info. */
  passwordSent: boolean;
  /** Set when a password came: it is the password of the user it names in `users`. */
  passwordMatches?: boolean;
  /** The PDU came encrypted (standard RDP security), and its MAC verified. */
  encrypted: boolean;
}

export interface SessionServerObservations {
  connectInitial?: {
    clientName: string;
    /** CS_CORE.serverSelectedProtocol (what the client says the server chose). */
    serverSelectedProtocol?: number;
    earlyCapabilityFlags?: number;
    supportsErrorInfo: boolean;
    encryptionMethods: string[];
    channels: string[];
    /** CS_CLUSTER asks for the console session (mstsc /admin). */
    console: boolean;
  };
  /** The method and level the server chose (standard RDP security). */
  encryption?: { method: string; level: number };
  erectDomain: boolean;
  userId?: number;
  joined: number[];
  /** The client random decrypted with the lab's private key; session keys derived on the server side. */
  securityExchange?: 'ok';
  clientInfo?: ClientInfoObservation;
  /** PDUs from the client that were decrypted and whose MAC verified. */
  decryptedFromClient: number;
  /** After the Demand Active: the client's Confirm Active came, and the finalization ran to the Font Map. */
  confirmActive: boolean;
  finalized: boolean;
  /** The client ended the connection politely (MCS Disconnect Provider Ultimatum), with this reason. */
  clientUltimatum?: string;
  sent: string[];
  problems: string[];
}

type State = 'connect_initial' | 'domain' | 'security_exchange' | 'client_info' | 'after_demand_active' | 'done';

/** The user channel id this server hands out, its I/O channel, and the server's own MCS user id. */
const USER_ID = 1007;
const IO_CHANNEL = 1003;
const SERVER_USER = 1002;
const SHARE_ID = 0x000103ea;
/** T.125 reasons: rn-provider-initiated (the server ends it). */
const RN_PROVIDER_INITIATED = 1;
const MAX_BUFFER = 1 << 20;

export class SessionServer {
  readonly observed: SessionServerObservations = { erectDomain: false, joined: [], decryptedFromClient: 0, confirmActive: false, finalized: false, sent: [], problems: [] };
  private state: State = 'connect_initial';
  private buffer: Uint8Array = new Uint8Array(0);
  private channels: number[] = [];
  private method = 0;
  private level = 0;
  private security?: SecurityLayer;

  constructor(readonly config: SessionServerConfig) {
    if (this.standard && (!config.rsaKey || config.serverRandom?.length !== 32)) throw new EncodeError('standard RDP security needs the lab RSA key and a 32-byte server random');
  }

  get isDone(): boolean {
    return this.state === 'done';
  }

  private get standard(): boolean {
    return (this.config.selectedProtocol & 0x0f) === 0;
  }

  /** Bytes from the client (after TLS, or raw under standard RDP security), in any chunking. */
  receive(chunk: Uint8Array): SessionServerAction[] {
    if (this.isDone) return [];
    this.buffer = this.buffer.length === 0 ? chunk.slice() : concat(this.buffer, chunk);
    const out: SessionServerAction[] = [];
    // Bounded: each pass consumes one whole frame or stops.
    for (let guard = 0; guard < 256 && !this.isDone; guard++) {
      let len: number | undefined;
      try {
        len = frameLengthTpkt(this.buffer);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return [...out, ...this.giveUp(`the client sent something that is not TPKT: ${e.message}`)];
      }
      if (len === undefined || this.buffer.length < len) {
        if (this.buffer.length > MAX_BUFFER) return [...out, ...this.giveUp('more than 1 MiB without a whole frame')];
        break;
      }
      const frame = this.buffer.subarray(0, len);
      this.buffer = this.buffer.slice(len);
      out.push(...this.onFrame(frame));
    }
    return out;
  }

  private giveUp(reason: string): SessionServerAction[] {
    this.observed.problems.push(reason);
    this.state = 'done';
    return [{ type: 'close', reason }];
  }

  private send(mcs: Uint8Array, pdu: string): SessionServerAction {
    this.observed.sent.push(pdu);
    return { type: 'send', bytes: encodeDataTpdu(mcs), pdu };
  }

  /** A Send Data Indication on the I/O channel. */
  private sendData(userData: Uint8Array, pdu: string): SessionServerAction {
    return this.send(encodeMcsSendDataIndication({ initiator: SERVER_USER, channelId: IO_CHANNEL, userData }), pdu);
  }

  /** A share PDU: encrypted under standard RDP security, bare under TLS. */
  private sendShare(pdu: Uint8Array, name: string): SessionServerAction {
    return this.sendData(this.security ? wrapSecured(pdu, SEC.ENCRYPT, this.security) : pdu, name);
  }

  private ultimatum(): SessionServerAction[] {
    this.state = 'done';
    return [this.send(encodeMcsDisconnectProviderUltimatum(RN_PROVIDER_INITIATED), 'MCS Disconnect Provider Ultimatum (rn-provider-initiated)'), { type: 'close', reason: 'the scenario ends the connection' }];
  }

  private onFrame(frame: Uint8Array): SessionServerAction[] {
    let data: Uint8Array;
    try {
      const x = decodeX224Frame(frame);
      if (x.type !== 'data') return this.giveUp(`expected an X.224 Data TPDU, got ${x.type}`);
      data = x.data;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`malformed X.224 from the client: ${e.message}`);
    }
    if (this.state === 'connect_initial') return this.onConnectInitial(data);
    let pdu;
    try {
      pdu = decodeMcsDomainPdu(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`malformed MCS domain PDU from the client: ${e.message}`);
    }
    switch (pdu.type) {
      case 'disconnect_provider_ultimatum':
        this.observed.clientUltimatum = pdu.reasonName;
        this.state = 'done';
        return [{ type: 'close', reason: `the client left (${pdu.reasonName})` }];
      case 'erect_domain_request':
        this.observed.erectDomain = true;
        return [];
      case 'attach_user_request':
        if (!this.observed.erectDomain) this.observed.problems.push('Attach User Request before Erect Domain Request');
        this.observed.userId = USER_ID;
        return [this.send(encodeMcsAttachUserConfirm({ result: 0, initiator: USER_ID }), 'MCS Attach User Confirm')];
      case 'channel_join_request': {
        const known = pdu.channelId === USER_ID || this.channels.includes(pdu.channelId);
        if (pdu.initiator !== USER_ID) this.observed.problems.push(`Channel Join Request with initiator ${pdu.initiator}, not ${USER_ID}`);
        if (!known) return this.giveUp(`the client asked to join channel ${pdu.channelId}, which this server did not announce`);
        this.observed.joined.push(pdu.channelId);
        return [this.send(encodeMcsChannelJoinConfirm({ result: 0, initiator: USER_ID, requested: pdu.channelId, channelId: pdu.channelId }), `MCS Channel Join Confirm (${pdu.channelId})`)];
      }
      case 'send_data_request':
        if (pdu.channelId !== IO_CHANNEL) {
          this.observed.problems.push(`Send Data Request on channel ${pdu.channelId}`);
          return [];
        }
        return this.onData(pdu.userData);
      default:
        return this.giveUp(`unexpected MCS ${pdu.type} from the client`);
    }
  }

  private onConnectInitial(data: Uint8Array): SessionServerAction[] {
    const c = this.config;
    let ci;
    try {
      ci = decodeClientConnectInitial(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`the MCS Connect-Initial does not decode: ${e.message}`);
    }
    const cd = ci.clientData;
    const offered = (cd.security?.encryptionMethods ?? 0) | (cd.security?.extEncryptionMethods ?? 0);
    const channelNames = cd.net?.channels.map((ch) => ch.name) ?? [];
    this.observed.connectInitial = {
      clientName: cd.core?.clientName ?? '',
      ...(cd.core?.serverSelectedProtocol !== undefined ? { serverSelectedProtocol: cd.core.serverSelectedProtocol } : {}),
      ...(cd.core?.earlyCapabilityFlags !== undefined ? { earlyCapabilityFlags: cd.core.earlyCapabilityFlags } : {}),
      // RNS_UD_CS_SUPPORT_ERRINFO_PDU: without it a server never says why it disconnects.
      supportsErrorInfo: ((cd.core?.earlyCapabilityFlags ?? 0) & ClientEarlyCapabilityFlags.RNS_UD_CS_SUPPORT_ERRINFO_PDU) !== 0,
      encryptionMethods: encryptionMethodNames(offered),
      channels: channelNames,
      console: cd.cluster !== undefined && (cd.cluster.flags & ClusterFlags.REDIRECTED_SESSIONID_FIELD_VALID) !== 0 && cd.cluster.redirectedSessionId === 0,
    };
    if (!cd.core) return this.giveUp('the Connect-Initial has no CS_CORE');
    if (c.script.ultimatumAfterConnectInitial) return this.ultimatum();
    this.channels = [IO_CHANNEL, ...channelNames.map((_, i) => IO_CHANNEL + 1 + i)];
    let security: { encryptionMethod: number; encryptionLevel: number; serverRandom?: Uint8Array; serverCertificate?: Uint8Array } = { encryptionMethod: 0, encryptionLevel: 0 };
    if (this.standard) {
      const pick = [ENCRYPTION_METHOD['128BIT'], ENCRYPTION_METHOD['56BIT'], ENCRYPTION_METHOD['40BIT'], ENCRYPTION_METHOD.FIPS].find((m) => (offered & m) !== 0);
      if (pick === undefined) return this.giveUp(`the client offers no encryption method this server takes (${encryptionMethodNames(offered).join(', ') || 'none'})`);
      this.method = pick;
      this.level = pick === ENCRYPTION_METHOD.FIPS ? ENCRYPTION_LEVEL.FIPS : (c.encryptionLevel ?? ENCRYPTION_LEVEL.HIGH);
      this.observed.encryption = { method: encryptionMethodName(pick) ?? String(pick), level: this.level };
      security = { encryptionMethod: pick, encryptionLevel: this.level, serverRandom: c.serverRandom!, serverCertificate: encodeProprietaryCertificate(c.rsaKey!, true) };
    }
    const serverData = encodeServerData({
      core: { version: 0x00080004, ...(c.requestedProtocols !== undefined ? { clientRequestedProtocols: c.requestedProtocols } : {}) },
      security,
      net: { mcsChannelId: IO_CHANNEL, channelIds: this.channels.slice(1) },
    });
    const result = c.script.connectResult ?? 0;
    this.state = result === 0 ? 'domain' : 'done';
    const response = encodeServerConnectResponse({ result, serverData });
    if (c.script.malformedConnectResponse) {
      this.state = 'done';
      return [this.send(perLengthPastEnd(response), 'MCS Connect-Response (GCC user-data PER length past the end)'), { type: 'close', reason: 'the scenario sent a malformed Connect-Response' }];
    }
    const out: SessionServerAction[] = [this.send(response, `MCS Connect-Response (result ${result})`)];
    if (result !== 0) out.push({ type: 'close', reason: 'the scenario refuses the Connect-Initial' });
    return out;
  }

  private onData(userData: Uint8Array): SessionServerAction[] {
    if (this.state === 'domain') this.state = this.standard ? 'security_exchange' : 'client_info';
    if (this.state === 'security_exchange') return this.onSecurityExchange(userData);
    if (this.state === 'client_info') return this.onClientInfo(userData);
    // After the Demand Active: a full client confirms and finalizes (the probe leaves instead).
    let payload = userData;
    if (this.security) {
      try {
        payload = unwrapSecured(userData, this.security, { direction: 'client-to-server' }).payload;
        this.observed.decryptedFromClient++;
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        return this.giveUp(`a client PDU does not decrypt: ${e.message}`);
      }
    }
    return this.onFinalization(payload);
  }

  /** Confirm Active, then Synchronize / Control / Font List from the client; the server's half ends with a Font Map. */
  private onFinalization(payload: Uint8Array): SessionServerAction[] {
    let pdus;
    try {
      pdus = decodeSharePdus(payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`a client share PDU does not decode: ${e.message}`);
    }
    const out: SessionServerAction[] = [];
    for (const p of pdus) {
      if (p.type === 'confirm_active') this.observed.confirmActive = true;
      else if (p.type === 'data' && p.finalization?.kind === 'font_list' && !this.observed.finalized) {
        if (!this.observed.confirmActive) this.observed.problems.push('Font List before the Confirm Active');
        this.observed.finalized = true;
        out.push(
          this.sendShare(encodeSynchronizePdu(SHARE_ID, USER_ID), 'Synchronize PDU'),
          this.sendShare(encodeControlPdu(SHARE_ID, ControlAction.CTRLACTION_COOPERATE), 'Control PDU (Cooperate)'),
          this.sendShare(encodeControlPdu(SHARE_ID, ControlAction.CTRLACTION_GRANTED_CONTROL, USER_ID, SERVER_USER), 'Control PDU (Granted Control)'),
          this.sendShare(encodeFontMapPdu(SHARE_ID), 'Font Map PDU'),
        );
      }
    }
    return out;
  }

  private onSecurityExchange(userData: Uint8Array): SessionServerAction[] {
    const c = this.config;
    try {
      const x = decodeSecurityExchangePdu(userData);
      const clientRandom = decryptClientRandom(x.encryptedClientRandom, c.rsaKey!);
      this.security =
        this.method === ENCRYPTION_METHOD.FIPS
          ? new FipsSecurity(deriveFipsKeys(clientRandom, c.serverRandom!, 'server'))
          : new StandardSecurity(deriveSessionKeys(clientRandom, c.serverRandom!, this.method, 'server'));
    } catch (e) {
      if (!(e instanceof DecodeError) && !(e instanceof EncodeError)) throw e;
      return this.giveUp(`the Security Exchange PDU is not usable: ${e.message}`);
    }
    this.observed.securityExchange = 'ok';
    this.state = 'client_info';
    return [];
  }

  private onClientInfo(userData: Uint8Array): SessionServerAction[] {
    let info;
    let encrypted = false;
    try {
      const u = unwrapSecured(userData, this.security, { direction: 'client-to-server' });
      if ((u.flags & SEC.INFO_PKT) === 0) return this.giveUp(`expected the Client Info PDU (SEC_INFO_PKT), got security flags 0x${u.flags.toString(16)}`);
      if (this.security && !u.encrypted) return this.giveUp('the Client Info PDU came unencrypted under standard RDP security at an encrypting level');
      encrypted = u.encrypted;
      if (encrypted) this.observed.decryptedFromClient++;
      info = decodeClientInfo(u.payload);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return this.giveUp(`the Client Info PDU does not decode: ${e.message}`);
    }
    const o: ClientInfoObservation = { user: info.user, domain: info.domain, flags: info.flagNames, passwordSent: info.cbPassword > 0, encrypted };
    if (o.passwordSent) {
      const u = this.config.users?.find((x) => x.user.toLowerCase() === info.user.toLowerCase() && x.domain.toLowerCase() === info.domain.toLowerCase());
      // Compared here and dropped: the observation says only whether it matched.
      o.passwordMatches = u !== undefined && u.password === info.readPassword();
    }
    this.observed.clientInfo = o;
    return this.licensingAndActivation();
  }

  private licensingAndActivation(): SessionServerAction[] {
    const s = this.config.script;
    if (s.license) {
      const alert = encodeLicenseErrorAlert({ errorCode: s.license.errorCode, stateTransition: s.license.stateTransition });
      return [this.sendData(wrapSecured(alert, SEC.LICENSE_PKT), `Licensing / License Error (0x${s.license.errorCode.toString(16)})`), ...this.ultimatum()];
    }
    const out: SessionServerAction[] = [this.sendData(wrapSecured(encodeValidClientAlert(), SEC.LICENSE_PKT), 'Licensing / License Error (STATUS_VALID_CLIENT)')];
    if (s.errorInfoFlood) {
      if (this.standard) return [...out, ...this.giveUp('the errinfo flood repeats one plaintext PDU, which needs TLS')];
      const one = this.sendShare(encodeSetErrorInfo({ shareId: SHARE_ID, errorInfo: s.errorInfoFlood.errorInfo }), `Set Error Info (0x${s.errorInfoFlood.errorInfo.toString(16)}), repeated without end`);
      if (one.type !== 'send') return out;
      this.state = 'done';
      out.push({ type: 'repeat', bytes: one.bytes, pdu: one.pdu, bytesPerSecond: s.errorInfoFlood.bytesPerSecond });
      return out;
    }
    if (s.errorInfo !== undefined) {
      out.push(this.sendShare(encodeSetErrorInfo({ shareId: SHARE_ID, errorInfo: s.errorInfo }), `Set Error Info (0x${s.errorInfo.toString(16)})`), ...this.ultimatum());
      return out;
    }
    if (s.redirect) {
      if (this.standard) return [...out, ...this.giveUp('the redirect scenario sends the enhanced-security Redirection PDU, which needs TLS')];
      out.push(this.sendShare(encodeEnhancedSecurityRedirection(s.redirect), 'Server Redirection PDU'));
      this.state = 'done';
      out.push({ type: 'close', reason: 'the client is redirected' });
      return out;
    }
    out.push(this.sendShare(encodeDemandActive({ shareId: SHARE_ID, capabilities: defaultServerCapabilities(), sessionId: 1 }), 'Demand Active PDU'));
    this.state = 'after_demand_active';
    return out;
  }
}

/**
 * The Connect-Response with the PER length in front of the server's GCC user data (after the H.221 key "McDn")
 * raised past the end of the PDU, every BER length around it left as it was.
 */
function perLengthPastEnd(tpkt: Uint8Array): Uint8Array {
  const out = tpkt.slice();
  for (let i = 0; i + 5 < out.length; i++) {
    if (out[i] !== 0x4d || out[i + 1] !== 0x63 || out[i + 2] !== 0x44 || out[i + 3] !== 0x6e) continue;
    const at = i + 4;
    if (out[at]! & 0x80) {
      out[at] = 0xbf;
      out[at + 1] = 0xff;
    } else out[at] = 0x7f;
    return out;
  }
  throw new EncodeError('no H.221 key McDn in the Connect-Response');
}
