/**
 * The Kubernetes objects the Argo dialect's controller writes, as Argo Rollouts writes them (issue 6),
 * and what it reads back from them for the engine. Pure: a Rollout (and the engine's action) in,
 * JSON objects out; the adapter sends them to the API server.
 *
 * - ReplicaSet `<rollout>-<hash>`: the pod template with the `rollouts-pod-template-hash` label (also
 *   in the selector), annotations `rollout.argoproj.io/revision` and `rollout.argoproj.io/desired-replicas`,
 *   the Rollout's own annotations minus the ones Argo skips, and the Rollout as controlling owner.
 * - A Service the Rollout uses: its selector gains `rollouts-pod-template-hash: <hash>`, and the
 *   annotation `argo-rollouts.argoproj.io/managed-by-rollouts` names the Rollout.
 */
import type { Rollout } from '../../api/argo/rollout.js';
import type { ObservedReplicaSet } from '../../engine/argo/types.js';
import type { KubeObject, OwnerReference } from '../../routers/kubernetes/router.js';

export const HASH_LABEL = 'rollouts-pod-template-hash';
export const REVISION_ANNOTATION = 'rollout.argoproj.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'rollout.argoproj.io/desired-replicas';
export const MANAGED_BY_ANNOTATION = 'argo-rollouts.argoproj.io/managed-by-rollouts';

/** Rollout annotations Argo does not copy to its ReplicaSets. */
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'rollout.argoproj.io/revision-history',
  DESIRED_REPLICAS_ANNOTATION,
  'notified.notifications.argoproj.io',
]);

interface RolloutMeta {
  name: string;
  namespace?: string;
  uid?: string;
  annotations?: Record<string, string>;
}

export function rolloutOwnerRef(meta: RolloutMeta): OwnerReference {
  if (!meta.uid) throw new Error(`Rollout ${meta.name} has no metadata.uid (not read from the API server?)`);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    name: meta.name,
    uid: meta.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const replicaSetName = (rollout: string, hash: string): string => `${rollout}-${hash}`;

/** The ReplicaSet for the Rollout's current template at `hash`, revision `revision`, scaled to `replicas`. */
export function replicaSetFor(
  rollout: Rollout,
  hash: string,
  revision: number,
  replicas: number,
): KubeObject {
  const meta = rollout.metadata as RolloutMeta;
  const spec = rollout.spec;
  const template = structuredClone(spec.template ?? {}) as {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: unknown;
  };
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
  const selector = structuredClone(spec.selector ?? {}) as { matchLabels?: Record<string, string> };
  selector.matchLabels = { ...selector.matchLabels, [HASH_LABEL]: hash };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta.annotations ?? {}))
    if (!SKIPPED_ANNOTATIONS.has(k)) annotations[k] = v;
  annotations[REVISION_ANNOTATION] = String(revision);
  annotations[DESIRED_REPLICAS_ANNOTATION] = String(spec.replicas ?? 1);
  const rsSpec: Record<string, unknown> = { replicas, selector, template };
  if (spec.minReadySeconds !== undefined) rsSpec.minReadySeconds = spec.minReadySeconds;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: replicaSetName(meta.name, hash),
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      labels: { ...template.metadata.labels },
      annotations,
      ownerReferences: [rolloutOwnerRef(meta)],
    },
    spec: rsSpec,
  };
}

interface ReplicaSetJson {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
  };
  spec?: { replicas?: number };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

/** What the engine needs of a ReplicaSet; undefined when it is not one of a Rollout's (no hash label). */
export function observeReplicaSet(
  rs: ReplicaSetJson,
): (ObservedReplicaSet & { revision?: number }) | undefined {
  const hash = rs.metadata.labels?.[HASH_LABEL];
  if (!hash) return undefined;
  const revision = Number(rs.metadata.annotations?.[REVISION_ANNOTATION]);
  const replicas = rs.spec?.replicas ?? 1;
  return {
    hash,
    replicas,
    availableReplicas: rs.status?.availableReplicas ?? 0,
    currentReplicas: rs.status?.replicas ?? 0,
    readyReplicas: rs.status?.readyReplicas ?? 0,
    ...(rs.metadata.creationTimestamp ? { createdAt: rs.metadata.creationTimestamp } : {}),
    ...(Number.isInteger(revision) && revision > 0 ? { revision } : {}),
  };
}

/**
 * The merge patch that points a Service at version `hash`, or undefined when it already does. Only the
 * hash key of the selector changes: the user's own selector stays.
 */
export function serviceSelectorPatch(
  service: {
    metadata: { annotations?: Record<string, string> };
    spec?: { selector?: Record<string, string> };
  },
  rollout: string,
  hash: string,
): Record<string, unknown> | undefined {
  const selected = service.spec?.selector?.[HASH_LABEL] === hash;
  const managed = service.metadata.annotations?.[MANAGED_BY_ANNOTATION] === rollout;
  if (selected && managed) return undefined;
  return {
    metadata: { annotations: { [MANAGED_BY_ANNOTATION]: rollout } },
    spec: { selector: { [HASH_LABEL]: hash } },
  };
}

/** The next revision: one above the highest a ReplicaSet of the Rollout carries. */
export function nextRevision(replicaSets: readonly { revision?: number }[]): number {
  return replicaSets.reduce((max, rs) => Math.max(max, rs.revision ?? 0), 0) + 1;
}

/** Argo's `rollout-type` label per kind of run. */
const ROLLOUT_TYPE: Record<'step' | 'background' | 'prePromotion' | 'postPromotion', string> = {
  step: 'Step',
  background: 'Background',
  prePromotion: 'PrePromotion',
  postPromotion: 'PostPromotion',
};

/**
 * The AnalysisRun object for a run the engine asked for (`CreateAnalysisRun`), built from its templates
 * (`buildAnalysisRun`'s spec): owned by the Rollout, labelled as Argo labels them (`rollout-type`,
 * `rollouts-pod-template-hash`, `step-index` for step runs), with the revision annotation.
 */
export function analysisRunFor(
  rollout: Rollout,
  spec: unknown,
  o: {
    name: string;
    kind: keyof typeof ROLLOUT_TYPE;
    hash: string;
    revision: number;
    stepIndex?: number;
  },
): KubeObject {
  const meta = rollout.metadata as RolloutMeta;
  const labels: Record<string, string> = { 'rollout-type': ROLLOUT_TYPE[o.kind], [HASH_LABEL]: o.hash };
  if (o.kind === 'step' && o.stepIndex !== undefined) labels['step-index'] = String(o.stepIndex);
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    metadata: {
      name: o.name,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      labels,
      annotations: { [REVISION_ANNOTATION]: String(o.revision) },
      ownerReferences: [rolloutOwnerRef(meta)],
    },
    spec: structuredClone(spec) as Record<string, unknown>,
  };
}
