import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { hasShared, sharedDir } from '../testing/upstream.js';
import { structuralViolations } from './structural.js';

const ok = {
  type: 'object',
  properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
};

describe('structuralViolations', () => {
  it('accepts a plain structural schema', () => {
    expect(structuralViolations(ok)).toEqual([]);
  });

  it.each([
    ['missing type', { type: 'object', properties: { a: { description: 'x' } } }, 'a: type is required'],
    [
      '$ref',
      { type: 'object', properties: { a: { type: 'string', $ref: '#/x' } } },
      'a: "$ref" is not allowed',
    ],
    [
      'const',
      { type: 'object', properties: { a: { type: 'string', const: 'x' } } },
      'a: "const" is not allowed',
    ],
    [
      'patternProperties',
      { type: 'object', patternProperties: {} },
      '(root): "patternProperties" is not allowed',
    ],
    [
      'properties with additionalProperties',
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
      'mutually exclusive',
    ],
    ['additionalProperties false', { type: 'object', additionalProperties: false }, 'must not be false'],
    [
      'typed anyOf branch',
      { type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'integer' }] } } },
      'a: type is required',
    ],
    [
      'description inside anyOf',
      { type: 'object', properties: { a: { type: 'string', anyOf: [{ description: 'x' }] } } },
      'not allowed inside anyOf',
    ],
    [
      'unknown keyword',
      { type: 'object', properties: { a: { type: 'string', foo: 1 } } },
      '"foo" is not a field',
    ],
    ['bad type', { type: 'object', properties: { a: { type: 'null' } } }, 'is not one of'],
    [
      'array without items',
      { type: 'object', properties: { a: { type: 'array' } } },
      'needs a single items schema',
    ],
    [
      'metadata restricted',
      {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
      },
      'only metadata.name',
    ],
    [
      'int-or-string with a type',
      { type: 'object', properties: { a: { type: 'string', 'x-kubernetes-int-or-string': true } } },
      'x-kubernetes-int-or-string must have no type',
    ],
    [
      'preserve false',
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': false },
      'must be true or absent',
    ],
    ['uniqueItems', { type: 'array', items: { type: 'string' }, uniqueItems: true }, 'uniqueItems'],
  ])('rejects %s', (_name, schema, expected) => {
    const v = structuralViolations(schema as Record<string, unknown>);
    expect(v.join('\n')).toContain(expected);
  });

  it('accepts int-or-string and preserve-unknown-fields nodes without type', () => {
    expect(
      structuralViolations({
        type: 'object',
        properties: {
          a: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
          b: { 'x-kubernetes-preserve-unknown-fields': true },
        },
      }),
    ).toEqual([]);
  });
});

describe.skipIf(!hasShared)('the checker agrees with the API server on real CRDs', () => {
  // The upstream CRDs are accepted by real API servers, so the checker must find nothing in them.
  const files = hasShared ? readdirSync(path.join(sharedDir, 'crds')).filter((f) => f.endsWith('.yaml')) : [];
  it.each(files)('%s is structural', (file) => {
    const text = readFileSync(path.join(sharedDir, 'crds', file), 'utf8');
    let n = 0;
    // js-yaml, like kubectl's go-yaml, accepts the loosely indented quoted descriptions in Flagger's CRD.
    for (const doc of loadAll(text)) {
      const crd = doc as {
        spec?: { versions?: { schema?: { openAPIV3Schema: Record<string, unknown> } }[] };
      };
      for (const v of crd?.spec?.versions ?? []) {
        if (!v.schema) continue;
        n++;
        expect(structuralViolations(v.schema.openAPIV3Schema)).toEqual([]);
      }
    }
    expect(n).toBeGreaterThan(0);
  });
});
