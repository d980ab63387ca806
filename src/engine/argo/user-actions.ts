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

// ---------------------------------------------------------------------------------------------
// restart, set image, undo

type PodTemplate = NonNullable<Rollout['spec']['template']>;

/** A user action that cannot be carried out (the CLI prints the message and exits non-zero). */
export class UserActionError extends Error {
  override name = 'UserActionError';
}

/** RFC 3339 in UTC to the second, as Go's `time.RFC3339` formats (fractions dropped). */
function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * `restart [--in DURATION]` (`restart/restart.go`): spec.restartAt = now + in. The machine then
 * restarts every pod created before it, maxUnavailable (at least 1) at a time, and records
 * status.restartedAt; a new template cancels it.
 */
export function restartRollout(rollout: Rollout, now: Date, inMs = 0): Rollout {
  const r = clone(rollout);
  r.spec.restartAt = rfc3339Seconds(now.getTime() + inMs);
  return r;
}

/**
 * `set image ROLLOUT CONTAINER=IMAGE` (`set/set_image.go`): the image of every init, regular and
 * ephemeral container of that name (`*`: of every container) in spec.template. A Rollout with a
 * workloadRef keeps its template in the referenced Deployment, which the adapter patches instead.
 */
export function setImage(rollout: Rollout, container: string, image: string): Rollout {
  if (rollout.spec.workloadRef)
    throw new UserActionError(
      `rollout "${rollout.metadata?.name ?? ''}" takes its template from ${rollout.spec.workloadRef.kind ?? 'a workload'} "${rollout.spec.workloadRef.name ?? ''}": set the image there`,
    );
  const r = clone(rollout);
  const spec = (r.spec.template?.spec ?? {}) as Record<string, unknown>;
  let found = false;
  for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    for (const ctr of list as { name?: string; image?: string }[]) {
      if (ctr.name === container || container === '*') {
        ctr.image = image;
        found = true;
      }
    }
  }
  if (!found) throw new UserActionError(`unable to find container named "${container}"`);
  return r;
}

/** One ReplicaSet of the Rollout's history, as the adapter lists it for `undo`. */
export interface RevisionTemplate {
  /** The rollout.argoproj.io/revision annotation of the ReplicaSet. */
  revision: number;
  /** Its spec.template. */
  template: PodTemplate;
}

export interface UndoPlan {
  /** The revision rolled back to (0 never: the previous one is resolved). */
  revision: number;
  /** The template that goes into spec.template (rollouts-pod-template-hash label removed). */
  template: PodTemplate;
  /** The Rollout's template already matches that revision: nothing to do. */
  skipped: boolean;
  /** What the CLI prints. */
  message: string;
}

const HASH_LABEL = 'rollouts-pod-template-hash';

function withoutHashLabel(t: PodTemplate): PodTemplate {
  const out = structuredClone(t);
  const labels = out.metadata?.labels as Record<string, string> | undefined;
  if (labels && HASH_LABEL in labels) {
    delete labels[HASH_LABEL];
    if (Object.keys(labels).length === 0 && out.metadata) delete out.metadata.labels;
  }
  return out;
}

/**
 * `apiequality.Semantic.DeepDerivative(a, b)`: `b` agrees with every field `a` sets. Unset or empty
 * strings, maps and lists in `a` match anything; lists compare as prefixes.
 */
function derivative(a: unknown, b: unknown): boolean {
  if (a === undefined || a === null) return true;
  if (typeof a === 'string') return a === '' || a === b;
  if (Array.isArray(a)) {
    if (a.length === 0) return true;
    if (!Array.isArray(b) || a.length > b.length) return false;
    return a.every((x, i) => derivative(x, b[i]));
  }
  if (typeof a === 'object') {
    const entries = Object.entries(a as Record<string, unknown>);
    if (entries.length === 0) return true;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
    return entries.every(([k, v]) => derivative(v, (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

/**
 * Which revision `undo [--to-revision N]` restores (`undo/undo.go` rolloutRevision): N, or with 0 the
 * second-highest revision of the history (the one before the latest).
 */
export function planUndo(rollout: Rollout, history: readonly RevisionTemplate[], toRevision = 0): UndoPlan {
  let target: RevisionTemplate | undefined;
  if (toRevision > 0) {
    target = history.find((h) => h.revision === toRevision);
    if (!target) throw new UserActionError(`unable to find specified revision ${toRevision} in history`);
  } else {
    const sorted = [...history].sort((a, b) => b.revision - a.revision);
    target = sorted[1];
    if (!target) throw new UserActionError(`no revision found for rollout "${rollout.metadata?.name ?? ''}"`);
  }
  const template = withoutHashLabel(target.template);
  const current = rollout.spec.template ? withoutHashLabel(rollout.spec.template) : undefined;
  const skipped = current !== undefined && derivative(current, template);
  return {
    revision: target.revision,
    template,
    skipped,
    message: skipped
      ? `skipped rollback (current template already matches revision ${target.revision})`
      : `rollout '${rollout.metadata?.name ?? ''}' undo`,
  };
}

/**
 * `undo [--to-revision N]`: spec.template replaced by the template of that revision (the adapter
 * supplies the history from the Rollout's ReplicaSets). The machine sees a new template: a roll
 * forward, fast-tracked when it is the stable ReplicaSet or within spec.rollbackWindow. Unchanged when
 * the template already matches. A Rollout with a workloadRef is undone in the referenced workload.
 */
export function undoRollout(rollout: Rollout, history: readonly RevisionTemplate[], toRevision = 0): Rollout {
  const plan = planUndo(rollout, history, toRevision);
  if (plan.skipped) return clone(rollout);
  if (rollout.spec.workloadRef)
    throw new UserActionError(
      `rollout "${rollout.metadata?.name ?? ''}" takes its template from ${rollout.spec.workloadRef.kind ?? 'a workload'} "${rollout.spec.workloadRef.name ?? ''}": undo patches that workload`,
    );
  const r = clone(rollout);
  r.spec.template = plan.template;
  return r;
}
