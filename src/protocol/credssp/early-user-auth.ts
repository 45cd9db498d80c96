/** [MS-RDPBCGR] 2.2.10.2 Early User Authorization Result PDU (HYBRID_EX only): a bare u32le after CredSSP. */

import { ByteReader } from '../codec/reader.js';
import { hex32 } from '../hex.js';

export const EARLY_USER_AUTH_PDU = 'Early User Authorization Result';
/** The PDU is exactly 4 bytes (frame it with a fixed-length hint). */
export const EARLY_USER_AUTH_LENGTH = 4;

export const AuthorizationResult = {
  AUTHZ_SUCCESS: 0x00000000,
  AUTHZ_ACCESS_DENIED: 0x00000005,
} as const;

export interface EarlyUserAuthResult {
  code: number;
  /** 'AUTHZ_SUCCESS', 'AUTHZ_ACCESS_DENIED', or 'unknown (0x…)'. */
  name: string;
}

export function authorizationResultName(code: number): string {
  for (const [k, v] of Object.entries(AuthorizationResult)) if (v === code) return k;
  return `unknown (${hex32(code >>> 0)})`;
}

/** Decodes the 4-byte result (the whole buffer). */
export function decodeEarlyUserAuthResult(bytes: Uint8Array): EarlyUserAuthResult {
  const r = new ByteReader(bytes, EARLY_USER_AUTH_PDU);
  const code = r.u32le();
  r.expectEnd();
  return { code, name: authorizationResultName(code) };
}
