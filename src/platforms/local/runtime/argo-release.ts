/**
 * The local runtime's adapter for one Argo Rollout: observes the replica processes (Supervisor), the
 * router state and the AnalysisRuns, calls the pure engines (reconcileCanary / reconcileBlueGreen,
 * reconcileAnalysisRun) and carries out their actions. It decides nothing itself (ADR 0006).
 *
 * Two kinds of work, each serialised on its own:
 * - the rollout reconcile (`reconcile`), woken by its requeue, pod changes, AnalysisRun phase changes
 *   and user actions;
 * - one worker per running AnalysisRun (`measure`), since measurements may take seconds (a web
 *   provider's timeout) and must not hold the rollout back.
 * Both change the in-memory record between awaits only, then ask the host to save it.
 */

import {
  carryOutMeasurements,
  type MetricProvider,
  type ProviderRegistry,
} from '../../../analysis/provider.js';
import type { AnalysisRun, AnalysisTemplateSpec, ArgInput } from '../../../api/argo/analysis.js';
import { podTemplateHash } from '../../../api/argo/pod-template-hash.js';
import type { Rollout } from '../../../api/argo/rollout.js';
import { isCompleted, type Observation, reconcileAnalysisRun } from '../../../engine/analysis/engine.js';
import { buildAnalysisRun, type TemplateKind } from '../../../engine/analysis/templates.js';
import { type BlueGreenAction, reconcileBlueGreen } from '../../../engine/argo/bluegreen.js';
import { reconcileCanary } from '../../../engine/argo/machine.js';
import type { CanaryObservation, ObservedReplicaSet } from '../../../engine/argo/types.js';
import type { ReleaseEventView } from '../../../views/release.js';
import type { ReplicaSpec, Supervisor } from '../processes/supervisor.js';
import type { Upstream } from '../proxy/routing.js';
import { ReconcileLoop } from './loop.js';
import {
  type ArgoReleaseRecord,
  MAX_COMPLETED_RUNS,
  MAX_EVENTS,
  type PodTemplate,
  type VersionRecord,
} from './record.js';
import { replicaSpecOf } from './replica-spec.js';

export interface ReleaseHost {
  /** Wall clock, epoch ms. */
  now(): number;
  supervisor: Supervisor;
  providers: ProviderRegistry<MetricProvider>;
  template(kind: TemplateKind, namespace: string, name: string): { spec?: AnalysisTemplateSpec } | undefined;
  /** A Secret's value (data decoded), for valueFrom.secretKeyRef; never logged. */
  secret(namespace: string, name: string, key: string): string | undefined;
  /** The record changed: save it (the host serialises writes). */
  save(): void;
  /** Endpoints or router state changed: recompute the listeners. */
  routesChanged(): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

/** How long a measurement may take before it is an Error (a provider's own timeout is usually shorter). */
const MEASURE_TIMEOUT_MS = 60_000;
/** Resync when nothing else wakes the rollout (watches cover the rest). */
const RESYNC_MS = 10_000;
/**
 * After a reconcile that acted, look again soon: on Kubernetes the controller's own writes come back
 * as watch events; here the changed record is the event.
 */
const AFTER_ACTION_MS = 100;

export class ArgoRelease {
  private readonly loop: ReconcileLoop;
  private readonly runTimers = new Map<string, NodeJS.Timeout>();
  private readonly measuring = new Set<string>();
  private readonly pending = new Map<string, Observation[]>();
  private closed = false;
  /** Last transition shown in the log, to log changes only. */
  private lastShown = '';

  constructor(
    public record: ArgoReleaseRecord,
    private readonly host: ReleaseHost,
  ) {
    this.loop = new ReconcileLoop({
      now: host.now,
      pass: async () => Math.min((await this.reconcile()) ?? RESYNC_MS, RESYNC_MS),
      onError: (e) => host.log('error', `rollout ${this.namespace}/${this.name}: ${(e as Error).stack ?? e}`),
      retryMs: RESYNC_MS,
    });
  }

  get namespace(): string {
    return this.record.rollout.metadata?.namespace ?? 'default';
  }
  get name(): string {
    return this.record.rollout.metadata?.name ?? '';
  }
  versionName(hash: string): string {
    return `${this.namespace}.${this.name}-${hash}`;
  }

  /** After a (re)start: bring every version back to its replicas and resume the runs. */
  async start(): Promise<void> {
    for (const v of Object.values(this.record.versions))
      await this.host.supervisor.scale(this.versionName(v.hash), this.replicaSpec(v.template), v.replicas);
    this.wake(0);
    void this.resumeRunsWhenReady();
  }

  /**
   * After a restart the replicas start again; a measurement taken before they are ready would judge
   * the runtime's restart, not the version. Runs resume once every version is back at its available
   * replicas (at most 30 s).
   */
  private async resumeRunsWhenReady(): Promise<void> {
    const end = this.host.now() + 30_000;
    const notReady = () =>
      Object.values(this.record.versions).some(
        (v) => (this.host.supervisor.status(this.versionName(v.hash))?.availableReplicas ?? 0) < v.replicas,
      );
    while (!this.closed && this.host.now() < end && notReady()) await new Promise((r) => setTimeout(r, 100));
    for (const name of Object.keys(this.record.runs)) this.wakeRun(name, 0);
  }

  close(): void {
    this.closed = true;
    this.loop.close();
    for (const t of this.runTimers.values()) clearTimeout(t);
    this.runTimers.clear();
  }

  /** Reconcile the rollout within `ms` (earlier wakes win). */
  wake(ms = 0): void {
    this.loop.wake(ms);
  }

  /** Runs one reconcile now, or right after the one in progress. */
  runReconcile(): Promise<void> {
    return this.loop.run();
  }

  /** The spec changed (apply); status is kept, as the API server keeps it. */
  updateSpec(rollout: Rollout): void {
    this.record.rollout = { ...rollout, status: this.record.rollout.status };
    this.host.save();
    this.wake(0);
  }

  /** A user action: a pure change of the Rollout (user-actions.ts), then a reconcile. */
  act(change: (r: Rollout) => Rollout): void {
    this.record.rollout = change(this.record.rollout);
    this.host.save();
    this.wake(0);
  }

  /** Every version to 0 replicas and forgotten (the Rollout was deleted). */
  async teardown(): Promise<void> {
    this.close();
    for (const v of Object.values(this.record.versions)) {
      const name = this.versionName(v.hash);
      await this.host.supervisor.scale(name, this.replicaSpec(v.template), 0);
      await this.host.supervisor.remove(name);
    }
  }

  templateLabels(t: PodTemplate | undefined): Record<string, string> {
    return ((t?.metadata?.labels ?? {}) as Record<string, string>) ?? {};
  }

  /** The ready replicas of each version, for the router. */
  endpoints(): { hash: string; labels: Record<string, string>; upstreams: Upstream[] }[] {
    return Object.values(this.record.versions).map((v) => ({
      hash: v.hash,
      labels: this.templateLabels(v.template),
      upstreams: this.host.supervisor.endpoints(this.versionName(v.hash)),
    }));
  }

  ownsVersion(versionName: string): boolean {
    return Object.values(this.record.versions).some((v) => this.versionName(v.hash) === versionName);
  }

  currentHash(): string {
    return podTemplateHash(
      this.record.rollout.spec.template,
      this.record.rollout.status?.collisionCount ?? 0,
    );
  }

  private nextRevision(): number {
    return Math.max(0, ...Object.values(this.record.versions).map((v) => v.revision)) + 1;
  }

  private observe(): CanaryObservation {
    const status = this.record.rollout.status ?? {};
    const podHash = this.currentHash();
    const restartAt = this.record.rollout.spec.restartAt;
    const restartMs =
      restartAt && status.restartedAt !== restartAt ? Date.parse(String(restartAt)) : Number.NaN;
    const rs = (v: VersionRecord): ObservedReplicaSet => {
      const s = this.host.supervisor.status(this.versionName(v.hash));
      return {
        hash: v.hash,
        replicas: v.replicas,
        availableReplicas: s?.availableReplicas ?? 0,
        currentReplicas: (s?.currentReplicas ?? 0) + (s?.terminatingReplicas ?? 0),
        readyReplicas: s?.readyReplicas ?? 0,
        createdAt: v.createdAt,
        ...(v.podMetadata ? { podMetadata: v.podMetadata } : {}),
        ...(Number.isFinite(restartMs)
          ? { podsToRestart: this.host.supervisor.countStartedBefore(this.versionName(v.hash), restartMs) }
          : {}),
      };
    };
    const versions = Object.values(this.record.versions);
    const stable = versions.find((v) => v.hash === status.stableRS);
    const current = versions.find((v) => v.hash === podHash);
    const older = versions.filter((v) => v !== stable && v !== current).map(rs);
    const analysisRuns: NonNullable<CanaryObservation['analysisRuns']> = {};
    for (const [name, r] of Object.entries(this.record.runs))
      analysisRuns[name] = {
        phase: r.run.status?.phase || 'Pending',
        ...(r.run.status?.message ? { message: r.run.status.message } : {}),
      };
    const routed = this.record.rollout.spec.strategy?.canary?.trafficRouting !== undefined;
    const routes = [...this.record.router.headerRoutes, ...this.record.router.mirrorRoutes].map(
      (r) => r.name,
    );
    return {
      podHash,
      revision: current?.revision ?? this.nextRevision(),
      replicaSets: {
        ...(stable ? { stable: rs(stable) } : {}),
        ...(current ? { canary: rs(current) } : {}),
        older,
      },
      ...(routed ? { weights: { canary: this.record.router.weight } } : {}),
      analysisRuns,
      managedRoutes: routes,
    };
  }

  /** One rollout reconcile; returns the requeue the engine asked for (ms). */
  async reconcile(): Promise<number | undefined> {
    // The template went back to an existing ReplicaSet (undo): as Argo, it takes the next revision.
    const current = this.record.versions[this.currentHash()];
    if (current && Object.values(this.record.versions).some((v) => v.revision > current.revision))
      current.revision = this.nextRevision();
    const rollout = this.record.rollout;
    const now = this.host.now();
    const observed = this.observe();
    const reconcile = rollout.spec.strategy?.blueGreen ? reconcileBlueGreen : reconcileCanary;
    const res = reconcile(rollout, observed, new Date(now));
    this.record.rollout = { ...rollout, status: res.status };
    const requeue = await this.carryOut(res.actions, observed.podHash, now);
    const shown = `${res.transition}/${res.status.phase}/${res.status.currentStepIndex ?? ''}/${res.status.message ?? ''}`;
    if (shown !== this.lastShown) {
      this.lastShown = shown;
      this.host.log(
        'info',
        `rollout ${this.namespace}/${this.name}: ${res.transition} -> phase ${res.status.phase}${res.status.currentStepIndex !== undefined ? `, step ${res.status.currentStepIndex}` : ''}${res.status.message ? ` (${res.status.message})` : ''}`,
      );
    }
    this.trimRuns();
    this.host.save();
    return requeue;
  }

  private async carryOut(
    actions: readonly BlueGreenAction[],
    podHash: string,
    now: number,
  ): Promise<number | undefined> {
    const sup = this.host.supervisor;
    let requeue: number | undefined;
    let routes = false;
    for (const a of actions) {
      switch (a.type) {
        case 'CreateReplicaSet': {
          const template = this.record.rollout.spec.template as PodTemplate;
          const existing = this.record.versions[a.hash];
          const v: VersionRecord = existing
            ? {
                ...existing,
                replicas: a.replicas,
                revision: a.hash === podHash ? this.nextRevision() : existing.revision,
              }
            : {
                hash: a.hash,
                revision: this.nextRevision(),
                template: structuredClone(template),
                replicas: a.replicas,
                createdAt: new Date(now).toISOString(),
              };
          this.record.versions[a.hash] = v;
          await sup.scale(this.versionName(a.hash), this.replicaSpec(v.template), a.replicas);
          this.event(
            'Normal',
            'NewReplicaSetCreated',
            `Created ReplicaSet ${this.name}-${a.hash} (revision ${v.revision}) with size ${a.replicas}`,
            now,
            false,
          );
          routes = true;
          break;
        }
        case 'ScaleReplicaSet': {
          const v = this.record.versions[a.hash];
          if (!v) break;
          if (v.replicas !== a.replicas) {
            this.event(
              'Normal',
              'ScalingReplicaSet',
              `Scaled ReplicaSet ${this.name}-${a.hash} (revision ${v.revision}) from ${v.replicas} to ${a.replicas}`,
              now,
              false,
            );
            v.replicas = a.replicas;
          }
          await sup.scale(this.versionName(a.hash), this.replicaSpec(v.template), a.replicas);
          routes = true;
          break;
        }
        case 'DeleteReplicaSet': {
          const v = this.record.versions[a.hash];
          if (!v) break;
          const name = this.versionName(a.hash);
          await sup.scale(name, this.replicaSpec(v.template), 0);
          delete this.record.versions[a.hash];
          void sup.remove(name).catch(() => {});
          routes = true;
          break;
        }
        case 'SetWeight':
          if (this.record.router.weight !== a.canary) {
            this.record.router.weight = a.canary;
            routes = true;
          }
          break;
        case 'SwitchServiceSelector':
          if (this.record.router.selectors[a.service] !== a.hash) {
            this.record.router.selectors[a.service] = a.hash;
            routes = true;
          }
          break;
        case 'SetHeaderRoute': {
          const r = this.record.router;
          r.headerRoutes = r.headerRoutes.filter((h) => h.name !== a.name);
          if (a.match.length > 0) r.headerRoutes.push({ name: a.name, match: a.match });
          routes = true;
          break;
        }
        case 'SetMirrorRoute': {
          const r = this.record.router;
          r.mirrorRoutes = r.mirrorRoutes.filter((m) => m.name !== a.name);
          if (a.match.length > 0)
            r.mirrorRoutes.push({
              name: a.name,
              match: a.match,
              ...(a.percentage !== undefined ? { percentage: a.percentage } : {}),
            });
          routes = true;
          break;
        }
        case 'RemoveManagedRoutes': {
          const r = this.record.router;
          const names = new Set(a.names);
          r.headerRoutes = r.headerRoutes.filter((h) => !names.has(h.name));
          r.mirrorRoutes = r.mirrorRoutes.filter((m) => !names.has(m.name));
          routes = true;
          break;
        }
        case 'CreateAnalysisRun':
          this.createRun(a, podHash);
          break;
        case 'TerminateAnalysisRun': {
          const r = this.record.runs[a.name];
          if (r && !isCompleted(r.run.status?.phase)) {
            r.run = { ...r.run, spec: { ...r.run.spec, terminate: true } };
            this.wakeRun(a.name, 0);
          }
          break;
        }
        case 'RestartPods':
          await sup.restartReplicas(this.versionName(a.hash), a.count, Date.parse(a.before));
          break;
        case 'SetPodMetadata': {
          const v = this.record.versions[a.hash];
          if (v) v.podMetadata = { labels: a.labels, annotations: a.annotations };
          break;
        }
        case 'EmitEvent':
          this.event(a.eventType, a.reason, a.message, now);
          break;
        case 'RequeueAfter':
          requeue = requeue === undefined ? a.ms : Math.min(requeue, a.ms);
          break;
        default:
          break;
      }
    }
    if (routes) this.host.routesChanged();
    const acted = actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'RequeueAfter');
    return acted ? Math.min(requeue ?? AFTER_ACTION_MS, AFTER_ACTION_MS) : requeue;
  }

  event(
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    now = this.host.now(),
    log = true,
  ): void {
    const e: ReleaseEventView = { at: new Date(now).toISOString(), type, reason, message };
    this.record.events.push(e);
    if (this.record.events.length > MAX_EVENTS)
      this.record.events.splice(0, this.record.events.length - MAX_EVENTS);
    if (log)
      this.host.log(
        type === 'Warning' ? 'warn' : 'info',
        `rollout ${this.namespace}/${this.name}: ${reason}: ${message}`,
      );
  }

  /** The container the replicas run (replica-spec.ts). */
  replicaSpec(template: PodTemplate | undefined): ReplicaSpec {
    return replicaSpecOf(
      template,
      (name, key) => this.host.secret(this.namespace, name, key),
      this.record.rollout.spec.minReadySeconds,
    );
  }

  // ------------------------------------------------------------------------------------------
  // AnalysisRuns

  private createRun(a: Extract<BlueGreenAction, { type: 'CreateAnalysisRun' }>, podHash: string): void {
    if (this.record.runs[a.name]) return; // recorded already (a restart between create and status)
    const ns = this.namespace;
    const stable = this.record.rollout.status?.stableRS;
    const built = buildAnalysisRun(
      {
        name: a.name,
        namespace: ns,
        templates: a.templates,
        args: a.args as ArgInput[],
        ...(a.dryRun ? { dryRun: a.dryRun } : {}),
        ...(a.measurementRetention ? { measurementRetention: a.measurementRetention } : {}),
        podTemplateHashes: { Latest: podHash, ...(stable ? { Stable: stable } : {}) },
        owner: this.record.rollout,
      },
      (kind, name) => this.host.template(kind, ns, name),
    );
    const now = new Date(this.host.now()).toISOString();
    const run: AnalysisRun = built.ok
      ? {
          ...built.run,
          metadata: { ...built.run.metadata, creationTimestamp: now } as AnalysisRun['metadata'],
        }
      : {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'AnalysisRun',
          metadata: { name: a.name, namespace: ns },
          spec: { metrics: [] },
          status: { phase: 'Error', message: built.message },
        };
    const revision = this.record.versions[podHash]?.revision ?? this.nextRevision();
    this.record.runs[a.name] = { run, kind: a.kind, revision };
    this.event('Normal', 'AnalysisRunCreated', `${a.kind} AnalysisRun ${a.name} created`, undefined, true);
    if (!built.ok) this.event('Warning', 'AnalysisRunError', `AnalysisRun ${a.name}: ${built.message}`);
    this.wakeRun(a.name, 0);
  }

  /** Completed runs beyond the limit are dropped, oldest first. */
  private trimRuns(): void {
    const referenced = new Set<string>();
    const s = this.record.rollout.status;
    for (const r of [
      s?.canary?.currentStepAnalysisRunStatus,
      s?.canary?.currentBackgroundAnalysisRunStatus,
      s?.blueGreen?.prePromotionAnalysisRunStatus,
      s?.blueGreen?.postPromotionAnalysisRunStatus,
    ])
      if (r?.name) referenced.add(r.name);
    const done = Object.entries(this.record.runs).filter(
      ([n, r]) => isCompleted(r.run.status?.phase) && !referenced.has(n),
    );
    const excess = done.length - MAX_COMPLETED_RUNS;
    if (excess <= 0) return;
    done.sort(([, a], [, b]) =>
      String(a.run.status?.startedAt ?? '').localeCompare(String(b.run.status?.startedAt ?? '')),
    );
    for (const [n] of done.slice(0, excess)) delete this.record.runs[n];
  }

  wakeRun(name: string, ms: number): void {
    if (this.closed) return;
    const old = this.runTimers.get(name);
    if (old) clearTimeout(old);
    this.runTimers.set(
      name,
      setTimeout(
        () => {
          this.runTimers.delete(name);
          void this.measure(name);
        },
        Math.max(0, ms),
      ),
    );
  }

  private argValues(run: AnalysisRun): Record<string, string> {
    const out: Record<string, string> = {};
    for (const a of run.spec.args ?? []) {
      const ref = (a.valueFrom as { secretKeyRef?: { name?: string; key?: string } } | undefined)
        ?.secretKeyRef;
      if (!ref?.name || !ref.key) continue;
      const v = this.host.secret(this.namespace, ref.name, ref.key);
      if (v !== undefined) out[a.name] = v;
    }
    return out;
  }

  /** One AnalysisRun pass: reconcile, take the measurements it asks for, reconcile with their results. */
  private async measure(name: string): Promise<void> {
    if (this.measuring.has(name) || this.closed) return;
    this.measuring.add(name);
    try {
      for (let pass = 0; pass < 5; pass++) {
        const r = this.record.runs[name];
        if (!r || isCompleted(r.run.status?.phase)) return;
        const argValues = this.argValues(r.run);
        const before = r.run.status?.phase;
        const now = this.host.now();
        const res = reconcileAnalysisRun(r.run, now, this.pending.get(name) ?? [], { argValues });
        this.pending.delete(name);
        r.run = { ...r.run, status: res.status };
        if (res.status.phase !== before) {
          if (res.status.phase && isCompleted(res.status.phase))
            this.host.log(
              res.status.phase === 'Successful' ? 'info' : 'warn',
              `analysis ${this.namespace}/${name}: ${res.status.phase}${res.status.message ? ` (${res.status.message})` : ''}`,
            );
          this.wake(0);
        }
        this.host.save();
        const work = res.actions.filter((x) => x.type !== 'requeue' && x.type !== 'garbageCollect');
        const requeue = res.actions.find((x) => x.type === 'requeue');
        if (work.length === 0) {
          if (requeue?.type === 'requeue' && !isCompleted(res.status.phase))
            this.wakeRun(name, requeue.afterMs);
          return;
        }
        const signal = AbortSignal.timeout(MEASURE_TIMEOUT_MS);
        const observations = await carryOutMeasurements(work, this.host.providers, {
          now: this.host.now(),
          run: { name, namespace: this.namespace },
          argValues,
          signal,
        });
        for (const o of observations)
          this.host.log(
            o.phase === 'Error' ? 'warn' : 'info',
            `analysis ${this.namespace}/${name}: ${o.metric} = ${o.phase === 'Error' ? `error: ${o.message}` : JSON.stringify(o.value)}`,
          );
        if (this.closed) return;
        this.pending.set(name, observations);
      }
      this.wakeRun(name, 0);
    } catch (e) {
      this.host.log('error', `analysis ${this.namespace}/${name}: ${(e as Error).message}`);
      this.wakeRun(name, 10_000);
    } finally {
      this.measuring.delete(name);
    }
  }
}
