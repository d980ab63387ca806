/**
 * The AnalysisRun engine, with Argo Rollouts semantics (`analysis/analysis.go`: reconcileAnalysisRun,
 * generateMetricTasks, runMeasurements, assessRunStatus, assessMetricStatus,
 * calculateNextReconcileTime, garbageCollectMeasurements; `utils/analysis/helpers.go`).
 *
 * Pure: `reconcileAnalysisRun(run, now, observations)` returns `{ actions, status, ignored }`. No I/O,
 * no clock (`now` is an ISO string or epoch ms), no randomness; the input run is never mutated.
 *
 * Interfaces
 * ----------
 * Observation — what a provider reported for one metric (the host calls the providers):
 *   `{ metric, phase?, value?, message?, startedAt?, finishedAt?, resumeAt?, metadata? }`
 *   - `phase` 'Successful' | 'Failed' | 'Inconclusive' | 'Error' is taken as is (Job, Kayenta, or a
 *     provider error); 'Running' means the measurement is still in flight (optionally `resumeAt`).
 *   - without `phase`, `value` is the provider's raw result and the engine evaluates the metric's
 *     successCondition / failureCondition on it (`evaluateResult`); the measurement's `value` text is
 *     the string itself or its JSON.
 *   - it completes the metric's in-flight measurement (the one a `measure` action opened), or else is
 *     appended as a new measurement. Observations for unknown metrics, completed metrics or metrics
 *     whose count is reached are returned in `ignored` and change nothing.
 *
 * Actions — what the host must do:
 *   - `measure`: run the provider for `metric` (args already resolved in `resolvedMetric`). The engine
 *     records an in-flight measurement (`phase: Running`, `startedAt: now`) so it is not asked twice;
 *     report the result as an Observation in a later call.
 *   - `resume`: an in-flight measurement reached its `resumeAt`; ask the provider again (Argo Resume).
 *   - `terminateMeasurement`: the run is terminating; stop the provider's in-flight work (e.g. delete
 *     the Job). The engine already closed the measurement as Successful "Metric Terminated" (what
 *     Argo's Job/Kayenta providers return from Terminate), so no observation is expected.
 *   - `garbageCollect`: measurements beyond `limit` were dropped from the status; providers with
 *     external state (Job) may clean up theirs.
 *   - `requeue`: call again after `afterMs` (the earliest next measurement, initialDelay end, retry or
 *     resumeAt). Absent when nothing is scheduled (the next event is an observation, or the run is done).
 *
 * Differences from upstream, on purpose:
 *   - provider calls are asynchronous (action → later observation) instead of in-line;
 *   - a measurement is due when `now >= finishedAt + interval` (Argo: strictly after), so a requeue
 *     at exactly that time measures instead of spinning;
 *   - a metric whose `interval`/`initialDelay` is not a duration, or whose count/limits are not
 *     integers after args resolution, errors the run ("Analysis spec invalid: ...") instead of being
 *     silently skipped;
 *   - runSummary / dryRunSummary count each completed metric by its phase (Argo counts by the
 *     failed/inconclusive/error limits only, so a metric Failed on an unmet consecutiveSuccessLimit
 *     counts as Successful there).
 */
import {
  type AnalysisPhase,
  type AnalysisRun,
  type AnalysisRunStatus,
  effectiveCount,
  type Measurement,
  type Metric,
  MetricIntError,
  type MetricResult,
  metricInt,
} from '../../api/argo/analysis.js';
import { metricNameMatches } from '../../api/argo/analysis-rules.js';
import { parseGoDuration } from '../../api/duration.js';
import { evaluateResult, type MeasurementOutcome } from './evaluate.js';

// -------------------------------------------------------------------------------------------------
// Public interfaces
// -------------------------------------------------------------------------------------------------

/** An ISO 8601 / RFC 3339 string or epoch milliseconds. */
export type Timestamp = string | number;

export interface Observation {
  metric: string;
  phase?: MeasurementOutcome | 'Running';
  value?: unknown;
  message?: string;
  startedAt?: Timestamp;
  finishedAt?: Timestamp;
  resumeAt?: Timestamp;
  metadata?: Record<string, string>;
}

export type AnalysisAction =
  | { type: 'measure'; metric: string; resolvedMetric: Metric }
  | { type: 'resume'; metric: string; resolvedMetric: Metric; measurement: Measurement }
  | { type: 'terminateMeasurement'; metric: string; resolvedMetric: Metric; measurement: Measurement }
  | { type: 'garbageCollect'; metric: string; limit: number }
  | { type: 'requeue'; afterMs: number };

export interface IgnoredObservation {
  observation: Observation;
  reason: string;
}

export interface ReconcileOptions {
  /**
   * Arg values the host resolved itself (e.g. from a Secret named by `valueFrom.secretKeyRef`);
   * they win over `spec.args[].value`.
   */
  argValues?: Readonly<Record<string, string>>;
}

export interface ReconcileResult {
  actions: AnalysisAction[];
  status: AnalysisRunStatus;
  ignored: IgnoredObservation[];
}

/** DefaultErrorRetryInterval: an errored measurement is retried after 10 s (or the interval if shorter). */
export const DEFAULT_ERROR_RETRY_INTERVAL_MS = 10_000;
/** DefaultMeasurementHistoryLimit. */
export const DEFAULT_MEASUREMENT_HISTORY_LIMIT = 10;
/** DefaultConsecutiveErrorLimit. */
export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;

// -------------------------------------------------------------------------------------------------
// Phases
// -------------------------------------------------------------------------------------------------

const COMPLETED: ReadonlySet<string> = new Set(['Successful', 'Failed', 'Error', 'Inconclusive']);

/** Argo `AnalysisPhase.Completed()`. */
export function isCompleted(phase: string | undefined): boolean {
  return phase !== undefined && COMPLETED.has(phase);
}

/** Argo `analysisStatusOrder`, best to worst. */
export const PHASE_ORDER: readonly AnalysisPhase[] = [
  'Successful',
  'Running',
  'Pending',
  'Inconclusive',
  'Error',
  'Failed',
];

/** Argo `IsWorse`: is `next` worse than `current`? Unknown phases rank as Successful. */
export function isWorse(current: string, next: string): boolean {
  const rank = (p: string) => Math.max(0, PHASE_ORDER.indexOf(p as AnalysisPhase));
  return rank(next) > rank(current);
}

// -------------------------------------------------------------------------------------------------
// Metric configuration
// -------------------------------------------------------------------------------------------------

/** The numbers of one resolved metric the engine works with. */
export interface MetricConfig {
  name: string;
  /** undefined: no limit (interval and no count). */
  count: number | undefined;
  intervalMs: number | undefined;
  initialDelayMs: number | undefined;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  consecutiveSuccessLimit: number;
}

class SpecError extends Error {}

function durationField(metric: Metric, field: 'interval' | 'initialDelay'): number | undefined {
  const text = metric[field];
  if (text === undefined || text === '') return undefined;
  const ms = parseGoDuration(text);
  if (ms === undefined) throw new SpecError(`${field} ${JSON.stringify(text)} is not a duration`);
  return ms;
}

/** Reads a resolved metric; throws on non-integer counts/limits or non-duration intervals. */
export function metricConfig(metric: Metric): MetricConfig {
  try {
    return {
      name: metric.name,
      count: effectiveCount(metric),
      intervalMs: durationField(metric, 'interval'),
      initialDelayMs: durationField(metric, 'initialDelay'),
      failureLimit: metricInt(metric, 'failureLimit') ?? 0,
      inconclusiveLimit: metricInt(metric, 'inconclusiveLimit') ?? 0,
      consecutiveErrorLimit: metricInt(metric, 'consecutiveErrorLimit') ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT,
      consecutiveSuccessLimit: metricInt(metric, 'consecutiveSuccessLimit') ?? 0,
    };
  } catch (err) {
    if (err instanceof MetricIntError || err instanceof SpecError) {
      throw new SpecError(`metric "${metric.name}": ${err.message}`);
    }
    throw err;
  }
}

// -------------------------------------------------------------------------------------------------
// Args
// -------------------------------------------------------------------------------------------------

const TAG = /\{\{(.*?)\}\}/g;

/**
 * Replaces every `{{args.NAME}}` in every string of the metric (Argo ResolveMetricArgs, which runs
 * fasttemplate over the metric's JSON). Any tag that does not resolve throws
 * `failed to resolve {{TAG}}`, as upstream.
 */
export function resolveMetricArgs(
  metric: Metric,
  args: AnalysisRun['spec']['args'],
  overrides: Readonly<Record<string, string>> = {},
): Metric {
  const values = new Map<string, string>();
  for (const arg of args ?? []) {
    if (typeof arg.value === 'string') values.set(`args.${arg.name}`, arg.value);
  }
  for (const [name, value] of Object.entries(overrides)) values.set(`args.${name}`, value);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v.replace(TAG, (_, tag: string) => {
        const value = values.get(tag.trim());
        if (value === undefined) throw new SpecError(`failed to resolve {{${tag}}}`);
        return value;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(metric) as Metric;
}

// -------------------------------------------------------------------------------------------------
// dryRun / measurementRetention rules
// -------------------------------------------------------------------------------------------------

/** Argo GetDryRunMetrics: names of the dry-run metrics; a rule matching no metric is an error. */
export function dryRunMetrics(
  rules: readonly { metricName: string }[] | undefined,
  names: readonly string[],
): Set<string> {
  const out = new Set<string>();
  (rules ?? []).forEach((rule, i) => {
    const hits = names.filter((n) => metricNameMatches(rule.metricName, n));
    if (hits.length === 0) throw new SpecError(`dryRun[${i}]: Rule didn't match any metric name(s)`);
    for (const n of hits) out.add(n);
  });
  return out;
}

/** Argo GetMeasurementRetentionMetrics + garbageCollectMeasurements: measurements kept per metric. */
export function retentionLimits(
  rules: readonly { metricName: string; limit: number }[] | undefined,
  names: readonly string[],
): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of names) out.set(n, DEFAULT_MEASUREMENT_HISTORY_LIMIT);
  (rules ?? []).forEach((rule, i) => {
    const hits = names.filter((n) => metricNameMatches(rule.metricName, n));
    if (hits.length === 0) {
      throw new SpecError(`measurementRetention[${i}]: Rule didn't match any metric name(s)`);
    }
    for (const n of hits) out.set(n, rule.limit > 0 ? rule.limit : DEFAULT_MEASUREMENT_HISTORY_LIMIT);
  });
  return out;
}

// -------------------------------------------------------------------------------------------------
// Metric assessment
// -------------------------------------------------------------------------------------------------

/**
 * Argo assessMetricFailureInconclusiveOrError. The checks run in order and a later one overrides an
 * earlier one, so Error wins over Inconclusive, which wins over Failed. failureLimit -1 disables it.
 */
export function assessFailureInconclusiveOrError(
  cfg: MetricConfig,
  r: MetricResult,
): { phase?: 'Failed' | 'Inconclusive' | 'Error'; message?: string } {
  let out: { phase?: 'Failed' | 'Inconclusive' | 'Error'; message?: string } = {};
  const failed = r.failed ?? 0;
  const inconclusive = r.inconclusive ?? 0;
  const consecutiveError = r.consecutiveError ?? 0;
  if (cfg.failureLimit >= 0 && failed > cfg.failureLimit) {
    out = { phase: 'Failed', message: `failed (${failed}) > failureLimit (${cfg.failureLimit})` };
  }
  if (inconclusive > cfg.inconclusiveLimit) {
    out = {
      phase: 'Inconclusive',
      message: `inconclusive (${inconclusive}) > inconclusiveLimit (${cfg.inconclusiveLimit})`,
    };
  }
  if (consecutiveError > cfg.consecutiveErrorLimit) {
    out = {
      phase: 'Error',
      message: `consecutiveErrors (${consecutiveError}) > consecutiveErrorLimit (${cfg.consecutiveErrorLimit})`,
    };
  }
  return out;
}

/** Argo assessMetricStatus (v1.8+, with consecutiveSuccessLimit). */
export function assessMetricStatus(cfg: MetricConfig, r: MetricResult, terminating: boolean): AnalysisPhase {
  if (isCompleted(r.phase)) return r.phase;
  const measurements = r.measurements ?? [];
  const last = measurements[measurements.length - 1];
  if (last === undefined) return terminating ? 'Successful' : 'Pending';
  if (!isCompleted(last.phase)) return 'Running';
  const limits = assessFailureInconclusiveOrError(cfg, r);
  if (limits.phase) return limits.phase;
  const successApplies = cfg.consecutiveSuccessLimit > 0;
  const failureApplies = cfg.failureLimit >= 0;
  if (successApplies && (r.consecutiveSuccess ?? 0) >= cfg.consecutiveSuccessLimit) return 'Successful';
  if (cfg.count !== undefined && (r.count ?? 0) >= cfg.count) {
    if (successApplies && failureApplies) return 'Inconclusive';
    if (successApplies) return 'Failed';
    return 'Successful';
  }
  return terminating ? 'Successful' : 'Running';
}

// -------------------------------------------------------------------------------------------------
// Time
// -------------------------------------------------------------------------------------------------

function toMs(t: Timestamp, what: string): number {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new TypeError(`${what} ${JSON.stringify(t)} is not a time`);
  return ms;
}

/** RFC 3339 as Kubernetes writes it: whole seconds without fraction, else milliseconds. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function optTime(t: Timestamp | undefined, fallback: number): string {
  if (t === undefined) return formatTime(fallback);
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return formatTime(Number.isFinite(ms) ? ms : fallback);
}

/** Go's text for a float that JSON cannot carry (Argo shows a NaN result as `[NaN]`). */
const goSpecialFloat = (x: number): string => (Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf');
const SPECIAL = '\u0000';

/** The measurement's value text: the string itself, else JSON with NaN/±Inf written as Go writes them. */
export function valueText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && !Number.isFinite(v)) return goSpecialFloat(v);
  try {
    const text = JSON.stringify(v, (_, x) =>
      typeof x === 'bigint'
        ? Number(x)
        : typeof x === 'number' && !Number.isFinite(x)
          ? `${SPECIAL}${goSpecialFloat(x)}${SPECIAL}`
          : x,
    );
    if (text === undefined) return String(v);
    return text.replace(/"\\u0000([^"\\]*)\\u0000"/g, '$1');
  } catch {
    return String(v);
  }
}

// -------------------------------------------------------------------------------------------------
// Reconcile
// -------------------------------------------------------------------------------------------------

function newResult(name: string, dryRun: boolean): MetricResult {
  return {
    name,
    phase: 'Running',
    measurements: [],
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
    ...(dryRun ? { dryRun: true } : {}),
  };
}

/** runMeasurements' counter updates for a measurement that just completed. */
function count(r: MetricResult, phase: MeasurementOutcome): void {
  switch (phase) {
    case 'Successful':
      r.successful = (r.successful ?? 0) + 1;
      r.count = (r.count ?? 0) + 1;
      r.consecutiveError = 0;
      r.consecutiveSuccess = (r.consecutiveSuccess ?? 0) + 1;
      break;
    case 'Failed':
      r.failed = (r.failed ?? 0) + 1;
      r.count = (r.count ?? 0) + 1;
      r.consecutiveError = 0;
      r.consecutiveSuccess = 0;
      break;
    case 'Inconclusive':
      r.inconclusive = (r.inconclusive ?? 0) + 1;
      r.count = (r.count ?? 0) + 1;
      r.consecutiveError = 0;
      r.consecutiveSuccess = 0;
      break;
    case 'Error':
      r.error = (r.error ?? 0) + 1;
      r.consecutiveError = (r.consecutiveError ?? 0) + 1;
      r.consecutiveSuccess = 0;
      break;
  }
}

/** The delay after a finished measurement before the next one (generateMetricTasks). */
function nextDelay(cfg: MetricConfig, last: Measurement): number | undefined {
  if (last.phase === 'Error') {
    return cfg.intervalMs !== undefined
      ? Math.min(cfg.intervalMs, DEFAULT_ERROR_RETRY_INTERVAL_MS)
      : DEFAULT_ERROR_RETRY_INTERVAL_MS;
  }
  return cfg.intervalMs;
}

function errorStatus(status: AnalysisRunStatus, message: string, now: number): ReconcileResult {
  return {
    actions: [],
    status: { ...status, phase: 'Error', message, completedAt: formatTime(now) },
    ignored: [],
  };
}

/**
 * One reconcile pass over an AnalysisRun: apply the observations, schedule measurements, assess the
 * metrics and the run, trim measurements, and say when to come back. See the module comment.
 */
export function reconcileAnalysisRun(
  run: AnalysisRun,
  nowInput: Timestamp,
  observations: readonly Observation[] = [],
  options: ReconcileOptions = {},
): ReconcileResult {
  const now = toMs(nowInput, 'now');
  const status: AnalysisRunStatus = structuredClone(run.status ?? { phase: '' });
  if (isCompleted(status.phase)) {
    return {
      actions: [],
      status,
      ignored: observations.map((observation) => ({ observation, reason: 'run completed' })),
    };
  }
  status.metricResults ??= [];
  const results = status.metricResults;

  // Resolve args and read the metrics.
  let metrics: Metric[];
  try {
    metrics = run.spec.metrics.map((m) => resolveMetricArgs(m, run.spec.args, options.argValues));
  } catch (err) {
    return errorStatus(status, `Unable to resolve metric arguments: ${(err as Error).message}`, now);
  }
  let configs: MetricConfig[];
  let dry: Set<string>;
  let retention: Map<string, number>;
  try {
    configs = metrics.map(metricConfig);
    const names = metrics.map((m) => m.name);
    dry = dryRunMetrics(run.spec.dryRun, names);
    retention = retentionLimits(run.spec.measurementRetention, names);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    return errorStatus(status, `Analysis spec invalid: ${err.message}`, now);
  }

  const byName = new Map(metrics.map((m, i) => [m.name, i]));
  const getResult = (name: string) => results.find((r) => r.name === name);
  const ensureResult = (name: string) => {
    let r = getResult(name);
    if (!r) {
      r = newResult(name, dry.has(name));
      results.push(r);
    }
    r.measurements ??= [];
    return r;
  };
  const isTerminating = () =>
    run.spec.terminate === true ||
    results.some(
      (r) => !r.dryRun && (r.phase === 'Failed' || r.phase === 'Error' || r.phase === 'Inconclusive'),
    );
  const assess = (i: number, terminating: boolean) => {
    const cfg = configs[i] as MetricConfig;
    const r = getResult(cfg.name);
    if (!r) return;
    const phase = assessMetricStatus(cfg, r, terminating);
    if (phase !== r.phase) {
      const last = r.measurements?.[r.measurements.length - 1];
      if (last?.message !== undefined) r.message = last.message;
      r.phase = phase;
    }
  };
  const assessAll = () => {
    const terminating = isTerminating();
    configs.forEach((_, i) => {
      assess(i, terminating);
    });
  };
  const startedBefore = status.startedAt !== undefined;
  const actions: AnalysisAction[] = [];
  const ignored: IgnoredObservation[] = [];

  // 1. Observations.
  for (const obs of observations) {
    const i = byName.get(obs.metric);
    if (i === undefined) {
      ignored.push({ observation: obs, reason: 'unknown metric' });
      continue;
    }
    const cfg = configs[i] as MetricConfig;
    const metric = metrics[i] as Metric;
    const existing = getResult(cfg.name);
    if (existing && isCompleted(existing.phase)) {
      ignored.push({ observation: obs, reason: `metric already ${existing.phase}` });
      continue;
    }
    const last = existing?.measurements?.[existing.measurements.length - 1];
    const inFlight = last !== undefined && last.finishedAt === undefined ? last : undefined;
    if (!inFlight && cfg.count !== undefined && (existing?.count ?? 0) >= cfg.count) {
      ignored.push({ observation: obs, reason: 'count reached' });
      continue;
    }
    const r = ensureResult(cfg.name);
    const measurements = r.measurements as Measurement[];
    let phase: AnalysisPhase;
    let message = obs.message;
    if (obs.phase !== undefined) phase = obs.phase;
    else {
      const evaluated = evaluateResult(obs.value, metric);
      phase = evaluated.phase;
      if (evaluated.message !== undefined) message = evaluated.message;
    }
    const m: Measurement = {
      phase,
      startedAt:
        obs.startedAt !== undefined ? optTime(obs.startedAt, now) : (inFlight?.startedAt ?? formatTime(now)),
    };
    if (message !== undefined) m.message = message;
    const text = valueText(obs.value);
    if (text !== undefined) m.value = text;
    const metadata = obs.metadata ?? inFlight?.metadata;
    if (metadata !== undefined) m.metadata = metadata;
    if (phase === 'Running') {
      if (obs.resumeAt !== undefined) m.resumeAt = optTime(obs.resumeAt, now);
    } else {
      m.finishedAt = optTime(obs.finishedAt, now);
      count(r, phase as MeasurementOutcome);
    }
    if (inFlight) measurements[measurements.length - 1] = m;
    else measurements.push(m);
    assess(i, isTerminating());
  }

  // 2. Metric phases after the observations, then the tasks of generateMetricTasks.
  assessAll();
  const terminating = isTerminating();
  configs.forEach((cfg, i) => {
    const metric = metrics[i] as Metric;
    const r = getResult(cfg.name);
    if (r && isCompleted(r.phase)) return;
    const measurements = r?.measurements ?? [];
    const last = measurements[measurements.length - 1];
    if (last && last.finishedAt === undefined) {
      if (terminating) {
        const closed: Measurement = {
          ...last,
          phase: 'Successful',
          message: 'Metric Terminated',
          finishedAt: formatTime(now),
        };
        delete closed.resumeAt;
        measurements[measurements.length - 1] = closed;
        count(r as MetricResult, 'Successful');
        actions.push({
          type: 'terminateMeasurement',
          metric: cfg.name,
          resolvedMetric: metric,
          measurement: last,
        });
      } else if (last.resumeAt !== undefined && toMs(last.resumeAt, 'resumeAt') <= now) {
        // Now waiting for the resumed measurement's observation: drop resumeAt so it is asked once.
        const waiting: Measurement = { ...last };
        delete waiting.resumeAt;
        measurements[measurements.length - 1] = waiting;
        actions.push({ type: 'resume', metric: cfg.name, resolvedMetric: metric, measurement: last });
      }
      return;
    }
    if (terminating) return;
    let due: boolean;
    if (!last) {
      due =
        cfg.initialDelayMs === undefined ||
        (startedBefore && toMs(status.startedAt as string, 'startedAt') + cfg.initialDelayMs <= now);
    } else {
      if (cfg.count !== undefined && (r?.count ?? 0) >= cfg.count) return;
      const delay = nextDelay(cfg, last) ?? DEFAULT_ERROR_RETRY_INTERVAL_MS;
      due = now >= toMs(last.finishedAt as string, 'finishedAt') + delay;
    }
    if (!due) return;
    const res = ensureResult(cfg.name);
    (res.measurements as Measurement[]).push({ phase: 'Running', startedAt: formatTime(now) });
    actions.push({ type: 'measure', metric: cfg.name, resolvedMetric: metric });
  });

  // 3. Metric phases again (terminated measurements, new in-flight ones), then the run (assessRunStatus).
  assessAll();
  status.startedAt ??= formatTime(now);
  const { phase, message, runSummary, dryRunSummary } = assessRun(
    run,
    configs,
    dry,
    getResult,
    isTerminating(),
  );
  status.runSummary = runSummary;
  status.dryRunSummary = dryRunSummary;
  if (phase !== status.phase) {
    status.phase = phase;
    if (message) status.message = message;
    else delete status.message;
    if (isCompleted(phase)) status.completedAt = formatTime(now);
  }

  // 4. Measurement retention.
  for (const r of results) {
    const limit = retention.get(r.name) ?? DEFAULT_MEASUREMENT_HISTORY_LIMIT;
    const ms = r.measurements ?? [];
    if (ms.length > limit) {
      r.measurements = ms.slice(ms.length - limit);
      actions.push({ type: 'garbageCollect', metric: r.name, limit });
    }
  }

  // 5. Requeue (calculateNextReconcileTime).
  if (!isCompleted(status.phase)) {
    const next = nextReconcileTime(configs, getResult, status.startedAt);
    if (next !== undefined) actions.push({ type: 'requeue', afterMs: Math.max(0, next - now) });
  }
  return { actions, status, ignored };
}

type Summary = NonNullable<AnalysisRunStatus['runSummary']>;

function assessRun(
  run: AnalysisRun,
  configs: readonly MetricConfig[],
  dry: ReadonlySet<string>,
  getResult: (name: string) => MetricResult | undefined,
  terminating: boolean,
): { phase: AnalysisPhase; message: string; runSummary: Summary; dryRunSummary: Summary } {
  let worst: AnalysisPhase | '' = '';
  let worstMessage = run.spec.terminate ? 'Run Terminated' : '';
  let everythingCompleted = true;
  const runSummary: Summary = { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0 };
  const drySummary: Summary = { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0 };
  for (const cfg of configs) {
    const isDry = dry.has(cfg.name);
    const summary = isDry ? drySummary : runSummary;
    summary.count = (summary.count ?? 0) + 1;
    const r = getResult(cfg.name);
    if (!r) {
      everythingCompleted = false;
      continue;
    }
    if (!isCompleted(r.phase)) {
      everythingCompleted = false;
      continue;
    }
    const limits = assessFailureInconclusiveOrError(cfg, r);
    if (!isDry) {
      if (worst === '' || isWorse(worst, r.phase)) {
        worst = r.phase;
        if (limits.message) {
          worstMessage = `Metric "${cfg.name}" assessed ${r.phase} due to ${limits.message}`;
          if (r.message) worstMessage += `: "Error Message: ${r.message}"`;
        }
      }
    } else {
      if (worst === '') worst = 'Successful';
      if (limits.message) r.message = `Metric assessed ${r.phase} due to ${limits.message}`;
    }
    switch (r.phase) {
      case 'Error':
        summary.error = (summary.error ?? 0) + 1;
        break;
      case 'Failed':
        summary.failed = (summary.failed ?? 0) + 1;
        break;
      case 'Inconclusive':
        summary.inconclusive = (summary.inconclusive ?? 0) + 1;
        break;
      default:
        summary.successful = (summary.successful ?? 0) + 1;
    }
  }
  worstMessage = worstMessage.trim();
  const summaries = { runSummary, dryRunSummary: drySummary };
  if (terminating) return { phase: worst === '' ? 'Successful' : worst, message: worstMessage, ...summaries };
  if (!everythingCompleted || worst === '') return { phase: 'Running', message: '', ...summaries };
  return { phase: worst, message: worstMessage, ...summaries };
}

function nextReconcileTime(
  configs: readonly MetricConfig[],
  getResult: (name: string) => MetricResult | undefined,
  startedAt: string | undefined,
): number | undefined {
  let next: number | undefined;
  const consider = (t: number) => {
    if (next === undefined || t < next) next = t;
  };
  for (const cfg of configs) {
    const r = getResult(cfg.name);
    if (r && isCompleted(r.phase)) continue;
    const ms = r?.measurements ?? [];
    const last = ms[ms.length - 1];
    if (!last) {
      if (cfg.initialDelayMs !== undefined && startedAt !== undefined) {
        consider(toMs(startedAt, 'startedAt') + cfg.initialDelayMs);
      }
      continue;
    }
    if (last.finishedAt === undefined) {
      if (last.resumeAt !== undefined) consider(toMs(last.resumeAt, 'resumeAt'));
      continue;
    }
    if (cfg.count !== undefined && (r?.count ?? 0) >= cfg.count) continue;
    const delay = nextDelay(cfg, last);
    if (delay === undefined) continue;
    consider(toMs(last.finishedAt, 'finishedAt') + delay);
  }
  return next;
}
