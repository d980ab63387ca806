/**
 * What the kubectl plugin's user actions write (argo-rollouts.md §1.9), as pure functions on a
 * Rollout (new objects; the input is not changed). The machine reads the result on its next call.
 */
import type { Rollout } from '../../api/argo/rollout.js';

const clone = (r: Rollout): Rollout => structuredClone(r);

/** `abort`: status.abort = true. */
export function abortRollout(rollout: Rollout): Rollout {
  const r = clone(rollout);
  r.status = { ...r.status, abort: true };
  return r;
}

/** `retry rollout`: status.abort = false. */
export function retryRollout(rollout: Rollout): Rollout {
  const r = clone(rollout);
  r.status = { ...r.status, abort: false };
  return r;
}

/** `pause`: spec.paused = true. */
export function pauseRollout(rollout: Rollout): Rollout {
  const r = clone(rollout);
  r.spec.paused = true;
  return r;
}

/**
 * `promote` (`promote/promote.go` getPatches): unpause the spec and clear pauseConditions; when no
 * pause condition applied, increment currentStepIndex (skipping a running analysis step); when
 * paused for an Inconclusive analysis, also clear controllerPause and increment.
 */
export function promoteRollout(rollout: Rollout): Rollout {
  const r = clone(rollout);
  const status = { ...r.status };
  const steps = r.spec.strategy?.canary?.steps ?? [];
  const conds = status.pauseConditions ?? [];
  const inconclusive = conds.some((p) => p.reason === 'InconclusiveAnalysisRun');
  const index = status.currentStepIndex ?? 0;
  const bump = index < steps.length ? index + 1 : index;
  if (r.spec.paused) r.spec.paused = false;
  if (conds.length === 0 || inconclusive) status.currentStepIndex = bump;
  if (inconclusive) delete status.controllerPause;
  delete status.pauseConditions;
  r.status = status;
  return r;
}

/** `promote --full`: unpause the spec, status.promoteFull = true. */
export function promoteFullRollout(rollout: Rollout): Rollout {
  const r = clone(rollout);
  if (r.spec.paused) r.spec.paused = false;
  r.status = { ...r.status, promoteFull: true };
  return r;
}
