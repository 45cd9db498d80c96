/**
 * The modules only the TLS and CredSSP stages need (pkijs and asn1js are most of the start-up time). The driver
 * loads them with import() when a probe starts, so a closed port never pays for them and a TLS probe loads them
 * while it waits for the network.
 */
export { certificateFactsForReport, decodeCertificate } from '../protocol/x509.js';
export { CLIENT_CREDSSP_VERSION, CredsspConnector } from '../connector/credssp-connector.js';
export { tlsServerEndPointAppData } from '../protocol/ntlm/ntlmv2.js';
export { runCredssp } from './credssp-exchange.js';
export { certificateFindings } from '../probe/cert-findings.js';
