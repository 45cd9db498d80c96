/**
 * Replays the recorded CredSSP exchanges with FreeRDP's shadow server (captures/*.transcript.jsonl) through the
 * pure connector, no socket: given the recorded random values, clock and server messages, it must send exactly
 * the recorded client messages and reach the recorded stage outcomes. The transcripts hold no password; the
 * test supplies the SAM file's test credentials.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CredsspConnector, type CredsspAction, type StageOutcome } from '../../src/connector/credssp-connector.js';
import type { TranscriptEntry } from '../../src/transport/credssp-exchange.js';

const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../captures');
const PASSWORDS: Record<string, string> = {
  'shadow-nla_auth_ok': 'Passw0rd!',
  'shadow-nla_auth_unknown-user': 'Passw0rd!',
  'shadow-nla_session_delegate': 'Passw0rd!',
  'shadow-nla_auth_wrong-password': 'WrongPassword1',
};
const names = readdirSync(DIR).filter((f) => f.endsWith('.transcript.jsonl')).map((f) => f.replace('.transcript.jsonl', ''));
const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

function replay(name: string, password: string | undefined) {
  const lines = readFileSync(resolve(DIR, `${name}.transcript.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TranscriptEntry);
  const cfg = JSON.parse(Buffer.from(lines[0]!.hex, 'hex').toString('utf8'));
  const c = new CredsspConnector({
    mode: cfg.mode,
    ...(cfg.user !== null && password !== undefined ? { credentials: { user: cfg.user, domain: cfg.domain ?? '', password } } : {}),
    subjectPublicKey: unhex(cfg.subjectPublicKey),
    hybridEx: cfg.hybridEx,
    clientVersion: cfg.clientVersion,
    targetName: cfg.targetName,
    ...(cfg.channelBindings ? { channelBindings: unhex(cfg.channelBindings) } : {}),
    random: { clientChallenge: unhex(cfg.random.clientChallenge), sessionKey: unhex(cfg.random.sessionKey), nonce: unhex(cfg.random.nonce) },
    nowMs: cfg.nowMs,
  });
  const sent: string[] = [];
  const outcomes: StageOutcome[] = [];
  const take = (as: CredsspAction[]) => {
    for (const a of as) {
      if (a.type === 'send') sent.push(Buffer.from(a.bytes).toString('hex'));
      else if (a.type === 'stage') outcomes.push(a.outcome);
    }
  };
  take(c.start());
  for (const e of lines.slice(1)) {
    if (e.dir !== 'server') continue;
    if (e.event === 'eof') take(c.closed('eof'));
    else if (e.event === 'reset') take(c.closed('reset'));
    else if (e.event === 'timeout') take(c.timedOut(3000));
    else if (e.event?.startsWith('alert:')) take(c.closed('reset', e.event.slice(6)));
    else take(c.receive(unhex(e.hex)));
  }
  const recordedClient = lines.slice(1).filter((e) => e.dir === 'client').map((e) => e.hex);
  return { sent, recordedClient, outcomes };
}

describe('CredSSP transcripts replay through the connector', () => {
  it('there are transcripts', () => expect(names.length).toBeGreaterThanOrEqual(5));
  it.each(names)('%s', (name) => {
    const expected = JSON.parse(readFileSync(resolve(DIR, `${name}.transcript.expect.json`), 'utf8')) as { stages: Record<string, { status: string; kind?: string }> };
    const { sent, recordedClient, outcomes } = replay(name, PASSWORDS[name]);
    // Byte for byte the same client messages: NEGOTIATE, AUTHENTICATE + pubKeyAuth (+ authInfo when delegating).
    expect(sent).toEqual(recordedClient);
    for (const o of outcomes) {
      const want = expected.stages[o.stage]!;
      expect(o.ok ? 'ok' : 'failed', o.stage).toBe(want.status);
      if (want.kind) expect(o.error?.kind).toBe(want.kind);
    }
    const ran = Object.entries(expected.stages).filter(([, v]) => v.status === 'ok' || v.status === 'failed').map(([k]) => k);
    expect(outcomes.map((o) => o.stage)).toEqual(ran);
  });

  it('the wrong password does not reproduce the right password exchange', () => {
    const { sent, recordedClient } = replay('shadow-nla_auth_ok', 'not-the-password');
    expect(sent[0]).toBe(recordedClient[0]);
    expect(sent[1]).not.toBe(recordedClient[1]);
  });
});
