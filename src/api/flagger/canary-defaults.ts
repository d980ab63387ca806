/**
 * Flagger's conditional defaults for a Canary, as pure functions (flagger.md §1.1, §1.2; upstream
 * `pkg/apis/flagger/v1beta1/canary.go` getters and `pkg/controller/scheduler.go` maxWeight /
 * nextStepWeight). They accept a Canary in any shape (validated or raw YAML) and never throw, so
 * both the rules and `vireo plan` can use them.
 */
import { parseGoDuration } from '../duration.js';
import { arr, isObj, type Loose, num, obj, str } from './loose.js';

/** A typed `Canary` or a raw manifest object; anything else reads as a Canary without a spec. */
export type CanaryInput = unknown;

export const TOTAL_WEIGHT = 100;
export const DEFAULT_ANALYSIS_INTERVAL_SECONDS = 60;
export const MIN_ANALYSIS_INTERVAL_SECONDS = 10;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_METRIC_INTERVAL = '1m';
export const DEFAULT_READY_THRESHOLD = 100;
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;
export const DEFAULT_COOKIE_MAX_AGE_SECONDS = 86_400;
export const DEFAULT_PORT_NAME = 'http';
/** Iterations Flagger forces for the `kubernetes` provider when `iterations < 1` (scheduler.go). */
export const KUBERNETES_PROVIDER_ITERATIONS = 10;
/** Metric names Flagger evaluates with its builtin queries. */
export const BUILTIN_METRICS = ['request-success-rate', 'request-duration'] as const;

export type DeploymentStrategy = 'canary' | 'ab-testing' | 'blue-green';

const specOf = (c: CanaryInput): Loose | undefined => obj(c, 'spec');

/**
 * Which field holds the analysis: `analysis`, else the deprecated `canaryAnalysis`
 * (`Canary.GetAnalysis()`), else undefined.
 */
export function analysisField(c: CanaryInput): 'analysis' | 'canaryAnalysis' | undefined {
  const spec = specOf(c);
  if (obj(spec, 'analysis')) return 'analysis';
  if (obj(spec, 'canaryAnalysis')) return 'canaryAnalysis';
  return undefined;
}

/** The analysis block, preferring `analysis` over the deprecated `canaryAnalysis`. */
export function getAnalysis(c: CanaryInput): Loose | undefined {
  const field = analysisField(c);
  return field ? obj(specOf(c), field) : undefined;
}

/** True when there is no analysis block or `skipAnalysis: true` (`Canary.SkipAnalysis()`). */
export function skipAnalysis(c: CanaryInput): boolean {
  if (!getAnalysis(c)) return true;
  return specOf(c)?.skipAnalysis === true;
}

/** The routing provider: `spec.provider`, else the controller-wide default (Flagger's `-mesh-provider`). */
export function canaryProvider(c: CanaryInput, meshProvider?: string): string | undefined {
  const p = str(specOf(c), 'provider');
  return p !== undefined && p !== '' ? p : meshProvider;
}

/**
 * The analysis tick period in seconds (`GetAnalysisInterval`): 60 when unset or not a Go duration,
 * and never less than 10.
 */
export function analysisInterval(c: CanaryInput): number {
  const text = str(getAnalysis(c), 'interval');
  if (text === undefined || text === '') return DEFAULT_ANALYSIS_INTERVAL_SECONDS;
  const ms = parseGoDuration(text);
  if (ms === undefined) return DEFAULT_ANALYSIS_INTERVAL_SECONDS;
  return Math.max(ms / 1000, MIN_ANALYSIS_INTERVAL_SECONDS);
}

/** Failed checks before rollback (`GetAnalysisThreshold`): 1 when unset or not positive. */
export function analysisThreshold(c: CanaryInput): number {
  const t = num(getAnalysis(c), 'threshold');
  return t !== undefined && t > 0 ? t : 1;
}

const stepWeightsOf = (a: Loose | undefined): number[] =>
  arr(a, 'stepWeights').map((w) => (typeof w === 'number' && Number.isFinite(w) ? w : 0));

/**
 * The weight at which the canary is promoted (`maxWeight()`, scheduler.go): with `stepWeights` the
 * last entry capped at 100 (`maxWeight` is then ignored); else `maxWeight` when positive; else 100.
 */
export function maxWeight(c: CanaryInput): number {
  const a = getAnalysis(c);
  const steps = stepWeightsOf(a);
  if (steps.length > 0) return Math.min(TOTAL_WEIGHT, steps[steps.length - 1] as number);
  const m = num(a, 'maxWeight');
  return m !== undefined && m > 0 ? m : TOTAL_WEIGHT;
}

/**
 * How much the canary weight rises from `currentWeight` on the next step (`nextStepWeight()`,
 * scheduler.go). `stepWeight` wins when positive or when there is no `stepWeights` ladder (so an
 * unset `stepWeight` yields 0 and the canary never advances). On a ladder: the first entry from 0,
 * the gap to the next entry from an entry, the rest up to 100 from anywhere else, and 1 at 100.
 */
export function nextStepWeight(c: CanaryInput, currentWeight: number): number {
  const a = getAnalysis(c);
  const step = num(a, 'stepWeight') ?? 0;
  const steps = stepWeightsOf(a);
  if (step > 0 || steps.length === 0) return step;
  const maxStep = TOTAL_WEIGHT - currentWeight;
  if (maxStep === 0) return 1;
  if (currentWeight === 0) return Math.min(maxStep, steps[0] as number);
  for (let i = 0; i < steps.length - 1; i++) {
    if (steps[i] === currentWeight) return Math.min(maxStep, (steps[i + 1] as number) - currentWeight);
  }
  return maxStep;
}

/**
 * The strategy Flagger runs (flagger.md §1.1; scheduler.go): the `kubernetes` provider always runs
 * blue/green; else `iterations > 0` with `match` is A/B testing, `iterations > 0` alone blue/green,
 * anything else a progressive canary.
 */
export function deploymentStrategy(c: CanaryInput, meshProvider?: string): DeploymentStrategy {
  if (canaryProvider(c, meshProvider) === 'kubernetes') return 'blue-green';
  const a = getAnalysis(c);
  const iterations = num(a, 'iterations') ?? 0;
  if (iterations > 0 && arr(a, 'match').length > 0) return 'ab-testing';
  if (iterations > 0) return 'blue-green';
  return 'canary';
}

/** Iterations Flagger runs: as written, except 10 for the `kubernetes` provider when below 1. */
export function analysisIterations(c: CanaryInput, meshProvider?: string): number {
  const iterations = num(getAnalysis(c), 'iterations') ?? 0;
  if (canaryProvider(c, meshProvider) === 'kubernetes' && iterations < 1)
    return KUBERNETES_PROVIDER_ITERATIONS;
  return iterations;
}

/** A metric's query window: its `interval`, else "1m" (`GetMetricInterval`). */
export function metricInterval(metric: unknown): string {
  const i = str(metric, 'interval');
  return i !== undefined && i !== '' ? i : DEFAULT_METRIC_INTERVAL;
}

/** `progressDeadlineSeconds`, else 600 (`GetProgressDeadlineSeconds`). */
export function progressDeadlineSeconds(c: CanaryInput): number {
  return num(specOf(c), 'progressDeadlineSeconds') ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
}

/** Percentage of primary pods that must be available, else 100. */
export function primaryReadyThreshold(c: CanaryInput): number {
  return num(getAnalysis(c), 'primaryReadyThreshold') ?? DEFAULT_READY_THRESHOLD;
}

/** Percentage of canary pods that must be available, else 100. */
export function canaryReadyThreshold(c: CanaryInput): number {
  return num(getAnalysis(c), 'canaryReadyThreshold') ?? DEFAULT_READY_THRESHOLD;
}

/** Apex, primary and canary Service names (`GetServiceNames`): `service.name`, else `targetRef.name`. */
export function serviceNames(c: CanaryInput): { apex: string; primary: string; canary: string } {
  const spec = specOf(c);
  const named = str(obj(spec, 'service'), 'name');
  const apex = named !== undefined && named !== '' ? named : (str(obj(spec, 'targetRef'), 'name') ?? '');
  return { apex, primary: `${apex}-primary`, canary: `${apex}-canary` };
}

/** The generated Service's port name: `service.portName`, else "http". */
export function servicePortName(c: CanaryInput): string {
  const n = str(obj(specOf(c), 'service'), 'portName');
  return n !== undefined && n !== '' ? n : DEFAULT_PORT_NAME;
}

/** The generated Service's target port: `service.targetPort`, else `service.port`. */
export function serviceTargetPort(c: CanaryInput): number | string | undefined {
  const service = obj(specOf(c), 'service');
  const tp = service?.targetPort;
  if ((typeof tp === 'number' && tp !== 0) || (typeof tp === 'string' && tp !== '')) return tp;
  return num(service, 'port');
}

/** A webhook's type; an empty or missing type means `rollout`. */
export function webhookType(webhook: unknown): string {
  const t = str(webhook, 'type');
  return t !== undefined && t !== '' ? t : 'rollout';
}

/**
 * A webhook's request timeout in seconds (webhook.go): 10 when unset or shorter than two characters,
 * else the Go duration (10 when it does not parse).
 */
export function webhookTimeoutSeconds(webhook: unknown): number {
  const t = str(webhook, 'timeout');
  if (t === undefined || t.length < 2) return DEFAULT_WEBHOOK_TIMEOUT_SECONDS;
  const ms = parseGoDuration(t);
  return ms === undefined ? DEFAULT_WEBHOOK_TIMEOUT_SECONDS : ms / 1000;
}

/** An alert's severity; empty or missing means `info`. */
export function alertSeverity(alert: unknown): string {
  const s = str(alert, 'severity');
  return s !== undefined && s !== '' ? s : 'info';
}

/** The session-affinity cookie's Max-Age: `maxAge`, else 86400 (`SessionAffinity.GetMaxAge`). */
export function cookieMaxAge(sessionAffinity: unknown): number {
  const m = num(sessionAffinity, 'maxAge');
  return m !== undefined && m !== 0 ? m : DEFAULT_COOKIE_MAX_AGE_SECONDS;
}

/**
 * A copy of the Canary with every default Flagger applies written out, so a reader (e.g.
 * `vireo plan`) sees the values Flagger would act on. Static defaults (also in the schema's
 * `default`) and conditional ones:
 * - `service.targetPort` defaults to `service.port`, `service.portName` to `http`;
 * - `progressDeadlineSeconds` 600;
 * - in the effective analysis block (`analysis`, else `canaryAnalysis`): `interval` 60s when empty,
 *   `threshold` 1 when unset or not positive, ready thresholds 100, `maxWeight` as `maxWeight()`
 *   computes it (the last `stepWeights` entry when there is a ladder);
 * - with `provider: kubernetes`: `iterations` 10 when below 1 and `match` dropped (Flagger only runs
 *   blue/green there);
 * - metrics: `interval` 1m; webhooks: `type` rollout, `timeout` 10s when shorter than two
 *   characters; alerts: `severity` info; session affinity: `maxAge` 86400.
 * The input is not changed. Anything not shaped as expected is left as written.
 */
export function applyCanaryDefaults<T>(canary: T): T {
  const out = structuredClone(canary);
  const spec = specOf(out);
  if (!spec) return out;

  if (spec.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === null)
    spec.progressDeadlineSeconds = DEFAULT_PROGRESS_DEADLINE_SECONDS;

  const service = obj(spec, 'service');
  if (service) {
    if (!str(service, 'portName')) service.portName = DEFAULT_PORT_NAME;
    const target = serviceTargetPort(out);
    if (target !== undefined) service.targetPort = target;
  }

  const analysis = getAnalysis(out);
  if (!analysis) return out;
  const resolvedMax = maxWeight(out);
  if (!str(analysis, 'interval')) analysis.interval = `${DEFAULT_ANALYSIS_INTERVAL_SECONDS}s`;
  analysis.threshold = analysisThreshold(out);
  analysis.primaryReadyThreshold = primaryReadyThreshold(out);
  analysis.canaryReadyThreshold = canaryReadyThreshold(out);
  analysis.maxWeight = resolvedMax;
  if (str(spec, 'provider') === 'kubernetes') {
    analysis.iterations = analysisIterations(out);
    delete analysis.match;
  }
  for (const m of arr(analysis, 'metrics')) if (isObj(m)) m.interval = metricInterval(m);
  for (const w of arr(analysis, 'webhooks')) {
    if (!isObj(w)) continue;
    w.type = webhookType(w);
    const t = str(w, 'timeout');
    if (t === undefined || t.length < 2) w.timeout = `${DEFAULT_WEBHOOK_TIMEOUT_SECONDS}s`;
  }
  for (const al of arr(analysis, 'alerts')) if (isObj(al)) al.severity = alertSeverity(al);
  const affinity = obj(analysis, 'sessionAffinity');
  if (affinity) affinity.maxAge = cookieMaxAge(affinity);
  return out;
}
