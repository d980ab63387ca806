/** The pure Argo Rollouts canary engine. See machine.ts for the design. */
export {
  CANARY_TRANSITION_TABLE,
  CANARY_TRANSITIONS,
  type CanaryCtx,
  type CanaryTransitionName,
  canaryContext,
  reconcileCanary,
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
  promoteFullRollout,
  promoteRollout,
  retryRollout,
} from './user-actions.js';
