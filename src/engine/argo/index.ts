/** The pure Argo Rollouts engines: canary (machine.ts) and blue/green (bluegreen.ts). */
export {
  BLUEGREEN_STATES,
  BLUEGREEN_TRANSITION_TABLE,
  BLUEGREEN_TRANSITIONS,
  type BlueGreenAction,
  type BlueGreenCtx,
  type BlueGreenResult,
  type BlueGreenStateName,
  type BlueGreenTransitionName,
  blueGreenContext,
  reconcileBlueGreen,
} from './bluegreen.js';
export {
  CANARY_TRANSITION_TABLE,
  CANARY_TRANSITIONS,
  type CanaryCtx,
  type CanaryTransitionName,
  canaryContext,
  canaryStepHash,
  formatLabelSelector,
  type ReplicaStatus,
  reconcileCanary,
  replicaStatus,
} from './machine.js';
export {
  type AnalysisRunRequest,
  CANARY_STATES,
  type CanaryAction,
  type CanaryObservation,
  type CanaryResult,
  type CanaryStateName,
  type ObservedAnalysisRun,
  type ObservedReplicaSet,
} from './types.js';
export {
  abortRollout,
  pauseRollout,
  planUndo,
  promoteFullRollout,
  promoteRollout,
  type RevisionTemplate,
  restartRollout,
  retryRollout,
  setImage,
  type UndoPlan,
  UserActionError,
  undoRollout,
} from './user-actions.js';
