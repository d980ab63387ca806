/**
 * Regular expressions for `matches`, with Go's RE2 syntax and RE2's guarantee: matching time is
 * linear in the input (a Thompson-NFA / Pike-VM simulation, no backtracking).
 *
 * Why not `new RegExp`: V8's engine backtracks, so `"aaaaaaaaaaaaaaaaaaaaaaaaaaaa!" matches "(a+)+$"`
 * takes exponential time even without back-references, and a controller must not hang on a
 * user's condition. RE2 also rejects constructs JS accepts (look-around, back-references), and
 * accepts some JS lacks (`(?i)`, `(?P<name>…)`, `\pL`, `[[:alpha:]]`, `\Q…\E`, `\z`).
 *
 * Supported: literals and escapes, `.`, classes `[…]` (ranges, negation, \d \w \s, \p{…}, POSIX
 * [:name:]), groups `(…)` `(?:…)` `(?P<n>…)` `(?<n>…)`, flags `(?imsU)` and `(?i:…)`, alternation,
 * `* + ? {n} {n,} {n,m}` (and lazy forms), anchors `^ $ \A \z \b \B`. Rejected like RE2 does:
 * look-ahead / look-behind, back-references (\1, \k<n>), \C, repeat counts above 1000.
 * Matching only answers "is there a match anywhere" (Go's regexp.MatchString); no captures.
 */

const MAX_PATTERN_LENGTH = 1000;
const MAX_NESTING = 100;
const MAX_REPEAT = 1000; // RE2's limit on {n,m}
const MAX_PROGRAM = 10_000;

export class RegexError extends Error {
  readonly tooLarge: boolean;
  constructor(message: string, tooLarge = false) {
    super(message);
    this.tooLarge = tooLarge;
  }
}

type CharTest = (cp: number) => boolean;
type AssertKind = 'bot' | 'eot' | 'bol' | 'eol' | 'wb' | 'nwb';

type RNode =
  | { readonly t: 'char'; readonly test: CharTest }
  | { readonly t: 'cat'; readonly xs: readonly RNode[] }
  | { readonly t: 'alt'; readonly xs: readonly RNode[] }
  | { readonly t: 'rep'; readonly x: RNode; readonly min: number; readonly max: number }
  | { readonly t: 'assert'; readonly a: AssertKind };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

// ---------------------------------------------------------------------------------------------
// Character predicates.

type Range = readonly [number, number];

const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
]; // RE2's \s is [\t\n\f\r ], no \v

const POSIX: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

const inRanges = (ranges: readonly Range[], cp: number): boolean => {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
};

const rangesTest =
  (ranges: readonly Range[], negate = false): CharTest =>
  (cp) =>
    inRanges(ranges, cp) !== negate;

const lowerCp = (cp: number): number => String.fromCodePoint(cp).toLowerCase().codePointAt(0) as number;
const upperCp = (cp: number): number => String.fromCodePoint(cp).toUpperCase().codePointAt(0) as number;

/** Case-insensitive wrapper: simple case folding through lower and upper case. */
const folded =
  (test: CharTest): CharTest =>
  (cp) =>
    test(cp) || test(lowerCp(cp)) || test(upperCp(cp));

const unicodeClassCache = new Map<string, CharTest>();

function unicodeClass(name: string): CharTest {
  const cached = unicodeClassCache.get(name);
  if (cached) return cached;
  if (!/^[A-Za-z_]+$/.test(name)) throw new RegexError(`invalid character class range: \\p{${name}}`);
  let test: CharTest;
  if (name === 'Any') test = () => true;
  else {
    // One-code-point test regexes cannot backtrack; general categories are used as is,
    // other names are scripts (RE2's \p{Greek} is JS's \p{Script=Greek}).
    const candidates = /^[A-Z][a-z]?$/.test(name) ? [name, `Script=${name}`] : [`Script=${name}`];
    let re: RegExp | undefined;
    for (const prop of candidates) {
      try {
        re = new RegExp(`^\\p{${prop}}$`, 'u');
        break;
      } catch {
        // try the next reading
      }
    }
    if (!re) throw new RegexError(`invalid character class range: \\p{${name}}`);
    const one = re;
    test = (cp) => one.test(String.fromCodePoint(cp));
  }
  unicodeClassCache.set(name, test);
  return test;
}

// ---------------------------------------------------------------------------------------------
// Parser (recursive descent over code points; nesting is bounded).

/** The character of a code point, '' past the end (-1). */
const chr = (cp: number): string => (cp < 0 ? '' : String.fromCodePoint(cp));

class RegexParser {
  private readonly cps: number[];
  private pos = 0;
  private depth = 0;

  constructor(pattern: string) {
    this.cps = Array.from(pattern, (c) => c.codePointAt(0) as number);
  }

  parse(): RNode {
    const node = this.alternation({ i: false, m: false, s: false, U: false });
    if (this.pos < this.cps.length) throw new RegexError('unexpected )');
    return node;
  }

  private peek(offset = 0): number {
    return this.cps[this.pos + offset] ?? -1;
  }

  private is(ch: string, offset = 0): boolean {
    return this.peek(offset) === ch.codePointAt(0);
  }

  private alternation(flags: Flags): RNode {
    const branches = [this.concatenation(flags)];
    while (this.is('|')) {
      this.pos++;
      branches.push(this.concatenation(flags));
    }
    return branches.length === 1 ? (branches[0] as RNode) : { t: 'alt', xs: branches };
  }

  private concatenation(flags: Flags): RNode {
    const items: RNode[] = [];
    while (this.pos < this.cps.length && !this.is('|') && !this.is(')')) {
      const atom = this.atom(flags);
      if (atom === null) continue; // a flag group like (?i)
      items.push(this.repetition(atom));
    }
    return items.length === 1 ? (items[0] as RNode) : { t: 'cat', xs: items };
  }

  /** `{n}`, `{n,}`, `{n,m}` at the current position, or undefined if it is a literal brace. */
  private braces(): { min: number; max: number; length: number } | undefined {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 16));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
      throw new RegexError(`invalid repeat count: ${m[0]}`);
    }
    return { min, max, length: m[0].length };
  }

  private quantifier(): { min: number; max: number; length: number } | undefined {
    if (this.is('*')) return { min: 0, max: -1, length: 1 };
    if (this.is('+')) return { min: 1, max: -1, length: 1 };
    if (this.is('?')) return { min: 0, max: 1, length: 1 };
    if (this.is('{')) return this.braces();
    return undefined;
  }

  private repetition(atom: RNode): RNode {
    const q = this.quantifier();
    if (!q) return atom;
    this.pos += q.length;
    if (this.is('?')) this.pos++; // lazy: same answer for a yes/no match
    if (this.quantifier()) throw new RegexError('invalid nested repetition operator');
    return { t: 'rep', x: atom, min: q.min, max: q.max };
  }

  private literal(cp: number, flags: Flags): RNode {
    if (!flags.i) return { t: 'char', test: (c) => c === cp };
    const variants = new Set([cp, lowerCp(cp), upperCp(cp)]);
    return { t: 'char', test: (c) => variants.has(c) || variants.has(lowerCp(c)) };
  }

  private atom(flags: Flags): RNode | null {
    const cp = this.peek();
    const ch = chr(cp);
    switch (ch) {
      case '(':
        return this.group(flags);
      case '[':
        return this.charClass(flags);
      case '.':
        this.pos++;
        return { t: 'char', test: flags.s ? () => true : (c) => c !== 0x0a };
      case '^':
        this.pos++;
        return { t: 'assert', a: flags.m ? 'bol' : 'bot' };
      case '$':
        this.pos++;
        return { t: 'assert', a: flags.m ? 'eol' : 'eot' };
      case '\\':
        return this.escape(flags);
      case '*':
      case '+':
      case '?':
        throw new RegexError(`missing argument to repetition operator: ${ch}`);
      case '{':
        if (this.braces()) throw new RegexError('missing argument to repetition operator: {');
        this.pos++;
        return this.literal(cp, flags);
      default:
        this.pos++;
        return this.literal(cp, flags);
    }
  }

  private group(outer: Flags): RNode | null {
    this.pos++; // (
    const flags = { ...outer };
    if (this.is('?')) {
      const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 40));
      if (/^\?(=|!|<=|<!)/.test(rest))
        throw new RegexError('invalid or unsupported Perl syntax: look-around');
      const named = /^\?P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (named) {
        this.pos += named[0].length;
      } else if (rest.startsWith('?:')) {
        this.pos += 2;
      } else {
        const m = /^\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
        if (!m || (m[1] === '' && (m[2] ?? '') === '')) {
          throw new RegexError('invalid or unsupported Perl syntax');
        }
        for (const f of m[1] as string) flags[f as keyof Flags] = true;
        for (const f of m[2] ?? '') flags[f as keyof Flags] = false;
        this.pos += m[0].length;
        if (m[3] === ')') {
          // (?flags) changes the rest of the enclosing group.
          Object.assign(outer, flags);
          return null;
        }
      }
    }
    if (++this.depth > MAX_NESTING) throw new RegexError('expression nests too deeply', true);
    const inner = this.alternation(flags);
    this.depth--;
    if (!this.is(')')) throw new RegexError('missing closing )');
    this.pos++;
    return inner;
  }

  /** An escape outside a class: an assertion, a class or a literal. */
  private escape(flags: Flags): RNode {
    const c = chr(this.peek(1));
    switch (c) {
      case 'A':
        this.pos += 2;
        return { t: 'assert', a: 'bot' };
      case 'z':
        this.pos += 2;
        return { t: 'assert', a: 'eot' };
      case 'b':
        this.pos += 2;
        return { t: 'assert', a: 'wb' };
      case 'B':
        this.pos += 2;
        return { t: 'assert', a: 'nwb' };
      case 'Q': {
        this.pos += 2;
        const items: RNode[] = [];
        while (this.pos < this.cps.length && !(this.is('\\') && this.is('E', 1))) {
          items.push(this.literal(this.peek(), flags));
          this.pos++;
        }
        if (this.pos < this.cps.length) this.pos += 2;
        return items.length === 1 ? (items[0] as RNode) : { t: 'cat', xs: items };
      }
      default: {
        const cls = this.classEscape();
        if (cls) return { t: 'char', test: flags.i ? folded(cls) : cls };
        return this.literal(this.escapedChar(), flags);
      }
    }
  }

  /** \d \D \s \S \w \W \pX \p{X} \PX; undefined if the escape is not a class. */
  private classEscape(): CharTest | undefined {
    const c = chr(this.peek(1));
    const simple: Record<string, CharTest> = {
      d: rangesTest(DIGIT),
      D: rangesTest(DIGIT, true),
      s: rangesTest(SPACE),
      S: rangesTest(SPACE, true),
      w: rangesTest(WORD),
      W: rangesTest(WORD, true),
    };
    const test = simple[c];
    if (test) {
      this.pos += 2;
      return test;
    }
    if (c !== 'p' && c !== 'P') return undefined;
    this.pos += 2;
    let name: string;
    if (this.is('{')) {
      const end = this.cps.indexOf(0x7d, this.pos);
      if (end < 0) throw new RegexError('invalid character class range');
      name = String.fromCodePoint(...this.cps.slice(this.pos + 1, end));
      this.pos = end + 1;
    } else {
      if (this.pos >= this.cps.length) throw new RegexError('invalid character class range');
      name = chr(this.peek());
      this.pos++;
    }
    let negate = c === 'P';
    if (name.startsWith('^')) {
      negate = !negate;
      name = name.slice(1);
    }
    const base = unicodeClass(name);
    return negate ? (cp) => !base(cp) : base;
  }

  /** A single escaped code point (\n, \x41, \x{263a}, \101, \.); backreferences are errors. */
  private escapedChar(): number {
    this.pos++; // backslash
    const cp = this.peek();
    if (cp < 0) throw new RegexError('trailing backslash at end of expression');
    const c = String.fromCodePoint(cp);
    this.pos++;
    const controls: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (controls[c] !== undefined) return controls[c] as number;
    if (c >= '0' && c <= '7') {
      // Go: a lone non-zero digit is a backreference (unsupported); otherwise up to 3 octal digits.
      if (c !== '0' && !(this.peek() >= 0x30 && this.peek() <= 0x37)) {
        throw new RegexError(`invalid escape sequence: \\${c} (backreferences are not supported)`);
      }
      let v = cp - 0x30;
      for (let k = 0; k < 2 && this.peek() >= 0x30 && this.peek() <= 0x37; k++) {
        v = v * 8 + (this.peek() - 0x30);
        this.pos++;
      }
      return v;
    }
    if (c === 'x') {
      const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 10));
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(rest) ?? /^([0-9a-fA-F]{2})/.exec(rest);
      if (!m) throw new RegexError('invalid escape sequence: \\x');
      const v = Number.parseInt(m[1] as string, 16);
      if (v > 0x10ffff) throw new RegexError('invalid escape sequence: \\x');
      this.pos += m[0].length;
      return v;
    }
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return cp; // escaped punctuation
    if (c === '8' || c === '9' || c === 'k' || c === 'g') {
      throw new RegexError(`invalid escape sequence: \\${c} (backreferences are not supported)`);
    }
    throw new RegexError(`invalid escape sequence: \\${c}`);
  }

  private charClass(flags: Flags): RNode {
    this.pos++; // [
    let negate = false;
    if (this.is('^')) {
      negate = true;
      this.pos++;
    }
    const ranges: Range[] = [];
    const tests: CharTest[] = [];
    let first = true;
    while (!(this.is(']') && !first)) {
      if (this.pos >= this.cps.length) throw new RegexError('missing closing ]');
      first = false;
      if (this.is('[') && this.is(':', 1)) {
        // As RE2/Go: everything from "[:" to the next ":]" is a class name, and an unknown one is an error.
        const rest = String.fromCodePoint(...this.cps.slice(this.pos));
        const end = rest.indexOf(':]', 2);
        if (end >= 0) {
          const whole = rest.slice(0, end + 2);
          const negated = whole[2] === '^';
          const name = whole.slice(negated ? 3 : 2, end);
          const r = Object.hasOwn(POSIX, name) ? POSIX[name] : undefined;
          if (!r) throw new RegexError(`invalid character class range: ${whole}`);
          tests.push(rangesTest(r, negated));
          this.pos += [...whole].length;
          continue;
        }
      }
      if (this.is('\\')) {
        const cls = this.classEscape();
        if (cls) {
          tests.push(cls);
          continue;
        }
      }
      const lo = this.classChar();
      if (this.is('-') && !this.is(']', 1) && this.pos + 1 < this.cps.length) {
        this.pos++;
        const hi = this.classChar();
        if (hi < lo) throw new RegexError('invalid character class range');
        ranges.push([lo, hi]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    this.pos++; // ]
    const base: CharTest = (cp) => inRanges(ranges, cp) || tests.some((t) => t(cp));
    const test = flags.i ? folded(base) : base;
    return { t: 'char', test: negate ? (cp) => !test(cp) : test };
  }

  private classChar(): number {
    if (this.is('\\')) return this.escapedChar();
    const cp = this.peek();
    this.pos++;
    return cp;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiler to a Pike VM program.

const CHAR = 0;
const SPLIT = 1;
const JMP = 2;
const ASSERT = 3;
const MATCH = 4;

interface Program {
  readonly op: number[];
  readonly x: number[];
  readonly y: number[];
  readonly test: (CharTest | undefined)[];
  readonly assert: (AssertKind | undefined)[];
}

class Compiler {
  readonly prog: Program = { op: [], x: [], y: [], test: [], assert: [] };

  private emit(op: number, x = 0, y = 0, test?: CharTest, assert?: AssertKind): number {
    const p = this.prog;
    if (p.op.length >= MAX_PROGRAM) throw new RegexError('expression too large', true);
    p.op.push(op);
    p.x.push(x);
    p.y.push(y);
    p.test.push(test);
    p.assert.push(assert);
    return p.op.length - 1;
  }

  private get here(): number {
    return this.prog.op.length;
  }

  compile(n: RNode): void {
    switch (n.t) {
      case 'char':
        this.emit(CHAR, 0, 0, n.test);
        return;
      case 'assert':
        this.emit(ASSERT, 0, 0, undefined, n.a);
        return;
      case 'cat':
        for (const x of n.xs) this.compile(x);
        return;
      case 'alt': {
        const jumps: number[] = [];
        n.xs.forEach((x, k) => {
          if (k < n.xs.length - 1) {
            const split = this.emit(SPLIT);
            this.prog.x[split] = this.here;
            this.compile(x);
            jumps.push(this.emit(JMP));
            this.prog.y[split] = this.here;
          } else {
            this.compile(x);
          }
        });
        for (const j of jumps) this.prog.x[j] = this.here;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) this.compile(n.x);
        if (n.max === -1) {
          const split = this.emit(SPLIT);
          this.prog.x[split] = this.here;
          this.compile(n.x);
          this.emit(JMP, split);
          this.prog.y[split] = this.here;
        } else {
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit(SPLIT);
            this.prog.x[split] = this.here;
            splits.push(split);
            this.compile(n.x);
          }
          for (const s of splits) this.prog.y[s] = this.here;
        }
        return;
      }
    }
  }
}

const isWord = (cp: number): boolean => inRanges(WORD, cp);

function assertHolds(a: AssertKind, prev: number, next: number): boolean {
  switch (a) {
    case 'bot':
      return prev === -1;
    case 'eot':
      return next === -1;
    case 'bol':
      return prev === -1 || prev === 0x0a;
    case 'eol':
      return next === -1 || next === 0x0a;
    case 'wb':
      return isWord(prev) !== isWord(next);
    case 'nwb':
      return isWord(prev) === isWord(next);
  }
}

export interface CompiledRegex {
  /** Number of program instructions (what one match attempt costs at least). */
  readonly size: number;
  /** Is there a match anywhere in `input`? `tick` is charged for the work done. */
  test(input: string, tick: (n: number) => void): boolean;
}

class PikeVM implements CompiledRegex {
  private readonly prog: Program;
  readonly size: number;

  constructor(prog: Program) {
    this.prog = prog;
    this.size = prog.op.length;
  }

  test(input: string, tick: (n: number) => void): boolean {
    const { op, x, y, test, assert } = this.prog;
    const size = op.length;
    let clist = new Int32Array(size);
    let nlist = new Int32Array(size);
    const mark = new Int32Array(size).fill(-1);
    const stack = new Int32Array(size * 2 + 2);
    let gen = 0;
    let cn = 0;
    let nn = 0;
    let work = 0;

    // Adds pc and its epsilon closure (jumps, splits, holding assertions) to nlist.
    const add = (start: number, prev: number, next: number): void => {
      let sp = 0;
      stack[sp++] = start;
      while (sp > 0) {
        const pc = stack[--sp] as number;
        if (mark[pc] === gen) continue;
        mark[pc] = gen;
        work++;
        switch (op[pc]) {
          case JMP:
            stack[sp++] = x[pc] as number;
            break;
          case SPLIT:
            stack[sp++] = y[pc] as number;
            stack[sp++] = x[pc] as number;
            break;
          case ASSERT:
            if (assertHolds(assert[pc] as AssertKind, prev, next)) stack[sp++] = pc + 1;
            break;
          default:
            nlist[nn++] = pc;
        }
      }
    };

    const cpAt = (i: number): number => (i < input.length ? (input.codePointAt(i) as number) : -1);
    let pos = 0;
    let cur = cpAt(0);
    gen++;
    add(0, -1, cur);
    [clist, nlist] = [nlist, clist];
    cn = nn;
    for (;;) {
      // Each position costs its thread list plus the closure work, so the budget bounds the time.
      tick(1 + ((cn + work) >> 3));
      work = 0;
      const nextPos = pos + (cur > 0xffff ? 2 : 1);
      const next = cur === -1 ? -1 : cpAt(nextPos);
      gen++;
      nn = 0;
      for (let k = 0; k < cn; k++) {
        const pc = clist[k] as number;
        if (op[pc] === MATCH) return true;
        if (cur !== -1 && (test[pc] as CharTest)(cur)) add(pc + 1, cur, next);
      }
      if (cur === -1) return false;
      add(0, cur, next); // unanchored search: a new thread starts at every position
      [clist, nlist] = [nlist, clist];
      cn = nn;
      pos = nextPos;
      cur = next;
    }
  }
}

const cache = new Map<string, CompiledRegex>();

/** Compiles an RE2 pattern; throws RegexError for invalid or unsupported syntax. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new RegexError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`, true);
  }
  const tree = new RegexParser(pattern).parse();
  const compiler = new Compiler();
  compiler.compile(tree);
  compiler.prog.op.push(MATCH);
  compiler.prog.x.push(0);
  compiler.prog.y.push(0);
  compiler.prog.test.push(undefined);
  compiler.prog.assert.push(undefined);
  const re = new PikeVM(compiler.prog);
  if (cache.size >= 256) cache.clear();
  cache.set(pattern, re);
  return re;
}
