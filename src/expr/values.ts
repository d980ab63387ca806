/**
 * Value model of the evaluator.
 *
 * expr-lang (Go) distinguishes int and float64; JavaScript has one number type. The rule here:
 *   - int    = JS `bigint`, always inside the int64 range. Integer literals (`42`, `0x2A`) are ints,
 *              and so are bigint values passed in the environment (the way to hand in a Go int).
 *   - float  = JS `number`. Every JS number coming from the environment is a float64, whole or not,
 *              because that is what Argo passes: Prometheus results are float64 / []float64.
 *   - string, bool, nil (null or undefined), array (JS array), map (plain or null-prototype object,
 *     string keys, own properties only), time (ExprTime or a JS Date), duration (ExprDuration).
 *   - anything else (functions, class instances, Map, Symbol…) is opaque: it can be passed around
 *     and compared by identity, never called or looked into.
 * `evaluate` converts its result back to plain JS (ints become numbers), see `toJS`.
 */

import { type Fault, limitFault, policyFault, runtimeFault, typeFault } from './errors.js';
import { goPow } from './gomath.js';

export const MAX_INT64 = 9223372036854775807n;
export const MIN_INT64 = -9223372036854775808n;
const TWO_63 = 2 ** 63; // exactly representable as a double

/** A point in time, milliseconds since the Unix epoch (UTC). Go's time.Time. */
export class ExprTime {
  readonly kind = 'time';
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
}

/** A Go time.Duration: an integral number of nanoseconds, kept as a float64 (exact below ~104 days). */
export class ExprDuration {
  readonly kind = 'duration';
  readonly ns: number;
  constructor(ns: number) {
    this.ns = ns;
  }
}

export type Kind =
  | 'nil'
  | 'bool'
  | 'int'
  | 'float'
  | 'string'
  | 'array'
  | 'map'
  | 'time'
  | 'duration'
  | 'func'
  | 'opaque';

export type ExprMap = Record<string, unknown>;

export function kindOf(v: unknown): Kind {
  switch (typeof v) {
    case 'number':
      return 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'undefined':
      return 'nil';
    case 'function':
      return 'func';
    case 'object': {
      if (v === null) return 'nil';
      if (Array.isArray(v)) return 'array';
      if (v instanceof ExprTime || v instanceof Date) return 'time';
      if (v instanceof ExprDuration) return 'duration';
      const proto: unknown = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null ? 'map' : 'opaque';
    }
    default:
      return 'opaque';
  }
}

/** The name expr's `type()` builtin reports. */
export function typeName(v: unknown): string {
  const k = kindOf(v);
  switch (k) {
    case 'time':
      return 'time.Time';
    case 'duration':
      return 'time.Duration';
    case 'opaque':
      return 'unknown';
    default:
      return k;
  }
}

export const isNil = (v: unknown): v is null | undefined => v === null || v === undefined;
export const isNumeric = (v: unknown): v is number | bigint => typeof v === 'number' || typeof v === 'bigint';

/** A map created by the evaluator: no prototype, so "__proto__" or "constructor" are ordinary keys. */
export function newMap(): ExprMap {
  return Object.create(null) as ExprMap;
}

/** Own-property read; inherited members (constructor, __proto__, toString…) read as missing. */
export function mapGet(m: ExprMap, key: string): unknown {
  return Object.hasOwn(m, key) ? m[key] : null;
}

export function mapSet(m: ExprMap, key: string, value: unknown): void {
  // defineProperty, not assignment: on a plain object `m.__proto__ = x` would change the prototype.
  Object.defineProperty(m, key, { value, enumerable: true, writable: true, configurable: true });
}

export function mapKeys(m: ExprMap): string[] {
  return Object.keys(m);
}

export function timeMs(v: ExprTime | Date): number {
  return v instanceof Date ? v.getTime() : v.ms;
}

/** Go's int is a 64-bit two's complement integer: +, -, * and unary minus wrap around silently. */
export function wrapInt(v: bigint): bigint {
  return v > MAX_INT64 || v < MIN_INT64 ? BigInt.asIntN(64, v) : v;
}

export function makeDuration(ns: number): ExprDuration {
  if (!(Math.abs(ns) < TWO_63)) throw runtimeFault('duration overflow');
  return new ExprDuration(Math.trunc(ns));
}

/**
 * Go's int(x) for a float64: truncation toward zero. NaN, ±Inf and values outside the int64 range
 * are implementation-defined in Go; on amd64 (where Argo runs and expr's results were taken) they
 * all give math.MinInt64, so that is what this returns.
 */
export function floatToInt(f: number): bigint {
  if (!(f >= -TWO_63 && f < TWO_63)) return MIN_INT64;
  return BigInt(Math.trunc(f));
}

// ---------------------------------------------------------------------------------------------
// Work accounting shared by every traversal, so hostile data (huge or cyclic) stays bounded.

export interface Meter {
  tick(n: number): void;
  readonly maxValueDepth: number;
  readonly maxStringLength: number;
  readonly maxCollectionSize: number;
}

export function checkDepth(meter: Meter, depth: number): void {
  if (depth > meter.maxValueDepth) throw limitFault(`value nesting deeper than ${meter.maxValueDepth}`);
}

export function checkString(meter: Meter, s: string): string {
  if (s.length > meter.maxStringLength) {
    throw limitFault(`string longer than ${meter.maxStringLength} characters`);
  }
  meter.tick(s.length >> 3);
  return s;
}

export function checkSize(meter: Meter, n: number): void {
  if (n > meter.maxCollectionSize)
    throw limitFault(`collection larger than ${meter.maxCollectionSize} items`);
}

// ---------------------------------------------------------------------------------------------
// Equality and ordering (expr's runtime.Equal / runtime.Less).

/** expr `==`: numbers compare across int/float, arrays element-wise, maps strictly (reflect.DeepEqual). */
export function equal(a: unknown, b: unknown, meter: Meter, depth = 0): boolean {
  meter.tick(1);
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  if (isNumeric(a) && isNumeric(b)) return Number(a) === Number(b);
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) return false;
  switch (ka) {
    case 'nil':
      return true;
    case 'bool':
      return a === b;
    case 'string':
      // Long equal-length strings compare in O(n); charge for it like any other scan.
      if ((a as string).length === (b as string).length) meter.tick((a as string).length >> 6);
      return a === b;
    case 'time':
      return timeMs(a as ExprTime) === timeMs(b as ExprTime);
    case 'duration':
      return (a as ExprDuration).ns === (b as ExprDuration).ns;
    case 'array': {
      checkDepth(meter, depth + 1);
      const x = a as unknown[];
      const y = b as unknown[];
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!equal(x[i], y[i], meter, depth + 1)) return false;
      return true;
    }
    case 'map':
      return deepEqual(a, b, meter, depth);
    default:
      return a === b;
  }
}

/** Go's reflect.DeepEqual on decoded values: kinds must match exactly (int 1 != float 1.0). */
function deepEqual(a: unknown, b: unknown, meter: Meter, depth: number): boolean {
  meter.tick(1);
  checkDepth(meter, depth + 1);
  const ka = kindOf(a);
  if (ka !== kindOf(b)) return false;
  if (ka === 'array') {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i], meter, depth + 1)) return false;
    return true;
  }
  if (ka === 'map') {
    const x = a as ExprMap;
    const y = b as ExprMap;
    const kx = mapKeys(x);
    if (kx.length !== mapKeys(y).length) return false;
    for (const k of kx) {
      if (!Object.hasOwn(y, k) || !deepEqual(x[k], y[k], meter, depth + 1)) return false;
    }
    return true;
  }
  if (ka === 'float') return a === b; // NaN is not deep-equal to itself in Go either
  return equal(a, b, meter, depth);
}

export type CompareOp = '<' | '>' | '<=' | '>=';

function ordered(op: CompareOp, c: number): boolean {
  // c is the sign of a - b, or NaN when unordered (NaN operands): every comparison is then false.
  switch (op) {
    case '<':
      return c < 0;
    case '>':
      return c > 0;
    case '<=':
      return c <= 0;
    default:
      return c >= 0;
  }
}

function sign(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : a === b ? 0 : Number.NaN;
}

export function compare(op: CompareOp, a: unknown, b: unknown, meter?: Meter): boolean {
  if (typeof a === 'bigint' && typeof b === 'bigint') return ordered(op, a < b ? -1 : a > b ? 1 : 0);
  if (isNumeric(a) && isNumeric(b)) return ordered(op, sign(Number(a), Number(b)));
  if (typeof a === 'string' && typeof b === 'string') {
    meter?.tick(Math.min(a.length, b.length) >> 6);
    return ordered(op, compareBytes(a, b));
  }
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'time' && kb === 'time') return ordered(op, sign(timeMs(a as ExprTime), timeMs(b as ExprTime)));
  if (ka === 'duration' && kb === 'duration') {
    return ordered(op, sign((a as ExprDuration).ns, (b as ExprDuration).ns));
  }
  throw typeFault(`invalid operation: ${typeName(a)} ${op} ${typeName(b)}`);
}

/** Go compares strings bytewise (UTF-8); comparing code points gives the same order. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic (expr's runtime.Add / Subtract / Multiply / Divide / Modulo / Exponent).

function badOp(op: string, a: unknown, b: unknown): Fault {
  return typeFault(`invalid operation: ${typeName(a)} ${op} ${typeName(b)}`);
}

export function add(a: unknown, b: unknown, meter: Meter): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') return wrapInt(a + b);
  if (isNumeric(a) && isNumeric(b)) return Number(a) + Number(b);
  if (typeof a === 'string' && typeof b === 'string') {
    if (a.length + b.length > meter.maxStringLength) {
      throw limitFault(`string longer than ${meter.maxStringLength} characters`);
    }
    return checkString(meter, a + b);
  }
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'time' && kb === 'duration')
    return new ExprTime(timeMs(a as ExprTime) + (b as ExprDuration).ns / 1e6);
  if (ka === 'duration' && kb === 'time')
    return new ExprTime(timeMs(b as ExprTime) + (a as ExprDuration).ns / 1e6);
  if (ka === 'duration' && kb === 'duration')
    return makeDuration((a as ExprDuration).ns + (b as ExprDuration).ns);
  throw badOp('+', a, b);
}

export function subtract(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') return wrapInt(a - b);
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === 'time' && kb === 'time') {
    return makeDuration(Math.round((timeMs(a as ExprTime) - timeMs(b as ExprTime)) * 1e6));
  }
  if (ka === 'time' && kb === 'duration')
    return new ExprTime(timeMs(a as ExprTime) - (b as ExprDuration).ns / 1e6);
  if (ka === 'duration' && kb === 'duration')
    return makeDuration((a as ExprDuration).ns - (b as ExprDuration).ns);
  throw badOp('-', a, b);
}

export function multiply(a: unknown, b: unknown): unknown {
  if (typeof a === 'bigint' && typeof b === 'bigint') return wrapInt(a * b);
  if (isNumeric(a) && isNumeric(b)) return Number(a) * Number(b);
  // Go: int * Duration and Duration * Duration are Durations; a float64 operand gives a float64.
  const da = a instanceof ExprDuration;
  const db = b instanceof ExprDuration;
  if (da && db) return makeDuration(a.ns * b.ns);
  if (da && typeof b === 'bigint') return makeDuration(a.ns * Number(b));
  if (db && typeof a === 'bigint') return makeDuration(Number(a) * b.ns);
  if (da && typeof b === 'number') return a.ns * b;
  if (db && typeof a === 'number') return a * b.ns;
  throw badOp('*', a, b);
}

export function divide(a: unknown, b: unknown): number {
  if (isNumeric(a) && isNumeric(b)) return Number(a) / Number(b);
  throw badOp('/', a, b);
}

export function modulo(a: unknown, b: unknown): bigint {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if (b === 0n) throw runtimeFault('integer divide by zero');
    return a % b; // truncated, like Go
  }
  throw badOp('%', a, b);
}

export function power(a: unknown, b: unknown): number {
  if (isNumeric(a) && isNumeric(b)) return goPow(Number(a), Number(b));
  throw badOp('**', a, b);
}

export function negate(a: unknown): unknown {
  if (typeof a === 'bigint') return wrapInt(-a);
  if (typeof a === 'number') return -a;
  throw typeFault(`invalid operation: -${typeName(a)}`);
}

// ---------------------------------------------------------------------------------------------
// Strings are measured in UTF-8 bytes, like Go: len("é") == 2 and indexes are byte offsets.

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the ASCII range on purpose
const ASCII = /^[\x00-\x7f]*$/;

export function byteLength(s: string): number {
  return ASCII.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

export function byteAt(s: string, i: number): number | undefined {
  return ASCII.test(s) ? s.charCodeAt(i) : Buffer.from(s, 'utf8')[i];
}

export function byteSlice(s: string, from: number, to: number): string {
  return ASCII.test(s) ? s.slice(from, to) : Buffer.from(s, 'utf8').subarray(from, to).toString('utf8');
}

export function byteIndex(s: string, utf16Index: number): number {
  return utf16Index < 0 ? -1 : byteLength(s.slice(0, utf16Index));
}

// ---------------------------------------------------------------------------------------------
// Formatting like Go's fmt "%v", used by string() and error messages.

/**
 * Go's strconv.FormatFloat(f, 'g', -1, 64), which fmt's %v uses: shortest digits, exponent form when
 * the exponent is < -4 or >= 6 (so 1e+06, 123456, 1e-05, 0.0001).
 */
export function formatFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Number.POSITIVE_INFINITY) return '+Inf';
  if (f === Number.NEGATIVE_INFINITY) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mantissa = '', expText = '0'] = f.toExponential().split('e');
  const neg = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const exp = Number(expText);
  let out: string;
  if (exp < -4 || exp >= 6) {
    // %e form; Go always prints at least two exponent digits.
    const frac = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const e = Math.abs(exp);
    out = `${digits[0]}${frac}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${out}` : out;
}

/** Go's time.Duration.String(): 1h0m0s, 1.5s, 100ms, 0s. */
export function formatDuration(ns: number): string {
  let u = BigInt(Math.trunc(ns));
  const neg = u < 0n;
  if (neg) u = -u;
  const frac = (v: bigint, digits: number): string => {
    const s = v.toString().padStart(digits, '0').replace(/0+$/, '');
    return s === '' ? '' : `.${s}`;
  };
  let out: string;
  if (u < 1_000_000_000n) {
    if (u === 0n) return '0s';
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) out = `${u / 1000n}${frac(u % 1000n, 3)}µs`;
    else out = `${u / 1_000_000n}${frac(u % 1_000_000n, 6)}ms`;
  } else {
    const secs = u / 1_000_000_000n;
    const f = frac(u % 1_000_000_000n, 9);
    const h = secs / 3600n;
    const m = (secs / 60n) % 60n;
    const s = secs % 60n;
    out = h > 0n ? `${h}h${m}m${s}${f}s` : m > 0n ? `${m}m${s}${f}s` : `${s}${f}s`;
  }
  return neg ? `-${out}` : out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Go's time.Time.String() for a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return 'invalid time';
  const d = new Date(ms);
  const millis = d.getUTCMilliseconds();
  const frac = millis ? `.${pad(millis, 3).replace(/0+$/, '')}` : '';
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** fmt.Sprintf("%v", v). */
export function formatValue(v: unknown, meter: Meter, depth = 0): string {
  meter.tick(1);
  switch (kindOf(v)) {
    case 'nil':
      return '<nil>';
    case 'bool':
    case 'int':
    case 'string':
      return String(v);
    case 'float':
      return formatFloat(v as number);
    case 'time':
      return formatTime(timeMs(v as ExprTime));
    case 'duration':
      return formatDuration((v as ExprDuration).ns);
    case 'array': {
      checkDepth(meter, depth + 1);
      const parts: string[] = [];
      let len = 0;
      for (const item of v as unknown[]) {
        const s = formatValue(item, meter, depth + 1);
        len += s.length + 1;
        if (len > meter.maxStringLength)
          throw limitFault(`string longer than ${meter.maxStringLength} characters`);
        parts.push(s);
      }
      return `[${parts.join(' ')}]`;
    }
    case 'map': {
      checkDepth(meter, depth + 1);
      const m = v as ExprMap;
      const parts: string[] = [];
      let len = 0;
      for (const k of mapKeys(m).sort(compareBytes)) {
        const s = `${k}:${formatValue(m[k], meter, depth + 1)}`;
        len += s.length + 1;
        if (len > meter.maxStringLength)
          throw limitFault(`string longer than ${meter.maxStringLength} characters`);
        parts.push(s);
      }
      return `map[${parts.join(' ')}]`;
    }
    case 'func':
      return '<func>';
    default:
      return '<unknown>';
  }
}

/** Short description for error messages, never huge. */
export function describe(v: unknown): string {
  const k = kindOf(v);
  if (k === 'string') {
    const s = v as string;
    return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
  }
  if (k === 'int' || k === 'bool') return String(v);
  if (k === 'float') return formatFloat(v as number);
  return typeName(v);
}

// ---------------------------------------------------------------------------------------------
// Conversion of results back to plain JavaScript.

/**
 * ints become numbers (exact up to 2^53), maps become ordinary objects, arrays are copied,
 * time and duration values are returned as ExprTime / ExprDuration (a Date from the env stays a Date).
 * Opaque values are returned as they came in.
 */
export function toJS(v: unknown, meter: Meter, depth = 0): unknown {
  switch (kindOf(v)) {
    case 'nil':
      return null;
    case 'int':
      return Number(v as bigint);
    case 'array': {
      checkDepth(meter, depth + 1);
      meter.tick((v as unknown[]).length);
      return (v as unknown[]).map((x) => toJS(x, meter, depth + 1));
    }
    case 'map': {
      checkDepth(meter, depth + 1);
      const m = v as ExprMap;
      const out: ExprMap = {};
      for (const k of mapKeys(m)) {
        meter.tick(1);
        mapSet(out, k, toJS(m[k], meter, depth + 1));
      }
      return out;
    }
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Member access, indexing and slicing (expr's runtime.Fetch / runtime.Slice).

/** Array index from an int or a float (truncated, as Go's runtime.ToInt does). */
export function toIndex(key: unknown): number {
  if (typeof key === 'bigint') {
    return key > 9007199254740991n || key < -9007199254740991n ? Number.NaN : Number(key);
  }
  if (typeof key === 'number') return Math.trunc(key);
  throw typeFault(`cannot use ${typeName(key)} as array index`);
}

function keyText(key: unknown): string {
  return typeof key === 'string' && key.length <= 40 ? key : describe(key);
}

export function fetch(obj: unknown, key: unknown): unknown {
  if (Array.isArray(obj)) {
    let i = toIndex(key);
    const len = obj.length;
    if (i < 0) i += len;
    if (!(i >= 0 && i < len))
      throw runtimeFault(`index out of range: ${keyText(key)} (array length is ${len})`);
    return obj[i];
  }
  switch (kindOf(obj)) {
    case 'map': {
      // Maps have string keys; nil looks up the zero value "" as Go's reflect.Zero(key type) does.
      if (typeof key === 'string') return mapGet(obj as ExprMap, key);
      if (isNil(key)) return mapGet(obj as ExprMap, '');
      throw typeFault(`cannot use ${typeName(key)} as map key`);
    }
    case 'string': {
      // Go indexes a string by byte and yields the byte (an integer).
      const s = obj as string;
      let i = toIndex(key);
      const len = byteLength(s);
      if (i < 0) i += len;
      if (!(i >= 0 && i < len))
        throw runtimeFault(`index out of range: ${keyText(key)} (string length is ${len})`);
      return BigInt(byteAt(s, i) ?? 0);
    }
    case 'nil':
      throw runtimeFault(`cannot fetch ${keyText(key)} from nil`);
    case 'opaque':
    case 'func':
      throw policyFault(`cannot fetch ${keyText(key)} from ${typeName(obj)}`);
    default:
      throw typeFault(`cannot fetch ${keyText(key)} from ${typeName(obj)}`);
  }
}

/** obj[from:to] with Go-like clamping; negative bounds count from the end. */
export function slice(obj: unknown, from: unknown, to: unknown, meter: Meter): unknown {
  const k = kindOf(obj);
  if (k !== 'array' && k !== 'string') {
    if (k === 'nil') throw runtimeFault('cannot slice nil');
    throw typeFault(`cannot slice ${typeName(obj)}`);
  }
  const len = k === 'array' ? (obj as unknown[]).length : byteLength(obj as string);
  const bound = (v: unknown, dflt: number): number => {
    if (v === undefined) return dflt;
    let i = toIndex(v);
    if (Number.isNaN(i)) i = 0;
    if (i < 0) i += len;
    return Math.min(Math.max(i, 0), len);
  };
  const a = bound(from, 0);
  const b = Math.max(bound(to, len), a);
  if (k === 'array') {
    meter.tick(b - a);
    return (obj as unknown[]).slice(a, b);
  }
  return byteSlice(obj as string, a, b);
}
