import { describe, expect, it } from 'vitest';
import { compileJsonPath, JsonPathError } from './jsonpath.js';

const doc = {
  data: { ok: true, successPercent: 0.95, 'a.b': 'dotted', nothing: null },
  items: [
    { name: 'a', status: 'up', latency: 120, labels: { tier: 'web' } },
    { name: 'b', status: 'down', latency: 80 },
    { name: 'c', status: 'up', latency: 300, labels: { tier: 'db' } },
  ],
  empty: [],
  matrix: [
    [1, 2],
    [3, 4],
  ],
  nested: { deep: { name: 'inner' }, name: 'outer' },
};

// Every row was run through k8s.io/client-go/util/jsonpath v0.31.0 (FindResults on the same document):
// same values and error texts, except where jsonpath.ts says it differs (object order; the lenient
// filters marked below; refusals of text outside one {…}; Go's type names in "is not an array").
describe('compileJsonPath: selections (client-go semantics, first value is what Argo takes)', () => {
  const rows: [string, unknown[]][] = [
    ['{$}', [doc]],
    ['{}', [doc]],
    ['{$.data.ok}', [true]],
    ['{.data.ok}', [true]],
    ['{.data.successPercent}', [0.95]],
    ['{.data.nothing}', [null]],
    ['{.data}', [doc.data]],
    ["{.items[0]['labels.tier']}", ['web']],
    ['{.data.a\\.b}', ['dotted']],
    ["{.data['ok','successPercent']}", [true, 0.95]],
    ['{$.items[0].name}', ['a']],
    ['{.items[-1].name}', ['c']],
    ['{.items[0,2].name}', ['a', 'c']],
    ['{.items[*].name}', ['a', 'b', 'c']],
    ['{.items[1:3].name}', ['b', 'c']],
    ['{.items[:2].name}', ['a', 'b']],
    ['{.items[::2].name}', ['a', 'c']],
    ['{.items[1:1]}', []],
    ['{.empty[*]}', []],
    ['{.empty[*].name}', []],
    ['{.matrix[*][1]}', [2, 4]],
    ['{.data.*}', [true, 0.95, 'dotted', null]],
    ['{.items[*].labels.tier}', ['web', 'db']],
    ['{..tier}', ['web', 'db']],
    ['{..name}', ['a', 'b', 'c', 'outer', 'inner']],
    ['{.items[?(@.status == "up")].name}', ['a', 'c']],
    ["{.items[?(@.status=='down')].name}", ['b']],
    ['{.items[?(@.status != "up")].name}', ['b']],
    ['{.items[?(@.latency > 100.0)].name}', ['a', 'c']],
    ['{.items[?(@.labels)].name}', ['a', 'c']],
    // lenient (client-go: "incompatible types for comparison" / "labels is not found"):
    ['{.items[?(@.latency <= 120)].name}', ['a', 'b']],
    ['{.items[?(@.labels.tier == "db")].latency}', [300]],
    ['  {$.data.ok}  ', [true]],
  ];
  it.each(rows)('%s', (path, want) => {
    expect(compileJsonPath(path).find(doc)).toEqual(want);
  });
});

describe('compileJsonPath: errors', () => {
  const rows: [string, RegExp][] = [
    ['{.data.missing}', /^missing is not found$/],
    ['{.items[*].missing}', /^missing is not found$/],
    ['{.items[5]}', /array index out of bounds: index 5, length 3/],
    ['{.items[-4]}', /array index out of bounds: index -1, length 3/],
    ['{.items[1:9]}', /array index out of bounds: index 8, length 3/],
    ['{.items[2:1]}', /starting index 2 is greater than ending index 1/],
    ['{.items[::0]}', /step must be > 0/],
    ['{.data[0]}', /object is not an array/],
    ['{.data[?(@.x)]}', /object is not an array and cannot be filtered/],
    ['{.data.ok.more}', /more is not found/],
    ["{.data['a.b']}", /^a is not found$/],
  ];
  it.each(rows)('%s evaluates to an error', (path, want) => {
    const p = compileJsonPath(path);
    expect(() => p.find(doc)).toThrow(JsonPathError);
    expect(() => p.find(doc)).toThrow(want);
  });

  const syntax: [string, RegExp][] = [
    ['$.data.ok', /must be one \{…\} expression/],
    ['data.ok', /must be one \{…\} expression/],
    ['{$.a} and {$.b}', /unexpected|expected/],
    ['{.}', /a field name is missing after "\."/],
    ['{$.data.}', /a field name is missing after "\."/],
    ['{.data["a.b"]}', /names in brackets take single quotes/],
    ['{data.ok}', /expected \$, \. or \[/],
    ['{.items[}', /expected an index/],
    ["{.data['ok}", /unterminated string/],
    ['{.items[?(@.x == )]}', /expected a number/],
    ['{range .items[*]}{.name}{end}', /"range" is not supported/],
    [`{${'.a'.repeat(600)}}`, /longer than 1000/],
  ];
  it.each(syntax)('%s does not compile', (path, want) => {
    expect(() => compileJsonPath(path)).toThrow(JsonPathError);
    expect(() => compileJsonPath(path)).toThrow(want);
  });
});

describe('compileJsonPath: bounded work', () => {
  it('a huge document under recursive descent stops at the visit budget', () => {
    const big = { xs: Array.from({ length: 200_000 }, (_, i) => ({ i })) };
    expect(() => compileJsonPath('{..i}').find(big)).toThrow(/visits more than 100000 values/);
  });

  it('deep nesting is walked without recursion', () => {
    let deep: unknown = { name: 'bottom' };
    for (let i = 0; i < 20_000; i++) deep = { next: deep };
    expect(compileJsonPath('{..name}').find(deep)).toEqual(['bottom']);
  });
});
