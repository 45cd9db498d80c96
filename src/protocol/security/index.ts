/** Standard RDP Security (MS-RDPBCGR 5.3): certificates, security exchange, session keys, RC4/FIPS, headers. */
export * from './constants.js';
export * from './rsa.js';
export * from './terminal-services-key.js';
export * from './proprietary-cert.js';
export * from './exchange.js';
export * from './keys.js';
export * from './cipher.js';
export * from './header.js';
export * from './hashes.js';
