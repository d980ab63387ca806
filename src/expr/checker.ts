/**
 * Static type check, as expr-lang's checker (checker/checker.go, checker/nature) runs it when Argo
 * compiles a condition with `expr.Env(env)`: the environment is a map[string]interface{}, so every
 * top-level variable has the static type of its value (float64, string, []interface{}, map…),
 * while elements of arrays and values of maps are interface{} ("unknown") and only checked when
 * the expression runs.
 *
 * An expression the checker rejects fails before anything is evaluated, even in a branch that
 * would never run (`false and 1 + "a"`), and fails with kind 'type'. Everything that fails later
 * is a 'runtime' error. The check follows expr's rules closely where they decide whether an
 * expression compiles, and errs towards "unknown" (accept) wherever Vireo does not model a Go type.
 *
 * It also reports expr's compile-time constant folding error (`1 % 0`), and returns the integer
 * literals expr's checker turns into floats because they flow into a float64 parameter
 * (`isNaN(1 + x)`).
 */

import { childrenOf, type Node, type NodeOf } from './ast.js';
import { columnAt, ExprError } from './errors.js';
import { constValue } from './fold.js';
import { compileRegex, RegexError } from './regex.js';
import { ExprDuration, ExprTime } from './values.js';

// ---------------------------------------------------------------------------------------------
// Natures (expr's checker/nature.Nature, reduced to what Vireo's values can be).

type Nature =
  /** interface{} (`iface`, e.g. an element of []interface{}) or no type information at all. */
  | { readonly k: 'unknown'; readonly iface: boolean }
  /** The type of the `nil` literal and of nil values in the environment. */
  | { readonly k: 'nil' }
  | { readonly k: 'bool' | 'float' | 'string' | 'time' | 'duration' | 'map' }
  /** Go's int, or int64 (what Argo's asInt returns): both are integers, of different types. */
  | { readonly k: 'int'; readonly int64?: boolean }
  /** `typed`: a Go []T (split() gives []string); otherwise []interface{} whose elements are `elem`. */
  | { readonly k: 'array'; readonly elem: Nature; readonly typed: boolean }
  /** A function value (an environment function, or a builtin named without calling it). */
  | { readonly k: 'func' }
  /** A value Vireo never looks into (class instances, Map…). */
  | { readonly k: 'opaque' };

const UNKNOWN: Nature = { k: 'unknown', iface: false };
const ANY: Nature = { k: 'unknown', iface: true };
const NIL: Nature = { k: 'nil' };
const BOOL: Nature = { k: 'bool' };
const INT: Nature = { k: 'int' };
const INT64: Nature = { k: 'int', int64: true };
const FLOAT: Nature = { k: 'float' };
const STRING: Nature = { k: 'string' };
const MAP: Nature = { k: 'map' };
const TIME: Nature = { k: 'time' };
const DURATION: Nature = { k: 'duration' };
const FUNC: Nature = { k: 'func' };

const arrayOf = (elem: Nature, typed = false): Nature => ({ k: 'array', elem, typed });

/** Functions and opaque values count as unknown for operators: Vireo does not model their Go types. */
const isUnknown = (n: Nature): boolean => n.k === 'unknown' || n.k === 'func' || n.k === 'opaque';
const isNumber = (n: Nature): boolean => n.k === 'int' || n.k === 'float';
const isArray = (n: Nature): n is Extract<Nature, { k: 'array' }> => n.k === 'array';

/** The reflect.Kind expr compares in array literals: unknown and nil are both Invalid. */
function kindOf(n: Nature): string {
  if (n.k === 'nil' || (n.k === 'unknown' && !n.iface)) return 'invalid';
  if (n.k === 'unknown') return 'interface';
  return n.k;
}

function typeString(n: Nature): string {
  switch (n.k) {
    case 'unknown':
      return n.iface ? 'interface {}' : 'unknown';
    case 'nil':
      return 'unknown';
    case 'float':
      return 'float64';
    case 'int':
      return n.int64 ? 'int64' : 'int';
    case 'array':
      return n.typed ? `[]${typeString(n.elem)}` : '[]interface {}';
    case 'map':
      return 'map[string]interface {}';
    case 'time':
      return 'time.Time';
    case 'duration':
      return 'time.Duration';
    default:
      return n.k;
  }
}

/** Elem() of an array nature: the Go element type for typed slices, the tracked element otherwise. */
const elemOf = (n: Nature): Nature => (isArray(n) ? n.elem : ANY);

/** Type.Elem() as builtin validators see it: interface{} for []interface{}. */
const goElemOf = (n: Nature): Nature => (isArray(n) && n.typed ? n.elem : ANY);

/** nature.AssignableTo: Go assignability of the static types. */
function assignable(from: Nature, to: Nature): boolean {
  if (from.k === 'nil') return to.k === 'map' || to.k === 'array' || to.k === 'func' || isIface(to);
  if (from.k === 'unknown' && !from.iface) return false;
  if (to.k === 'unknown' && !to.iface) return false;
  if (isIface(to)) return true;
  if (from.k !== to.k) return false;
  if (from.k === 'int' && to.k === 'int') return !from.int64 === !to.int64;
  if (isArray(from) && isArray(to)) {
    if (from.typed !== to.typed) return false;
    return !from.typed || sameType(from.elem, to.elem);
  }
  return true;
}

const isIface = (n: Nature): boolean => n.k === 'unknown' && n.iface;

function sameType(a: Nature, b: Nature): boolean {
  return typeString(a) === typeString(b);
}

/** nature.ComparableTo, used by == / != and `in` on arrays. */
function comparable(a: Nature, b: Nature): boolean {
  return (
    isUnknown(a) ||
    isUnknown(b) ||
    a.k === 'nil' ||
    b.k === 'nil' ||
    (isNumber(a) && isNumber(b)) ||
    (a.k === 'duration' && b.k === 'duration') ||
    (a.k === 'time' && b.k === 'time') ||
    (isArray(a) && isArray(b)) ||
    assignable(a, b)
  );
}

type Check = (n: Nature) => boolean;
const BoolCheck: Check = (n) => n.k === 'bool';
const StringCheck: Check = (n) => n.k === 'string';
const IntegerCheck: Check = (n) => n.k === 'int';
const NumberCheck: Check = isNumber;
const TimeCheck: Check = (n) => n.k === 'time';
const DurationCheck: Check = (n) => n.k === 'duration';

/** nature.MaybeCompatible: both unknown, or one unknown and the other passes one of the checks. */
function maybe(l: Nature, r: Nature, ...checks: Check[]): boolean {
  const lu = isUnknown(l);
  const ru = isUnknown(r);
  return (lu && ru) || (lu && checks.some((c) => c(r))) || (ru && checks.some((c) => c(l)));
}

function promote(l: Nature, r: Nature): Nature {
  return l.k === 'float' || r.k === 'float' ? FLOAT : INT;
}

/** The static type expr gives a value of the environment (conf.EnvWithCache: NatureOf(value)). */
function natureOfValue(v: unknown): Nature {
  switch (typeof v) {
    case 'number':
      return FLOAT;
    case 'bigint':
      return INT;
    case 'string':
      return STRING;
    case 'boolean':
      return BOOL;
    case 'undefined':
      return NIL;
    case 'function':
      return FUNC;
    case 'object': {
      if (v === null) return NIL;
      if (Array.isArray(v)) return arrayOf(ANY);
      if (v instanceof ExprTime || v instanceof Date) return TIME;
      if (v instanceof ExprDuration) return DURATION;
      const proto: unknown = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null ? MAP : { k: 'opaque' };
    }
    default:
      return { k: 'opaque' };
  }
}

// ---------------------------------------------------------------------------------------------
// Function signatures (builtin Types overloads and Argo's helpers) for checkArguments.

type Param = 'string' | 'int' | 'float' | 'any' | 'anyArray' | 'stringArray';
interface Signature {
  readonly params: readonly Param[];
  readonly out: Nature;
}

const PARAM_NATURE: Readonly<Record<Param, Nature>> = {
  string: STRING,
  int: INT,
  float: FLOAT,
  any: ANY,
  anyArray: arrayOf(ANY),
  stringArray: arrayOf(STRING, true),
};

const sig = (out: Nature, ...params: Param[]): Signature => ({ params, out });
const STRINGS = arrayOf(STRING, true);

/** builtin/builtin.go `Types` of the builtins checked by signature. */
const SIGNATURES: Readonly<Record<string, readonly Signature[]>> = {
  type: [sig(STRING, 'any')],
  string: [sig(STRING, 'any')],
  toJSON: [sig(STRING, 'any')],
  fromJSON: [sig(ANY, 'string')],
  toBase64: [sig(STRING, 'string')],
  fromBase64: [sig(STRING, 'string')],
  trim: [sig(STRING, 'string'), sig(STRING, 'string', 'string')],
  trimPrefix: [sig(STRING, 'string', 'string'), sig(STRING, 'string')],
  trimSuffix: [sig(STRING, 'string', 'string'), sig(STRING, 'string')],
  upper: [sig(STRING, 'string')],
  lower: [sig(STRING, 'string')],
  split: [sig(STRINGS, 'string', 'string'), sig(STRINGS, 'string', 'string', 'int')],
  splitAfter: [sig(STRINGS, 'string', 'string'), sig(STRINGS, 'string', 'string', 'int')],
  replace: [sig(STRING, 'string', 'string', 'string', 'int'), sig(STRING, 'string', 'string', 'string')],
  repeat: [sig(STRING, 'string', 'int')],
  join: [
    sig(STRING, 'stringArray', 'string'),
    sig(STRING, 'anyArray', 'string'),
    sig(STRING, 'anyArray'),
    sig(STRING, 'stringArray', 'string'),
  ],
  indexOf: [sig(INT, 'string', 'string')],
  lastIndexOf: [sig(INT, 'string', 'string')],
  hasPrefix: [sig(BOOL, 'string', 'string')],
  hasSuffix: [sig(BOOL, 'string', 'string')],
  duration: [sig(DURATION, 'string')],
  bitnot: [sig(INT, 'int')],
  ...Object.fromEntries(
    ['bitand', 'bitor', 'bitxor', 'bitnand', 'bitshl', 'bitshr', 'bitushr'].map((name) => [
      name,
      [sig(INT, 'int', 'int')],
    ]),
  ),
};

/** Argo Rollouts' helpers are functions in the environment map, with these Go signatures. */
const ARGO_SIGNATURES: Readonly<Record<string, Signature>> = {
  asInt: sig(INT64, 'any'),
  asFloat: sig(FLOAT, 'any'),
  isNaN: sig(BOOL, 'float'),
  isInf: sig(BOOL, 'float'),
  isNil: sig(BOOL, 'any'),
  default: sig(ANY, 'any', 'any'),
};

/** Every name in expr's builtin table (builtin.Names): `let` may not redeclare them. */
const EXPR_BUILTINS = new Set(
  (
    'all none any one filter map find findIndex findLast findLastIndex count sum groupBy sortBy reduce ' +
    'len type abs ceil floor round int float string trim trimPrefix trimSuffix upper lower split ' +
    'splitAfter replace repeat join indexOf lastIndexOf hasPrefix hasSuffix max min mean median toJSON ' +
    'fromJSON toBase64 fromBase64 now duration date timezone first last get take keys values toPairs ' +
    'fromPairs reverse uniq concat flatten sort bitand bitor bitxor bitnand bitnot bitshl bitshr bitushr'
  ).split(' '),
);

const ARGO_NAMES = new Set(Object.keys(ARGO_SIGNATURES));

/** The exported methods of Go's time.Time and time.Duration values (what the checker accepts). */
const TIME_METHODS = new Set(
  (
    'Add AddDate After AppendBinary AppendFormat AppendText Before Clock Compare Date Day Equal Format ' +
    'GoString GobEncode Hour ISOWeek In IsDST IsZero Local Location MarshalBinary MarshalJSON ' +
    'MarshalText Minute Month Nanosecond Round Second String Sub Truncate UTC Unix UnixMicro UnixMilli ' +
    'UnixNano Weekday Year YearDay Zone ZoneBounds'
  ).split(' '),
);
const DURATION_METHODS = new Set(
  'Abs Hours Microseconds Milliseconds Minutes Nanoseconds Round Seconds String Truncate'.split(' '),
);

// ---------------------------------------------------------------------------------------------

interface PredicateScope {
  readonly collection: Nature;
  readonly vars: ReadonlyMap<string, Nature>;
}

export interface CheckResult {
  /** Integer literals to evaluate as float64 (they flow into a float64 parameter). */
  readonly floatLiterals: ReadonlySet<Node>;
  /**
   * `==` / `!=` nodes whose operands are both statically int (or both string): expr compiles them
   * to OpEqualInt / OpEqualString, which fail at run time on a value of another type.
   */
  readonly intEquals: ReadonlySet<Node>;
  readonly stringEquals: ReadonlySet<Node>;
  /** `x in a..b` with an int x and constant bounds: the optimizer makes it a >= / <= check. */
  readonly intRanges: ReadonlySet<Node>;
}

export interface CheckOptions {
  readonly argoHelpers: boolean;
}

/** Throws a 'type' ExprError where expr-lang would refuse to compile `ast` against `env`. */
export function check(
  source: string,
  ast: Node,
  env: Readonly<Record<string, unknown>>,
  options: CheckOptions,
): CheckResult {
  const checker = new Checker(source, env, options);
  checker.visit(ast);
  checker.foldErrors(ast);
  return {
    floatLiterals: checker.floatLiterals,
    intEquals: checker.intEquals,
    stringEquals: checker.stringEquals,
    intRanges: checker.intRanges,
  };
}

class Checker {
  readonly floatLiterals = new Set<Node>();
  readonly intEquals = new Set<Node>();
  readonly stringEquals = new Set<Node>();
  readonly intRanges = new Set<Node>();
  private readonly vars: { readonly name: string; readonly nature: Nature }[] = [];
  private readonly predicates: PredicateScope[] = [];

  constructor(
    private readonly source: string,
    private readonly env: Readonly<Record<string, unknown>>,
    private readonly options: CheckOptions,
  ) {}

  private fail(node: Node, message: string): never {
    throw new ExprError('type', message, columnAt(this.source, node.pos), this.source);
  }

  private envNature(name: string): Nature | undefined {
    if (this.options.argoHelpers && ARGO_NAMES.has(name)) return FUNC;
    return Object.hasOwn(this.env, name) ? natureOfValue(this.env[name]) : undefined;
  }

  visit(n: Node): Nature {
    switch (n.type) {
      case 'nil':
        return NIL;
      case 'bool':
        return BOOL;
      case 'int':
        return INT;
      case 'float':
        return FLOAT;
      case 'string':
        return STRING;
      case 'ident':
        return this.identifier(n);
      case 'pointer':
        return this.pointer(n);
      case 'unary':
        return this.unary(n);
      case 'binary':
        return this.binary(n);
      case 'cond':
        return this.conditional(n);
      case 'array':
        return this.array(n);
      case 'map':
        for (const [k, v] of n.entries) {
          this.visit(k);
          this.visit(v);
        }
        return MAP;
      case 'member':
        return this.member(n);
      case 'slice':
        return this.slice(n);
      case 'chain':
        return this.visit(n.node);
      case 'method':
        return this.method(n);
      case 'builtin':
        return this.builtin(n);
      case 'predicate':
        return this.visit(n.body);
      case 'call':
        return this.call(n);
      case 'let':
        return this.letNode(n);
      case 'sequence': {
        let last: Nature = NIL;
        for (const node of n.nodes) last = this.visit(node);
        return last;
      }
    }
  }

  /** checker.identifierNode: variables, then the environment, then builtins. */
  private lookup(name: string): Nature | undefined {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as { name: string; nature: Nature };
      if (v.name === name) return v.nature;
    }
    const fromEnv = this.envNature(name);
    if (fromEnv) return fromEnv;
    if (name === '$env') return UNKNOWN;
    if (EXPR_BUILTINS.has(name)) return FUNC;
    return undefined;
  }

  private identifier(n: NodeOf<'ident'>): Nature {
    return this.lookup(n.name) ?? this.fail(n, `unknown name ${n.name}`);
  }

  private pointer(n: NodeOf<'pointer'>): Nature {
    const scope = this.predicates[this.predicates.length - 1];
    if (!scope) return this.fail(n, 'cannot use pointer accessor outside predicate');
    if (n.name === '') return isUnknown(scope.collection) ? UNKNOWN : elemOf(scope.collection);
    const v = scope.vars.get(n.name);
    if (!v) return this.fail(n, `unknown pointer #${n.name}`);
    return v;
  }

  private unary(n: NodeOf<'unary'>): Nature {
    const t = this.visit(n.operand);
    if (n.op === 'not') {
      if (t.k === 'bool' || isUnknown(t)) return BOOL;
      return this.fail(n, `invalid operation: ${n.op} (mismatched type ${typeString(t)})`);
    }
    if (isNumber(t)) return t;
    if (isUnknown(t)) return UNKNOWN;
    return this.fail(n, `invalid operation: ${n.op} (mismatched type ${typeString(t)})`);
  }

  private binary(n: NodeOf<'binary'>): Nature {
    const l = this.visit(n.left);
    const r = this.visit(n.right);
    const mismatch = (): never =>
      this.fail(n, `invalid operation: ${n.op} (mismatched types ${typeString(l)} and ${typeString(r)})`);
    switch (n.op) {
      case '==':
      case '!=':
        if (!comparable(l, r)) return mismatch();
        if (l.k === 'int' && r.k === 'int' && !l.int64 && !r.int64) this.intEquals.add(n);
        if (l.k === 'string' && r.k === 'string') this.stringEquals.add(n);
        return BOOL;
      case 'and':
      case 'or':
        return (l.k === 'bool' && r.k === 'bool') || maybe(l, r, BoolCheck) ? BOOL : mismatch();
      case '<':
      case '>':
      case '<=':
      case '>=':
        if (
          (isNumber(l) && isNumber(r)) ||
          (l.k === 'string' && r.k === 'string') ||
          (l.k === 'time' && r.k === 'time') ||
          (l.k === 'duration' && r.k === 'duration') ||
          maybe(l, r, NumberCheck, StringCheck, TimeCheck, DurationCheck)
        )
          return BOOL;
        return mismatch();
      case '-':
        if (isNumber(l) && isNumber(r)) return promote(l, r);
        if (l.k === 'time' && r.k === 'time') return DURATION;
        if (l.k === 'time' && r.k === 'duration') return TIME;
        if (l.k === 'duration' && r.k === 'duration') return DURATION;
        return maybe(l, r, NumberCheck, TimeCheck, DurationCheck) ? UNKNOWN : mismatch();
      case '*':
        if (isNumber(l) && isNumber(r)) return promote(l, r);
        if ((isNumber(l) || l.k === 'duration') && (isNumber(r) || r.k === 'duration')) return DURATION;
        return maybe(l, r, NumberCheck, DurationCheck) ? UNKNOWN : mismatch();
      case '/':
      case '**':
        return (isNumber(l) && isNumber(r)) || maybe(l, r, NumberCheck) ? FLOAT : mismatch();
      case '%':
        return (l.k === 'int' && r.k === 'int') || maybe(l, r, IntegerCheck) ? INT : mismatch();
      case '+':
        if (isNumber(l) && isNumber(r)) return promote(l, r);
        if (l.k === 'string' && r.k === 'string') return STRING;
        if (l.k === 'time' && r.k === 'duration') return TIME;
        if (l.k === 'duration' && r.k === 'time') return TIME;
        if (l.k === 'duration' && r.k === 'duration') return DURATION;
        return maybe(l, r, NumberCheck, StringCheck, TimeCheck, DurationCheck) ? UNKNOWN : mismatch();
      case 'in':
        if (
          l.k === 'int' &&
          !l.int64 &&
          n.right.type === 'binary' &&
          n.right.op === '..' &&
          typeof constValue(n.right.left) === 'bigint' &&
          typeof constValue(n.right.right) === 'bigint'
        )
          this.intRanges.add(n);
        if (r.k === 'map') {
          if (!isUnknown(l) && !assignable(l, STRING))
            return this.fail(n, `cannot use ${typeString(l)} as type string in map key`);
          return BOOL;
        }
        if (isArray(r)) {
          const elem = elemOf(r);
          if (!comparable(l, elem))
            return this.fail(n, `cannot use ${typeString(l)} as type ${typeString(elem)} in array`);
          return BOOL;
        }
        if (isUnknown(l) && r.k === 'string') return BOOL; // arrays and maps were handled above
        if (isUnknown(r)) return BOOL;
        return mismatch();
      case 'matches':
        if (n.right.type === 'string') {
          try {
            compileRegex(n.right.value);
          } catch (e) {
            // Too large patterns are Vireo's own limit and stay 'limit' errors when the match runs.
            if (e instanceof RegexError && !e.tooLarge) this.fail(n, `error parsing regexp: ${e.message}`);
          }
        }
        return (l.k === 'string' && r.k === 'string') || maybe(l, r, StringCheck) ? BOOL : mismatch();
      case 'contains':
      case 'startsWith':
      case 'endsWith':
        return (l.k === 'string' && r.k === 'string') || maybe(l, r, StringCheck) ? BOOL : mismatch();
      case '..':
        return (l.k === 'int' && r.k === 'int') || maybe(l, r, IntegerCheck) ? arrayOf(INT) : mismatch();
      case '??':
        if (l.k === 'nil' && r.k !== 'nil') return r;
        if (l.k !== 'nil' && r.k === 'nil') return l;
        if (l.k === 'nil') return NIL;
        return assignable(r, l) ? l : UNKNOWN;
    }
  }

  private conditional(n: NodeOf<'cond'>): Nature {
    const c = this.visit(n.test);
    if (c.k !== 'bool' && !isUnknown(c))
      this.fail(n.test, `non-bool expression (type ${typeString(c)}) used as condition`);
    const t1 = this.visit(n.then);
    const t2 = this.visit(n.otherwise);
    if (t1.k === 'nil' && t2.k !== 'nil') return t2;
    if (t1.k !== 'nil' && t2.k === 'nil') return t1;
    if (t1.k === 'nil') return NIL;
    if (assignable(t1, t2)) {
      if (isArray(t1) && isArray(t2)) {
        if (!assignable(t1.elem, t2.elem) || !assignable(t2.elem, t1.elem)) return arrayOf(ANY);
      }
      return t1;
    }
    return UNKNOWN;
  }

  private array(n: NodeOf<'array'>): Nature {
    let prev: Nature = UNKNOWN;
    let same = true;
    n.items.forEach((item, i) => {
      const cur = this.visit(item);
      if (i > 0 && kindOf(cur) !== kindOf(prev)) same = false;
      prev = cur;
    });
    return arrayOf(same ? prev : ANY);
  }

  private envMember(n: NodeOf<'member'>): Nature {
    // expr does not look at a computed property of $env at all.
    if (n.property.type !== 'string') return UNKNOWN;
    const name = n.property.value;
    const fromEnv = this.envNature(name);
    if (fromEnv) return fromEnv;
    if (n.optional) return UNKNOWN;
    return this.fail(n, `unknown name ${name}`);
  }

  private member(n: NodeOf<'member'>): Nature {
    if (n.object.type === 'ident' && n.object.name === '$env' && !this.isDeclared('$env'))
      return this.envMember(n);
    const base = this.visit(n.object);
    const prop = this.visit(n.property);
    const name = n.property.type === 'string' ? n.property.value : undefined;
    return this.memberOf(n, base, prop, name, false, n.property);
  }

  private isDeclared(name: string): boolean {
    return this.vars.some((v) => v.name === name) || Object.hasOwn(this.env, name);
  }

  /** checker.memberNode: `name` is set when the property is a string literal (`a.b`, `a["b"]`). */
  private memberOf(
    n: Node,
    base: Nature,
    prop: Nature,
    name: string | undefined,
    method: boolean,
    at: Node = n, // expr reports a bad key at the property
  ): Nature {
    if (base.k === 'opaque' || base.k === 'func') {
      // Vireo's policy: such values are never looked into (expr would see Go structs and funcs).
      return this.fail(
        n,
        `cannot fetch ${name ?? typeString(prop)} from ${base.k === 'func' ? 'func' : 'unknown'}`,
      );
    }
    if (isUnknown(base)) return UNKNOWN;
    if (name !== undefined && base.k === 'nil') return this.fail(n, `type nil has no field ${name}`);
    if (name !== undefined && (base.k === 'time' || base.k === 'duration')) {
      if ((base.k === 'time' ? TIME_METHODS : DURATION_METHODS).has(name)) return UNKNOWN;
      return this.fail(n, `type ${typeString(base)} has no ${method ? 'method' : 'field'} ${name}`);
    }
    switch (base.k) {
      case 'map':
        if (!assignable(prop, STRING) && !isUnknown(prop))
          return this.fail(
            at,
            `cannot use ${typeString(prop)} to get an element from map[string]interface {}`,
          );
        return ANY;
      case 'array':
        if (prop.k !== 'int' && !isUnknown(prop))
          return this.fail(
            at,
            `array elements can only be selected using an integer (got ${typeString(prop)})`,
          );
        return base.elem;
    }
    if (name !== undefined)
      return this.fail(n, `type ${typeString(base)} has no ${method ? 'method' : 'field'} ${name}`);
    return this.fail(n, `type ${typeString(base)}[${typeString(prop)}] is undefined`);
  }

  private slice(n: NodeOf<'slice'>): Nature {
    const t = this.visit(n.object);
    if (isUnknown(t)) return UNKNOWN;
    if (t.k !== 'string' && !isArray(t)) return this.fail(n, `cannot slice ${typeString(t)}`);
    for (const bound of [n.from, n.to]) {
      if (!bound) continue;
      const b = this.visit(bound);
      if (b.k !== 'int' && !isUnknown(b)) this.fail(bound, `non-integer slice index ${typeString(b)}`);
    }
    return t;
  }

  private method(n: NodeOf<'method'>): Nature {
    if (n.object.type === 'ident' && n.object.name === '$env' && !this.isDeclared('$env')) {
      if (!this.envNature(n.name) && !n.optional) this.fail(n, `unknown name ${n.name}`);
      return UNKNOWN;
    }
    const base = this.visit(n.object);
    // Rejects members that cannot exist (nil, arrays, scalars, unknown time methods).
    this.memberOf(n, base, STRING, n.name, true);
    // A time method's arguments are checked; a member of a map or of an unknown value has an
    // unknown type, so calling it is a run-time matter and expr does not look at the arguments.
    if (base.k === 'time' || base.k === 'duration') for (const a of n.args) this.visit(a);
    return UNKNOWN;
  }

  private call(n: NodeOf<'call'>): Nature {
    if (n.name === '$env' && !this.isDeclared('$env')) return this.fail(n, '$env is not callable');
    const callee = this.lookup(n.name) ?? this.fail(n, `unknown func ${n.name}`);
    if (callee.k === 'func') {
      // Vireo never calls functions from the environment (nor builtins it does not have).
      return this.fail(n, `calling functions from the environment is not allowed (${n.name})`);
    }
    if (isUnknown(callee)) return UNKNOWN;
    if (callee.k === 'nil') return this.fail(n, `${n.name} is nil; cannot call nil as function`);
    return this.fail(n, `${typeString(callee)} is not callable`);
  }

  private letNode(n: NodeOf<'let'>): Nature {
    if (this.envNature(n.name)) this.fail(n, `cannot redeclare ${n.name}`);
    if (EXPR_BUILTINS.has(n.name)) this.fail(n, `cannot redeclare builtin ${n.name}`);
    if (this.vars.some((v) => v.name === n.name)) this.fail(n, `cannot redeclare variable ${n.name}`);
    const value = this.visit(n.value);
    this.vars.push({ name: n.name, nature: value });
    const body = this.visit(n.body);
    this.vars.pop();
    return body;
  }

  // -- builtins ---------------------------------------------------------------------------------

  private builtin(n: NodeOf<'builtin'>): Nature {
    const name = n.def.name;
    if (n.def.argo) {
      const s = ARGO_SIGNATURES[name];
      return s ? this.checkArguments(name, [s], n.args, n) : UNKNOWN;
    }
    if (n.def.params) return this.predicateBuiltin(n);
    const signatures = SIGNATURES[name];
    if (signatures) return this.checkArguments(name, signatures, n.args, n);
    switch (name) {
      case 'get':
        return this.get(n);
      case 'len':
      case 'abs':
      case 'ceil':
      case 'floor':
      case 'round':
      case 'int':
      case 'float':
      case 'first':
      case 'last': {
        const t = this.visit(n.args[0] as Node);
        return this.validateOne(n, name, t);
      }
      case 'max':
      case 'min':
      case 'mean':
      case 'median': {
        const args = n.args.map((a) => this.visit(a));
        for (const t of args) {
          if (isUnknown(t) || isArray(t)) return ANY;
          if (!isNumber(t)) return this.fail(n, `invalid argument for ${name} (type ${goArgType(t)})`);
        }
        return args[0] ?? UNKNOWN;
      }
      case 'keys':
      case 'values':
      case 'toPairs':
      case 'fromPairs':
      case 'reverse':
      case 'uniq':
      case 'flatten':
      case 'concat':
      case 'take': {
        const args = n.args.map((a) => this.visit(a));
        const wantMap = name === 'keys' || name === 'values' || name === 'toPairs';
        const collections = name === 'concat' ? args : args.slice(0, 1);
        for (const t of collections) {
          if (!isUnknown(t) && (wantMap ? t.k !== 'map' : !isArray(t)))
            return this.fail(n, `invalid argument for ${name} (type ${typeString(t)})`);
        }
        if (name === 'take' && args[1] && args[1].k !== 'int' && !isUnknown(args[1]))
          return this.fail(n, `cannot take ${typeString(args[1])} elements`);
        return name === 'fromPairs' ? MAP : name === 'take' ? (args[0] ?? UNKNOWN) : arrayOf(ANY);
      }
      case 'now':
      case 'date':
        for (const a of n.args) this.visit(a);
        return TIME;
      default:
        // Builtins outside the Argo subset: their argument types are left to run time.
        for (const a of n.args) this.visit(a);
        return UNKNOWN;
    }
  }

  /** The Validate functions of builtin.go for one-argument builtins. */
  private validateOne(n: Node, name: string, t: Nature): Nature {
    const unknown = isUnknown(t);
    const bad = (): never => this.fail(n, `invalid argument for ${name} (type ${goArgType(t)})`);
    switch (name) {
      case 'len':
        return unknown || isArray(t) || t.k === 'map' || t.k === 'string' ? INT : bad();
      case 'abs':
        if (isNumber(t)) return t;
        return unknown ? ANY : bad();
      case 'ceil':
      case 'floor':
      case 'round':
        return unknown || isNumber(t) ? FLOAT : bad();
      case 'int':
        return unknown || isNumber(t) || t.k === 'string' ? INT : bad();
      case 'float':
        return unknown || isNumber(t) || t.k === 'string' ? FLOAT : bad();
      default: {
        // first / last
        if (unknown) return ANY;
        if (isArray(t)) return goElemOf(t);
        return this.fail(n, `cannot get ${name} element from ${typeString(t)}`);
      }
    }
  }

  /** checker.checkBuiltinGet. */
  private get(n: NodeOf<'builtin'>): Nature {
    const [baseNode, propNode] = n.args as [Node, Node];
    if (baseNode.type === 'ident' && baseNode.name === '$env' && !this.isDeclared('$env')) {
      this.visit(propNode);
      if (propNode.type === 'string') return this.envNature(propNode.value) ?? UNKNOWN;
      return UNKNOWN;
    }
    const base = this.visit(baseNode);
    const prop = this.visit(propNode);
    if (isUnknown(base)) return UNKNOWN;
    if (isArray(base)) {
      if (prop.k !== 'int' && !isUnknown(prop))
        return this.fail(propNode, `non-integer slice index ${typeString(prop)}`);
      return base.elem;
    }
    if (base.k === 'map') {
      if (!assignable(prop, STRING) && !isUnknown(prop))
        return this.fail(
          propNode,
          `cannot use ${typeString(prop)} to get an element from map[string]interface {}`,
        );
      return ANY;
    }
    return this.fail(baseNode, `type ${typeString(base)} does not support indexing`);
  }

  /** checker.checkFunction / checkArguments over a builtin's overloads: the first that fits wins. */
  private checkArguments(
    name: string,
    overloads: readonly Signature[],
    args: readonly Node[],
    n: Node,
  ): Nature {
    const natures = args.map((a) => this.visit(a));
    let lastError: [Node, string] | undefined;
    for (const s of overloads) {
      const problem = this.fits(name, s, args, natures, n);
      if (!problem) {
        s.params.forEach((p, i) => {
          if (p === 'float' && natures[i]?.k === 'int')
            markFloatLiterals(args[i] as Node, this.floatLiterals);
        });
        return s.out;
      }
      lastError = problem;
    }
    const [at, message] = lastError ?? [n, `no matching overload for ${name}`];
    return this.fail(at, message);
  }

  private fits(
    name: string,
    s: Signature,
    args: readonly Node[],
    natures: readonly Nature[],
    n: Node,
  ): [Node, string] | undefined {
    if (args.length > s.params.length) return [n, `too many arguments to call ${name}`];
    if (args.length < s.params.length) return [n, `not enough arguments to call ${name}`];
    for (let i = 0; i < args.length; i++) {
      const param = s.params[i] as Param;
      const want = PARAM_NATURE[param];
      const got = natures[i] as Nature;
      if (param === 'float' && got.k === 'int') continue;
      if (param === 'int' && got.k === 'int') continue;
      if (got.k === 'nil') {
        if (param === 'any') continue;
        return [args[i] as Node, `cannot use nil as argument (type ${typeString(want)}) to call ${name}`];
      }
      if (!assignable(got, want) && !isUnknown(got))
        return [
          args[i] as Node,
          `cannot use ${typeString(got)} as argument (type ${typeString(want)}) to call ${name}`,
        ];
    }
    return undefined;
  }

  private predicateBuiltin(n: NodeOf<'builtin'>): Nature {
    const name = n.def.name;
    const [collectionNode, predicate, ...rest] = n.args as [Node, Node | undefined, ...Node[]];
    const collection = this.visit(collectionNode);
    if (!isArray(collection) && !isUnknown(collection))
      return this.fail(collectionNode, `builtin ${name} takes only array (got ${typeString(collection)})`);
    if (predicate?.type !== 'predicate') {
      // count(array) and sum(array) without a predicate.
      if (name === 'count') return INT;
      if (name === 'sum') return isUnknown(collection) ? UNKNOWN : elemOf(collection);
      return UNKNOWN;
    }
    const vars = new Map<string, Nature>();
    if (name === 'map' || name === 'reduce') vars.set('index', INT);
    if (name === 'reduce') vars.set('acc', UNKNOWN);
    this.predicates.push({ collection, vars });
    const out = this.visit(predicate.body);
    this.predicates.pop();
    for (const a of rest) {
      const t = this.visit(a);
      if (name === 'sortBy' && t.k !== 'string' && !isUnknown(t))
        this.fail(a, `sortBy order argument must be a string (got ${typeString(t)})`);
    }
    // A predicate whose body is nil has no result at all in Go.
    if (out.k === 'nil')
      return this.fail(
        predicate,
        `predicate should has ${name === 'reduce' ? 'two' : 'one'} input and one output param`,
      );
    const needsBool = !['map', 'sum', 'groupBy', 'sortBy', 'reduce'].includes(name);
    if (needsBool && out.k !== 'bool' && out.k !== 'unknown')
      return this.fail(predicate, `predicate should return boolean (got ${typeString(out)})`);
    switch (name) {
      case 'all':
      case 'any':
      case 'none':
      case 'one':
        return BOOL;
      case 'filter':
        return isUnknown(collection) ? arrayOf(ANY) : arrayOf(elemOf(collection));
      case 'map':
        return arrayOf(out);
      case 'count':
      case 'findIndex':
      case 'findLastIndex':
        return INT;
      case 'sum':
        return out;
      case 'find':
      case 'findLast':
        return isUnknown(collection) ? UNKNOWN : elemOf(collection);
      case 'sortBy':
        return collection;
      case 'reduce':
        return out;
      default:
        return UNKNOWN;
    }
  }

  /** expr's optimizer folds constants after the check; `x % 0` with constant ints fails there. */
  foldErrors(n: Node): void {
    if (n.type === 'binary' && n.op === '%') {
      const a = constValue(n.left);
      const b = constValue(n.right);
      if (typeof a === 'bigint' && typeof b === 'bigint' && b === 0n) this.fail(n, 'integer divide by zero');
    }
    for (const child of childrenOf(n)) this.foldErrors(child);
  }
}

/** The reflect.Type a builtin validator prints: nil has none. */
function goArgType(t: Nature): string {
  return t.k === 'nil' ? '%!s(<nil>)' : typeString(t);
}

/** traverseAndReplaceIntegerNodesWithFloatNodes: int literals under unary and + - * operators. */
function markFloatLiterals(n: Node, out: Set<Node>): void {
  if (n.type === 'int') out.add(n);
  else if (n.type === 'unary') markFloatLiterals(n.operand, out);
  else if (n.type === 'binary' && (n.op === '+' || n.op === '-' || n.op === '*')) {
    markFloatLiterals(n.left, out);
    markFloatLiterals(n.right, out);
  }
}

export type { Nature };
