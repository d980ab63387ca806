/**
 * The simulator's deterministic fake providers (ADR 8): an Argo `MetricProvider` for every provider
 * type and a Flagger `CheckProvider`, both answering from the simulated traffic at once. They read
 * each query for what it measures (metrics.ts) and never make up a value for a query they cannot
 * read. Times given to them are epoch ms; the traffic counts from the simulation start.
 */

import {
  type CheckProvider,
  type MetricProvider,
  ProviderRegistry,
  type ResolvedCheck,
} from '../analysis/provider.js';
import type { Metric } from '../api/argo/analysis.js';
import { parseGoDuration } from '../api/duration.js';
import { BUILTIN_METRICS } from '../api/flagger/canary-defaults.js';
import type { Observation } from '../engine/analysis/engine.js';
import type { MetricResult } from '../engine/flagger/types.js';
import { describeModel, measure, modelQuery } from './metrics.js';
import type { Traffic } from './traffic.js';

/** Argo's metric provider types (analysis_types.go MetricProvider). */
export const ARGO_PROVIDER_TYPES = [
  'prometheus',
  'datadog',
  'newRelic',
  'wavefront',
  'graphite',
  'influxdb',
  'skywalking',
  'cloudWatch',
  'web',
  'kayenta',
  'job',
  'plugin',
] as const;

export interface SimulatedBackend {
  traffic: Traffic;
  /** Epoch ms of traffic second 0. */
  startMs: number;
  /** Every query fails as if the metrics server were unreachable. */
  down: boolean;
  /** Where the providers say how they read each metric. */
  notes: Set<string>;
}

const UNREACHABLE = 'metrics server unreachable (simulated)';
const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_METRICS);

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

class SimulatedMetricProvider implements MetricProvider {
  constructor(
    readonly type: string,
    private readonly backend: SimulatedBackend,
  ) {}

  run(metric: Metric, ctx: { now: number }): Observation {
    const b = this.backend;
    if (b.down) return { metric: metric.name, phase: 'Error', message: UNREACHABLE };
    if (this.type === 'job') {
      b.notes.add(`job metric ${metric.name}: the simulator runs no Jobs; it reports them Successful`);
      return { metric: metric.name, phase: 'Successful', value: 'job succeeded (simulated)' };
    }
    const cfg = obj(obj(metric.provider)[this.type]);
    const query =
      typeof cfg.query === 'string' ? cfg.query : typeof cfg.url === 'string' ? cfg.url : undefined;
    const model = modelQuery(metric.name, query);
    if (!model) {
      b.notes.add(`metric ${metric.name}: the simulator cannot tell what its ${this.type} query measures`);
      return { metric: metric.name, phase: 'Error', message: 'simulator: cannot model this query' };
    }
    b.notes.add(describeModel(metric.name, model));
    const r = measure(b.traffic, model, ctx.now - b.startMs);
    if ('error' in r) return { metric: metric.name, phase: 'Error', message: r.error };
    // Prometheus answers a vector, empty when no series matched; the others a number or nothing.
    if (this.type === 'prometheus') return { metric: metric.name, value: 'empty' in r ? [] : [r.value] };
    return { metric: metric.name, value: 'empty' in r ? null : r.value };
  }

  resume(metric: Metric, _m: unknown, ctx: { now: number }): Observation {
    return this.run(metric, ctx);
  }

  terminate(): void {
    // Nothing runs in the background here.
  }
}

class SimulatedCheckProvider implements CheckProvider {
  readonly type = 'simulated';

  constructor(private readonly backend: SimulatedBackend) {}

  check(request: ResolvedCheck, ctx: { now: number }): MetricResult {
    const b = this.backend;
    if (b.down) return { error: UNREACHABLE };
    const builtin = BUILTIN.has(request.name) && !request.templateRef;
    const model = modelQuery(request.name, request.query, {
      intervalMs: parseGoDuration(request.interval) ?? 60_000,
      flaggerBuiltin: builtin,
      flaggerTemplate: request.templateRef !== undefined,
    });
    if (!model) {
      b.notes.add(`metric ${request.name}: the simulator cannot tell what its query measures`);
      return { error: 'simulator: cannot model this query' };
    }
    b.notes.add(describeModel(request.name, model));
    const r = measure(b.traffic, model, ctx.now - b.startMs);
    if ('error' in r) return { error: r.error };
    if ('empty' in r) return { error: 'no values found' };
    return { value: r.value };
  }
}

export function simulatedMetricProviders(backend: SimulatedBackend): ProviderRegistry<MetricProvider> {
  return new ProviderRegistry(ARGO_PROVIDER_TYPES.map((t) => new SimulatedMetricProvider(t, backend)));
}

export function simulatedCheckProvider(backend: SimulatedBackend): CheckProvider {
  return new SimulatedCheckProvider(backend);
}
