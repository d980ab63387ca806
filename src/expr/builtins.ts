/**
 * Builtin functions of expr-lang (builtin/builtin.go, builtin/lib.go) plus Argo Rollouts' condition
 * helpers (utils/evaluate/evaluate.go). Arity is checked when the expression is parsed; argument
 * types when it runs. Every loop ticks the step meter, every produced collection or string is
 * checked against the size limits.
 */

import { Fault, limitFault, runtimeFault, typeFault } from './errors.js';
import { formatRFC3339, parseDate, parseDuration } from './time.js';
import {
  add,
  byteIndex,
  checkDepth,
  checkSize,
  checkString,
  compare,
  compareBytes,
  ExprDuration,
  type ExprMap,
  ExprTime,
  equal,
  fetch,
  floatToInt,
  formatFloat,
  formatValue,
  isNil,
  isNumeric,
  kindOf,
  type Meter,
  mapKeys,
  mapSet,
  newMap,
  timeMs,
  typeName,
  wrapInt,
} from './values.js';

export interface BuiltinCtx extends Meter {
  /** Current time in ms since the epoch (the `now` option, so evaluation stays pure). */
  now(): number;
  /** The environment's `result` (nil when absent): Argo's isNil and default look at it. */
  argoResult(): unknown;
}

/** Calls the predicate for one element; `acc` only for reduce. */
export type Predicate = (item: unknown, index: number, acc?: unknown) => unknown;

/** How the parser reads the arguments of a predicate builtin (expr's parser `predicates` table). */
export type ArgSpec = 'expr' | 'predicate' | 'predicate?' | 'expr?';

export interface BuiltinDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Argo Rollouts' helpers are available only when asked for (evaluateCondition does). */
  readonly argo?: boolean;
  /** Present for predicate builtins: argument grammar. */
  readonly params?: readonly ArgSpec[];
  /** Plain builtin: receives evaluated arguments. */
  readonly call?: (args: unknown[], ctx: BuiltinCtx) => unknown;
  /** Predicate builtin: the array, the predicate (if given) and the remaining evaluated arguments. */
  readonly iterate?: (
    array: unknown[],
    pred: Predicate | undefined,
    rest: unknown[],
    ctx: BuiltinCtx,
  ) => unknown;
}

// ---------------------------------------------------------------------------------------------
// Argument helpers.

function str(name: string, v: unknown): string {
  if (typeof v !== 'string') throw typeFault(`invalid argument for ${name} (type ${typeName(v)})`);
  return v;
}

function int(name: string, v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Math.trunc(v);
  throw typeFault(`invalid argument for ${name} (type ${typeName(v)})`);
}

function arr(name: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw typeFault(`invalid argument for ${name} (type ${typeName(v)})`);
  return v;
}

function map(name: string, v: unknown): ExprMap {
  if (kindOf(v) !== 'map') throw typeFault(`invalid argument for ${name} (type ${typeName(v)})`);
  return v as ExprMap;
}

function float64Arg(name: string, v: unknown): number {
  if (typeof v === 'number') return v;
  throw runtimeFault(`interface conversion: interface {} is ${goTypeName(v)}, not float64 (calling ${name})`);
}

/** Go's name for the dynamic type of a value, as its interface-conversion panics print it. */
function goTypeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'float':
      return 'float64';
    case 'array':
      return '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    default:
      return typeName(v);
  }
}

/** utf8.RuneCountInString: code points (a lone surrogate counts as one, like an invalid byte). */
function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function fetchOrNil(v: unknown, index: bigint): unknown {
  if (!Array.isArray(v) && typeof v !== 'string') return null;
  try {
    return fetch(v, index);
  } catch (e) {
    if (e instanceof Fault && e.kind !== 'limit') return null;
    throw e;
  }
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw typeFault(`predicate of ${name} must return a bool, got ${typeName(v)}`);
  return v;
}

/** Go's strconv.underscoreOK: `_` only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let t = s.replace(/^[+-]/, '');
  let saw = '^';
  let hex = false;
  if (/^0[box]/i.test(t)) {
    hex = /^0x/i.test(t);
    t = t.slice(2);
    saw = '0';
  }
  for (const c of t) {
    if ((c >= '0' && c <= '9') || (hex && /[a-f]/i.test(c))) saw = '0';
    else if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
    } else {
      if (saw === '_') return false;
      saw = '!';
    }
  }
  return saw !== '_';
}

/**
 * Go's strconv.ParseFloat(s, 64): decimal and hexadecimal (0x…p…) forms, `_` separators, and the
 * inf / infinity / nan spellings; overflow is an error, underflow rounds to zero.
 */
export function parseGoFloat(s: string): number {
  const syntax = () => runtimeFault(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: invalid syntax`);
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return Number.NaN;
  if (s.includes('_') && !underscoreOK(s)) throw syntax();
  const t = s.replaceAll('_', '');
  let f: number;
  const hex = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?p([+-]?\d+)$/i.exec(t);
  if (hex) {
    const [, sign = '', int = '', frac = '', exp = '0'] = hex;
    if (int === '' && frac === '') throw syntax();
    const mantissa = Number.parseInt(`${int}${frac}` || '0', 16);
    f = mantissa * 2 ** (Number(exp) - 4 * frac.length);
    if (sign === '-') f = -f;
  } else {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw syntax();
    f = Number(t);
  }
  if (!Number.isFinite(f))
    throw runtimeFault(`strconv.ParseFloat: parsing ${JSON.stringify(s)}: value out of range`);
  return f;
}

/** Go's strconv.ParseInt(s, 10, 64). */
export function parseGoInt(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s))
    throw runtimeFault(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v !== BigInt.asIntN(64, v)) {
    throw runtimeFault(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  }
  return v;
}

/** Go's math.Round: half away from zero. */
function goRound(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Numbers of the arguments, arrays flattened (expr's minMax / mean / median). */
function numbers(
  name: string,
  args: readonly unknown[],
  ctx: BuiltinCtx,
  depth = 0,
  out: unknown[] = [],
): unknown[] {
  for (const a of args) {
    ctx.tick(1);
    if (Array.isArray(a)) {
      checkDepth(ctx, depth + 1);
      numbers(name, a, ctx, depth + 1, out);
    } else if (isNumeric(a)) {
      out.push(a);
    } else {
      throw typeFault(`invalid argument for ${name} (type ${typeName(a)})`);
    }
  }
  return out;
}

function extreme(name: string, args: unknown[], ctx: BuiltinCtx, op: '<' | '>'): unknown {
  // builtin.minMax hands back a lone argument that is neither a number nor an array as it is.
  if (args.length === 1 && !Array.isArray(args[0]) && !isNumeric(args[0])) return args[0];
  let best: unknown = null;
  for (const v of numbers(name, args, ctx)) {
    if (best === null || compare(op, best, v)) best = v;
  }
  return best;
}

/** Go's strings.SplitN / SplitAfterN. */
function goSplit(s: string, sep: string, n: number, after: boolean, ctx: BuiltinCtx): string[] {
  if (n === 0) return [];
  const out: string[] = [];
  if (sep === '') {
    const chars = Array.from(s);
    const limit = n < 0 || n > chars.length ? chars.length : n;
    checkSize(ctx, limit);
    ctx.tick(limit);
    for (let i = 0; i < limit - 1; i++) out.push(chars[i] as string);
    if (limit > 0) out.push(chars.slice(limit - 1).join(''));
    return out;
  }
  let i = 0;
  while (n < 0 || out.length < n - 1) {
    const m = s.indexOf(sep, i);
    if (m < 0) break;
    out.push(s.slice(i, after ? m + sep.length : m));
    i = m + sep.length;
    ctx.tick(1);
  }
  out.push(s.slice(i));
  checkSize(ctx, out.length);
  return out;
}

/** Go's strings.Replace (n < 0: all). */
function goReplace(s: string, old: string, repl: string, n: number, ctx: BuiltinCtx): string {
  if (old === repl || n === 0) return s;
  const parts: string[] = [];
  let count = 0;
  let length = 0;
  const emit = (piece: string) => {
    length += piece.length;
    if (length > ctx.maxStringLength)
      throw limitFault(`string longer than ${ctx.maxStringLength} characters`);
    parts.push(piece);
  };
  if (old === '') {
    // Go inserts `repl` before every rune and at the end, up to n times.
    const chars = Array.from(s);
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) {
        emit(repl);
        count++;
      }
      if (i < chars.length) emit(chars[i] as string);
    }
    return checkString(ctx, parts.join(''));
  }
  let i = 0;
  while (n < 0 || count < n) {
    const m = s.indexOf(old, i);
    if (m < 0) break;
    emit(s.slice(i, m));
    emit(repl);
    i = m + old.length;
    count++;
  }
  emit(s.slice(i));
  return checkString(ctx, parts.join(''));
}

/** Go's strings.Trim(s, cutset) / TrimSpace. */
function goTrim(s: string, cutset: string | undefined): string {
  if (cutset === undefined) return s.replace(/^\s+|\s+$/gu, '');
  const set = new Set(Array.from(cutset));
  const chars = Array.from(s);
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a] as string)) a++;
  while (b > a && set.has(chars[b - 1] as string)) b--;
  return chars.slice(a, b).join('');
}

// ---------------------------------------------------------------------------------------------
// JSON, as Go's encoding/json does it (sorted map keys, MarshalIndent with two spaces).

function jsonString(s: string): string {
  // Go escapes <, > and & for HTML safety, and U+2028 / U+2029.
  return JSON.stringify(s).replace(/[<>&\u2028\u2029\b\f]/g, (c) => {
    return `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
  });
}

function toJSON(v: unknown, ctx: BuiltinCtx, indent: string, depth: number): string {
  ctx.tick(1);
  switch (kindOf(v)) {
    case 'nil':
      return 'null';
    case 'bool':
    case 'int':
      return String(v);
    case 'float': {
      const f = v as number;
      if (!Number.isFinite(f)) throw runtimeFault(`json: unsupported value: ${formatFloat(f)}`);
      return String(f);
    }
    case 'string':
      return jsonString(v as string);
    case 'time':
      return jsonString(formatRFC3339(timeMs(v as ExprTime)));
    case 'duration':
      return String((v as ExprDuration).ns);
    case 'array': {
      checkDepth(ctx, depth + 1);
      const a = v as unknown[];
      if (a.length === 0) return '[]';
      const inner = `${indent}  `;
      return `[\n${a.map((x) => inner + toJSON(x, ctx, inner, depth + 1)).join(',\n')}\n${indent}]`;
    }
    case 'map': {
      checkDepth(ctx, depth + 1);
      const m = v as ExprMap;
      const keys = mapKeys(m).sort(compareBytes);
      if (keys.length === 0) return '{}';
      const inner = `${indent}  `;
      const body = keys.map((k) => `${inner}${jsonString(k)}: ${toJSON(m[k], ctx, inner, depth + 1)}`);
      return `{\n${body.join(',\n')}\n${indent}}`;
    }
    default:
      throw runtimeFault(`json: unsupported type: ${typeName(v)}`);
  }
}

/** JSON.parse output to expr values: objects become prototype-less maps; numbers are float64 as in Go. */
function fromJSONValue(v: unknown, ctx: BuiltinCtx, depth: number): unknown {
  ctx.tick(1);
  if (Array.isArray(v)) {
    checkDepth(ctx, depth + 1);
    return v.map((x) => fromJSONValue(x, ctx, depth + 1));
  }
  if (v !== null && typeof v === 'object') {
    checkDepth(ctx, depth + 1);
    const out = newMap();
    for (const [k, x] of Object.entries(v)) mapSet(out, k, fromJSONValue(x, ctx, depth + 1));
    return out;
  }
  return v;
}

function flatten(a: unknown[], ctx: BuiltinCtx, depth: number, out: unknown[]): unknown[] {
  checkDepth(ctx, depth + 1);
  for (const x of a) {
    ctx.tick(1);
    if (Array.isArray(x)) flatten(x, ctx, depth + 1, out);
    else {
      out.push(x);
      checkSize(ctx, out.length);
    }
  }
  return out;
}

function sortValues(values: unknown[], keys: unknown[], order: unknown, ctx: BuiltinCtx): unknown[] {
  let desc = false;
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') {
      throw runtimeFault(`invalid order ${describeOrder(order)}, expected asc or desc`);
    }
    desc = order === 'desc';
  }
  const n = values.length;
  ctx.tick(Math.ceil(n * Math.log2(n + 1)));
  const idx = values.map((_, i) => i);
  idx.sort((i, j) => {
    const a = keys[i];
    const b = keys[j];
    const c = compare('<', a, b, ctx) ? -1 : compare('>', a, b, ctx) ? 1 : 0;
    return desc ? -c : c;
  });
  return idx.map((i) => values[i]);
}

function describeOrder(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeName(v);
}

function bits(name: string, f: (x: bigint, y: bigint) => bigint): BuiltinDef {
  return {
    name,
    min: 2,
    max: 2,
    call: ([x, y]) => {
      if (typeof x !== 'bigint' || typeof y !== 'bigint') {
        throw typeFault(`invalid argument for ${name} (types ${typeName(x)}, ${typeName(y)})`);
      }
      return BigInt.asIntN(64, f(x, y));
    },
  };
}

function shiftCount(name: string, y: bigint): bigint {
  if (y < 0n) throw runtimeFault(`invalid operation: negative shift count ${y} in ${name}`);
  return y > 64n ? 64n : y; // larger shifts give the same result and must not allocate huge bigints
}

// ---------------------------------------------------------------------------------------------
// The table.

const P: readonly ArgSpec[] = ['expr', 'predicate'];

const DEFS: BuiltinDef[] = [
  // Predicate builtins (Language Definition, "Array Functions").
  { name: 'all', min: 2, max: 2, params: P, iterate: (a, p) => a.every((x, i) => bool('all', p?.(x, i))) },
  { name: 'any', min: 2, max: 2, params: P, iterate: (a, p) => a.some((x, i) => bool('any', p?.(x, i))) },
  { name: 'none', min: 2, max: 2, params: P, iterate: (a, p) => !a.some((x, i) => bool('none', p?.(x, i))) },
  {
    name: 'one',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => {
      let n = 0;
      for (let i = 0; i < a.length && n < 2; i++) if (bool('one', p?.(a[i], i))) n++;
      return n === 1;
    },
  },
  {
    name: 'filter',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => a.filter((x, i) => bool('filter', p?.(x, i))),
  },
  { name: 'map', min: 2, max: 2, params: P, iterate: (a, p) => a.map((x, i) => p?.(x, i)) },
  {
    name: 'count',
    min: 1,
    max: 2,
    params: ['expr', 'predicate?'],
    iterate: (a, p, _rest, ctx) => {
      let n = 0n;
      for (let i = 0; i < a.length; i++) {
        ctx.tick(1);
        if (bool('count', p ? p(a[i], i) : a[i])) n++;
      }
      return n;
    },
  },
  {
    name: 'sum',
    min: 1,
    max: 2,
    params: ['expr', 'predicate?'],
    iterate: (a, p, _rest, ctx) => {
      let acc: unknown = 0n;
      for (let i = 0; i < a.length; i++) {
        ctx.tick(1);
        const v = p ? p(a[i], i) : a[i];
        if (!isNumeric(v)) throw typeFault(`invalid argument for sum (type ${typeName(v)})`);
        acc = add(acc, v, ctx);
      }
      return acc;
    },
  },
  {
    name: 'find',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => {
      for (let i = 0; i < a.length; i++) if (bool('find', p?.(a[i], i))) return a[i];
      return null;
    },
  },
  {
    // Not found is nil, not -1: expr's compiler emits OpNil after the loop.
    name: 'findIndex',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => {
      for (let i = 0; i < a.length; i++) if (bool('findIndex', p?.(a[i], i))) return BigInt(i);
      return null;
    },
  },
  {
    name: 'findLast',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => {
      for (let i = a.length - 1; i >= 0; i--) if (bool('findLast', p?.(a[i], i))) return a[i];
      return null;
    },
  },
  {
    name: 'findLastIndex',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p) => {
      for (let i = a.length - 1; i >= 0; i--) if (bool('findLastIndex', p?.(a[i], i))) return BigInt(i);
      return null;
    },
  },
  {
    name: 'groupBy',
    min: 2,
    max: 2,
    params: P,
    iterate: (a, p, _rest, ctx) => {
      // Go keys the groups by any value; maps here have string keys, so keys are stringified (%v).
      const out = newMap();
      for (let i = 0; i < a.length; i++) {
        const k = p?.(a[i], i);
        const key = typeof k === 'string' ? k : formatValue(k, ctx);
        const group = Object.hasOwn(out, key) ? (out[key] as unknown[]) : [];
        if (group.length === 0) mapSet(out, key, group);
        group.push(a[i]);
      }
      return out;
    },
  },
  {
    name: 'sortBy',
    min: 2,
    max: 3,
    params: ['expr', 'predicate', 'expr?'],
    iterate: (a, p, [order], ctx) =>
      sortValues(
        a,
        a.map((x, i) => p?.(x, i)),
        order,
        ctx,
      ),
  },
  {
    name: 'reduce',
    min: 2,
    max: 3,
    params: ['expr', 'predicate', 'expr?'],
    iterate: (a, p, rest) => {
      let i = 0;
      let acc: unknown;
      if (rest.length > 0) acc = rest[0];
      else {
        if (a.length === 0) throw runtimeFault('reduce of empty array with no initial value');
        acc = a[0];
        i = 1;
      }
      for (; i < a.length; i++) acc = p?.(a[i], i, acc);
      return acc;
    },
  },

  // Miscellaneous and type conversion functions.
  {
    name: 'len',
    min: 1,
    max: 1,
    call: ([v], ctx) => {
      if (Array.isArray(v)) return BigInt(v.length);
      // expr 1.17's len counts runes (utf8.RuneCountInString), unlike Go's len.
      if (typeof v === 'string') return BigInt(runeCount(v));
      if (kindOf(v) === 'map') {
        const n = mapKeys(v as ExprMap).length;
        ctx.tick(n); // Object.keys is O(n) with a large constant
        return BigInt(n);
      }
      throw typeFault(`invalid argument for len (type ${typeName(v)})`);
    },
  },
  { name: 'type', min: 1, max: 1, call: ([v]) => typeName(v) },
  {
    name: 'abs',
    min: 1,
    max: 1,
    call: ([v]) => {
      if (typeof v === 'bigint') return wrapInt(v < 0n ? -v : v); // Go: abs(MinInt64) is MinInt64
      if (typeof v === 'number') return v < 0 ? -v : v; // Go keeps -0 as it is
      throw typeFault(`invalid argument for abs (type ${typeName(v)})`);
    },
  },
  ...(['ceil', 'floor', 'round'] as const).map(
    (name): BuiltinDef => ({
      name,
      min: 1,
      max: 1,
      call: ([v]) => {
        if (typeof v === 'bigint') return Number(v); // Go returns float64 for ints too
        if (typeof v !== 'number') throw typeFault(`invalid argument for ${name} (type ${typeName(v)})`);
        return name === 'ceil' ? Math.ceil(v) : name === 'floor' ? Math.floor(v) : goRound(v);
      },
    }),
  ),
  {
    name: 'int',
    min: 1,
    max: 1,
    call: ([v]) => {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return floatToInt(v);
      if (v instanceof ExprDuration) return BigInt(v.ns);
      if (typeof v === 'string') {
        try {
          return parseGoInt(v);
        } catch {
          throw runtimeFault(`invalid operation: int(${JSON.stringify(v)})`);
        }
      }
      throw typeFault(`invalid operation: int(${typeName(v)})`);
    },
  },
  {
    name: 'float',
    min: 1,
    max: 1,
    call: ([v]) => {
      if (isNumeric(v)) return Number(v);
      if (typeof v === 'string') {
        try {
          return parseGoFloat(v);
        } catch {
          throw runtimeFault(`invalid operation: float(${JSON.stringify(v)})`);
        }
      }
      throw typeFault(`invalid operation: float(${typeName(v)})`);
    },
  },
  { name: 'string', min: 1, max: 1, call: ([v], ctx) => checkString(ctx, formatValue(v, ctx)) },
  { name: 'toJSON', min: 1, max: 1, call: ([v], ctx) => checkString(ctx, toJSON(v, ctx, '', 0)) },
  {
    name: 'fromJSON',
    min: 1,
    max: 1,
    call: ([v], ctx) => {
      const s = str('fromJSON', v);
      ctx.tick(s.length >> 3);
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch (e) {
        throw runtimeFault(`fromJSON: ${(e as Error).message}`);
      }
      return fromJSONValue(parsed, ctx, 0);
    },
  },
  {
    name: 'toBase64',
    min: 1,
    max: 1,
    call: ([v], ctx) => checkString(ctx, Buffer.from(str('toBase64', v), 'utf8').toString('base64')),
  },
  {
    name: 'fromBase64',
    min: 1,
    max: 1,
    call: ([v], ctx) => {
      const s = str('fromBase64', v);
      // Go's StdEncoding is strict about the alphabet and padding; Node's decoder is not.
      if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
        throw runtimeFault('illegal base64 data');
      }
      return checkString(ctx, Buffer.from(s, 'base64').toString('utf8'));
    },
  },
  {
    name: 'get',
    min: 2,
    max: 2,
    call: ([v, k]) => {
      // expr's get() recovers from any failed lookup and yields nil.
      try {
        return fetch(v, k);
      } catch (e) {
        if (e instanceof Fault && e.kind !== 'limit') return null;
        throw e;
      }
    },
  },

  // String functions.
  {
    name: 'trim',
    min: 1,
    max: 2,
    call: ([s, c]) => goTrim(str('trim', s), c === undefined ? undefined : str('trim', c)),
  },
  {
    name: 'trimPrefix',
    min: 1,
    max: 2,
    call: ([s, p = ' ']) => {
      const x = str('trimPrefix', s);
      const y = str('trimPrefix', p);
      return x.startsWith(y) ? x.slice(y.length) : x;
    },
  },
  {
    name: 'trimSuffix',
    min: 1,
    max: 2,
    call: ([s, p = ' ']) => {
      const x = str('trimSuffix', s);
      const y = str('trimSuffix', p);
      return y !== '' && x.endsWith(y) ? x.slice(0, x.length - y.length) : x;
    },
  },
  { name: 'upper', min: 1, max: 1, call: ([s], ctx) => checkString(ctx, str('upper', s).toUpperCase()) },
  { name: 'lower', min: 1, max: 1, call: ([s], ctx) => checkString(ctx, str('lower', s).toLowerCase()) },
  {
    name: 'split',
    min: 2,
    max: 3,
    call: ([s, sep, n], ctx) =>
      goSplit(str('split', s), str('split', sep), n === undefined ? -1 : int('split', n), false, ctx),
  },
  {
    name: 'splitAfter',
    min: 2,
    max: 3,
    call: ([s, sep, n], ctx) =>
      goSplit(
        str('splitAfter', s),
        str('splitAfter', sep),
        n === undefined ? -1 : int('splitAfter', n),
        true,
        ctx,
      ),
  },
  {
    name: 'replace',
    min: 3,
    max: 4,
    call: ([s, o, r, n], ctx) =>
      goReplace(
        str('replace', s),
        str('replace', o),
        str('replace', r),
        n === undefined ? -1 : int('replace', n),
        ctx,
      ),
  },
  {
    name: 'repeat',
    min: 2,
    max: 2,
    call: ([s, n], ctx) => {
      const x = str('repeat', s);
      const count = int('repeat', n);
      if (count < 0)
        throw runtimeFault(`invalid argument for repeat (expected positive integer, got ${count})`);
      if (x.length * count > ctx.maxStringLength) {
        throw limitFault(`string longer than ${ctx.maxStringLength} characters`);
      }
      return checkString(ctx, x.repeat(count));
    },
  },
  {
    name: 'join',
    min: 1,
    max: 2,
    call: ([a, g = ''], ctx) => {
      const items = arr('join', a);
      const glue = str('join', g);
      ctx.tick(items.length);
      let length = 0;
      for (const x of items) {
        length += str('join', x).length + glue.length;
        if (length > ctx.maxStringLength + glue.length) {
          throw limitFault(`string longer than ${ctx.maxStringLength} characters`);
        }
      }
      return checkString(ctx, items.join(glue));
    },
  },
  {
    name: 'indexOf',
    min: 2,
    max: 2,
    call: ([s, t]) => {
      const x = str('indexOf', s);
      return BigInt(byteIndex(x, x.indexOf(str('indexOf', t))));
    },
  },
  {
    name: 'lastIndexOf',
    min: 2,
    max: 2,
    call: ([s, t]) => {
      const x = str('lastIndexOf', s);
      return BigInt(byteIndex(x, x.lastIndexOf(str('lastIndexOf', t))));
    },
  },
  {
    name: 'hasPrefix',
    min: 2,
    max: 2,
    call: ([s, p]) => str('hasPrefix', s).startsWith(str('hasPrefix', p)),
  },
  { name: 'hasSuffix', min: 2, max: 2, call: ([s, p]) => str('hasSuffix', s).endsWith(str('hasSuffix', p)) },

  // Number functions.
  { name: 'max', min: 1, max: Number.POSITIVE_INFINITY, call: (args, ctx) => extreme('max', args, ctx, '<') },
  { name: 'min', min: 1, max: Number.POSITIVE_INFINITY, call: (args, ctx) => extreme('min', args, ctx, '>') },
  {
    name: 'mean',
    min: 1,
    max: Number.POSITIVE_INFINITY,
    call: (args, ctx) => {
      const xs = numbers('mean', args, ctx);
      if (xs.length === 0) return 0;
      let total = 0;
      for (const x of xs) total += Number(x);
      return total / xs.length;
    },
  },
  {
    name: 'median',
    min: 1,
    max: Number.POSITIVE_INFINITY,
    call: (args, ctx) => {
      const xs = numbers('median', args, ctx).map(Number);
      const n = xs.length;
      if (n === 0) return 0;
      ctx.tick(Math.ceil(n * Math.log2(n + 1)));
      xs.sort((a, b) => a - b);
      return n % 2 === 1
        ? (xs[(n - 1) / 2] as number)
        : ((xs[n / 2 - 1] as number) + (xs[n / 2] as number)) / 2;
    },
  },

  // Date functions.
  { name: 'now', min: 0, max: 0, call: (_args, ctx) => new ExprTime(ctx.now()) },
  { name: 'duration', min: 1, max: 1, call: ([s]) => new ExprDuration(parseDuration(str('duration', s))) },
  {
    name: 'date',
    min: 1,
    max: 3,
    call: ([s, layout, zone]) =>
      parseDate(
        str('date', s),
        layout === undefined ? undefined : str('date', layout),
        zone === undefined ? undefined : str('date', zone),
      ),
  },

  // Array functions.
  // first / last are runtime.Fetch(v, 0 / -1) with any panic recovered into nil.
  { name: 'first', min: 1, max: 1, call: ([a]) => fetchOrNil(a, 0n) },
  { name: 'last', min: 1, max: 1, call: ([a]) => fetchOrNil(a, -1n) },
  {
    name: 'take',
    min: 2,
    max: 2,
    call: ([a, n], ctx) => {
      const items = arr('take', a);
      if (typeof n !== 'bigint') throw typeFault(`cannot take ${typeName(n)} elements`);
      if (n < 0n) throw runtimeFault(`invalid argument for take (negative count ${n})`);
      const count = n > BigInt(items.length) ? items.length : Number(n);
      ctx.tick(count);
      return items.slice(0, count);
    },
  },
  {
    name: 'reverse',
    min: 1,
    max: 1,
    call: ([a], ctx) => {
      const items = arr('reverse', a);
      ctx.tick(items.length);
      return items.slice().reverse();
    },
  },
  {
    name: 'uniq',
    min: 1,
    max: 1,
    call: ([a], ctx) => {
      const out: unknown[] = [];
      for (const x of arr('uniq', a)) if (!out.some((y) => equal(x, y, ctx))) out.push(x);
      return out;
    },
  },
  {
    name: 'concat',
    min: 1,
    max: Number.POSITIVE_INFINITY,
    call: (args, ctx) => {
      let n = 0;
      for (const a of args) n += arr('concat', a).length;
      checkSize(ctx, n);
      ctx.tick(n);
      return ([] as unknown[]).concat(...(args as unknown[][]));
    },
  },
  { name: 'flatten', min: 1, max: 1, call: ([a], ctx) => flatten(arr('flatten', a), ctx, 0, []) },
  {
    name: 'sort',
    min: 1,
    max: 2,
    call: ([a, order], ctx) => {
      const items = arr('sort', a);
      return sortValues(items, items, order, ctx);
    },
  },

  // Map functions.
  {
    name: 'keys',
    min: 1,
    max: 1,
    call: ([m], ctx) => {
      const k = mapKeys(map('keys', m));
      ctx.tick(k.length);
      return k;
    },
  },
  {
    name: 'values',
    min: 1,
    max: 1,
    call: ([m], ctx) => {
      const x = map('values', m);
      const k = mapKeys(x);
      ctx.tick(k.length);
      return k.map((key) => x[key]);
    },
  },
  {
    name: 'toPairs',
    min: 1,
    max: 1,
    call: ([m], ctx) => {
      const x = map('toPairs', m);
      const k = mapKeys(x);
      ctx.tick(k.length);
      return k.map((key) => [key, x[key]]);
    },
  },
  {
    name: 'fromPairs',
    min: 1,
    max: 1,
    call: ([a], ctx) => {
      const out = newMap();
      for (const pair of arr('fromPairs', a)) {
        ctx.tick(1);
        if (!Array.isArray(pair) || pair.length !== 2) throw runtimeFault('invalid pair for fromPairs');
        const [k, v] = pair;
        if (typeof k !== 'string') throw typeFault(`cannot use ${typeName(k)} as map key`);
        mapSet(out, k, v);
      }
      return out;
    },
  },

  // Bitwise functions (ints only, 64-bit two's complement).
  bits('bitand', (x, y) => x & y),
  bits('bitor', (x, y) => x | y),
  bits('bitxor', (x, y) => x ^ y),
  bits('bitnand', (x, y) => x & ~y),
  bits('bitshl', (x, y) => x << shiftCount('bitshl', y)),
  bits('bitshr', (x, y) => x >> shiftCount('bitshr', y)),
  bits('bitushr', (x, y) => BigInt.asUintN(64, x) >> shiftCount('bitushr', y)),
  {
    name: 'bitnot',
    min: 1,
    max: 1,
    call: ([x]) => {
      if (typeof x !== 'bigint') throw typeFault(`invalid argument for bitnot (type ${typeName(x)})`);
      return ~x;
    },
  },

  // Argo Rollouts helpers (utils/evaluate/evaluate.go).
  {
    name: 'asInt',
    min: 1,
    max: 1,
    argo: true,
    call: ([v]) => {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return floatToInt(v);
      if (typeof v === 'string') return parseGoInt(v);
      throw runtimeFault(`asInt() not supported on ${typeName(v)}`);
    },
  },
  {
    name: 'asFloat',
    min: 1,
    max: 1,
    argo: true,
    call: ([v]) => {
      if (isNumeric(v)) return Number(v);
      if (typeof v === 'string') return parseGoFloat(v);
      throw runtimeFault(`asFloat() not supported on ${typeName(v)}`);
    },
  },
  // isNaN is math.IsNaN and isInf a func(float64) bool: an int reaching them at run time is an
  // error in Go (the checker turns int literals in the argument into floats beforehand).
  {
    name: 'isNaN',
    min: 1,
    max: 1,
    argo: true,
    call: ([v]) => Number.isNaN(float64Arg('isNaN', v)),
  },
  {
    name: 'isInf',
    min: 1,
    max: 1,
    argo: true,
    call: ([v]) => {
      const f = float64Arg('isInf', v);
      return f === Number.POSITIVE_INFINITY || f === Number.NEGATIVE_INFINITY;
    },
  },
  // Argo builds isNil and default as closures over the measurement: both ignore their first
  // argument and look at `result` itself (isNil(x) == isNil(result), default(x, d) == result ?? d).
  { name: 'isNil', min: 1, max: 1, argo: true, call: (_args, ctx) => isNil(ctx.argoResult()) },
  {
    name: 'default',
    min: 2,
    max: 2,
    argo: true,
    call: ([, fallback], ctx) => {
      const result = ctx.argoResult();
      return isNil(result) ? fallback : result;
    },
  },
];

export const BUILTINS: ReadonlyMap<string, BuiltinDef> = new Map(DEFS.map((d) => [d.name, d]));
