/** Threshold ranges exactly as the Monitoring Plugins guidelines tabulate them, boundaries included. */
import { describe, expect, it } from 'vitest';
import { alerts, parseRange, thresholdStatus, ThresholdError } from '../../src/monitor/thresholds.js';

describe('Nagios threshold ranges', () => {
  const cases: [string, number[], number[]][] = [
    // range, values that alert, values that do not
    ['10', [-0.5, 10.01, 11], [0, 5, 10]],
    ['10:', [-1, 9.99], [10, 11, 1e9]],
    ['~:10', [10.5, 11], [-1e9, 0, 10]],
    ['10:20', [9, 21], [10, 15, 20]],
    ['@10:20', [10, 15, 20], [9.99, 20.01]],
    ['@~:0', [-5, 0], [0.01]],
    ['-5:-1', [0, -6], [-5, -1, -3]],
  ];
  for (const [text, yes, no] of cases) {
    it(`${text} alerts for ${yes.join(', ')} and not for ${no.join(', ')}`, () => {
      const r = parseRange(text);
      for (const v of yes) expect(alerts(r, v), `${text} ${v}`).toBe(true);
      for (const v of no) expect(alerts(r, v), `${text} ${v}`).toBe(false);
    });
  }

  it('keeps the text for performance data', () => {
    expect(parseRange(' 60: ').text).toBe('60:');
    expect(parseRange('@1.5:2.5')).toMatchObject({ start: 1.5, end: 2.5, inside: true });
  });

  it('refuses what is not a range', () => {
    for (const bad of ['', 'abc', '20:10', '1:2:3', '10s', '~', '@', '1e3', '::']) expect(() => parseRange(bad), bad).toThrow(ThresholdError);
  });

  it('critical wins over warning', () => {
    const t = { warning: parseRange('60:'), critical: parseRange('30:') };
    expect([90, 60, 59, 30, 29, -1].map((d) => thresholdStatus(t, d))).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
