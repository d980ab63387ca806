/**
 * Algebraic properties checked on random inputs, in place of a differential test against Go:
 * int arithmetic is exact int64 arithmetic, `/` is float division, floats from the environment
 * behave like IEEE doubles, strings compare like Go's byte order, and %v formatting round-trips.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from './index.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 });
const lit = (n: number): string => (n < 0 ? `(${n})` : String(n));
const runs = { numRuns: 500 };

describe('int literals', () => {
  it('+, - and * match exact integer arithmetic and stay ints', () => {
    fc.assert(
      fc.property(int32, int32, (a, b) => {
        expect(evaluate(`${lit(a)} + ${lit(b)}`)).toBe(a + b);
        expect(evaluate(`${lit(a)} - ${lit(b)}`)).toBe(a - b);
        expect(evaluate(`${lit(a)} * ${lit(b)}`)).toBe(Number(BigInt(a) * BigInt(b)));
        expect(evaluate(`type(${lit(a)} * ${lit(b)})`)).toBe('int');
        expect(evaluate(`${lit(a)} + ${lit(b)} == ${lit(b)} + ${lit(a)}`)).toBe(true);
      }),
      runs,
    );
  });

  it('comparisons match JS', () => {
    fc.assert(
      fc.property(int32, int32, (a, b) => {
        expect(evaluate(`${lit(a)} < ${lit(b)}`)).toBe(a < b);
        expect(evaluate(`${lit(a)} <= ${lit(b)}`)).toBe(a <= b);
        expect(evaluate(`${lit(a)} == ${lit(b)}`)).toBe(a === b);
        expect(evaluate(`(${lit(a)} < ${lit(b)}) == !(${lit(a)} >= ${lit(b)})`)).toBe(true);
      }),
      runs,
    );
  });

  it('/ is float division, % is truncated int remainder', () => {
    fc.assert(
      fc.property(
        int32,
        int32.filter((b) => b !== 0),
        (a, b) => {
          expect(evaluate(`${lit(a)} / ${lit(b)}`)).toBe(a / b);
          expect(evaluate(`type(${lit(a)} / ${lit(b)})`)).toBe('float');
          expect(evaluate(`${lit(a)} % ${lit(b)}`)).toBe(Number(BigInt(a) % BigInt(b)));
          expect(evaluate(`type(${lit(a)} % ${lit(b)})`)).toBe('int');
        },
      ),
      runs,
    );
  });

  it('int64 results wrap around like Go ints, never rounded', () => {
    const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    fc.assert(
      fc.property(int64, int64, fc.constantFrom('+', '-', '*'), (a, b, op) => {
        const exact = op === '+' ? a + b : op === '-' ? a - b : a * b;
        expect(evaluate(`a ${op} b == c`, { a, b, c: BigInt.asIntN(64, exact) })).toBe(true);
        expect(evaluate(`type(a ${op} b)`, { a, b })).toBe('int');
      }),
      runs,
    );
  });
});

describe('floats from the environment', () => {
  const double = fc.double();

  it('arithmetic and comparisons are IEEE double operations', () => {
    fc.assert(
      fc.property(double, double, (x, y) => {
        const env = { x, y };
        expect(evaluate('x + y', env)).toEqual(x + y);
        expect(evaluate('x * y', env)).toEqual(x * y);
        expect(evaluate('x / y', env)).toEqual(x / y);
        expect(evaluate('x < y', env)).toBe(x < y);
        expect(evaluate('x >= y', env)).toBe(x >= y);
        expect(evaluate('x == y', env)).toBe(x === y);
        expect(evaluate('type(x)', env)).toBe('float');
      }),
      runs,
    );
  });

  it('string() formats like Go %v and round-trips', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = evaluate('string(x)', { x }) as string;
        expect(Number(s)).toBe(x);
        const exp = Number(x.toExponential().split('e')[1]);
        expect(s.includes('e')).toBe(x !== 0 && (exp < -4 || exp >= 6));
      }),
      runs,
    );
  });

  it('mixed int / float comparisons compare values', () => {
    fc.assert(
      fc.property(int32, fc.double({ noNaN: true }), (a, x) => {
        expect(evaluate(`${lit(a)} < x`, { x })).toBe(a < x);
        expect(evaluate(`${lit(a)} == x`, { x })).toBe(a === x);
      }),
      runs,
    );
  });
});

describe('strings', () => {
  const ascii = fc.string({ unit: fc.constantFrom('a', 'b', 'B', 'z', '0', ' ', '~'), maxLength: 8 });

  it('concatenation, ordering, length and containment match JS on ASCII', () => {
    fc.assert(
      fc.property(ascii, ascii, (s, t) => {
        const env = { s, t };
        expect(evaluate('s + t', env)).toBe(s + t);
        expect(evaluate('s < t', env)).toBe(s < t);
        expect(evaluate('s == t', env)).toBe(s === t);
        expect(evaluate('len(s + t)', env)).toBe(s.length + t.length);
        expect(evaluate('s contains t', env)).toBe(s.includes(t));
        expect(evaluate('s startsWith t', env)).toBe(s.startsWith(t));
        expect(evaluate('split(s, " ")', env)).toEqual(s.split(' '));
      }),
      runs,
    );
  });

  it('literals round-trip through escaping', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        // JSON escapes are a subset of expr's; JSON.stringify never writes the `\/` escape.
        expect(evaluate(JSON.stringify(s))).toBe(s);
      }),
      runs,
    );
  });
});

describe('arrays', () => {
  const ints = fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 20 });

  it('builtins agree with their JS counterparts', () => {
    fc.assert(
      fc.property(ints, fc.integer({ min: -1000, max: 1000 }), (xs, k) => {
        const env = { xs, k };
        expect(evaluate('len(xs)', env)).toBe(xs.length);
        expect(evaluate('sum(xs)', env)).toBe(xs.reduce((a, b) => a + b, 0));
        expect(evaluate('filter(xs, # > k)', env)).toEqual(xs.filter((x) => x > k));
        expect(evaluate('map(xs, # * 2)', env)).toEqual(xs.map((x) => x * 2));
        expect(evaluate('all(xs, # > k)', env)).toBe(xs.every((x) => x > k));
        expect(evaluate('any(xs, # > k)', env)).toBe(xs.some((x) => x > k));
        expect(evaluate('count(xs, # > k)', env)).toBe(xs.filter((x) => x > k).length);
        expect(evaluate('k in xs', env)).toBe(xs.includes(k));
        expect(evaluate('sort(xs)', env)).toEqual([...xs].sort((a, b) => a - b));
        expect(evaluate('xs[1:3]', env)).toEqual(xs.slice(1, 3));
        if (xs.length > 0) {
          expect(evaluate('max(xs)', env)).toBe(Math.max(...xs));
          expect(evaluate('xs[-1]', env)).toBe(xs[xs.length - 1]);
        }
      }),
      runs,
    );
  });
});
