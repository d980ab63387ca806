/**
 * Pratt parser mirroring expr-lang's parser/parser.go: the same operator table (precedence and
 * associativity), chained ordering comparisons (`a < b < c` is `a < b && b < c`), `not in` style
 * negation, the `??` mixing rule, predicates with `#`, `#index`, `#acc` and `.field`, pipes, `let`,
 * `if … else`, optional chaining and slices.
 *
 * Safety: the parser counts its own recursion and the height of every node it builds, and throws
 * a 'limit' ExprError before either can exceed `maxDepth`, so hostile nesting never reaches the
 * JS stack limit, here or in the interpreter that walks the tree.
 */

import type { BinaryOp, Node, NodeOf, PointerName } from './ast.js';
import { type ArgSpec, BUILTINS, type BuiltinDef } from './builtins.js';
import { columnAt, ExprError, type ExprErrorKind } from './errors.js';
import { isValidIdentifier, type Token, tokenize } from './lexer.js';

export interface ParseOptions {
  /** Maximum expression length in UTF-16 units (default 10,000). */
  readonly maxLength?: number;
  /** Maximum nesting: parser recursion and AST height (default 100). */
  readonly maxDepth?: number;
  /** Argo Rollouts' helpers (asInt, asFloat, isNaN, isInf, isNil, default) are callable unless this is false. */
  readonly argoHelpers?: boolean;
}

export const DEFAULT_MAX_LENGTH = 10_000;
export const DEFAULT_MAX_DEPTH = 100;

interface OpInfo {
  readonly prec: number;
  readonly right: boolean;
}

// parser/operator/operator.go
const UNARY: Readonly<Record<string, number>> = { not: 50, '!': 50, '-': 90, '+': 90 };
const BINARY: Readonly<Record<string, OpInfo>> = {
  '|': { prec: 0, right: false },
  or: { prec: 10, right: false },
  '||': { prec: 10, right: false },
  and: { prec: 15, right: false },
  '&&': { prec: 15, right: false },
  '==': { prec: 20, right: false },
  '!=': { prec: 20, right: false },
  '<': { prec: 20, right: false },
  '>': { prec: 20, right: false },
  '>=': { prec: 20, right: false },
  '<=': { prec: 20, right: false },
  in: { prec: 20, right: false },
  matches: { prec: 20, right: false },
  contains: { prec: 20, right: false },
  startsWith: { prec: 20, right: false },
  endsWith: { prec: 20, right: false },
  '..': { prec: 25, right: false },
  '+': { prec: 30, right: false },
  '-': { prec: 30, right: false },
  '*': { prec: 60, right: false },
  '/': { prec: 60, right: false },
  '%': { prec: 60, right: false },
  '**': { prec: 100, right: true },
  '^': { prec: 100, right: true },
  '??': { prec: 500, right: false },
};

const NEGATABLE = new Set(['in', 'matches', 'contains', 'startsWith', 'endsWith']);
const ORDERING = new Set(['<', '>', '<=', '>=']);
const ALIASES: Readonly<Record<string, BinaryOp>> = { '||': 'or', '&&': 'and', '^': '**' };

type NodeInit = { [K in Node['type']]: Omit<NodeOf<K>, 'depth'> }[Node['type']];

export function parse(source: string, options: ParseOptions = {}): Node {
  const maxLength = options.maxLength ?? DEFAULT_MAX_LENGTH;
  if (source.length > maxLength) {
    throw new ExprError('limit', `expression longer than ${maxLength} characters`, 1, source);
  }
  return new Parser(source, tokenize(source), options).parseAll();
}

class Parser {
  private readonly src: string;
  private readonly tokens: Token[];
  private readonly maxDepth: number;
  private readonly argoHelpers: boolean;
  private i = 0;
  private cur: Token;
  /** Parser recursion depth. */
  private level = 0;
  /** Predicate nesting: `#` and `.field` are only valid inside a predicate. */
  private predicates = 0;

  constructor(src: string, tokens: Token[], options: ParseOptions) {
    this.src = src;
    this.tokens = tokens;
    this.cur = tokens[0] as Token;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.argoHelpers = options.argoHelpers ?? true;
  }

  parseAll(): Node {
    const node = this.sequence();
    if (this.cur.kind !== 'eof') this.unexpected(this.cur);
    return node;
  }

  // -- token helpers ----------------------------------------------------------------------------

  private fail(pos: number, message: string, kind: ExprErrorKind = 'syntax'): never {
    throw new ExprError(kind, message, columnAt(this.src, pos), this.src);
  }

  private unexpected(tok: Token): never {
    if (tok.kind === 'eof') this.fail(tok.pos, 'unexpected end of expression');
    this.fail(tok.pos, `unexpected token ${JSON.stringify(tok.value)}`);
  }

  private next(): void {
    if (this.i < this.tokens.length - 1) this.i++;
    this.cur = this.tokens[this.i] as Token;
  }

  private is(kind: Token['kind'], value?: string): boolean {
    return this.cur.kind === kind && (value === undefined || this.cur.value === value);
  }

  private expect(kind: Token['kind'], value?: string): void {
    if (!this.is(kind, value)) this.unexpected(this.cur);
    this.next();
  }

  /** Builds a node, computing its height and enforcing the depth limit. */
  private node(init: NodeInit, ...children: (Node | undefined)[]): Node {
    let depth = 0;
    for (const c of children) if (c && c.depth > depth) depth = c.depth;
    depth += 1;
    if (depth > this.maxDepth)
      this.fail(init.pos, `expression nests deeper than ${this.maxDepth} levels`, 'limit');
    return { ...init, depth } as Node;
  }

  private enter(): void {
    if (++this.level > this.maxDepth) {
      this.fail(this.cur.pos, `expression nests deeper than ${this.maxDepth} levels`, 'limit');
    }
  }

  // -- grammar ----------------------------------------------------------------------------------

  private sequence(): Node {
    const nodes = [this.expression(0)];
    while (this.is('op', ';')) {
      this.next();
      if (this.cur.kind === 'eof') break;
      nodes.push(this.expression(0));
    }
    if (nodes.length === 1) return nodes[0] as Node;
    return this.node({ type: 'sequence', nodes, pos: (nodes[0] as Node).pos }, ...nodes);
  }

  private expression(prec: number): Node {
    this.enter();
    try {
      if (prec === 0 && this.is('op', 'let')) return this.letDeclaration();
      if (prec === 0 && this.is('op', 'if')) return this.ifElse();
      let left = this.primary();
      let prevOp = '';
      while (this.cur.kind === 'op') {
        let opTok = this.cur;
        let notTok: Token | undefined;
        if (opTok.value === 'not') {
          // `a not in b`, `a not matches b`…: negation of the following operator.
          const peek = this.tokens[this.i + 1] as Token;
          if (peek.kind !== 'op' || !NEGATABLE.has(peek.value)) this.unexpected(peek);
          if ((BINARY[peek.value] as OpInfo).prec < prec) break;
          notTok = opTok;
          this.next();
          opTok = this.cur;
        }
        const op = BINARY[opTok.value];
        if (!op || op.prec < prec) break;
        this.next();
        if (opTok.value === '|') {
          const name = this.cur;
          this.expect('ident');
          left = this.call(name, [left]);
          prevOp = '|';
          continue;
        }
        if (prevOp === '??' && opTok.value !== '??') {
          this.fail(
            opTok.pos,
            `operator (${opTok.value}) and coalesce expressions (??) cannot be mixed; wrap either in parentheses`,
          );
        }
        if (ORDERING.has(opTok.value)) {
          left = this.comparison(left, opTok, op.prec);
        } else {
          const right = this.expression(op.right ? op.prec : op.prec + 1);
          const name = ALIASES[opTok.value] ?? (opTok.value as BinaryOp);
          left = this.node({ type: 'binary', op: name, left, right, pos: opTok.pos }, left, right);
          if (notTok) left = this.node({ type: 'unary', op: 'not', operand: left, pos: notTok.pos }, left);
        }
        prevOp = opTok.value;
      }
      if (prec === 0) left = this.conditional(left);
      return left;
    } finally {
      this.level--;
    }
  }

  /** `a < b < c` means `a < b && b < c` (ordering operators only). */
  private comparison(first: Node, firstTok: Token, prec: number): Node {
    let left = first;
    let tok = firstTok;
    let root: Node | undefined;
    for (;;) {
      const right = this.expression(prec + 1);
      const cmp = this.node(
        { type: 'binary', op: tok.value as BinaryOp, left, right, pos: tok.pos },
        left,
        right,
      );
      root = root
        ? this.node({ type: 'binary', op: 'and', left: root, right: cmp, pos: tok.pos }, root, cmp)
        : cmp;
      left = right;
      tok = this.cur;
      if (!(tok.kind === 'op' && ORDERING.has(tok.value))) return root;
      this.next();
    }
  }

  private conditional(node: Node): Node {
    let test = node;
    while (this.is('op', '?')) {
      const pos = this.cur.pos;
      this.next();
      let then: Node;
      let otherwise: Node;
      if (!this.is('op', ':')) {
        then = this.expression(0);
        this.expect('op', ':');
        otherwise = this.expression(0);
      } else {
        this.next(); // `a ?: b`
        then = test;
        otherwise = this.expression(0);
      }
      test = this.node({ type: 'cond', test, then, otherwise, pos }, test, then, otherwise);
    }
    return test;
  }

  private letDeclaration(): Node {
    this.expect('op', 'let');
    const name = this.cur;
    this.expect('ident');
    this.expect('op', '=');
    const value = this.expression(0);
    this.expect('op', ';');
    const body = this.sequence();
    return this.node({ type: 'let', name: name.value, value, body, pos: name.pos }, value, body);
  }

  private ifElse(): Node {
    const pos = this.cur.pos;
    this.next(); // if
    const test = this.expression(0);
    this.expect('bracket', '{');
    const then = this.sequence();
    this.expect('bracket', '}');
    this.expect('op', 'else');
    let otherwise: Node;
    if (this.is('op', 'if')) {
      this.enter();
      otherwise = this.ifElse();
      this.level--;
    } else {
      this.expect('bracket', '{');
      otherwise = this.sequence();
      this.expect('bracket', '}');
    }
    return this.node({ type: 'cond', test, then, otherwise, pos }, test, then, otherwise);
  }

  private primary(): Node {
    const tok = this.cur;
    if (tok.kind === 'op' && UNARY[tok.value] !== undefined) {
      this.next();
      const operand = this.expression(UNARY[tok.value] as number);
      const op = tok.value === '!' ? 'not' : (tok.value as '-' | '+' | 'not');
      return this.postfix(this.node({ type: 'unary', op, operand, pos: tok.pos }, operand));
    }
    if (tok.kind === 'bracket' && tok.value === '(') {
      this.next();
      const inner = this.sequence(); // `(a; b)` is a sequence, as in expr's parsePrimary
      this.expect('bracket', ')');
      return this.postfix(inner);
    }
    if (tok.kind === 'op' && (tok.value === '#' || tok.value === '.')) {
      if (this.predicates === 0) this.fail(tok.pos, 'cannot use pointer accessor outside predicate');
      let name = '';
      if (tok.value === '#') {
        this.next();
        if (this.cur.kind === 'ident') {
          name = this.cur.value;
          this.next();
        }
      }
      // Any #name parses; which ones exist in which builtin is the checker's business, as in expr.
      // For `.field` the dot is left in place: postfix() reads it as a member access on `#`.
      return this.postfix(this.node({ type: 'pointer', name: name as PointerName, pos: tok.pos }));
    }
    return this.secondary();
  }

  private secondary(): Node {
    const tok = this.cur;
    switch (tok.kind) {
      case 'ident': {
        this.next();
        if (tok.value === 'true' || tok.value === 'false') {
          return this.node({ type: 'bool', value: tok.value === 'true', pos: tok.pos });
        }
        if (tok.value === 'nil') return this.node({ type: 'nil', pos: tok.pos });
        if (this.is('bracket', '(')) return this.postfix(this.call(tok, []));
        return this.postfix(this.node({ type: 'ident', name: tok.value, pos: tok.pos }));
      }
      case 'number':
        this.next();
        return this.number(tok);
      case 'string':
        this.next();
        return this.postfix(this.node({ type: 'string', value: tok.value, pos: tok.pos }));
      default:
        if (this.is('bracket', '[')) return this.postfix(this.array());
        if (this.is('bracket', '{')) return this.postfix(this.map());
        return this.unexpected(tok);
    }
  }

  private number(tok: Token): Node {
    const value = tok.value.replaceAll('_', '');
    const lower = value.toLowerCase();
    const intNode = (prefix: string, label: string): Node => {
      let n: bigint;
      try {
        // BigInt understands the 0x / 0o / 0b prefixes; decimal keeps leading zeros as decimal.
        n = BigInt(prefix === '' ? value : `0${prefix}${value.slice(2)}`);
      } catch {
        return this.fail(tok.pos, `invalid ${label} literal: ${JSON.stringify(tok.value)}`);
      }
      if (n > 9223372036854775807n) this.fail(tok.pos, 'integer literal is too large');
      return this.node({ type: 'int', value: n, pos: tok.pos });
    };
    if (lower.startsWith('0x')) return intNode('x', 'hex');
    if (lower.includes('.') || lower.includes('e')) {
      const f = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower) ? Number(lower) : Number.NaN;
      if (!Number.isFinite(f)) this.fail(tok.pos, `invalid float literal: ${JSON.stringify(tok.value)}`);
      return this.node({ type: 'float', value: f, pos: tok.pos });
    }
    if (lower.startsWith('0b')) return intNode('b', 'binary');
    if (lower.startsWith('0o')) return intNode('o', 'octal');
    if (!/^\d+$/.test(value)) this.fail(tok.pos, `invalid integer literal: ${JSON.stringify(tok.value)}`);
    return intNode('', 'integer');
  }

  private builtin(name: string): BuiltinDef | undefined {
    const def = BUILTINS.get(name);
    return def && (!def.argo || this.argoHelpers) ? def : undefined;
  }

  /** A call `name(...)`; `args` holds the piped-in left operand, if any. */
  private call(nameTok: Token, piped: Node[]): Node {
    const def = this.builtin(nameTok.value);
    const args = [...piped];
    if (def?.params) {
      this.expect('bracket', '(');
      const specs: readonly ArgSpec[] = def.params.slice(args.length);
      for (let k = 0; k < specs.length; k++) {
        const spec = specs[k] as ArgSpec;
        if (this.is('bracket', ')')) {
          if (spec.endsWith('?')) break;
          // expr's parser itself reads the arguments of predicate builtins: a syntax error.
          this.fail(this.cur.pos, `${def.name}: expected at least ${def.min} arguments`);
        }
        if (k > 0) this.expect('op', ',');
        args.push(spec.startsWith('predicate') ? this.predicate() : this.expression(0));
      }
      if (this.is('op', ',')) this.next();
      this.expect('bracket', ')');
    } else {
      this.argumentList(args);
    }
    if (!def) return this.node({ type: 'call', name: nameTok.value, args, pos: nameTok.pos }, ...args);
    if (args.length < def.min || args.length > def.max) {
      const expected =
        def.min === def.max
          ? `${def.min}`
          : def.max === Infinity
            ? `at least ${def.min}`
            : `${def.min} to ${def.max}`;
      this.fail(
        nameTok.pos,
        `invalid number of arguments for ${def.name} (expected ${expected}, got ${args.length})`,
        'type',
      );
    }
    return this.node({ type: 'builtin', def, args, pos: nameTok.pos }, ...args);
  }

  private argumentList(args: Node[]): void {
    const offset = args.length;
    this.expect('bracket', '(');
    while (!this.is('bracket', ')')) {
      if (args.length > offset) this.expect('op', ',');
      if (this.is('bracket', ')')) break;
      args.push(this.expression(0));
    }
    this.expect('bracket', ')');
  }

  private predicate(): Node {
    const pos = this.cur.pos;
    const braced = this.is('bracket', '{');
    if (braced) this.next();
    this.predicates++;
    let body: Node;
    if (braced) {
      body = this.sequence();
    } else {
      body = this.expression(0);
      if (this.is('op', ';')) this.fail(this.cur.pos, 'wrap predicate with brackets { and }');
    }
    this.predicates--;
    if (braced) this.expect('bracket', '}');
    return this.node({ type: 'predicate', body, pos }, body);
  }

  private array(): Node {
    const pos = this.cur.pos;
    const items: Node[] = [];
    this.expect('bracket', '[');
    while (!this.is('bracket', ']')) {
      if (items.length > 0) {
        this.expect('op', ',');
        if (this.is('bracket', ']')) break;
      }
      items.push(this.expression(0));
    }
    this.expect('bracket', ']');
    return this.node({ type: 'array', items, pos }, ...items);
  }

  private map(): Node {
    const pos = this.cur.pos;
    const entries: (readonly [Node, Node])[] = [];
    const children: Node[] = [];
    this.expect('bracket', '{');
    while (!this.is('bracket', '}')) {
      if (entries.length > 0) {
        this.expect('op', ',');
        if (this.is('bracket', '}')) break;
      }
      // A key is a number, a string or an identifier (all taken as strings), or a (parenthesized) expression.
      let key: Node;
      const tok = this.cur;
      if (tok.kind === 'number' || tok.kind === 'string' || tok.kind === 'ident') {
        key = this.node({ type: 'string', value: tok.value, pos: tok.pos });
        this.next();
      } else if (this.is('bracket', '(')) {
        key = this.expression(0);
      } else {
        this.fail(
          tok.pos,
          `a map key must be a quoted string, a number, an identifier, or an expression enclosed in parentheses (unexpected token ${JSON.stringify(tok.value)})`,
        );
      }
      this.expect('op', ':');
      const value = this.expression(0);
      entries.push([key, value]);
      children.push(key, value);
    }
    this.expect('bracket', '}');
    return this.node({ type: 'map', entries, pos }, ...children);
  }

  /** Member access, optional chaining, indexes, slices and method calls after a primary. */
  private postfix(start: Node): Node {
    let node = start;
    let chained = false;
    for (;;) {
      const tok = this.cur;
      if (tok.kind === 'op' && (tok.value === '.' || tok.value === '?.')) {
        const optional = tok.value === '?.';
        this.next();
        if (optional && this.is('bracket', '[')) {
          chained = true;
          node = this.index(node, true);
          continue;
        }
        const prop = this.cur;
        if (prop.kind === 'eof') this.unexpected(prop);
        this.next();
        if (prop.kind !== 'ident' && !(prop.kind === 'op' && isValidIdentifier(prop.value))) {
          this.fail(prop.pos, 'expected name');
        }
        if (optional) chained = true;
        if (this.is('bracket', '(')) {
          const args: Node[] = [];
          this.argumentList(args);
          node = this.node(
            { type: 'method', object: node, name: prop.value, args, optional, pos: prop.pos },
            node,
            ...args,
          );
        } else {
          const property = this.node({ type: 'string', value: prop.value, pos: prop.pos });
          node = this.node(
            { type: 'member', object: node, property, optional, pos: prop.pos },
            node,
            property,
          );
        }
      } else if (tok.kind === 'bracket' && tok.value === '[') {
        node = this.index(node, false);
      } else {
        break;
      }
    }
    // `a?.b.c`: if `a` is nil the whole chain is nil (the interpreter short-circuits up to here).
    return chained ? this.node({ type: 'chain', node, pos: node.pos }, node) : node;
  }

  private index(object: Node, optional: boolean): Node {
    const pos = this.cur.pos;
    this.expect('bracket', '[');
    if (this.is('op', ':')) {
      this.next();
      const to = this.is('bracket', ']') ? undefined : this.expression(0);
      this.expect('bracket', ']');
      return this.node({ type: 'slice', object, to, pos }, object, to);
    }
    const from = this.expression(0);
    if (this.is('op', ':')) {
      this.next();
      const to = this.is('bracket', ']') ? undefined : this.expression(0);
      this.expect('bracket', ']');
      return this.node({ type: 'slice', object, from, to, pos }, object, from, to);
    }
    this.expect('bracket', ']');
    return this.node({ type: 'member', object, property: from, optional, pos }, object, from);
  }
}
