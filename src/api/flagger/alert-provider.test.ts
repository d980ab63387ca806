import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../kind.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { AlertProviderSchema, alertProviderRules } from './alert-provider.js';

const validProvider = (): ManifestObject => ({
  apiVersion: 'flagger.app/v1beta1',
  kind: 'AlertProvider',
  metadata: { name: 'on-call', namespace: 'flagger' },
  spec: { type: 'slack', channel: 'on-call-alerts', username: 'flagger', secretRef: { name: 'on-call-url' } },
});

type O = Record<string, unknown>;
/** The nested object at `keys` (test data only: assumes it exists). */
const at = (o: unknown, ...keys: (string | number)[]): O =>
  keys.reduce<unknown>((x, k) => (x as O)[k], o) as O;
const lint = (o: ManifestObject) => alertProviderRules.flatMap((r) => r(o, { objects: [o] }));

describe('AlertProvider rules', () => {
  it('report nothing for a valid provider, which also passes the schema', () => {
    expect(lint(validProvider())).toEqual([]);
    expect(validateValue(AlertProviderSchema as unknown as SchemaNode, validProvider())).toEqual([]);
  });

  it('accept an address instead of a secret', () => {
    const o = validProvider();
    delete at(o, 'spec').secretRef;
    at(o, 'spec').address = 'https://hooks.slack.com/services/T000/B000/XXXX';
    expect(lint(o)).toEqual([]);
  });

  it.each([
    {
      name: 'unknown type',
      mutate: (o: ManifestObject) => (at(o, 'spec').type = 'pagerduty'),
      code: 'flagger/alert-provider-type',
      path: ['spec', 'type'],
    },
    {
      name: 'missing type',
      mutate: (o: ManifestObject) => delete at(o, 'spec').type,
      code: 'flagger/alert-provider-type',
      path: ['spec', 'type'],
    },
    {
      name: 'neither address nor secretRef',
      mutate: (o: ManifestObject) => delete at(o, 'spec').secretRef,
      code: 'flagger/alert-provider-address',
      path: ['spec', 'address'],
    },
    {
      name: 'both address and secretRef',
      mutate: (o: ManifestObject) => (at(o, 'spec').address = 'https://hooks.slack.com/services/x'),
      code: 'flagger/alert-provider-address-and-secret',
      path: ['spec', 'secretRef'],
      severity: 'warning',
    },
    {
      name: 'address without scheme',
      mutate: (o: ManifestObject) => {
        delete at(o, 'spec').secretRef;
        at(o, 'spec').address = 'hooks.slack.com/services/x';
      },
      code: 'flagger/alert-provider-url',
      path: ['spec', 'address'],
      severity: 'warning',
    },
    {
      name: 'proxy without scheme',
      mutate: (o: ManifestObject) => (at(o, 'spec').proxy = 'squid:3128'),
      code: 'flagger/alert-provider-url',
      path: ['spec', 'proxy'],
      severity: 'warning',
    },
  ])('$name → $code', ({ mutate, code, path, severity }) => {
    const o = validProvider();
    mutate(o);
    const found = lint(o);
    expect(found.map((d) => ({ code: d.code, path: d.path }))).toEqual([{ code, path }]);
    expect(found[0]?.severity).toBe(severity ?? 'error');
  });

  it('never throw on odd input', () => {
    for (const s of [undefined, null, 1, 'x', [], { type: 3, address: 4, secretRef: null }]) {
      const o = { ...validProvider(), spec: s };
      expect(() => lint(o)).not.toThrow();
    }
  });
});
