/**
 * Go time semantics needed by expr's date functions: time.ParseDuration (exact grammar and
 * overflow rules), the default layouts of expr's `date()`, and a small set of time.Time and
 * time.Duration methods (`now().Year()`, `duration("1h").Seconds()`). All times are UTC.
 */

import { runtimeFault, typeFault } from './errors.js';
import {
  ExprDuration,
  ExprTime,
  formatDuration,
  formatTime,
  makeDuration,
  timeMs,
  typeName,
} from './values.js';

// A Map, not an object literal: unit text comes from user expressions, and "__proto__" must not be a unit.
const UNIT_NS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1000n],
  ['µs', 1000n], // U+00B5 micro sign
  ['μs', 1000n], // U+03BC Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const TWO_63 = 1n << 63n;

/** Go's time.ParseDuration: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or "0". Returns nanoseconds. */
export function parseDuration(text: string): number {
  const invalid = () => runtimeFault(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0n;
  const part = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;
  while (s !== '') {
    const m = part.exec(s);
    const [whole = '', intText = '', fracText, unitText = ''] = m ?? [];
    if (!m || (intText === '' && (fracText === undefined || fracText === ''))) throw invalid();
    if (unitText === '') throw runtimeFault(`time: missing unit in duration ${JSON.stringify(text)}`);
    const unit = UNIT_NS.get(unitText);
    if (unit === undefined) {
      throw runtimeFault(
        `time: unknown unit ${JSON.stringify(unitText)} in duration ${JSON.stringify(text)}`,
      );
    }
    let v = intText === '' ? 0n : BigInt(intText);
    if (v > TWO_63 / unit) throw invalid();
    v *= unit;
    if (fracText) {
      // Go scales the fraction in floating point, truncating toward zero.
      const digits = fracText.slice(0, 18);
      const f = Number(digits) * (Number(unit) / 10 ** digits.length);
      v += BigInt(Math.trunc(f));
      if (v > TWO_63) throw invalid();
    }
    total += v;
    if (total > TWO_63) throw invalid();
    s = s.slice(whole.length);
  }
  if (!neg && total > TWO_63 - 1n) throw invalid();
  return Number(neg ? -total : total);
}

// expr's date(str) tries these layouts in order (time.Parse, UTC).
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const CLOCK_ONLY = /^(\d{2}):(\d{2}):(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): number {
  const daysInMonth = new Date(Date.UTC(2000, mo, 0)).getUTCDate(); // month is 1-based here
  const leapFix = mo === 2 && d === 29 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || leapFix || h > 23 || mi > 59 || s > 59)
    return Number.NaN;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear keeps years 0-99 as they are
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

type Layout = readonly [RegExp, (n: (i: number) => number, m: RegExpExecArray) => number];

const LAYOUTS: readonly Layout[] = [
  [DATE_ONLY, (n) => utc(n(1), n(2), n(3), 0, 0, 0, 0)],
  [CLOCK_ONLY, (n) => utc(0, 1, 1, n(1), n(2), n(3), 0)],
  [DATE_TIME, (n) => utc(n(1), n(2), n(3), n(4), n(5), n(6), 0)],
  [
    RFC3339,
    (n, m) => {
      const frac = m[7] ? Number(`0${m[7]}`) * 1000 : 0;
      const zone = (m[8] as string).toUpperCase();
      let offset = 0;
      if (zone !== 'Z') {
        const [hh = 0, mm = 0] = zone.slice(1).split(':').map(Number);
        offset = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm) * 60_000;
      }
      return utc(n(1), n(2), n(3), n(4), n(5), n(6), 0) + frac - offset;
    },
  ],
];

export function parseDate(text: string, layout?: string, zone?: string): ExprTime {
  if (layout !== undefined || (zone !== undefined && zone !== 'UTC')) {
    throw runtimeFault('date() with a layout or a time zone is not supported');
  }
  for (const [re, build] of LAYOUTS) {
    const m = re.exec(text);
    if (!m) continue;
    const ms = build((i) => Number(m[i]), m);
    if (Number.isNaN(ms)) break;
    return new ExprTime(ms);
  }
  throw runtimeFault(`invalid date ${JSON.stringify(text)}`);
}

/** RFC 3339 with nanosecond precision trimmed, like Go's JSON encoding of time.Time. */
export function formatRFC3339(ms: number): string {
  if (!Number.isFinite(ms)) return 'invalid time';
  return new Date(ms)
    .toISOString()
    .replace(/\.000Z$/, 'Z')
    .replace(/(\.\d*?)0+Z$/, '$1Z');
}

function arity(name: string, args: readonly unknown[], n: number): void {
  if (args.length !== n) throw typeFault(`method ${name} expects ${n} argument(s), got ${args.length}`);
}

function isTime(v: unknown): v is ExprTime | Date {
  return v instanceof ExprTime || v instanceof Date;
}

export function callTimeMethod(t: ExprTime | Date, name: string, args: readonly unknown[]): unknown {
  const ms = timeMs(t);
  const d = new Date(ms);
  const noArgs = (value: () => unknown) => {
    arity(name, args, 0);
    return value();
  };
  switch (name) {
    case 'Year':
      return noArgs(() => BigInt(d.getUTCFullYear()));
    case 'Month':
      return noArgs(() => BigInt(d.getUTCMonth() + 1));
    case 'Day':
      return noArgs(() => BigInt(d.getUTCDate()));
    case 'Hour':
      return noArgs(() => BigInt(d.getUTCHours()));
    case 'Minute':
      return noArgs(() => BigInt(d.getUTCMinutes()));
    case 'Second':
      return noArgs(() => BigInt(d.getUTCSeconds()));
    case 'Weekday':
      return noArgs(() => BigInt(d.getUTCDay()));
    case 'Unix':
      return noArgs(() => BigInt(Math.floor(ms / 1000)));
    case 'UnixMilli':
      return noArgs(() => BigInt(Math.floor(ms)));
    case 'UTC':
    case 'Local':
      return noArgs(() => t);
    case 'String':
      return noArgs(() => formatTime(ms));
    case 'IsZero':
      return noArgs(() => ms === -62135596800000);
    case 'Before':
    case 'After':
    case 'Equal':
    case 'Sub': {
      arity(name, args, 1);
      const other = args[0];
      if (!isTime(other)) throw typeFault(`method ${name} expects a time.Time, got ${typeName(other)}`);
      const o = timeMs(other);
      if (name === 'Before') return ms < o;
      if (name === 'After') return ms > o;
      if (name === 'Equal') return ms === o;
      return makeDuration(Math.round((ms - o) * 1e6));
    }
    case 'Add': {
      arity(name, args, 1);
      const dur = args[0];
      if (!(dur instanceof ExprDuration))
        throw typeFault(`method Add expects a time.Duration, got ${typeName(dur)}`);
      return new ExprTime(ms + dur.ns / 1e6);
    }
    default:
      throw typeFault(`type time.Time has no method ${name}`);
  }
}

export function callDurationMethod(d: ExprDuration, name: string, args: readonly unknown[]): unknown {
  arity(name, args, 0);
  const ns = d.ns;
  switch (name) {
    case 'Hours':
      return ns / 3.6e12;
    case 'Minutes':
      return ns / 6e10;
    case 'Seconds':
      return ns / 1e9;
    case 'Milliseconds':
      return BigInt(Math.trunc(ns / 1e6));
    case 'Microseconds':
      return BigInt(Math.trunc(ns / 1e3));
    case 'Nanoseconds':
      return BigInt(ns);
    case 'Abs':
      return makeDuration(Math.abs(ns));
    case 'String':
      return formatDuration(ns);
    default:
      throw typeFault(`type time.Duration has no method ${name}`);
  }
}
