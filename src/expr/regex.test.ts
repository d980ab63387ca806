/**
 * The RE2-style matcher behind `matches`: RE2 syntax cases, and a differential check against
 * JS RegExp on the syntax both engines share (where both must give the same yes/no answer).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRegex, RegexError } from './regex.js';

const noBudget = () => {};
const matches = (pattern: string, input: string): boolean => compileRegex(pattern).test(input, noBudget);

describe('RE2 syntax', () => {
  const cases: [pattern: string, input: string, expected: boolean][] = [
    ['', 'anything', true],
    ['abc', 'xxabcxx', true],
    ['^abc$', 'abc', true],
    ['^abc$', 'abc\n', false], // RE2's $ without (?m) is the end of text only
    ['(?m)^b$', 'a\nb\nc', true],
    ['^b$', 'a\nb\nc', false],
    ['a.c', 'a\nc', false],
    ['(?s)a.c', 'a\nc', true],
    ['(?i)HeLLo', 'hello', true],
    ['(?i:a)b', 'AB', false],
    ['(?i:a)b', 'Ab', true],
    ['a(?i)b|c', 'aB', true],
    ['a(?i)b|c', 'C', true],
    ['(?i)[a-c]+', 'ABC', true],
    ['(?P<year>\\d{4})-(?<month>\\d{2})', '2024-05', true],
    ['\\Aab\\z', 'ab', true],
    ['\\Aab\\z', 'abc', false],
    ['\\bfoo\\b', 'a foo b', true],
    ['\\bfoo\\b', 'afoob', false],
    ['\\Boo\\B', 'afoob', true],
    ['[[:alpha:]]+[[:digit:]]', 'abc1', true],
    ['^[[:^digit:]]+$', 'abc', true],
    ['^[[:^digit:]]+$', 'ab1', false],
    ['[[:alpha:]x:]]', 'a', false], // the class is [alpha x :], then a literal ]
    ['[[:alpha:]x:]]', 'a]', true],
    ['^[[:a]$', ':', true], // no ":]": "[:" is literal, as in Go
    ['\\pL', 'é', true],
    ['\\p{Greek}', 'λ', true],
    ['\\p{Greek}', 'l', false],
    ['\\PL', 'abc', false],
    ['\\p{Lu}', 'aB', true],
    ['\\Qa.b\\E', 'axb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['^a{2,3}$', 'aaa', true],
    ['^a{2,3}$', 'aaaa', false],
    ['^a{2,}$', 'aaaaa', true],
    ['^a{2}$', 'aa', true],
    ['a{,3}', 'a{,3}', true], // not a repeat: literal braces, as in RE2
    ['^a+?$', 'aaa', true],
    ['[]a]', ']', true],
    ['[^]a]', 'b', true],
    ['[a-]', '-', true],
    ['\\x41\\x{263a}', 'A☺', true],
    ['\\101', 'A', true],
    ['\\.', 'a', false],
    ['\\d+\\.\\d+', 'v1.25', true],
    ['\\s', 'a\tb', true],
    ['\\s', 'a\u000bb', false], // RE2's \s has no \v
    ['(a|b)*c', 'ababc', true],
    ['(a*)*b', 'aaab', true],
    ['(|a)+b', 'ab', true],
    ['^$', '', true],
    ['😀+', 'x😀😀', true],
    ['^.$', '😀', true],
  ];

  for (const [pattern, input, expected] of cases) {
    it(`${JSON.stringify(pattern)} on ${JSON.stringify(input)}`, () => {
      expect(matches(pattern, input)).toBe(expected);
    });
  }

  const invalid = [
    '(',
    ')',
    '[a',
    '*a',
    'a**',
    'a*??',
    'a{2}{3}',
    '(?=a)',
    '(?!a)',
    '(?<=a)',
    '(?<!a)',
    '(a)\\1',
    '\\8',
    '(?P<n>a)\\k<n>',
    '(?P=n)',
    '\\y',
    'a{1001}',
    'a{3,2}',
    '[b-a]',
    '\\p{NoSuchScript}',
    '[[:foo:]]',
    '[[:constructor:]]', // longer than any class name; not Object.prototype either
    '[[:^__proto__:]]',
    '[[:alpha :]]',
    '(?x)a',
    'a\\',
  ];
  for (const pattern of invalid) {
    it(`rejects ${JSON.stringify(pattern)}`, () => {
      expect(() => compileRegex(pattern)).toThrow(RegexError);
    });
  }
});

describe('agrees with JS RegExp on shared syntax', () => {
  // Patterns built only from constructs with the same meaning in RE2 and JS (no flags).
  const { pattern } = fc.letrec((tie) => ({
    atom: fc.oneof(
      { maxDepth: 3, withCrossShrink: true },
      fc.constantFrom('a', 'b', 'c', '1', ' ', '.', '[ab]', '[^a]', '[a-c]', '\\d', '\\w', '\\s', '\\.'),
      tie('alternation').map((a) => `(${a as string})`),
      tie('alternation').map((a) => `(?:${a as string})`),
    ),
    piece: fc.oneof(
      fc
        .tuple(tie('atom'), fc.constantFrom('', '', '*', '+', '?', '{1,2}', '{2}', '*?', '+?'))
        .map(([a, q]) => `${a as string}${q}`),
      fc.constantFrom('^', '$', '\\b', '\\B'),
    ),
    concatenation: fc.array(tie('piece'), { maxLength: 4 }).map((p) => (p as string[]).join('')),
    alternation: fc
      .array(tie('concatenation'), { minLength: 1, maxLength: 3 })
      .map((c) => (c as string[]).join('|')),
    pattern: tie('alternation').filter((p) => (p as string).length <= 80),
  }));
  const input = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '1', ' ', '.', '\n'), maxLength: 10 });

  it('gives the same answer as RegExp.test', () => {
    fc.assert(
      fc.property(pattern, input, (p, s) => {
        expect(matches(p as string, s)).toBe(new RegExp(p as string).test(s));
      }),
      // A fixed seed: the reference (JS's backtracking RegExp) can take exponential time on some random
      // nested-quantifier patterns, so a random seed would make this test's run time a lottery.
      { numRuns: 3000, seed: 20261122 },
    );
  });
});
