/**
 * `rdp-probe scan`: the argv/stdin/file side of a scan. Targets are read and expanded lazily; results are
 * written as soon as each is known (NDJSON, CSV) or at the end (table, json); SIGINT/SIGTERM stop new probes,
 * let the ones in flight finish (5 s at most) and flush everything complete.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Argv } from 'yargs';
import type { ProbeReport } from '../probe/types.js';
import { addToSummary, formatCsvHeader, formatCsvRow, formatSummary, formatTable, isOpen, targetText, type Summary } from '../report/rows.js';
import { encodeCompactRecord, NO_ROOM_FOR_RECORD } from '../probe/report-builder.js';
import { loadResume, type ResumeSet } from '../scan/resume.js';
import { LocalFailureError, scanTargetBatches } from '../scan/scan.js';
import { parseShard } from '../scan/shard.js';
import { countTargets, ExcludeSet, expandTargetBatches, parsePortList, parseTargetSpec, readTargetList, type TargetSpec } from '../scan/targets.js';
import type { ProbeOptions } from '../transport/drive.js';
import { parseDuration, UsageError } from './target.js';
import { useColor } from './color.js';
import { MAX_LIST_LINE, MAX_RECORD_LINE, readLines } from './lines.js';
import { checkWarnDays, parseDnsServers } from './options.js';

export interface ScanIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin?: Readable;
  /** Where SIGINT/SIGTERM are listened for (process in the CLI). */
  signals?: NodeJS.EventEmitter;
  /** For NO_COLOR / FORCE_COLOR. */
  env?: NodeJS.ProcessEnv;
}

/** LOCAL_FAILURE: this machine kept failing (EMFILE …) even at one probe in flight. */
export const SCAN_EXIT = { DONE: 0, USAGE: 2, LOCAL_FAILURE: 2, INTERRUPTED: 130 } as const;

export function scanOptions<T>(y: Argv<T>) {
  return y
    .positional('targets', { type: 'string', array: true, describe: 'addresses, CIDRs, a-b ranges, names, host:port' })
    .option('input-list', { alias: 'iL', type: 'string', array: true, describe: 'read targets from FILE (- = stdin); nmap -oG and masscan -oL lines accepted' })
    .option('exclude', { type: 'string', array: true, describe: 'addresses, CIDRs, ranges or names to skip (comma-separated or repeated)' })
    .option('exclude-file', { type: 'string', describe: 'file of targets to skip' })
    .option('ports', { alias: 'p', type: 'string', default: '3389', describe: 'ports, e.g. 3389,3390' })
    .option('depth', { choices: ['tcp', 'x224', 'tls', 'credssp'] as const, default: 'credssp' as const, describe: 'how far to go per host (credssp: + server CredSSP version and NTLM facts, no credentials)' })
    .option('enumerate', { type: 'boolean', default: true, describe: 'protocol enumeration per host (--no-enumerate to skip)' })
    .option('concurrency', { alias: 'c', type: 'number', default: 64, describe: 'most probes in flight at once (above 64, fewer while this machine\'s CPU and not the targets is what limits the scan)' })
    .option('rate', { type: 'string', describe: 'the most probe starts per second, e.g. 100 or 100/s' })
    .option('timeout', { type: 'string', default: '5s', describe: 'deadline per stage' })
    .option('host-timeout', { type: 'string', default: '30s', describe: 'deadline per target, every connection included' })
    .option('retries', { type: 'number', default: 1, describe: 'TCP connect retries after a connect timeout' })
    .option('shard', { type: 'string', describe: 'i/n: probe only the i-th of n interleaved shares of the targets' })
    .option('resume', { type: 'string', describe: 'NDJSON results of an earlier run: skip the targets it holds' })
    .option('output-format', { alias: 'o', choices: ['table', 'json', 'ndjson', 'csv', 'html'] as const, describe: 'default: table on a TTY, ndjson otherwise; html: one self-contained page (with --output FILE)' })
    .option('output', { type: 'string', describe: 'write results to FILE (appended when it is also the --resume file)' })
    .option('open', { type: 'boolean', default: false, describe: 'show only targets where something answered: hide port_closed, filtered, unreachable, dns_failure (the summary still counts them; with --resume they are probed again)' })
    .option('dns-server', { type: 'string', array: true, describe: 'ask these DNS servers instead of the system resolver' })
    .option('color', { type: 'boolean', describe: 'colour the table (default: when stdout is a TTY; NO_COLOR and FORCE_COLOR are honoured)' })
    .option('legacy-tls', { type: 'boolean', default: false })
    .option('warn-days', { type: 'number', default: 30 });
}

type ScanArgs = ReturnType<typeof scanOptions> extends Argv<infer A> ? A : never;

export async function runScanCommand(a: ScanArgs, io: ScanIo): Promise<number> {
  // Refused and timed-out connections are results here, by the thousand; their stack traces are never shown.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await scanCommand(a, io);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}

async function scanCommand(a: ScanArgs, io: ScanIo): Promise<number> {
  const ports = parsePortList(String(a.ports));
  const concurrency = a.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20000) throw new UsageError('--concurrency must be a whole number from 1 to 20000');
  if (!Number.isInteger(a.retries) || a.retries < 0 || a.retries > 5) throw new UsageError('--retries must be 0 to 5');
  const rate = a.rate === undefined ? undefined : parseRate(a.rate);
  const shard = a.shard === undefined ? undefined : parseShard(a.shard);
  const stageMs = parseDuration(a.timeout, '--timeout');
  const hostMs = parseDuration(a['host-timeout'], '--host-timeout');
  checkWarnDays(a['warn-days']);
  const dnsServers = a['dns-server'] === undefined ? undefined : parseDnsServers(a['dns-server']);

  const positional = (a.targets ?? []).map(String);
  const lists = (a['input-list'] ?? []).map(String);
  if (positional.length === 0 && lists.length === 0) throw new UsageError('name targets, or a list with -iL FILE (- for stdin)');
  if (lists.filter((l) => l === '-').length > 1) throw new UsageError('stdin (-) can be read once');
  // Parse every positional token now, so a typo fails before any probe starts.
  const posSpecs = positional.flatMap((t) => t.split(',').filter(Boolean)).map((t) => parseTargetSpec(t));
  for (const l of lists) if (l !== '-') checkReadable(l, '-iL');
  const format = a['output-format'] ?? (io.stdout.isTTY ? 'table' : 'ndjson');
  const append = a.output !== undefined && a.resume !== undefined && samePath(a.output, a.resume);
  // The resume file is read as NDJSON: appending a table or CSV to it would make the next --resume skip nothing.
  if (append && format !== 'ndjson') throw new UsageError(`--resume ${a.resume} is also --output: that needs -o ndjson (it is read back as NDJSON), not ${format}`);

  const exclude = new ExcludeSet();
  for (const e of (a.exclude ?? []).flatMap((x) => String(x).split(',')).filter(Boolean)) exclude.add(parseTargetSpec(e, '--exclude'));
  if (a['exclude-file']) {
    checkReadable(a['exclude-file'], '--exclude-file');
    for await (const spec of readTargetList(readLines(fs.createReadStream(a['exclude-file']), { source: a['exclude-file'], option: '--exclude-file', maxBytes: MAX_LIST_LINE }), a['exclude-file'])) exclude.add(spec);
  }

  let done: ResumeSet | undefined;
  if (a.resume) {
    if (fs.existsSync(a.resume)) {
      checkReadable(a.resume, '--resume');
      done = await loadResume(readLines(fs.createReadStream(a.resume), { source: a.resume, option: '--resume', maxBytes: MAX_RECORD_LINE }));
      const notes = [done.truncatedLastLine ? 'its last line was cut short and is ignored' : '', done.localFailures ? `${done.localFailures} local failure(s) are probed again` : ''].filter(Boolean);
      io.stderr.write(`resume: ${done.size} target(s) already done in ${a.resume}${notes.length ? ` (${notes.join('; ')})` : ''}\n`);
    } else io.stderr.write(`resume: ${a.resume} does not exist yet; starting from the beginning\n`);
  }

  async function* specs(): AsyncGenerator<TargetSpec> {
    yield* posSpecs;
    for (const l of lists) {
      const stream = l === '-' ? (io.stdin ?? process.stdin) : fs.createReadStream(l);
      const source = l === '-' ? 'stdin' : l;
      yield* readTargetList(readLines(stream, { source, option: '-iL', maxBytes: MAX_LIST_LINE }), source);
    }
  }
  // Knowable up front only when no list file is involved (a file is read as the scan pulls targets).
  const counted = lists.length === 0 ? countTargets(posSpecs, { ports, exclude, ...(shard ? { shard } : {}) }) : undefined;
  const total = counted === undefined ? undefined : Math.max(0, Number(counted) - (done?.size ?? 0));

  const out: Writable = a.output ? fs.createWriteStream(a.output, { flags: append ? 'a' : 'w' }) : io.stdout;
  if (a.output) await new Promise<void>((res, rej) => (out as fs.WriteStream).once('open', () => res()).once('error', (e) => rej(new UsageError(`cannot write ${a.output}: ${(e as NodeJS.ErrnoException).code}`))));
  // An interrupted earlier run may have left half a line: start ours on a fresh one.
  if (append && a.output && !endsWithNewline(a.output)) out.write('\n');

  const controller = new AbortController();
  let signalled = 0;
  const onSignal = (name: string) => () => {
    signalled++;
    if (signalled === 1) io.stderr.write(`\n${name}: stopping; probes in flight get up to 5 s, complete results are kept\n`);
    controller.abort();
  };
  const sigint = onSignal('SIGINT');
  const sigterm = onSignal('SIGTERM');
  io.signals?.on('SIGINT', sigint);
  io.signals?.on('SIGTERM', sigterm);

  // stdout gone (`scan | head`): stop quietly, as grep would; probes in flight are aborted at once.
  const probeStop = new AbortController();
  let brokenPipe = false;
  let outError: NodeJS.ErrnoException | undefined;
  const onOutError = (e: NodeJS.ErrnoException): void => {
    if (out !== io.stdout || (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED')) {
      outError ??= e;
    } else brokenPipe = true;
    probeStop.abort();
    controller.abort();
  };
  out.on('error', onOutError);

  const probe: Partial<ProbeOptions> = {
    signal: probeStop.signal,
    ...(dnsServers ? { dnsServers } : {}),
    depth: a.depth,
    stageTimeoutMs: stageMs,
    targetTimeoutMs: hostMs,
    enumerate: a.enumerate && a.depth !== 'tcp',
    legacyTls: a['legacy-tls'],
    warnDays: a['warn-days'],
  };
  // After --resume the summary covers the whole scan: the earlier run's results, then ours.
  const summary: Summary = done ? { total: done.size, interrupted: 0, verdicts: { ...done.verdicts }, findings: { ...done.findings }, resumed: done.size } : { total: 0, interrupted: 0, verdicts: {}, findings: {} };
  const kept: ProbeReport[] = [];
  const progress = new Progress(io.stderr, total);
  if (format === 'csv' && !append) out.write(formatCsvHeader());
  if (format === 'json') out.write('[');
  let first = true;
  const batch = new BatchWriter(out);
  let localFailure: LocalFailureError | undefined;
  const onConcurrencyLowered = (x: { from: number; to: number; reason: string }): void => {
    progress.clear();
    io.stderr.write(`rdp-probe: ${x.reason} (this machine, not a target): probes in flight lowered from ${x.from} to ${x.to}; the target is probed again\n`);
  };
  try {
    // Targets go in and results come out in batches: no async step per target on either side.
    const targets = expandTargetBatches(specs(), { ports, exclude, ...(shard ? { shard } : {}), ...(done ? { done } : {}) });
    scanLoop: for await (const results of scanTargetBatches(targets, { concurrency, ...(rate ? { rate } : {}), signal: controller.signal, graceMs: 5000, probe, connectRetries: a.retries, onConcurrencyLowered })) {
      for (const res of results) {
        if (brokenPipe || outError) break scanLoop;
        if (res.interrupted) {
          summary.interrupted++;
          continue;
        }
        addToSummary(summary, res.report);
        progress.tick(res.report.verdict.id, summary);
        if (a.open && !isOpen(res.report)) continue;
        // Batched, with back-pressure: a slow reader must not make results pile up in memory.
        // (add() returns a promise only when the stream is full: most results cost no await.)
        let full: Promise<void> | undefined;
        if (format === 'ndjson') {
          batch.line(res.report);
          full = batch.add('\n');
        } else if (format === 'csv') full = batch.add(formatCsvRow(res.report));
        else if (format === 'json') {
          batch.add(first ? '\n' : ',\n');
          batch.line(res.report);
          full = batch.pending();
          first = false;
        } else kept.push(res.report);
        if (full) await full;
      }
    }
  } catch (e) {
    if (!(e instanceof LocalFailureError)) throw e;
    localFailure = e;
  } finally {
    progress.clear();
    await batch.flush();
    const healthy = !brokenPipe && !outError;
    if (healthy && format === 'json') out.write(first ? ']\n' : '\n]\n');
    if (healthy && format === 'table') {
      kept.sort((x, y) => targetText(x.target.host, x.target.port).localeCompare(targetText(y.target.host, y.target.port), 'en', { numeric: true }));
      out.write(formatTable(kept, { color: useColor(a.color, io.env ?? {}, io.stdout.isTTY) }));
    }
    if (healthy && format === 'html') out.write((await import('../report/html.js')).formatHtml(kept, summary));
    if (out !== io.stdout) await new Promise<void>((r) => out.end(() => r()));
    io.signals?.off('SIGINT', sigint);
    io.signals?.off('SIGTERM', sigterm);
  }
  if (brokenPipe) return SCAN_EXIT.DONE;
  if (outError) {
    io.stderr.write(`rdp-probe: cannot write the results${a.output ? ` to ${a.output}` : ''}: ${outError.code ?? outError.message}; stopped\n`);
    return SCAN_EXIT.LOCAL_FAILURE;
  }
  io.stderr.write(formatSummary(summary));
  if (localFailure) {
    io.stderr.write(`rdp-probe: ${localFailure.message}\n`);
    return SCAN_EXIT.LOCAL_FAILURE;
  }
  return controller.signal.aborted ? SCAN_EXIT.INTERRUPTED : SCAN_EXIT.DONE;
}

/**
 * Result lines go out in batches: encoded straight into a 64 KiB buffer (no joined string, and nothing pending on
 * the JavaScript heap for the garbage collector to walk or promote), written when it is full or once per turn of
 * the event loop when results come slowly, so each is still written as soon as it is known. add() asks the caller
 * to wait only while more than `maxPending` bytes wait in the stream: back-pressure without stopping at every
 * batch (while the writer waits, finished reports pile up in the scan and live long enough to be promoted).
 */
class BatchWriter {
  private buf: Buffer;
  /** buf[from, at) is filled and not yet written. */
  private from = 0;
  private at = 0;
  private tick: NodeJS.Immediate | undefined;
  private blocked: Promise<void> | undefined;

  constructor(
    private readonly out: Writable,
    /** The stream is process.stdout, which keeps no chunk once it has taken it. */
    private readonly reuse = out === process.stdout,
    private readonly size = 64 * 1024,
    private readonly maxPending = 1024 * 1024,
  ) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  /** Queues one report as its JSON line, no newline: a compact record encoded in place, any other as JSON.stringify's text. */
  line(r: ProbeReport): void {
    let end = encodeCompactRecord(r, this.buf, this.at);
    if (end === NO_ROOM_FOR_RECORD) {
      // The filled part goes out; the record goes at the start of an empty buffer.
      this.restart();
      end = encodeCompactRecord(r, this.buf, 0);
    }
    if (end < 0) {
      this.add(JSON.stringify(r));
      return;
    }
    this.at = end;
    this.writeSoon();
  }

  /** A promise to wait for when the stream holds too much already. */
  pending(): Promise<void> | undefined {
    return this.blocked;
  }

  /** Queues one piece; returns a promise to wait for only when the stream holds too much already. */
  add(text: string): Promise<void> | undefined {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: with that much room the whole text fits.
    if (this.buf.length - this.at < text.length * 3) {
      if (this.size < text.length * 3) {
        this.write();
        this.send(Buffer.from(text, 'utf8'));
        return this.blocked;
      }
      this.restart();
    }
    this.at += this.buf.write(text, this.at, 'utf8');
    this.writeSoon();
    return this.blocked;
  }

  /** What is queued goes out at the latest on the next turn of the event loop. */
  private writeSoon(): void {
    this.tick ??= setImmediate(() => {
      this.tick = undefined;
      this.write();
    });
  }

  /** Writes what is pending; resolves when the stream has room again. */
  flush(): Promise<void> {
    this.write();
    return this.blocked ?? Promise.resolve();
  }

  /** Writes what is filled and leaves an empty buffer to fill: this one when the stream let go of it, else a new one. */
  private restart(): void {
    this.write();
    if (this.at === 0) return;
    this.buf = Buffer.allocUnsafeSlow(this.size);
    this.from = this.at = 0;
  }

  private write(): void {
    if (this.tick) clearImmediate(this.tick);
    this.tick = undefined;
    if (this.at !== this.from) {
      // The stream keeps this view; later pieces go after it, never over it.
      const chunk = this.buf.subarray(this.from, this.at);
      this.from = this.at;
      this.send(chunk);
    }
    // process.stdout on a file, a terminal or (on Linux) a pipe takes the write at once: when nothing is left
    // waiting in it, no view of the buffer is held any more and it is filled again from the start, instead of a new
    // 64 KiB buffer every 38 records (a /16 went through 1,700 of them). Only there: another stream may keep the
    // chunk after taking it (a PassThrough holds it until it is read).
    if (this.reuse && this.out.writableLength === 0) this.from = this.at = 0;
  }

  private send(chunk: Buffer): void {
    const w = write(this.out, chunk, this.maxPending);
    if (w) {
      const b: Promise<void> = w.finally(() => {
        if (this.blocked === b) this.blocked = undefined;
      });
      this.blocked = b;
    }
  }
}

/**
 * Writes, and when more than maxPending bytes now wait in the stream, resolves once it has drained; gives up
 * (instead of waiting for ever) when the stream fails or closes. undefined: no need to wait.
 */
function write(out: Writable, chunk: Buffer, maxPending: number): Promise<void> | undefined {
  if (out.destroyed || out.writableEnded) return undefined;
  if (out.write(chunk) || out.writableLength <= maxPending) return undefined;
  return (async () => {
    const ac = new AbortController();
    try {
      await Promise.race([once(out, 'drain', { signal: ac.signal }), once(out, 'close', { signal: ac.signal })]);
    } catch {
      // 'error' rejects once(); onOutError has already recorded it.
    } finally {
      ac.abort();
    }
  })();
}

function endsWithNewline(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    fs.closeSync(fd);
  }
}

function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(text.trim());
  const v = m ? Number(m[1]) : NaN;
  if (!(v > 0) || v > 100000) throw new UsageError(`--rate ${JSON.stringify(text)}: give probe starts per second, e.g. 100 or 100/s`);
  return v;
}

/** A file, a pipe (`<(cmd)`) or a character device is read; a directory or a missing file is a usage error now. */
function checkReadable(file: string, opt: string): void {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (fs.statSync(file).isDirectory()) throw new UsageError(`${opt} ${file} is a directory; give a file of targets`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${opt} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}`);
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return a === b;
  }
}

/** The live progress line on a TTY stderr: done/total, rate, ETA, counts per verdict. */
class Progress {
  private last = 0;
  private readonly started = performance.now();
  private shown = false;
  constructor(
    private readonly err: ScanIo['stderr'],
    private readonly total: number | undefined,
  ) {}
  tick(_verdict: string, s: Summary): void {
    if (!this.err.isTTY) return;
    const now = performance.now();
    if (now - this.last < 200) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const rate = s.total / Math.max(secs, 0.001);
    const eta = this.total && rate > 0 ? ` eta ${fmtSecs((this.total - s.total) / rate)}` : '';
    const counts = Object.entries(s.verdicts).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k} ${n}`).join(' ');
    const line = `${s.total}${this.total ? `/${this.total}` : ''} done, ${rate.toFixed(1)}/s${eta} | ${counts}`;
    this.err.write(`\r\x1b[K${line.slice(0, (this.err.columns ?? 100) - 1)}`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) this.err.write('\r\x1b[K');
  }
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.ceil(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
