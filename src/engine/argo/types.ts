/**
 * Inputs and outputs of the pure Argo Rollouts reconciles: canary (machine.ts, which has the design)
 * and blue/green (bluegreen.ts).
 *
 * `CanaryObservation` is what the adapters report before a call (both machines read it);
 * `CanaryAction` / `BlueGreenAction` is what they must do after it. Results of actions come back as
 * observations on a later call (ADR 0006).
 */
import type { RolloutStatus } from '../../api/argo/rollout.js';

/** The named states of the canary machine (derived from spec + status, see `stateOf`). */
export const CANARY_STATES = [
  /** No stable ReplicaSet yet: the first revision is deployed at full scale without steps. */
  'Initial',
  /**
   * The observed pod-template hash differs from status.currentPodHash, or the canary steps changed
   * (their hash differs from status.currentStepHash): reset and start over.
   */
  'NewRevision',
  /** status.abort: traffic back to stable, canary scaled down, phase Degraded. */
  'Aborted',
  /** spec.paused (user pause). */
  'Paused',
  /** Executing steps[currentStepIndex]. */
  'Stepping',
  /**
   * Every step done, promoteFull, or a rollback within spec.rollbackWindow: canary to full scale, then
   * it becomes the stable.
   */
  'Promoting',
  /** currentPodHash === stableRS: nothing to canary; old ReplicaSets are scaled down. */
  'Completed',
] as const;
export type CanaryStateName = (typeof CANARY_STATES)[number];

/** One ReplicaSet as the adapter sees it. */
export interface ObservedReplicaSet {
  /** rollouts-pod-template-hash. */
  hash: string;
  /** spec.replicas. */
  replicas: number;
  /** status.availableReplicas. */
  availableReplicas: number;
  /** status.replicas: pods that exist (default: `replicas`). For status.replicas and updatedReplicas. */
  currentReplicas?: number;
  /** status.readyReplicas (default: `availableReplicas`). */
  readyReplicas?: number;
  /**
   * metadata.creationTimestamp (RFC 3339). Needed for spec.rollbackWindow (which ReplicaSets lie
   * between the new one and the stable), the restart order of older ReplicaSets and, blue/green,
   * which old ReplicaSets scaleDownDelayRevisionLimit keeps (the newest).
   */
  createdAt?: string;
  /**
   * While a restart is pending (spec.restartAt set, status.restartedAt not equal to it): how many of
   * this ReplicaSet's pods were created before spec.restartAt, terminating ones included (default 0,
   * so an adapter that does not count them ends the restart at once).
   */
  podsToRestart?: number;
  /**
   * The ephemeral pod metadata this ReplicaSet carries from an earlier `SetPodMetadata` (upstream keeps
   * it in the ReplicaSet annotation `rollout.argoproj.io/ephemeral-metadata`). Absent: none.
   */
  podMetadata?: PodMetadata;
}

/** Labels and annotations (Argo's `PodTemplateMetadata`). */
export interface PodMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ObservedAnalysisRun {
  /** Pending, Running, Successful, Failed, Error or Inconclusive. */
  phase: string;
  message?: string;
}

/**
 * What the adapters report before a call. ReplicaSets are assigned to roles by the adapter:
 * `canary` has `podHash`, `stable` has status.stableRS (the same object when both hashes agree),
 * `older` every other ReplicaSet of the Rollout.
 */
export interface CanaryObservation {
  /** The pod-template hash of the Rollout's current spec.template (computed by the adapter). */
  podHash: string;
  /** metadata.annotations["rollout.argoproj.io/revision"] of the current template, for messages. */
  revision?: number;
  replicaSets: {
    stable?: ObservedReplicaSet;
    canary?: ObservedReplicaSet;
    older?: ObservedReplicaSet[];
  };
  /** The router's reported canary weight (0..maxTrafficWeight); absent without a router. */
  weights?: { canary: number };
  /** AnalysisRuns of this Rollout by name. */
  analysisRuns?: Record<string, ObservedAnalysisRun>;
  /**
   * Names of the managed routes (setHeaderRoute / setMirrorRoute) the router reports as present.
   * Optional: the machine asks to remove them on promotion and abort anyway; a report lets it ask
   * again when some are left over.
   */
  managedRoutes?: string[];
}

export interface AnalysisRunRequest {
  templates: { templateName?: string; clusterScope?: boolean }[];
  args: { name: string; value?: string; valueFrom?: unknown }[];
  dryRun?: { metricName: string }[];
  measurementRetention?: { metricName: string; limit: number }[];
}

export type CanaryAction =
  | { type: 'CreateReplicaSet'; hash: string; replicas: number }
  /** Delete an old ReplicaSet (revisionHistoryLimit clean-up; it has no pods left). */
  | { type: 'DeleteReplicaSet'; hash: string }
  | {
      type: 'ScaleReplicaSet';
      hash: string;
      replicas: number;
    }
  /** Set the router's canary weight (stable gets maxTrafficWeight - canary). */
  | { type: 'SetWeight'; canary: number }
  | ({ type: 'CreateAnalysisRun'; name: string; kind: 'step' | 'background' } & AnalysisRunRequest)
  | { type: 'TerminateAnalysisRun'; name: string }
  /** Patch the Service's selector with rollouts-pod-template-hash = hash. */
  | { type: 'SwitchServiceSelector'; role: 'stable' | 'canary'; service: string; hash: string }
  | { type: 'SetHeaderRoute'; name: string; match: unknown[] }
  | { type: 'SetMirrorRoute'; name: string; match: unknown[]; percentage?: number }
  /**
   * Remove the managed routes (`trafficRouting.managedRoutes`, as the router's RemoveManagedRoutes
   * does) set by setHeaderRoute / setMirrorRoute steps: on promotion, on abort and on promote --full.
   */
  | { type: 'RemoveManagedRoutes'; names: string[] }
  /**
   * Restart (evict, honouring PodDisruptionBudgets) up to `count` pods of ReplicaSet `hash` that were
   * created before `before` (spec.restartAt) and are not already terminating.
   */
  | { type: 'RestartPods'; hash: string; count: number; before: string }
  | { type: 'EmitEvent'; eventType: 'Normal' | 'Warning'; reason: string; message: string }
  | { type: 'RequeueAfter'; ms: number };

/**
 * Actions of the blue/green machine: the canary ones, the blue/green Service roles and runs, and
 * ephemeral pod metadata.
 */
export type BlueGreenAction =
  | CanaryAction
  /** Patch the Service's selector with rollouts-pod-template-hash = hash. */
  | { type: 'SwitchServiceSelector'; role: 'active' | 'preview'; service: string; hash: string }
  | ({ type: 'CreateAnalysisRun'; name: string; kind: 'prePromotion' | 'postPromotion' } & AnalysisRunRequest)
  /**
   * Make the ephemeral metadata of ReplicaSet `hash` exactly `labels` / `annotations`
   * (activeMetadata / previewMetadata, `SyncReplicaSetEphemeralPodMetadata`): put them on its pod
   * template and on its running pods, and remove the keys an earlier SetPodMetadata put there that
   * are not in them (empty maps remove them all). Report the result as `ObservedReplicaSet.podMetadata`.
   */
  | {
      type: 'SetPodMetadata';
      hash: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };

export interface CanaryResult {
  actions: CanaryAction[];
  status: RolloutStatus;
  /** Name of the transition that fired (see `CANARY_TRANSITION_TABLE`). */
  transition: string;
  /** The state the call started in. */
  from: CanaryStateName;
}
