import { describe, expect, it } from 'vitest';
import type { Measurement, Metric } from '../api/argo/analysis.js';
import type { AnalysisAction } from '../engine/analysis/engine.js';
import {
  carryOutMeasurements,
  carryOutMeasurementsNow,
  type MetricProvider,
  ProviderRegistry,
  providerType,
} from './provider.js';

const metric = (name: string, type: string): Metric =>
  ({ name, provider: { [type]: { query: 'q' } } }) as Metric;
const running: Measurement = { phase: 'Running', startedAt: '2026-01-01T00:00:00Z' };
const ctx = { now: 0, run: { name: 'run-1' } };

function recorder(type: string, answer: (m: Metric) => unknown) {
  const calls: string[] = [];
  const p: MetricProvider = {
    type,
    run: (m) => {
      calls.push(`run ${m.name}`);
      return answer(m) as ReturnType<MetricProvider['run']>;
    },
    resume: (m) => {
      calls.push(`resume ${m.name}`);
      return { metric: m.name, value: 2 };
    },
    terminate: (m) => {
      calls.push(`terminate ${m.name}`);
    },
  };
  return { p, calls };
}

describe('ProviderRegistry', () => {
  it('finds providers by type and refuses a second one of the same type', () => {
    const a = recorder('prometheus', () => ({ metric: 'x', value: 1 })).p;
    const reg = new ProviderRegistry([a]);
    expect(reg.get('prometheus')).toBe(a);
    expect(reg.get('web')).toBeUndefined();
    expect(() => reg.register(a)).toThrow('a provider for "prometheus" is already registered');
    expect(reg.types()).toEqual(['prometheus']);
  });

  it('providerType is the one key of metric.provider', () => {
    expect(providerType(metric('m', 'web'))).toBe('web');
    expect(providerType({ name: 'm', provider: {} } as Metric)).toBeUndefined();
  });
});

describe('carrying out measurement actions', () => {
  const actions: AnalysisAction[] = [
    { type: 'measure', metric: 'a', resolvedMetric: metric('a', 'prometheus') },
    { type: 'resume', metric: 'b', resolvedMetric: metric('b', 'prometheus'), measurement: running },
    {
      type: 'terminateMeasurement',
      metric: 'c',
      resolvedMetric: metric('c', 'prometheus'),
      measurement: running,
    },
    { type: 'measure', metric: 'd', resolvedMetric: metric('d', 'datadog') },
    { type: 'garbageCollect', metric: 'a', limit: 10 },
    { type: 'requeue', afterMs: 1000 },
  ];

  it('at once: calls the providers in order; a missing provider is an Error measurement naming what exists', () => {
    const { p, calls } = recorder('prometheus', (m) => ({ metric: m.name, value: [0.99] }));
    const obs = carryOutMeasurementsNow(actions, new ProviderRegistry([p]), ctx);
    expect(calls).toEqual(['run a', 'resume b', 'terminate c']);
    expect(obs).toEqual([
      { metric: 'a', value: [0.99] },
      { metric: 'b', value: 2 },
      { metric: 'd', phase: 'Error', message: 'no provider for "datadog" here (available: prometheus)' },
    ]);
  });

  it('a provider that throws or rejects gives an Error measurement, never a success', async () => {
    const throwing = recorder('prometheus', () => {
      throw new Error('connection refused');
    }).p;
    expect(carryOutMeasurementsNow(actions.slice(0, 1), new ProviderRegistry([throwing]), ctx)).toEqual([
      { metric: 'a', phase: 'Error', message: 'connection refused' },
    ]);
    const rejecting = recorder('prometheus', () => Promise.reject(new Error('timeout after 5s'))).p;
    expect(await carryOutMeasurements(actions.slice(0, 1), new ProviderRegistry([rejecting]), ctx)).toEqual([
      { metric: 'a', phase: 'Error', message: 'timeout after 5s' },
    ]);
  });

  it('asynchronous providers are awaited; the synchronous path refuses them', async () => {
    const slow = recorder('prometheus', (m) => Promise.resolve({ metric: m.name, value: [1] })).p;
    const reg = new ProviderRegistry([slow]);
    expect(await carryOutMeasurements(actions.slice(0, 1), reg, ctx)).toEqual([{ metric: 'a', value: [1] }]);
    expect(() => carryOutMeasurementsNow(actions.slice(0, 1), reg, ctx)).toThrow('answers asynchronously');
  });
});
