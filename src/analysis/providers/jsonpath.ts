/**
 * The Kubernetes JSONPath dialect (`k8s.io/client-go/util/jsonpath`) as Argo's web provider uses it:
 * one `{…}` expression whose FIRST result becomes `result` (`webmetric.go` `getValue`).
 *
 * Written here instead of taken from npm: the JSONPath libraries there implement Goessner's dialect
 * (no braces, other error rules), and the most used one (jsonpath-plus) evaluates filter scripts,
 * with a history of code-execution advisories (CVE-2024-21534). This evaluator only walks data.
 *
 * Supported, with client-go's semantics:
 *   `{$}` (also `{}`) `{.a.b}` `{$.a.b}` `{.a\.b}` (a key with a dot) `{.a['b']}` (`['b.c']` is the path
 *   .b.c, as client-go reads it; double quotes are refused there) `{.a['x','y']}` (union)
 *   `{.a[0]}` `{.a[-1]}` `{.a[1:3]}` `{.a[::2]}` `{.a[*]}` `{.a.*}` `{..name}` (recursive descent)
 *   `{.a[?(@.ok)]}` `{.a[?(@.status == "up")].name}` with == != < <= > >= against a number, a quoted
 *   string, true, false or null.
 *   - a field no input value has is an error "NAME is not found"; a field on an empty input list is
 *     not (no output) — client-go's `evalField`;
 *   - an index or slice outside the array is an error "array index out of bounds: index I, length N"
 *     (client-go does not clamp); a zero-length slice yields nothing;
 *   - wildcards and `..` over objects take the values in document order (client-go: Go's map order,
 *     which varies from run to run).
 * More lenient than client-go (an expression that errors there answers here): an integer literal
 * compares with a JSON number (client-go: "incompatible types for comparison", so `@.latency > 100`
 * fails there and `@.latency > 100.0` works); an element that lacks the compared field does not
 * match (client-go: the whole filter fails with "x is not found").
 * Refused with a JsonPathError: text outside the braces (client-go would return the text itself as
 * the value, which is never what a template means), several `{…}` blocks, `range`/`end`, functions.
 *
 * Bounded: the expression is at most 1,000 characters and one evaluation visits at most
 * 100,000 values, iteratively (no recursion on the data), so a deep or huge body cannot hang it.
 */

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

const MAX_SOURCE = 1000;
const MAX_VISITS = 100_000;

type Literal = number | string | boolean | null;
type Step =
  | { kind: 'field'; names: string[] }
  | { kind: 'wildcard' }
  | { kind: 'recursive' }
  | { kind: 'index'; indexes: number[] }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; left: Step[]; op?: Op; right?: Literal | { path: Step[] } };
type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface JsonPath {
  readonly source: string;
  /** Every value the path selects, in order (may be empty); throws JsonPathError. */
  find(data: unknown): unknown[];
}

/** Parse a `{…}` expression; throws JsonPathError saying what is wrong and where. */
export function compileJsonPath(source: string): JsonPath {
  if (source.length > MAX_SOURCE) throw new JsonPathError(`jsonPath is longer than ${MAX_SOURCE} characters`);
  const t = source.trim();
  if (!t.startsWith('{') || !t.endsWith('}'))
    throw new JsonPathError(
      `jsonPath ${JSON.stringify(source)} must be one {…} expression such as {$.data.ok}: text outside braces is returned literally by Argo`,
    );
  const p = new Parser(t.slice(1, -1), source);
  const steps = p.parsePath(true);
  p.expectEnd();
  return { source, find: (data) => evaluate(steps, [data], { visits: 0 }) };
}

// -------------------------------------------------------------------------------------------------
// Parsing

const TERMINATORS = new Set([
  '.',
  ',',
  '[',
  ']',
  '$',
  '@',
  '{',
  '}',
  '(',
  ')',
  '=',
  '!',
  '<',
  '>',
  ' ',
  '\t',
]);

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly source: string,
  ) {}

  private fail(what: string): never {
    throw new JsonPathError(`jsonPath ${JSON.stringify(this.source)}: ${what} at column ${this.i + 2}`);
  }

  private peek(n = 0): string {
    return this.s[this.i + n] ?? '';
  }

  private skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }

  expectEnd(): void {
    this.skipSpace();
    if (this.i < this.s.length) this.fail(`unexpected ${JSON.stringify(this.peek())}`);
  }

  /** A path: optional `$` (root) or `@` (current, in filters), then steps. */
  parsePath(root: boolean): Step[] {
    this.skipSpace();
    const word = /^(range|end)\b/.exec(this.s.slice(this.i));
    if (word) this.fail(`"${word[1]}" is not supported (one value is taken)`);
    if (this.peek() === '$' && root) this.i++;
    else if (this.peek() === '@' && !root) this.i++;
    else if (root && this.i >= this.s.length)
      return []; // `{}` is the whole document, as client-go
    else if (this.peek() !== '.' && this.peek() !== '[')
      this.fail(root ? 'expected $, . or [' : 'expected @');
    const steps: Step[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '.' && this.peek(1) === '.') {
        this.i += 2;
        steps.push({ kind: 'recursive' });
        if (this.peek() === '[') continue;
        steps.push(this.fieldOrWildcard());
      } else if (c === '.') {
        this.i++;
        // client-go reads `{.}` and `{$.}` as a field with an empty name, never found.
        if (this.i >= this.s.length || this.peek() === ' ')
          this.fail('a field name is missing after "." (write {$} for the whole document)');
        steps.push(this.fieldOrWildcard());
      } else if (c === '[') {
        steps.push(...this.bracket());
      } else return steps;
      if (steps.length > 200) this.fail('too many steps');
    }
  }

  private fieldOrWildcard(): Step {
    if (this.peek() === '*') {
      this.i++;
      return { kind: 'wildcard' };
    }
    let name = '';
    while (this.i < this.s.length && !TERMINATORS.has(this.peek())) {
      if (this.peek() === '\\') this.i++;
      name += this.peek();
      this.i++;
    }
    if (name === '') this.fail('expected a field name');
    return { kind: 'field', names: [name] };
  }

  private bracket(): Step[] {
    this.i++; // [
    this.skipSpace();
    let step: Step[];
    if (this.peek() === '*') {
      this.i++;
      step = [{ kind: 'wildcard' }];
    } else if (this.peek() === '?') {
      step = [this.filter()];
    } else if (this.peek() === "'") {
      const names = [this.quoted()];
      for (this.skipSpace(); this.peek() === ','; this.skipSpace()) {
        this.i++;
        this.skipSpace();
        names.push(this.quoted());
      }
      // client-go reads ['a.b'] as the path .a.b (a key with a dot needs {.a\.b}).
      const only = names[0] as string;
      if (names.length === 1 && only.includes('.')) {
        const parts = only.split('.');
        if (parts.some((x) => x === '')) this.fail(`empty field name in '${only}'`);
        step = parts.map((x): Step => ({ kind: 'field', names: [x] }));
      } else step = [{ kind: 'field', names }];
    } else if (this.peek() === '"') {
      this.fail("names in brackets take single quotes, as client-go: ['name']");
    } else step = [this.indexOrSlice()];
    this.skipSpace();
    if (this.peek() !== ']') this.fail('expected ]');
    this.i++;
    return step;
  }

  private quoted(): string {
    const q = this.peek();
    if (q !== "'" && q !== '"') this.fail('expected a quoted name');
    this.i++;
    let out = '';
    while (this.peek() !== q) {
      if (this.i >= this.s.length) this.fail('unterminated string');
      if (this.peek() === '\\') this.i++;
      out += this.peek();
      this.i++;
    }
    this.i++;
    return out;
  }

  private int(): number | undefined {
    this.skipSpace();
    const m = /^-?\d+/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    this.skipSpace();
    return Number(m[0]);
  }

  private indexOrSlice(): Step {
    const first = this.int();
    if (this.peek() === ':') {
      this.i++;
      const end = this.int();
      let step: number | undefined;
      if (this.peek() === ':') {
        this.i++;
        step = this.int();
      }
      const out: Step = { kind: 'slice' };
      if (first !== undefined) out.start = first;
      if (end !== undefined) out.end = end;
      if (step !== undefined) out.step = step;
      return out;
    }
    if (first === undefined) this.fail('expected an index, a slice, *, a quoted name or a filter');
    const indexes = [first];
    while (this.peek() === ',') {
      this.i++;
      const n = this.int();
      if (n === undefined) this.fail('expected an index');
      indexes.push(n);
    }
    return { kind: 'index', indexes };
  }

  private filter(): Step {
    this.i++; // ?
    if (this.peek() !== '(') this.fail('expected ( after ?');
    this.i++;
    const left = this.parsePath(false);
    this.skipSpace();
    let op: Op | undefined;
    let right: Literal | { path: Step[] } | undefined;
    const m = /^(==|!=|<=|>=|<|>)/.exec(this.s.slice(this.i));
    if (m) {
      op = m[1] as Op;
      this.i += op.length;
      this.skipSpace();
      right = this.operand();
    }
    this.skipSpace();
    if (this.peek() !== ')') this.fail('expected ) to close the filter');
    this.i++;
    const out: Step = { kind: 'filter', left };
    if (op !== undefined) {
      out.op = op;
      out.right = right as Literal | { path: Step[] };
    }
    return out;
  }

  private operand(): Literal | { path: Step[] } {
    const c = this.peek();
    if (c === '@') return { path: this.parsePath(false) };
    if (c === "'" || c === '"') return this.quoted();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) this.fail('expected a number, a quoted string, true, false, null or @');
    this.i += m[0].length;
    const w = m[0];
    return w === 'true' ? true : w === 'false' ? false : w === 'null' ? null : Number(w);
  }
}

// -------------------------------------------------------------------------------------------------
// Evaluation

type Budget = { visits: number };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function spend(b: Budget, n: number): void {
  b.visits += n;
  if (b.visits > MAX_VISITS) throw new JsonPathError(`jsonPath visits more than ${MAX_VISITS} values`);
}

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : isObject(v) ? 'object' : typeof v;

function evaluate(steps: readonly Step[], input: unknown[], b: Budget): unknown[] {
  let cur = input;
  for (const step of steps) {
    spend(b, cur.length);
    cur = apply(step, cur, b);
  }
  return cur;
}

function apply(step: Step, input: unknown[], b: Budget): unknown[] {
  const out: unknown[] = [];
  switch (step.kind) {
    case 'field': {
      if (input.length === 0) return out;
      for (const v of input)
        if (isObject(v))
          for (const n of step.names) if (Object.hasOwn(v, n) && v[n] !== undefined) out.push(v[n]);
      if (out.length === 0) throw new JsonPathError(`${step.names.join(',')} is not found`);
      return out;
    }
    case 'wildcard':
      for (const v of input) {
        if (Array.isArray(v)) out.push(...v);
        else if (isObject(v)) out.push(...Object.values(v));
      }
      return out;
    case 'recursive': {
      // Every object and array at or below the inputs, parents before children (client-go order).
      const stack = [...input].reverse();
      while (stack.length) {
        const v = stack.pop();
        spend(b, 1);
        const kids = Array.isArray(v) ? v : isObject(v) ? Object.values(v) : undefined;
        if (!kids || kids.length === 0) continue;
        out.push(v);
        for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
      }
      return out;
    }
    case 'index':
      for (const v of input) {
        if (v === null) continue;
        if (!Array.isArray(v)) throw new JsonPathError(`${typeName(v)} is not an array`);
        for (const i0 of step.indexes) {
          const i = i0 < 0 ? i0 + v.length : i0;
          if (i < 0 || i >= v.length)
            throw new JsonPathError(`array index out of bounds: index ${i}, length ${v.length}`);
          out.push(v[i]);
        }
      }
      return out;
    case 'slice':
      for (const v of input) {
        if (v === null) continue;
        if (!Array.isArray(v)) throw new JsonPathError(`${typeName(v)} is not an array`);
        const n = v.length;
        let start = step.start ?? 0;
        let end = step.end ?? n;
        if (start < 0) start += n;
        if (end < 0) end += n;
        if (start === end) continue;
        if (start < 0 || start >= n)
          throw new JsonPathError(`array index out of bounds: index ${start}, length ${n}`);
        if (end < 0 || end > n)
          throw new JsonPathError(`array index out of bounds: index ${end - 1}, length ${n}`);
        if (start > end)
          throw new JsonPathError(`starting index ${start} is greater than ending index ${end}`);
        const by = step.step ?? 1;
        if (by <= 0) throw new JsonPathError('step must be > 0');
        for (let i = start; i < end; i += by) out.push(v[i]);
      }
      return out;
    case 'filter':
      for (const v of input) {
        if (v === null) continue;
        if (!Array.isArray(v))
          throw new JsonPathError(`${typeName(v)} is not an array and cannot be filtered`);
        for (const item of v) if (matches(step, item, b)) out.push(item);
      }
      return out;
  }
}

/** Relative path results, with "not found" meaning no results (as a filter reads them). */
function relative(path: Step[], item: unknown, b: Budget): unknown[] {
  try {
    return evaluate(path, [item], b);
  } catch (e) {
    if (e instanceof JsonPathError && /not found|out of bounds|not an array/.test(e.message)) return [];
    throw e;
  }
}

function matches(step: Extract<Step, { kind: 'filter' }>, item: unknown, b: Budget): boolean {
  const lefts = relative(step.left, item, b);
  if (step.op === undefined) return lefts.length > 0;
  if (lefts.length === 0) return false;
  const r = step.right;
  const right: unknown = r !== null && typeof r === 'object' ? relative(r.path, item, b)[0] : r;
  return compare(lefts[0], step.op, right);
}

function compare(a: unknown, op: Op, c: unknown): boolean {
  switch (op) {
    case '==':
      return a === c;
    case '!=':
      return a !== c;
  }
  const both =
    (typeof a === 'number' && typeof c === 'number') || (typeof a === 'string' && typeof c === 'string');
  if (!both) return false;
  const x = a as number | string;
  const y = c as number | string;
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
}
