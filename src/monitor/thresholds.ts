/**
 * Nagios/Monitoring Plugins threshold ranges (developer guidelines, "Threshold and ranges"): `[@]start:end`.
 * Without `@` the alert fires when the value is outside start..end (inclusive); with `@` when it is inside.
 * `start:` leaves end at +infinity, `~` is -infinity, and a missing `start:` means 0.
 *   10      alert if < 0 or > 10
 *   10:     alert if < 10
 *   ~:10    alert if > 10
 *   10:20   alert if < 10 or > 20
 *   @10:20  alert if 10 <= value <= 20
 */

export interface Range {
  start: number;
  end: number;
  /** `@`: alert inside the range instead of outside. */
  inside: boolean;
  /** As given, for performance data. */
  text: string;
}

export class ThresholdError extends Error {
  override name = 'ThresholdError';
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function num(s: string, what: string, whole: string): number {
  if (!NUMBER.test(s)) throw new ThresholdError(`${whole}: ${JSON.stringify(s)} is not a number (${what})`);
  return Number(s);
}

export function parseRange(text: string): Range {
  const whole = text.trim();
  if (whole === '') throw new ThresholdError('an empty threshold (use e.g. 10, 10:, ~:10, 10:20 or @10:20)');
  let body = whole;
  const inside = body.startsWith('@');
  if (inside) body = body.slice(1);
  const colon = body.indexOf(':');
  let start: number;
  let end: number;
  if (colon < 0) {
    start = 0;
    end = num(body, 'the end of the range', whole);
  } else {
    const a = body.slice(0, colon);
    const b = body.slice(colon + 1);
    start = a === '~' ? -Infinity : a === '' ? 0 : num(a, 'the start of the range', whole);
    end = b === '' ? Infinity : num(b, 'the end of the range', whole);
  }
  if (start > end) throw new ThresholdError(`${whole}: the start is above the end`);
  return { start, end, inside, text: whole };
}

/** True when the value raises the alert this range stands for. */
export function alerts(range: Range, value: number): boolean {
  const within = value >= range.start && value <= range.end;
  return range.inside ? within : !within;
}

export interface Thresholds {
  warning?: Range;
  critical?: Range;
}

/** 0 OK, 1 WARNING, 2 CRITICAL: critical wins over warning. */
export function thresholdStatus(t: Thresholds, value: number): 0 | 1 | 2 {
  if (t.critical && alerts(t.critical, value)) return 2;
  if (t.warning && alerts(t.warning, value)) return 1;
  return 0;
}
