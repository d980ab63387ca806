/**
 * Releases on a Kubernetes cluster for the CLI verbs and the dashboard (`ReleaseSource`, issues 6 and
 * 7). The controller carries the releases out; this reads what it writes and writes what a user asks:
 *
 * - Views: a Rollout (spec and status as Argo writes it), the ReplicaSets it controls (by owner uid;
 *   `<rollout>-<hash>`, labelled `rollouts-pod-template-hash`), their pods, the AnalysisRuns it owns
 *   (`rollout-type` label, revision annotation) and the core/v1 Events about it go through the builder
 *   the local runtime uses too (views/argo-rollout.ts), so both show a rollout the same way.
 * - A Flagger Canary (flagger.app/v1beta1) likewise (views/flagger-canary.ts): its status as Flagger
 *   writes it, the ReplicaSets of its two Deployments (`<target>`, `<target>-primary`) and their pods,
 *   and its Events. Flagger keeps no measurements in the Canary, so its analysis run is the status's
 *   summary (failed checks against the threshold). Canaries are read-only here: Vireo runs no Flagger
 *   controller on a cluster yet, and a Canary is moved by its analysis and webhook gates anyway.
 *   A cluster may have either CRD or both; a missing one lists as no releases of that dialect.
 * - Actions: the Rollout is read, changed by the pure user actions (platforms/argo-actions.ts), and the
 *   difference written as JSON merge patches: spec/metadata on the resource, status on the `status`
 *   subresource, each carrying the resourceVersion read, so a concurrent change is a 409 Conflict and
 *   the action starts again from a fresh read. Who acted is recorded as a `UserAction` Event.
 *
 * Errors are `UserError`s the CLI prints as they are: a missing rollout names namespace/name, an
 * unreachable cluster names the API server.
 */
import { randomBytes } from 'node:crypto';
import type { AnalysisRun } from '../../api/argo/analysis.js';
import { canonicalJson, podTemplateHash } from '../../api/argo/pod-template-hash.js';
import type { Rollout } from '../../api/argo/rollout.js';
import type { Canary } from '../../api/flagger/canary.js';
import type { ActionArgs, ActionRequest, ReleaseSource } from '../../dashboard/source.js';
import type { RevisionTemplate } from '../../engine/argo/user-actions.js';
import { UserActionError } from '../../engine/argo/user-actions.js';
import { type ArgoVersionInput, argoRolloutView, versionStatus } from '../../views/argo-rollout.js';
import { flaggerCanaryView, flaggerStatusRun } from '../../views/flagger-canary.js';
import type {
  PodView,
  ReleaseEventView,
  ReleaseView,
  VersionRole,
  VersionView,
} from '../../views/release.js';
import { applyUserAction, describeUserAction, userActionEventMessage } from '../argo-actions.js';
import { MAX_EVENTS } from '../local/runtime/record.js';
import { UserError } from '../local/runtime/runtime.js';
import {
  isConflict,
  isNotFound,
  KubeApiError,
  type KubeClient,
  type KubeJson,
  RESOURCES,
  type ResourceType,
} from './client.js';
import { HASH_LABEL, REVISION_ANNOTATION } from './objects.js';

/** Attempts of an action whose write met a concurrent change (409 Conflict) before giving up. */
export const MAX_ACTION_ATTEMPTS = 5;

export interface KubeReleasesOptions {
  client: KubeClient;
  /** The API server's URL, named in errors (e.g. `https://127.0.0.1:6443`). */
  server?: string;
  /** `source.component` of the UserAction events: `vireo-cli` or `vireo-dashboard`. */
  component?: string;
  /** The namespace `list()` reads when given none (default: every namespace). */
  namespace?: string;
  now?: () => Date;
  /** The action was carried out but its UserAction event could not be written (e.g. RBAC). */
  warn?: (message: string) => void;
}

interface ReplicaSetJson extends KubeJson {
  spec?: { replicas?: number; template?: NonNullable<Rollout['spec']['template']> };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

interface ContainerStatusJson {
  ready?: boolean;
  restartCount?: number;
  state?: {
    running?: { startedAt?: string };
    waiting?: { reason?: string };
    terminated?: { reason?: string };
  };
}

interface PodJson extends KubeJson {
  status?: {
    phase?: string;
    reason?: string;
    startTime?: string;
    conditions?: { type: string; status: string }[];
    initContainerStatuses?: ContainerStatusJson[];
    containerStatuses?: ContainerStatusJson[];
  };
}

interface EventJson extends KubeJson {
  involvedObject?: { uid?: string; kind?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
  eventTime?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

type RolloutJson = Rollout & KubeJson;
type CanaryJson = Canary & KubeJson;

/** Flagger's Canary; read here only (the controller's RESOURCES list what it writes). */
export const CANARIES: ResourceType = {
  group: 'flagger.app',
  version: 'v1beta1',
  plural: 'canaries',
  kind: 'Canary',
  namespaced: true,
};

/** What the Deployment controller labels a ReplicaSet's pods with, and how it counts revisions. */
const DEPLOYMENT_HASH_LABEL = 'pod-template-hash';
const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';

interface DeploymentJson extends KubeJson {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: NonNullable<Rollout['spec']['template']>;
  };
}

/** What one Canary's view is made of: its workloads' ReplicaSets and pods, and its Events. */
interface CanaryRelated {
  deployments: DeploymentJson[];
  replicaSets: ReplicaSetJson[];
  pods: PodJson[];
  events: EventJson[];
}

/** What one Rollout's view is made of, as read from the API server. */
interface Related {
  replicaSets: ReplicaSetJson[];
  pods: PodJson[];
  runs: (AnalysisRun & KubeJson)[];
  events: EventJson[];
}

const ownedBy = (o: KubeJson, uid: string | undefined): boolean =>
  uid !== undefined && (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid);

export class KubeReleases implements ReleaseSource {
  private readonly client: KubeClient;
  private readonly server: string;
  private readonly component: string;
  private readonly now: () => Date;

  constructor(private readonly o: KubeReleasesOptions) {
    this.client = o.client;
    this.server = o.server ?? 'the Kubernetes API server';
    this.component = o.component ?? 'vireo-cli';
    this.now = o.now ?? (() => new Date());
  }

  async list(namespace?: string): Promise<ReleaseView[]> {
    const ns = namespace ?? this.o.namespace;
    // A CRD that is not installed answers 404: that dialect has no releases here.
    const absent = (e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    };
    const [rolloutList, canaryList] = await this.call(() =>
      Promise.all([
        this.client.list<RolloutJson>(RESOURCES.rollouts, ns).catch(absent),
        this.client.list<CanaryJson>(CANARIES, ns).catch(absent),
      ]),
    );
    if (!rolloutList && !canaryList)
      throw new UserError(
        `the cluster at ${this.server} has neither Rollouts (argoproj.io/v1alpha1) nor Canaries (flagger.app/v1beta1): are the Argo Rollouts or Flagger CRDs installed?`,
      );
    const rollouts = rolloutList?.items ?? [];
    const canaries = canaryList?.items ?? [];
    if (rollouts.length === 0 && canaries.length === 0) return [];
    const none = Promise.resolve({ items: [] as never[] });
    const argo = rollouts.length > 0;
    const flagger = canaries.length > 0;
    // One list per kind for all the releases (not one per release): the dashboard polls every second.
    const [replicaSets, rolloutPods, runs, rolloutEvents, deployments, deploymentPods, canaryEvents] =
      await this.call(() =>
        Promise.all([
          this.client.list<ReplicaSetJson>(RESOURCES.replicaSets, ns),
          argo ? this.client.list<PodJson>(RESOURCES.pods, ns, { labelSelector: HASH_LABEL }) : none,
          argo ? this.client.list<AnalysisRun & KubeJson>(RESOURCES.analysisRuns, ns) : none,
          argo
            ? this.client.list<EventJson>(RESOURCES.events, ns, {
                fieldSelector: 'involvedObject.kind=Rollout',
              })
            : none,
          flagger ? this.client.list<DeploymentJson>(RESOURCES.deployments, ns) : none,
          flagger
            ? this.client.list<PodJson>(RESOURCES.pods, ns, { labelSelector: DEPLOYMENT_HASH_LABEL })
            : none,
          flagger
            ? this.client.list<EventJson>(RESOURCES.events, ns, {
                fieldSelector: 'involvedObject.kind=Canary',
              })
            : none,
        ]),
      );
    return [
      ...rollouts.map((r) =>
        this.view(r, {
          replicaSets: replicaSets.items,
          pods: rolloutPods.items,
          runs: runs.items,
          events: rolloutEvents.items,
        }),
      ),
      ...canaries.map((c) =>
        canaryView(c, {
          deployments: deployments.items,
          replicaSets: replicaSets.items,
          pods: deploymentPods.items,
          events: canaryEvents.items,
        }),
      ),
    ].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }

  async get(namespace: string, name: string): Promise<ReleaseView> {
    const rollout = await this.call(() => this.client.get<RolloutJson>(RESOURCES.rollouts, namespace, name));
    if (!rollout) {
      const canary = await this.readCanary(namespace, name);
      if (canary) return this.canary(canary);
      throw new UserError(`rollout ${namespace}/${name} not found`);
    }
    const uid = rollout.metadata.uid ?? '';
    const replicaSets = (await this.ownedReplicaSets(rollout)).items;
    const hashes = [...new Set(replicaSets.map((rs) => rs.metadata.labels?.[HASH_LABEL] ?? ''))].filter(
      Boolean,
    );
    const [pods, runs, events] = await this.call(() =>
      Promise.all([
        hashes.length > 0
          ? this.client.list<PodJson>(RESOURCES.pods, namespace, {
              labelSelector: `${HASH_LABEL} in (${hashes.join(',')})`,
            })
          : Promise.resolve({ items: [] as PodJson[] }),
        this.client.list<AnalysisRun & KubeJson>(RESOURCES.analysisRuns, namespace),
        this.client.list<EventJson>(RESOURCES.events, namespace, {
          fieldSelector: `involvedObject.uid=${uid}`,
        }),
      ]),
    );
    return this.view(rollout, { replicaSets, pods: pods.items, runs: runs.items, events: events.items });
  }

  async act(req: ActionRequest): Promise<string> {
    const { namespace, name, verb, args } = req;
    for (let attempt = 1; ; attempt++) {
      const before = await this.readRollout(namespace, name, verb, args);
      const history = verb === 'undo' ? revisionsOf((await this.ownedReplicaSets(before)).items) : undefined;
      let done: { rollout: Rollout; message: string };
      try {
        done = applyUserAction(before, verb, args, {
          now: this.now(),
          ...(history ? { history: () => history } : {}),
        });
      } catch (e) {
        if (e instanceof UserActionError) throw new UserError(e.message);
        throw e;
      }
      try {
        const after = await this.write(before, done.rollout as RolloutJson);
        await this.recordUserAction(after, userActionEventMessage(verb, args, cleanActor(req.actor)));
        return done.message;
      } catch (e) {
        // Someone else changed the Rollout between our read and our write: act again on what is there.
        if (isConflict(e) && attempt < MAX_ACTION_ATTEMPTS) continue;
        if (isConflict(e))
          throw new UserError(
            `rollout ${namespace}/${name} kept changing while ${verb} was written (${MAX_ACTION_ATTEMPTS} attempts); try again`,
          );
        throw this.userError(e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------------

  private view(rollout: RolloutJson, all: Related): ReleaseView {
    const uid = rollout.metadata.uid;
    const replicaSets = all.replicaSets.filter((rs) => ownedBy(rs, uid) && rs.metadata.labels?.[HASH_LABEL]);
    const versions: ArgoVersionInput[] = replicaSets.map((rs) => {
      const pods = all.pods.filter((p) => ownedBy(p, rs.metadata.uid)).map(podView);
      const revision = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
      return {
        name: rs.metadata.name,
        hash: rs.metadata.labels?.[HASH_LABEL] ?? '',
        revision: Number.isInteger(revision) ? revision : 0,
        template: rs.spec?.template,
        replicas: rs.spec?.replicas ?? 1,
        ...(rs.metadata.creationTimestamp ? { createdAt: rs.metadata.creationTimestamp } : {}),
        observed: {
          currentReplicas: rs.status?.replicas ?? 0,
          readyReplicas: rs.status?.readyReplicas ?? 0,
          availableReplicas: rs.status?.availableReplicas ?? 0,
          pods,
        },
        pods,
      };
    });
    const st = rollout.status ?? {};
    // The current template's version once its ReplicaSet exists; until the controller made it, the
    // version the controller last called current.
    const computed = podTemplateHash(rollout.spec.template, st.collisionCount ?? 0);
    const podHash = versions.some((v) => v.hash === computed) ? computed : (st.currentPodHash ?? computed);
    const runs = all.runs
      .filter((run) => ownedBy(run, uid))
      .map((run) => {
        const type = run.metadata.labels?.['rollout-type'] ?? 'Background';
        const hash = run.metadata.labels?.[HASH_LABEL];
        const revision = Number(run.metadata.annotations?.[REVISION_ANNOTATION]);
        return {
          name: run.metadata.name,
          run,
          // Argo's label (Step, Background, PrePromotion, PostPromotion) as the views name the kind.
          kind: type.charAt(0).toLowerCase() + type.slice(1),
          revision: Number.isInteger(revision)
            ? revision
            : (versions.find((v) => v.hash === hash)?.revision ?? 0),
        };
      });
    const events = all.events
      .filter((e) => e.involvedObject?.uid !== undefined && e.involvedObject.uid === uid)
      .map(eventView)
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(-MAX_EVENTS);
    const weight = st.canary?.weights?.canary?.weight;
    return argoRolloutView({
      rollout,
      podHash,
      versions,
      runs,
      events,
      ...(weight !== undefined ? { routerWeight: weight } : {}),
    });
  }

  /** The Rollout an action changes; a Canary of that name is refused with the reason. */
  private async readRollout(
    namespace: string,
    name: string,
    verb: string,
    args: ActionArgs,
  ): Promise<RolloutJson> {
    const r = await this.call(() => this.client.get<RolloutJson>(RESOURCES.rollouts, namespace, name));
    if (r) return r;
    if (await this.readCanary(namespace, name))
      throw new UserError(
        `${describeUserAction(verb, args)}: ${namespace}/${name} is a Flagger Canary, read-only on a Kubernetes cluster (Vireo runs no Flagger controller there yet); Flagger moves a Canary by its analysis and its webhook gates (confirm-rollout, confirm-promotion, rollback)`,
      );
    throw new UserError(`rollout ${namespace}/${name} not found`);
  }

  private readCanary(namespace: string, name: string): Promise<CanaryJson | undefined> {
    // No Canary CRD on the cluster reads as no such Canary (the client answers a 404 with undefined).
    return this.call(() => this.client.get<CanaryJson>(CANARIES, namespace, name));
  }

  /** One Canary's view: its Deployments, their ReplicaSets (by each one's selector) and pods, its Events. */
  private async canary(canary: CanaryJson): Promise<ReleaseView> {
    const ns = canary.metadata.namespace ?? 'default';
    const target = canary.spec?.targetRef?.name;
    const deployments = (
      await this.call(() =>
        Promise.all(
          (target ? [target, `${target}-primary`] : []).map((n) =>
            this.client.get<DeploymentJson>(RESOURCES.deployments, ns, n),
          ),
        ),
      )
    ).filter((d): d is DeploymentJson => d !== undefined);
    const replicaSets = (
      await this.call(() =>
        Promise.all(
          deployments.map((d) =>
            this.client.list<ReplicaSetJson>(RESOURCES.replicaSets, ns, {
              labelSelector: Object.entries(d.spec?.selector?.matchLabels ?? {})
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
            }),
          ),
        ),
      )
    ).flatMap((l) => l.items);
    const hashes = [
      ...new Set(replicaSets.map((rs) => rs.metadata.labels?.[DEPLOYMENT_HASH_LABEL] ?? '')),
    ].filter(Boolean);
    const uid = canary.metadata.uid ?? '';
    const [pods, events] = await this.call(() =>
      Promise.all([
        hashes.length > 0
          ? this.client.list<PodJson>(RESOURCES.pods, ns, {
              labelSelector: `${DEPLOYMENT_HASH_LABEL} in (${hashes.join(',')})`,
            })
          : Promise.resolve({ items: [] as PodJson[] }),
        this.client.list<EventJson>(RESOURCES.events, ns, { fieldSelector: `involvedObject.uid=${uid}` }),
      ]),
    );
    return canaryView(canary, { deployments, replicaSets, pods: pods.items, events: events.items });
  }

  /** The ReplicaSets the Rollout controls (narrowed by its selector's labels, then by owner uid). */
  private async ownedReplicaSets(rollout: RolloutJson): Promise<{ items: ReplicaSetJson[] }> {
    const match = (rollout.spec.selector as { matchLabels?: Record<string, string> } | undefined)
      ?.matchLabels;
    const selector = Object.entries(match ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const res = await this.call(() =>
      this.client.list<ReplicaSetJson>(
        RESOURCES.replicaSets,
        rollout.metadata.namespace,
        selector ? { labelSelector: selector } : {},
      ),
    );
    return { items: res.items.filter((rs) => ownedBy(rs, rollout.metadata.uid)) };
  }

  /**
   * Writes `after` over `before`: spec and metadata first, then status, each as a merge patch with
   * the resourceVersion it is based on. Spec first so that an attempt repeated after a conflict on
   * the status write finds the spec done and does not count a step twice (promote bumps the step
   * only when nothing paused it, and it is spec.paused it lifts first).
   */
  private async write(before: RolloutJson, after: RolloutJson): Promise<RolloutJson> {
    const ns = before.metadata.namespace;
    const name = before.metadata.name;
    const { status: statusBefore, ...mainBefore } = before;
    const { status: statusAfter, ...mainAfter } = after;
    let current = before;
    const main = mergePatch(mainBefore, mainAfter) as Record<string, unknown> | undefined;
    if (main) {
      current = await this.client.patch<RolloutJson>(
        RESOURCES.rollouts,
        ns,
        name,
        withResourceVersion(main, current.metadata.resourceVersion),
      );
    }
    const status = mergePatch(statusBefore ?? {}, statusAfter ?? {});
    if (status) {
      current = await this.client.patch<RolloutJson>(
        RESOURCES.rollouts,
        ns,
        name,
        withResourceVersion({ status }, current.metadata.resourceVersion),
        { subresource: 'status' },
      );
    }
    return current;
  }

  /** The UserAction Event on the Rollout; the action is done already, so a failure only warns. */
  private async recordUserAction(rollout: RolloutJson, message: string): Promise<void> {
    const at = rfc3339(this.now());
    const ns = rollout.metadata.namespace ?? 'default';
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        // As client-go's recorder names them: the object's name and a unique suffix.
        name: `${rollout.metadata.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`,
        namespace: ns,
      },
      involvedObject: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        name: rollout.metadata.name,
        namespace: ns,
        ...(rollout.metadata.uid ? { uid: rollout.metadata.uid } : {}),
        ...(rollout.metadata.resourceVersion ? { resourceVersion: rollout.metadata.resourceVersion } : {}),
      },
      reason: 'UserAction',
      message,
      type: 'Normal',
      source: { component: this.component },
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    };
    try {
      await this.client.create(RESOURCES.events, event);
    } catch (e) {
      this.o.warn?.(`the action was carried out, but its UserAction event was not recorded: ${errorText(e)}`);
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.userError(e);
    }
  }

  /** An API or transport failure as the user should read it. */
  private userError(e: unknown): Error {
    if (e instanceof UserError) return e;
    if (e instanceof KubeApiError) {
      if (e.code === 0)
        return new UserError(`cannot reach the cluster's API server at ${this.server}: ${e.message}`);
      if (e.code === 401)
        return new UserError(
          `the API server at ${this.server} did not accept the kubeconfig's credentials (401 Unauthorized)`,
        );
      return new UserError(e.message);
    }
    return new UserError(errorText(e));
  }
}

// ---------------------------------------------------------------------------------------------------

/**
 * The JSON merge patch (RFC 7386) that turns `before` into `after`, or undefined when they are equal.
 * Removed keys are written as null (a merge patch that left them out would keep them); lists and
 * scalars are replaced whole.
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(after)) {
      if (v === undefined) continue;
      const sub = k in before && before[k] !== undefined ? mergePatch(before[k], v) : structuredClone(v);
      if (sub !== undefined) out[k] = sub;
    }
    for (const [k, v] of Object.entries(before))
      if (v !== undefined && (!(k in after) || after[k] === undefined)) out[k] = null;
    return Object.keys(out).length > 0 ? out : undefined;
  }
  if (canonicalJson(before) === canonicalJson(after)) return undefined;
  return after === undefined ? null : structuredClone(after);
}

/** The patch with `metadata.resourceVersion`: the API server refuses it (409) if the object moved on. */
function withResourceVersion(
  patch: Record<string, unknown>,
  rv: string | undefined,
): Record<string, unknown> {
  const metadata = (patch.metadata ?? {}) as Record<string, unknown>;
  return { ...patch, metadata: { ...metadata, ...(rv ? { resourceVersion: rv } : {}) } };
}

/** The Rollout's revisions for `undo`: each ReplicaSet's revision and template. */
function revisionsOf(replicaSets: readonly ReplicaSetJson[]): RevisionTemplate[] {
  const out: RevisionTemplate[] = [];
  for (const rs of replicaSets) {
    const revision = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
    if (Number.isInteger(revision) && revision > 0 && rs.spec?.template)
      out.push({ revision, template: rs.spec.template });
  }
  return out;
}

/**
 * A Canary as the views show it, from what the API server has: the ReplicaSets of `<target>` and
 * `<target>-primary` (owned by each Deployment, the newest revision its current template), their pods
 * and the Events about the Canary. A DaemonSet target has no ReplicaSets: its Canary shows no versions.
 */
export function canaryView(canary: CanaryJson, all: CanaryRelated): ReleaseView {
  const ns = canary.metadata.namespace ?? 'default';
  const targetName = canary.spec?.targetRef?.name ?? '';
  const deployment = (name: string) =>
    canary.spec?.targetRef?.kind === 'Deployment'
      ? all.deployments.find((d) => d.metadata.name === name && (d.metadata.namespace ?? ns) === ns)
      : undefined;
  const target = deployment(targetName);
  const primary = deployment(`${targetName}-primary`);
  const revisionOf = (rs: ReplicaSetJson) => Number(rs.metadata.annotations?.[DEPLOYMENT_REVISION]) || 0;
  const owned = (d: DeploymentJson | undefined) =>
    d
      ? all.replicaSets
          .filter((rs) => ownedBy(rs, d.metadata.uid) && rs.metadata.labels?.[DEPLOYMENT_HASH_LABEL])
          .sort((a, b) => revisionOf(b) - revisionOf(a))
      : [];
  const targetSets = owned(target);
  const primarySets = owned(primary);
  const templateKey = (rs: ReplicaSetJson) => canonicalJson(rs.spec?.template?.spec ?? {});
  const imagesOf = (rs: ReplicaSetJson) =>
    (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
  // Revisions count the target's templates (the Deployment controller's numbers); the primary runs
  // a copy of a promoted one: the same pod spec, or at least the same images (Flagger renames
  // tracked ConfigMaps and Secrets in the copy).
  const revisionIn = (rs: ReplicaSetJson): number => {
    const same =
      targetSets.find((x) => templateKey(x) === templateKey(rs)) ??
      targetSets.find((x) => imagesOf(x).join() === imagesOf(rs).join());
    return same ? revisionOf(same) : 0;
  };
  const versions: VersionView[] = [];
  const add = (sets: ReplicaSetJson[], d: DeploymentJson | undefined, role: VersionRole) => {
    for (const [i, rs] of sets.entries()) {
      const current = i === 0;
      const desired = rs.spec?.replicas ?? 0;
      const observed = rs.status?.replicas ?? 0;
      // Old templates scaled away are history, not versions that run.
      if (!current && desired === 0 && observed === 0) continue;
      const pods = all.pods.filter((p) => ownedBy(p, rs.metadata.uid)).map(podView);
      const ready = rs.status?.readyReplicas ?? 0;
      const available = rs.status?.availableReplicas ?? 0;
      versions.push({
        name: rs.metadata.name,
        hash: rs.metadata.labels?.[DEPLOYMENT_HASH_LABEL] ?? '',
        revision: role === 'primary' ? revisionIn(rs) : revisionOf(rs),
        // The primary serves whenever it runs; the target only while Flagger scaled it up for a run.
        roles: current && (role === 'primary' || (d?.spec?.replicas ?? 0) > 0) ? [role] : [],
        images: imagesOf(rs),
        status: versionStatus(desired, {
          currentReplicas: observed,
          readyReplicas: ready,
          availableReplicas: available,
          pods,
        }),
        desired,
        current: observed,
        ready,
        available,
        ...(rs.metadata.creationTimestamp ? { createdAt: rs.metadata.creationTimestamp } : {}),
        pods,
      });
    }
  };
  add(primarySets, primary, 'primary');
  add(targetSets, target, 'canary');
  const revision = targetSets[0] ? revisionOf(targetSets[0]) : 0;
  const run = flaggerStatusRun(canary, revision);
  const uid = canary.metadata.uid;
  return flaggerCanaryView({
    canary,
    namespace: ns,
    name: canary.metadata.name,
    versions,
    targetHash: targetSets[0]?.metadata.labels?.[DEPLOYMENT_HASH_LABEL] ?? '',
    revision,
    desired: primary?.spec?.replicas ?? target?.spec?.replicas ?? 1,
    // Flagger writes canaryWeight once the routes carry it: the weight routed now, as far as it says.
    actualWeight: canary.status?.canaryWeight ?? 0,
    analysisRuns: run ? [run] : [],
    events: all.events
      .filter((e) => uid !== undefined && e.involvedObject?.uid === uid)
      .map(eventView)
      .sort((a, b) => a.at.localeCompare(b.at))
      .slice(-MAX_EVENTS),
  });
}

/** A pod as the views show it (kubectl's STATUS column: the waiting reason, else the phase). */
export function podView(p: PodJson): PodView {
  const st = p.status ?? {};
  const containers = st.containerStatuses ?? [];
  const waiting = [...(st.initContainerStatuses ?? []), ...containers]
    .map((c) => c.state?.waiting?.reason)
    .find((r) => r !== undefined && r !== '');
  const terminated = containers.map((c) => c.state?.terminated?.reason).find((r) => r);
  const phase = p.metadata.deletionTimestamp
    ? 'Terminating'
    : waiting
      ? 'Waiting'
      : st.phase === 'Succeeded'
        ? 'Completed'
        : (st.phase ?? 'Pending');
  const reason = waiting ?? (st.phase === 'Failed' ? (terminated ?? st.reason) : undefined);
  const startedAt = containers.map((c) => c.state?.running?.startedAt).find((t) => t) ?? st.startTime;
  return {
    name: p.metadata.name,
    phase,
    ...(reason ? { reason } : {}),
    ready: (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    restarts: containers.reduce((n, c) => n + (c.restartCount ?? 0), 0),
    ...(startedAt ? { startedAt } : {}),
  };
}

function eventView(e: EventJson): ReleaseEventView {
  return {
    at: e.lastTimestamp || e.eventTime || e.firstTimestamp || e.metadata.creationTimestamp || '',
    type: e.type === 'Warning' ? 'Warning' : 'Normal',
    reason: e.reason ?? '',
    message: e.message ?? '',
  };
}

/** Printable and bounded: the actor comes from a user (the dashboard sanitises it the same way). */
function cleanActor(actor: string): string {
  return (actor || 'unknown').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** RFC 3339 to the second, as metav1.Time is written. */
function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
