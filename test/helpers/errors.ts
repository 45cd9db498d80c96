import { DecodeError } from '../../src/protocol/codec/errors.js';

/** Runs `fn` and returns the DecodeError it throws; fails the test on a value or any other exception. */
export function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw new Error(`expected a DecodeError, got ${String(e)}`);
  }
  throw new Error('expected a DecodeError, got a value');
}
