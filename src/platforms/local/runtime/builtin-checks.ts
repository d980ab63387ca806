/**
 * Flagger's builtin metrics on the local runtime: a `CheckProvider` of type `builtin` that answers
 * `request-success-rate` (percent of non-5xx answers) and `request-duration` (p99, whole
 * milliseconds) from the local router's counters (`ProxyMetrics.snapshot`) instead of Prometheus.
 *
 * It counts what the canary served over the metric's `interval` (Flagger's `[{{ interval }}]`): the
 * `canary` backend of the apex Service and of `<svc>-canary`, since the mesh's metrics are by
 * destination workload (a load test sent to `<svc>-canary` counts, as in Flagger's tutorials), and only
 * the canary's current version, so requests an earlier revision served do not. No requests is
 * Flagger's "no values found" error, on which the engine halts advancement.
 *
 * p99 across several series (apex and `<svc>-canary`) cannot be merged from their quantiles; the
 * largest one is taken, which errs on the side of failing the check.
 */
import type { CheckProvider, ResolvedCheck } from '../../../analysis/provider.js';
import { type FlaggerCheckContext, NO_VALUES_FOUND } from '../../../analysis/providers/flagger-prometheus.js';
import { parseGoDuration } from '../../../api/duration.js';
import type { MetricResult } from '../../../engine/flagger/types.js';
import type { ProxyMetrics, VersionStats } from '../proxy/metrics.js';

/** Which series are the canary's: set by the Flagger release for each check. */
export interface LocalCheckScope {
  /** Listener (Service) names whose `canary` backend counts: the apex and `<svc>-canary`. */
  services: string[];
  /** Backend name of the canary in those listeners. */
  backend: string;
  /** The canary's pod-template hash; absent counts every version. */
  version?: string;
}

export type LocalCheckContext = FlaggerCheckContext & { local?: LocalCheckScope };

/** Flagger's default metric interval. */
const DEFAULT_WINDOW_SECONDS = 60;

/** The series of `stats` that belong to the canary. */
export function canarySeries(stats: readonly VersionStats[], scope: LocalCheckScope): VersionStats[] {
  const services = new Set(scope.services);
  return stats.filter(
    (s) =>
      services.has(s.service) &&
      s.backend === scope.backend &&
      (scope.version === undefined || s.version.split('+').includes(scope.version)),
  );
}

/** A builtin metric's value from the canary's series (pure). */
export function builtinValue(metric: string, series: readonly VersionStats[]): MetricResult {
  if (metric !== 'request-success-rate' && metric !== 'request-duration')
    return { error: `${metric} is not a builtin metric (builtin: request-success-rate, request-duration)` };
  let requests = 0;
  let errors = 0;
  let p99: number | undefined;
  for (const s of series) {
    requests += s.requests;
    errors += s.errors;
    if (s.requests > 0 && s.p99Seconds !== undefined && Number.isFinite(s.p99Seconds))
      p99 = Math.max(p99 ?? 0, s.p99Seconds);
  }
  if (requests === 0) return { error: NO_VALUES_FOUND };
  if (metric === 'request-success-rate') return { value: ((requests - errors) / requests) * 100 };
  if (p99 === undefined) return { error: NO_VALUES_FOUND };
  // Flagger: time.Duration(int64(value)) * time.Millisecond, i.e. whole milliseconds.
  return { value: Math.trunc(p99 * 1000) };
}

/** The window of a check in whole seconds (at least 1), from the metric's `interval`. */
export function windowSeconds(interval: string | undefined): number | undefined {
  if (interval === undefined || interval === '') return DEFAULT_WINDOW_SECONDS;
  const ms = parseGoDuration(interval);
  if (ms === undefined || ms <= 0) return undefined;
  return Math.max(1, Math.ceil(ms / 1000));
}

export class LocalBuiltinCheckProvider implements CheckProvider {
  readonly type = 'builtin';

  /** `metrics` is read per check, so a router replaced after a restart is still found. */
  constructor(private readonly metrics: () => ProxyMetrics) {}

  check(request: ResolvedCheck, ctx: LocalCheckContext): MetricResult {
    const window = windowSeconds(request.interval);
    if (window === undefined)
      return { error: `metric ${request.name}: invalid interval ${request.interval}` };
    const target = ctx.scope?.service || ctx.scope?.target || ctx.canary;
    const scope: LocalCheckScope = ctx.local ?? { services: [target, `${target}-canary`], backend: 'canary' };
    const m = this.metrics();
    const stats = scope.services.flatMap((service) => m.snapshot({ windowSeconds: window, service }));
    return builtinValue(request.name, canarySeries(stats, scope));
  }
}
