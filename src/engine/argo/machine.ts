/**
 * Argo Rollouts' canary reconcile (`rollout/canary.go`, argo-rollouts.md §1.3-§1.9) as a pure,
 * explicit state machine:
 *
 *   reconcileCanary(rollout, observed, now) -> { actions, status, transition, from }
 *
 * No I/O, no clock (`now` is a parameter), no randomness. The Rollout carries its own status: user
 * actions (user-actions.ts) patch spec/status exactly as the CLI does, and the machine reads them.
 *
 * Design (as the Flagger machine, ADR 0006)
 * - States are the names in `CANARY_STATES`, derived from spec + status by `stateOf` in this order:
 *   Initial (no stableRS) > NewRevision (observed pod hash ≠ status.currentPodHash) > Aborted
 *   (status.abort) > Completed (currentPodHash = stableRS) > Paused (spec.paused) > Promoting (all
 *   steps done or promoteFull) > Stepping.
 * - Each state has an ORDERED list of named transitions in `CANARY_TRANSITION_TABLE`; the first
 *   whose function returns an outcome fires. Each transition is a small pure function in
 *   `CANARY_TRANSITIONS`. One status is written per call (`finish`), which also derives the
 *   conditions (Progressing/Available/Paused/Completed/Healthy with Argo's reasons), the phase
 *   (Degraded > Paused > Progressing > Healthy, §1.8) and the message.
 * - External work is an ACTION (create/scale ReplicaSets, set the router weight, create/terminate
 *   AnalysisRuns, switch Service selectors, header/mirror routes, events, requeue); its result comes
 *   back as an OBSERVATION on a later call (ReplicaSet counts, reported router weight, AnalysisRun
 *   phases). AnalysisRuns the machine asked for are recorded in status.canary.current*AnalysisRunStatus
 *   so a restarted adapter neither creates them twice nor loses their result.
 * - Replica counts come from `canaryReplicaCounts` (src/engine/replicas.ts). A step completes only
 *   when the ReplicaSets are at those counts (spec and available) and, with a router, the reported
 *   weight equals the desired weight.
 * - Requeues are actions: the machine requeues after pause durations and delays; while waiting for
 *   the world (pods, weights, AnalysisRuns) the adapter calls again when an observation changes.
 *
 * Choices where upstream is unclear or out of this slice (keep in sync with the report/ADR):
 * - AnalysisRun names are `<rollout>-<hash>-<revision>` (background) and `…-<stepIndex>` (step), with
 *   Argo's `.N` collision suffix when the name is taken (so a retry creates a fresh run).
 * - A background run left Inconclusive after the user promoted is terminated and started afresh.
 * - Old ReplicaSets are scaled down scaleDownDelaySeconds after the Completed condition turned True
 *   (upstream keeps a deadline annotation on the ReplicaSet instead).
 * - experiment and plugin steps hold with a Warning event (not in this slice); currentStepHash,
 *   replicas/updatedReplicas/readyReplicas/availableReplicas, progressDeadline and managed-route
 *   cleanup on promotion are not written yet.
 */
import type { CanaryStep, Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { applyRolloutDefaults } from '../../api/argo/rollout.js';
import { rolloutDefaults } from '../../api/argo/rollout-rules.js';
import { parseIntOrDuration } from '../../api/duration.js';
import {
  type CanaryReplicaCounts,
  canaryReplicaCounts,
  desiredCanaryWeight,
  isTrafficRouted,
  type ReplicaSetsInput,
  type RolloutInput,
  specReplicas,
  surgeAndUnavailable,
} from '../replicas.js';
import type {
  AnalysisRunRequest,
  CanaryAction,
  CanaryObservation,
  CanaryResult,
  CanaryStateName,
  ObservedAnalysisRun,
  ObservedReplicaSet,
} from './types.js';

type Status = RolloutStatus;
type CanaryStatusBlock = NonNullable<Status['canary']>;
type RunStatus = NonNullable<CanaryStatusBlock['currentStepAnalysisRunStatus']>;
type Condition = NonNullable<Status['conditions']>[number];

const COMPLETED_RUN = new Set(['Successful', 'Failed', 'Error', 'Inconclusive']);
const FAILED_RUN = new Set(['Failed', 'Error']);

// ---------------------------------------------------------------------------------------------
// Context

export interface CanaryCtx {
  /** The Rollout with Argo's defaults applied. */
  readonly rollout: Rollout;
  readonly name: string;
  readonly steps: readonly CanaryStep[];
  readonly prev: Status;
  readonly obs: CanaryObservation;
  readonly now: Date;
  readonly state: CanaryStateName;
  readonly routed: boolean;
  readonly maxWeight: number;
  readonly replicas: number;
  /** status.currentStepIndex clamped to 0..steps.length. */
  readonly index: number;
}

interface Outcome {
  /** Status fields to write; an explicit `undefined` removes the field. */
  set?: Partial<Status>;
  actions: CanaryAction[];
  /** Requeue after this many ms. */
  requeueMs?: number;
  /** Override the Progressing condition. */
  progressing?: { status: string; reason: string; message: string };
}

type Transition = (c: CanaryCtx) => Outcome | undefined;

const canarySpec = (c: CanaryCtx) => c.rollout.spec.strategy?.canary;
const revision = (c: CanaryCtx): number => c.obs.revision ?? 1;
const rsName = (c: CanaryCtx, hash: string): string => `${c.name}-${hash}`;

function stateOf(rollout: Rollout, status: Status, obs: CanaryObservation, steps: number): CanaryStateName {
  if (!status.stableRS) return 'Initial';
  if (status.currentPodHash !== obs.podHash) return 'NewRevision';
  if (status.abort === true) return 'Aborted';
  if (obs.podHash === status.stableRS) return 'Completed';
  if (rollout.spec.paused === true) return 'Paused';
  if (status.promoteFull === true || (status.currentStepIndex ?? 0) >= steps) return 'Promoting';
  return 'Stepping';
}

// ---------------------------------------------------------------------------------------------
// Replica and weight math (via src/engine/replicas.ts)

function mathInput(c: CanaryCtx, s: Status): RolloutInput {
  const weights = s.canary?.weights;
  return {
    spec: c.rollout.spec as unknown as RolloutInput['spec'],
    status: {
      currentStepIndex: s.currentStepIndex,
      abort: s.abort,
      promoteFull: s.promoteFull,
      currentPodHash: s.currentPodHash,
      stableRS: s.stableRS,
      canary: weights ? { weights } : {},
    },
  };
}

const rsCounts = (rs: ObservedReplicaSet) => ({
  replicas: rs.replicas,
  availableReplicas: rs.availableReplicas,
  name: rs.hash,
});

function rsInput(c: CanaryCtx): ReplicaSetsInput {
  const { stable, canary, older } = c.obs.replicaSets;
  return {
    ...(stable ? { stable: rsCounts(stable) } : {}),
    ...(canary ? { canary: rsCounts(canary) } : {}),
    older: (older ?? []).map(rsCounts),
  };
}

const desiredCounts = (c: CanaryCtx, s: Status): CanaryReplicaCounts =>
  canaryReplicaCounts(mathInput(c, s), rsInput(c));
const desiredWeight = (c: CanaryCtx, s: Status): number => desiredCanaryWeight(mathInput(c, s), rsInput(c));

const stableDistinct = (c: CanaryCtx): ObservedReplicaSet | undefined => {
  const { stable, canary } = c.obs.replicaSets;
  return stable && stable.hash !== canary?.hash ? stable : undefined;
};

/** `AtDesiredReplicaCountsForCanary`: spec and available counts at desired, older RSs at 0. */
function atDesired(c: CanaryCtx, d: CanaryReplicaCounts): boolean {
  const canary = c.obs.replicaSets.canary;
  if (!canary || canary.replicas !== d.canary || canary.availableReplicas < d.canary) return false;
  const stable = stableDistinct(c);
  if (stable && (stable.replicas !== d.stable || stable.availableReplicas < d.stable)) return false;
  return (c.obs.replicaSets.older ?? []).every((rs) => rs.replicas === 0);
}

/** Scale actions toward `d` (the canary is created when missing). */
function scaleActions(c: CanaryCtx, d: CanaryReplicaCounts, olderToZero = true): CanaryAction[] {
  const out: CanaryAction[] = [];
  const canary = c.obs.replicaSets.canary;
  if (!canary) out.push({ type: 'CreateReplicaSet', hash: c.obs.podHash, replicas: d.canary });
  else if (canary.replicas !== d.canary)
    out.push({ type: 'ScaleReplicaSet', hash: canary.hash, replicas: d.canary });
  const stable = stableDistinct(c);
  if (stable && stable.replicas !== d.stable)
    out.push({ type: 'ScaleReplicaSet', hash: stable.hash, replicas: d.stable });
  if (olderToZero)
    for (const rs of c.obs.replicaSets.older ?? [])
      if (rs.replicas !== 0) out.push({ type: 'ScaleReplicaSet', hash: rs.hash, replicas: 0 });
  return out;
}

function weightsStatus(c: CanaryCtx, s: Status, weight: number): CanaryStatusBlock['weights'] {
  const cs = canarySpec(c);
  return {
    canary: {
      weight,
      ...(s.currentPodHash ? { podTemplateHash: s.currentPodHash } : {}),
      ...(cs?.canaryService ? { serviceName: cs.canaryService } : {}),
    },
    stable: {
      weight: c.maxWeight - weight,
      ...(s.stableRS ? { podTemplateHash: s.stableRS } : {}),
      ...(cs?.stableService ? { serviceName: cs.stableService } : {}),
    },
  };
}

const reportedWeight = (c: CanaryCtx): number | undefined => c.obs.weights?.canary;

// ---------------------------------------------------------------------------------------------
// Small builders

const event = (reason: string, message: string, warning = false): CanaryAction => ({
  type: 'EmitEvent',
  eventType: warning ? 'Warning' : 'Normal',
  reason,
  message,
});

/** status.canary with `patch` merged (undefined values remove keys). */
function canaryBlock(c: CanaryCtx, patch: Partial<CanaryStatusBlock>): CanaryStatusBlock {
  const out: Record<string, unknown> = { ...(c.prev.canary ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as CanaryStatusBlock;
}

function stepDescription(step: CanaryStep | undefined): string {
  if (!step) return '';
  if (step.setWeight !== undefined) return `setWeight: ${step.setWeight}`;
  if (step.pause !== undefined)
    return step.pause.duration === undefined ? 'pause' : `pause: ${String(step.pause.duration)}`;
  if (step.analysis) return 'analysis';
  if (step.setCanaryScale) return 'setCanaryScale';
  if (step.setHeaderRoute) return 'setHeaderRoute';
  if (step.setMirrorRoute) return 'setMirrorRoute';
  if (step.experiment) return 'experiment';
  if (step.plugin) return 'plugin';
  return 'unknown';
}

/** Complete the current step: index + 1, step pause state cleared. */
function advance(c: CanaryCtx, extra: Outcome = { actions: [] }): Outcome {
  const step = c.steps[c.index];
  return {
    ...extra,
    set: {
      ...extra.set,
      currentStepIndex: c.index + 1,
      pauseConditions: undefined,
      controllerPause: undefined,
    },
    actions: [
      ...extra.actions,
      event(
        'RolloutStepCompleted',
        `Rollout step ${c.index + 1}/${c.steps.length} completed (${stepDescription(step)})`,
      ),
    ],
    requeueMs: 0,
  };
}

/** Step pause duration in ms; undefined for an indefinite pause. */
function pauseDurationMs(step: CanaryStep | undefined): number | undefined {
  const d = step?.pause?.duration;
  if (d === undefined) return undefined;
  return parseIntOrDuration(d as number | string);
}

// ---------------------------------------------------------------------------------------------
// AnalysisRuns

const runBase = (c: CanaryCtx, index?: number): string =>
  index === undefined
    ? `${c.name}-${c.obs.podHash}-${revision(c)}`
    : `${c.name}-${c.obs.podHash}-${revision(c)}-${index}`;

const runMatches = (name: string, base: string): boolean =>
  name === base || (/^\.\d+$/.test(name.slice(base.length)) && name.startsWith(base));

/** A run name not taken by an observed run: `base`, `base.1`, ... (Argo's collision counter). */
function freeRunName(c: CanaryCtx, base: string): string {
  const taken = c.obs.analysisRuns ?? {};
  if (!(base in taken)) return base;
  for (let i = 1; ; i++) if (!(`${base}.${i}` in taken)) return `${base}.${i}`;
}

/** The recorded step run of the current step (undefined when none or it belongs to another step). */
function stepRun(c: CanaryCtx): RunStatus | undefined {
  const r = c.prev.canary?.currentStepAnalysisRunStatus;
  return r && runMatches(r.name, runBase(c, c.index)) ? r : undefined;
}

function backgroundRun(c: CanaryCtx): RunStatus | undefined {
  const r = c.prev.canary?.currentBackgroundAnalysisRunStatus;
  return r && runMatches(r.name, runBase(c)) ? r : undefined;
}

/** The run's observed phase (the recorded one until the adapter reports it). */
function observedRun(c: CanaryCtx, r: RunStatus): ObservedAnalysisRun {
  return c.obs.analysisRuns?.[r.name] ?? { phase: r.status, ...(r.message ? { message: r.message } : {}) };
}

function runStatus(name: string, run: ObservedAnalysisRun): RunStatus {
  return { name, status: run.phase, ...(run.message ? { message: run.message } : {}) };
}

/** Resolve `podTemplateHashValue` args here; other valueFrom refs are left to the adapter. */
function requestFor(s: Status, a: NonNullable<CanaryStep['analysis']>): AnalysisRunRequest {
  const args = (a.args ?? []).map((arg) => {
    const vf = arg.valueFrom as { podTemplateHashValue?: string } | undefined;
    if (vf?.podTemplateHashValue === 'Stable') return { name: arg.name, value: s.stableRS ?? '' };
    if (vf?.podTemplateHashValue === 'Latest') return { name: arg.name, value: s.currentPodHash ?? '' };
    return { ...arg } as AnalysisRunRequest['args'][number];
  });
  return {
    templates: (a.templates ?? []).map((t) => ({ ...t })),
    args,
    ...(a.dryRun ? { dryRun: a.dryRun.map((d) => ({ ...d })) } : {}),
    ...(a.measurementRetention
      ? { measurementRetention: a.measurementRetention.map((m) => ({ ...m })) }
      : {}),
  };
}

/** Terminate every recorded, not yet completed run (of this revision or not). */
function terminateRuns(c: CanaryCtx): CanaryAction[] {
  const out: CanaryAction[] = [];
  for (const r of [
    c.prev.canary?.currentStepAnalysisRunStatus,
    c.prev.canary?.currentBackgroundAnalysisRunStatus,
  ]) {
    if (r && !COMPLETED_RUN.has(observedRun(c, r).phase))
      out.push({ type: 'TerminateAnalysisRun', name: r.name });
  }
  return out;
}

const hasPause = (s: Status, reason: string): boolean =>
  (s.pauseConditions ?? []).some((p) => p.reason === reason);

// ---------------------------------------------------------------------------------------------
// Transitions

/** What a run failure / user abort writes (user abort: status.abort was already set). */
function abortOutcome(c: CanaryCtx, message: string, failed: RunStatus[]): Outcome {
  const recorded: Partial<CanaryStatusBlock> = {};
  for (const r of failed) {
    if (r.name === c.prev.canary?.currentBackgroundAnalysisRunStatus?.name)
      recorded.currentBackgroundAnalysisRunStatus = r;
    else recorded.currentStepAnalysisRunStatus = r;
  }
  const failedNames = new Set(failed.map((r) => r.name));
  return {
    set: {
      abort: true,
      abortedAt: c.now.toISOString(),
      currentStepIndex: 0,
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
      canary: canaryBlock(c, recorded),
    },
    actions: [
      ...terminateRuns(c).filter((a) => a.type !== 'TerminateAnalysisRun' || !failedNames.has(a.name)),
      ...failed.map((r) =>
        event(
          'AnalysisRunFailed',
          `Analysis Run '${r.name}' ${r.status === 'Error' ? 'errored' : 'failed'}${r.message ? `: ${r.message}` : ''}`,
          true,
        ),
      ),
      event('RolloutAborted', message, true),
    ],
    requeueMs: 0,
    progressing: { status: 'False', reason: 'RolloutAborted', message },
  };
}

export const CANARY_TRANSITIONS = {
  /** First revision: deploy it at full scale; it is the stable (Argo skips the steps). */
  initialDeploy: (c) => {
    const cs = canarySpec(c);
    const actions: CanaryAction[] = [];
    if (!c.obs.replicaSets.canary) {
      actions.push({ type: 'CreateReplicaSet', hash: c.obs.podHash, replicas: c.replicas });
      actions.push(
        event(
          'NewReplicaSetCreated',
          `Created ReplicaSet ${rsName(c, c.obs.podHash)} (revision ${revision(c)}) with size ${c.replicas}`,
        ),
      );
    }
    if (cs?.stableService)
      actions.push({
        type: 'SwitchServiceSelector',
        role: 'stable',
        service: cs.stableService,
        hash: c.obs.podHash,
      });
    if (cs?.canaryService)
      actions.push({
        type: 'SwitchServiceSelector',
        role: 'canary',
        service: cs.canaryService,
        hash: c.obs.podHash,
      });
    return {
      set: { currentPodHash: c.obs.podHash, stableRS: c.obs.podHash, currentStepIndex: c.steps.length },
      actions,
      requeueMs: 0,
    };
  },

  /** A new pod template: reset the rollout status (`resetRolloutStatus`), start at step 0. */
  revisionChanged: (c) => {
    const backToStable = c.obs.podHash === c.prev.stableRS;
    return {
      set: {
        currentPodHash: c.obs.podHash,
        currentStepIndex: backToStable ? c.steps.length : 0,
        abort: undefined,
        abortedAt: undefined,
        pauseConditions: undefined,
        controllerPause: undefined,
        promoteFull: undefined,
        canary: canaryBlock(c, {
          currentStepAnalysisRunStatus: undefined,
          currentBackgroundAnalysisRunStatus: undefined,
        }),
      },
      actions: [...terminateRuns(c), event('RolloutUpdated', `Rollout updated to revision ${revision(c)}`)],
      requeueMs: 0,
    };
  },

  /** First call after `abort`: record abortedAt, terminate running analysis. */
  abortStarted: (c) => {
    if (c.prev.abortedAt) return undefined;
    return abortOutcome(c, `Rollout aborted update to revision ${revision(c)}`, []);
  },

  /** Traffic back to the stable, stable scaled up, canary scaled down after the abort delay. */
  abortRollback: (c) => {
    const s: Status = { ...c.prev, currentStepIndex: 0 };
    const d = desiredCounts(c, s);
    const actions: CanaryAction[] = [];
    if (c.routed && reportedWeight(c) !== 0) actions.push({ type: 'SetWeight', canary: 0 });
    const stable = stableDistinct(c);
    if (stable && stable.replicas !== d.stable)
      actions.push({ type: 'ScaleReplicaSet', hash: stable.hash, replicas: d.stable });
    const canary = c.obs.replicaSets.canary;
    let requeueMs: number | undefined;
    if (canary && canary.replicas > 0) {
      if (!c.routed) {
        if (canary.replicas !== d.canary)
          actions.push({ type: 'ScaleReplicaSet', hash: canary.hash, replicas: d.canary });
      } else {
        const delayS =
          canarySpec(c)?.abortScaleDownDelaySeconds ?? rolloutDefaults.abortScaleDownDelaySeconds;
        if (delayS > 0) {
          const due = Date.parse(c.prev.abortedAt ?? c.now.toISOString()) + delayS * 1000;
          if (c.now.getTime() >= due)
            actions.push({ type: 'ScaleReplicaSet', hash: canary.hash, replicas: 0 });
          else requeueMs = due - c.now.getTime();
        }
      }
    }
    if (actions.length === 0 && requeueMs === undefined) return undefined;
    return {
      set: { canary: canaryBlock(c, { weights: c.routed ? weightsStatus(c, s, 0) : undefined }) },
      actions,
      ...(requeueMs !== undefined ? { requeueMs } : {}),
    };
  },

  abortedHold: () => ({ actions: [] }),

  /** spec.paused: hold at the current step. */
  manualPause: () => ({ actions: [] }),

  /** `retry`: abort went false after an abort; forget the failed runs and start over. */
  retried: (c) => {
    if (!c.prev.abortedAt || c.prev.abort === true) return undefined;
    return {
      set: {
        abortedAt: undefined,
        currentStepIndex: c.state === 'Completed' ? c.steps.length : 0,
        pauseConditions: undefined,
        controllerPause: undefined,
        canary: canaryBlock(c, {
          currentStepAnalysisRunStatus: undefined,
          currentBackgroundAnalysisRunStatus: undefined,
        }),
      },
      actions: [event('RolloutRetry', 'Rollout is retrying after abort')],
      requeueMs: 0,
      progressing: { status: 'True', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' },
    };
  },

  /** A step or background AnalysisRun Failed/Error: abort (§1.7). */
  analysisFailed: (c) => {
    const failed: RunStatus[] = [];
    for (const r of [stepRun(c), backgroundRun(c)]) {
      if (!r) continue;
      const run = observedRun(c, r);
      if (FAILED_RUN.has(run.phase)) failed.push(runStatus(r.name, run));
    }
    if (failed.length === 0) return undefined;
    const detail = failed[0]?.message ? `: ${failed[0].message}` : '';
    return abortOutcome(c, `Rollout aborted update to revision ${revision(c)}${detail}`, failed);
  },

  /** A run came back Inconclusive: pause with InconclusiveAnalysisRun (§1.7). */
  analysisInconclusive: (c) => {
    for (const [key, r] of [
      ['currentStepAnalysisRunStatus', stepRun(c)],
      ['currentBackgroundAnalysisRunStatus', backgroundRun(c)],
    ] as const) {
      if (!r || r.status === 'Inconclusive') continue;
      const run = observedRun(c, r);
      if (run.phase !== 'Inconclusive') continue;
      return {
        set: {
          pauseConditions: [
            ...(c.prev.pauseConditions ?? []),
            { reason: 'InconclusiveAnalysisRun', startTime: c.now.toISOString() },
          ],
          controllerPause: true,
          canary: canaryBlock(c, { [key]: runStatus(r.name, run) }),
        },
        actions: [event('RolloutPaused', 'Rollout is paused (InconclusiveAnalysisRun)')],
      };
    }
    return undefined;
  },

  /**
   * The user promoted past an Inconclusive pause: a step run counts as done (the step advances); a
   * background run is terminated and forgotten, so a fresh one starts.
   */
  inconclusiveResumed: (c) => {
    if (hasPause(c.prev, 'InconclusiveAnalysisRun')) return undefined;
    const step = stepRun(c);
    if (step?.status === 'Inconclusive') return advance(c);
    const bg = backgroundRun(c);
    if (bg?.status === 'Inconclusive')
      return {
        set: { canary: canaryBlock(c, { currentBackgroundAnalysisRunStatus: undefined }) },
        actions: [{ type: 'TerminateAnalysisRun', name: bg.name }],
        requeueMs: 0,
      };
    return undefined;
  },

  /** A timed pause step has elapsed. */
  pauseStepElapsed: (c) => {
    const step = c.steps[c.index];
    const ms = pauseDurationMs(step);
    const cond = (c.prev.pauseConditions ?? []).find((p) => p.reason === 'CanaryPauseStep');
    if (ms === undefined || !cond) return undefined;
    if (c.now.getTime() < Date.parse(cond.startTime) + ms) return undefined;
    if ((c.prev.pauseConditions ?? []).some((p) => p.reason !== 'CanaryPauseStep')) return undefined;
    return advance(c);
  },

  /** Paused by the controller (pause step, inconclusive analysis): wait, requeue for a timed pause. */
  pausedHold: (c) => {
    const conds = c.prev.pauseConditions ?? [];
    if (conds.length === 0) return undefined;
    const ms = pauseDurationMs(c.steps[c.index]);
    const cond = conds.find((p) => p.reason === 'CanaryPauseStep');
    if (ms !== undefined && cond)
      return { actions: [], requeueMs: Math.max(0, Date.parse(cond.startTime) + ms - c.now.getTime()) };
    return { actions: [] };
  },

  /** Start the background analysis once the current step reaches startingStep. */
  backgroundAnalysisStart: (c) => {
    const a = canarySpec(c)?.analysis;
    if (!a || (a.templates ?? []).length === 0) return undefined;
    if (c.index < (a.startingStep ?? 0) || backgroundRun(c)) return undefined;
    const name = freeRunName(c, runBase(c));
    return {
      set: { canary: canaryBlock(c, { currentBackgroundAnalysisRunStatus: { name, status: 'Pending' } }) },
      actions: [{ type: 'CreateAnalysisRun', name, kind: 'background', ...requestFor(c.prev, a) }],
      requeueMs: 0,
    };
  },

  /** Bring the ReplicaSets to `canaryReplicaCounts`. */
  scaleReplicaSets: (c) => {
    const actions = scaleActions(c, desiredCounts(c, c.prev));
    if (actions.length === 0) return undefined;
    const created = actions.find((a) => a.type === 'CreateReplicaSet');
    const events = actions.map((a) =>
      a.type === 'CreateReplicaSet'
        ? event(
            'NewReplicaSetCreated',
            `Created ReplicaSet ${rsName(c, a.hash)} (revision ${revision(c)}) with size ${a.replicas}`,
          )
        : event(
            'ScalingReplicaSet',
            `Scaled ReplicaSet ${rsName(c, a.type === 'ScaleReplicaSet' ? a.hash : '')} to ${a.type === 'ScaleReplicaSet' ? a.replicas : 0}`,
          ),
    );
    const cs = canarySpec(c);
    const selector: CanaryAction[] =
      created && cs?.canaryService
        ? [{ type: 'SwitchServiceSelector', role: 'canary', service: cs.canaryService, hash: c.obs.podHash }]
        : [];
    return { actions: [...actions, ...selector, ...events] };
  },

  /** Pods not yet available at the desired counts: wait. */
  waitForReplicas: (c) => (atDesired(c, desiredCounts(c, c.prev)) ? undefined : { actions: [] }),

  /** With a router: set the desired canary weight and record it in status.canary.weights. */
  setTrafficWeight: (c) => {
    if (!c.routed) return undefined;
    const w = desiredWeight(c, c.prev);
    if (reportedWeight(c) === w) return undefined;
    return {
      set: { canary: canaryBlock(c, { weights: weightsStatus(c, c.prev, w) }) },
      actions: [
        { type: 'SetWeight', canary: w },
        event('TrafficWeightUpdated', `Traffic weight updated from ${reportedWeight(c) ?? 0} to ${w}`),
      ],
    };
  },

  /** setWeight / setCanaryScale: counts and weight are at desired (the transitions above did not fire). */
  stepWeightOrScale: (c) => {
    const step = c.steps[c.index];
    if (step?.setWeight === undefined && !step?.setCanaryScale) return undefined;
    return advance(c);
  },

  /** pause step: add the CanaryPauseStep condition, or complete after a user `promote`. */
  stepPause: (c) => {
    const step = c.steps[c.index];
    if (step?.pause === undefined) return undefined;
    if (c.prev.controllerPause === true) return advance(c); // promote cleared the pause conditions
    const ms = pauseDurationMs(step);
    if (ms === 0) return advance(c);
    return {
      set: {
        pauseConditions: [{ reason: 'CanaryPauseStep', startTime: c.now.toISOString() }],
        controllerPause: true,
      },
      actions: [event('RolloutPaused', 'Rollout is paused (CanaryPauseStep)')],
      ...(ms !== undefined ? { requeueMs: ms } : {}),
    };
  },

  /** analysis step: create the run, wait for it, complete when Successful. */
  stepAnalysis: (c) => {
    const step = c.steps[c.index];
    if (!step?.analysis) return undefined;
    const r = stepRun(c);
    if (!r) {
      const name = freeRunName(c, runBase(c, c.index));
      return {
        set: { canary: canaryBlock(c, { currentStepAnalysisRunStatus: { name, status: 'Pending' } }) },
        actions: [{ type: 'CreateAnalysisRun', name, kind: 'step', ...requestFor(c.prev, step.analysis) }],
      };
    }
    const run = observedRun(c, r);
    const recorded = { canary: canaryBlock(c, { currentStepAnalysisRunStatus: runStatus(r.name, run) }) };
    if (run.phase === 'Successful') return advance(c, { set: recorded, actions: [] });
    return { set: recorded, actions: [] };
  },

  /** setHeaderRoute / setMirrorRoute: ask the router, complete immediately. */
  stepRoute: (c) => {
    const step = c.steps[c.index];
    if (step?.setHeaderRoute) {
      const h = step.setHeaderRoute;
      return advance(c, {
        actions: [{ type: 'SetHeaderRoute', name: h.name ?? '', match: [...(h.match ?? [])] }],
      });
    }
    if (step?.setMirrorRoute) {
      const m = step.setMirrorRoute;
      return advance(c, {
        actions: [
          {
            type: 'SetMirrorRoute',
            name: m.name,
            match: [...(m.match ?? [])],
            ...(m.percentage !== undefined ? { percentage: m.percentage } : {}),
          },
        ],
      });
    }
    return undefined;
  },

  /** experiment / plugin steps are outside this slice: hold with a warning. */
  stepUnsupported: (c) => ({
    actions: [
      event(
        'StepUnsupported',
        `Step ${c.index + 1} (${stepDescription(c.steps[c.index])}) is not supported yet`,
        true,
      ),
    ],
  }),

  /** Every step done (or promoteFull) and the canary at full: the canary becomes the stable. */
  promoted: (c) => {
    const cs = canarySpec(c);
    const hash = c.obs.podHash;
    const next: Status = { ...c.prev, stableRS: hash };
    const actions: CanaryAction[] = [];
    if (cs?.stableService)
      actions.push({ type: 'SwitchServiceSelector', role: 'stable', service: cs.stableService, hash });
    if (c.routed) actions.push({ type: 'SetWeight', canary: 0 });
    const bg = c.prev.canary?.currentBackgroundAnalysisRunStatus;
    if (bg && !COMPLETED_RUN.has(observedRun(c, bg).phase))
      actions.push({ type: 'TerminateAnalysisRun', name: bg.name });
    actions.push(
      event(
        'RolloutCompleted',
        `Rollout completed update to revision ${revision(c)} (${hash}): Completed all ${c.steps.length} canary steps`,
      ),
    );
    return {
      set: {
        stableRS: hash,
        currentStepIndex: c.steps.length,
        promoteFull: undefined,
        pauseConditions: undefined,
        controllerPause: undefined,
        canary: canaryBlock(c, c.routed ? { weights: weightsStatus(c, next, 0) } : {}),
      },
      actions,
      requeueMs: 0,
    };
  },

  /** After promotion, old ReplicaSets are scaled down once scaleDownDelaySeconds has passed. */
  scaleDownOld: (c) => {
    const older = (c.obs.replicaSets.older ?? []).filter((rs) => rs.replicas > 0);
    if (older.length === 0) return undefined;
    const delayS = c.routed
      ? (canarySpec(c)?.scaleDownDelaySeconds ?? rolloutDefaults.scaleDownDelaySeconds)
      : 0;
    const completed = (c.prev.conditions ?? []).find((x) => x.type === 'Completed' && x.status === 'True');
    const since = completed ? Date.parse(completed.lastTransitionTime) : c.now.getTime();
    const due = since + delayS * 1000;
    if (c.now.getTime() < due) return { actions: [], requeueMs: due - c.now.getTime() };
    return {
      actions: older.flatMap((rs) => [
        { type: 'ScaleReplicaSet', hash: rs.hash, replicas: 0 } as CanaryAction,
        event('ScalingReplicaSet', `Scaled down ReplicaSet ${rsName(c, rs.hash)} from ${rs.replicas} to 0`),
      ]),
    };
  },

  /** Keep the stable ReplicaSet at spec.replicas. */
  scaleStable: (c) => {
    const actions = scaleActions(c, desiredCounts(c, c.prev), false);
    return actions.length === 0 ? undefined : { actions };
  },

  steady: () => ({ actions: [] }),
} satisfies Record<string, Transition>;

export type CanaryTransitionName = keyof typeof CANARY_TRANSITIONS;

export const CANARY_TRANSITION_TABLE: Readonly<Record<CanaryStateName, readonly CanaryTransitionName[]>> = {
  Initial: ['initialDeploy'],
  NewRevision: ['revisionChanged'],
  Aborted: ['abortStarted', 'abortRollback', 'abortedHold'],
  Paused: ['retried', 'analysisFailed', 'manualPause'],
  Stepping: [
    'retried',
    'analysisFailed',
    'analysisInconclusive',
    'inconclusiveResumed',
    'pauseStepElapsed',
    'pausedHold',
    'backgroundAnalysisStart',
    'scaleReplicaSets',
    'waitForReplicas',
    'setTrafficWeight',
    'stepWeightOrScale',
    'stepPause',
    'stepAnalysis',
    'stepRoute',
    'stepUnsupported',
  ],
  Promoting: [
    'retried',
    'analysisFailed',
    'scaleReplicaSets',
    'waitForReplicas',
    'setTrafficWeight',
    'promoted',
  ],
  Completed: ['retried', 'scaleStable', 'scaleDownOld', 'steady'],
};

// ---------------------------------------------------------------------------------------------
// Status: conditions, phase, message (one write per call)

function setCondition(
  prev: readonly Condition[],
  type: string,
  status: string,
  reason: string,
  message: string,
  nowIso: string,
): Condition {
  const old = prev.find((x) => x.type === type);
  if (old && old.status === status && old.reason === reason && old.message === message) return old;
  return {
    type,
    status,
    reason,
    message,
    lastUpdateTime: nowIso,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : nowIso,
  };
}

function finish(c: CanaryCtx, transition: string, o: Outcome): CanaryResult {
  const nowIso = c.now.toISOString();
  const raw: Record<string, unknown> = { ...c.prev };
  for (const [k, v] of Object.entries(o.set ?? {})) {
    if (v === undefined) delete raw[k];
    else raw[k] = v;
  }
  const next = raw as Status;
  if (next.canary && Object.keys(next.canary).length === 0) delete next.canary;
  const generation = (c.rollout.metadata as { generation?: number } | undefined)?.generation;
  if (generation !== undefined) next.observedGeneration = String(generation);

  const prevConds = c.prev.conditions ?? [];
  const hash = next.currentPodHash ?? c.obs.podHash;
  const rs = `ReplicaSet "${rsName(c, hash)}"`;
  const rev = revision(c);
  const prevAbort = prevConds.find((x) => x.type === 'Progressing' && x.reason === 'RolloutAborted');
  const paused = c.rollout.spec.paused === true || (next.pauseConditions ?? []).length > 0;
  const fullyPromoted = !!next.stableRS && next.stableRS === hash;
  const canaryRS = c.obs.replicaSets.canary;
  const updatedAvailable = !!canaryRS && canaryRS.hash === hash && canaryRS.availableReplicas >= c.replicas;
  const { stable: obsStable, older: obsOlder } = c.obs.replicaSets;
  const oldPending = [...(obsOlder ?? []), ...(obsStable ? [obsStable] : [])].some(
    (x) => x.hash !== hash && x.replicas > 0,
  );

  let progressing = o.progressing;
  if (!progressing) {
    if (next.abort === true)
      progressing = {
        status: 'False',
        reason: 'RolloutAborted',
        message: prevAbort?.message ?? `Rollout aborted update to revision ${rev}`,
      };
    else if (paused)
      progressing = { status: 'Unknown', reason: 'RolloutPaused', message: 'Rollout is paused' };
    else if (fullyPromoted && updatedAvailable)
      progressing = {
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `${rs} has successfully progressed.`,
      };
    else progressing = { status: 'True', reason: 'ReplicaSetUpdated', message: `${rs} is progressing.` };
  }

  const { maxUnavailable } = surgeAndUnavailable(mathInput(c, next));
  const stable = stableDistinct(c);
  const available = (canaryRS?.availableReplicas ?? 0) + (stable?.availableReplicas ?? 0);
  const isAvailable = available >= c.replicas - maxUnavailable;

  // Phase (CalculateRolloutPhase, §1.8).
  let phase: NonNullable<Status['phase']>;
  let message = '';
  if (progressing.reason === 'RolloutAborted') {
    phase = 'Degraded';
    message = `RolloutAborted: ${progressing.message}`;
  } else if (paused) {
    phase = 'Paused';
    message = c.rollout.spec.paused === true ? 'manually paused' : (next.pauseConditions?.[0]?.reason ?? '');
  } else if (!updatedAvailable) {
    phase = 'Progressing';
    message = 'more replicas need to be updated';
  } else if (!fullyPromoted) {
    phase = 'Progressing';
    message = 'waiting for all steps to complete';
  } else if (oldPending) {
    phase = 'Progressing';
    message = 'old replicas are pending termination';
  } else phase = 'Healthy';

  const conds: Condition[] = [
    setCondition(
      prevConds,
      'Progressing',
      progressing.status,
      progressing.reason,
      progressing.message,
      nowIso,
    ),
    setCondition(
      prevConds,
      'Available',
      isAvailable ? 'True' : 'False',
      'AvailableReason',
      isAvailable ? 'Rollout has minimum availability' : 'Rollout does not have minimum availability',
      nowIso,
    ),
  ];
  if (paused)
    conds.push(setCondition(prevConds, 'Paused', 'True', 'RolloutPaused', 'Rollout is paused', nowIso));
  else if (prevConds.some((x) => x.type === 'Paused'))
    conds.push(setCondition(prevConds, 'Paused', 'False', 'RolloutResumed', 'Rollout is resumed', nowIso));
  const completed = fullyPromoted && updatedAvailable;
  conds.push(
    setCondition(
      prevConds,
      'Completed',
      completed ? 'True' : 'False',
      completed ? 'RolloutCompleted' : 'RolloutNotCompleted',
      completed
        ? `Rollout completed update to revision ${rev}`
        : `Rollout not completed, started update to revision ${rev}`,
      nowIso,
    ),
  );
  conds.push(
    setCondition(
      prevConds,
      'Healthy',
      phase === 'Healthy' ? 'True' : 'False',
      'RolloutHealthy',
      phase === 'Healthy' ? 'Rollout is healthy' : 'Rollout is not healthy',
      nowIso,
    ),
  );
  for (const x of prevConds) if (!conds.some((y) => y.type === x.type)) conds.push(x);
  next.conditions = conds;
  next.phase = phase;
  next.message = message;

  const actions = [...o.actions];
  if (o.requeueMs !== undefined)
    actions.push({ type: 'RequeueAfter', ms: Math.max(0, Math.ceil(o.requeueMs)) });
  return { actions, status: next, transition, from: c.state };
}

// ---------------------------------------------------------------------------------------------
// Entry point

/** Build the call context (exported for tests and for adapters that want to explain a call). */
export function canaryContext(rollout: Rollout, observed: CanaryObservation, now: Date): CanaryCtx {
  const r = applyRolloutDefaults(rollout);
  const steps = r.spec.strategy?.canary?.steps ?? [];
  const prev = r.status ?? {};
  const raw = prev.currentStepIndex ?? 0;
  const input = { spec: r.spec as unknown as RolloutInput['spec'] };
  return {
    rollout: r,
    name: r.metadata?.name ?? '',
    steps,
    prev,
    obs: observed,
    now,
    state: stateOf(r, prev, observed, steps.length),
    routed: isTrafficRouted(input),
    maxWeight: r.spec.strategy?.canary?.trafficRouting?.maxTrafficWeight ?? rolloutDefaults.maxTrafficWeight,
    replicas: specReplicas(input),
    index: Math.min(steps.length, Math.max(0, Number.isFinite(raw) ? Math.trunc(raw) : 0)),
  };
}

/**
 * One reconcile of one canary Rollout: the next status and the actions the adapters must carry out.
 * Pure: the same inputs give the same outputs.
 */
export function reconcileCanary(rollout: Rollout, observed: CanaryObservation, now: Date): CanaryResult {
  const c = canaryContext(rollout, observed, now);
  for (const name of CANARY_TRANSITION_TABLE[c.state]) {
    const o = (CANARY_TRANSITIONS[name] as Transition)(c);
    if (o) return finish(c, name, o);
  }
  return finish(c, 'hold', { actions: [] });
}
