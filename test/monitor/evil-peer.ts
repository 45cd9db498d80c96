/**
 * The lab NLA peer serving a certificate whose subject is hostile to every output format: a newline followed by
 * a workflow command, CR, %0A (already-escaped text), "]]>", markup, "&", "|" (Nagios perfdata, Markdown cells)
 * and a BEL control character. The certificate expires in 20 days, so a policy can warn on it.
 */
import { generateCert, LOCAL_SANS } from '../../src/lab/certs.js';
import { startNlaPeer, type NlaPeer } from '../../src/lab/rdp-nla-peer.js';

export const EVIL_CN = "evil\n::error::injected\r\n::warning title=x::%0A]]><x a='1'>&amp; | cell\u0007bell";
export const LAB_USER = { user: 'probe', domain: 'LAB', password: 'Lab-Passw0rd!' };

export async function startEvilPeer(host = '127.0.0.242', days = 20): Promise<NlaPeer> {
  const cert = generateCert({ commonName: EVIL_CN, sans: LOCAL_SANS, notAfter: new Date(Date.now() + days * 86_400_000 + 3_600_000), keyName: 'monitor-evil' });
  return startNlaPeer({ host, users: [LAB_USER], credsspVersion: 6, protocol: 'hybrid_ex', cert, ntlm: { netbiosComputer: 'RDS\n::error::ntlm' } });
}
