/**
 * fast-check over the three connectors (issue #8 item 4): any split of random or mutated server flights, then a
 * close, an alert or a deadline. No call throws or hangs, exactly one 'done' comes out, nothing after it, and no
 * connector holds more than one maximal frame of unconsumed bytes, even when fed over 1 MiB.
 */
import { describe, expect, it } from 'vitest';
import { concat } from '../../src/protocol/codec/bytes.js';
import { checkFlood, flights, type ConnectorKind, type Driven } from './connectors.js';
import { describeConnectorFailure, runConnectorTarget } from './harness.js';

const CI_RUNS = 300;
const KINDS: ConnectorKind[] = ['x224', 'credssp', 'session'];

describe('fuzz: connectors never throw, always finish, never buffer without bound', () => {
  it('there are real and scripted flights for each connector', () => {
    const f = flights();
    expect(f.x224.length).toBeGreaterThan(10);
    expect(f.credssp.length).toBeGreaterThanOrEqual(5);
    expect(f.session.length).toBeGreaterThanOrEqual(5);
  });

  it.each(KINDS)('%s: any split of mutated or random flights, then eof, reset, an alert or a deadline', (kind) => {
    const r = runConnectorTarget(kind, CI_RUNS, Date.now() ^ 0x85ebca6b);
    if (r.failure) expect.fail(describeConnectorFailure(r));
    expect(r.cases).toBe(CI_RUNS);
    const seen = r.seen;
    // Not vacuous: mutated flights still get deep (a passed stage past the first) and also fail in many ways.
    const deep = { x224: 'x224 ok', credssp: 'nla_auth ok', session: 'licensing ok' }[kind];
    expect([...seen.keys()]).toContain(deep);
    expect([...seen.keys()].filter((k) => k.includes(' failed: ')).length).toBeGreaterThan(2);
    if (process.env['FUZZ_VERBOSE']) console.log(kind, Object.fromEntries(seen));
  });

  it.each([
    ['x224', 0, [0x03, 0x00, 0xff, 0xff], 0x00],
    ['credssp', 0, [0x30, 0x83, 0x00, 0xff, 0xf0], 0x04],
    ['session', 0, [0x03, 0x00, 0xff, 0xff], 0x41],
    ['session', 0, [0x00, 0xff, 0xff], 0x00],
    ['session', 1, [0x03, 0x00, 0xff, 0xff], 0xff],
  ] as const)('%s (variant %i): over 1 MiB behind header %j, in 1000-byte chunks, holds at most one frame', (kind, variant, header, filler) => {
    expect(checkFlood(kind, variant, Uint8Array.from(header), filler, 1000)).toBeUndefined();
  });

  it('session: over 1 MiB of fast-path updates before the Connect-Response is consumed frame by frame (it waits for its deadline)', () => {
    const frame = new Uint8Array(0x7fff);
    frame.set([0x00, 0xff, 0xff]);
    expect(checkFlood('session', 0, frame, 0, 0x7fff, undefined, frame)).toBeUndefined();
  });

  it('the flood check can fail: a connector that keeps every byte is caught', () => {
    let buffer: Uint8Array = new Uint8Array(0);
    const hoarder: Driven = {
      start: () => [],
      receive: (b) => {
        buffer = concat(buffer, b);
        return [];
      },
      closed: () => [{ type: 'done' }],
      timedOut: () => [{ type: 'done' }],
      isDone: false,
      pending: () => buffer.length,
    };
    expect(checkFlood('session', 0, Uint8Array.of(3, 0, 0xff, 0xff), 0, 1000, () => hoarder)).toMatch(/holds \d+ unconsumed bytes/);
  });
});
