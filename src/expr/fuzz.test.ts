/**
 * Fuzzing: random token soup, random characters, mutations of the table's expressions and random
 * data. Every evaluation must either return or throw an ExprError (never another exception, never
 * an "internal error"), and finish within a second.
 */

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ExprError, evaluate, evaluateCondition } from './index.js';

/** The expressions of table.test.ts, read from its source so its tests are not registered twice. */
function tableExpressions(): string[] {
  const path = new URL('./table.test.ts', import.meta.url);
  const file = ts.createSourceFile('table.test.ts', readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAssignment(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === 'rows' &&
      ts.isArrayLiteralExpression(node.initializer)
    ) {
      for (const row of node.initializer.elements) {
        const first = ts.isArrayLiteralExpression(row) ? row.elements[0] : undefined;
        if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)))
          out.push(first.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

const CORPUS = tableExpressions();

const ENV: Record<string, unknown> = {
  result: [0.95, 1, Number.NaN, -2.5],
  array: [1n, 2n, 3n],
  m: { a: { b: [1, 2] }, s: 'x', n: null },
  user: { Name: 'John' },
  items: [{ x: 1 }, { x: 2 }],
  tweets: [{ Content: 'hi', Size: 2 }],
  s: 'hello',
  x: 1.5,
  y: null,
  n: 3n,
  t: new Date('2024-01-01T00:00:00Z'),
  f: () => {
    throw new Error('environment functions must never be called');
  },
};

const OPTIONS = { now: new Date('2024-05-01T12:00:00Z'), argoHelpers: true };

function check(expression: string, env: Record<string, unknown> = ENV): void {
  const started = performance.now();
  try {
    evaluate(expression, env, OPTIONS);
  } catch (e) {
    if (!(e instanceof ExprError)) throw new Error(`${JSON.stringify(expression)} threw ${String(e)}`);
    if (e.message.includes('internal error')) throw new Error(`${JSON.stringify(expression)}: ${e.message}`);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeLessThanOrEqual(Array.from(expression).length + 1);
  }
  const elapsed = performance.now() - started;
  // A hang detector, not a speed test (speed is `npm run bench`): generous so a loaded machine passes.
  if (elapsed >= 5000) throw new Error(`${JSON.stringify(expression)} took ${elapsed.toFixed(0)} ms`);
}

const CHARS = [...'0123456789abcxyz_$#.?:()[]{},;+-*/%^<>=!&|"\'`\\ \n\t@~é😀'] as const;

const TOKENS = [
  ...CHARS,
  '..',
  '??',
  '?.',
  '**',
  '==',
  '!=',
  '<=',
  '&&',
  '||',
  ' and ',
  ' or ',
  ' not ',
  ' in ',
  ' matches ',
  ' contains ',
  ' startsWith ',
  'result',
  'm',
  'items',
  's',
  'f',
  'n',
  'nil',
  'true',
  'let ',
  'if ',
  ' else ',
  '#index',
  '#acc',
  'len(',
  'all(',
  'map(',
  'filter(',
  'reduce(',
  'sum(',
  'now()',
  'duration("1h")',
  'string(',
  'toJSON(',
  'fromJSON(',
  'asInt(',
  'default(',
  '1..1000',
  '0x1F',
  '1e3',
  '"(a+)+$"',
  '$env',
  'constructor',
  '__proto__',
] as const;

describe('fuzz', () => {
  it('random token sequences', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 25 }).map((t) => t.join(''));
    fc.assert(
      fc.property(soup, (e) => check(e)),
      { numRuns: 4000 },
    );
  });

  it('random character strings', () => {
    const chars = fc.string({ unit: fc.constantFrom(...CHARS), maxLength: 40 });
    fc.assert(
      fc.property(chars, (e) => check(e)),
      { numRuns: 2000 },
    );
  });

  it('mutations of the table expressions', () => {
    expect(CORPUS.length).toBeGreaterThan(250);
    const edit = fc.tuple(
      fc.nat(),
      fc.constantFrom('insert', 'delete', 'replace'),
      fc.constantFrom(...TOKENS),
    );
    const mutated = fc
      .tuple(fc.constantFrom(...CORPUS), fc.array(edit, { minLength: 1, maxLength: 4 }))
      .map(([src, edits]) => {
        let s = src;
        for (const [at, kind, token] of edits) {
          const i = s.length === 0 ? 0 : at % (s.length + 1);
          if (kind === 'insert') s = s.slice(0, i) + token + s.slice(i);
          else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
          else s = s.slice(0, i) + token + s.slice(i + 1);
        }
        return s;
      });
    fc.assert(
      fc.property(mutated, (e) => check(e)),
      { numRuns: 6000 },
    );
  });

  it('grammar-generated expressions', () => {
    // Mostly well-formed expressions, so the fuzzing reaches the interpreter and the builtins.
    const words = (s: string) => s.split(' ');
    const atoms = words(
      '1 0 -1 2.5 0.5 1e3 0x10 "a" "abc" "" true false nil [] {} result m items s x y n t array f v now() ' +
        'duration("1h") 1..5 [1,2.5,"a"] {a:1,b:[1]} $env m.a.b items[0] "(a|b)+"',
    );
    const pointers = words('# #index #acc #.x .x #[0]');
    const binary = words('+ - * / % ** == != < > <= >= and or ?? .. in contains startsWith endsWith matches');
    const unaryFns = words(
      'len abs ceil floor round int float string type upper lower trim first last keys values sum max min mean ' +
        'median toJSON fromJSON sort reverse uniq flatten count toPairs fromPairs isNaN isNil asInt asFloat duration date',
    );
    const binaryFns = words('split join repeat take get indexOf hasPrefix concat default bitand bitshl max');
    const predicateFns = words(
      'all any none one filter map count sum find findIndex findLast groupBy sortBy reduce',
    );
    const names = words('x a b Name constructor __proto__ length');
    const methods = words('Year Seconds String Hours Foo');
    const { expr } = fc.letrec((tie) => {
      const e = () => tie('expr') as fc.Arbitrary<string>;
      const body = () => tie('body') as fc.Arbitrary<string>;
      const pick = (xs: string[]) => fc.constantFrom(...xs);
      return {
        expr: fc.oneof(
          { maxDepth: 4, depthSize: 'small' },
          pick(atoms),
          fc.tuple(pick(['-', '!', 'not ', '+']), e()).map(([o, a]) => `${o}(${a})`),
          fc
            .tuple(e(), pick([...binary, 'not in', 'not contains', 'not matches']), e())
            .map(([a, o, b]) => `(${a} ${o} ${b})`),
          fc.tuple(e(), pick(['.', '?.']), pick(names)).map(([a, o, k]) => `(${a})${o}${k}`),
          fc.tuple(e(), e()).map(([a, b]) => `(${a})[${b}]`),
          fc.tuple(e(), pick(['1', '-1', '']), pick(['2', '-1', ''])).map(([a, i, j]) => `(${a})[${i}:${j}]`),
          fc.tuple(e(), e(), e()).map(([a, b, c]) => `(${a} ? ${b} : ${c})`),
          fc.tuple(pick(unaryFns), e()).map(([fn, a]) => `${fn}(${a})`),
          fc.tuple(pick(binaryFns), e(), e()).map(([fn, a, b]) => `${fn}(${a}, ${b})`),
          fc.tuple(pick(predicateFns), e(), body()).map(([fn, a, b]) => `${fn}(${a}, ${b})`),
          fc.tuple(e(), pick(predicateFns), body()).map(([a, fn, b]) => `(${a}) | ${fn}({${b}})`),
          fc.tuple(e(), pick(unaryFns)).map(([a, fn]) => `(${a}) | ${fn}()`),
          fc.tuple(e(), e()).map(([a, b]) => `(let v = ${a}; ${b})`),
          fc.tuple(e(), pick(methods)).map(([a, m]) => `(${a}).${m}()`),
        ),
        body: fc.oneof(
          { maxDepth: 4, depthSize: 'small' },
          pick(pointers),
          fc.tuple(pick(pointers), pick(binary), e()).map(([p, o, a]) => `${p} ${o} ${a}`),
          e(),
        ),
      };
    });
    fc.assert(
      fc.property(expr, (e) => check(e)),
      { numRuns: 5000 },
    );
  });

  it('the unmodified table expressions against the fuzz environment', () => {
    for (const e of CORPUS) check(e);
  });

  it('Argo conditions against random measurement results', () => {
    const conditions = [
      'result[0] > 0.90',
      'all(result, # < 1000)',
      'result.successRate >= 0.99',
      'len(result) > 0 && result[0] < 0.05',
      'isNaN(result[0]) || result[0] < 1',
      'default(result, 0) > 0.5',
      'asInt(result) > 3',
      'asFloat(result) < 0.5',
      'result == nil',
      'string(result) != ""',
      'toJSON(result) != ""',
      'result in [1, "a"]',
      'sum(result) > 1',
      'result?.a?.b ?? true',
    ];
    const result = fc.anything({
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
      withMap: true,
      maxDepth: 3,
    });
    fc.assert(
      fc.property(fc.constantFrom(...conditions), result, (condition, value) => {
        const started = performance.now();
        try {
          expect(typeof evaluateCondition(condition, value, OPTIONS)).toBe('boolean');
        } catch (e) {
          if (!(e instanceof ExprError) || e.message.includes('internal error')) throw e;
        }
        expect(performance.now() - started).toBeLessThan(5000);
      }),
      { numRuns: 2000 },
    );
  });
});
