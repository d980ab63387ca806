import { describe, expect, it } from 'vitest';
import { measure, modelQuery } from './metrics.js';
import { seededRandom } from './random.js';
import { Traffic } from './traffic.js';

const SEED000 = `sum(
  rate(traefik_service_requests_total{traefik="{{args.traefik}}",status!~"[4-5].*"}[60s]))
  /
  sum(rate(traefik_service_requests_total{traefik="{{args.traefik}}"}[60s])
)`;

describe('modelQuery', () => {
  it.each([
    {
      name: 'success-rate',
      query: SEED000,
      opts: {},
      want: { kind: 'success', roles: ['old', 'new', 'test'], percent: false, rangeMs: 60_000 },
    },
    {
      name: 'request-success-rate',
      query: undefined,
      opts: { flaggerBuiltin: true, intervalMs: 60_000 },
      want: { kind: 'success', roles: ['new', 'test'], percent: true, rangeMs: 60_000 },
    },
    {
      name: 'request-duration',
      query: undefined,
      opts: { flaggerBuiltin: true, intervalMs: 30_000 },
      want: { kind: 'latency', roles: ['new', 'test'], seconds: false, quantile: 0.99, rangeMs: 30_000 },
    },
    {
      name: '404s percentage',
      query:
        '100 - sum(rate(istio_requests_total{destination_workload="{{ target }}",response_code!="404"}[{{ interval }}]))',
      opts: { flaggerTemplate: true, intervalMs: 60_000 },
      want: { kind: 'not-found', roles: ['new', 'test'], percent: true, rangeMs: 60_000 },
    },
    {
      name: 'p95',
      query:
        'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{pod=~".*-canary-.*"}[5m])) by (le))',
      opts: {},
      want: { kind: 'latency', roles: ['new', 'test'], seconds: true, quantile: 0.95, rangeMs: 300_000 },
    },
    {
      name: 'errors',
      query: 'sum(rate(http_requests_total{code=~"5.."}[2m])) / sum(rate(http_requests_total[2m])) * 100',
      opts: {},
      want: { kind: 'error', roles: ['old', 'new', 'test'], percent: true, rangeMs: 120_000 },
    },
  ])('$name', ({ name, query, opts, want }) => {
    expect(modelQuery(name, query, opts)).toMatchObject(want);
  });

  it('a query it cannot read is undefined (reported as an error, never guessed)', () => {
    expect(modelQuery('cpu', 'sum(rate(container_cpu_usage_seconds_total[1m]))')).toBeUndefined();
    expect(modelQuery('memory', 'sum(container_memory_working_set_bytes)')).toBeUndefined();
  });
});

describe('measure', () => {
  const traffic = new Traffic(
    {
      rps: 50,
      diurnalAmplitude: 0,
      startMs: 0,
      health: (role) => ({ errorRate: role === 'new' ? 0.5 : 0, latency: { medianMs: 40, p99Ms: 160 } }),
    },
    seededRandom(9),
  );
  traffic.advanceTo(120_000, { newShare: 0.2, newDown: 0, oldDown: 0 });
  const model = modelQuery('success-rate', SEED000);

  it('answers a mixed success ratio from the window', () => {
    const r = measure(traffic, model as NonNullable<typeof model>, 120_000);
    expect('value' in r && r.value).toBeCloseTo(0.9, 1);
  });

  it('a window without requests is empty', () => {
    const empty = new Traffic(
      {
        rps: 10,
        diurnalAmplitude: 0,
        startMs: 0,
        health: () => ({ errorRate: 0, latency: { medianMs: 1, p99Ms: 2 } }),
      },
      seededRandom(1),
    );
    empty.advanceTo(60_000, { newShare: 0, newDown: 0, oldDown: 0 });
    const m = modelQuery('request-success-rate', undefined, { flaggerBuiltin: true });
    expect(measure(empty, m as NonNullable<typeof m>, 60_000)).toEqual({ empty: true });
  });
});
