/**
 * Tree-walking interpreter with a step budget. Every node visit and every element a builtin
 * touches costs a step; exceeding `maxSteps` (or the size limits) throws a 'limit' ExprError, so
 * evaluation time is bounded whatever the expression. Recursion depth is bounded by the parser's
 * AST height limit plus the value-depth limit for data traversals.
 */

import type { Node, NodeOf } from './ast.js';
import type { BuiltinCtx, Predicate } from './builtins.js';
import { type CheckResult, check } from './checker.js';
import { columnAt, ExprError, Fault, limitFault, policyFault, runtimeFault, typeFault } from './errors.js';
import { constValue, isConstantArray, zeroConstants } from './fold.js';
import { type ParseOptions, parse } from './parser.js';
import { compileRegex, RegexError } from './regex.js';
import { callDurationMethod, callTimeMethod } from './time.js';
import {
  add,
  type CompareOp,
  checkSize,
  compare,
  divide,
  ExprDuration,
  type ExprMap,
  ExprTime,
  equal,
  fetch,
  floatToInt,
  isNil,
  kindOf,
  mapGet,
  mapKeys,
  mapSet,
  modulo,
  multiply,
  negate,
  newMap,
  power,
  slice,
  subtract,
  toJS,
  typeName,
} from './values.js';

export interface RunOptions {
  /** Clock for `now()`; defaults to the current time. */
  readonly now?: Date;
  /** Maximum work units (node visits and element operations), default 1,000,000. */
  readonly maxSteps?: number;
  /** Maximum length of any array built during evaluation (ranges, map, concat…), default 1,000,000. */
  readonly maxCollectionSize?: number;
  /** Maximum length of any string built during evaluation (+, repeat, join…), default 1,000,000. */
  readonly maxStringLength?: number;
  /** Maximum nesting of values traversed by ==, string(), toJSON… (guards cyclic data), default 100. */
  readonly maxValueDepth?: number;
}

export type CompileOptions = ParseOptions;
export interface EvaluateOptions extends CompileOptions, RunOptions {}

export const DEFAULT_MAX_STEPS = 1_000_000;
export const DEFAULT_MAX_COLLECTION_SIZE = 1_000_000;
export const DEFAULT_MAX_STRING_LENGTH = 1_000_000;
export const DEFAULT_MAX_VALUE_DEPTH = 100;

export interface CompiledExpression {
  readonly source: string;
  /** Evaluates against `env`; the result is converted to plain JS (ints become numbers). */
  run(env?: Readonly<Record<string, unknown>>, options?: RunOptions): unknown;
}

/**
 * Stands for an element of a map that a predicate builtin walks at run time: Go's reflect gives the
 * loop a length, but reading an element fails (reflect.Value.Index on a map).
 */
const MAP_SLOT: unique symbol = Symbol('map-slot');
const mapSlotFault = () => runtimeFault('reflect: call of reflect.Value.Index on map Value');

/** Marks "an optional access met nil": propagates up the postfix chain to its `chain` node. */
const NIL_CHAIN: unique symbol = Symbol('nil-chain');

interface Frame {
  readonly item: unknown;
  readonly index: number;
  readonly acc: unknown;
  readonly hasAcc: boolean;
}

class Interpreter implements BuiltinCtx {
  readonly maxSteps: number;
  readonly maxCollectionSize: number;
  readonly maxStringLength: number;
  readonly maxValueDepth: number;
  private readonly env: Readonly<Record<string, unknown>>;
  private readonly clock: number;
  private steps = 0;
  /** Source offset of the node whose own operation is running, for error columns. */
  at = 0;
  private readonly frames: Frame[] = [];
  private readonly scope: { readonly name: string; readonly value: unknown }[] = [];
  /** What the checker found about this run's static types (see CheckResult). */
  checked: CheckResult = {
    floatLiterals: new Set(),
    intEquals: new Set(),
    stringEquals: new Set(),
    intRanges: new Set(),
  };
  /** Float zero constants whose sign expr's constant pool overrides (see zeroConstants). */
  zeros: ReadonlyMap<Node, number> | undefined;

  constructor(env: Readonly<Record<string, unknown>>, options: RunOptions) {
    this.env = env;
    this.maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    this.maxCollectionSize = options.maxCollectionSize ?? DEFAULT_MAX_COLLECTION_SIZE;
    this.maxStringLength = options.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    this.maxValueDepth = options.maxValueDepth ?? DEFAULT_MAX_VALUE_DEPTH;
    this.clock = options.now ? options.now.getTime() : Date.now();
  }

  tick(n: number): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw limitFault(`evaluation exceeded ${this.maxSteps} steps`);
  }

  now(): number {
    return this.clock;
  }

  argoResult(): unknown {
    return Object.hasOwn(this.env, 'result') ? this.env.result : null;
  }

  /** Operations that scan a string (byte indexing, builtins) cost in proportion to its length. */
  private tickString(v: unknown): void {
    if (typeof v === 'string' && v.length >= 64) this.tick(v.length >> 6);
  }

  eval(n: Node): unknown {
    if (++this.steps > this.maxSteps) throw limitFault(`evaluation exceeded ${this.maxSteps} steps`);
    if (this.zeros?.has(n)) return this.zeros.get(n);
    switch (n.type) {
      case 'nil':
        return null;
      case 'int':
        return this.checked.floatLiterals.has(n) ? Number(n.value) : n.value;
      case 'bool':
      case 'float':
      case 'string':
        return n.value;
      case 'ident':
        return this.identifier(n);
      case 'pointer':
        return this.pointer(n);
      case 'unary':
        return this.unary(n);
      case 'binary':
        return this.binary(n);
      case 'cond': {
        const test = this.eval(n.test);
        if (typeof test !== 'boolean') {
          this.at = n.pos;
          throw typeFault(`non-bool expression (type ${typeName(test)}) used as condition`);
        }
        return this.eval(test ? n.then : n.otherwise);
      }
      case 'array':
        return n.items.map((item) => this.eval(item));
      case 'map': {
        const pairs = n.entries.map(([k, v]) => [this.eval(k), this.eval(v)] as const);
        // expr's OpMap pops the pairs last to first: the last bad key fails, and of two equal
        // keys the first one wins.
        for (let i = pairs.length - 1; i >= 0; i--) {
          const key = (pairs[i] as readonly [unknown, unknown])[0];
          if (typeof key !== 'string') {
            this.at = (n.entries[i] as readonly [Node, Node])[0].pos;
            throw typeFault(`map key must be a string, got ${typeName(key)}`);
          }
        }
        const out = newMap();
        for (const [key, value] of pairs)
          if (!Object.hasOwn(out, key as string)) mapSet(out, key as string, value);
        return out;
      }
      case 'member': {
        const obj = this.eval(n.object);
        if (obj === NIL_CHAIN || (n.optional && isNil(obj))) return NIL_CHAIN;
        const key = this.eval(n.property);
        this.at = n.pos;
        this.tickString(obj);
        return fetch(obj, key);
      }
      case 'slice': {
        const obj = this.eval(n.object);
        if (obj === NIL_CHAIN) return NIL_CHAIN;
        const from = n.from ? this.eval(n.from) : undefined;
        const to = n.to ? this.eval(n.to) : undefined;
        this.at = n.pos;
        this.tickString(obj);
        return slice(obj, from, to, this);
      }
      case 'chain': {
        const v = this.eval(n.node);
        return v === NIL_CHAIN ? null : v;
      }
      case 'method':
        return this.method(n);
      case 'builtin':
        return this.builtin(n);
      case 'call':
        return this.call(n);
      case 'let': {
        const value = this.eval(n.value);
        this.scope.push({ name: n.name, value });
        const result = this.eval(n.body);
        this.scope.pop();
        return result;
      }
      case 'sequence': {
        let last: unknown = null;
        for (const node of n.nodes) last = this.eval(node);
        return last;
      }
      case 'predicate':
        this.at = n.pos;
        throw typeFault('predicate used outside a builtin');
    }
  }

  private identifier(n: NodeOf<'ident'>): unknown {
    for (let k = this.scope.length - 1; k >= 0; k--) {
      const s = this.scope[k] as { name: string; value: unknown };
      if (s.name === n.name) return s.value;
    }
    // Own properties only: `constructor`, `toString`, `__proto__` are unknown names, not Object members.
    if (Object.hasOwn(this.env, n.name)) return this.env[n.name];
    if (n.name === '$env') return this.env;
    this.at = n.pos;
    throw typeFault(`unknown name ${n.name}`);
  }

  private pointer(n: NodeOf<'pointer'>): unknown {
    const f = this.frames[this.frames.length - 1];
    this.at = n.pos;
    if (!f) throw typeFault('cannot use pointer accessor outside predicate');
    if (n.name === '') {
      if (f.item === MAP_SLOT) throw mapSlotFault();
      return f.item;
    }
    if (n.name === 'index') return BigInt(f.index);
    if (n.name === 'acc' && f.hasAcc) return f.acc;
    throw typeFault(`unknown pointer #${n.name}`);
  }

  private unary(n: NodeOf<'unary'>): unknown {
    const v = this.eval(n.operand);
    this.at = n.pos;
    switch (n.op) {
      case '-':
        return negate(v);
      case '+':
        return v; // expr compiles unary plus to nothing: the checker alone looks at the type
      default:
        if (typeof v !== 'boolean') throw typeFault(`invalid operation: not ${typeName(v)}`);
        return !v;
    }
  }

  /**
   * `and` / `or` as expr compiles them: after constant folding (`x and true` is `x`, `x and false`
   * is `false` without evaluating x), the left operand must be a bool, and the right operand is
   * the result as it is (OpJumpIfFalse only looks at the left one).
   */
  private logical(n: NodeOf<'binary'>): unknown {
    const and = n.op === 'and';
    const a = constValue(n.left);
    const b = constValue(n.right);
    if (a === and) return this.eval(n.right);
    if (b === and) return this.eval(n.left);
    if (a === !and || b === !and) return !and;
    const v = this.eval(n.left);
    if (typeof v !== 'boolean') {
      this.at = n.pos;
      throw typeFault(`invalid operation: ${n.op} on ${typeName(v)} (bool expected)`);
    }
    return v === and ? this.eval(n.right) : v;
  }

  private binary(n: NodeOf<'binary'>): unknown {
    switch (n.op) {
      case 'and':
      case 'or':
        return this.logical(n);
      case '??': {
        const l = this.eval(n.left);
        return isNil(l) ? this.eval(n.right) : l;
      }
      case 'in':
        if (this.checked.intRanges.has(n) && n.right.type === 'binary') {
          // optimizer/in_range.go: `x in 1..9` on an int x is `x >= 1 and x <= 9`, no range is built.
          const x = this.eval(n.left);
          this.at = n.pos;
          return (
            compare('>=', x, constValue(n.right.left), this) &&
            compare('<=', x, constValue(n.right.right), this)
          );
        }
    }
    const l = this.eval(n.left);
    const r = this.eval(n.right);
    this.at = n.pos;
    switch (n.op) {
      case '==':
      case '!=': {
        if (this.checked.intEquals.has(n)) assertGoType(l, r, 'bigint', 'int');
        else if (this.checked.stringEquals.has(n)) assertGoType(l, r, 'string', 'string');
        return equal(l, r, this) === (n.op === '==');
      }
      case '<':
      case '>':
      case '<=':
      case '>=':
        return compare(n.op as CompareOp, l, r, this);
      case '+':
        return add(l, r, this);
      case '-':
        return subtract(l, r);
      case '*':
        return multiply(l, r);
      case '/':
        return divide(l, r);
      case '%':
        return modulo(l, r);
      case '**':
        return power(l, r);
      case '..':
        return this.range(l, r);
      case 'in':
        if (isStringSet(n.right)) return this.inStringSet(l, r as unknown[]);
        return this.contains(r, l);
      case 'contains':
      case 'startsWith':
      case 'endsWith': {
        if (isNil(l) || isNil(r)) return false; // as expr's OpContains / OpStartsWith / OpEndsWith
        if (typeof l !== 'string' || typeof r !== 'string') {
          throw typeFault(`invalid operation: ${typeName(l)} ${n.op} ${typeName(r)}`);
        }
        this.tickString(l);
        return n.op === 'contains' ? l.includes(r) : n.op === 'startsWith' ? l.startsWith(r) : l.endsWith(r);
      }
      case 'matches': {
        if (isNil(l) || isNil(r)) return false; // as expr's OpMatches
        if (typeof l !== 'string' || typeof r !== 'string') {
          throw typeFault(`invalid operation: ${typeName(l)} matches ${typeName(r)}`);
        }
        let re: ReturnType<typeof compileRegex>;
        try {
          re = compileRegex(r);
        } catch (e) {
          if (e instanceof RegexError) {
            throw e.tooLarge
              ? limitFault(`regular expression: ${e.message}`)
              : runtimeFault(`error parsing regexp: ${e.message}`);
          }
          throw e;
        }
        this.tick(r.length + re.size); // compiling or looking up the pattern, and setting up the VM
        return re.test(l, (k) => this.tick(k));
      }
      default:
        throw typeFault(`unknown operator ${n.op}`);
    }
  }

  private range(a: unknown, b: unknown): bigint[] {
    // OpRange converts both ends with runtime.ToInt: floats that got past the checker truncate.
    const toInt = (v: unknown): bigint => {
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return floatToInt(v);
      throw typeFault(`invalid operation: ${typeName(a)} .. ${typeName(b)} (ints expected)`);
    };
    const l = toInt(a);
    const r = toInt(b);
    const size = r - l + 1n;
    if (size <= 0n) return [];
    // Checked before allocating: `1..1000000000000` fails here, not in the allocator.
    if (size > BigInt(this.maxCollectionSize))
      throw limitFault(`range of ${size} items is larger than ${this.maxCollectionSize}`);
    const n = Number(size);
    this.tick(n);
    const out = new Array<bigint>(n);
    for (let i = 0; i < n; i++) out[i] = l + BigInt(i);
    return out;
  }

  /**
   * expr's optimizer turns `x in ["a", "b"]` (string literals only) into a lookup in a
   * map[string]struct{} when x's type is not known to be int: a needle of another type then
   * fails at run time instead of being "not in".
   */
  private inStringSet(needle: unknown, items: unknown[]): boolean {
    if (isNil(needle)) return false;
    if (typeof needle !== 'string') {
      throw runtimeFault(
        `reflect.Value.MapIndex: value of type ${typeName(needle)} is not assignable to type string`,
      );
    }
    return items.includes(needle);
  }

  /** `needle in haystack`: array membership by ==, or map key presence. */
  private contains(haystack: unknown, needle: unknown): boolean {
    if (Array.isArray(haystack)) {
      for (const x of haystack) if (equal(x, needle, this)) return true;
      return false;
    }
    switch (kindOf(haystack)) {
      case 'map':
        if (typeof needle === 'string') return Object.hasOwn(haystack as ExprMap, needle);
        if (isNil(needle)) return Object.hasOwn(haystack as ExprMap, '');
        throw typeFault(`cannot use ${typeName(needle)} as map key`);
      case 'nil':
        return false;
      default:
        throw typeFault(`operator "in" not defined on ${typeName(haystack)}`);
    }
  }

  private method(n: NodeOf<'method'>): unknown {
    const obj = this.eval(n.object);
    if (obj === NIL_CHAIN || (n.optional && isNil(obj))) return NIL_CHAIN;
    this.at = n.pos;
    const isTime = obj instanceof ExprTime || obj instanceof Date;
    if (!isTime && !(obj instanceof ExprDuration)) {
      if (isNil(obj)) throw runtimeFault(`cannot call method ${n.name} on nil`);
      if (kindOf(obj) === 'map' && typeof mapGet(obj as ExprMap, n.name) === 'function') {
        throw policyFault(`calling functions from the environment is not allowed (${n.name})`);
      }
      throw typeFault(`type ${typeName(obj)} has no method ${n.name}`);
    }
    const args = n.args.map((a) => this.eval(a));
    this.at = n.pos;
    return obj instanceof ExprDuration
      ? callDurationMethod(obj, n.name, args)
      : callTimeMethod(obj, n.name, args);
  }

  private call(n: NodeOf<'call'>): never {
    this.at = n.pos;
    const scoped = this.scope.findLast((s) => s.name === n.name);
    if (scoped || Object.hasOwn(this.env, n.name)) {
      const v = scoped ? scoped.value : this.env[n.name];
      // Only builtins run: a function handed in through the environment is never invoked.
      if (typeof v === 'function')
        throw policyFault(`calling functions from the environment is not allowed (${n.name})`);
      throw typeFault(`${n.name} is not a function (type ${typeName(v)})`);
    }
    throw typeFault(`unknown func ${n.name}`);
  }

  private builtin(n: NodeOf<'builtin'>): unknown {
    const def = n.def;
    const first = n.args[0] as Node;
    if (
      def.name === 'sum' &&
      n.args.length === 1 &&
      first.type === 'array' &&
      first.items.length >= 2 &&
      !isConstantArray(first)
    )
      return this.sumOfLiteral(n, first);
    if (def.iterate) {
      let array = this.eval(n.args[0] as Node);
      this.at = n.pos;
      if (typeof array === 'string') {
        // A string only known at run time is walked like Go's reflect does: byte by byte.
        const bytes = Buffer.from(array, 'utf8');
        checkSize(this, bytes.length);
        this.tick(bytes.length);
        array = Array.from(bytes, (b) => BigInt(b));
      }
      let fromMap = false;
      if (kindOf(array) === 'map') {
        const size = mapKeys(array as ExprMap).length;
        this.tick(size);
        array = new Array<unknown>(size).fill(MAP_SLOT);
        fromMap = true;
      }
      if (!Array.isArray(array)) throw typeFault(`${def.name}: cannot iterate over ${typeName(array)}`);
      let body: Node | undefined;
      const rest: unknown[] = [];
      for (const a of n.args.slice(1)) {
        if (a.type === 'predicate') body = a.body;
        else rest.push(this.eval(a));
      }
      const hasAcc = def.name === 'reduce';
      const predBody = body;
      const pred: Predicate | undefined = predBody
        ? (item, index, acc) => {
            this.frames.push({ item, index, acc, hasAcc });
            const v = this.eval(predBody);
            this.frames.pop();
            this.at = n.pos;
            return v;
          }
        : undefined;
      this.at = n.pos;
      const result = def.iterate(array, pred, rest, this);
      if (fromMap && (result === MAP_SLOT || (Array.isArray(result) && result.includes(MAP_SLOT))))
        throw mapSlotFault();
      return result;
    }
    const args = n.args.map((a) => this.eval(a));
    this.at = n.pos;
    for (const a of args) this.tickString(a);
    return def.call ? def.call(args, this) : null;
  }

  /**
   * sum([a, b, c]) of an array literal that does not fold to a constant: expr's optimizer
   * (sum_array.go) rewrites it to a + (b + c), so it adds from the right with `+` semantics.
   */
  private sumOfLiteral(n: NodeOf<'builtin'>, array: NodeOf<'array'>): unknown {
    const values = array.items.map((item) => this.eval(item));
    this.at = n.pos;
    let acc = values[values.length - 1];
    for (let i = values.length - 2; i >= 0; i--) acc = add(values[i], acc, this);
    return acc;
  }
}

/** OpEqualInt / OpEqualString: Go type assertions on both operands, left first. */
function assertGoType(l: unknown, r: unknown, js: 'bigint' | 'string', go: string): void {
  for (const v of [l, r]) {
    if (typeof v !== js) {
      const kind = kindOf(v);
      const name = kind === 'float' ? 'float64' : kind === 'nil' ? 'nil' : typeName(v);
      throw runtimeFault(`interface conversion: interface {} is ${name}, not ${go}`);
    }
  }
}

/** A non-empty array literal of string literals, which expr's in_array optimizer turns into a set. */
function isStringSet(n: Node): n is NodeOf<'array'> {
  return n.type === 'array' && n.items.length > 0 && n.items.every((i) => i.type === 'string');
}

/**
 * Converts anything thrown during evaluation into an ExprError; JS errors never escape.
 * Once the expression has passed the checker (`checked`), a type mismatch found while running is
 * what expr reports as a run-time error, so it becomes kind 'runtime' (policy refusals stay 'type').
 */
function asExprError(e: unknown, source: string, at: number, checked = false): ExprError {
  if (e instanceof ExprError) return e;
  const column = columnAt(source, at);
  if (e instanceof Fault) {
    const kind = checked && e.kind === 'type' && !e.policy ? 'runtime' : e.kind;
    return new ExprError(kind, e.message, column, source);
  }
  // Backstop only: depth limits keep evaluation far from the JS stack limit.
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new ExprError('limit', 'evaluation nested too deeply', column, source);
  }
  // Anything else is a bug or an exception from an environment getter; still an ExprError.
  let text = 'unknown error';
  try {
    text = e instanceof Error ? e.message : String(e);
  } catch {
    // a thrown value whose toString throws
  }
  return new ExprError('runtime', `internal error: ${text}`, column, source);
}

export class Compiled implements CompiledExpression {
  readonly source: string;
  private readonly ast: Node;
  private readonly argoHelpers: boolean;
  private readonly zeros: ReadonlyMap<Node, number> | undefined;

  constructor(source: string, ast: Node, argoHelpers: boolean) {
    this.source = source;
    this.ast = ast;
    this.argoHelpers = argoHelpers;
    this.zeros = zeroConstants(ast);
  }

  /** Evaluates and returns the internal value (ints as bigint). */
  runRaw(
    env: Readonly<Record<string, unknown>> | undefined,
    options: RunOptions = {},
  ): { value: unknown; toJS(): unknown } {
    // Anything but an object (null, a primitive from an untyped caller) is an empty environment.
    const scope = typeof env === 'object' && env !== null ? env : {};
    const it = new Interpreter(scope, options ?? {});
    let value: unknown;
    let checked = false;
    try {
      // What expr.Compile(condition, expr.Env(env)) would reject fails here, before running.
      it.checked = check(this.source, this.ast, scope, { argoHelpers: this.argoHelpers });
      it.zeros = this.zeros;
      checked = true;
      value = it.eval(this.ast);
    } catch (e) {
      throw asExprError(e, this.source, it.at, checked);
    }
    return {
      value,
      toJS: () => {
        try {
          return toJS(value, it);
        } catch (e) {
          throw asExprError(e, this.source, 0);
        }
      },
    };
  }

  run(env?: Readonly<Record<string, unknown>>, options: RunOptions = {}): unknown {
    return this.runRaw(env, options).toJS();
  }
}

/** Parses once; the result can run many times against different environments. */
export function compile(expression: string, options: CompileOptions = {}): CompiledExpression {
  return compileInternal(expression, options);
}

export function compileInternal(expression: string, options: CompileOptions = {}): Compiled {
  if (typeof expression !== 'string') {
    throw new ExprError(
      'syntax',
      `expression must be a string, got ${typeof expression}`,
      1,
      String(expression),
    );
  }
  try {
    return new Compiled(expression, parse(expression, options), options.argoHelpers ?? true);
  } catch (e) {
    throw asExprError(e, expression, 0);
  }
}

export function evaluate(
  expression: string,
  env: Readonly<Record<string, unknown>> = {},
  options: EvaluateOptions = {},
): unknown {
  return compile(expression, options).run(env, options);
}
