/**
 * The Kubernetes controller for the Argo Rollouts dialect: informers for every kind it reads, two
 * rate-limited work queues (Rollouts, AnalysisRuns) and their workers, wired to the adapters
 * (rollouts.ts, analysis-runs.ts) that call the pure engines.
 *
 * The informers run in every replica (so a standby is ready to take over at once); the workers run
 * only while `lead(signal)` holds, i.e. while this replica leads. Losing the lead aborts the signal:
 * adapters check it before each write and the queues are shut down.
 */
import type { MetricProvider, ProviderRegistry } from '../../analysis/provider.js';
import type { Rollout } from '../../api/argo/rollout.js';
import { isControlledBy, type KubeObject } from '../../routers/kubernetes/router.js';
import { AnalysisRunReconciler } from './analysis-runs.js';
import { KubeApiError, type KubeClient, type KubeJson, RESOURCES, type ResourceType } from './client.js';
import { type EventInput, EventRecorder } from './events.js';
import { Informer, objectKey } from './informer.js';
import { HASH_LABEL } from './objects.js';
import { type Caches, handledByInstance, RolloutReconciler } from './rollouts.js';
import { refersToDeployment } from './workload.js';
import { runWorkers, WorkQueue, type WorkQueueHooks } from './workqueue.js';

export type LogFn = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface ControllerOptions {
  client: KubeClient;
  /** Watch only this namespace (a namespaced install: no ClusterAnalysisTemplates, as Argo). */
  namespace?: string;
  instanceId?: string;
  providers: ProviderRegistry<MetricProvider>;
  log: LogFn;
  now?: () => number;
  /** Who writes events (the pod name in a cluster). */
  identity?: string;
  rolloutWorkers?: number;
  analysisWorkers?: number;
  /** Every Rollout is reconciled at least this often (default 5 min; Argo: 15 min). */
  resyncMs?: number;
  /**
   * Tests only: `now` runs this many times faster than the wall clock, so requeues the engine asks
   * for (pauses, analysis intervals) are shortened by the same factor. Default 1.
   */
  speed?: number;
  /** Tests only: the wall clock measurements are taken at when `now` is virtual (default `now`). */
  measureNow?: () => number;
  hooks?: {
    queue?(name: string): WorkQueueHooks;
    reconciled?(
      kind: 'rollout' | 'analysisrun',
      namespace: string,
      name: string,
      seconds: number,
      error?: unknown,
    ): void;
    event?(obj: KubeJson, e: EventInput): void;
  };
}

const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};

/** The Services a Rollout points at (a change to one of them wakes the Rollout). */
function servicesOf(r: Rollout): string[] {
  const c = r.spec.strategy?.canary;
  const b = r.spec.strategy?.blueGreen;
  return [c?.stableService, c?.canaryService, b?.activeService, b?.previewService].filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
}

export class Controller {
  readonly caches: Caches;
  private readonly informers: Informer<KubeJson>[];
  private readonly events: EventRecorder;
  private readonly now: () => number;
  private resync: NodeJS.Timeout | undefined;
  private work: { rollouts: WorkQueue<string>; runs: WorkQueue<string>; signal: AbortSignal } | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.now = o.now ?? Date.now;
    const inform = (type: ResourceType, labelSelector?: string) =>
      new Informer<KubeJson>(o.client, type, {
        ...(o.namespace && type.namespaced ? { namespace: o.namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        onError: (e) =>
          // A router's CRD that is not installed is normal (no Rollout uses it): say so quietly.
          o.log(
            e instanceof KubeApiError && e.code === 404 ? 'debug' : 'warn',
            `watch ${type.plural}: ${(e as Error).message}`,
          ),
      });
    this.caches = {
      rollouts: inform(RESOURCES.rollouts),
      replicaSets: inform(RESOURCES.replicaSets, HASH_LABEL),
      services: inform(RESOURCES.services),
      ingresses: inform(RESOURCES.ingresses),
      traefikServices: inform(RESOURCES.traefikServices),
      analysisRuns: inform(RESOURCES.analysisRuns),
      analysisTemplates: inform(RESOURCES.analysisTemplates),
      deployments: inform(RESOURCES.deployments),
      ...(o.namespace ? {} : { clusterAnalysisTemplates: inform(RESOURCES.clusterAnalysisTemplates) }),
    };
    this.informers = Object.values(this.caches).filter((i): i is Informer<KubeJson> => i !== undefined);
    this.events = new EventRecorder(o.client, {
      now: this.now,
      ...(o.identity ? { instance: o.identity } : {}),
      onError: (e) => o.log('warn', `recording an event failed: ${(e as Error).message}`),
      onEvent: (obj, e) => o.hooks?.event?.(obj, e),
    });
    this.wireHandlers();
  }

  /** Starts the informers (every replica keeps its caches warm). */
  start(): void {
    for (const i of this.informers) i.start();
  }

  /** True once the caches the workers need have their first list (router caches may be absent). */
  synced(): boolean {
    return this.informers.filter((i) => i !== this.caches.traefikServices).every((i) => i.hasSynced());
  }

  /** Problems keeping the caches current, for /healthz and logs. */
  problems(): string[] {
    return this.informers.filter((i) => i !== this.caches.traefikServices).flatMap((i) => i.problem() ?? []);
  }

  /** Rollouts and AnalysisRuns as cached (metrics are computed from them at scrape time). */
  rollouts(): KubeJson[] {
    return this.caches.rollouts.list();
  }
  analysisRuns(): KubeJson[] {
    return this.caches.analysisRuns.list();
  }

  private enqueueRollout(namespace: string | undefined, name: string): void {
    this.work?.rollouts.add(`${namespace ?? ''}/${name}`);
  }

  private enqueueOwner(obj: KubeJson): void {
    const owner = (obj.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'Rollout');
    if (owner) this.enqueueRollout(obj.metadata.namespace, owner.name);
  }

  private wireHandlers(): void {
    const c = this.caches;
    c.rollouts.on((_ev, obj) => this.enqueueRollout(obj.metadata.namespace, obj.metadata.name));
    for (const inf of [c.replicaSets, c.ingresses, c.traefikServices])
      inf.on((_ev, obj, old) => {
        this.enqueueOwner(obj);
        if (old) this.enqueueOwner(old);
      });
    c.analysisRuns.on((_ev, obj) => {
      this.enqueueOwner(obj);
      this.work?.runs.add(objectKey(obj));
    });
    c.services.on((_ev, obj) => {
      for (const r of c.rollouts.list(obj.metadata.namespace))
        if (servicesOf(r as unknown as Rollout).includes(obj.metadata.name))
          this.enqueueRollout(r.metadata.namespace, r.metadata.name);
    });
    // A Deployment a Rollout takes its template from (spec.workloadRef): a new template, a new
    // generation, or its creation after the Rollout's (which was InvalidSpec until then).
    c.deployments.on((_ev, obj) => {
      for (const r of c.rollouts.list(obj.metadata.namespace))
        if (refersToDeployment(r as unknown as Rollout, obj.metadata.name))
          this.enqueueRollout(r.metadata.namespace, r.metadata.name);
    });
    // A TraefikService or Ingress the Rollout reads but does not own (the stable one) wakes it too.
    for (const inf of [c.ingresses, c.traefikServices])
      inf.on((_ev, obj) => {
        for (const r of c.rollouts.list(obj.metadata.namespace)) {
          const tr = (r as unknown as Rollout).spec.strategy?.canary?.trafficRouting;
          const names = [
            tr?.nginx?.stableIngress,
            ...(tr?.nginx?.stableIngresses ?? []),
            tr?.traefik?.weightedTraefikServiceName,
          ];
          if (names.includes(obj.metadata.name)) this.enqueueRollout(r.metadata.namespace, r.metadata.name);
        }
      });
  }

  /**
   * Runs the workers until `signal` aborts (leadership lost or shutdown), then waits for the keys in
   * flight. Every Rollout and AnalysisRun is queued at the start.
   */
  async lead(signal: AbortSignal): Promise<void> {
    const hooks = this.o.hooks;
    const rollouts = new WorkQueue<string>({ ...(hooks?.queue ? { hooks: hooks.queue('rollout') } : {}) });
    const runs = new WorkQueue<string>({ ...(hooks?.queue ? { hooks: hooks.queue('analysisrun') } : {}) });
    this.work = { rollouts, runs, signal };
    const log = this.o.log;
    const host = {
      client: this.o.client,
      now: this.now,
      event: (obj: KubeJson, e: EventInput) => this.events.record(obj, e),
      log,
      signal,
      ...(this.o.instanceId ? { instanceId: this.o.instanceId } : {}),
    };
    const rolloutReconciler = new RolloutReconciler({ ...host, caches: this.caches });
    const runReconciler = new AnalysisRunReconciler({
      ...host,
      runs: this.caches.analysisRuns,
      providers: this.o.providers,
      ...(this.o.measureNow ? { measureNow: this.o.measureNow } : {}),
      enqueue: (ns, name) => runs.add(`${ns}/${name}`),
    });
    const enqueueAll = () => {
      for (const r of this.caches.rollouts.list()) rollouts.add(objectKey(r));
      for (const r of this.caches.analysisRuns.list()) if (this.runIsOurs(r)) runs.add(objectKey(r));
    };
    enqueueAll();
    this.resync = setInterval(enqueueAll, this.o.resyncMs ?? 300_000);
    const stop = () => {
      rollouts.shutDown();
      runs.shutDown();
    };
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    const timed =
      (
        kind: 'rollout' | 'analysisrun',
        fn: (ns: string, name: string) => Promise<{ requeueAfterMs?: number }>,
      ) =>
      async (key: string) => {
        const [ns, name] = splitKey(key);
        const t0 = performance.now();
        try {
          const out = await fn(ns, name);
          hooks?.reconciled?.(kind, ns, name, (performance.now() - t0) / 1000);
          const speed = this.o.speed ?? 1;
          return out.requeueAfterMs !== undefined && speed !== 1
            ? { requeueAfterMs: out.requeueAfterMs / speed }
            : out;
        } catch (e) {
          hooks?.reconciled?.(kind, ns, name, (performance.now() - t0) / 1000, e);
          throw e;
        }
      };
    const onError = (kind: string) => (e: unknown, key: string) => {
      // A conflict is the normal outcome of a write based on a cache that was a step behind.
      const conflict = (e as { retryable?: boolean }).retryable === true;
      log(conflict ? 'debug' : 'warn', `${kind} ${key}: ${(e as Error).message}`, { key });
    };
    await Promise.all([
      runWorkers(
        rollouts,
        this.o.rolloutWorkers ?? 4,
        timed('rollout', (ns, n) => rolloutReconciler.reconcile(ns, n)),
        onError('rollout'),
      ),
      runWorkers(
        runs,
        this.o.analysisWorkers ?? 4,
        timed('analysisrun', (ns, n) =>
          this.runIsOurs(this.caches.analysisRuns.get(ns, n))
            ? runReconciler.reconcile(ns, n)
            : Promise.resolve({}),
        ),
        onError('analysisrun'),
      ),
    ]);
    if (this.resync) clearInterval(this.resync);
    this.resync = undefined;
    this.work = undefined;
  }

  /** AnalysisRuns of this instance: owned by one of its Rollouts, or standalone with its label. */
  private runIsOurs(run: KubeJson | undefined): boolean {
    if (!run) return true; // deleted: the reconciler forgets it
    const owner = (run.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'Rollout');
    if (!owner) return handledByInstance(run, this.o.instanceId);
    const rollout = this.caches.rollouts.get(run.metadata.namespace, owner.name);
    return (
      rollout !== undefined &&
      isControlledBy(run as KubeObject, rollout.metadata.uid ?? '') &&
      handledByInstance(rollout, this.o.instanceId)
    );
  }

  stop(): void {
    for (const i of this.informers) i.stop();
    if (this.resync) clearInterval(this.resync);
  }
}
