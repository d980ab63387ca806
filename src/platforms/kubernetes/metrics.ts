/**
 * The controller's Prometheus metrics, with Argo Rollouts' names, labels and buckets
 * (controller/metrics in argo-rollouts; reference section 1.13), so that dashboards and alerts written
 * for Argo's controller work unchanged. Served by `startControllerServer` on the metrics port.
 *
 * - Object state (`rollout_info`, `analysis_run_info`, ...) is computed at scrape time from callbacks
 *   over the informers' caches, as Argo's collectors list their listers: nothing to keep in sync.
 * - Reconcile durations and errors, events and API requests are recorded by the controller through
 *   the methods below; the work queues report through `workQueueHooks(name)`.
 * - Everything lives in the instance's own `Registry`, so tests and several controllers in one
 *   process do not share state.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { metricNameMatches } from '../../api/argo/analysis-rules.js';
import { KubeApiError, type KubeClient, type KubeJson, type ResourceType } from './client.js';
import { discardLogger, type Logger } from './log.js';
import type { WorkQueueHooks } from './workqueue.js';

/** The parts of a Rollout (as the API server sends it) that the metrics read. */
export interface RolloutJson {
  metadata: { name: string; namespace?: string };
  spec?: {
    replicas?: number;
    strategy?: {
      canary?: { trafficRouting?: Record<string, unknown> | null } | null;
      blueGreen?: unknown;
    };
  };
  status?: {
    replicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    conditions?: { type: string; reason?: string }[];
  };
}

/** The parts of an AnalysisRun that the metrics read. */
export interface AnalysisRunJson {
  metadata: { name: string; namespace?: string };
  spec?: {
    metrics?: { name: string; provider?: Record<string, unknown> }[];
    dryRun?: { metricName: string }[];
  };
  status?: { phase?: string; metricResults?: { name: string; phase?: string }[] };
}

export interface ControllerMetricsOptions {
  /** Vireo's version, the label of `vireo_controller_info`. */
  version: string;
  /** The Rollouts to report, read at each scrape (e.g. the informer cache's list). */
  rollouts?: () => Iterable<RolloutJson>;
  /** The AnalysisRuns to report, read at each scrape. */
  analysisRuns?: () => Iterable<AnalysisRunJson>;
  /** Node.js process metrics, as Argo exports Go's (default true). */
  defaultMetrics?: boolean;
  /** Where a failing callback is reported (the scrape then leaves its objects out). */
  log?: Logger;
}

/** Argo's reconcile histogram buckets, in seconds. */
export const RECONCILE_BUCKETS = [0.01, 0.15, 0.25, 0.5, 1];
/** client-go's work queue duration buckets: 10 ns to 10 s, by factors of 10. */
export const WORKQUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => Number(`1e${i - 8}`));

/** The phases Argo reports in `rollout_phase`, and `rollout_info` with InvalidSpec. */
const ROLLOUT_PHASES = ['Completed', 'Progressing', 'Paused', 'Timeout', 'Error', 'Abort'] as const;
const ANALYSIS_PHASES = ['Pending', 'Error', 'Failed', 'Successful', 'Running', 'Inconclusive'] as const;

/** Argo's `metricproviders.Type`: the first provider set, in Argo's order, by its type name. */
const PROVIDER_TYPES: [string, string][] = [
  ['prometheus', 'Prometheus'],
  ['job', 'Job'],
  ['kayenta', 'Kayenta'],
  ['web', 'Web'],
  ['datadog', 'Datadog'],
  ['wavefront', 'Wavefront'],
  ['newRelic', 'NewRelic'],
  ['cloudWatch', 'CloudWatch'],
  ['graphite', 'Graphite'],
  ['influxdb', 'Influxdb'],
  ['skywalking', 'skywalking'],
  ['plugin', 'RPCPlugin'],
];

/**
 * Argo's traffic_router label: the last match in this order wins. Routers Argo does not name here
 * (traefik, apisix, plugins) get '' there too, and so they do here.
 */
const TRAFFIC_ROUTERS: [string, string][] = [
  ['alb', 'ALB'],
  ['ambassador', 'Ambassador'],
  ['istio', 'Istio'],
  ['nginx', 'Nginx'],
  ['smi', 'SMI'],
  ['appMesh', 'AppMesh'],
];

/** Argo names no object in the request counter for these kinds (too many objects). */
const UNNAMED_KINDS = new Set(['events', 'replicasets', 'analysisruns', 'jobs', 'experiments']);

/** Argo's verbs (argoproj/pkg kubeclientmetrics). */
export type KubeVerb = 'Get' | 'List' | 'Watch' | 'Create' | 'Update' | 'Patch' | 'Delete' | 'Unknown';

export interface KubeRequest {
  /** The resource, plural and lower case as in the URL (`rollouts`, `replicasets`). */
  kind: string;
  namespace?: string;
  name?: string;
  verb: KubeVerb;
  /** HTTP status; 0 when no answer came. */
  statusCode: number;
}

/** `strategy` and `traffic_router` of `rollout_info`, as Argo computes them. */
export function rolloutStrategy(r: RolloutJson): { strategy: string; trafficRouter: string } {
  const s = r.spec?.strategy;
  if (s?.blueGreen) return { strategy: 'blueGreen', trafficRouter: '' };
  if (!s?.canary) return { strategy: 'none', trafficRouter: '' };
  const routing = s.canary.trafficRouting ?? {};
  let trafficRouter = '';
  for (const [key, label] of TRAFFIC_ROUTERS) if (routing[key] != null) trafficRouter = label;
  return { strategy: 'canary', trafficRouter };
}

/**
 * The phase of `rollout_info` (Argo's metrics phase, not `status.phase`): from the Progressing
 * condition's reason, and InvalidSpec over everything.
 */
export function rolloutMetricPhase(r: RolloutJson): string {
  const conditions = r.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'InvalidSpec')) return 'InvalidSpec';
  switch (conditions.find((c) => c.type === 'Progressing')?.reason) {
    case 'NewReplicaSetAvailable':
      return 'Completed';
    case 'RolloutPaused':
      return 'Paused';
    case 'ReplicaSetCreateError':
      return 'Error';
    case 'ProgressDeadlineExceeded':
      return 'Timeout';
    case 'RolloutAborted':
      return 'Abort';
    default:
      return 'Progressing';
  }
}

/** The `type` label of an analysis metric, as Argo names its provider. */
export function metricProviderType(provider: Record<string, unknown> | undefined): string {
  for (const [key, label] of PROVIDER_TYPES) if (provider?.[key] != null) return label;
  return 'Unknown Provider';
}

const flag = (b: boolean): number => (b ? 1 : 0);

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly rolloutReconcile: Histogram<'namespace' | 'name'>;
  private readonly rolloutReconcileErrors: Counter<'namespace' | 'name'>;
  private readonly rolloutEvents: Counter<'namespace' | 'name' | 'type' | 'reason'>;
  private readonly analysisRunReconcile: Histogram<'namespace' | 'name'>;
  private readonly analysisRunReconcileErrors: Counter<'namespace' | 'name'>;
  private readonly k8sRequests: Counter<'kind' | 'namespace' | 'name' | 'verb' | 'status_code'>;
  private readonly queueAdds: Counter<'name'>;
  private readonly queueDepth: Gauge<'name'>;
  private readonly queueRetries: Counter<'name'>;
  private readonly queueLatency: Histogram<'name'>;
  private readonly queueWork: Histogram<'name'>;

  constructor(opts: ControllerMetricsOptions) {
    const registers = [this.registry];
    const log = opts.log ?? discardLogger;
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'vireo_controller_info',
      help: 'Running Vireo version.',
      labelNames: ['version'],
      registers,
    }).set({ version: opts.version }, 1);

    // Reads a callback's objects for one scrape; a failure leaves them out, as Argo's collectors do.
    const read = <T>(what: string, list: (() => Iterable<T>) | undefined): T[] => {
      if (!list) return [];
      try {
        return [...list()];
      } catch (e) {
        log.warn(`Failed to collect ${what}`, { error: e });
        return [];
      }
    };
    /** A gauge set from the objects at each scrape. */
    const scraped = <L extends string, T>(
      name: string,
      help: string,
      labelNames: L[],
      objects: () => T[],
      fill: (set: (labels: Record<L, string>, value: number) => void, o: T) => void,
    ): void => {
      const gauge: Gauge<L> = new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect: () => {
          gauge.reset();
          for (const o of objects()) fill((labels, value) => gauge.set(labels, value), o);
        },
      });
    };

    const rollouts = () => read('rollouts', opts.rollouts);
    const who = (o: { metadata: { name: string; namespace?: string } }) => ({
      namespace: o.metadata.namespace ?? '',
      name: o.metadata.name,
    });
    const nn: ('namespace' | 'name')[] = ['namespace', 'name'];
    scraped(
      'rollout_info',
      'Information about rollout.',
      [...nn, 'strategy', 'traffic_router', 'phase'],
      rollouts,
      (set, r) => {
        const { strategy, trafficRouter } = rolloutStrategy(r);
        set({ ...who(r), strategy, traffic_router: trafficRouter, phase: rolloutMetricPhase(r) }, 1);
      },
    );
    const replicas: [string, (r: RolloutJson) => number][] = [
      ['available', (r) => r.status?.availableReplicas ?? 0],
      ['unavailable', (r) => (r.status?.replicas ?? 0) - (r.status?.availableReplicas ?? 0)],
      ['desired', (r) => r.spec?.replicas ?? 1],
      ['updated', (r) => r.status?.updatedReplicas ?? 0],
    ];
    for (const [what, value] of replicas)
      scraped(
        `rollout_info_replicas_${what}`,
        `The number of ${what} replicas per rollout.`,
        nn,
        rollouts,
        (set, r) => set(who(r), value(r)),
      );
    scraped(
      'rollout_phase',
      'Information on the state of the rollout (DEPRECATED - use rollout_info)',
      [...nn, 'strategy', 'phase'],
      rollouts,
      (set, r) => {
        const { strategy } = rolloutStrategy(r);
        const current = rolloutMetricPhase(r);
        for (const phase of ROLLOUT_PHASES) set({ ...who(r), strategy, phase }, flag(current === phase));
      },
    );

    const runs = () => read('analysis runs', opts.analysisRuns);
    const runPhase = (phase: string | undefined) => phase || 'Pending';
    scraped('analysis_run_info', 'Information about analysis run.', [...nn, 'phase'], runs, (set, ar) =>
      set({ ...who(ar), phase: ar.status?.phase ?? '' }, 1),
    );
    scraped(
      'analysis_run_phase',
      'Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)',
      [...nn, 'phase'],
      runs,
      (set, ar) => {
        const current = runPhase(ar.status?.phase);
        for (const phase of ANALYSIS_PHASES) set({ ...who(ar), phase }, flag(current === phase));
      },
    );
    scraped(
      'analysis_run_metric_type',
      'Information on the type of a specific metric in the Analysis Runs',
      [...nn, 'metric', 'type'],
      runs,
      (set, ar) => {
        for (const m of ar.spec?.metrics ?? [])
          set({ ...who(ar), metric: m.name, type: metricProviderType(m.provider) }, 1);
      },
    );
    scraped(
      'analysis_run_metric_phase',
      'Information on the duration of a specific metric in the Analysis Run',
      [...nn, 'metric', 'type', 'dry_run', 'phase'],
      runs,
      (set, ar) => {
        const dryRules = ar.spec?.dryRun ?? [];
        for (const m of ar.spec?.metrics ?? []) {
          const type = metricProviderType(m.provider);
          const dry = String(dryRules.some((rule) => metricNameMatches(rule.metricName, m.name)));
          const current = runPhase(ar.status?.metricResults?.find((x) => x.name === m.name)?.phase);
          for (const phase of ANALYSIS_PHASES)
            set({ ...who(ar), metric: m.name, type, dry_run: dry, phase }, flag(current === phase));
        }
      },
    );

    this.rolloutReconcile = new Histogram({
      name: 'rollout_reconcile',
      help: 'Rollout reconciliation performance.',
      labelNames: nn,
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.rolloutReconcileErrors = new Counter({
      name: 'rollout_reconcile_error',
      help: 'Error occurring during the rollout',
      labelNames: nn,
      registers,
    });
    this.rolloutEvents = new Counter({
      name: 'rollout_events_total',
      help: 'Count of rollout events',
      labelNames: [...nn, 'type', 'reason'],
      registers,
    });
    this.analysisRunReconcile = new Histogram({
      name: 'analysis_run_reconcile',
      help: 'Analysis Run reconciliation performance.',
      labelNames: nn,
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.analysisRunReconcileErrors = new Counter({
      name: 'analysis_run_reconcile_error',
      help: 'Error occurring during the analysis run',
      labelNames: nn,
      registers,
    });
    this.k8sRequests = new Counter({
      name: 'controller_clientset_k8s_request_total',
      help: 'Number of kubernetes requests executed during application reconciliation.',
      labelNames: ['kind', 'namespace', 'name', 'verb', 'status_code'],
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueLatency = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested.',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.queueWork = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
  }

  /** One reconcile of a Rollout took `seconds` (success or not). */
  rolloutReconciled(namespace: string, name: string, seconds: number): void {
    this.rolloutReconcile.observe({ namespace, name }, seconds);
  }

  rolloutReconcileError(namespace: string, name: string): void {
    this.rolloutReconcileErrors.inc({ namespace, name });
  }

  /** An event was recorded for a Rollout (`type` Normal or Warning). */
  rolloutEvent(namespace: string, name: string, type: string, reason: string): void {
    this.rolloutEvents.inc({ namespace, name, type, reason });
  }

  analysisRunReconciled(namespace: string, name: string, seconds: number): void {
    this.analysisRunReconcile.observe({ namespace, name }, seconds);
  }

  analysisRunReconcileError(namespace: string, name: string): void {
    this.analysisRunReconcileErrors.inc({ namespace, name });
  }

  /** One request to the API server; lists, watches and high-volume kinds are not named, as in Argo. */
  k8sRequest(r: KubeRequest): void {
    const unnamed = r.verb === 'List' || r.verb === 'Watch' || UNNAMED_KINDS.has(r.kind);
    const unknown = r.verb === 'Unknown';
    this.k8sRequests.inc({
      kind: unknown ? 'Unknown' : r.kind,
      namespace: unknown ? 'Unknown' : (r.namespace ?? ''),
      name: unknown ? 'Unknown' : unnamed ? 'N/A' : (r.name ?? ''),
      verb: r.verb,
      status_code: String(r.statusCode),
    });
  }

  /**
   * `client` with every call counted in `controller_clientset_k8s_request_total`. The JSON client
   * does not expose the status of a success, so successes count as 200 (201 for a create); errors
   * carry the API server's code (0 when no answer came).
   */
  instrumentClient(client: KubeClient): KubeClient {
    const count = async <T>(
      type: ResourceType,
      verb: KubeVerb,
      namespace: string | undefined,
      name: string | undefined,
      call: () => Promise<T>,
      okCode = 200,
    ): Promise<T> => {
      const base = { kind: type.plural, namespace: type.namespaced ? namespace : undefined, name, verb };
      try {
        const out = await call();
        // `get` reports a missing object as undefined, from a 404.
        this.k8sRequest({ ...base, statusCode: verb === 'Get' && out === undefined ? 404 : okCode });
        return out;
      } catch (e) {
        this.k8sRequest({ ...base, statusCode: e instanceof KubeApiError ? e.code : 0 });
        throw e;
      }
    };
    const ns = (o: KubeJson) => o.metadata.namespace;
    return {
      get: (type, namespace, name, sub) =>
        count(type, 'Get', namespace, name, () => client.get(type, namespace, name, sub)),
      list: (type, namespace, o) =>
        count(type, 'List', namespace, undefined, () => client.list(type, namespace, o)),
      create: (type, obj, o) =>
        count(type, 'Create', ns(obj), obj.metadata.name, () => client.create(type, obj, o), 201),
      replace: (type, obj, o) =>
        count(type, 'Update', ns(obj), obj.metadata.name, () => client.replace(type, obj, o)),
      patch: (type, namespace, name, p, o) =>
        count(type, 'Patch', namespace, name, () => client.patch(type, namespace, name, p, o)),
      delete: (type, namespace, name, o) =>
        count(type, 'Delete', namespace, name, () => client.delete(type, namespace, name, o)),
      watch: (type, namespace, o, onEvent, done) =>
        count(type, 'Watch', namespace, undefined, () => client.watch(type, namespace, o, onEvent, done)),
    } as KubeClient;
  }

  /** The hooks that feed the `workqueue_*` metrics of the queue `name` (e.g. `rollouts`). */
  workQueueHooks(name: string): WorkQueueHooks {
    const labels = { name };
    this.queueDepth.set(labels, 0);
    return {
      add: () => this.queueAdds.inc(labels),
      depth: (n) => this.queueDepth.set(labels, n),
      retry: () => this.queueRetries.inc(labels),
      queueLatency: (s) => this.queueLatency.observe(labels, s),
      workDuration: (s) => this.queueWork.observe(labels, s),
    };
  }

  /** The exposition text, as served on /metrics. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
