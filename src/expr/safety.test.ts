/**
 * Hostile expressions and data: nothing may reach JS internals, call into the environment, hang,
 * overflow the stack or throw anything but an ExprError.
 */

import { describe, expect, it } from 'vitest';
import { compile, ExprError, type ExprErrorKind, evaluate } from './index.js';

function failure(expression: string, env: Record<string, unknown> = {}, options = {}): ExprError {
  try {
    evaluate(expression, env, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError);
    return e as ExprError;
  }
  throw new Error(`expected ${expression} to fail`);
}

function expectKind(
  expression: string,
  kind: ExprErrorKind,
  env: Record<string, unknown> = {},
  options = {},
): void {
  const started = performance.now();
  const e = failure(expression, env, options);
  expect(e.kind, e.message).toBe(kind);
  expect(performance.now() - started).toBeLessThan(5000);
}

describe('no access to JS internals', () => {
  const obj = { a: 1 };
  const inherited = [
    'constructor',
    '__proto__',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
    '__defineGetter__',
  ];

  for (const name of inherited) {
    it(`result.${name} and result["${name}"] are missing keys (nil) on a map`, () => {
      expect(evaluate(`result.${name}`, { result: obj })).toBeNull();
      expect(evaluate(`result["${name}"]`, { result: obj })).toBeNull();
      expect(evaluate(`result?.${name}`, { result: obj })).toBeNull();
      expect(evaluate(`"${name}" in result`, { result: obj })).toBe(false);
      expect(evaluate(`{}.${name}`, {})).toBeNull();
    });

    it(`${name} is not a name in the environment`, () => {
      expectKind(name, 'type', { result: obj });
    });
  }

  it('cannot walk to Function through constructor.constructor', () => {
    const g = globalThis as { pwned?: unknown };
    for (const e of [
      'result.constructor.constructor("return 1")()',
      'result.constructor.constructor("globalThis.pwned = 1")',
      'result["constructor"]["constructor"]("globalThis.pwned = 1")',
      '$env.constructor.constructor("globalThis.pwned = 1")',
      'toString.constructor("globalThis.pwned = 1")',
      '"".constructor.constructor("globalThis.pwned = 1")',
      '[].constructor.constructor("globalThis.pwned = 1")',
    ]) {
      expect(() => evaluate(e, { result: obj })).toThrow(ExprError);
    }
    expect(g.pwned).toBeUndefined();
  });

  it('Object.prototype names are not duration units or POSIX classes (found by the fuzz test)', () => {
    for (const unit of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expectKind(`duration("1${unit}") > duration("1s")`, 'runtime');
    }
    expectKind('"a" matches "[[:constructor:]]"', 'type');
    expectKind('x matches "[[:constructor:]]"', 'type', { x: 'a' });
    expectKind('"a" matches "[[:__proto__:]]"', 'type');
    expect(evaluate('duration("1h30m") > duration("1.5h")', {})).toBe(false);
  });

  it('arrays and strings have no named members', () => {
    expectKind('result.constructor', 'type', { result: [1] });
    expectKind('result.length', 'type', { result: [1] });
    expectKind('result["length"]', 'type', { result: 'abc' });
    expectKind('[].constructor', 'type');
  });

  it('own "__proto__" keys (from JSON) are ordinary data', () => {
    const result = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(evaluate('result.__proto__.x', { result })).toBe(1);
    expect(evaluate('fromJSON(s).__proto__.x', { s: '{"__proto__": {"x": 2}}' })).toBe(2);
    const out = evaluate('{"__proto__": 1}', {}) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });

  it('class instances, Maps and objects with custom prototypes are opaque', () => {
    class Secret {
      token = 's3cr3t';
    }
    expectKind('x.token', 'type', { x: new Secret() });
    expectKind('x.size', 'type', { x: new Map([['size', 1]]) });
    expectKind('x.evil', 'type', { x: Object.create({ evil: 1 }) });
    expect(evaluate('type(x)', { x: new Secret() })).toBe('unknown');
  });

  it('functions from the environment are never called', () => {
    let calls = 0;
    const f = () => {
      calls++;
      return true;
    };
    expectKind('f()', 'type', { f });
    expectKind('f(1, 2)', 'type', { f });
    expectKind('m.f()', 'type', { m: { f } });
    expectKind('1 | f()', 'type', { f });
    expectKind('m?.f()', 'type', { m: { f } });
    expectKind('all([1], f)', 'type', { f });
    expect(evaluate('type(f)', { f })).toBe('func');
    expect(evaluate('f == f', { f })).toBe(true);
    expect(evaluate('m.f == nil', { m: { f } })).toBe(false);
    expect(calls).toBe(0);
  });

  it('Argo helpers are callable by default and can be turned off', () => {
    expect(evaluate('asInt("1")', {})).toBe(1);
    expect(() => evaluate('asInt("1")', {}, { argoHelpers: false })).toThrow(/unknown func asInt/);
  });

  it('errors thrown by environment getters become ExprErrors', () => {
    const env = {
      get bomb(): unknown {
        throw new TypeError('boom');
      },
    };
    const e = failure('bomb', env);
    expect(e.kind).toBe('runtime');
  });
});

describe('bounded work', () => {
  it('rejects huge ranges before allocating', () => {
    expectKind('1..1000000000000', 'limit');
    expectKind('len(0..9223372036854775806)', 'limit');
    expectKind('1..1e12', 'type');
    expectKind('-9223372036854775807..9223372036854775807', 'limit');
  });

  it('stops nested loops by the step budget', () => {
    expectKind('all(1..100000, all(1..100000, true))', 'limit');
    expectKind('map(1..1000, map(1..1000, map(1..1000, #)))', 'limit');
    expectKind('reduce(1..1000000, #acc + 1, 0) > 0 and reduce(1..1000000, #acc + 1, 0) > 0', 'limit');
  });

  it('honours maxSteps', () => {
    expect(evaluate('1 + 1 + 1', {}, { maxSteps: 10 })).toBe(3);
    expectKind('1 + 1 + 1 + 1 + 1 + 1', 'limit', {}, { maxSteps: 10 });
    const c = compile('sum(result)');
    expect(c.run({ result: [1, 2] })).toBe(3);
    expect(() => c.run({ result: new Array(2_000_000).fill(1) })).toThrow(/steps/);
  });

  it('bounds strings produced by +, repeat, join, replace and string()', () => {
    expectKind('reduce(1..40, #acc + #acc, "ab")', 'limit');
    expectKind('repeat("a", 1000000000)', 'limit');
    expectKind('repeat("ab", 600000)', 'limit');
    expectKind('replace(repeat("a", 100000), "a", "aaaaaaaaaaaaaaaaaaaa")', 'limit');
    expectKind('join(map(1..200000, "abcdefgh"), ",")', 'limit');
    expectKind('string(map(1..300000, "abcdefgh"))', 'limit');
    expect(evaluate('len(repeat("ab", 1000))', {})).toBe(2000);
  });

  it('bounds arrays produced by concat and flatten', () => {
    expectKind('reduce(1..30, concat(#acc, #acc), [1])', 'limit');
    expectKind('len(flatten(map(1..1000, 1..1000)))', 'limit');
  });

  it('does not allocate huge bigints for shifts', () => {
    expect(evaluate('bitshl(1, 1000000000000)', {})).toBe(0);
    expect(evaluate('bitshr(-1, 1000000000000)', {})).toBe(-1);
  });

  it('survives cyclic and deeply nested data', () => {
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    expectKind('a == a', 'limit', { a: cyclic });
    expectKind('string(a)', 'limit', { a: cyclic });
    expectKind('toJSON(a)', 'limit', { a: cyclic });
    expectKind('flatten(a)', 'limit', { a: cyclic });
    expectKind('a', 'limit', { a: cyclic });
    expect(evaluate('len(a)', { a: cyclic })).toBe(2);
    const deepJSON = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    expectKind('fromJSON(s)', 'limit', { s: deepJSON });
  });
});

describe('bounded parsing', () => {
  const big = { maxLength: 1_000_000 };

  it('rejects very long expressions before lexing', () => {
    const e = failure(`${'1 + '.repeat(5000)}1`);
    expect(e.kind).toBe('limit');
    expect(e.column).toBe(1);
    expect(evaluate('1 + 1', {}, { maxLength: 5 })).toBe(2);
    expectKind('1 + 1 + 1', 'limit', {}, { maxLength: 5 });
  });

  const deep: [string, string][] = [
    ['parentheses', `${'('.repeat(10_000)}1${')'.repeat(10_000)}`],
    ['arrays', `${'['.repeat(10_000)}1${']'.repeat(10_000)}`],
    ['maps', `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`],
    ['unary not', `${'!'.repeat(10_000)}true`],
    ['unary minus', `${'- '.repeat(10_000)}1`],
    ['right-associative **', `${'2 ** '.repeat(10_000)}1`],
    ['left-associative +', `${'1 + '.repeat(10_000)}1`],
    ['and chains', `${'true && '.repeat(10_000)}true`],
    ['member chains', `m${'.a'.repeat(10_000)}`],
    ['index chains', `m${'[0]'.repeat(10_000)}`],
    ['calls', `${'abs('.repeat(10_000)}1${')'.repeat(10_000)}`],
    ['predicates', `${'all(x, '.repeat(10_000)}true${')'.repeat(10_000)}`],
    ['ternaries', `${'true ? '.repeat(10_000)}1${' : 2'.repeat(10_000)}`],
    ['comparison chains', `${'1 < '.repeat(10_000)}2`],
    ['let', `${'let x = 1; '.repeat(10_000)}x`],
    ['if', `${'if true { '.repeat(10_000)}1${' } else { 2 }'.repeat(10_000)}`],
  ];

  for (const [name, expression] of deep) {
    it(`stops deep ${name} with a limit error, not a stack overflow`, () => {
      expectKind(expression, 'limit', { m: {}, x: [] }, big);
    });
  }

  it('accepts nesting up to the limit and honours maxDepth', () => {
    expect(evaluate(`${'('.repeat(50)}1${')'.repeat(50)}`, {})).toBe(1);
    expect(evaluate(`${'-'.repeat(40)}1`, {})).toBe(1);
    expectKind(`${'('.repeat(20)}1${')'.repeat(20)}`, 'limit', {}, { maxDepth: 10 });
  });
});

describe('regular expressions run in linear time', () => {
  // Each of these takes exponential or high-polynomial time in a backtracking engine.
  const pathological: [string, string, boolean][] = [
    ['(a+)+$', `${'a'.repeat(40)}!`, false],
    ['(a|a)*b', 'a'.repeat(5000), false],
    ['(a|aa)*c', 'a'.repeat(5000), false],
    ['(.*a){20}$', `${'a'.repeat(5000)}b`, false],
    ['(.*a){20}', 'a'.repeat(5000), true],
    ['^(\\w+\\s?)*$', `${'word '.repeat(2000)}!`, false],
    ['(x+x+)+y', 'x'.repeat(5000), false],
    ['a*a*a*a*a*a*b', 'a'.repeat(5000), false],
  ];

  for (const [pattern, input, matches] of pathological) {
    it(`${pattern} on ${input.length} characters`, () => {
      const started = performance.now();
      expect(evaluate('s matches p', { s: input, p: pattern })).toBe(matches);
      expect(performance.now() - started).toBeLessThan(5000);
    });
  }

  it('charges regex work to the step budget', () => {
    expectKind('s matches "(a|b|c|d)*z"', 'limit', { s: 'abcd'.repeat(500_000) });
  });

  it('rejects RE2-unsupported and oversized patterns', () => {
    // A string-literal pattern is compiled by expr's checker: a bad one is a compile-time error.
    expectKind('"a" matches "(?=a)"', 'type');
    expectKind('"a" matches "(?!a)"', 'type');
    expectKind('"a" matches "(?<=a)"', 'type');
    expectKind('"a" matches "(?<!a)"', 'type');
    expectKind('"aa" matches "(a)\\\\1"', 'type');
    expectKind('"aa" matches "(?P<x>a)\\\\k<x>"', 'type');
    expectKind('"a" matches "a{1001}"', 'type');
    expectKind('"a" matches "a**"', 'type');
    // A pattern that is only known when the expression runs fails then.
    expectKind('"a" matches p', 'runtime', { p: '(?=a)' });
    expectKind('"aa" matches p', 'runtime', { p: '(a)\\1' });
    expectKind('"a" matches p', 'limit', { p: 'a'.repeat(1001) });
    expectKind('"a" matches "((a{1000}){1000})"', 'limit');
    expectKind(`"a" matches "${'('.repeat(150)}a${')'.repeat(150)}"`, 'limit');
  });
});

describe('work on large data is charged', () => {
  const big = 'é'.repeat(200_000);
  const ascii = 'a'.repeat(1_000_000);

  it('scanning builtins and byte indexing cost in proportion to the string length', () => {
    // Indexing a string is a compile-time error in expr when its type is known: go through an array.
    expectKind('all(0..100000, a[0][#] > 0)', 'limit', { a: [big] });
    expectKind('all(0..100000, indexOf(s, "zz") < 0)', 'limit', { s: ascii });
    expectKind('all(0..100000, len(s) > 0)', 'limit', { s: big });
    expectKind('all(0..100000, s contains "zz" == false)', 'limit', { s: ascii });
    expectKind('all(0..100000, s == t)', 'limit', { s: ascii, t: `${'a'.repeat(999_999)}a` });
    expectKind('all(0..100000, s < t)', 'limit', { s: ascii, t: `${'a'.repeat(999_999)}b` });
    expectKind('all(0..100000, upper(s) != "")', 'limit', { s: ascii });
  });

  it('long keys do not flood error messages', () => {
    const e = failure('x[k]', { x: null, k: 'k'.repeat(100_000) });
    expect(e.message.length).toBeLessThan(200);
  });

  it('a non-object environment is empty', () => {
    expect(evaluate('1 + 1', null as unknown as Record<string, unknown>)).toBe(2);
    expectKind('length', 'type', 'abc' as unknown as Record<string, unknown>);
  });
});

describe('regex work is charged', () => {
  it('charges for distinct large patterns and for large programs', () => {
    expectKind('none(1..100000, "a" matches "(a{1000}){9}")', 'limit');
    expectKind('none(1..100000, "b" matches p + string(#))', 'limit', { p: `(${'a|'.repeat(300)}a)` });
    expectKind('all(1..100000, len(m) > 0)', 'limit', {
      m: Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i])),
    });
  });

  it('charges closure work of split-heavy programs', () => {
    expectKind('s matches "(a?){500}b"', 'limit', { s: 'a'.repeat(200_000) });
  });
});
