import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  closedPort,
  type Exporter,
  type PrometheusServer,
  startExporter,
  startHttpServer,
  startPrometheus,
  waitForData,
} from '../../testing/prometheus.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import type { ResolvedCheck } from '../provider.js';
import {
  BUILTIN_QUERIES,
  builtinQuery,
  type CanaryScope,
  FlaggerBuiltinCheckProvider,
  FlaggerPrometheusCheckProvider,
  flaggerValue,
  NO_VALUES_FOUND,
  type Observer,
  observerFor,
  renderBuiltinQuery,
  templateModel,
  templateTarget,
} from './flagger-prometheus.js';
import { realCheckProviders, realMetricProviders } from './index.js';
import type { PromData } from './prometheus.js';

const v = (value: string) => ({ metric: {}, value: [1, value] as [number, string] });

describe('flaggerValue: the value of a check', () => {
  it.each<[string, PromData, number | RegExp]>([
    ['one sample', { resultType: 'vector', result: [v('99.5')] }, 99.5],
    ['several series: the first', { resultType: 'vector', result: [v('1'), v('2')] }, 1],
    ['a scalar', { resultType: 'scalar', result: [1, '3'] }, 3],
    ['+Inf is a value', { resultType: 'vector', result: [v('+Inf')] }, Number.POSITIVE_INFINITY],
    ['empty', { resultType: 'vector', result: [] }, /^no values found$/],
    ['NaN (0/0: no traffic)', { resultType: 'vector', result: [v('NaN')] }, /^no values found$/],
    ['scalar NaN', { resultType: 'scalar', result: [1, 'NaN'] }, /^no values found$/],
    ['empty matrix', { resultType: 'matrix', result: [] }, /^no values found$/],
    [
      'a matrix',
      { resultType: 'matrix', result: [{ values: [[1, '1']] }] },
      /range \(matrix\) result; a check needs one value/,
    ],
    ['a string', { resultType: 'string', result: [1, 'x'] }, /string result; a check needs a number/],
  ])('%s', (_, data, expected) => {
    if (expected instanceof RegExp) expect(() => flaggerValue(data)).toThrow(expected);
    else expect(flaggerValue(data)).toBe(expected);
  });
});

describe('observerFor: which series a mesh provider reads', () => {
  it.each([
    ['istio', 'istio'],
    [undefined, 'istio'],
    ['', 'istio'],
    ['linkerd', 'linkerd'],
    ['nginx', 'nginx'],
    ['traefik', 'traefik'],
    ['contour', 'contour'],
    ['gloo', 'gloo'],
    ['gloo:v1', 'gloo'],
    ['appmesh', 'appmesh'],
    ['appmesh:v1beta2', 'appmesh'],
    ['kuma', 'kuma'],
    ['osm', 'osm'],
    ['kubernetes', 'http'],
    ['gatewayapi:v1', 'http'],
    ['gatewayapi:v1beta1', 'http'],
    ['smi:v1alpha3:linkerd', 'istio'],
    ['something-new', 'istio'],
    ['skipper', 'skipper'],
    ['apisix', 'apisix'],
    ['knative', 'knative'],
  ])('%s -> %j', (provider, expected) => {
    expect(observerFor(provider)).toEqual(expected);
  });

  it('a metric that is not builtin says so', () => {
    expect(() => builtinQuery('error-rate', 'istio')).toThrow(/error-rate is not a builtin metric/);
  });
});

describe('renderBuiltinQuery', () => {
  it.each<[string, string, CanaryScope, string]>([
    [
      'skipper: the route id with non-word characters as _ (Flagger encodeModelForSkipper)',
      'skipper',
      { namespace: 'my-ns', target: 'pod.info', ingress: 'pod-ingress' },
      'sum(rate(skipper_serve_route_duration_seconds_sum{route=~"kube(ew)?_my_ns__pod_ingress_canary__.*__pod_info_canary(_[0-9]+)?"}[1m])) / sum(rate(skipper_serve_route_duration_seconds_count{route=~"kube(ew)?_my_ns__pod_ingress_canary__.*__pod_info_canary(_[0-9]+)?"}[1m])) * 1000',
    ],
    [
      'apisix: namespace, route and target',
      'apisix',
      { namespace: 'test', target: 'podinfo', route: 'web' },
      'histogram_quantile(0.99, sum(rate(apisix_http_latency_bucket{type=~"request",route=~"test_web-podinfo-canary_.+"}[1m])) by (le))',
    ],
    [
      'knative: the revision as route',
      'knative',
      { namespace: 'test', target: 'hello', route: 'hello-00002' },
      'histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=~"test/hello-00002"}[1m])) by (le))',
    ],
  ])('%s', (_name, mesh, sc, expected) => {
    expect(renderBuiltinQuery('request-duration', mesh, request({ interval: '1m' }), 'c', sc)).toBe(expected);
  });
});

const scope: CanaryScope = { namespace: 'test', target: 'podinfo' };
const request = (over: Partial<ResolvedCheck> = {}): ResolvedCheck => ({
  name: 'm',
  interval: '10s',
  ...over,
});

describe('templateModel', () => {
  it('service, ingress and route default to the target', () => {
    expect(templateModel(request({ templateVariables: { a: 'b' } }), 'podinfo-canary', scope)).toEqual({
      name: 'podinfo-canary',
      namespace: 'test',
      target: 'podinfo',
      service: 'podinfo',
      ingress: 'podinfo',
      route: 'podinfo',
      interval: '10s',
      variables: { a: 'b' },
    });
  });
  it('and take the names given', () => {
    const m = templateModel(request(), 'c', { ...scope, service: 's', ingress: 'i', route: 'r' });
    expect([m.service, m.ingress, m.route]).toEqual(['s', 'i', 'r']);
  });
});

describe('templateTarget: MetricTemplate provider and Secret', () => {
  const base = { type: 'prometheus', address: 'http://prom:9090' };
  it.each<[string, Record<string, unknown>, Record<string, string> | undefined, unknown]>([
    [
      'no secret',
      base,
      undefined,
      { address: 'http://prom:9090', method: 'GET', timeoutMs: 5000, insecure: false, headers: [] },
    ],
    [
      'token wins',
      { ...base, secretRef: { name: 's' } },
      { token: 't0k', username: 'u', password: 'p' },
      { bearerToken: 't0k' },
    ],
    [
      'username and password',
      { ...base, secretRef: { name: 's' } },
      { username: 'u', password: 'p' },
      { basicAuth: { username: 'u', password: 'p' } },
    ],
    ['insecureSkipVerify', { ...base, insecureSkipVerify: true }, undefined, { insecure: true }],
    [
      'headers (lists joined)',
      { ...base, headers: { 'X-Scope-OrgID': ['a', 'b'] } },
      undefined,
      { headers: [{ key: 'X-Scope-OrgID', value: 'a, b' }] },
    ],
  ])('%s', (_, provider, credentials, expected) => {
    expect(templateTarget(provider, credentials)).toMatchObject(expected as object);
  });

  it.each<[string, Record<string, unknown>, Record<string, string> | undefined, RegExp]>([
    ['no address', { type: 'prometheus' }, undefined, /prometheus address is not set/],
    [
      'secretRef without data',
      { ...base, secretRef: { name: 's' } },
      {},
      /prometheus credentials does not contain a username/,
    ],
    [
      'no password',
      { ...base, secretRef: { name: 's' } },
      { username: 'u' },
      /prometheus credentials does not contain a password/,
    ],
  ])('%s is an error', (_, provider, credentials, expected) => {
    expect(() => templateTarget(provider, credentials)).toThrow(expected);
  });
});

describe('realCheckProviders / realMetricProviders', () => {
  it('register the Prometheus providers', () => {
    expect(realCheckProviders().types()).toEqual(['builtin', 'prometheus']);
    expect(realMetricProviders().types()).toEqual(['job', 'prometheus', 'web']);
  });
});

// -------------------------------------------------------------------------------------------------
// Against a real Prometheus
// -------------------------------------------------------------------------------------------------

const SEED002 = path.join(sharedDir, 'examples', 'seed-002-podinfo-canary.yaml');
const ISTIO = {
  reporter: 'destination',
  destination_workload_namespace: 'test',
  destination_workload: 'podinfo',
};

describe('Flagger checks against a real Prometheus', () => {
  let exporter: Exporter;
  let prom: PrometheusServer;
  const canary = 'podinfo';
  const ctx = (over: Partial<CanaryScope> = {}) => ({
    now: Date.now(),
    canary,
    scope: { ...scope, metricsServer: prom.url, ...over },
  });

  beforeAll(async () => {
    exporter = await startExporter();
    // Istio: 97 ok, 2 not found, 1 server error per second -> success 99 %, 404s 2 %.
    exporter.rate('istio_requests_total', { ...ISTIO, response_code: '200' }, 97);
    exporter.rate('istio_requests_total', { ...ISTIO, response_code: '404' }, 2);
    exporter.rate('istio_requests_total', { ...ISTIO, response_code: '500' }, 1);
    // Latency histogram (ms): 98 % within 100 ms, all within 250 ms -> p99 175 ms.
    for (const [le, perSecond] of [
      ['10', 50],
      ['100', 98],
      ['250', 100],
      ['+Inf', 100],
    ] as const)
      exporter.rate('istio_request_duration_milliseconds_bucket', { ...ISTIO, le }, perSecond);
    // Traefik: the canary's service name only matches Flagger's regex; 90 % non-5xx.
    const svc = { service: 'test-podinfo-canary-a1b2c3@kubernetescrd', le: '+Inf' };
    exporter.rate('traefik_service_request_duration_seconds_bucket', { ...svc, code: '200' }, 9);
    exporter.rate('traefik_service_request_duration_seconds_bucket', { ...svc, code: '502' }, 1);
    exporter.rate(
      'traefik_service_request_duration_seconds_bucket',
      { service: 'test-podinfo-primary-x@kubernetescrd', le: '+Inf', code: '500' },
      50,
    );
    // Skipper: 95 % non-5xx on the canary route (ingress podinfo-ingress -> podinfo_ingress), mean 50 ms.
    const route = { route: 'kube_test__podinfo_ingress_canary__podinfo_example_org____podinfo_canary' };
    exporter.rate('skipper_response_duration_seconds_bucket', { ...route, code: '200', le: '+Inf' }, 19);
    exporter.rate('skipper_response_duration_seconds_bucket', { ...route, code: '503', le: '+Inf' }, 1);
    exporter.rate(
      'skipper_response_duration_seconds_bucket',
      { route: 'kube_test__podinfo_ingress__podinfo_example_org____podinfo', code: '500', le: '+Inf' },
      50,
    );
    exporter.rate('skipper_serve_route_duration_seconds_sum', route, 1);
    exporter.rate('skipper_serve_route_duration_seconds_count', route, 20);
    // APISIX: 80 % non-5xx; latency (ms) 98 % within 100, all within 500 -> p99 300 ms.
    const apisix = { route: 'test_podinfo-podinfo-canary_rule1' };
    exporter.rate('apisix_http_status', { ...apisix, code: '200' }, 8);
    exporter.rate('apisix_http_status', { ...apisix, code: '502' }, 2);
    for (const [le, perSecond] of [
      ['100', 98],
      ['500', 100],
      ['+Inf', 100],
    ] as const)
      exporter.rate('apisix_http_latency_bucket', { ...apisix, type: 'request', le }, perSecond);
    // Knative: the revision's Envoy cluster, 75 % non-5xx.
    const knative = { envoy_cluster_name: 'test/podinfo-00002' };
    exporter.rate('envoy_cluster_upstream_rq', { ...knative, envoy_response_code: '200' }, 3);
    exporter.rate('envoy_cluster_upstream_rq', { ...knative, envoy_response_code: '503' }, 1);
    prom = await startPrometheus({ targets: [exporter.target] });
  });
  // The first scrape comes ~5 s after Prometheus starts: tests that need data wait for it (bounded).
  let ready: Promise<unknown> | undefined;
  const scraped = () =>
    (ready ??= waitForData(
      prom.url,
      'sum(rate(istio_requests_total[10s])) and sum(rate(traefik_service_request_duration_seconds_bucket[10s]))',
    ));
  afterAll(async () => {
    await prom?.close();
    await exporter?.close();
  });

  it("the Secret's token is sent as a bearer token and never shown", async () => {
    const proxy = await startHttpServer(async (req, res) => {
      if (req.headers.authorization !== 'Bearer tok-5ecret') {
        res.statusCode = 401;
        res.end(`token ${req.headers.authorization} rejected`);
        return;
      }
      const upstream = await fetch(`${prom.url}${req.url}`);
      res.end(await upstream.text());
    });
    try {
      const provider = new FlaggerPrometheusCheckProvider();
      const check = request({
        query: 'vector(1)',
        provider: { type: 'prometheus', address: proxy.url, secretRef: { name: 'prom-auth' } },
      });
      expect(await provider.check(check, { ...ctx(), argValues: { token: 'tok-5ecret' } })).toEqual({
        value: 1,
      });
      const bad = await provider.check(check, { ...ctx(), argValues: { token: 'wrong-token' } });
      expect(bad).toEqual({
        error: `Prometheus at ${proxy.url}: HTTP 401 Unauthorized: token Bearer *** rejected`,
      });
    } finally {
      await proxy.close();
    }
  });

  it('template errors and unreachable servers are errors, never values', async () => {
    const provider = new FlaggerPrometheusCheckProvider();
    const missingVar = await provider.check(
      request({ query: 'x{a="{{ variables.nope }}"}', provider: { type: 'prometheus', address: prom.url } }),
      ctx(),
    );
    expect(missingVar).toEqual({
      error: '{{ variables.nope }}: template variable "nope" is not set (templateVariables: none)',
    });
    const port = await closedPort();
    const down = await provider.check(
      request({ query: 'vector(1)', provider: { type: 'prometheus', address: `http://127.0.0.1:${port}` } }),
      ctx(),
    );
    expect(down).toEqual({
      error: `Prometheus at http://127.0.0.1:${port}: connection refused by 127.0.0.1:${port}`,
    });
    const bad = await provider.check(
      request({ query: 'sum(', provider: { type: 'prometheus', address: prom.url } }),
      ctx(),
    );
    expect('error' in bad && bad.error).toMatch(/HTTP 400 Bad Request: bad_data: invalid parameter "query"/);
  });

  it("an inline query goes to the Canary's metrics server", async () => {
    const r = await new FlaggerPrometheusCheckProvider().check(request({ query: 'vector(3)' }), ctx());
    expect(r).toEqual({ value: 3 });
  });

  describe('builtin metrics', () => {
    const builtin = new FlaggerBuiltinCheckProvider();

    it.each<[string, string, Partial<CanaryScope>, number]>([
      ['istio', 'request-success-rate', {}, 99],
      ['traefik', 'request-success-rate', {}, 90],
      ['skipper', 'request-success-rate', { ingress: 'podinfo-ingress' }, 95],
      ['skipper', 'request-duration', { ingress: 'podinfo-ingress' }, 50],
      ['apisix', 'request-success-rate', {}, 80],
      ['apisix', 'request-duration', {}, 300],
      ['knative', 'request-success-rate', { route: 'podinfo-00002' }, 75],
    ])('%s %s', async (mesh, name, over, expected) => {
      await scraped();
      const r = await builtin.check(request({ name }), ctx({ meshProvider: mesh, ...over }));
      const value = 'value' in r ? r.value : Number.NaN;
      if (name === 'request-success-rate') expect(value).toBeCloseTo(expected, 6);
      else {
        // Whole milliseconds, truncated as Flagger does: 49.999… reads 49.
        expect(Number.isInteger(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(expected - 1);
        expect(value).toBeLessThanOrEqual(expected);
      }
    });

    it('istio request-duration: p99 in whole milliseconds', async () => {
      await scraped();
      const r = await builtin.check(request({ name: 'request-duration' }), ctx({ meshProvider: 'istio' }));
      expect('value' in r && r.value).toBeGreaterThanOrEqual(174);
      expect('value' in r && r.value).toBeLessThanOrEqual(175);
      expect(Number.isInteger('value' in r && r.value)).toBe(true);
    });

    it('no traffic for the canary: no values found', async () => {
      const r = await builtin.check(
        request({ name: 'request-success-rate' }),
        ctx({ meshProvider: 'linkerd' }),
      );
      expect(r).toEqual({ error: NO_VALUES_FOUND });
    });

    // Every builtin query, rendered, is PromQL Prometheus accepts (no series: no values found).
    const all = (Object.keys(BUILTIN_QUERIES) as Observer[]).flatMap((o) =>
      (['request-success-rate', 'request-duration'] as const).map((m) => [o, m] as const),
    );
    it.each(all)('%s %s parses', async (observer, metric) => {
      const mesh = observer === 'http' ? 'kubernetes' : observer;
      const query = renderBuiltinQuery(metric, mesh, request({ name: metric }), 'c', {
        namespace: 'nowhere',
        target: 'none',
      });
      expect(query).not.toMatch(/\{\{|\}\}/);
      const res = await fetch(`${prom.url}/api/v1/query?${new URLSearchParams({ query })}`);
      const body = (await res.json()) as { status: string; error?: string };
      expect(body.error).toBeUndefined();
      expect(body.status).toBe('success');
    });
  });

  describe.skipIf(!hasShared)("seed-002's MetricTemplate (404s percentage)", () => {
    const template = () => {
      const docs = parseAllDocuments(readFileSync(SEED002, 'utf8')).map((d) => d.toJSON());
      return docs.find((d) => d?.kind === 'MetricTemplate') as {
        spec: { query: string; provider: Record<string, unknown> };
      };
    };

    it('renders namespace, target and interval and reads ~2 %', async () => {
      await scraped();
      const tpl = template();
      const provider = new FlaggerPrometheusCheckProvider({ addressOverride: prom.url });
      const r = await provider.check(
        request({
          name: '404s percentage',
          query: tpl.spec.query,
          provider: tpl.spec.provider,
          templateRef: { name: 'not-found-percentage', namespace: 'istio-system' },
        }),
        ctx(),
      );
      expect('value' in r && r.value).toBeCloseTo(2, 6);
    });

    it('a target without traffic: no values found', async () => {
      const tpl = template();
      const provider = new FlaggerPrometheusCheckProvider({ addressOverride: prom.url });
      const r = await provider.check(
        request({ query: tpl.spec.query, provider: tpl.spec.provider }),
        ctx({ target: 'idle' }),
      );
      expect(r).toEqual({ error: NO_VALUES_FOUND });
    });
  });

  it('variables and the address of the template; GET with the query collapsed, as Flagger', async () => {
    await scraped();
    const proxy = await startHttpServer(async (req, res) => {
      const upstream = await fetch(`${prom.url}${req.url}`);
      res.statusCode = upstream.status;
      res.end(await upstream.text());
    });
    try {
      const query = `sum(rate(istio_requests_total{
          reporter="{{ variables.reporter }}",
          destination_workload_namespace="{{ namespace }}",
          destination_workload="{{ target }}",
          response_code="{{ variables.code }}"
        }[{{ interval }}]))`;
      const r = await new FlaggerPrometheusCheckProvider().check(
        request({
          query,
          templateVariables: { reporter: 'destination', code: '500' },
          provider: { type: 'prometheus', address: proxy.url },
        }),
        ctx(),
      );
      expect('value' in r && r.value).toBeGreaterThan(0);
      const sent = proxy.requests[0];
      expect(sent?.method).toBe('GET');
      expect(new URL(sent?.url ?? '', 'http://x').searchParams.get('query')).toBe(
        'sum(rate(istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload="podinfo", response_code="500" }[10s]))',
      );
    } finally {
      await proxy.close();
    }
  });
});
