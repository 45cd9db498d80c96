/** [MS-NLMP] 2.2.2.10 VERSION, and the Windows release a build number belongs to. */

import { ByteReader } from '../codec/reader.js';
import { ByteWriter } from '../codec/writer.js';
import { NTLMSSP_REVISION_W2K3 } from './constants.js';

export interface NtlmVersion {
  /** ProductMajorVersion (u8). */
  major: number;
  /** ProductMinorVersion (u8). */
  minor: number;
  /** ProductBuild (u16le). */
  build: number;
  /** NTLMRevisionCurrent (u8); 0x0F today. */
  ntlmRevision: number;
}

/** A decoded VERSION plus the release its build number names, when it is a well-known one. */
export interface NtlmVersionInfo extends NtlmVersion {
  /** e.g. 'Windows Server 2019 / Windows 10 1809'; absent for builds not in the table. */
  windowsName?: string;
}

/**
 * The VERSION this client sends when NTLMSSP_NEGOTIATE_VERSION is set: 6.1.7601 rev 15, what FreeRDP sends
 * from a non-Windows host (winpr's GetVersionEx default). It is only informational (MS-NLMP 2.2.2.10: "MUST be
 * ignored by the recipient" apart from debugging) and keeps our NEGOTIATE looking like a FreeRDP client's.
 */
export const NTLM_CLIENT_VERSION: NtlmVersion = { major: 6, minor: 1, build: 7601, ntlmRevision: NTLMSSP_REVISION_W2K3 };

/** Reads the 8-byte VERSION (the 3 reserved bytes are ignored, as the spec says). */
export function readNtlmVersion(r: ByteReader): NtlmVersionInfo {
  const major = r.u8();
  const minor = r.u8();
  const build = r.u16le();
  r.skip(3);
  const ntlmRevision = r.u8();
  const v: NtlmVersion = { major, minor, build, ntlmRevision };
  const windowsName = windowsNameForVersion(v);
  return windowsName !== undefined ? { ...v, windowsName } : v;
}

export function writeNtlmVersion(w: ByteWriter, v: NtlmVersion): void {
  w.u8(v.major).u8(v.minor).u16le(v.build).u8(0).u8(0).u8(0).u8(v.ntlmRevision);
}

/** major.minor.build → release name. Builds shared by a client and a server release name both. */
const WINDOWS_BUILDS: Record<string, string> = {
  '5.0.2195': 'Windows 2000',
  '5.1.2600': 'Windows XP',
  '5.2.3790': 'Windows Server 2003 / Windows XP x64',
  '6.0.6000': 'Windows Vista',
  '6.0.6001': 'Windows Server 2008 / Windows Vista SP1',
  '6.0.6002': 'Windows Server 2008 SP2 / Windows Vista SP2',
  '6.0.6003': 'Windows Server 2008 SP2',
  '6.1.7600': 'Windows 7 / Windows Server 2008 R2',
  '6.1.7601': 'Windows 7 SP1 / Windows Server 2008 R2 SP1',
  '6.2.9200': 'Windows 8 / Windows Server 2012',
  '6.3.9600': 'Windows 8.1 / Windows Server 2012 R2',
  '10.0.10240': 'Windows 10 1507',
  '10.0.10586': 'Windows 10 1511',
  '10.0.14393': 'Windows Server 2016 / Windows 10 1607',
  '10.0.15063': 'Windows 10 1703',
  '10.0.16299': 'Windows 10 1709 / Windows Server 1709',
  '10.0.17134': 'Windows 10 1803 / Windows Server 1803',
  '10.0.17763': 'Windows Server 2019 / Windows 10 1809',
  '10.0.18362': 'Windows 10 1903',
  '10.0.18363': 'Windows 10 1909 / Windows Server 1909',
  '10.0.19041': 'Windows 10 2004 (20H1) / Windows Server 2004',
  '10.0.19042': 'Windows 10 20H2 / Windows Server 20H2',
  '10.0.19043': 'Windows 10 21H1',
  '10.0.19044': 'Windows 10 21H2',
  '10.0.19045': 'Windows 10 22H2',
  '10.0.20348': 'Windows Server 2022',
  '10.0.22000': 'Windows 11 21H2',
  '10.0.22621': 'Windows 11 22H2',
  '10.0.22631': 'Windows 11 23H2',
  '10.0.25398': 'Windows Server 23H2',
  '10.0.26100': 'Windows Server 2025 / Windows 11 24H2',
  '10.0.26200': 'Windows 11 25H2',
};

/**
 * The Windows release a VERSION's build number belongs to, or undefined. Only as good as what the peer
 * claims: FreeRDP-based servers report 6.1.7601 whatever they run on.
 */
export function windowsNameForVersion(v: Pick<NtlmVersion, 'major' | 'minor' | 'build'>): string | undefined {
  return WINDOWS_BUILDS[`${v.major}.${v.minor}.${v.build}`];
}

/** '10.0.17763' style. */
export function formatNtlmVersion(v: Pick<NtlmVersion, 'major' | 'minor' | 'build'>): string {
  return `${v.major}.${v.minor}.${v.build}`;
}
