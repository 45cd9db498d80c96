/** A real RDP server started by the launcher. */
export interface RunningServer {
  /** Scenario / mode name, e.g. 'xrdp:tls' or 'shadow:nla'. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** PID of the server process (also its process-group id). */
  readonly pid: number;
  /** The server's own log (xrdp: LogFile=; shadow: stdout/stderr of the final start attempt). */
  readonly logFile: string;
  /** Per-instance directory (rendered config, logs, SAM file, XDG config). */
  readonly dir: string;
  /** Milliseconds from spawn to "port accepts connections" (including shadow retries). */
  readonly startMs: number;
  /** SIGTERM to the process group, wait up to 5 s, then SIGKILL. Idempotent. */
  stop(): Promise<void>;
}

export interface ListenOptions {
  /** Loopback address (127.0.0.0/8 or '::1'). Default: the scenario's own 127.0.0.N. */
  host?: string;
  /** Default 3389 on IPv4; on '::1' 13000 + N of the scenario's default 127.0.0.N. */
  port?: number;
}
