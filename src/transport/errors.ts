import type { StageError } from '../probe/types.js';

/**
 * Errno codes that describe this machine, not the target: out of descriptors, ports, buffers or memory, or a
 * bind we may not do. A target that meets one of them has not been probed.
 */
const LOCAL_CODES: Record<string, string> = {
  EMFILE: 'this process has no file descriptors left (ulimit -n)',
  ENFILE: 'the system has no file descriptors left',
  EADDRNOTAVAIL: 'no local address or port is free for the connection (ephemeral ports exhausted, or the source address is not ours)',
  EADDRINUSE: 'the local address and port are already in use',
  ENOBUFS: 'the kernel has no buffer space left for another socket',
  ENOMEM: 'this machine is out of memory',
  EACCES: 'this process may not open or bind the socket (permissions)',
  EPERM: 'the operation is not permitted on this machine (a local firewall rule or a sandbox)',
  ENOSPC: 'no space is left on the local device',
  EROFS: 'the local file system is read-only',
  ENOENT: 'a local file or directory does not exist',
  ENOTDIR: 'a local path component is not a directory',
};

/** A failure of this machine (errno in LOCAL_CODES) as a stage error, or undefined. */
export function localStageError(err: unknown, during: string): StageError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const why = LOCAL_CODES[code];
  if (why === undefined) return undefined;
  const path = (err as { path?: unknown }).path;
  return { layer: 'local', kind: 'local_resource', codeName: code, localCode: code, message: `${why} (${code}${typeof path === 'string' ? ` ${path}` : ''}, during ${during})` };
}

/** Socket-level codes that can only mean this machine (ENOENT/EACCES on a socket are not file problems). */
const LOCAL_SOCKET_CODES = new Set(['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'EADDRINUSE', 'ENOBUFS', 'ENOMEM', 'EACCES', 'EPERM']);

/** Errno → kind and sentence (`what` is the target), built once: every refused port of a scan passes here. */
const SOCKET_ERRORS: Record<string, { kind: string; message: (what: string) => string }> = {
  ECONNREFUSED: { kind: 'refused', message: (what) => `${what} refused the connection (RST or ICMP port unreachable): nothing listens on that port, or a firewall rejects it` },
  EHOSTUNREACH: { kind: 'host_unreachable', message: (what) => `no route to ${what} (ICMP host unreachable or admin-prohibited, or no ARP answer on the local network)` },
  ENETUNREACH: { kind: 'network_unreachable', message: (what) => `the network of ${what} is unreachable from this machine` },
  ECONNRESET: { kind: 'reset', message: (what) => `${what} reset the connection` },
  ETIMEDOUT: { kind: 'timeout', message: (what) => `${what} did not answer the TCP handshake (SYN) before the kernel gave up` },
  ENOTFOUND: { kind: 'nxdomain', message: () => `the name does not exist (NXDOMAIN) or has no address` },
  EAI_NONAME: { kind: 'nxdomain', message: () => `the name does not exist (NXDOMAIN) or has no address` },
  ENODATA: { kind: 'no_address', message: () => `the name exists but has no address record` },
  EAI_AGAIN: { kind: 'dns_unavailable', message: () => `the DNS server could not be reached or did not answer (temporary failure)` },
  ESERVFAIL: { kind: 'dns_servfail', message: () => `the DNS server failed to answer (SERVFAIL)` },
  ECONNREFUSED_DNS: { kind: 'dns_unavailable', message: () => `the DNS server refused the query` },
  ETIMEOUT: { kind: 'dns_timeout', message: () => `the DNS server did not answer in time` },
  EREFUSED: { kind: 'dns_refused', message: () => `the DNS server refused the query (REFUSED)` },
};

/** Maps Node's socket/DNS error codes to a stable kind and a plain sentence. */
export function socketErrorToStageError(err: unknown, stage: 'dns' | 'tcp', what: string): StageError {
  const code = (err as { code?: string } | undefined)?.code ?? 'UNKNOWN';
  const table = SOCKET_ERRORS;
  if (LOCAL_SOCKET_CODES.has(code)) return localStageError(err, `the ${stage} stage for ${what}`)!;
  const hit = stage === 'dns' && code === 'ECONNREFUSED' ? table['ECONNREFUSED_DNS'] : table[code];
  if (hit) return { layer: 'transport', kind: hit.kind, message: hit.message(what), codeName: code };
  const msg = err instanceof Error ? err.message : String(err);
  return { layer: 'transport', kind: 'socket_error', message: `${what}: ${msg.toLowerCase()}`, codeName: code };
}
