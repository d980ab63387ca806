/**
 * The Kubernetes adapter for one Argo Rollout (issue 6): it observes the Rollout's ReplicaSets,
 * Services, router objects and AnalysisRuns from the informers' caches, calls the pure engines
 * (reconcileCanary / reconcileBlueGreen) and carries out their actions against the API server, then
 * writes the new status through the status subresource. It decides nothing itself (ADR 6).
 *
 * A Rollout with spec.workloadRef is handed to the engine with the referenced Deployment's template
 * and selector, and the Deployment is scaled as `scaleDown` asks (both worked out in workload.ts). A
 * template whose hash no ReplicaSet carries is compared, with the API server's defaults, to the
 * ReplicaSets' templates (template-match.ts), so an undo reuses the old ReplicaSet as Argo does.
 *
 * Consistency: every write of an object read from a cache carries its resourceVersion, so a write
 * based on a stale read fails with 409 Conflict and the Rollout is reconciled again from fresh
 * caches. When an action fails the status is not written: the engine recomputes from what it
 * observes next time, which is how it survives a crash between an action and the status write.
 */

import type { AnalysisRun, ArgInput } from '../../api/argo/analysis.js';
import { canonicalJson, podTemplateHash } from '../../api/argo/pod-template-hash.js';
import { type Rollout, type RolloutStatus, rolloutKind } from '../../api/argo/rollout.js';
import type { Diagnostic } from '../../api/diagnostics.js';
import { checkObject } from '../../api/load.js';
import { buildAnalysisRun, type TemplateKind } from '../../engine/analysis/templates.js';
import { type BlueGreenAction, reconcileBlueGreen } from '../../engine/argo/bluegreen.js';
import { reconcileCanary } from '../../engine/argo/machine.js';
import type { CanaryObservation, ObservedReplicaSet } from '../../engine/argo/types.js';
import { nginxRouter } from '../../routers/kubernetes/nginx.js';
import {
  type HeaderRoute,
  isControlledBy,
  type KubeObject,
  type KubeTrafficRouter,
  type ObjectRef,
  RouterError,
  type RouterRollout,
} from '../../routers/kubernetes/router.js';
import { traefikRouter } from '../../routers/kubernetes/traefik.js';
import {
  isAlreadyExists,
  isConflict,
  type KubeClient,
  type KubeJson,
  RESOURCES,
  resourceOf,
} from './client.js';
import type { EventInput } from './events.js';
import type { Informer } from './informer.js';
import {
  analysisRunFor,
  DESIRED_REPLICAS_ANNOTATION,
  HASH_LABEL,
  nextRevision,
  observeReplicaSet,
  REVISION_ANNOTATION,
  replicaSetFor,
  serviceSelectorPatch,
} from './objects.js';
import { matchingReplicaSetHash } from './template-match.js';
import {
  type DeploymentJson,
  deploymentReplicasWanted,
  invalidRolloutMessage,
  resolveWorkloadRef,
  WORKLOAD_GENERATION_ANNOTATION,
  type WorkloadResolution,
} from './workload.js';

/** Argo's label for sharding Rollouts between controllers (`--instance-id`). */
export const INSTANCE_ID_LABEL = 'argo-rollouts.argoproj.io/controller-instance-id';
/** Where a ReplicaSet keeps the ephemeral pod metadata a blue/green role put on it (as Argo). */
const EPHEMERAL_METADATA_ANNOTATION = 'rollout.argoproj.io/ephemeral-metadata';
/** Remembered template matches (`observedPodHash`): one per Rollout revision, a few per Rollout. */
const MAX_TEMPLATE_MATCHES = 4096;

export interface Caches {
  rollouts: Informer<KubeJson>;
  replicaSets: Informer<KubeJson>;
  services: Informer<KubeJson>;
  ingresses: Informer<KubeJson>;
  traefikServices: Informer<KubeJson>;
  analysisRuns: Informer<KubeJson>;
  analysisTemplates: Informer<KubeJson>;
  /** Deployments a Rollout's spec.workloadRef names. */
  deployments: Informer<KubeJson>;
  /** Absent in a namespaced install (no cluster-scoped reads, as Argo's --namespaced). */
  clusterAnalysisTemplates?: Informer<KubeJson>;
}

export interface RolloutHost {
  client: KubeClient;
  caches: Caches;
  now(): number;
  event(obj: KubeJson, e: EventInput): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  instanceId?: string;
  /** Stops writes at once when leadership is lost. */
  signal?: AbortSignal;
}

export interface ReconcileOutcome {
  /** Reconcile again after this long (the engine's requeue), if at all. */
  requeueAfterMs?: number;
  /** The transition that fired, for logs and tests. */
  transition?: string;
}

/** The Rollout is someone else's (another instance id) or not ours to reconcile. */
export function handledByInstance(obj: KubeJson, instanceId: string | undefined): boolean {
  const label = obj.metadata.labels?.[INSTANCE_ID_LABEL];
  return instanceId ? label === instanceId : label === undefined;
}

const ROUTERS: Record<string, KubeTrafficRouter> = { nginx: nginxRouter, traefik: traefikRouter };

/** The router of a Rollout, or why there is none Vireo can drive. */
function routerFor(rollout: Rollout): { router?: KubeTrafficRouter; unsupported?: string } {
  const tr = rollout.spec.strategy?.canary?.trafficRouting as Record<string, unknown> | undefined;
  if (!tr) return {};
  const kinds = Object.keys(tr).filter(
    (k) => !['maxTrafficWeight', 'managedRoutes'].includes(k) && tr[k] !== undefined,
  );
  for (const k of kinds) if (ROUTERS[k]) return { router: ROUTERS[k] };
  return { unsupported: kinds.join(', ') || 'none' };
}

/** The InvalidSpec status Argo writes: the condition, phase Degraded and the message. */
export function invalidSpecStatus(
  prev: RolloutStatus | undefined,
  message: string,
  now: string,
): RolloutStatus {
  const conditions = (prev?.conditions ?? []).filter((c) => c.type !== 'InvalidSpec');
  const old = prev?.conditions?.find((c) => c.type === 'InvalidSpec');
  conditions.push({
    type: 'InvalidSpec',
    status: 'True',
    reason: 'InvalidSpec',
    message,
    lastTransitionTime: old?.message === message ? old.lastTransitionTime : now,
    lastUpdateTime: old?.message === message ? old.lastUpdateTime : now,
  } as NonNullable<RolloutStatus['conditions']>[number]);
  return { ...prev, conditions, phase: 'Degraded', message: `InvalidSpec: ${message}` };
}

const firstError = (ds: Diagnostic[]): Diagnostic | undefined => ds.find((d) => d.severity === 'error');

function describe(d: Diagnostic): string {
  const path = d.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  return `${path.replace(/^\./, '')}: ${d.message}${d.allowed ? ` (allowed: ${d.allowed})` : ''}`;
}

export class RolloutReconciler {
  constructor(private readonly host: RolloutHost) {}

  private get caches(): Caches {
    return this.host.caches;
  }

  private checkLeading(): void {
    if (this.host.signal?.aborted) throw new Error('leadership lost: not writing');
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileOutcome> {
    const obj = this.caches.rollouts.get(namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) return {};
    if (!handledByInstance(obj, this.host.instanceId)) return {};
    const rollout = obj as unknown as Rollout & KubeJson;
    const now = this.host.now();
    const nowIso = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');

    // spec.workloadRef: the engine works on the Rollout with the Deployment's template (the object on
    // the server keeps its own spec).
    const workload = resolveWorkloadRef(
      rollout,
      (ns, n) => this.caches.deployments.get(ns, n) as DeploymentJson | undefined,
    );
    const invalid = this.invalidReason(rollout, workload);
    if (invalid) {
      const status = invalidSpecStatus(rollout.status, invalid, nowIso);
      const wasInvalid = rollout.status?.conditions?.some(
        (c) => c.type === 'InvalidSpec' && c.message === invalid,
      );
      if (!wasInvalid) {
        this.host.log('warn', `InvalidSpec: ${invalid}`, { namespace, rollout: name });
        await this.host.event(obj, { type: 'Warning', reason: 'InvalidSpec', message: invalid });
      }
      await this.writeStatus(rollout, status);
      return { transition: 'InvalidSpec' };
    }
    const resolved = workload.kind === 'invalid' ? rollout : (workload.rollout as Rollout & KubeJson);
    // Valid (again): the engine works from a status without the InvalidSpec condition.
    const prevStatus = rollout.status
      ? {
          ...rollout.status,
          conditions: (rollout.status.conditions ?? []).filter((c) => c.type !== 'InvalidSpec'),
        }
      : undefined;
    const current: Rollout & KubeJson = { ...resolved, ...(prevStatus ? { status: prevStatus } : {}) };

    const owned = this.ownedReplicaSets(current);
    const podHash = await this.observedPodHash(current, owned);
    await this.renumberUndoneRevision(owned, podHash);
    const { router } = routerFor(current);
    const routerRollout = router ? this.routerRollout(current) : undefined;
    const traffic =
      router && routerRollout
        ? router.current(routerRollout, (ref) => this.observed(ref, namespace))
        : undefined;
    const observed = this.observe(current, owned, podHash, traffic, router !== undefined);

    const engine = current.spec.strategy?.blueGreen ? reconcileBlueGreen : reconcileCanary;
    const res = engine(current, observed, new Date(now));
    const requeue = await this.carryOut(current, res.actions, {
      podHash,
      owned,
      router,
      routerRollout,
      traffic: traffic ?? { canaryWeight: 0, headerRoutes: [] },
    });
    const status = withWorkloadGeneration(res.status, workload);
    const written = await this.writeStatus(rollout, status);
    if (workload.kind === 'resolved') {
      // After the status: the Deployment follows what the Rollout has reported (level-triggered, so a
      // failed patch is simply made again on the next pass).
      await this.scaleWorkload(current, workload.deployment, status);
      await this.annotateWorkloadGeneration(written ?? rollout, workload.generation);
    }
    if (
      `${rollout.status?.phase}` !== `${res.status.phase}` ||
      rollout.status?.currentStepIndex !== res.status.currentStepIndex
    )
      this.host.log('info', `${res.transition}: phase ${res.status.phase}`, {
        namespace,
        rollout: name,
        step: res.status.currentStepIndex,
        message: res.status.message,
      });
    return { ...(requeue !== undefined ? { requeueAfterMs: requeue } : {}), transition: res.transition };
  }

  /** Why the spec is invalid, worded as Argo's InvalidSpec message, or undefined. */
  private invalidReason(rollout: Rollout & KubeJson, workload: WorkloadResolution): string | undefined {
    if (workload.kind === 'invalid') return workload.message;
    const why = this.specProblem(rollout, workload);
    return why === undefined ? undefined : invalidRolloutMessage(rollout, why);
  }

  private specProblem(rollout: Rollout & KubeJson, workload: WorkloadResolution): string | undefined {
    const d = firstError(checkObject(rolloutKind, rollout as never));
    if (d) return describe(d);
    const { unsupported } = routerFor(rollout);
    if (unsupported)
      return `spec.strategy.canary.trafficRouting: ${unsupported} is not a router Vireo drives on Kubernetes yet (nginx, traefik are)`;
    if (workload.kind === 'resolved') {
      // The Deployment's template must make sense as the Rollout's (its labels match the selector,
      // ...): the same rules, on the Rollout as the engine will see it.
      const { workloadRef: _ref, ...spec } = workload.rollout.spec;
      const w = firstError(checkObject(rolloutKind, { ...workload.rollout, spec } as never));
      if (w)
        return `${describe(w)} (the template and selector come from Deployment ${rollout.spec.workloadRef?.name})`;
    }
    return undefined;
  }

  /**
   * The observed pod-template hash: the computed one, unless no ReplicaSet carries it but one has the
   * same template once the API server's defaults are applied (a template `undo` copied back from a
   * ReplicaSet); then that ReplicaSet's hash, so it is scaled up again rather than duplicated, as Argo
   * does. The defaulted template comes from a server-side dry run, once per (Rollout, computed hash).
   */
  private async observedPodHash(rollout: Rollout & KubeJson, owned: KubeJson[]): Promise<string> {
    const computed = podTemplateHash(rollout.spec.template, rollout.status?.collisionCount ?? 0);
    const has = (hash: string) => owned.some((rs) => rs.metadata.labels?.[HASH_LABEL] === hash);
    if (owned.length === 0 || has(computed)) return computed;
    const key = `${rollout.metadata.uid ?? ''}/${computed}`;
    let match = this.templateMatches.get(key);
    if (match === undefined) {
      match = matchingReplicaSetHash(await this.defaultedTemplate(rollout, computed), owned) ?? null;
      // Bounded: the oldest answer goes first (Maps keep insertion order).
      if (this.templateMatches.size >= MAX_TEMPLATE_MATCHES) {
        const oldest = this.templateMatches.keys().next().value;
        if (oldest !== undefined) this.templateMatches.delete(oldest);
      }
      this.templateMatches.set(key, match);
    }
    return match && has(match) ? match : computed;
  }

  /** Answers of `observedPodHash` by `<rollout uid>/<computed hash>` (null: no ReplicaSet matched). */
  private readonly templateMatches = new Map<string, string | null>();

  /** The Rollout's template as the API server stores it in the ReplicaSet the controller would make. */
  private async defaultedTemplate(rollout: Rollout & KubeJson, hash: string): Promise<unknown> {
    const rs = replicaSetFor(rollout, hash, 0, 0);
    // generateName: nothing is stored, and a clash with an object of that name cannot refuse it.
    const { name, ...metadata } = rs.metadata;
    const probe = { ...rs, metadata: { ...metadata, generateName: `${name}-` } };
    const answer = await this.host.client.create(RESOURCES.replicaSets, probe as unknown as KubeJson, {
      dryRun: 'All',
    });
    return (answer.spec as { template?: unknown } | undefined)?.template;
  }

  /** Scales the referenced Deployment as spec.workloadRef.scaleDown asks (workload.ts). */
  private async scaleWorkload(
    rollout: Rollout & KubeJson,
    deployment: DeploymentJson,
    status: RolloutStatus,
  ): Promise<void> {
    const scaleDown = rollout.spec.workloadRef?.scaleDown;
    const from = deployment.spec?.replicas ?? 1;
    const replicas = deploymentReplicasWanted({
      scaleDown,
      deploymentReplicas: from,
      rolloutReplicas: rollout.spec.replicas,
      status,
    });
    if (replicas === undefined) return;
    this.checkLeading();
    const ns = deployment.metadata.namespace ?? rollout.metadata.namespace;
    try {
      await this.host.client.patch(RESOURCES.deployments, ns, deployment.metadata.name, {
        metadata: { resourceVersion: deployment.metadata.resourceVersion },
        spec: { replicas },
      });
    } catch (e) {
      // The Deployment moved on (its controller writes its status often): again from a fresh cache.
      if (isConflict(e)) throw Object.assign(e as Error, { retryable: true });
      throw e;
    }
    await this.host.event(rollout, {
      type: 'Normal',
      reason: 'ScalingDeployment',
      message: `Scaled down Deployment ${deployment.metadata.name} from ${from} to ${replicas} (workloadRef scaleDown ${scaleDown})`,
    });
  }

  /**
   * Argo's `rollout.argoproj.io/workload-generation` annotation: the Deployment generation the
   * controller has seen, so a client (Argo CD's health check) can tell whether
   * status.workloadObservedGeneration has caught up.
   */
  private async annotateWorkloadGeneration(rollout: KubeJson, generation: string): Promise<void> {
    if (rollout.metadata.annotations?.[WORKLOAD_GENERATION_ANNOTATION] === generation) return;
    this.checkLeading();
    try {
      const patched = await this.host.client.patch<KubeJson>(
        RESOURCES.rollouts,
        rollout.metadata.namespace,
        rollout.metadata.name,
        {
          metadata: {
            resourceVersion: rollout.metadata.resourceVersion,
            annotations: { [WORKLOAD_GENERATION_ANNOTATION]: generation },
          },
        },
      );
      this.caches.rollouts.assume(patched);
    } catch (e) {
      if (isConflict(e)) throw Object.assign(e as Error, { retryable: true });
      throw e;
    }
  }

  private ownedReplicaSets(rollout: KubeJson): KubeJson[] {
    const uid = rollout.metadata.uid ?? '';
    return this.caches.replicaSets
      .list(rollout.metadata.namespace)
      .filter((rs) => isControlledBy(rs as KubeObject, uid) && rs.metadata.labels?.[HASH_LABEL]);
  }

  /**
   * The template went back to an existing ReplicaSet (undo): as Argo, that ReplicaSet takes the next
   * revision, so revisions keep counting up.
   */
  private async renumberUndoneRevision(owned: KubeJson[], podHash: string): Promise<void> {
    const revs = owned.map((rs) => observeReplicaSet(rs as never));
    const cur = owned.find((rs) => rs.metadata.labels?.[HASH_LABEL] === podHash);
    if (!cur) return;
    const mine = Number(cur.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
    if (!revs.some((r) => (r?.revision ?? 0) > mine)) return;
    this.checkLeading();
    const next = nextRevision(revs.map((r) => ({ revision: r?.revision })));
    await this.host.client.patch(RESOURCES.replicaSets, cur.metadata.namespace, cur.metadata.name, {
      metadata: {
        resourceVersion: cur.metadata.resourceVersion,
        annotations: { [REVISION_ANNOTATION]: String(next) },
      },
    });
  }

  private routerRollout(rollout: Rollout & KubeJson): RouterRollout {
    const c = rollout.spec.strategy?.canary;
    return {
      name: rollout.metadata.name,
      namespace: rollout.metadata.namespace ?? 'default',
      uid: rollout.metadata.uid ?? '',
      stableService: c?.stableService ?? '',
      canaryService: c?.canaryService ?? '',
      trafficRouting: c?.trafficRouting ?? {},
    };
  }

  private observed(ref: ObjectRef, namespace: string): KubeObject | undefined {
    const cache =
      ref.kind === 'Ingress'
        ? this.caches.ingresses
        : ref.kind === 'TraefikService'
          ? this.caches.traefikServices
          : ref.kind === 'Service'
            ? this.caches.services
            : undefined;
    return cache?.get(namespace, ref.name) as KubeObject | undefined;
  }

  private observe(
    rollout: Rollout & KubeJson,
    owned: KubeJson[],
    podHash: string,
    traffic: { canaryWeight: number; headerRoutes: HeaderRoute[] } | undefined,
    routed: boolean,
  ): CanaryObservation {
    const status = rollout.status ?? {};
    const all = owned
      .map((rs) => ({ rs, o: observeReplicaSet(rs as never) }))
      .filter((x) => x.o !== undefined);
    const restartAt = rollout.spec.restartAt;
    const restartMs =
      restartAt && status.restartedAt !== restartAt ? Date.parse(String(restartAt)) : Number.NaN;
    const toObserved = (x: (typeof all)[number]): ObservedReplicaSet => {
      const o = x.o as ObservedReplicaSet & { revision?: number };
      const eph = x.rs.metadata.annotations?.[EPHEMERAL_METADATA_ANNOTATION];
      let podMetadata: ObservedReplicaSet['podMetadata'];
      if (eph) {
        try {
          podMetadata = JSON.parse(eph) as ObservedReplicaSet['podMetadata'];
        } catch {
          podMetadata = undefined;
        }
      }
      const { revision: _revision, ...rest } = o;
      return {
        ...rest,
        ...(podMetadata ? { podMetadata } : {}),
        ...(Number.isFinite(restartMs) ? { podsToRestart: this.podsCreatedBefore(x.rs, restartMs) } : {}),
      };
    };
    const stable = all.find((x) => x.o?.hash === status.stableRS);
    const canary = all.find((x) => x.o?.hash === podHash);
    const older = all.filter((x) => x !== stable && x !== canary).map(toObserved);
    const analysisRuns: NonNullable<CanaryObservation['analysisRuns']> = {};
    const uid = rollout.metadata.uid ?? '';
    for (const run of this.caches.analysisRuns.list(rollout.metadata.namespace)) {
      if (!isControlledBy(run as KubeObject, uid)) continue;
      const s = (run as unknown as AnalysisRun).status;
      analysisRuns[run.metadata.name] = {
        phase: s?.phase || 'Pending',
        ...(s?.message ? { message: s.message } : {}),
      };
    }
    return {
      podHash,
      revision: canary?.o?.revision ?? nextRevision(all.map((x) => ({ revision: x.o?.revision }))),
      replicaSets: {
        ...(stable ? { stable: toObserved(stable) } : {}),
        ...(canary ? { canary: toObserved(canary) } : {}),
        older,
      },
      ...(routed ? { weights: { canary: traffic?.canaryWeight ?? 0 } } : {}),
      analysisRuns,
      managedRoutes: (traffic?.headerRoutes ?? []).map((h) => h.name),
    };
  }

  /** Pods are not cached (they are many); counted only while a restart is pending. */
  private readonly podCounts = new Map<string, number>();
  private podsCreatedBefore(rs: KubeJson, beforeMs: number): number {
    return this.podCounts.get(`${rs.metadata.namespace}/${rs.metadata.name}@${beforeMs}`) ?? 0;
  }

  private async countPods(rollout: Rollout & KubeJson, owned: KubeJson[]): Promise<void> {
    const restartAt = rollout.spec.restartAt;
    if (!restartAt || rollout.status?.restartedAt === restartAt) return;
    const before = Date.parse(String(restartAt));
    for (const rs of owned) {
      const pods = await this.restartablePods(rs, before);
      this.podCounts.set(`${rs.metadata.namespace}/${rs.metadata.name}@${before}`, pods.length);
    }
  }

  private async restartablePods(rs: KubeJson, beforeMs: number): Promise<KubeJson[]> {
    const hash = rs.metadata.labels?.[HASH_LABEL];
    const { items } = await this.host.client.list(RESOURCES.pods, rs.metadata.namespace, {
      labelSelector: `${HASH_LABEL}=${hash}`,
    });
    return items.filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        Date.parse(p.metadata.creationTimestamp ?? '') < beforeMs &&
        isControlledBy(p as KubeObject, rs.metadata.uid ?? ''),
    );
  }

  private async carryOut(
    rollout: Rollout & KubeJson,
    actions: readonly BlueGreenAction[],
    o: {
      podHash: string;
      owned: KubeJson[];
      router: KubeTrafficRouter | undefined;
      routerRollout: RouterRollout | undefined;
      traffic: { canaryWeight: number; headerRoutes: HeaderRoute[] };
    },
  ): Promise<number | undefined> {
    const client = this.host.client;
    const ns = rollout.metadata.namespace ?? 'default';
    const rsByHash = new Map(o.owned.map((rs) => [rs.metadata.labels?.[HASH_LABEL] ?? '', rs]));
    let requeue: number | undefined;
    const traffic = { canaryWeight: o.traffic.canaryWeight, headerRoutes: [...o.traffic.headerRoutes] };
    let trafficChanged = false;
    const nextRev = () =>
      nextRevision(o.owned.map((rs) => ({ revision: observeReplicaSet(rs as never)?.revision })));
    for (const a of actions) {
      if (a.type !== 'EmitEvent' && a.type !== 'RequeueAfter') this.checkLeading();
      switch (a.type) {
        case 'CreateReplicaSet': {
          const existing = rsByHash.get(a.hash);
          if (existing) {
            await this.scale(existing, a.replicas, rollout);
            break;
          }
          const revision = nextRev();
          const rs = replicaSetFor(rollout, a.hash, revision, a.replicas);
          try {
            await client.create(RESOURCES.replicaSets, rs as KubeJson);
            await this.host.event(rollout, {
              type: 'Normal',
              reason: 'NewReplicaSetCreated',
              message: `Created ReplicaSet ${rs.metadata.name} (revision ${revision}) with size ${a.replicas}`,
            });
          } catch (e) {
            // Made before a restart whose cache had not seen it yet: the next reconcile observes it.
            if (!isAlreadyExists(e)) throw e;
          }
          break;
        }
        case 'ScaleReplicaSet': {
          const rs = rsByHash.get(a.hash);
          if (rs) await this.scale(rs, a.replicas, rollout);
          break;
        }
        case 'DeleteReplicaSet': {
          const rs = rsByHash.get(a.hash);
          if (rs)
            await client.delete(RESOURCES.replicaSets, ns, rs.metadata.name, {
              propagationPolicy: 'Background',
            });
          break;
        }
        case 'SetWeight':
          if (traffic.canaryWeight !== a.canary) {
            traffic.canaryWeight = a.canary;
            trafficChanged = true;
          }
          trafficChanged ||= o.router !== undefined && o.routerRollout !== undefined;
          break;
        case 'SetHeaderRoute': {
          traffic.headerRoutes = traffic.headerRoutes.filter((h) => h.name !== a.name);
          if (a.match.length > 0)
            traffic.headerRoutes.push({ name: a.name, match: a.match as HeaderRoute['match'] });
          trafficChanged = true;
          break;
        }
        case 'RemoveManagedRoutes': {
          const names = new Set(a.names);
          traffic.headerRoutes = traffic.headerRoutes.filter((h) => !names.has(h.name));
          trafficChanged = true;
          break;
        }
        case 'SetMirrorRoute':
          await this.host.event(rollout, {
            type: 'Warning',
            reason: 'MirrorRouteUnsupported',
            message: `${o.router?.type ?? 'this router'} has no mirror routes; mirror route ${a.name} is not set`,
          });
          break;
        case 'SwitchServiceSelector': {
          const svc = this.caches.services.get(ns, a.service);
          if (!svc) throw new Error(`Service ${ns}/${a.service} not found`);
          const patch = serviceSelectorPatch(svc as never, rollout.metadata.name, a.hash);
          if (patch) {
            await client.patch(RESOURCES.services, ns, a.service, patch);
            await this.host.event(rollout, {
              type: 'Normal',
              reason: 'SwitchService',
              message: `Switched selector for service '${a.service}' from '${(svc as { spec?: { selector?: Record<string, string> } }).spec?.selector?.[HASH_LABEL] ?? ''}' to '${a.hash}'`,
            });
          }
          break;
        }
        case 'CreateAnalysisRun':
          await this.createRun(rollout, a, o.podHash);
          break;
        case 'TerminateAnalysisRun': {
          const run = this.caches.analysisRuns.get(ns, a.name) as unknown as AnalysisRun | undefined;
          if (
            run &&
            !run.spec.terminate &&
            !['Successful', 'Failed', 'Error', 'Inconclusive'].includes(run.status?.phase ?? '')
          )
            await client.patch(RESOURCES.analysisRuns, ns, a.name, { spec: { terminate: true } });
          break;
        }
        case 'RestartPods': {
          const rs = rsByHash.get(a.hash);
          if (!rs) break;
          const pods = await this.restartablePods(rs, Date.parse(a.before));
          for (const p of pods.slice(0, a.count)) {
            await client.create(
              { ...RESOURCES.pods, plural: `pods/${encodeURIComponent(p.metadata.name)}/eviction` },
              {
                apiVersion: 'policy/v1',
                kind: 'Eviction',
                metadata: { name: p.metadata.name, namespace: ns },
              },
            );
            await this.host.event(rollout, {
              type: 'Normal',
              reason: 'RestartingPods',
              message: `Rollout restart: evicted pod ${p.metadata.name}`,
            });
          }
          break;
        }
        case 'SetPodMetadata': {
          const rs = rsByHash.get(a.hash);
          if (rs) await this.setPodMetadata(rs, a.labels, a.annotations);
          break;
        }
        case 'EmitEvent':
          await this.host.event(rollout, { type: a.eventType, reason: a.reason, message: a.message });
          break;
        case 'RequeueAfter':
          requeue = requeue === undefined ? a.ms : Math.min(requeue, a.ms);
          break;
        default:
          break;
      }
    }
    if (trafficChanged && o.router && o.routerRollout)
      await this.route(rollout, o.router, o.routerRollout, traffic);
    await this.countPods(rollout, o.owned);
    return requeue;
  }

  private async scale(rs: KubeJson, replicas: number, rollout: Rollout & KubeJson): Promise<void> {
    const spec = rs.spec as { replicas?: number } | undefined;
    const desired = String(rollout.spec.replicas ?? 1);
    if (
      (spec?.replicas ?? 1) === replicas &&
      rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] === desired
    )
      return;
    await this.host.client.patch(RESOURCES.replicaSets, rs.metadata.namespace, rs.metadata.name, {
      metadata: {
        resourceVersion: rs.metadata.resourceVersion,
        annotations: { [DESIRED_REPLICAS_ANNOTATION]: desired },
      },
      spec: { replicas },
    });
    if ((spec?.replicas ?? 1) !== replicas)
      await this.host.event(rollout, {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled ${replicas > (spec?.replicas ?? 1) ? 'up' : 'down'} ReplicaSet ${rs.metadata.name} (revision ${rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '?'}) from ${spec?.replicas ?? 1} to ${replicas}`,
      });
  }

  private async setPodMetadata(
    rs: KubeJson,
    labels: Record<string, string>,
    annotations: Record<string, string>,
  ): Promise<void> {
    const prev = (() => {
      try {
        return JSON.parse(rs.metadata.annotations?.[EPHEMERAL_METADATA_ANNOTATION] ?? '{}') as {
          labels?: Record<string, string>;
          annotations?: Record<string, string>;
        };
      } catch {
        return {};
      }
    })();
    // Keys an earlier call put there and that are no longer wanted are removed (null in a merge patch).
    const diff = (old: Record<string, string> | undefined, want: Record<string, string>) => ({
      ...Object.fromEntries(
        Object.keys(old ?? {})
          .filter((k) => !(k in want))
          .map((k) => [k, null]),
      ),
      ...want,
    });
    const meta = { labels: diff(prev.labels, labels), annotations: diff(prev.annotations, annotations) };
    const empty = Object.keys(labels).length === 0 && Object.keys(annotations).length === 0;
    await this.host.client.patch(RESOURCES.replicaSets, rs.metadata.namespace, rs.metadata.name, {
      metadata: {
        resourceVersion: rs.metadata.resourceVersion,
        annotations: {
          [EPHEMERAL_METADATA_ANNOTATION]: empty ? null : JSON.stringify({ labels, annotations }),
        },
      },
      spec: { template: { metadata: meta } },
    });
    const { items } = await this.host.client.list(RESOURCES.pods, rs.metadata.namespace, {
      labelSelector: `${HASH_LABEL}=${rs.metadata.labels?.[HASH_LABEL]}`,
    });
    for (const p of items)
      await this.host.client.patch(RESOURCES.pods, p.metadata.namespace, p.metadata.name, { metadata: meta });
  }

  private async route(
    rollout: Rollout & KubeJson,
    router: KubeTrafficRouter,
    r: RouterRollout,
    traffic: { canaryWeight: number; headerRoutes: HeaderRoute[] },
  ): Promise<void> {
    let plan: ReturnType<KubeTrafficRouter['plan']>;
    try {
      plan = router.plan(r, traffic, (ref) => this.observed(ref, r.namespace));
    } catch (e) {
      if (!(e instanceof RouterError)) throw e;
      await this.host.event(rollout, { type: 'Warning', reason: e.reason, message: e.message });
      throw e;
    }
    for (const obj of plan.upsert) {
      const type = resourceOf(obj.apiVersion, obj.kind);
      if (!type) throw new Error(`no API resource known for ${obj.apiVersion} ${obj.kind}`);
      if (obj.metadata.resourceVersion) await this.host.client.replace(type, obj as KubeJson);
      else {
        try {
          await this.host.client.create(type, obj as KubeJson);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          throw Object.assign(
            new Error(`${obj.kind} ${obj.metadata.name} exists but was not in the cache yet`),
            {
              retryable: true,
            },
          );
        }
      }
    }
    for (const e of plan.events) await this.host.event(rollout, e);
  }

  private async createRun(
    rollout: Rollout & KubeJson,
    a: Extract<BlueGreenAction, { type: 'CreateAnalysisRun' }>,
    podHash: string,
  ): Promise<void> {
    const ns = rollout.metadata.namespace ?? 'default';
    if (this.caches.analysisRuns.get(ns, a.name)) return;
    const stable = rollout.status?.stableRS;
    const lookup = (kind: TemplateKind, name: string) => {
      const t =
        kind === 'ClusterAnalysisTemplate'
          ? this.caches.clusterAnalysisTemplates?.get(undefined, name)
          : this.caches.analysisTemplates.get(ns, name);
      return t as { spec?: never } | undefined;
    };
    const built = buildAnalysisRun(
      {
        name: a.name,
        namespace: ns,
        templates: a.templates,
        args: a.args as ArgInput[],
        ...(a.dryRun ? { dryRun: a.dryRun } : {}),
        ...(a.measurementRetention ? { measurementRetention: a.measurementRetention } : {}),
        podTemplateHashes: { Latest: podHash, ...(stable ? { Stable: stable } : {}) },
        owner: rollout,
      },
      lookup,
    );
    const revision = Number(
      this.ownedReplicaSets(rollout).find((rs) => rs.metadata.labels?.[HASH_LABEL] === podHash)?.metadata
        .annotations?.[REVISION_ANNOTATION] ?? 1,
    );
    const spec = built.ok ? built.run.spec : { metrics: [] };
    const obj = analysisRunFor(rollout, spec, {
      name: a.name,
      kind: a.kind,
      hash: podHash,
      revision,
      ...(a.kind === 'step' && rollout.status?.currentStepIndex !== undefined
        ? { stepIndex: rollout.status.currentStepIndex }
        : {}),
    });
    let created: KubeJson;
    try {
      created = await this.host.client.create(RESOURCES.analysisRuns, obj as KubeJson);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      throw e;
    }
    if (!built.ok) {
      // As Argo: a run that cannot be built is an Error run the Rollout then reacts to.
      await this.host.client.replace(RESOURCES.analysisRuns, {
        ...created,
        status: { phase: 'Error', message: built.message },
      });
      await this.host.event(rollout, {
        type: 'Warning',
        reason: 'AnalysisRunError',
        message: `AnalysisRun ${a.name}: ${built.message}`,
      });
    }
    await this.host.event(rollout, {
      type: 'Normal',
      reason: 'AnalysisRunCreated',
      message: `Created ${a.kind === 'step' ? 'Step' : a.kind === 'background' ? 'Background' : a.kind === 'prePromotion' ? 'PrePromotion' : 'PostPromotion'} AnalysisRun ${a.name}`,
    });
  }

  /**
   * Writes the status when it changed and returns the Rollout as written; a conflict means a newer
   * Rollout is coming: reconcile again.
   */
  private async writeStatus(
    rollout: Rollout & KubeJson,
    status: RolloutStatus,
  ): Promise<KubeJson | undefined> {
    if (canonicalJson(rollout.status) === canonicalJson(status)) return undefined;
    this.checkLeading();
    try {
      const written = await this.host.client.replace<KubeJson>(
        RESOURCES.rollouts,
        { ...(rollout as KubeJson), status } as KubeJson,
        { subresource: 'status' },
      );
      this.caches.rollouts.assume(written);
      return written;
    } catch (e) {
      if (isConflict(e)) throw Object.assign(e as Error, { retryable: true });
      throw e;
    }
  }
}

/** status.workloadObservedGeneration as Argo writes it: the Deployment's generation, or nothing. */
function withWorkloadGeneration(status: RolloutStatus, workload: WorkloadResolution): RolloutStatus {
  if (workload.kind === 'resolved') return { ...status, workloadObservedGeneration: workload.generation };
  const { workloadObservedGeneration: _gone, ...rest } = status;
  return rest;
}
