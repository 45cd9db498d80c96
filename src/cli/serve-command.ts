/**
 * `rdp-probe serve --listen ADDR [--config FILE]`: the Prometheus exporter (src/exporter) as a long-running
 * command. Runs until SIGINT/SIGTERM, then stops taking scrapes and lets the probes in flight end.
 * The environment is read here (passwordEnv names of the config), nowhere in src/exporter.
 */
import net from 'node:net';
import type { Writable } from 'node:stream';
import type { Argv } from 'yargs';
import type { ExporterConfig } from '../exporter/config.js';
import { parsePort, UsageError } from './target.js';

export interface ServeIo {
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  signals?: NodeJS.EventEmitter;
}

export const DEFAULT_LISTEN = '127.0.0.1:9389';

export function serveOptions<T>(y: Argv<T>) {
  return y
    .option('listen', { type: 'string', default: DEFAULT_LISTEN, describe: 'HOST:PORT to serve /probe and /metrics on (:PORT = every interface)' })
    .option('config', { type: 'string', describe: 'YAML file of modules (default: built-in rdp, rdp_tls, rdp_tcp)' })
    .option('max-concurrent', { type: 'number', default: 16, describe: 'probes running at once' })
    .option('max-queue', { type: 'number', default: 64, describe: 'scrapes waiting for a probe slot; beyond it HTTP 503' })
    .option('timeout-offset', { type: 'number', default: 0.5, describe: 'seconds taken off X-Prometheus-Scrape-Timeout-Seconds' })
    .option('log-level', { choices: ['silent', 'error', 'warn', 'info', 'debug'] as const, default: 'info' as const });
}

type ServeArgs = ReturnType<typeof serveOptions> extends Argv<infer A> ? A : never;

/** "127.0.0.1:9389", "[::1]:9389", "localhost:9389", ":9389". */
export function parseListen(text: string): { host: string; port: number } {
  const s = text.trim();
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  if (!m) throw new UsageError(`--listen ${JSON.stringify(text)}: give HOST:PORT, [IPv6]:PORT or :PORT`);
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && !net.isIPv6(host)) throw new UsageError(`--listen: ${JSON.stringify(host)} in brackets is not an IPv6 address`);
  let port: number;
  try {
    port = m[3] === '0' ? 0 : parsePort(m[3]!);
  } catch (e) {
    throw new UsageError(`--listen: ${(e as Error).message}`);
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** Resolves with the exit code once a signal stopped the server (or it could not start). */
export async function runServeCommand(a: ServeArgs, io: ServeIo): Promise<number> {
  const listen = parseListen(a.listen);
  for (const [name, v, max] of [['--max-concurrent', a['max-concurrent'], 10_000], ['--max-queue', a['max-queue'], 100_000]] as const) {
    if (!Number.isInteger(v) || v < (name === '--max-queue' ? 0 : 1) || v > max) throw new UsageError(`${name} must be a whole number up to ${max}`);
  }
  if (!(a['timeout-offset'] >= 0 && a['timeout-offset'] < 60)) throw new UsageError('--timeout-offset must be 0 to 60 seconds');
  // Loaded here, not at CLI start: every other command starts without prom-client and the exporter.
  const [{ collectDefaultMetrics, register }, { builtinConfig, ConfigError, loadConfigFile }, { createExporter }, { createLogger }] = await Promise.all([
    import('prom-client'),
    import('../exporter/config.js'),
    import('../exporter/server.js'),
    import('../log.js'),
  ]);
  let config: ExporterConfig;
  try {
    config = a.config === undefined ? builtinConfig() : loadConfigFile(a.config, io.env);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
  const logger = createLogger(a['log-level'], io.stderr);
  // The process-wide prom-client registry, with the process and Node metrics, once per process.
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics({ register });
  const exporter = createExporter({ config, env: io.env, maxConcurrent: a['max-concurrent'], maxQueue: a['max-queue'], timeoutOffsetSeconds: a['timeout-offset'], registry: register, logger });
  let bound: { host: string; port: number };
  try {
    bound = await exporter.listen(listen.host, listen.port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`--listen ${a.listen}: cannot listen (${code ?? String(e)})`);
  }
  const shown = bound.host.includes(':') ? `[${bound.host}]:${bound.port}` : `${bound.host}:${bound.port}`;
  io.stderr.write(`rdp-probe serve: listening on http://${shown} (/probe?target=HOST:PORT&module=NAME, /metrics); modules: ${[...config.modules.keys()].join(', ')}\n`);
  await new Promise<void>((resolve) => {
    const stop = (name: string) => () => {
      io.stderr.write(`rdp-probe serve: ${name}: stopping\n`);
      io.signals?.off('SIGINT', onInt);
      io.signals?.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = stop('SIGINT');
    const onTerm = stop('SIGTERM');
    io.signals?.on('SIGINT', onInt);
    io.signals?.on('SIGTERM', onTerm);
  });
  await exporter.close();
  return 0;
}
