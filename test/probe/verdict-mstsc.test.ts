/** How mstsc would show a failure, where its tables make the mapping plain. */
import { describe, expect, it } from 'vitest';
import { computeVerdict } from '../../src/probe/verdict.js';
import { STAGES, type StageError, type StageResult } from '../../src/probe/types.js';

const failingAt = (stage: StageResult['stage'], error: StageError): StageResult[] => {
  const i = STAGES.indexOf(stage);
  return STAGES.map((s, j) => (j < i ? { stage: s, status: 'ok' } : j === i ? { stage: s, status: 'failed', error } : { stage: s, status: 'not_reached' }));
};

describe('mstsc pair of a verdict', () => {
  it.each([
    ['a closed port', 'tcp', { layer: 'transport', kind: 'refused', message: 'refused' }, 0x204, 0],
    ['a wrong password (STATUS_LOGON_FAILURE)', 'nla_auth', { layer: 'peer', kind: 'error_code', code: 0xc000006d, message: 'x' }, 0x807, 0],
    ['a locked account', 'nla_auth', { layer: 'peer', kind: 'error_code', code: 0xc0000234, message: 'x' }, 0xd07, 0],
    ['ERRINFO_SERVER_DENIED_CONNECTION', 'activation', { layer: 'peer', kind: 'error_info', code: 7, message: 'x' }, 3, 7],
    ['a license error', 'licensing', { layer: 'peer', kind: 'license_error', code: 6, message: 'x' }, 0x808, 0],
  ] as const)('%s', (_n, stage, error, reason, extended) => {
    const v = computeVerdict(failingAt(stage, error as StageError));
    expect(v.mstsc).toMatchObject({ disconnectReason: reason, extendedReason: extended });
    expect(v.mstsc?.text).toMatch(new RegExp(`0x${reason.toString(16)}`));
  });

  it('no pair is made up where the mapping is not known (a TLS failure, an unnamed NTSTATUS)', () => {
    expect(computeVerdict(failingAt('tls', { layer: 'transport', kind: 'tls_reset', message: 'x' })).mstsc).toBeUndefined();
    expect(computeVerdict(failingAt('nla_auth', { layer: 'peer', kind: 'error_code', code: 0xc0001234, message: 'x' })).mstsc).toBeUndefined();
  });
});
