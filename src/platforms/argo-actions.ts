/**
 * The user actions on an Argo Rollout as every platform carries them out: the CLI verbs and the
 * dashboard's buttons map to the pure changes of engine/argo/user-actions.ts, with the message the
 * CLI prints and the wording of the `UserAction` event that records who acted. The local runtime
 * applies the result to its record; Kubernetes writes it to the API server. Pure.
 */
import type { Rollout } from '../api/argo/rollout.js';
import {
  abortRollout,
  pauseRollout,
  planUndo,
  promoteFullRollout,
  promoteRollout,
  type RevisionTemplate,
  restartRollout,
  retryRollout,
  setImage,
  UserActionError,
  undoRollout,
} from '../engine/argo/user-actions.js';

export interface UserActionArgs {
  full?: boolean;
  toRevision?: number;
  container?: string;
  image?: string;
}

export interface UserActionContext {
  now: Date;
  /** The Rollout's revisions (its ReplicaSets' templates), for `undo`; asked for only then. */
  history?: () => readonly RevisionTemplate[];
}

/** The action as the user typed it: `promote --full`, `set image app=x:2`, `undo --to-revision 3`. */
export function describeUserAction(verb: string, a: UserActionArgs): string {
  if (verb === 'promote' && a.full) return 'promote --full';
  if (verb === 'set-image') return `set image ${a.container}=${a.image}`;
  if (verb === 'undo' && a.toRevision) return `undo --to-revision ${a.toRevision}`;
  return verb;
}

/** The message of the `UserAction` event (reason `UserAction`, type Normal) that records who acted. */
export function userActionEventMessage(verb: string, a: UserActionArgs, actor: string): string {
  return `${describeUserAction(verb, a)} by ${actor}`;
}

/**
 * The Rollout after `verb`, and what the CLI prints. Throws `UserActionError` when the action cannot
 * be carried out (unknown verb, no such container or revision).
 */
export function applyUserAction(
  rollout: Rollout,
  verb: string,
  a: UserActionArgs,
  ctx: UserActionContext,
): { rollout: Rollout; message: string } {
  const name = rollout.metadata?.name ?? '';
  switch (verb) {
    case 'promote':
      return {
        rollout: a.full ? promoteFullRollout(rollout) : promoteRollout(rollout),
        message: `rollout '${name}' ${a.full ? 'fully promoted' : 'promoted'}`,
      };
    case 'abort':
      return { rollout: abortRollout(rollout), message: `rollout '${name}' aborted` };
    case 'retry':
      return { rollout: retryRollout(rollout), message: `rollout '${name}' retried` };
    case 'pause':
      return { rollout: pauseRollout(rollout), message: `rollout '${name}' paused` };
    case 'resume':
      // Vireo's own verb: lifts a user pause (spec.paused) and leaves the pause conditions alone.
      return {
        rollout: { ...rollout, spec: { ...rollout.spec, paused: false } },
        message: `rollout '${name}' resumed`,
      };
    case 'restart':
      return { rollout: restartRollout(rollout, ctx.now), message: `rollout '${name}' restarts` };
    case 'set-image':
      if (!a.container || !a.image) throw new UserActionError('set image needs CONTAINER=IMAGE');
      return { rollout: setImage(rollout, a.container, a.image), message: `rollout "${name}" image updated` };
    case 'undo': {
      const history = ctx.history?.() ?? [];
      // planUndo names the revision (or says the rollback is skipped); undoRollout makes the change.
      const plan = planUndo(rollout, history, a.toRevision ?? 0);
      return { rollout: undoRollout(rollout, history, a.toRevision ?? 0), message: plan.message };
    }
    default:
      throw new UserActionError(`unknown action ${verb}`);
  }
}
