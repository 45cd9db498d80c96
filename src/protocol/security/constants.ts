/**
 * Standard RDP Security constants (MS-RDPBCGR 2.2.1.4.3, 2.2.8.1.1.2.1, 5.3.1): encryption methods and
 * levels as the Server Security Data carries them, and the security header flags.
 */

/** Encryption methods (TS_UD_SC_SEC1.encryptionMethod; a bit set in TS_UD_CS_SEC.encryptionMethods). */
export const ENCRYPTION_METHOD = {
  NONE: 0x00,
  '40BIT': 0x01,
  '128BIT': 0x02,
  '56BIT': 0x08,
  FIPS: 0x10,
} as const;
export type EncryptionMethodName = keyof typeof ENCRYPTION_METHOD;

/** Encryption levels (TS_UD_SC_SEC1.encryptionLevel, 5.3.1). */
export const ENCRYPTION_LEVEL = {
  NONE: 0,
  LOW: 1,
  CLIENT_COMPATIBLE: 2,
  HIGH: 3,
  FIPS: 4,
} as const;
export type EncryptionLevelName = keyof typeof ENCRYPTION_LEVEL;

/** The name of one encryption method value, or undefined for a value the spec does not define. */
export function encryptionMethodName(value: number): EncryptionMethodName | undefined {
  for (const [name, v] of Object.entries(ENCRYPTION_METHOD)) if (v === value) return name as EncryptionMethodName;
  return undefined;
}

/** Names of the bits set in a client's encryptionMethods mask (unknown bits as hex). */
export function encryptionMethodNames(mask: number): string[] {
  const out: string[] = [];
  let rest = mask >>> 0;
  for (const [name, v] of Object.entries(ENCRYPTION_METHOD)) {
    if (v !== 0 && (rest & v) !== 0) {
      out.push(name);
      rest &= ~v;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

export function encryptionLevelName(value: number): EncryptionLevelName | undefined {
  for (const [name, v] of Object.entries(ENCRYPTION_LEVEL)) if (v === value) return name as EncryptionLevelName;
  return undefined;
}

/** Basic security header flags (2.2.8.1.1.2.1). SEC_LICENSE_ENCRYPT_CS and _SC share 0x0200. */
export const SEC = {
  EXCHANGE_PKT: 0x0001,
  TRANSPORT_REQ: 0x0002,
  TRANSPORT_RSP: 0x0004,
  ENCRYPT: 0x0008,
  RESET_SEQNO: 0x0010,
  IGNORE_SEQNO: 0x0020,
  INFO_PKT: 0x0040,
  LICENSE_PKT: 0x0080,
  LICENSE_ENCRYPT: 0x0200,
  REDIRECTION_PKT: 0x0400,
  SECURE_CHECKSUM: 0x0800,
  AUTODETECT_REQ: 0x1000,
  AUTODETECT_RSP: 0x2000,
  HEARTBEAT: 0x4000,
  FLAGSHI_VALID: 0x8000,
} as const;

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [SEC.EXCHANGE_PKT, 'SEC_EXCHANGE_PKT'],
  [SEC.TRANSPORT_REQ, 'SEC_TRANSPORT_REQ'],
  [SEC.TRANSPORT_RSP, 'SEC_TRANSPORT_RSP'],
  [SEC.ENCRYPT, 'SEC_ENCRYPT'],
  [SEC.RESET_SEQNO, 'SEC_RESET_SEQNO'],
  [SEC.IGNORE_SEQNO, 'SEC_IGNORE_SEQNO'],
  [SEC.INFO_PKT, 'SEC_INFO_PKT'],
  [SEC.LICENSE_PKT, 'SEC_LICENSE_PKT'],
  [SEC.LICENSE_ENCRYPT, 'SEC_LICENSE_ENCRYPT'],
  [SEC.REDIRECTION_PKT, 'SEC_REDIRECTION_PKT'],
  [SEC.SECURE_CHECKSUM, 'SEC_SECURE_CHECKSUM'],
  [SEC.AUTODETECT_REQ, 'SEC_AUTODETECT_REQ'],
  [SEC.AUTODETECT_RSP, 'SEC_AUTODETECT_RSP'],
  [SEC.HEARTBEAT, 'SEC_HEARTBEAT'],
  [SEC.FLAGSHI_VALID, 'SEC_FLAGSHI_VALID'],
];

/**
 * Names of the set flags. 0x0200 is SEC_LICENSE_ENCRYPT_CS when the server sends it and _SC when the client
 * does; pass `direction` to get the directional name, else it reads SEC_LICENSE_ENCRYPT.
 */
export function securityFlagNames(flags: number, direction?: 'client-to-server' | 'server-to-client'): string[] {
  const out: string[] = [];
  let rest = flags & 0xffff;
  for (const [bit, name] of FLAG_NAMES) {
    if ((rest & bit) === 0) continue;
    rest &= ~bit;
    if (bit === SEC.LICENSE_ENCRYPT && direction !== undefined) {
      out.push(direction === 'server-to-client' ? 'SEC_LICENSE_ENCRYPT_CS' : 'SEC_LICENSE_ENCRYPT_SC');
    } else out.push(name);
  }
  if (rest !== 0) out.push(`0x${rest.toString(16).padStart(4, '0')}`);
  return out;
}
