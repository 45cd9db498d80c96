import type { StageError } from '../probe/types.js';

/** Maps Node's socket/DNS error codes to a stable kind and a plain sentence. */
export function socketErrorToStageError(err: unknown, stage: 'dns' | 'tcp', what: string): StageError {
  const code = (err as { code?: string } | undefined)?.code ?? 'UNKNOWN';
  const table: Record<string, { kind: string; message: string }> = {
    ECONNREFUSED: { kind: 'refused', message: `${what} refused the connection (RST or ICMP port unreachable): nothing listens on that port, or a firewall rejects it` },
    EHOSTUNREACH: { kind: 'host_unreachable', message: `no route to ${what} (ICMP host unreachable or admin-prohibited, or no ARP answer on the local network)` },
    ENETUNREACH: { kind: 'network_unreachable', message: `the network of ${what} is unreachable from this machine` },
    EADDRNOTAVAIL: { kind: 'address_not_available', message: `the address of ${what} cannot be used from this machine` },
    ECONNRESET: { kind: 'reset', message: `${what} reset the connection` },
    ETIMEDOUT: { kind: 'timeout', message: `${what} did not answer the TCP handshake (SYN) before the kernel gave up` },
    ENOTFOUND: { kind: 'nxdomain', message: `the name does not exist (NXDOMAIN) or has no address` },
    EAI_NONAME: { kind: 'nxdomain', message: `the name does not exist (NXDOMAIN) or has no address` },
    ENODATA: { kind: 'no_address', message: `the name exists but has no address record` },
    EAI_AGAIN: { kind: 'dns_unavailable', message: `the DNS server could not be reached or did not answer (temporary failure)` },
    ESERVFAIL: { kind: 'dns_servfail', message: `the DNS server failed to answer (SERVFAIL)` },
    ECONNREFUSED_DNS: { kind: 'dns_unavailable', message: `the DNS server refused the query` },
    ETIMEOUT: { kind: 'dns_timeout', message: `the DNS server did not answer in time` },
    EREFUSED: { kind: 'dns_refused', message: `the DNS server refused the query (REFUSED)` },
  };
  const hit = stage === 'dns' && code === 'ECONNREFUSED' ? table['ECONNREFUSED_DNS'] : table[code];
  if (hit) return { layer: 'transport', kind: hit.kind, message: hit.message, codeName: code };
  const msg = err instanceof Error ? err.message : String(err);
  return { layer: 'transport', kind: 'socket_error', message: `${what}: ${msg.toLowerCase()}`, codeName: code };
}
