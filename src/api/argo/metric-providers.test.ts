import { describe, expect, it } from 'vitest';
import { hasShared, type JsonSchema, loadUpstreamCrds } from '../../testing/upstream.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { metricProvider, providerNames } from './metric-providers.js';

const schema = metricProvider() as unknown as SchemaNode;
const check = (provider: unknown) => validateValue(schema, provider, ['provider']);
const errors = (provider: unknown) => check(provider).filter((d) => d.severity === 'error');

describe('provider list', () => {
  it('names every property of the provider schema', () => {
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([...providerNames].sort());
  });

  it.skipIf(!hasShared)('matches the providers of the upstream CRD', () => {
    const at = loadUpstreamCrds('argo-rollouts-crds.yaml').find((c) => c.kind === 'AnalysisTemplate');
    const upstream = at?.schema.properties?.spec?.properties?.metrics?.items?.properties
      ?.provider as JsonSchema;
    expect(Object.keys(upstream.properties ?? {}).sort()).toEqual([...providerNames].sort());
  });
});

/** One realistic configuration per provider, from the Argo Rollouts docs. */
const examples: [string, unknown][] = [
  [
    'prometheus',
    {
      address: 'http://prometheus.example.com:9090',
      query: 'sum(irate(istio_requests_total{reporter="source"}[5m]))',
      timeout: 20,
      insecure: true,
      headers: [{ key: 'X-Scope-OrgID', value: 'tenant_a' }],
      authentication: { sigv4: { region: 'us-east-1', profile: 'p', roleArn: 'arn:aws:iam::1:role/r' } },
      rangeQuery: { start: 'now() - duration("1h")', end: 'now()', step: '1m' },
    },
  ],
  [
    'prometheus with basic auth (Argo master)',
    { query: 'up', authentication: { basicAuth: { username: 'u', password: 'p' } } },
  ],
  [
    'datadog',
    {
      apiVersion: 'v2',
      interval: '5m',
      queries: { a: 'sum:requests.error.rate{service:x}', b: 'sum:requests.request.rate{service:x}' },
      formula: 'a / b',
      aggregator: 'avg',
      secretRef: { name: 'dd-secret', namespaced: true },
    },
  ],
  [
    'newRelic',
    {
      profile: 'my-newrelic-secret',
      query: 'FROM Transaction SELECT percentage(count(*), WHERE httpResponseCode != 500)',
      timeout: 10,
    },
  ],
  ['wavefront', { address: 'example.wavefront.com', query: 'sum(rate(5m, ts("istio.requestcount.count")))' }],
  [
    'kayenta',
    {
      address: 'https://kayenta.example.com',
      application: 'guestbook',
      canaryConfigName: 'my-test',
      metricsAccountName: 'wavefront-prod',
      configurationAccountName: 'intuit-kayenta',
      storageAccountName: 'intuit-kayenta',
      threshold: { pass: 90, marginal: 75 },
      scopes: [
        {
          name: 'default',
          controlScope: {
            scope: 'app=guestbook',
            region: 'us-west-2',
            step: 60,
            start: '2019-03-29T01:08:34Z',
            end: '2019-03-29T01:38:34Z',
          },
          experimentScope: { scope: 'app=guestbook', region: 'us-west-2', step: 60 },
        },
      ],
      lookback: true,
    },
  ],
  [
    'web',
    {
      method: 'POST',
      url: 'http://my-server.com/api/v1/measurement?service={{ args.service-name }}',
      headers: [{ key: 'Content-Type', value: 'application/json' }],
      jsonBody: { key1: 'value_1', key2: { nestedObj: 'nested value' } },
      timeoutSeconds: 20,
      jsonPath: '{$.data.ok}',
      insecure: false,
      authentication: { oauth2: { tokenUrl: 'https://t', clientId: 'c', clientSecret: 's', scopes: ['a'] } },
    },
  ],
  [
    'job',
    {
      metadata: { annotations: { a: 'b' }, labels: { c: 'd' } },
      spec: {
        backoffLimit: 1,
        template: {
          spec: {
            containers: [{ name: 'test', image: 'my-image:latest', command: ['my-test'] }],
            restartPolicy: 'Never',
          },
        },
        podReplacementPolicy: 'Failed',
      },
    },
  ],
  [
    'cloudWatch',
    {
      interval: '1m',
      metricDataQueries: [
        {
          id: 'rate',
          expression: 'errors / requests',
          label: 'error rate',
          returnData: true,
        },
        {
          id: 'errors',
          metricStat: {
            metric: { namespace: 'app', metricName: 'errors', dimensions: [{ name: 'svc', value: 'x' }] },
            period: 300,
            stat: 'Sum',
            unit: 'Count',
          },
          period: '300',
          returnData: false,
        },
      ],
    },
  ],
  [
    'graphite',
    { address: 'http://graphite.example.com:9090', query: 'target=summarize(asPercent(x), "5min", "avg")' },
  ],
  ['influxdb', { profile: 'my-influxdb-secret', query: 'from(bucket: "app_istio") |> range(start: -15m)' }],
  [
    'skywalking',
    {
      address: 'http://skywalking-oap.istio-system:12800',
      query: 'query queryData($duration: Duration!) {}',
      interval: '5m',
    },
  ],
  ['plugin', { 'argoproj-labs/sample-prometheus': { address: 'http://prometheus:9090', query: 'up' } }],
];

describe('each provider accepts its documented configuration', () => {
  it.each(examples)('%s', (name, config) => {
    const key = name.split(' ')[0] as string;
    expect(check({ [key]: config })).toEqual([]);
  });
});

const withoutKey = (o: unknown, key: string) =>
  Object.fromEntries(Object.entries(o as object).filter(([k]) => k !== key));

describe('provider schemas reject what upstream rejects', () => {
  it.each([
    ['web without url', { web: {} }, ['provider', 'web', 'url']],
    ['newRelic without query', { newRelic: { profile: 'p' } }, ['provider', 'newRelic', 'query']],
    ['job without spec', { job: {} }, ['provider', 'job', 'spec']],
    [
      'job spec without template',
      { job: { spec: { backoffLimit: 1 } } },
      ['provider', 'job', 'spec', 'template'],
    ],
    [
      'cloudWatch without queries',
      { cloudWatch: { interval: '1m' } },
      ['provider', 'cloudWatch', 'metricDataQueries'],
    ],
    [
      'kayenta without threshold',
      { kayenta: withoutKey(examples[5]![1], 'threshold') },
      ['provider', 'kayenta', 'threshold'],
    ],
    [
      'datadog bad apiVersion',
      { datadog: { query: 'q', apiVersion: 'v3' } },
      ['provider', 'datadog', 'apiVersion'],
    ],
    [
      'datadog bad aggregator',
      { datadog: { query: 'q', aggregator: 'median' } },
      ['provider', 'datadog', 'aggregator'],
    ],
    [
      'web method that is not a string',
      { web: { url: 'http://x', method: 1 } },
      ['provider', 'web', 'method'],
    ],
    [
      'web timeout as a string',
      { web: { url: 'http://x', timeoutSeconds: '10' } },
      ['provider', 'web', 'timeoutSeconds'],
    ],
    [
      'prometheus header without value',
      { prometheus: { query: 'q', headers: [{ key: 'a' }] } },
      ['provider', 'prometheus', 'headers', 0, 'value'],
    ],
    ['unknown provider', { stackdriver: {} }, ['provider', 'stackdriver']],
  ])('%s', (_name, provider, path) => {
    expect(errors(provider).map((d) => d.path)).toEqual([path]);
  });

  it('keeps unknown JobSpec and authentication fields', () => {
    const provider = {
      job: {
        spec: { template: { spec: { containers: [{ name: 'a', image: 'busybox' }] } }, someFutureField: 1 },
      },
    };
    expect(errors(provider)).toEqual([]);
    expect(errors({ prometheus: { query: 'q', authentication: { google: {} } } })).toEqual([]);
  });

  it('documents the web and datadog defaults', () => {
    const web = schema.properties?.web?.properties;
    expect(web?.timeoutSeconds?.default).toBe(10);
    expect(web?.method?.default).toBe('GET');
    expect(web?.jsonPath?.default).toBe('{$}');
    const dd = schema.properties?.datadog?.properties;
    expect(dd?.apiVersion?.default).toBe('v1');
    expect(dd?.interval?.default).toBe('5m');
  });
});
