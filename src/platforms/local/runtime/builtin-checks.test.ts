import { describe, expect, it } from 'vitest';
import type { MetricResult } from '../../../engine/flagger/types.js';
import { ProxyMetrics, type VersionStats } from '../proxy/metrics.js';
import {
  builtinValue,
  canarySeries,
  LocalBuiltinCheckProvider,
  type LocalCheckScope,
  windowSeconds,
} from './builtin-checks.js';

const stats = (over: Partial<VersionStats>): VersionStats => ({
  service: 'podinfo',
  backend: 'canary',
  version: 'h2',
  requests: 0,
  errors: 0,
  ...over,
});

describe('builtinValue', () => {
  const cases: [string, string, VersionStats[], MetricResult][] = [
    ['no series', 'request-success-rate', [], { error: 'no values found' }],
    ['no requests', 'request-success-rate', [stats({})], { error: 'no values found' }],
    [
      'success rate in percent',
      'request-success-rate',
      [stats({ requests: 200, errors: 4, successRate: 0.98, p99Seconds: 0.01 })],
      { value: 98 },
    ],
    [
      'success rate over several series',
      'request-success-rate',
      [
        stats({ requests: 50, errors: 0, p99Seconds: 0.01 }),
        stats({ requests: 50, errors: 50, p99Seconds: 1 }),
      ],
      { value: 50 },
    ],
    [
      'duration: p99 in whole milliseconds',
      'request-duration',
      [stats({ requests: 10, errors: 0, p99Seconds: 0.0123 })],
      { value: 12 },
    ],
    [
      'duration: the largest p99 of several series',
      'request-duration',
      [stats({ requests: 10, p99Seconds: 0.02 }), stats({ requests: 1, p99Seconds: 0.4 })],
      { value: 400 },
    ],
    ['duration without requests', 'request-duration', [stats({})], { error: 'no values found' }],
    [
      'not a builtin metric',
      'error-rate',
      [stats({ requests: 1 })],
      { error: 'error-rate is not a builtin metric (builtin: request-success-rate, request-duration)' },
    ],
  ];
  it.each(cases)('%s', (_name, metric, series, want) => {
    expect(builtinValue(metric, series)).toEqual(want);
  });
});

describe('canarySeries', () => {
  const scope: LocalCheckScope = {
    services: ['podinfo', 'podinfo-canary'],
    backend: 'canary',
    version: 'h2',
  };
  const all = [
    stats({ requests: 1 }), // apex, canary backend, current version
    stats({ service: 'podinfo-canary', requests: 2 }), // direct to the canary Service
    stats({ version: 'h1+h2', requests: 3 }), // a rolling update of the canary
    stats({ backend: 'primary', version: 'h2', requests: 4 }), // the primary on the same template
    stats({ version: 'h1', requests: 5 }), // an earlier revision
    stats({ version: '', requests: 6 }), // no replica to go to (503 by the router)
    stats({ service: 'other', requests: 7 }),
  ];
  it('keeps the canary backend of the apex and canary Services, current version only', () => {
    expect(canarySeries(all, scope).map((s) => s.requests)).toEqual([1, 2, 3]);
  });
  it('without a version, every version of the canary backend', () => {
    const { version: _, ...anyVersion } = scope;
    expect(canarySeries(all, anyVersion).map((s) => s.requests)).toEqual([1, 2, 3, 5, 6]);
  });
});

describe('windowSeconds', () => {
  it.each([
    ['1m', 60],
    ['30s', 30],
    ['1m30s', 90],
    ['500ms', 1],
    ['', 60],
    [undefined, 60],
    ['soon', undefined],
    ['0s', undefined],
  ])('%s -> %s', (interval, want) => {
    expect(windowSeconds(interval)).toBe(want);
  });
});

describe('LocalBuiltinCheckProvider', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const metrics = new ProxyMetrics({ now: () => now });
  const provider = new LocalBuiltinCheckProvider(() => metrics);
  const apexCanary = { service: 'podinfo', backend: 'canary', version: 'h2' };
  const apexPrimary = { service: 'podinfo', backend: 'primary', version: 'h1' };
  const ctx = (extra: object = {}) => ({
    now,
    canary: 'podinfo',
    scope: { namespace: 'test', target: 'podinfo', service: 'podinfo' },
    local: { services: ['podinfo', 'podinfo-canary'], backend: 'canary', version: 'h2' },
    ...extra,
  });

  it('reads the router counters of the canary over the metric interval', () => {
    for (let i = 0; i < 95; i++) metrics.observe(apexCanary, 200, 0.004);
    for (let i = 0; i < 5; i++) metrics.observe(apexCanary, 503, 0.004);
    for (let i = 0; i < 100; i++) metrics.observe(apexPrimary, 500, 0.5);
    expect(provider.check({ name: 'request-success-rate', interval: '1m' }, ctx())).toEqual({ value: 95 });
    expect(provider.check({ name: 'request-duration', interval: '1m' }, ctx())).toEqual({ value: 4 });
    // 2 minutes later nothing is in a 1m window; a 5m window still sees it.
    now += 120_000;
    expect(provider.check({ name: 'request-success-rate', interval: '1m' }, ctx())).toEqual({
      error: 'no values found',
    });
    expect(provider.check({ name: 'request-success-rate', interval: '5m' }, ctx())).toEqual({ value: 95 });
  });

  it('without a local scope, counts the canary backend of the scope service', () => {
    const { local: _, ...plain } = ctx();
    expect(provider.check({ name: 'request-success-rate', interval: '5m' }, plain)).toEqual({ value: 95 });
  });

  it('an invalid interval is an error, never a value', () => {
    expect(provider.check({ name: 'request-success-rate', interval: 'soon' }, ctx())).toEqual({
      error: 'metric request-success-rate: invalid interval soon',
    });
  });
});
