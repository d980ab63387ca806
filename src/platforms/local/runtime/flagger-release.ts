/**
 * The local runtime's adapter for one Flagger Canary: observes the replica processes (Supervisor) and
 * the router state, calls the pure Flagger tick (src/engine/flagger) and carries out its actions. It
 * decides nothing itself (ADR 0006); src/sim/flagger.ts is the same adapter against a simulated world.
 *
 * The platform it plays (flagger.md §1.11):
 * - the target Deployment `<target>` is the canary; `<target>-primary` runs the promoted template.
 *   Each is a "workload": its current template is one Supervisor version (`<ns>.<target>[-primary]-<hash>`);
 *   a new template starts a new version and the old one is stopped once the new one is available (a
 *   rolling update with surge, as the Deployment controller would). The target is never started
 *   before Flagger's initialisation scales it to 0 anyway.
 * - the Services `<svc>`, `<svc>-primary`, `<svc>-canary` are listeners (flagger-listeners.ts).
 *
 * Ticks (machine.ts contract): a tick runs when due; the webhooks and checks it asks for are carried
 * out right before the next tick, and their results are reported to that tick only. Pod events wake
 * the adapter for the platform part (rolling updates) but never move a tick: Flagger ticks on its
 * interval. A requeue of 0 s runs the calls and the next tick at once.
 *
 * Local difference, on purpose: Flagger never ticks faster than every 10 s (`GetAnalysisInterval`);
 * here the Canary's `analysis.interval` is honoured down to 1 s, so a release can be watched (and
 * tested) in seconds. The engine itself still sees Flagger's interval.
 *
 * Persistence: everything is in the record, saved (`host.save()`) after every change: the requested
 * calls not yet carried out (`pending`), results not yet judged (`results`) and when the next tick is
 * due (`nextTickAt`), so a restarted runtime neither asks twice nor loses a result.
 */

import type { CheckProvider, ProviderRegistry, ResolvedCheck } from '../../../analysis/provider.js';
import type { CanaryScope } from '../../../analysis/providers/flagger-prometheus.js';
import { podTemplateHash } from '../../../api/argo/pod-template-hash.js';
import { parseGoDuration } from '../../../api/duration.js';
import type { Canary } from '../../../api/flagger/canary.js';
import {
  analysisInterval,
  BUILTIN_METRICS,
  canaryReadyThreshold,
  getAnalysis,
  primaryReadyThreshold,
  progressDeadlineSeconds,
  serviceNames,
} from '../../../api/flagger/canary-defaults.js';
import { arr, num, obj, str } from '../../../api/flagger/loose.js';
import { tick } from '../../../engine/flagger/machine.js';
import type {
  Action,
  FlaggerStatus,
  MetricRequest,
  MetricResult,
  Observation,
  Readiness,
  WebhookResult,
} from '../../../engine/flagger/types.js';
import type { LogFields, Logger } from '../../../gates/http.js';
import {
  type CallWebhookAction,
  carryOutWebhooks,
  FIRE_AND_FORGET_HOOKS,
  hookSettings,
} from '../../../gates/webhooks.js';
import { flaggerCanaryView, flaggerRunPhase, metricThresholds } from '../../../views/flagger-canary.js';
import type {
  AnalysisRunView,
  MeasurementView,
  ReleaseEventView,
  ReleaseView,
  VersionRole,
  VersionView,
} from '../../../views/release.js';
import type { ReplicaSpec } from '../processes/supervisor.js';
import type { ReleaseHost } from './argo-release.js';
import type { LocalCheckContext } from './builtin-checks.js';
import { type FlaggerRouterRecord, flaggerListeners, type RoleEndpoints } from './flagger-listeners.js';
import type { ListenerPlan, ServiceObject } from './listeners.js';
import { ReconcileLoop } from './loop.js';
import { MAX_EVENTS, type PodTemplate } from './record.js';
import { replicaSpecOf } from './replica-spec.js';
import { podViews, versionStatus } from './view.js';

// ---------------------------------------------------------------------------------------------
// Record

/** An apps/v1 Deployment as applied (only what the local runtime reads is typed). */
export interface DeploymentObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [k: string]: unknown };
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    template?: PodTemplate;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** One pod template of a workload, run as one Supervisor version. */
export interface FlaggerVersionRecord {
  hash: string;
  template: PodTemplate;
  /** Replicas it runs (the workload's, or what it had when a newer template replaced it). */
  replicas: number;
  createdAt: string;
  /** Counts distinct templates of the release, for the views (Flagger has no revisions). */
  revision: number;
}

/** `<target>` or `<target>-primary`. */
export interface FlaggerWorkloadRecord {
  /** The Deployment's current template (a key of `versions`). */
  hash: string;
  /** spec.replicas as Flagger set it (0: scaled to zero). */
  replicas: number;
  /** The current version and, while a rolling update runs, the older ones. */
  versions: Record<string, FlaggerVersionRecord>;
  /** When it was first seen not ready (progressDeadlineSeconds); absent when ready. */
  waitingSince?: string;
}

/** The calls a tick asked for, carried out right before the next tick. */
export interface PendingCalls {
  webhooks: CallWebhookAction[];
  metrics: MetricRequest[];
}

/** Their results, reported to the next tick only. */
export interface CallResults {
  webhooks: Record<string, WebhookResult>;
  metrics: Record<string, MetricResult>;
}

/** One check's result, kept for the views. */
export interface CheckResultRecord {
  at: string;
  value?: number;
  error?: string;
}

/** The checks of the current (or last) analysis run, for the views only. */
export interface AnalysisRecord {
  /** status.lastAppliedSpec of the run. */
  spec: string;
  startedAt: string;
  checks: Record<string, { kind: 'metric' | 'webhook'; results: CheckResultRecord[] }>;
}

export interface FlaggerReleaseRecord {
  dialect: 'flagger';
  /** The Canary, status included. */
  canary: Canary;
  /** The target Deployment as last applied. */
  deployment: DeploymentObject;
  /** The target Deployment as run (its replicas are Flagger's, not the applied ones). */
  target: FlaggerWorkloadRecord;
  /** `<target>-primary`, from InitializePrimary on; its current template is the promoted one. */
  primary?: FlaggerWorkloadRecord;
  router: FlaggerRouterRecord;
  pending?: PendingCalls;
  results?: CallResults;
  /** When the next tick is due (RFC 3339); absent: at once. */
  nextTickAt?: string;
  /** The last revision number given to a template. */
  revision: number;
  analysis?: AnalysisRecord;
  events: ReleaseEventView[];
}

export function newFlaggerRecord(
  canary: Canary,
  deployment: DeploymentObject,
  now = Date.now(),
): FlaggerReleaseRecord {
  const template = structuredClone(deployment.spec?.template ?? {});
  const hash = podTemplateHash(template);
  return {
    dialect: 'flagger',
    canary,
    deployment,
    target: {
      hash,
      replicas: 0,
      versions: {
        [hash]: { hash, template, replicas: 0, createdAt: new Date(now).toISOString(), revision: 1 },
      },
    },
    router: { primary: 100, canary: 0, mirrored: false },
    revision: 1,
    events: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Host

/** A MetricTemplate (flagger.app/v1beta1), as far as the checks read it. */
export interface MetricTemplateObject {
  spec?: { provider?: Record<string, unknown>; query?: string };
}

export interface FlaggerReleaseHost extends ReleaseHost {
  /** Check providers by type: `builtin` (builtin-checks.ts) and the MetricTemplate provider types. */
  checks: ProviderRegistry<CheckProvider>;
  /** Send a Flagger alert to the Canary's `analysis.alerts` (AlertProviders); must not block. */
  alert?(canary: Canary, severity: 'info' | 'warn' | 'error', message: string): void;
  /** A MetricTemplate by namespace and name (templateRef). */
  metricTemplate?(namespace: string, name: string): MetricTemplateObject | undefined;
}

/** Resync when nothing else wakes the release. */
const RESYNC_MS = 10_000;
/** How often to look while a rolling update or a scale-up is under way. */
const SETTLE_POLL_MS = 250;
/** The shortest tick period the local runtime honours. */
const MIN_LOCAL_INTERVAL_MS = 1_000;
/** How long one metric check may take (a provider's own timeout is usually shorter). */
const CHECK_TIMEOUT_MS = 60_000;
/** Results kept per check for the views. */
const MAX_CHECK_RESULTS = 10;

type Role = 'primary' | 'canary';
const ROLES: readonly Role[] = ['primary', 'canary'];
const BUILTIN: ReadonlySet<string> = new Set(BUILTIN_METRICS);

/** The tick period: `analysis.interval` as written, at least 1 s (60 s when absent or invalid). */
export function localIntervalMs(canary: Canary): number {
  const text = str(getAnalysis(canary), 'interval');
  const ms = text ? parseGoDuration(text) : undefined;
  if (ms === undefined || ms <= 0) return analysisInterval(canary) * 1000;
  return Math.max(MIN_LOCAL_INTERVAL_MS, ms);
}

/** The engine's requeue in local time: its interval requeue is the local interval. */
export function requeueMs(canary: Canary, afterSeconds: number): number {
  if (afterSeconds <= 0) return 0;
  if (afterSeconds === analysisInterval(canary)) return localIntervalMs(canary);
  return afterSeconds * 1000;
}

export class FlaggerRelease {
  private readonly loop: ReconcileLoop;
  private closed = false;
  private readonly abort = new AbortController();
  /** Last transition shown in the log, to log changes only. */
  private lastShown = '';
  /** Versions that could not be started, with why (reported once). */
  private readonly failedCreate = new Map<string, string>();

  constructor(
    public record: FlaggerReleaseRecord,
    private readonly host: FlaggerReleaseHost,
  ) {
    this.loop = new ReconcileLoop({
      now: host.now,
      pass: () => this.reconcile(),
      onError: (e) => host.log('error', `canary ${this.namespace}/${this.name}: ${(e as Error).stack ?? e}`),
      retryMs: RESYNC_MS,
    });
  }

  get namespace(): string {
    return this.record.canary.metadata?.namespace ?? 'default';
  }
  get name(): string {
    return this.record.canary.metadata?.name ?? '';
  }
  /** spec.targetRef.name. */
  get targetName(): string {
    return str(obj(this.record.canary.spec, 'targetRef'), 'name') ?? this.name;
  }

  versionName(role: Role, hash: string): string {
    return `${this.namespace}.${this.targetName}${role === 'primary' ? '-primary' : ''}-${hash}`;
  }

  /** After a (re)start: bring every version back to its replicas, then tick when due. */
  async start(): Promise<void> {
    await this.syncWorkloads();
    this.host.routesChanged();
    this.wake(0);
  }

  /** Stops ticking and cancels calls in flight; the processes keep running. */
  close(): void {
    this.closed = true;
    this.loop.close();
    this.abort.abort();
  }

  /** Look at the release within `ms` (earlier wakes win); an analysis tick still waits until due. */
  wake(ms = 0): void {
    this.loop.wake(ms);
  }

  /** Runs one pass now (platform, and the tick if due), or right after the one in progress. */
  runReconcile(): Promise<void> {
    return this.loop.run();
  }

  /**
   * The Canary or the target Deployment was applied; the status is kept, as the API server keeps it.
   * A new template rolls the target at once (the Deployment controller's job); the engine notices it
   * on its next tick, as Flagger does.
   */
  updateSpec(canary: Canary, deployment: DeploymentObject): void {
    const intervalChanged = localIntervalMs(canary) !== localIntervalMs(this.record.canary);
    const status = this.record.canary.status;
    const next: Canary = { ...canary };
    delete next.status;
    if (status) next.status = status;
    this.record.canary = next;
    this.record.deployment = structuredClone(deployment);
    this.setTemplate(this.record.target, deployment.spec?.template ?? {});
    // Flagger restarts a canary's job (which ticks at once) when its interval changes.
    if (intervalChanged) delete this.record.nextTickAt;
    this.host.save();
    this.wake(0);
  }

  /** The Canary was deleted: every version to 0 replicas and forgotten. */
  async teardown(): Promise<void> {
    this.close();
    for (const role of ROLES) {
      const w = this.workload(role);
      if (!w) continue;
      for (const v of Object.values(w.versions)) {
        const name = this.versionName(role, v.hash);
        await this.scale(name, v.template, 0);
        await this.host.supervisor.remove(name);
      }
    }
  }

  ownsVersion(versionName: string): boolean {
    return ROLES.some((role) =>
      Object.values(this.workload(role)?.versions ?? {}).some(
        (v) => this.versionName(role, v.hash) === versionName,
      ),
    );
  }

  /**
   * The ready replicas of a role (all its versions: a rolling update serves from both). The version
   * label names the versions that have ready replicas, none when there are none: requests the router
   * could not give to any replica are not the version's (Flagger's builtin metrics are reported by the
   * destination), so a runtime restart does not count against the canary's success rate.
   */
  endpoints(role: Role): RoleEndpoints {
    const w = this.workload(role);
    if (!w) return { version: '', upstreams: [] };
    const withPods = Object.values(w.versions)
      .map((v) => ({
        hash: v.hash,
        upstreams: this.host.supervisor.endpoints(this.versionName(role, v.hash)),
      }))
      .filter((x) => x.upstreams.length > 0)
      .sort((a, b) => (a.hash === w.hash ? -1 : b.hash === w.hash ? 1 : 0));
    return {
      version: withPods.map((x) => x.hash).join('+'),
      upstreams: withPods.flatMap((x) => x.upstreams),
    };
  }

  /** The listeners of `<svc>`, `<svc>-primary` and `<svc>-canary`; `services`: the namespace's. */
  listeners(services: readonly ServiceObject[], defaultHost: string): ListenerPlan {
    return flaggerListeners({
      canary: this.record.canary,
      router: this.record.router,
      primary: this.endpoints('primary'),
      canaryRole: this.endpoints('canary'),
      services,
      defaultHost,
    });
  }

  // ------------------------------------------------------------------------------------------
  // One pass

  private workload(role: Role): FlaggerWorkloadRecord | undefined {
    return role === 'primary' ? this.record.primary : this.record.target;
  }

  /** Returns when to look again (ms). */
  private async reconcile(): Promise<number> {
    let busy = await this.syncWorkloads();
    if (this.closed) return RESYNC_MS;
    const now = this.host.now();
    const due = this.record.nextTickAt === undefined ? now : Date.parse(this.record.nextTickAt);
    if (Number.isFinite(due) && now < due) return Math.min(due - now, busy ? SETTLE_POLL_MS : RESYNC_MS);
    const requeue = await this.analyse();
    if (this.closed) return RESYNC_MS;
    busy = await this.syncWorkloads();
    return Math.min(requeue, busy ? SETTLE_POLL_MS : RESYNC_MS);
  }

  /** Carry out the last tick's calls, tick, carry out the tick's actions. Returns the requeue (ms). */
  private async analyse(): Promise<number> {
    const pending = this.record.pending;
    if (pending) {
      const results = await this.carryOutCalls(pending);
      if (this.closed) return RESYNC_MS;
      this.record.results = results;
      delete this.record.pending;
      this.host.save();
    }
    const now = this.host.now();
    const canary = this.record.canary;
    const results = this.record.results;
    const observed: Observation = {
      target: { specHash: this.record.target.hash },
      primary: this.readiness('primary', now),
      canary: this.readiness('canary', now),
      routes: {
        primary: this.record.router.primary,
        canary: this.record.router.canary,
        mirrored: this.record.router.mirrored,
      },
      ...(results ? { webhooks: results.webhooks, metrics: results.metrics } : {}),
    };
    const res = tick(canary, canary.status, observed, new Date(now));
    this.record.canary = { ...this.record.canary, status: res.status };
    delete this.record.results;
    this.noteChecks(res.transition, res.status, results, now);
    const requeue = this.carryOut(res.actions, now);
    this.refreshRouter();
    this.record.nextTickAt = new Date(now + requeue).toISOString();
    const shown = `${res.transition}/${res.status.phase}/${res.status.canaryWeight}/${res.status.failedChecks}`;
    if (shown !== this.lastShown) {
      this.lastShown = shown;
      this.host.log(
        'info',
        `canary ${this.namespace}/${this.name}: ${res.transition} -> phase ${res.status.phase}, weight ${res.status.canaryWeight ?? 0}, failed checks ${res.status.failedChecks ?? 0}`,
      );
    }
    this.host.save();
    return requeue;
  }

  private readiness(role: Role, now: number): Readiness {
    const w = this.workload(role);
    const deployment = role === 'primary' ? `${this.targetName}-primary` : this.targetName;
    if (!w) return { ready: false, retriable: true, message: `deployment ${deployment} not found` };
    if (role === 'canary' && w.replicas === 0)
      return { ready: false, retriable: true, message: 'scaled to zero' };
    const status = this.host.supervisor.status(this.versionName(role, w.hash));
    const available = status?.availableReplicas ?? 0;
    const old = Object.keys(w.versions).filter((h) => h !== w.hash).length;
    const threshold =
      role === 'primary'
        ? primaryReadyThreshold(this.record.canary)
        : canaryReadyThreshold(this.record.canary);
    // IsPrimaryReady / IsCanaryReady: no old replicas left, available >= threshold % of the updated.
    if (old === 0 && available * 100 >= w.replicas * threshold) {
      if (w.waitingSince !== undefined) delete w.waitingSince;
      return { ready: true };
    }
    w.waitingSince ??= new Date(now).toISOString();
    if (now - Date.parse(w.waitingSince) >= progressDeadlineSeconds(this.record.canary) * 1000)
      return {
        ready: false,
        retriable: false,
        message: `deployment "${deployment}" exceeded its progress deadline`,
      };
    return {
      ready: false,
      retriable: true,
      message:
        old > 0
          ? `waiting for rollout to finish: ${old} old version(s) are pending termination`
          : `waiting for rollout to finish: ${available} of ${w.replicas} updated replicas are available`,
    };
  }

  /** Carry out one tick's actions on the record; processes follow in syncWorkloads. */
  private carryOut(actions: readonly Action[], now: number): number {
    const pending: PendingCalls = { webhooks: [], metrics: [] };
    let requeue = RESYNC_MS;
    let routes = false;
    const deploymentReplicas = (): number => {
      const r = this.record.deployment.spec?.replicas;
      return typeof r === 'number' && r > 0 ? r : 0;
    };
    const fireAndForget: CallWebhookAction[] = [];
    for (const a of actions) {
      switch (a.type) {
        case 'InitializePrimary':
          if (!this.record.primary) {
            const replicas = deploymentReplicas() || 1;
            const w: FlaggerWorkloadRecord = { hash: '', replicas, versions: {} };
            this.setTemplate(w, this.record.deployment.spec?.template ?? {}, now);
            this.record.primary = w;
          }
          break;
        case 'ScaleToZero':
          this.scaleTarget(0);
          break;
        case 'ScaleFromZero':
          // Flagger: the target's replicas, else the primary's, else 1.
          this.scaleTarget(deploymentReplicas() || this.record.primary?.replicas || 1);
          break;
        case 'SetRoutes': {
          const r = this.record.router;
          if (r.primary !== a.primary || r.canary !== a.canary || r.mirrored !== a.mirrored) routes = true;
          r.primary = a.primary;
          r.canary = a.canary;
          r.mirrored = a.mirrored;
          break;
        }
        case 'Promote': {
          const p = this.record.primary;
          if (!p) break;
          this.setTemplate(p, this.record.deployment.spec?.template ?? {}, now);
          // No autoscaler locally: the primary takes the target's replicas, as Flagger does then.
          p.replicas = deploymentReplicas() || p.replicas;
          delete p.waitingSince;
          break;
        }
        case 'CallWebhook':
          if (FIRE_AND_FORGET_HOOKS.has(a.hookType)) fireAndForget.push(a);
          else pending.webhooks.push(a);
          break;
        case 'RunMetricChecks':
          pending.metrics.push(...a.metrics);
          break;
        case 'EmitEvent':
          this.event(a.eventType, a.reason, a.message, now);
          break;
        case 'SendAlert':
          this.host.log(
            a.severity === 'error' ? 'error' : a.severity === 'warn' ? 'warn' : 'info',
            `canary ${this.namespace}/${this.name}: alert (${a.severity}): ${a.message}`,
          );
          // Delivered in the background: a slow or failing chat service never holds the release.
          this.host.alert?.(this.record.canary, a.severity, a.message);
          break;
        case 'Requeue':
          requeue = requeueMs(this.record.canary, a.afterSeconds);
          break;
        default:
          break;
      }
    }
    if (pending.webhooks.length > 0 || pending.metrics.length > 0) this.record.pending = pending;
    if (fireAndForget.length > 0)
      // Their results are ignored by the engine; carryOutWebhooks only logs failures.
      void carryOutWebhooks(fireAndForget, {
        settings: hookSettings(this.record.canary),
        log: this.logger(),
        signal: this.abort.signal,
      }).catch(() => {});
    if (routes) this.host.routesChanged();
    return requeue;
  }

  private scaleTarget(replicas: number): void {
    const w = this.record.target;
    if (w.replicas === replicas) return;
    w.replicas = replicas;
    delete w.waitingSince;
  }

  /** Point a workload at a template: a new version when it is new (the old one goes once it is replaced). */
  private setTemplate(w: FlaggerWorkloadRecord, template: PodTemplate, now = this.host.now()): void {
    const hash = podTemplateHash(template);
    if (w.hash === hash && w.versions[hash]) return;
    if (!w.versions[hash])
      w.versions[hash] = {
        hash,
        template: structuredClone(template),
        replicas: w.replicas,
        createdAt: new Date(now).toISOString(),
        revision: this.revisionOf(hash),
      };
    w.hash = hash;
    delete w.waitingSince;
  }

  private revisionOf(hash: string): number {
    for (const role of ROLES) {
      const v = this.workload(role)?.versions[hash];
      if (v) return v.revision;
    }
    this.record.revision += 1;
    return this.record.revision;
  }

  /** Flagger reconciles the mesh object on every tick: match and mirror settings follow the spec. */
  private refreshRouter(): void {
    const a = getAnalysis(this.record.canary);
    const r = this.record.router;
    const match = arr(a, 'match');
    const mirrorWeight = num(a, 'mirrorWeight');
    const before = JSON.stringify([r.match, r.mirrorWeight]);
    if (match.length > 0) r.match = structuredClone(match);
    else delete r.match;
    if (mirrorWeight !== undefined && mirrorWeight > 0) r.mirrorWeight = mirrorWeight;
    else delete r.mirrorWeight;
    if (JSON.stringify([r.match, r.mirrorWeight]) !== before) this.host.routesChanged();
  }

  /**
   * The Deployment controller's part: every version at its replicas; older versions of a workload are
   * stopped once its current version is available. Returns true while something is still settling.
   */
  private async syncWorkloads(): Promise<boolean> {
    let busy = false;
    let changed = false;
    for (const role of ROLES) {
      const w = this.workload(role);
      if (!w || this.closed) continue;
      const current = w.versions[w.hash];
      if (!current) continue;
      current.replicas = w.replicas;
      const name = this.versionName(role, current.hash);
      await this.scale(name, current.template, w.replicas);
      const settled = (this.host.supervisor.status(name)?.availableReplicas ?? 0) >= w.replicas;
      if (!settled) busy = true;
      for (const old of Object.values(w.versions)) {
        if (old.hash === w.hash || this.closed) continue;
        const oldName = this.versionName(role, old.hash);
        if (!settled) {
          await this.scale(oldName, old.template, old.replicas);
          continue;
        }
        await this.scale(oldName, old.template, 0);
        delete w.versions[old.hash];
        void this.host.supervisor.remove(oldName).catch(() => {});
        changed = true;
      }
    }
    if (changed) {
      this.host.save();
      this.host.routesChanged();
    }
    return busy;
  }

  /**
   * A version that cannot be started (no command, a bad name) stays without replicas, as pods that
   * cannot be created: the engine sees it never get ready and fails it at the progress deadline.
   */
  private async scale(name: string, template: PodTemplate, replicas: number): Promise<void> {
    try {
      await this.host.supervisor.scale(name, this.replicaSpec(template), replicas);
      this.failedCreate.delete(name);
    } catch (e) {
      const message = `${name}: ${(e as Error).message}`;
      if (this.closed || this.failedCreate.get(name) === message) return;
      this.failedCreate.set(name, message);
      this.event('Warning', 'FailedCreate', message);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Calls: webhooks and metric checks

  private logger(): Logger {
    const say =
      (level: 'info' | 'warn' | 'error') =>
      (fields: LogFields, message: string): void => {
        const hook = typeof fields.hook === 'string' ? ` ${fields.hook}` : '';
        const why = typeof fields.error === 'string' ? `: ${fields.error}` : '';
        this.host.log(level, `canary ${this.namespace}/${this.name}: webhook${hook}: ${message}${why}`);
      };
    return { debug: () => {}, info: say('info'), warn: say('warn'), error: say('error') };
  }

  private async carryOutCalls(pending: PendingCalls): Promise<CallResults> {
    const webhooks =
      pending.webhooks.length > 0
        ? (
            await carryOutWebhooks(pending.webhooks, {
              settings: hookSettings(this.record.canary),
              log: this.logger(),
              signal: this.abort.signal,
            })
          ).webhooks
        : {};
    const metrics: Record<string, MetricResult> = {};
    for (const m of pending.metrics) {
      if (this.closed) break;
      const r = await this.check(m);
      metrics[m.name] = r;
      this.host.log(
        'error' in r ? 'warn' : 'info',
        `canary ${this.namespace}/${this.name}: ${m.name} = ${'error' in r ? `error: ${r.error}` : Math.round(r.value * 1000) / 1000}`,
      );
    }
    return { webhooks, metrics };
  }

  /** One metric check: resolve the MetricTemplate (and its Secret), then ask the provider of its type. */
  private async check(m: MetricRequest): Promise<MetricResult> {
    let request: ResolvedCheck = m;
    let type: string;
    const argValues: Record<string, string> = {};
    if (m.templateRef) {
      const ref = m.templateRef;
      const tpl = this.host.metricTemplate?.(ref.namespace, ref.name);
      if (!tpl) return { error: `MetricTemplate ${ref.namespace}/${ref.name} not found` };
      const provider = tpl.spec?.provider ?? {};
      request = { ...m, query: tpl.spec?.query ?? '', provider };
      type = typeof provider.type === 'string' && provider.type !== '' ? provider.type : 'prometheus';
      const secret = str(obj(provider, 'secretRef'), 'name');
      if (secret)
        for (const key of ['token', 'username', 'password']) {
          const v = this.host.secret(ref.namespace, secret, key);
          if (v !== undefined) argValues[key] = v;
        }
    } else type = BUILTIN.has(m.name) ? 'builtin' : 'prometheus';
    const provider = this.host.checks.get(type);
    if (!provider)
      return {
        error: `no check provider for "${type}" here (available: ${this.host.checks.types().join(', ') || 'none'})`,
      };
    const names = serviceNames(this.record.canary);
    const spec = this.record.canary.spec as Record<string, unknown>;
    const scope: CanaryScope = {
      namespace: this.namespace,
      target: this.targetName,
      service: names.apex,
      ...(typeof spec.provider === 'string' ? { meshProvider: spec.provider } : {}),
      ...(typeof spec.metricsServer === 'string' ? { metricsServer: spec.metricsServer } : {}),
    };
    const ctx: LocalCheckContext = {
      now: this.host.now(),
      canary: this.name,
      scope,
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(CHECK_TIMEOUT_MS)]),
      ...(Object.keys(argValues).length > 0 ? { argValues } : {}),
      local: { services: [names.apex, names.canary], backend: 'canary', version: this.record.target.hash },
    };
    try {
      return await provider.check(request, ctx);
    } catch (e) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
  }

  // ------------------------------------------------------------------------------------------
  // Events and the views

  event(
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    now = this.host.now(),
    log = true,
  ): void {
    this.record.events.push({ at: new Date(now).toISOString(), type, reason, message });
    if (this.record.events.length > MAX_EVENTS)
      this.record.events.splice(0, this.record.events.length - MAX_EVENTS);
    if (log)
      this.host.log(
        type === 'Warning' ? 'warn' : 'info',
        `canary ${this.namespace}/${this.name}: ${reason}: ${message}`,
      );
  }

  /** Keep the results the tick just judged, per run, for the views. */
  private noteChecks(
    transition: string,
    status: FlaggerStatus,
    results: CallResults | undefined,
    now: number,
  ) {
    const at = new Date(now).toISOString();
    if (transition === 'rolloutStarted' || transition === 'revisionRestart')
      this.record.analysis = { spec: status.lastAppliedSpec ?? '', startedAt: at, checks: {} };
    const run = this.record.analysis;
    if (!run || !results) return;
    const add = (name: string, kind: 'metric' | 'webhook', r: CheckResultRecord) => {
      const c = run.checks[name] ?? { kind, results: [] };
      run.checks[name] = c;
      c.results.push(r);
      if (c.results.length > MAX_CHECK_RESULTS) c.results.splice(0, c.results.length - MAX_CHECK_RESULTS);
    };
    for (const [name, r] of Object.entries(results.webhooks))
      add(name, 'webhook', r.ok ? { at } : { at, error: r.message });
    for (const [name, r] of Object.entries(results.metrics))
      add(name, 'metric', 'error' in r ? { at, error: r.error } : { at, value: r.value });
  }

  /** The container the replicas run (replica-spec.ts). */
  replicaSpec(template: PodTemplate | undefined): ReplicaSpec {
    return replicaSpecOf(
      template,
      (name, key) => this.host.secret(this.namespace, name, key),
      this.record.deployment.spec?.minReadySeconds,
    );
  }

  view(): ReleaseView {
    const versions: VersionView[] = [];
    for (const role of ROLES) {
      const w = this.workload(role);
      if (!w) continue;
      for (const v of Object.values(w.versions)) versions.push(this.versionView(role, w, v));
    }
    const targetHash = this.record.target.hash;
    // The assembly is shared with Kubernetes (views/flagger-canary.ts); this gathers the local inputs.
    return flaggerCanaryView({
      canary: this.record.canary,
      namespace: this.namespace,
      name: this.name,
      versions,
      targetHash,
      revision: this.record.target.versions[targetHash]?.revision ?? 0,
      desired: this.record.primary?.replicas ?? (this.record.deployment.spec?.replicas || 1),
      actualWeight: this.record.router.canary,
      analysisRuns: this.analysisRunViews(),
      events: this.record.events,
    });
  }

  private versionView(role: Role, w: FlaggerWorkloadRecord, v: FlaggerVersionRecord): VersionView {
    const s = this.host.supervisor.status(this.versionName(role, v.hash));
    const current = v.hash === w.hash;
    const roles: VersionRole[] = current && (role === 'primary' || w.replicas > 0) ? [role] : [];
    const containers = (v.template.spec?.containers ?? []) as { image?: string }[];
    const status = versionStatus(v.replicas, s);
    return {
      name: `${this.targetName}${role === 'primary' ? '-primary' : ''}-${v.hash}`,
      hash: v.hash,
      revision: v.revision,
      roles,
      images: containers.map((c) => c.image ?? ''),
      status,
      desired: v.replicas,
      current: s?.currentReplicas ?? 0,
      ready: s?.readyReplicas ?? 0,
      available: s?.availableReplicas ?? 0,
      createdAt: v.createdAt,
      pods: podViews(s),
    };
  }

  /** The current (or last) run's checks. Measurement phases are for display; the engine decides. */
  private analysisRunViews(): AnalysisRunView[] {
    const run = this.record.analysis;
    if (!run) return [];
    const st = this.record.canary.status ?? {};
    const live = run.spec === (st.lastAppliedSpec ?? '');
    const phase = live ? flaggerRunPhase(st.phase) : 'Unknown';
    const thresholds = metricThresholds(this.record.canary);
    const revision =
      Object.values(this.record.target.versions).find((v) => v.hash === run.spec)?.revision ??
      Object.values(this.record.primary?.versions ?? {}).find((v) => v.hash === run.spec)?.revision ??
      0;
    const metrics = Object.entries(run.checks).map(([name, c]) => {
      // The range judges each result for display; the engine made the real decision.
      const { min, max, condition } = (c.kind === 'metric' ? thresholds.get(name) : undefined) ?? {
        condition: '',
      };
      const measurements: MeasurementView[] = c.results.map((r) => {
        const ok =
          r.error === undefined &&
          (r.value === undefined ||
            ((min === undefined || r.value >= min) && (max === undefined || r.value <= max)));
        return {
          phase: r.error !== undefined && c.kind === 'metric' ? 'Error' : ok ? 'Successful' : 'Failed',
          ...(r.value !== undefined ? { value: String(r.value) } : {}),
          ...(r.error !== undefined ? { message: r.error } : {}),
          finishedAt: r.at,
        };
      });
      const count = (p: string) => measurements.filter((m) => m.phase === p).length;
      return {
        name: c.kind === 'webhook' ? `webhook ${name}` : name,
        phase: measurements[measurements.length - 1]?.phase ?? 'Pending',
        ...(condition ? { condition } : c.kind === 'webhook' ? { condition: 'HTTP 200..202' } : {}),
        successful: count('Successful'),
        failed: count('Failed'),
        inconclusive: 0,
        errors: count('Error'),
        measurements,
      };
    });
    return [
      {
        name: `${this.name}-${run.spec}`,
        revision,
        kind: 'canary analysis',
        phase,
        startedAt: run.startedAt,
        metrics,
      },
    ];
  }
}

/** Moved to views/flagger-canary.ts (shared with Kubernetes); kept here for existing importers. */
export { releasePhase } from '../../../views/flagger-canary.js';
