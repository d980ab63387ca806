/**
 * `spec.workloadRef` on Kubernetes (issue 6), as Argo Rollouts reads it: the pod template (and, when
 * the Rollout names none, the selector) come from an apps/v1 Deployment, and `scaleDown` says what
 * happens to that Deployment as the Rollout takes over. Pure: the adapter (rollouts.ts) looks the
 * Deployment up in its cache, calls these, and carries the answer out.
 *
 * Why here and not in the engine: the referenced workload is a Kubernetes object that only this
 * platform has (the local runtime and the simulator take the template from the Rollout), so the
 * engine sees an ordinary Rollout whose template happens to come from elsewhere, and the one
 * decision about the Deployment (its replica count) is a small table beside the adapter.
 */
import type { Rollout } from '../../api/argo/rollout.js';

/** The Rollout annotation Argo keeps equal to the referenced workload's metadata.generation. */
export const WORKLOAD_GENERATION_ANNOTATION = 'rollout.argoproj.io/workload-generation';

/** What the adapter reads of a Deployment. */
export interface DeploymentJson {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string };
  spec?: { replicas?: number; selector?: unknown; template?: unknown };
}

export type WorkloadResolution =
  /** No workloadRef: the Rollout as it is. */
  | { kind: 'none'; rollout: Rollout }
  /** The Rollout as the engine sees it, and the Deployment's generation (status.workloadObservedGeneration). */
  | { kind: 'resolved'; rollout: Rollout; generation: string; deployment: DeploymentJson }
  /** Argo's InvalidSpec condition message. */
  | { kind: 'invalid'; message: string };

/** Argo's wording of every InvalidSpec condition message (`createInvalidRolloutCondition`). */
export const invalidRolloutMessage = (rollout: Rollout, why: string): string =>
  `The Rollout "${rollout.metadata?.name ?? ''}" is invalid: ${why}`;

const invalid = (rollout: Rollout, why: string): WorkloadResolution => ({
  kind: 'invalid',
  message: invalidRolloutMessage(rollout, why),
});

/**
 * The Rollout with spec.template (and spec.selector, unless the Rollout has one) taken from the
 * Deployment `workloadRef` names in the Rollout's namespace. The object on the server is not
 * rewritten: this is only what the engine works with. Argo's wording for the failures: a reference
 * to an unsupported kind, or to a Deployment that is not there (its lister's NotFound, which names
 * `namespace/name`).
 */
export function resolveWorkloadRef(
  rollout: Rollout,
  deployment: (namespace: string, name: string) => DeploymentJson | undefined,
): WorkloadResolution {
  const ref = rollout.spec.workloadRef;
  if (!ref) return { kind: 'none', rollout };
  const apiVersion = ref.apiVersion ?? '';
  const kind = ref.kind ?? '';
  if (apiVersion !== 'apps/v1' || kind !== 'Deployment')
    return invalid(
      rollout,
      `workload of type ${apiVersion || '(no apiVersion)'} ${kind || '(no kind)'} is not supported (Vireo takes the template from an apps/v1 Deployment)`,
    );
  const namespace = (rollout.metadata as { namespace?: string } | undefined)?.namespace ?? 'default';
  const name = ref.name ?? '';
  const dep = name ? deployment(namespace, name) : undefined;
  if (!dep) return invalid(rollout, `deployments.apps "${namespace}/${name}" not found`);
  const spec = {
    ...rollout.spec,
    template: structuredClone(dep.spec?.template ?? {}),
    selector: structuredClone(rollout.spec.selector ?? dep.spec?.selector),
  } as Rollout['spec'];
  return {
    kind: 'resolved',
    rollout: { ...rollout, spec },
    generation: String(dep.metadata.generation ?? 0),
    deployment: dep,
  };
}

/** The Rollout names Deployment `name` (a change to it must wake the Rollout). */
export function refersToDeployment(rollout: Rollout, name: string): boolean {
  const ref = rollout.spec?.workloadRef;
  return ref?.kind === 'Deployment' && ref.name === name;
}

/**
 * The replica count the referenced Deployment should be scaled to, or undefined to leave it as it is.
 * From the Rollout's spec and the status the engine just wrote:
 *
 * - `never` (the default): the Deployment is the user's; never touched.
 * - `onsuccess`: 0 once the Rollout is Healthy on its current template (fully promoted: stableRS is
 *   currentPodHash). Not before, so the Deployment keeps serving until the Rollout can.
 * - `progressively`: the Deployment gives up one pod for each available pod of the Rollout:
 *   max(0, spec.replicas - status.availableReplicas). Only ever down: the Deployment's own count is the
 *   ceiling, so a Rollout that loses pods later (a new revision's surge, an eviction) does not bring
 *   the Deployment back.
 */
export function deploymentReplicasWanted(o: {
  scaleDown: string | undefined;
  /** The Deployment's spec.replicas (Kubernetes' default 1). */
  deploymentReplicas: number | undefined;
  /** The Rollout's spec.replicas (default 1). */
  rolloutReplicas: number | undefined;
  status: { phase?: string; stableRS?: string; currentPodHash?: string; availableReplicas?: number };
}): number | undefined {
  const current = o.deploymentReplicas ?? 1;
  let wanted: number | undefined;
  switch (o.scaleDown) {
    case 'onsuccess': {
      const s = o.status;
      const promoted = !!s.stableRS && s.stableRS === s.currentPodHash;
      if (s.phase === 'Healthy' && promoted) wanted = 0;
      break;
    }
    case 'progressively':
      wanted = Math.max(0, (o.rolloutReplicas ?? 1) - (o.status.availableReplicas ?? 0));
      break;
    default:
      return undefined;
  }
  return wanted !== undefined && wanted < current ? wanted : undefined;
}
