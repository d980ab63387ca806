import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../kind.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { MetricTemplateSchema, metricTemplateRules } from './metric-template.js';

const validTemplate = (): ManifestObject => ({
  apiVersion: 'flagger.app/v1beta1',
  kind: 'MetricTemplate',
  metadata: { name: 'not-found-percentage', namespace: 'istio-system' },
  spec: {
    provider: { type: 'prometheus', address: 'http://prometheus.istio-system:9090' },
    query:
      '100 - sum(rate(istio_requests_total{response_code!="404"}[{{ interval }}])) / sum(rate(istio_requests_total[{{ interval }}])) * 100',
  },
});

type O = Record<string, unknown>;
/** The nested object at `keys` (test data only: assumes it exists). */
const at = (o: unknown, ...keys: (string | number)[]): O =>
  keys.reduce<unknown>((x, k) => (x as O)[k], o) as O;
const lint = (o: ManifestObject) => metricTemplateRules.flatMap((r) => r(o, { objects: [o] }));

describe('MetricTemplate rules', () => {
  it('report nothing for a valid template, which also passes the schema', () => {
    expect(lint(validTemplate())).toEqual([]);
    expect(validateValue(MetricTemplateSchema as unknown as SchemaNode, validTemplate())).toEqual([]);
  });

  it.each([
    {
      name: 'unknown provider type',
      mutate: (o: ManifestObject) => (at(o, 'spec', 'provider').type = 'prom'),
      code: 'flagger/metric-provider-type',
      path: ['spec', 'provider', 'type'],
    },
    {
      name: 'missing provider type',
      mutate: (o: ManifestObject) => delete at(o, 'spec', 'provider').type,
      code: 'flagger/metric-provider-type',
      path: ['spec', 'provider', 'type'],
    },
    {
      name: 'missing query',
      mutate: (o: ManifestObject) => delete at(o, 'spec').query,
      code: 'flagger/metric-template-query',
      path: ['spec', 'query'],
    },
    {
      name: 'blank query',
      mutate: (o: ManifestObject) => (at(o, 'spec').query = '  \n'),
      code: 'flagger/metric-template-query',
      path: ['spec', 'query'],
    },
    {
      name: 'prometheus without address',
      mutate: (o: ManifestObject) => delete at(o, 'spec', 'provider').address,
      code: 'flagger/metric-provider-address',
      path: ['spec', 'provider', 'address'],
    },
    {
      name: 'graphite without address',
      mutate: (o: ManifestObject) => (at(o, 'spec').provider = { type: 'graphite' }),
      code: 'flagger/metric-provider-address',
      path: ['spec', 'provider', 'address'],
    },
    {
      name: 'address without scheme',
      mutate: (o: ManifestObject) => (at(o, 'spec', 'provider').address = 'prometheus:9090'),
      code: 'flagger/metric-provider-address-url',
      path: ['spec', 'provider', 'address'],
      severity: 'warning',
    },
    {
      name: 'cloudwatch without region',
      mutate: (o: ManifestObject) => (at(o, 'spec').provider = { type: 'cloudwatch' }),
      code: 'flagger/metric-provider-region',
      path: ['spec', 'provider', 'region'],
    },
  ])('$name → $code', ({ mutate, code, path, severity }) => {
    const o = validTemplate();
    mutate(o);
    const found = lint(o);
    expect(found.map((d) => ({ code: d.code, path: d.path }))).toEqual([{ code, path }]);
    expect(found[0]?.severity).toBe(severity ?? 'error');
  });

  it('datadog needs no address (it has a default host)', () => {
    const o = validTemplate();
    at(o, 'spec').provider = { type: 'datadog', secretRef: { name: 'datadog' } };
    expect(lint(o)).toEqual([]);
  });

  it('never throw on odd input', () => {
    for (const s of [undefined, null, 1, 'x', [], { provider: 'x' }, { provider: { type: 5 }, query: 3 }]) {
      const o = { ...validTemplate(), spec: s };
      expect(() => lint(o)).not.toThrow();
    }
  });

  it('schema rejects a provider type outside the upstream enum', () => {
    const o = validTemplate();
    at(o, 'spec', 'provider').type = 'victoriametrics';
    expect(
      validateValue(MetricTemplateSchema as unknown as SchemaNode, o).map((d) => [d.code, d.path]),
    ).toEqual([['enum', ['spec', 'provider', 'type']]]);
  });
});
