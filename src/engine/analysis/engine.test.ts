import { describe, expect, it } from 'vitest';
import type { AnalysisRun, Metric, MetricResult } from '../../api/argo/analysis.js';
import {
  type AnalysisAction,
  assessMetricStatus,
  isWorse,
  metricConfig,
  type Observation,
  reconcileAnalysisRun,
  valueText,
} from './engine.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const provider = { web: { url: 'http://example/{{args.svc}}' } } as unknown as Metric['provider'];
const metric = (m: Partial<Metric> & { name: string }): Metric => ({ provider, ...m }) as Metric;
const mkRun = (metrics: Metric[], spec: Partial<AnalysisRun['spec']> = {}): AnalysisRun => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisRun',
  metadata: { name: 'r' },
  spec: { metrics, args: [{ name: 'svc', value: 'web' }], ...spec },
});
const types = (actions: AnalysisAction[]) => actions.map((a) => a.type);
const requeue = (actions: AnalysisAction[]) =>
  actions.find((a): a is Extract<AnalysisAction, { type: 'requeue' }> => a.type === 'requeue')?.afterMs;

/** Drives a run: each step reconciles at `at` with the observations, keeping the status. */
function drive(run: AnalysisRun, steps: { at: number; obs?: Observation[] }[]) {
  let r = run;
  const out = [];
  for (const s of steps) {
    const res = reconcileAnalysisRun(r, T0 + s.at, s.obs ?? []);
    out.push(res);
    r = { ...r, status: res.status };
  }
  return out;
}
const ok = (name = 'm'): Observation => ({ metric: name, phase: 'Successful' });
const bad = (name = 'm'): Observation => ({ metric: name, phase: 'Failed' });
const inc = (name = 'm'): Observation => ({ metric: name, phase: 'Inconclusive' });
const err = (name = 'm'): Observation => ({ metric: name, phase: 'Error', message: 'boom' });

describe('scheduling', () => {
  it('first pass measures a metric without initialDelay and starts the run', () => {
    const [res] = drive(mkRun([metric({ name: 'm' })]), [{ at: 0 }]);
    expect(types(res!.actions)).toEqual(['measure']);
    expect(res!.status.phase).toBe('Running');
    expect(res!.status.startedAt).toBe('2024-01-01T00:00:00Z');
    expect(res!.status.metricResults?.[0]?.measurements).toEqual([
      { phase: 'Running', startedAt: '2024-01-01T00:00:00Z' },
    ]);
  });

  it('a pending measure is not asked twice', () => {
    const [, res] = drive(mkRun([metric({ name: 'm' })]), [{ at: 0 }, { at: 5000 }]);
    expect(res!.actions).toEqual([]);
  });

  it('initialDelay: waits from the run start and requeues at its end', () => {
    const res = drive(mkRun([metric({ name: 'm', initialDelay: '30s' })]), [
      { at: 0 },
      { at: 29_000 },
      { at: 30_000 },
    ]);
    expect(types(res[0]!.actions)).toEqual(['requeue']);
    expect(requeue(res[0]!.actions)).toBe(30_000);
    expect(requeue(res[1]!.actions)).toBe(1000);
    expect(types(res[2]!.actions)).toEqual(['measure']);
  });

  it('interval: next measurement interval after the last finishedAt', () => {
    const res = drive(mkRun([metric({ name: 'm', interval: '1m', count: 3 })]), [
      { at: 0 },
      { at: 1000, obs: [{ ...ok(), finishedAt: T0 + 1000 }] },
      { at: 60_000 },
      { at: 61_000 },
    ]);
    expect(requeue(res[1]!.actions)).toBe(60_000);
    expect(types(res[2]!.actions)).toEqual(['requeue']);
    expect(types(res[3]!.actions)).toEqual(['measure']);
  });

  it('no count and no interval: one measurement', () => {
    const res = drive(mkRun([metric({ name: 'm' })]), [{ at: 0 }, { at: 1000, obs: [ok()] }]);
    expect(res[1]!.status.phase).toBe('Successful');
    expect(res[1]!.status.metricResults?.[0]?.count).toBe(1);
    expect(res[1]!.actions).toEqual([]);
  });

  it('interval and no count: runs until terminated', () => {
    const steps = [{ at: 0 }];
    for (let i = 1; i <= 5; i++) steps.push({ at: i * 10_000, obs: [ok()] } as never);
    const res = drive(mkRun([metric({ name: 'm', interval: '10s' })]), steps);
    const last = res[res.length - 1]!;
    expect(last.status.phase).toBe('Running');
    expect(last.status.metricResults?.[0]?.count).toBe(5);
    const next = reconcileAnalysisRun(
      { ...mkRun([metric({ name: 'm', interval: '10s' })]), status: last.status },
      T0 + 60_000,
    );
    expect(types(next.actions)).toEqual(['measure']);
    const run = {
      ...mkRun([metric({ name: 'm', interval: '10s' })], { terminate: true }),
      status: next.status,
    };
    const term = reconcileAnalysisRun(run, T0 + 61_000);
    expect(term.status.phase).toBe('Successful');
    expect(term.status.message).toBe('Run Terminated');
    expect(types(term.actions)).toEqual(['terminateMeasurement']);
  });

  it.each([
    ['no interval → 10 s', undefined, 10_000],
    ['interval 1m → 10 s', '1m', 10_000],
    ['interval 3s is shorter → 3 s', '3s', 3000],
  ])('errored measurement retried: %s', (_, interval, delay) => {
    const res = drive(mkRun([metric({ name: 'm', count: 2, ...(interval ? { interval } : {}) })]), [
      { at: 0 },
      { at: 0, obs: [err()] },
    ]);
    expect(requeue(res[1]!.actions)).toBe(delay);
  });

  it('requeue is the earliest next time of all metrics', () => {
    const res = drive(
      mkRun([metric({ name: 'a', interval: '1m', count: 2 }), metric({ name: 'b', initialDelay: '20s' })]),
      [{ at: 0 }, { at: 0, obs: [ok('a')] }],
    );
    expect(requeue(res[1]!.actions)).toBe(20_000);
  });

  it('in-flight measurement with resumeAt is resumed at that time', () => {
    const res = drive(mkRun([metric({ name: 'm' })]), [
      { at: 0 },
      { at: 1000, obs: [{ metric: 'm', phase: 'Running', resumeAt: T0 + 11_000 }] },
      { at: 11_000 },
    ]);
    expect(requeue(res[1]!.actions)).toBe(10_000);
    expect(types(res[2]!.actions)).toEqual(['resume']);
  });
});

describe('valueText', () => {
  it.each([
    [[0.95], '[0.95]'],
    [[Number.NaN], '[NaN]'],
    [[Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1], '[+Inf,-Inf,1]'],
    [Number.NaN, 'NaN'],
    [{ ok: true }, '{"ok":true}'],
    ['text', 'text'],
    [null, 'null'],
  ])('%j -> %s (NaN and infinities as Go prints them, as Argo shows them)', (value, text) => {
    expect(valueText(value)).toBe(text);
  });
});

describe('observations', () => {
  it('a value is evaluated with the metric conditions', () => {
    const res = drive(mkRun([metric({ name: 'm', successCondition: 'result[0] > 0.9' })]), [
      { at: 0 },
      { at: 1000, obs: [{ metric: 'm', value: [0.5] }] },
    ]);
    const m = res[1]!.status.metricResults?.[0];
    expect(m?.measurements?.[0]).toMatchObject({ phase: 'Failed', value: '[0.5]' });
    expect(res[1]!.status.phase).toBe('Failed');
  });

  it('an expression error becomes an Error measurement with the message', () => {
    const res = drive(mkRun([metric({ name: 'm', successCondition: 'result >' })]), [
      { at: 0 },
      { at: 1000, obs: [{ metric: 'm', value: 1 }] },
    ]);
    const m = res[1]!.status.metricResults?.[0];
    expect(m?.measurements?.[0]?.phase).toBe('Error');
    expect(m?.measurements?.[0]?.message).toMatch(/syntax error/);
    expect(m?.consecutiveError).toBe(1);
  });

  it.each([['unknown metric', { metric: 'nope', phase: 'Successful' } as Observation]])(
    'ignores %s',
    (_, o) => {
      const res = drive(mkRun([metric({ name: 'm' })]), [{ at: 0, obs: [o] }]);
      expect(res[0]!.ignored).toHaveLength(1);
    },
  );

  it('ignores observations beyond the count', () => {
    const res = drive(mkRun([metric({ name: 'm', count: 1, interval: '1s', failureLimit: 5 })]), [
      { at: 0 },
      { at: 1, obs: [ok(), ok()] },
    ]);
    expect(res[1]!.ignored.map((i) => i.reason)).toEqual(['metric already Successful']);
    expect(res[1]!.status.metricResults?.[0]?.count).toBe(1);
  });
});

describe('counters (runMeasurements)', () => {
  it('count, successful, failed, inconclusive, error, consecutiveError, consecutiveSuccess', () => {
    const m = metric({
      name: 'm',
      interval: '1s',
      failureLimit: -1,
      inconclusiveLimit: 10,
      consecutiveSuccessLimit: 9,
    });
    const res = drive(mkRun([m]), [{ at: 0, obs: [ok(), ok(), err(), bad(), inc(), err(), err(), ok()] }]);
    expect(res[0]!.status.metricResults?.[0]).toMatchObject({
      count: 5,
      successful: 3,
      failed: 1,
      inconclusive: 1,
      error: 3,
      consecutiveError: 0,
      consecutiveSuccess: 1,
    });
  });
});

describe('assessMetricStatus', () => {
  const result = (r: Partial<MetricResult>): MetricResult => ({
    name: 'm',
    phase: 'Running',
    measurements: [{ phase: 'Successful', finishedAt: 'x' }],
    ...r,
  });
  it.each([
    ['no measurement → Pending', {}, { measurements: [] }, false, 'Pending'],
    ['no measurement, terminating → Successful', {}, { measurements: [] }, true, 'Successful'],
    ['in-flight → Running', {}, { measurements: [{ phase: 'Running' }] }, false, 'Running'],
    ['failed > failureLimit → Failed', { failureLimit: 1 }, { failed: 2, count: 2 }, false, 'Failed'],
    [
      'failed = failureLimit → Running',
      { failureLimit: 1, interval: '1s' },
      { failed: 1, count: 1 },
      false,
      'Running',
    ],
    [
      'failureLimit -1 disables',
      { failureLimit: -1, consecutiveSuccessLimit: 3, interval: '1s' },
      { failed: 9, count: 9 },
      false,
      'Running',
    ],
    ['inconclusive > limit → Inconclusive', {}, { inconclusive: 1, count: 1 }, false, 'Inconclusive'],
    ['consecutiveError > 4 → Error', { interval: '1s' }, { consecutiveError: 5 }, false, 'Error'],
    ['consecutiveError = 4 → Running', { interval: '1s' }, { consecutiveError: 4 }, false, 'Running'],
    [
      'consecutiveErrorLimit 0',
      { interval: '1s', consecutiveErrorLimit: 0 },
      { consecutiveError: 1 },
      false,
      'Error',
    ],
    [
      'Error overrides Failed (later check wins)',
      { interval: '1s' },
      { failed: 1, consecutiveError: 5 },
      false,
      'Error',
    ],
    [
      'consecutiveSuccessLimit reached → Successful',
      { interval: '1s', consecutiveSuccessLimit: 2 },
      { count: 2, consecutiveSuccess: 2 },
      false,
      'Successful',
    ],
    [
      'count reached → Successful',
      { interval: '1s', count: 3, failureLimit: 2 },
      { count: 3, failed: 2 },
      false,
      'Successful',
    ],
    [
      'count reached, both limits apply, success limit unmet → Inconclusive',
      { interval: '1s', count: 3, consecutiveSuccessLimit: 3, failureLimit: 1 },
      { count: 3, failed: 1, consecutiveSuccess: 2 },
      false,
      'Inconclusive',
    ],
    [
      'count reached, only success limit applies, unmet → Failed',
      { interval: '1s', count: 3, consecutiveSuccessLimit: 3, failureLimit: -1 },
      { count: 3, failed: 1, consecutiveSuccess: 2 },
      false,
      'Failed',
    ],
    [
      'count not reached, terminating → Successful',
      { interval: '1s', count: 3 },
      { count: 1 },
      true,
      'Successful',
    ],
    ['completed phase is sticky', {}, { phase: 'Failed', count: 0 }, false, 'Failed'],
  ] as const)('%s', (_, m, r, terminating, phase) => {
    expect(
      assessMetricStatus(metricConfig(metric({ name: 'm', ...m })), result(r as never), terminating),
    ).toBe(phase);
  });
});

describe('run phase (assessRunStatus)', () => {
  it.each([
    ['Successful', 'Failed', true],
    ['Error', 'Failed', true],
    ['Inconclusive', 'Error', true],
    ['Successful', 'Inconclusive', true],
    ['Failed', 'Error', false],
  ])('isWorse(%s, %s) = %s', (a, b, out) => {
    expect(isWorse(a, b)).toBe(out);
  });

  it('worst metric phase, with a message', () => {
    const res = drive(mkRun([metric({ name: 'a' }), metric({ name: 'b' })]), [
      { at: 0 },
      { at: 1000, obs: [ok('a'), inc('b')] },
    ]);
    expect(res[1]!.status.phase).toBe('Inconclusive');
    expect(res[1]!.status.message).toBe(
      'Metric "b" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)',
    );
    expect(res[1]!.status.completedAt).toBe('2024-01-01T00:00:01Z');
    expect(res[1]!.status.runSummary).toEqual({
      count: 2,
      successful: 1,
      failed: 0,
      inconclusive: 1,
      error: 0,
    });
  });

  it('Running while some metric is not complete', () => {
    const res = drive(mkRun([metric({ name: 'a' }), metric({ name: 'b', count: 2, interval: '1m' })]), [
      { at: 0 },
      { at: 1000, obs: [ok('a'), ok('b')] },
    ]);
    expect(res[1]!.status.phase).toBe('Running');
  });

  it('a failed metric terminates the others (in-flight ones too)', () => {
    const res = drive(mkRun([metric({ name: 'a' }), metric({ name: 'b', interval: '1m' })]), [
      { at: 0 },
      { at: 1000, obs: [bad('a')] },
    ]);
    expect(res[1]!.status.phase).toBe('Failed');
    expect(types(res[1]!.actions)).toEqual(['terminateMeasurement']);
    expect(res[1]!.status.metricResults?.find((r) => r.name === 'b')).toMatchObject({
      phase: 'Successful',
      message: 'Metric Terminated',
    });
  });

  it('terminated before any measurement → Successful', () => {
    const res = reconcileAnalysisRun(
      mkRun([metric({ name: 'm', initialDelay: '1h' })], { terminate: true }),
      T0,
    );
    expect(res.status.phase).toBe('Successful');
    expect(res.status.message).toBe('Run Terminated');
  });

  it('terminated run still reports a failure', () => {
    const res = drive(
      mkRun([metric({ name: 'a', interval: '1s', failureLimit: 0 }), metric({ name: 'b', interval: '1s' })]),
      [{ at: 0 }],
    );
    const run = {
      ...mkRun([metric({ name: 'a', interval: '1s' }), metric({ name: 'b', interval: '1s' })], {
        terminate: true,
      }),
      status: res[0]!.status,
    };
    const out = reconcileAnalysisRun(run, T0 + 500, [bad('a')]);
    expect(out.status.phase).toBe('Failed');
  });

  it('completed runs are left alone', () => {
    const res = drive(mkRun([metric({ name: 'm' })]), [
      { at: 0 },
      { at: 1, obs: [bad()] },
      { at: 2, obs: [ok()] },
    ]);
    expect(res[2]!.status).toEqual(res[1]!.status);
    expect(res[2]!.ignored).toHaveLength(1);
  });

  it.each([
    ['by name', [{ metricName: 'b' }]],
    ['by regex', [{ metricName: '^b.*' }]],
    ['* = all', [{ metricName: '*' }]],
  ])('dryRun %s: never affects the run phase, counted in dryRunSummary', (_, dryRun) => {
    const res = drive(mkRun([metric({ name: 'a' }), metric({ name: 'b' })], { dryRun }), [
      { at: 0 },
      { at: 1000, obs: [ok('a'), bad('b')] },
    ]);
    expect(res[1]!.status.phase).toBe('Successful');
    expect(res[1]!.status.dryRunSummary?.failed).toBe(1);
    expect(res[1]!.status.metricResults?.find((r) => r.name === 'b')).toMatchObject({
      dryRun: true,
      phase: 'Failed',
      message: 'Metric assessed Failed due to failed (1) > failureLimit (0)',
    });
  });

  it('dryRun rule matching nothing → run Error', () => {
    const res = reconcileAnalysisRun(mkRun([metric({ name: 'a' })], { dryRun: [{ metricName: 'zzz' }] }), T0);
    expect(res.status).toMatchObject({
      phase: 'Error',
      message: "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)",
    });
  });
});

describe('measurement retention', () => {
  it.each([
    ['default 10', undefined, 10],
    ['rule limit 3', [{ metricName: 'm', limit: 3 }], 3],
  ])('%s', (_, measurementRetention, kept) => {
    const obs = Array.from({ length: 12 }, () => ok());
    const res = drive(
      mkRun([metric({ name: 'm', interval: '1s' })], measurementRetention ? { measurementRetention } : {}),
      [{ at: 0, obs }],
    );
    const r = res[0]!.status.metricResults?.[0];
    expect(r?.measurements).toHaveLength(kept);
    expect(r?.count).toBe(12);
    expect(res[0]!.actions).toContainEqual({ type: 'garbageCollect', metric: 'm', limit: kept });
  });
});

describe('args', () => {
  it('resolves {{args.x}} in every string field, count included', () => {
    const run = mkRun([metric({ name: 'm', count: '{{args.n}}', interval: '{{ args.every }}' })], {
      args: [
        { name: 'svc', value: 'web' },
        { name: 'n', value: '2' },
        { name: 'every', value: '5s' },
      ],
    });
    const res = reconcileAnalysisRun(run, T0);
    const measure = res.actions[0] as Extract<AnalysisAction, { type: 'measure' }>;
    expect(measure.resolvedMetric).toMatchObject({
      count: '2',
      interval: '5s',
      provider: { web: { url: 'http://example/web' } },
    });
    const res2 = drive({ ...run, status: res.status }, [
      { at: 0, obs: [ok()] },
      { at: 5000 },
      { at: 5000, obs: [ok()] },
    ]);
    expect(res2[2]!.status.phase).toBe('Successful');
  });

  it('host-supplied values (secrets) win', () => {
    const run = mkRun([metric({ name: 'm' })], {
      args: [{ name: 'svc', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
    const res = reconcileAnalysisRun(run, T0, [], { argValues: { svc: 'sec' } });
    expect(res.actions[0]).toMatchObject({
      resolvedMetric: { provider: { web: { url: 'http://example/sec' } } },
    });
  });

  it('missing arg → run Error with a clear message', () => {
    const res = reconcileAnalysisRun(mkRun([metric({ name: 'm' })], { args: [] }), T0);
    expect(res.status.phase).toBe('Error');
    expect(res.status.message).toBe('Unable to resolve metric arguments: failed to resolve {{args.svc}}');
    expect(res.actions).toEqual([]);
  });

  it('count that is not an integer after resolution → run Error', () => {
    const run = mkRun([metric({ name: 'm', count: '{{args.svc}}', interval: '1s' })]);
    const res = reconcileAnalysisRun(run, T0);
    expect(res.status.phase).toBe('Error');
    expect(res.status.message).toMatch(/^Analysis spec invalid: metric "m": count "web" is not an integer/);
  });
});

it('does not mutate its input', () => {
  const run = mkRun([metric({ name: 'm' })]);
  const first = reconcileAnalysisRun(run, T0);
  const withStatus = { ...run, status: first.status };
  const snapshot = structuredClone(withStatus);
  reconcileAnalysisRun(withStatus, T0 + 1, [ok()]);
  expect(withStatus).toEqual(snapshot);
});
