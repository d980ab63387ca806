/**
 * The local runtime (`vireo up`): the embedded default platform. It keeps objects and releases in the
 * state directory, runs versions as replica processes (Supervisor), routes the Services through the
 * local router, and drives each release's adapter (argo-release.ts). The engines decide; this file
 * only wires observations and actions (ADR 0006, ADR 0010).
 */
import path from 'node:path';
import { type CheckProvider, type MetricProvider, ProviderRegistry } from '../../../analysis/provider.js';
import { FlaggerPrometheusCheckProvider } from '../../../analysis/providers/flagger-prometheus.js';
import { realMetricProviders } from '../../../analysis/providers/index.js';
import type { AnalysisTemplateSpec } from '../../../api/argo/analysis.js';
import type { Rollout } from '../../../api/argo/rollout.js';
import { type Diagnostic, formatDiagnostic } from '../../../api/diagnostics.js';
import type { Canary } from '../../../api/flagger/canary.js';
import type { ManifestObject } from '../../../api/kind.js';
import { checkObjects, type LoadedObject, loadManifests } from '../../../api/load.js';
import type { TemplateKind } from '../../../engine/analysis/templates.js';
import { UserActionError } from '../../../engine/argo/user-actions.js';
import type { Logger } from '../../../gates/http.js';
import { notifierForAlertProvider } from '../../../notify/index.js';
import { notificationFromAlert, type Severity, severityAccepts } from '../../../notify/notifier.js';
import type { ReleaseView } from '../../../views/release.js';
import { applyUserAction, userActionEventMessage } from '../../argo-actions.js';
import { Supervisor, stopLeftoverReplicas } from '../processes/supervisor.js';
import type { MetricsState } from '../proxy/metrics.js';
import type { Listener, LocalRouter } from '../router/router.js';
import { startVireoRouter } from '../router/vireo.js';
import { openStateDir, pidAlive, StateFileDamagedError, type StateStore } from '../state/store.js';
import { ArgoRelease, type ReleaseHost } from './argo-release.js';
import { LocalBuiltinCheckProvider } from './builtin-checks.js';
import {
  type DeploymentObject,
  FlaggerRelease,
  type FlaggerReleaseRecord,
  type MetricTemplateObject,
  newFlaggerRecord,
} from './flagger-release.js';
import { releaseListeners, type ServiceObject } from './listeners.js';
import { type ArgoReleaseRecord, newArgoRecord } from './record.js';
import { argoReleaseView } from './view.js';

export type LogFn = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface RuntimeOptions {
  stateDir: string;
  /** Host for Service listeners without a `vireo.dev/host` annotation (default 127.0.0.1). */
  host?: string;
  router?: LocalRouter;
  providers?: ProviderRegistry<MetricProvider>;
  log?: LogFn;
  /** Wall clock (epoch ms); only tests change it. */
  now?: () => number;
  /** Supervisor tuning (tests shorten the crash back-off). */
  backoffBaseMs?: number;
  gracePeriodMs?: number;
  /** A replica leaves the router this long before SIGTERM (default 500 ms). */
  stopDelayMs?: number;
}

export interface ApplyResult {
  ok: boolean;
  /** `rollout.argoproj.io/demo created`, `... configured`, `... unchanged`. */
  results: string[];
  diagnostics: Diagnostic[];
}

/** Kinds kept as objects (looked up by releases), keyed `kind/namespace/name`. */
const OBJECT_KINDS = new Set([
  'AnalysisTemplate',
  'ClusterAnalysisTemplate',
  'Service',
  'Secret',
  'Deployment',
  'MetricTemplate',
  'AlertProvider',
]);
/** Kinds whose job the local router does; accepted and not needed. */
const ROUTER_KINDS = new Set([
  'Ingress',
  'TraefikService',
  'VirtualService',
  'DestinationRule',
  'HTTPRoute',
  'TrafficSplit',
]);
const CLUSTER = '_cluster';
const METRICS_SAVE_MS = 2_000;
/** Seconds of per-second counts kept across a restart (the longest window analyses usually read). */
const METRICS_KEEP_SECONDS = 300;

export class UserError extends Error {}

type Release = ArgoRelease | FlaggerRelease;

const optional = <K extends string>(key: K, v: string | undefined): { [k in K]?: string } =>
  (v === undefined ? {} : { [key]: v }) as { [k in K]?: string };

const withoutStatus = <T extends object>(o: T): T => {
  const { status: _status, ...rest } = o as T & { status?: unknown };
  return rest as T;
};

const keyOf = (kind: string, ns: string, name: string) => `${kind}/${ns}/${name}`;
const nsOf = (o: ManifestObject) => o.metadata?.namespace ?? 'default';

export class LocalRuntime {
  readonly supervisor: Supervisor;
  readonly router: LocalRouter;
  private readonly objects = new Map<string, ManifestObject>();
  private readonly releases = new Map<string, Release>();
  private readonly checks: ProviderRegistry<CheckProvider>;
  /** Releases whose state file is damaged: kept, never overwritten, shown as errors. */
  private readonly damaged = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private saving: Promise<void> = Promise.resolve();
  private routing: Promise<void> = Promise.resolve();
  private routingQueued = false;
  private lastRouteError = '';
  private readonly log: LogFn;
  private readonly now: () => number;
  private readonly host: string;
  private readonly providers: ProviderRegistry<MetricProvider>;
  private closed = false;
  private metricsTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly store: StateStore,
    options: RuntimeOptions,
  ) {
    this.log = options.log ?? (() => {});
    this.now = options.now ?? Date.now;
    this.host = options.host ?? '127.0.0.1';
    this.providers = options.providers ?? realMetricProviders();
    // Flagger's builtin metrics come from the local router's counters, not from a Prometheus.
    this.checks = new ProviderRegistry<CheckProvider>([
      new FlaggerPrometheusCheckProvider({}),
      new LocalBuiltinCheckProvider(() => this.router.metrics()),
    ]);
    this.router = options.router ?? startVireoRouter();
    this.supervisor = new Supervisor({
      logDir: path.join(store.dir, 'logs'),
      stopDelayMs: options.stopDelayMs ?? 500,
      ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
      ...(options.gracePeriodMs !== undefined ? { gracePeriodMs: options.gracePeriodMs } : {}),
      onEvent: (e) => {
        if (e.type === 'Ready' || e.type === 'NotReady' || e.type === 'Exited' || e.type === 'Started') {
          for (const r of this.releases.values())
            if (r.ownsVersion(e.version)) r.wake(e.type === 'Exited' || e.type === 'Started' ? 50 : 0);
          if (e.type === 'Ready' || e.type === 'NotReady') this.routesChanged();
        }
        if (e.type === 'BackOff')
          this.log(
            'warn',
            `${e.replica}: crashed, restarting in ${Math.round(e.delayMs / 1000)} s (CrashLoopBackOff)`,
          );
      },
    });
  }

  /** Opens the state directory (locked), stops replicas a killed runtime left, and resumes every release. */
  static async start(options: RuntimeOptions): Promise<LocalRuntime> {
    const store = await openStateDir(options.stateDir);
    const stopped = stopLeftoverReplicas(path.join(store.dir, 'logs'));
    const rt = new LocalRuntime(store, options);
    if (stopped.length > 0)
      rt.log(
        'info',
        `stopped ${stopped.length} replica process(es) left by a previous run; starting them again`,
      );
    try {
      await rt.load();
    } catch (e) {
      await rt.close();
      throw e;
    }
    return rt;
  }

  /**
   * The router's counters survive restarts (saved every 2 s and at shutdown), so the windows the
   * analyses read span a restart as a Prometheus' would, instead of starting empty.
   */
  private async restoreMetrics(): Promise<void> {
    try {
      const state = await this.store.read<MetricsState>('metrics');
      if (state && !this.router.metrics().restore(state))
        this.log('warn', 'saved proxy counters not restored: other buckets or window');
    } catch (e) {
      this.log('warn', `saved proxy counters not restored: ${(e as Error).message}`);
    }
    this.metricsTimer = setInterval(() => void this.saveMetrics(), METRICS_SAVE_MS);
    this.metricsTimer.unref();
  }

  private saveMetrics(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.saving = this.saving
      .then(() =>
        this.store.write('metrics', this.router.metrics().dump(METRICS_KEEP_SECONDS), {
          kind: 'metrics',
          replaceDamaged: true,
        }),
      )
      .catch((e) => this.log('warn', `cannot save the proxy counters: ${(e as Error).message}`));
    return this.saving;
  }

  private async load(): Promise<void> {
    await this.restoreMetrics();
    for (const key of await this.store.list('objects/')) {
      try {
        const o = await this.store.read<ManifestObject>(key);
        if (o) this.objects.set(key.slice('objects/'.length), o);
      } catch (e) {
        if (!(e instanceof StateFileDamagedError)) throw e;
        this.log('error', e.message);
      }
    }
    for (const key of await this.store.list('releases/')) {
      const [, ns, name] = key.split('/');
      try {
        const rec = await this.store.read<ArgoReleaseRecord | FlaggerReleaseRecord>(key);
        if (rec?.dialect === 'flagger') this.addFlagger(rec);
        else if (rec) this.addRelease(rec);
      } catch (e) {
        if (!(e instanceof StateFileDamagedError)) throw e;
        this.damaged.set(`${ns}/${name}`, e.message);
        this.log('error', e.message);
      }
    }
    for (const r of this.releases.values()) await r.start();
    this.routesChanged();
  }

  private hostFor(key: string): ReleaseHost {
    return {
      now: this.now,
      supervisor: this.supervisor,
      providers: this.providers,
      template: (kind: TemplateKind, ns: string, name: string) =>
        this.objects.get(keyOf(kind, kind === 'ClusterAnalysisTemplate' ? CLUSTER : ns, name)) as
          | { spec?: AnalysisTemplateSpec }
          | undefined,
      secret: (ns, name, key) => this.secret(ns, name, key),
      save: () => this.save(key),
      routesChanged: () => this.routesChanged(),
      log: this.log,
    };
  }

  private addRelease(rec: ArgoReleaseRecord): ArgoRelease {
    const key = `${rec.rollout.metadata?.namespace ?? 'default'}/${rec.rollout.metadata?.name}`;
    const release = new ArgoRelease(rec, this.hostFor(key));
    this.releases.set(key, release);
    return release;
  }

  private addFlagger(rec: FlaggerReleaseRecord): FlaggerRelease {
    const key = `${rec.canary.metadata?.namespace ?? 'default'}/${rec.canary.metadata?.name}`;
    const release = new FlaggerRelease(rec, {
      ...this.hostFor(key),
      checks: this.checks,
      alert: (canary, severity, message) => this.alert(canary, severity, message),
      metricTemplate: (ns, name) =>
        this.objects.get(keyOf('MetricTemplate', ns, name)) as MetricTemplateObject | undefined,
    });
    this.releases.set(key, release);
    return release;
  }

  /**
   * Flagger alerts: each `analysis.alerts` entry whose severity accepts this one, through its
   * AlertProvider (address, token from the provider's Secret). Delivery retries in the background and
   * only logs its outcome (never the address).
   */
  private alert(canary: Canary, severity: Severity, message: string): void {
    const ns = canary.metadata?.namespace ?? 'default';
    const alerts = (canary.spec as { analysis?: { alerts?: unknown[] } }).analysis?.alerts ?? [];
    for (const raw of alerts) {
      const a = raw as {
        name?: string;
        severity?: Severity;
        providerRef?: { name?: string; namespace?: string };
      };
      if (!severityAccepts(a.severity ?? 'info', severity)) continue;
      const pns = a.providerRef?.namespace ?? ns;
      const provider = this.objects.get(keyOf('AlertProvider', pns, a.providerRef?.name ?? '')) as
        | { spec?: Record<string, unknown> }
        | undefined;
      if (!provider) {
        this.log(
          'warn',
          `canary ${ns}/${canary.metadata?.name}: alert ${a.name}: AlertProvider ${pns}/${a.providerRef?.name} not found`,
        );
        continue;
      }
      const spec = provider.spec ?? {};
      const secretName = (spec.secretRef as { name?: string } | undefined)?.name;
      const fromSecret = (key: string) => (secretName ? this.secret(pns, secretName, key) : undefined);
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      const target = {
        name: `${pns}/${a.providerRef?.name}`,
        type: str(spec.type) ?? '',
        ...optional('address', fromSecret('address') ?? str(spec.address)),
        ...optional('token', fromSecret('token')),
        ...optional('channel', str(spec.channel)),
        ...optional('username', str(spec.username)),
        ...optional('proxy', fromSecret('proxy') ?? str(spec.proxy)),
      };
      const made = notifierForAlertProvider(target, { log: this.notifyLog });
      if ('none' in made) {
        this.log('warn', `alert ${a.name}: ${made.none}`);
        continue;
      }
      const n = notificationFromAlert(
        { kind: 'Canary', name: canary.metadata?.name ?? '', namespace: ns },
        { severity, message },
      );
      void made.notifier.deliver(n).then(
        (r) =>
          this.log(
            r.ok ? 'info' : 'warn',
            `alert ${a.name} via ${target.name} (${target.type}): ${r.ok ? 'delivered' : `not delivered after ${r.attempts} attempt(s): ${r.error ?? r.status}`}`,
          ),
        (e) => this.log('warn', `alert ${a.name} via ${target.name}: ${(e as Error).message}`),
      );
    }
  }

  /** The notifiers' log (fields are already redacted by them); debug lines are dropped. */
  private readonly notifyLog: Logger = {
    debug: () => {},
    info: (_f, m) => this.log('info', m),
    warn: (_f, m) => this.log('warn', m),
    error: (_f, m) => this.log('error', m),
  };

  private secret(ns: string, name: string, key: string): string | undefined {
    const s = this.objects.get(keyOf('Secret', ns, name)) as
      | { data?: Record<string, string>; stringData?: Record<string, string> }
      | undefined;
    if (!s) return undefined;
    if (s.stringData?.[key] !== undefined) return s.stringData[key];
    const b64 = s.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  }

  /** Serialised, coalesced writes of the releases that changed. */
  private save(key: string): void {
    if (this.closed) return;
    this.dirty.add(key);
    this.saving = this.saving
      .then(async () => {
        for (const k of [...this.dirty]) {
          this.dirty.delete(k);
          const r = this.releases.get(k);
          if (r) await this.store.write(`releases/${k}`, r.record, { kind: 'release' });
        }
      })
      .catch((e) => this.log('error', `cannot save state: ${(e as Error).message}`));
  }

  /** Waits until every change so far is on disk. */
  async flush(): Promise<void> {
    await this.saving;
    await this.routing;
  }

  private routesChanged(): void {
    if (this.closed || this.routingQueued) return;
    this.routingQueued = true;
    this.routing = this.routing.then(async () => {
      this.routingQueued = false;
      if (this.closed) return;
      const listeners: Listener[] = [];
      const problems: string[] = [];
      for (const r of this.releases.values()) {
        const plan =
          r instanceof FlaggerRelease
            ? r.listeners(this.servicesIn(r.namespace), this.host)
            : releaseListeners({
                rollout: r.record.rollout,
                router: r.record.router,
                versions: r.endpoints(),
                services: this.servicesIn(r.namespace),
                defaultHost: this.host,
              });
        listeners.push(...plan.listeners);
        problems.push(...plan.problems.map((p) => `${r.namespace}/${r.name}: ${p}`));
      }
      try {
        await this.router.apply(listeners);
        this.lastRouteError = '';
      } catch (e) {
        problems.push((e as Error).message);
      }
      const text = problems.join('; ');
      if (text && text !== this.lastRouteError) this.log('error', `router: ${text}`);
      this.lastRouteError = text;
    });
  }

  private servicesIn(ns: string): ServiceObject[] {
    const out: ServiceObject[] = [];
    for (const [k, o] of this.objects) if (k.startsWith(`Service/${ns}/`)) out.push(o as ServiceObject);
    return out;
  }

  /** `vireo apply`: load, check, and store objects; a Rollout starts or updates its release. */
  async apply(sources: { name: string; text: string }[]): Promise<ApplyResult> {
    const objects: LoadedObject[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const src of sources) {
      const r = loadManifests(src.text, src.name);
      objects.push(...r.objects);
      diagnostics.push(...r.diagnostics);
    }
    diagnostics.push(...checkObjects(objects));
    for (const o of objects) {
      const kind = o.object.kind;
      if (kind === 'Rollout' || kind === 'Canary' || OBJECT_KINDS.has(kind) || ROUTER_KINDS.has(kind))
        continue;
      const flagger = o.object.apiVersion?.startsWith('flagger.app/');
      diagnostics.push({
        severity: 'error',
        file: o.file,
        line: o.line,
        column: 1,
        object: `${kind}/${o.object.metadata?.name ?? ''}`,
        path: ['kind'],
        message: flagger
          ? `${kind}: the local runtime runs Flagger's Canary and MetricTemplate (alerts: not yet)`
          : `${kind}: the local runtime runs Rollout, AnalysisTemplate, ClusterAnalysisTemplate, Canary, MetricTemplate, Deployment (a Canary's target), Service and Secret (Ingress and mesh routes are the local router's job)`,
        code: 'local-unsupported-kind',
      } as Diagnostic);
    }
    for (const o of objects) {
      const damaged = this.damaged.get(`${nsOf(o.object)}/${o.object.metadata?.name}`);
      if (o.object.kind === 'Rollout' && damaged)
        diagnostics.push({
          severity: 'error',
          file: o.file,
          line: o.line,
          column: 1,
          object: `Rollout/${o.object.metadata?.name}`,
          path: [],
          message: damaged,
          code: 'state-damaged',
        } as Diagnostic);
    }
    for (const o of objects) {
      if (o.object.kind !== 'Canary' && o.object.kind !== 'Rollout') continue;
      const ns = nsOf(o.object);
      const name = o.object.metadata?.name ?? '';
      const existing = this.releases.get(`${ns}/${name}`);
      const problem = (message: string, fieldPath: (string | number)[]) =>
        diagnostics.push({
          severity: 'error',
          file: o.file,
          line: o.locate(fieldPath).line,
          column: o.locate(fieldPath).column,
          object: `${o.object.kind}/${name}`,
          path: fieldPath,
          message,
          code: 'local-release',
        } as Diagnostic);
      if (existing && existing instanceof FlaggerRelease !== (o.object.kind === 'Canary'))
        problem(
          `${ns}/${name} is already a ${existing instanceof FlaggerRelease ? 'Canary' : 'Rollout'} here; delete it first or use another name`,
          ['metadata', 'name'],
        );
      if (o.object.kind === 'Canary') {
        const ref = (o.object.spec as { targetRef?: { kind?: string; name?: string } } | undefined)
          ?.targetRef;
        if (ref?.kind !== 'Deployment')
          problem(
            `spec.targetRef.kind: the local runtime runs Deployment targets (got ${ref?.kind ?? 'none'})`,
            ['spec', 'targetRef', 'kind'],
          );
        else if (!this.deploymentFor(ns, ref.name ?? '', objects))
          problem(`spec.targetRef: Deployment ${ns}/${ref.name} not found; apply it with the Canary`, [
            'spec',
            'targetRef',
            'name',
          ]);
      }
    }
    const errors = diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) return { ok: false, results: [], diagnostics };
    const results: string[] = [];
    let routes = false;
    for (const { object } of objects) {
      const ns = nsOf(object);
      const name = object.metadata?.name ?? '';
      const group = object.apiVersion?.includes('/') ? `.${object.apiVersion.split('/')[0]}` : '';
      const label = `${object.kind.toLowerCase()}${group}/${name}`;
      if (ROUTER_KINDS.has(object.kind)) {
        results.push(`${label} ignored (the local router does its job)`);
        continue;
      }
      if (object.kind === 'Canary') {
        results.push(await this.applyCanary(object as Canary, ns, objects, label));
        continue;
      }
      if (object.kind === 'Rollout') {
        const key = `${ns}/${name}`;
        const found = this.releases.get(key);
        const existing = found instanceof ArgoRelease ? found : undefined;
        const incoming = {
          ...(object as Rollout),
          metadata: { ...object.metadata, namespace: ns },
        } as Rollout;
        delete (incoming as { status?: unknown }).status;
        if (existing) {
          const before = JSON.stringify({
            ...existing.record.rollout,
            status: undefined,
            metadata: { ...existing.record.rollout.metadata, creationTimestamp: undefined },
          });
          const after = JSON.stringify({
            ...incoming,
            status: undefined,
            metadata: { ...incoming.metadata, creationTimestamp: undefined },
          });
          if (before === after) results.push(`${label} unchanged`);
          else {
            existing.updateSpec({
              ...incoming,
              metadata: {
                ...incoming.metadata,
                creationTimestamp: existing.record.rollout.metadata?.creationTimestamp,
              },
            } as Rollout);
            results.push(`${label} configured`);
          }
        } else {
          incoming.metadata = {
            ...incoming.metadata,
            creationTimestamp: new Date(this.now()).toISOString(),
          } as Rollout['metadata'];
          const r = this.addRelease(newArgoRecord(incoming));
          this.save(key);
          await r.start();
          results.push(`${label} created`);
        }
        continue;
      }
      const k = keyOf(object.kind, object.kind === 'ClusterAnalysisTemplate' ? CLUSTER : ns, name);
      const prev = this.objects.get(k);
      const stored =
        object.kind === 'ClusterAnalysisTemplate'
          ? object
          : { ...object, metadata: { ...object.metadata, namespace: ns } };
      if (prev && JSON.stringify(prev) === JSON.stringify(stored)) {
        results.push(`${label} unchanged`);
        continue;
      }
      this.objects.set(k, stored);
      await this.store.write(`objects/${k}`, stored, { kind: object.kind });
      results.push(`${label} ${prev ? 'configured' : 'created'}`);
      if (object.kind === 'Service') routes = true;
      if (object.kind === 'Deployment') {
        // A Deployment applied without its Canary: the Canary that targets it sees the new spec.
        for (const r of this.releases.values())
          if (
            r instanceof FlaggerRelease &&
            r.namespace === ns &&
            r.targetName === name &&
            !objects.some(
              (x) =>
                x.object.kind === 'Canary' && nsOf(x.object) === ns && x.object.metadata?.name === r.name,
            )
          )
            r.updateSpec(withoutStatus(r.record.canary), stored as DeploymentObject);
      }
    }
    if (routes) this.routesChanged();
    return { ok: true, results, diagnostics };
  }

  private deploymentFor(
    ns: string,
    name: string,
    incoming: readonly LoadedObject[],
  ): DeploymentObject | undefined {
    const fresh = incoming.find(
      (o) => o.object.kind === 'Deployment' && nsOf(o.object) === ns && o.object.metadata?.name === name,
    );
    if (fresh)
      return { ...fresh.object, metadata: { ...fresh.object.metadata, namespace: ns } } as DeploymentObject;
    return this.objects.get(keyOf('Deployment', ns, name)) as DeploymentObject | undefined;
  }

  private async applyCanary(
    object: Canary,
    ns: string,
    incoming: readonly LoadedObject[],
    label: string,
  ): Promise<string> {
    const name = object.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    const canary = { ...withoutStatus(object), metadata: { ...object.metadata, namespace: ns } } as Canary;
    const targetName = (canary.spec as { targetRef?: { name?: string } }).targetRef?.name ?? '';
    const deployment = this.deploymentFor(ns, targetName, incoming) as DeploymentObject;
    const existing = this.releases.get(key);
    if (existing instanceof FlaggerRelease) {
      const canarySame =
        JSON.stringify({ ...withoutStatus(existing.record.canary), metadata: undefined }) ===
        JSON.stringify({ ...canary, metadata: undefined });
      const targetSame = JSON.stringify(existing.record.deployment.spec) === JSON.stringify(deployment.spec);
      // The Deployment reports its own line; the Canary's says whether the Canary changed.
      if (!canarySame || !targetSame) existing.updateSpec(canary, deployment);
      return `${label} ${canarySame ? 'unchanged' : 'configured'}`;
    }
    canary.metadata = {
      ...canary.metadata,
      creationTimestamp: new Date(this.now()).toISOString(),
    } as Canary['metadata'];
    const r = this.addFlagger(newFlaggerRecord(canary, deployment, this.now()));
    this.save(key);
    await r.start();
    return `${label} created`;
  }

  /** `vireo delete KIND NAME`. */
  async delete(kind: string, ns: string, name: string): Promise<string> {
    const k = normalKind(kind);
    if (k === 'Rollout' || k === 'Canary') {
      const key = `${ns}/${name}`;
      const r = this.releases.get(key);
      const isCanary = k === 'Canary';
      if (!r || r instanceof FlaggerRelease !== isCanary)
        throw new UserError(`${k.toLowerCase()} ${key} not found`);
      this.releases.delete(key);
      this.dirty.delete(key);
      await this.saving;
      await r.teardown();
      await this.store.delete(`releases/${key}`);
      this.routesChanged();
      return `${isCanary ? 'canary.flagger.app' : 'rollout.argoproj.io'}/${name} deleted`;
    }
    if (k === 'Deployment')
      for (const r of this.releases.values())
        if (r instanceof FlaggerRelease && r.namespace === ns && r.targetName === name)
          throw new UserError(
            `deployment ${ns}/${name} is the target of canary ${r.name}; delete the Canary first`,
          );
    const objKey = keyOf(k, k === 'ClusterAnalysisTemplate' ? CLUSTER : ns, name);
    if (!this.objects.delete(objKey)) throw new UserError(`${k} ${ns}/${name} not found`);
    await this.store.delete(`objects/${objKey}`);
    if (k === 'Service') this.routesChanged();
    return `${k.toLowerCase()}/${name} deleted`;
  }

  private release(ns: string, name: string): Release {
    const r = this.releases.get(`${ns}/${name}`);
    if (!r) {
      const damaged = this.damaged.get(`${ns}/${name}`);
      throw new UserError(damaged ?? `rollout ${ns}/${name} not found`);
    }
    return r;
  }

  views(ns?: string): ReleaseView[] {
    return [...this.releases.values()]
      .filter((r) => ns === undefined || r.namespace === ns)
      .map((r) => this.viewOf(r))
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }

  view(ns: string, name: string): ReleaseView {
    return this.viewOf(this.release(ns, name));
  }

  private viewOf(r: Release): ReleaseView {
    if (r instanceof FlaggerRelease) return r.view();
    return argoReleaseView(r.record, (hash) => this.supervisor.status(r.versionName(hash)), r.currentHash());
  }

  /** The listeners' addresses, by Service. */
  addresses(): Record<string, string> {
    return this.router.addresses?.() ?? {};
  }

  /** A user action (`promote`, `abort`, ...), as the kubectl plugin writes it. */
  async act(
    ns: string,
    name: string,
    verb: string,
    args: { full?: boolean; toRevision?: number; container?: string; image?: string; actor?: string } = {},
  ): Promise<string> {
    const message = await this.carryOut(ns, name, verb, args);
    // Actions with a known actor (the dashboard) also go to the release's event timeline.
    const r = this.releases.get(`${ns}/${name}`);
    if (args.actor && r instanceof ArgoRelease) {
      r.event('Normal', 'UserAction', userActionEventMessage(verb, args, args.actor));
      this.save(`${ns}/${name}`);
    }
    return message;
  }

  private async carryOut(
    ns: string,
    name: string,
    verb: string,
    args: { full?: boolean; toRevision?: number; container?: string; image?: string },
  ): Promise<string> {
    const r = this.release(ns, name);
    if (r instanceof FlaggerRelease)
      throw new UserError(
        `${verb}: a Flagger Canary is driven by its analysis and webhook gates (confirm-promotion, rollback), e.g. through \`vireo loadtester\`'s /gate and /rollback endpoints`,
      );
    const now = new Date(this.now());
    try {
      // The shared change (argo-actions.ts), applied to the record; undo reads the versions' templates.
      let message = '';
      r.act((x) => {
        const done = applyUserAction(x, verb, args, {
          now,
          history: () =>
            Object.values(r.record.versions).map((v) => ({
              revision: v.revision,
              template: v.template,
            })),
        });
        message = done.message;
        return done.rollout;
      });
      return message;
    } catch (e) {
      if (e instanceof UserActionError) throw new UserError(e.message);
      throw e;
    }
  }

  /** Where `vireo up` can be reached, for the CLI verbs (`<state-dir>/runtime.json`). */
  async writeRuntimeInfo(info: RuntimeInfo): Promise<void> {
    await this.store.write('runtime', info, { kind: 'runtime' });
  }

  get stateDir(): string {
    return this.store.dir;
  }

  metricsText(): string {
    return this.router.metrics().text();
  }

  /** Stops the releases, the router and every replica; the state stays for the next start. */
  async close(options: { keepProcesses?: boolean } = {}): Promise<void> {
    for (const r of this.releases.values()) r.close();
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    await this.saveMetrics();
    await this.saving;
    await this.routing;
    this.closed = true;
    await this.router.close({ drainMs: 2_000 });
    if (!options.keepProcesses) await this.supervisor.close();
    await this.store.close();
  }
}

export interface RuntimeInfo {
  /** The API's URL. */
  url: string;
  pid: number;
  startedAt: string;
}

/** The running runtime of a state directory, or undefined when none is recorded or its process is gone. */
export async function readRuntimeInfo(stateDir: string): Promise<RuntimeInfo | undefined> {
  let store: StateStore;
  try {
    store = await openStateDir(stateDir, { readOnly: true });
  } catch {
    return undefined;
  }
  try {
    const info = await store.read<RuntimeInfo>('runtime');
    if (!info || !pidAlive(info.pid)) return undefined;
    return info;
  } finally {
    await store.close();
  }
}

export function normalKind(kind: string): string {
  const k = (kind.toLowerCase().split('.')[0] ?? '').replace(/s$/, '');
  const known: Record<string, string> = {
    rollout: 'Rollout',
    ro: 'Rollout',
    analysistemplate: 'AnalysisTemplate',
    clusteranalysistemplate: 'ClusterAnalysisTemplate',
    service: 'Service',
    svc: 'Service',
    secret: 'Secret',
    canary: 'Canary',
    canarie: 'Canary',
    deployment: 'Deployment',
    deploy: 'Deployment',
    metrictemplate: 'MetricTemplate',
    alertprovider: 'AlertProvider',
  };
  const found = Object.hasOwn(known, k) ? known[k] : undefined; // `vireo get constructor` is unknown
  if (!found)
    throw new UserError(
      `kind ${kind}: the local runtime has rollout, canary, analysistemplate, clusteranalysistemplate, metrictemplate, deployment, service and secret`,
    );
  return found;
}

export { formatDiagnostic };
