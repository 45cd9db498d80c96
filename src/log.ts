import { pino, type Logger } from 'pino';

/** pino to stderr only: stdout carries the report. */
export function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: undefined, redact: { paths: ['password', '*.password'], remove: true } }, stream as pino.DestinationStream);
}
