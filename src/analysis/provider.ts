/**
 * The provider interfaces: how adapters (Kubernetes, the local runtime, the simulator) carry out the
 * engines' measurement actions (ADR 8). The engines never call a provider; they ask for a
 * measurement (an action) and read its result (an observation) on a later call.
 *
 * - `MetricProvider`: one Argo metric provider (`metric.provider.<type>`: prometheus, web, job, …),
 *   with Argo's provider verbs: run a measurement, resume a long-running one, terminate it.
 * - `CheckProvider`: one Flagger metric backend (MetricTemplate `provider.type`, or the built-in
 *   metrics): answer a resolved check with a value or an error.
 *
 * Methods may answer at once (the simulator) or asynchronously (real servers): both are allowed, so
 * one registry type serves every adapter. One file or folder per provider registers itself in a
 * `ProviderRegistry`; adding a provider touches nothing else.
 */
import type { Measurement, Metric } from '../api/argo/analysis.js';
import type { AnalysisAction, Observation } from '../engine/analysis/engine.js';
import type { MetricRequest, MetricResult } from '../engine/flagger/types.js';

export type MaybePromise<T> = T | Promise<T>;

export interface MeasureContext {
  /** Epoch ms of the measurement (the adapter's clock; virtual in the simulator). */
  now: number;
  /** The AnalysisRun (name, namespace) the measurement belongs to, for names and logs. */
  run: {
    name: string;
    namespace?: string;
    /** Its metadata.uid on Kubernetes: the Kubernetes `job` provider names and owns its Jobs by it. */
    uid?: string;
    /**
     * Its status.metricResults (count and error per metric): the Kubernetes `job` provider numbers a
     * metric's Jobs from them as Argo does, so a restarted controller finds the Job it already made.
     */
    metricResults?: readonly { name: string; count?: number; error?: number }[];
  };
  /** Values of args the host resolved (secrets); never logged. */
  argValues?: Readonly<Record<string, string>>;
  /** Aborted when the adapter stops waiting (timeouts, shutdown). */
  signal?: AbortSignal;
}

export interface MetricProvider {
  /** The key under `metric.provider` this provider handles, e.g. `prometheus`. */
  readonly type: string;
  /** Take a measurement; a long-running one answers `phase: 'Running'` with `resumeAt`. */
  run(metric: Metric, ctx: MeasureContext): MaybePromise<Observation>;
  /** Look again at a Running measurement (Argo Resume). */
  resume(metric: Metric, measurement: Measurement, ctx: MeasureContext): MaybePromise<Observation>;
  /** Stop a Running measurement's work (e.g. delete the Job); the engine already closed it. */
  terminate(metric: Metric, measurement: Measurement, ctx: MeasureContext): MaybePromise<void>;
}

/** A Flagger check with its query resolved (template variables filled in) by the adapter. */
export interface ResolvedCheck extends MetricRequest {
  /** The MetricTemplate's provider block (type, address, secretRef…), absent for built-in metrics. */
  provider?: Record<string, unknown>;
}

export interface CheckProvider {
  /** MetricTemplate `spec.provider.type` (prometheus, datadog, …) or `builtin`. */
  readonly type: string;
  check(
    request: ResolvedCheck,
    ctx: Omit<MeasureContext, 'run'> & { canary: string },
  ): MaybePromise<MetricResult>;
}

/** Providers by type; asking for an unknown type is an error that lists what is there. */
export class ProviderRegistry<P extends { readonly type: string }> {
  private readonly byType = new Map<string, P>();

  constructor(providers: readonly P[] = []) {
    for (const p of providers) this.register(p);
  }

  register(provider: P): this {
    if (this.byType.has(provider.type))
      throw new Error(`a provider for "${provider.type}" is already registered`);
    this.byType.set(provider.type, provider);
    return this;
  }

  get(type: string): P | undefined {
    return this.byType.get(type);
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }
}

/** The provider type of an Argo metric: the one key of `metric.provider`. */
export function providerType(metric: Metric): string | undefined {
  const keys = Object.keys(metric.provider ?? {});
  return keys.length === 1 ? keys[0] : undefined;
}

/**
 * Carry out an AnalysisRun reconcile's provider actions and collect the observations for the next
 * call. A provider that is missing or throws becomes an Error measurement (never a success), with a
 * message that says which; the error text is the provider's, so providers must keep secrets out of it.
 */
export async function carryOutMeasurements(
  actions: readonly AnalysisAction[],
  providers: ProviderRegistry<MetricProvider>,
  ctx: MeasureContext,
): Promise<Observation[]> {
  const out: Observation[] = [];
  for (const a of actions) {
    const r = dispatch(a, providers, ctx);
    if (r) out.push(await r);
  }
  return out.filter((o) => o.metric !== '');
}

/** The same for providers that answer at once (the simulator); a provider that returns a promise is an error. */
export function carryOutMeasurementsNow(
  actions: readonly AnalysisAction[],
  providers: ProviderRegistry<MetricProvider>,
  ctx: MeasureContext,
): Observation[] {
  const out: Observation[] = [];
  for (const a of actions) {
    const r = dispatch(a, providers, ctx);
    if (r === undefined) continue;
    if (r instanceof Promise)
      throw new Error(`the provider of metric ${'metric' in a ? a.metric : ''} answers asynchronously`);
    if (r.metric !== '') out.push(r);
  }
  return out;
}

const NONE: Observation = { metric: '' };

function dispatch(
  a: AnalysisAction,
  providers: ProviderRegistry<MetricProvider>,
  ctx: MeasureContext,
): MaybePromise<Observation> | undefined {
  // garbageCollect is for providers with external state (Job); none here keeps any yet.
  if (a.type === 'requeue' || a.type === 'garbageCollect') return undefined;
  const metric = a.resolvedMetric;
  // Termination is best effort: the measurement is closed either way, so failures report nothing.
  const after = (r: MaybePromise<void> | undefined): MaybePromise<Observation> =>
    r instanceof Promise
      ? r.then(
          () => NONE,
          () => NONE,
        )
      : NONE;
  const type = providerType(metric);
  const provider = type ? providers.get(type) : undefined;
  if (!provider) {
    if (a.type === 'terminateMeasurement') return NONE;
    const known = providers.types().join(', ') || 'none';
    return {
      metric: a.metric,
      phase: 'Error',
      message: type ? `no provider for "${type}" here (available: ${known})` : 'the metric names no provider',
    };
  }
  const fail = (e: unknown): Observation => ({
    metric: a.metric,
    phase: 'Error',
    message: e instanceof Error ? e.message : String(e),
  });
  try {
    // A terminated measurement is already closed by the engine: nothing to report back.
    if (a.type === 'terminateMeasurement') {
      try {
        return after(provider.terminate(metric, a.measurement, ctx));
      } catch {
        return NONE;
      }
    }
    const r = a.type === 'measure' ? provider.run(metric, ctx) : provider.resume(metric, a.measurement, ctx);
    if (r instanceof Promise) return r.then((o) => ({ ...o, metric: o.metric || a.metric }), fail);
    return { ...r, metric: r.metric || a.metric };
  } catch (e) {
    return fail(e);
  }
}
