import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { AnalysisRun, AnalysisTemplate, Metric } from '../../api/argo/analysis.js';
import {
  buildAnalysisRun,
  evaluateResult,
  isCompleted,
  type Observation,
  reconcileAnalysisRun,
  resolveMetricArgs,
} from '../../engine/analysis/index.js';
import {
  closedPort,
  type Exporter,
  type PrometheusServer,
  promQuery,
  selfSignedCert,
  startExporter,
  startHttpServer,
  startPrometheus,
  TEST_PASSWORD,
  TEST_PASSWORD_BCRYPT,
  type TestServer,
  waitForData,
} from '../../testing/prometheus.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { carryOutMeasurements, type MetricProvider, ProviderRegistry } from '../provider.js';
import {
  argoQuery,
  argoResult,
  type PromData,
  PrometheusProvider,
  parseSampleValue,
  readAnswer,
  safeAddress,
} from './prometheus.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');

// -------------------------------------------------------------------------------------------------
// Result shaping (tables)
// -------------------------------------------------------------------------------------------------

describe('parseSampleValue', () => {
  it.each([
    ['0.95', 0.95],
    ['1', 1],
    ['0', 0],
    ['-0', -0],
    ['1e-05', 1e-5],
    ['-2.5E+3', -2500],
    ['12345678901234567000', 12345678901234567000],
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
  ])('%s -> %s', (text, expected) => {
    expect(Object.is(parseSampleValue(text), expected)).toBe(true);
  });

  it.each([['abc'], [''], [1], [null]])('%j is an error', (text) => {
    expect(() => parseSampleValue(text)).toThrow(/is not a (number|string)/);
  });
});

const v = (value: string, metric: Record<string, string> = {}) => ({
  metric,
  value: [1, value] as [number, string],
});
const m = (values: string[], metric: Record<string, string> = {}) => ({
  metric,
  values: values.map((x, i) => [i, x] as [number, string]),
});

describe('argoResult: what conditions see', () => {
  it.each<[string, PromData, unknown]>([
    ['scalar -> number', { resultType: 'scalar', result: [1, '0.5'] }, 0.5],
    ['scalar NaN stays NaN', { resultType: 'scalar', result: [1, 'NaN'] }, Number.NaN],
    [
      'vector -> numbers',
      { resultType: 'vector', result: [v('0.95', { a: '1' }), v('0.5', { a: '2' })] },
      [0.95, 0.5],
    ],
    ['one-sample vector -> one-element list', { resultType: 'vector', result: [v('0.95')] }, [0.95]],
    ['empty vector -> []', { resultType: 'vector', result: [] }, []],
    [
      'NaN and infinities in a vector',
      { resultType: 'vector', result: [v('NaN'), v('+Inf'), v('-Inf')] },
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ],
    [
      'matrix -> every sample, series after series',
      { resultType: 'matrix', result: [m(['1', '2']), m(['3', 'NaN', '5'])] },
      [1, 2, 3, Number.NaN, 5],
    ],
    ['empty matrix -> []', { resultType: 'matrix', result: [] }, []],
  ])('%s', (_, data, expected) => {
    expect(argoResult(data)).toEqual(expected);
  });

  it.each<[string, PromData, RegExp]>([
    [
      'string results',
      { resultType: 'string', result: [1, 'abc'] },
      /answered a string result; conditions need a scalar, vector or matrix/,
    ],
    [
      'native histograms (vector)',
      { resultType: 'vector', result: [{ metric: {}, histogram: [1, {}] } as never] },
      /native-histogram/,
    ],
    [
      'native histograms (matrix)',
      { resultType: 'matrix', result: [{ metric: {}, histograms: [] } as never] },
      /native-histogram/,
    ],
    [
      'a broken sample',
      { resultType: 'vector', result: [{ metric: {}, value: ['x'] } as never] },
      /vector sample 0 is not a \[time, value\] pair/,
    ],
  ])('%s are errors', (_, data, expected) => {
    expect(() => argoResult(data)).toThrow(expected);
  });

  // The shapes reach Argo's conditions as Argo's do.
  it.each<[string, unknown, string, string]>([
    ['vector, first element', [0.95], 'result[0] > 0.90', 'Successful'],
    ['vector below', [0.8], 'result[0] > 0.90', 'Failed'],
    ['NaN fails a comparison', [Number.NaN], 'result[0] > 0.90', 'Failed'],
    ['isNaN sees NaN', [Number.NaN], 'isNaN(result[0])', 'Successful'],
    ['isInf sees +Inf', [Number.POSITIVE_INFINITY], 'isInf(result[0])', 'Successful'],
    ['empty result indexed is an error', [], 'result[0] > 0.90', 'Error'],
    ['empty result, len', [], 'len(result) == 0', 'Successful'],
    ['scalar compared directly', 0.95, 'result > 0.9', 'Successful'],
    ['flattened matrix, all()', [1, 2, 999], 'all(result, # < 1000)', 'Successful'],
    ['flattened matrix, one too high', [1, 2000], 'all(result, # < 1000)', 'Failed'],
  ])('%s: %s', (_, result, condition, phase) => {
    expect(evaluateResult(result, { successCondition: condition }).phase).toBe(phase);
  });
});

describe('readAnswer', () => {
  it.each([
    [{ status: 'error', errorType: 'bad_data', error: 'parse error' }, /^bad_data: parse error$/],
    [{ status: 'weird' }, /status "weird"/],
    [{ status: 'success' }, /has no data/],
    [{ status: 'success', data: { resultType: 'table', result: [] } }, /unknown result type "table"/],
    [[1, 2], /not a JSON object/],
  ])('%j', (body, expected) => {
    expect(() => readAnswer(body)).toThrow(expected);
  });

  it('keeps warnings and infos', () => {
    const a = readAnswer({
      status: 'success',
      data: { resultType: 'vector', result: [] },
      warnings: ['w1'],
      infos: ['i1'],
    });
    expect(a.warnings).toEqual(['w1', 'i1']);
  });
});

describe('addresses and secrets in messages', () => {
  it.each([
    ['http://prom:9090', 'http://prom:9090'],
    ['http://prom:9090/', 'http://prom:9090'],
    ['https://user:pa55word@prom.example/prometheus/?x=1#f', 'https://prom.example/prometheus/'],
    ['not a url user:secret@host', 'not a url user:secret@host'],
    ['//user:secret@host', '//host'],
  ])('safeAddress(%s) = %s', (address, expected) => {
    expect(safeAddress(address)).toBe(expected);
  });
});

describe('argoQuery: instant and range queries', () => {
  it.each([
    ['instant at now', { query: 'up' }, { query: 'up', time: NOW }],
    [
      'range with expressions',
      { query: 'up', rangeQuery: { start: 'now() - duration("1h")', end: 'now()', step: '1m' } },
      { query: 'up', start: NOW - 3_600_000, end: NOW, stepSeconds: 60 },
    ],
    [
      'range with a fractional step',
      {
        query: 'up',
        rangeQuery: { start: 'now() - duration("90s")', end: 'now() - duration("30s")', step: '1.5s' },
      },
      { query: 'up', start: NOW - 90_000, end: NOW - 30_000, stepSeconds: 1.5 },
    ],
  ])('%s', (_, cfg, expected) => {
    expect(argoQuery(cfg, NOW)).toEqual(expected);
  });

  it.each([
    ['no query', { query: ' ' }, /the metric has no query/],
    ['empty start', { query: 'up', rangeQuery: { end: 'now()', step: '1m' } }, /rangeQuery.start is empty/],
    [
      'start not a time',
      { query: 'up', rangeQuery: { start: '1 + 1', end: 'now()', step: '1m' } },
      /rangeQuery.start "1 \+ 1" is not a time/,
    ],
    [
      'start does not parse',
      { query: 'up', rangeQuery: { start: 'now() -', end: 'now()', step: '1m' } },
      /rangeQuery.start "now\(\) -":/,
    ],
    [
      'no eval: JavaScript is not an expression',
      { query: 'up', rangeQuery: { start: 'process.exit(1)', end: 'now()', step: '1m' } },
      /rangeQuery.start/,
    ],
    [
      'bad step',
      { query: 'up', rangeQuery: { start: 'now()', end: 'now()', step: '1 minute' } },
      /rangeQuery.step "1 minute" is not a positive duration/,
    ],
    [
      'end before start',
      { query: 'up', rangeQuery: { start: 'now()', end: 'now() - duration("1m")', step: '1m' } },
      /end is before/,
    ],
  ])('%s is a clear error', (_, cfg, expected) => {
    expect(() => argoQuery(cfg, NOW)).toThrow(expected);
  });
});

describe('PrometheusProvider configuration errors are Error measurements', () => {
  const metric = (prometheus: Record<string, unknown>): Metric => ({ name: 'm', provider: { prometheus } });
  const auth = (authentication: Record<string, unknown>) => ({
    address: 'http://p:9090',
    query: 'up',
    authentication,
  });
  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'no address',
      { query: 'up' },
      /no Prometheus address: set provider.prometheus.address \(or ARGO_ROLLOUTS_PROMETHEUS_ADDRESS\)/,
    ],
    ['not a URL', { address: 'prometheus:9090', query: 'up' }, /is not an http\(s\) URL/],
    [
      'negative timeout',
      { address: 'http://p:9090', query: 'up', timeout: -1 },
      /timeout must be a non-negative/,
    ],
    [
      'sigv4 profile',
      auth({ sigv4: { region: 'x', profile: 'p' } }),
      /sigv4.profile: reading a shared-config profile is not supported by Vireo; give credentials in AWS_ACCESS_KEY_ID/,
    ],
    [
      'sigv4 roleArn',
      auth({ sigv4: { roleArn: 'arn:aws:iam::1:role/r' } }),
      /sigv4.roleArn: assuming a role is not supported by Vireo/,
    ],
    [
      'sigv4 without credentials',
      auth({ sigv4: { region: 'eu-west-1' } }),
      /sigv4: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    ],
    [
      'oauth2 without a secret',
      auth({ oauth2: { tokenUrl: 'http://idp/token', clientId: 'c' } }),
      /authentication.oauth2 needs clientSecret$/,
    ],
    [
      'oauth2 without anything',
      auth({ oauth2: {} }),
      /authentication.oauth2 needs tokenUrl, clientId, clientSecret$/,
    ],
    [
      'oauth2 token URL',
      auth({ oauth2: { tokenUrl: 'idp/token', clientId: 'c', clientSecret: 's' } }),
      /tokenUrl is not an http\(s\) URL/,
    ],
    [
      'two methods',
      auth({
        basicAuth: { username: 'u', password: 'p' },
        oauth2: { tokenUrl: 'http://i/t', clientId: 'c', clientSecret: 's' },
      }),
      /authentication: set one method, not basicAuth and oauth2/,
    ],
    [
      'an aps-workspaces address is signed (Argo), so it needs credentials',
      { address: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1', query: 'up' },
      /sigv4: no region/,
    ],
  ])('%s', async (_, cfg, expected) => {
    const p = new PrometheusProvider({ defaultAddress: '', env: {} });
    const o = await p.run(metric(cfg), { now: NOW, run: { name: 'r' } });
    expect(o.phase).toBe('Error');
    expect(o.message).toMatch(expected);
  });
});

// -------------------------------------------------------------------------------------------------
// Against a real Prometheus
// -------------------------------------------------------------------------------------------------

const SEED000 = path.join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml');
const TOTAL = 'traefik_service_requests_total';

/** Seed 000's AnalysisTemplate, as written. */
function seedTemplate(): AnalysisTemplate {
  const docs = parseAllDocuments(readFileSync(SEED000, 'utf8')).map((d) => d.toJSON());
  return docs.find((d) => d?.kind === 'AnalysisTemplate') as AnalysisTemplate;
}

/** Seed 000's run for `service`, pointed at `address`. */
function seedRun(service: string, address: string): AnalysisRun {
  const tpl = seedTemplate();
  const built = buildAnalysisRun(
    {
      name: `run-${service}`,
      templates: [{ templateName: 'success-rate' }],
      args: [{ name: 'traefik', value: service }],
    },
    () => tpl,
  );
  if (!built.ok) throw new Error(built.message);
  const run = built.run;
  for (const metric of run.spec.metrics)
    (metric.provider?.prometheus as { address: string }).address = address;
  return run;
}

const registry = () => new ProviderRegistry<MetricProvider>([new PrometheusProvider()]);

/** Drives `run` with real time: reconcile, carry out, feed back, sleep until the requeue. */
async function drive(
  run: AnalysisRun,
  providers: ProviderRegistry<MetricProvider>,
  onObserved: (obs: Observation[], run: AnalysisRun) => Promise<void> | void = () => {},
  limitMs = 30_000,
): Promise<AnalysisRun> {
  const deadline = Date.now() + limitMs;
  let current = run;
  let obs: Observation[] = [];
  for (;;) {
    const now = Date.now();
    const r = reconcileAnalysisRun(current, now, obs);
    current = { ...current, status: r.status };
    if (obs.length > 0) await onObserved(obs, current);
    if (isCompleted(r.status.phase)) return current;
    if (Date.now() > deadline) throw new Error(`run still ${r.status.phase} after ${limitMs} ms`);
    if (r.actions.some((a) => a.type === 'measure' || a.type === 'resume')) {
      obs = await carryOutMeasurements(r.actions, providers, { now, run: { name: 'r' } });
      continue;
    }
    obs = [];
    const requeue = r.actions.find((a) => a.type === 'requeue');
    await new Promise((res) => setTimeout(res, requeue?.type === 'requeue' ? requeue.afterMs : 100));
  }
}

const metricOf = (query: string, extra: Record<string, unknown> = {}, address = ''): Metric => ({
  name: 'q',
  provider: { prometheus: { address, query, ...extra } },
});

describe('PrometheusProvider against a real Prometheus', () => {
  let exporter: Exporter;
  let prom: PrometheusServer;
  const provider = new PrometheusProvider();
  const measure = (metric: Metric, now = Date.now()) => provider.run(metric, { now, run: { name: 'r' } });
  // Prometheus 2.42 scrapes its first target ~5 s after start, and rate() needs two samples: tests
  // that need data wait for it (bounded); the others run meanwhile.
  let ready: Promise<unknown> | undefined;
  const scraped = () =>
    (ready ??= waitForData(
      prom.url,
      `sum(rate(${TOTAL}{traefik="good"}[60s])) and sum(rate(${TOTAL}{traefik="bad"}[60s]))`,
    ));

  beforeAll(async () => {
    exporter = await startExporter();
    // 95 % and 80 % success on two traefik services (seed 000 counts 4xx as failures too).
    exporter.rate(TOTAL, { traefik: 'good', status: '200' }, 95);
    exporter.rate(TOTAL, { traefik: 'good', status: '404' }, 1);
    exporter.rate(TOTAL, { traefik: 'good', status: '500' }, 4);
    exporter.rate(TOTAL, { traefik: 'bad', status: '200' }, 80);
    exporter.rate(TOTAL, { traefik: 'bad', status: '503' }, 20);
    prom = await startPrometheus({ targets: [exporter.target] });
  });
  afterAll(async () => {
    await prom?.close();
    await exporter?.close();
  });

  describe('failures are Error measurements with a clear message', () => {
    let faulty: TestServer;
    let mode = '';
    beforeAll(async () => {
      faulty = await startHttpServer((req, res) => {
        switch (mode) {
          case 'hang':
            return; // never answers
          case '503':
            res.statusCode = 503;
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ status: 'error', errorType: 'unavailable', error: 'too many queries' }));
            return;
          case '502':
            res.statusCode = 502;
            res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
            return;
          case 'garbage':
            res.end('{"status":"success","data":');
            return;
          case 'empty':
            res.end('');
            return;
          case 'post405':
            if (req.method === 'POST') {
              res.statusCode = 405;
              res.end('method not allowed');
            } else
              res.end(
                JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [v('3')] } }),
              );
            return;
          case 'echo401':
            res.statusCode = 401;
            res.end(`bad credentials: ${req.headers.authorization} / ${req.headers['x-api-key']}`);
            return;
        }
      });
    });
    afterAll(() => faulty?.close());

    it('connection refused', async () => {
      const port = await closedPort();
      const o = await measure(metricOf('up', {}, `http://127.0.0.1:${port}`));
      expect(o).toMatchObject({
        phase: 'Error',
        message: `Prometheus at http://127.0.0.1:${port}: connection refused by 127.0.0.1:${port}`,
      });
    });

    it('cannot resolve the host', async () => {
      const o = await measure(metricOf('up', {}, 'http://no-such-host.invalid:9090'));
      expect(o.message).toMatch(
        /^Prometheus at http:\/\/no-such-host\.invalid:9090: host no-such-host\.invalid not found \((ENOTFOUND|EAI_AGAIN)\)$/,
      );
    });

    it('timeout (metric timeout: 1 second)', async () => {
      mode = 'hang';
      const t0 = Date.now();
      const o = await measure(metricOf('up', { timeout: 1 }, faulty.url));
      expect(o.message).toBe(`Prometheus at ${faulty.url}: no answer within 1s`);
      expect(Date.now() - t0).toBeLessThan(3000);
    });

    it.each([
      ['503', /: HTTP 503 Service Unavailable: unavailable: too many queries$/],
      ['502', /: HTTP 502 Bad Gateway: <html><body><h1>502 Bad Gateway<\/h1><\/body><\/html>$/],
      ['garbage', /: the answer is not JSON \(.+\): \{"status":"success","data":$/],
      ['empty', /: the answer is not JSON \(.+\): \(empty body\)$/],
    ])('%s', async (m, expected) => {
      mode = m;
      const o = await measure(metricOf('up', {}, faulty.url));
      expect(o.phase).toBe('Error');
      expect(o.message).toMatch(
        new RegExp(`^Prometheus at ${faulty.url.replace(/[.]/g, '\\.')}${expected.source}`),
      );
    });

    it('a server that refuses POST is asked again with GET', async () => {
      mode = 'post405';
      const before = faulty.requests.length;
      const o = await measure(metricOf('up', {}, faulty.url));
      expect(o.value).toEqual([3]);
      expect(faulty.requests.slice(before).map((r) => r.method)).toEqual(['POST', 'GET']);
    });

    it('credentials never appear in messages, even when the server echoes them', async () => {
      mode = 'echo401';
      const metric = metricOf(
        'up',
        {
          headers: [{ key: 'X-Api-Key', value: 'key-9f8e7d' }],
          authentication: { basicAuth: { username: 'alice', password: 'pw-0a1b2c' } },
        },
        faulty.url.replace('http://', 'http://bob:userinfo-secret@'),
      );
      const o = await measure(metric);
      expect(o.message).toMatch(
        /^Prometheus at http:\/\/127\.0\.0\.1:\d+: HTTP 401 Unauthorized: bad credentials: \*\*\* \/ \*\*\*$/,
      );
      for (const secret of [
        'key-9f8e7d',
        'pw-0a1b2c',
        'userinfo-secret',
        Buffer.from('alice:pw-0a1b2c').toString('base64'),
      ])
        expect(o.message).not.toContain(secret);
      // What was sent: basic auth from the metric (it wins over user info), the header as given.
      const sent = faulty.requests.at(-1)?.headers;
      expect(sent?.authorization).toBe(`Basic ${Buffer.from('alice:pw-0a1b2c').toString('base64')}`);
      expect(sent?.['x-api-key']).toBe('key-9f8e7d');
    });
  });

  describe('TLS and basic auth (a Prometheus with a web config)', () => {
    let secure: PrometheusServer;
    beforeAll(async () => {
      secure = await startPrometheus({
        targets: [exporter.target],
        tls: selfSignedCert(),
        basicAuthUsers: { admin: TEST_PASSWORD_BCRYPT },
      });
    });
    afterAll(() => secure?.close());

    const auth = (password: string) => ({ basicAuth: { username: 'admin', password } });

    it('insecure + basicAuth: the query runs', async () => {
      const o = await measure(
        metricOf('vector(5)', { insecure: true, authentication: auth(TEST_PASSWORD) }, secure.url),
      );
      expect(o.value).toEqual([5]);
    });

    it('user info in the address is basic auth, and is never shown', async () => {
      const ok = await measure(
        metricOf('vector(6)', { insecure: true }, secure.url.replace('https://', 'https://admin:test@')),
      );
      expect(ok.value).toEqual([6]);
      const bad = await measure(
        metricOf(
          'vector(6)',
          { insecure: true },
          secure.url.replace('https://', 'https://admin:wrong-pass@'),
        ),
      );
      expect(bad.message).toMatch(
        new RegExp(`^Prometheus at ${secure.url.replace(/\./g, '\\.')}: HTTP 401 Unauthorized`),
      );
      expect(bad.message).not.toContain('wrong-pass');
    });

    it('a wrong password is an HTTP 401 Error without the password', async () => {
      const o = await measure(
        metricOf('vector(5)', { insecure: true, authentication: auth('not-the-password') }, secure.url),
      );
      expect(o.phase).toBe('Error');
      expect(o.message).toMatch(/HTTP 401 Unauthorized/);
      expect(o.message).not.toContain('not-the-password');
    });

    it('without insecure, a self-signed certificate is refused', async () => {
      const o = await measure(metricOf('vector(5)', { authentication: auth(TEST_PASSWORD) }, secure.url));
      expect(o.message).toMatch(
        /: TLS: self[- ]signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); set insecure: true to skip certificate verification$/,
      );
    });
  });

  describe.skipIf(!hasShared)("seed-000's success-rate template", () => {
    it.each([
      ['good', 0.95, 'Successful'],
      ['bad', 0.8, 'Failed'],
    ])('%s service: ~%s, %s', async (service, expected, phase) => {
      await scraped();
      const run = seedRun(service, prom.url);
      const first = reconcileAnalysisRun(run, Date.now());
      const obs = await carryOutMeasurements(first.actions, registry(), {
        now: Date.now(),
        run: { name: 'r' },
      });
      expect(obs).toHaveLength(1);
      const value = obs[0]?.value as number[];
      expect(value).toHaveLength(1);
      expect(value[0]).toBeCloseTo(expected, 6);
      const next = reconcileAnalysisRun({ ...run, status: first.status }, Date.now(), obs);
      const measurement = next.status.metricResults?.[0]?.measurements?.[0];
      expect(measurement?.phase).toBe(phase);
      expect(JSON.parse(String(measurement?.value))[0]).toBeCloseTo(expected, 6);
    });
  });

  it.each<[string, string, (v: unknown) => void]>([
    ['a vector', 'vector(1)', (v) => expect(v).toEqual([1])],
    ['a scalar', 'scalar(vector(2.5))', (v) => expect(v).toBe(2.5)],
    ['an empty result', 'no_such_metric_anywhere', (v) => expect(v).toEqual([])],
    ['NaN from Prometheus', '0/0', (v) => expect(Number.isNaN(v)).toBe(true)],
    ['+Inf from Prometheus', 'vector(1)/0', (v) => expect(v).toEqual([Number.POSITIVE_INFINITY])],
    ['-Inf from Prometheus', 'vector(-1)/0', (v) => expect(v).toEqual([Number.NEGATIVE_INFINITY])],
    [
      'several series',
      `sum by (status) (rate(${TOTAL}{traefik="good"}[10s]))`,
      (v) => expect((v as number[]).length).toBe(3),
    ],
  ])('%s', async (_, query, check) => {
    if (query.includes(TOTAL)) await scraped();
    const o = await measure(metricOf(query, {}, prom.url));
    expect(o.phase).toBeUndefined();
    check(o.value);
  });

  it('an instant query of a range vector gives every sample, flattened', async () => {
    await waitForData(prom.url, `count_over_time(${TOTAL}{traefik="good",status="200"}[4s]) >= 3`);
    const o = await measure(metricOf(`${TOTAL}{traefik="good",status="200"}[4s]`, {}, prom.url));
    const values = o.value as number[];
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect([...values].sort((a, b) => a - b)).toEqual(values); // one counter: increasing
  });

  it('rangeQuery evaluates start/end with now() and returns the flattened matrix', async () => {
    await waitForData(prom.url, `count_over_time(${TOTAL}{traefik="bad"}[4s]) >= 3`);
    const now = Date.now() - 500;
    const metric = metricOf(
      `${TOTAL}{traefik="bad"}`,
      { rangeQuery: { start: 'now() - duration("3s")', end: 'now()', step: '1s' } },
      prom.url,
    );
    const o = await measure(metric, now);
    // The same range, asked directly: two series of up to 4 points each, one after the other.
    const res = await fetch(
      `${prom.url}/api/v1/query_range?${new URLSearchParams({ query: `${TOTAL}{traefik="bad"}`, start: String((now - 3000) / 1000), end: String(now / 1000), step: '1' })}`,
    );
    const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
    const expected = body.data.result.flatMap((s) => s.values.map((p) => Number(p[1])));
    expect(body.data.result).toHaveLength(2);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(o.value).toEqual(expected);
    expect(evaluateResult(o.value, { successCondition: 'all(result, # >= 0)' }).phase).toBe('Successful');
  });

  it('a string result is an Error measurement', async () => {
    const o = await measure(metricOf('"abc"', {}, prom.url));
    expect(o).toMatchObject({ phase: 'Error', message: expect.stringMatching(/string result/) });
  });

  it("a query Prometheus rejects is an Error with Prometheus' message and the address", async () => {
    const o = await measure(metricOf('sum(rate(x[1m]', {}, prom.url));
    expect(o.phase).toBe('Error');
    expect(o.message).toBe(
      `Prometheus at ${prom.url}: HTTP 400 Bad Request: bad_data: invalid parameter "query": 1:15: parse error: unclosed left parenthesis`,
    );
  });

  it('a range Prometheus refuses (too many points) is an Error', async () => {
    const metric = metricOf(
      'vector(1)',
      { rangeQuery: { start: 'now() - duration("24h")', end: 'now()', step: '1s' } },
      prom.url,
    );
    const o = await measure(metric);
    expect(o.message).toMatch(/HTTP 400 Bad Request: bad_data: exceeded maximum resolution of 11,000 points/);
  });

  it('the address may carry a path prefix (behind a proxy)', async () => {
    const proxy = await startHttpServer(async (req, res) => {
      if (!req.url.startsWith('/prometheus/api/v1/query')) {
        res.statusCode = 404;
        res.end('404 page not found');
        return;
      }
      const upstream = await fetch(`${prom.url}${req.url.slice('/prometheus'.length)}`, {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type'] ?? '') },
        ...(req.method === 'POST' ? { body: req.body } : {}),
      });
      res.statusCode = upstream.status;
      res.end(await upstream.text());
    });
    try {
      const o = await measure(metricOf('vector(7)', {}, `${proxy.url}/prometheus/`));
      expect(o.value).toEqual([7]);
      expect(proxy.requests[0]).toMatchObject({ method: 'POST', url: '/prometheus/api/v1/query' });
      expect(proxy.requests[0]?.body).toMatch(/^query=vector%287%29&time=\d+\.\d{3}$/);
    } finally {
      await proxy.close();
    }
  });

  it('promQuery (harness) and the provider agree', async () => {
    const direct = await promQuery(prom.url, 'vector(42)');
    expect(direct).toHaveLength(1);
    expect((await measure(metricOf('vector(42)', {}, prom.url))).value).toEqual([42]);
  });

  describe('Prometheus stopped mid-analysis, then started again', () => {
    // Last in this file: it stops and starts the shared Prometheus.
    let own: PrometheusServer;
    beforeAll(() => {
      own = prom;
    });

    const run = (extra: Partial<Metric>): AnalysisRun => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisRun',
      metadata: { name: 'stop-start' },
      spec: {
        metrics: [
          {
            name: 'success-rate',
            interval: '500ms',
            successCondition: 'result[0] > 0.90',
            provider: {
              prometheus: {
                address: own.url,
                query: `sum(rate(${TOTAL}{traefik="good",status!~"5.."}[10s])) / sum(rate(${TOTAL}{traefik="good"}[10s]))`,
              },
            },
            ...extra,
          },
        ],
      },
    });

    it('errors while it is down; the run ends in Error after consecutiveErrorLimit', async () => {
      await scraped();
      const phases: string[] = [];
      const final = await drive(run({ consecutiveErrorLimit: 2 }), registry(), async (obs) => {
        for (const o of obs) phases.push(o.phase ?? 'value');
        if (phases.length === 1) await own.stop();
      });
      expect(phases).toEqual(['value', 'Error', 'Error', 'Error']);
      expect(final.status?.phase).toBe('Error');
      expect(final.status?.message).toBe(
        `Metric "success-rate" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2): "Error Message: Prometheus at ${own.url}: connection refused by ${own.url.slice(7)}"`,
      );
      const result = final.status?.metricResults?.[0];
      expect(result).toMatchObject({ phase: 'Error', successful: 1, error: 3, consecutiveError: 3 });
      await own.start();
    });

    it('measurements resume when it is back', async () => {
      await waitForData(own.url, `sum(rate(${TOTAL}{traefik="good"}[10s]))`);
      const seen: string[] = [];
      const final = await drive(run({ count: 3, consecutiveErrorLimit: 10 }), registry(), async (obs, r) => {
        for (const o of obs) seen.push(o.phase ?? 'value');
        const res = r.status?.metricResults?.[0];
        if (seen.length === 1) await own.stop();
        // Back after two errors in a row (the third would not end the run either).
        if (res?.consecutiveError === 2 && !own.running()) {
          await own.start();
          await waitForData(own.url, `sum(rate(${TOTAL}{traefik="good"}[10s]))`);
        }
      });
      expect(seen.slice(0, 3)).toEqual(['value', 'Error', 'Error']);
      expect(final.status?.phase).toBe('Successful');
      expect(final.status?.metricResults?.[0]).toMatchObject({
        successful: 3,
        error: 2,
        consecutiveError: 0,
      });
    });
  });
});

describe('resolveMetricArgs reaches the provider (seed 000 args)', () => {
  it.skipIf(!hasShared)('{{args.traefik}} is filled in before the query is sent', () => {
    const run = seedRun('svc-a', 'http://127.0.0.1:1');
    const metric = resolveMetricArgs(run.spec.metrics[0] as Metric, run.spec.args);
    expect(String((metric.provider?.prometheus as { query?: string } | undefined)?.query)).toContain(
      'traefik="svc-a"',
    );
  });
});
