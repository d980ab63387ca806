/**
 * What the local runtime keeps of a release, in one state file per release
 * (`releases/<namespace>/<name>`), written atomically after every reconcile: the Rollout (spec and
 * status), its versions (the ReplicaSets), the router's state and the AnalysisRuns. One file per
 * release means a `kill -9` at any moment leaves either the state before a reconcile or the state
 * after it, never a mix (ADR 0010).
 */
import type { AnalysisRun } from '../../../api/argo/analysis.js';
import type { Rollout } from '../../../api/argo/rollout.js';
import type { PodMetadata } from '../../../engine/argo/types.js';
import type { ReleaseEventView } from '../../../views/release.js';

export type PodTemplate = NonNullable<Rollout['spec']['template']>;

/** A ReplicaSet of the Rollout. */
export interface VersionRecord {
  hash: string;
  /** rollout.argoproj.io/revision. */
  revision: number;
  /** The pod template it was created from (for `undo` and to start its replicas again). */
  template: PodTemplate;
  /** spec.replicas, as the engine last set it. */
  replicas: number;
  createdAt: string;
  podMetadata?: PodMetadata;
}

export interface HeaderRouteRecord {
  name: string;
  match: unknown[];
}

export interface MirrorRouteRecord {
  name: string;
  match: unknown[];
  percentage?: number;
}

/** What the engine asked of the router and the Services. */
export interface RouterRecord {
  /** Canary weight (0..maxTrafficWeight). */
  weight: number;
  headerRoutes: HeaderRouteRecord[];
  mirrorRoutes: MirrorRouteRecord[];
  /** Service name -> rollouts-pod-template-hash its selector was switched to. */
  selectors: Record<string, string>;
}

export interface RunRecord {
  run: AnalysisRun;
  /** step, background, prePromotion, postPromotion. */
  kind: string;
  revision: number;
}

export interface ArgoReleaseRecord {
  dialect: 'argo';
  rollout: Rollout;
  versions: Record<string, VersionRecord>;
  router: RouterRecord;
  runs: Record<string, RunRecord>;
  events: ReleaseEventView[];
}

export const MAX_EVENTS = 200;
/** Completed AnalysisRuns kept per release (Argo keeps 5 successful and 5 unsuccessful by default). */
export const MAX_COMPLETED_RUNS = 10;

export function newArgoRecord(rollout: Rollout): ArgoReleaseRecord {
  return {
    dialect: 'argo',
    rollout,
    versions: {},
    router: { weight: 0, headerRoutes: [], mirrorRoutes: [], selectors: {} },
    runs: {},
    events: [],
  };
}
