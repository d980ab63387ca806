/**
 * Argo Rollouts' canary reconcile (`rollout/canary.go`, `rollout/sync.go`, argo-rollouts.md §1.2-§1.9)
 * as a pure, explicit state machine:
 *
 *   reconcileCanary(rollout, observed, now) -> { actions, status, transition, from }
 *
 * No I/O, no clock (`now` is a parameter), no randomness. The Rollout carries its own status: user
 * actions (user-actions.ts: abort, retry, pause, promote [--full], restart, set image, undo) patch
 * spec/status exactly as the CLI does, and the machine reads them.
 *
 * Design (as the Flagger machine, ADR 0006)
 * - States are the names in `CANARY_STATES`, derived from spec + status by `stateOf` in this order:
 *   Initial (no stableRS) > NewRevision (observed pod hash ≠ status.currentPodHash, or the steps'
 *   hash ≠ status.currentStepHash) > Aborted (status.abort) > Completed (currentPodHash = stableRS) >
 *   Paused (spec.paused) > Promoting (all steps done, promoteFull, or a rollback within
 *   spec.rollbackWindow) > Stepping.
 * - Each state has an ORDERED list of named transitions in `CANARY_TRANSITION_TABLE`; the first
 *   whose function returns an outcome fires. Each transition is a small pure function in
 *   `CANARY_TRANSITIONS`. One status is written per call (`finish`), which also recomputes what Argo
 *   recomputes every pass: currentStepHash, replicas/updatedReplicas/readyReplicas/availableReplicas
 *   (pods that exist, over every ReplicaSet), HPAReplicas and selector (scale subresource), the
 *   conditions (Progressing/Available/Paused/Completed/Healthy with Argo's reasons), the phase
 *   (`CalculateRolloutPhase`: Degraded > Paused > restarting > replicas > steps > Healthy) and message.
 * - External work is an ACTION (create/scale ReplicaSets, set the router weight, create/terminate
 *   AnalysisRuns, switch Service selectors, set/remove header and mirror routes, restart pods, events,
 *   requeue); its result comes back as an OBSERVATION on a later call (ReplicaSet counts, creation
 *   times and pods older than restartAt, reported router weight and routes, AnalysisRun phases).
 *   AnalysisRuns the machine asked for are recorded in status.canary.current*AnalysisRunStatus so a
 *   restarted adapter neither creates them twice nor loses their result.
 * - Replica counts come from `canaryReplicaCounts` (src/engine/replicas.ts). A step completes only
 *   when the ReplicaSets are at those counts (the canary's available pods meeting
 *   replicaProgressThreshold, default all) and, with a router, the reported weight equals the desired
 *   weight. The canary becomes the stable only with every pod available.
 * - New steps (`stepsChanged`) reset like a new template (`resetRolloutStatus`): index 0, abort and
 *   pauses cleared, runs terminated, a pending restart cancelled. Going back to the stable ReplicaSet
 *   skips the steps at once; so does an active ReplicaSet within spec.rollbackWindow, and on later
 *   calls `rollbackWindowFastTrack` skips them for one that is scaled down (Argo's promote-full path).
 * - Progress deadline: Progressing's lastUpdateTime moves only on progress (`RolloutProgressing`);
 *   progressDeadlineSeconds (default 600) after it, outside pauses and analysis/experiment/pause
 *   steps, Progressing turns False/ProgressDeadlineExceeded (phase Degraded); with
 *   progressDeadlineAbort the rollout aborts (`progressDeadlineAbort`).
 * - Managed routes are removed (RemoveManagedRoutes) by the promoting and aborting calls, and again
 *   while the router still reports some after promotion, an abort or promote --full. After promotion
 *   (or going back to the stable) the router weight returns to 0 (`resetWeightToStable`).
 * - Restart: once spec.restartAt has passed, pods older than it are evicted, maxUnavailable (at least
 *   1) beyond the missing ones at a time, stable first, then the new ReplicaSet, then older ones;
 *   status.restartedAt is recorded when none are left (`restartPods`, `restartCompleted`).
 * - Requeues are actions: after pause durations and delays, at a due restart (30s checks), at the
 *   progress deadline; while waiting for the world (pods, weights, AnalysisRuns) the adapter calls
 *   again when an observation changes.
 * - What is the same for the blue/green machine (bluegreen.ts) lives in common.ts: the first states,
 *   the table runner, replica counts and selector, AnalysisRun names and requests, the abort, retry
 *   and Inconclusive outcomes, the Progressing condition with the progress deadline, the phase, the
 *   conditions and the requeue (`writeStatus`).
 *
 * Choices where upstream is unclear or out of this slice (keep in sync with the report/ADR):
 * - AnalysisRun names are `<rollout>-<hash>-<revision>` (background) and `…-<stepIndex>` (step), with
 *   Argo's `.N` collision suffix when the name is taken (so a retry creates a fresh run).
 * - A background run left Inconclusive after the user promoted is terminated and started afresh.
 * - Old ReplicaSets are scaled down scaleDownDelaySeconds after the Completed condition turned True
 *   (upstream keeps a deadline annotation on the ReplicaSet instead).
 * - currentStepHash is FNV-1a over the steps as JSON with sorted keys (Go orders by struct field), so
 *   it is stable but not byte-equal to Argo's; a status without one is adopted (no reset).
 * - The progress deadline counts only in Stepping and Promoting (not after promotion, e.g. during a
 *   long scaleDownDelay). A rollback within the window or promote --full does not lift a user's abort
 *   (Argo's promote-full path would), and spec.paused holds it.
 * - replicaProgressThreshold only relaxes the default: Percent is capped at 100, Pods (or Pod) at the
 *   desired canary count.
 * - experiment and plugin steps are not run: they hold with a Warning event saying what is missing
 *   (promote skips them).
 */
import type { CanaryStep, Rollout } from '../../api/argo/rollout.js';
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
import {
  type ArgoCall,
  abortDelaySeconds,
  abortMessage,
  allReplicaSets,
  COMPLETED_RUN,
  type Outcome as CommonOutcome,
  cleanupHistory,
  abortOutcome as commonAbort,
  commonState,
  completedCondition,
  controllerPause,
  createdEvent,
  deadlineAbortMessage,
  deadlineHeld,
  dueAt,
  event,
  failedRuns,
  formatLabelSelector,
  freeRunName,
  hasPause,
  inconclusivePause,
  nextStatus,
  observedRun,
  type RunStatus,
  replicaStatus,
  requestFor,
  retriedOutcome,
  revision,
  rsName,
  runMatches,
  runStatus,
  runTable,
  type Status,
  sumOf,
  terminateRuns as terminate,
  withPatch,
  writeStatus,
} from './common.js';
import type {
  CanaryAction,
  CanaryObservation,
  CanaryResult,
  CanaryStateName,
  ObservedReplicaSet,
} from './types.js';

export { allReplicaSets, formatLabelSelector, type ReplicaStatus, replicaStatus } from './common.js';

type CanaryStatusBlock = NonNullable<Status['canary']>;

// ---------------------------------------------------------------------------------------------
// Context

export interface CanaryCtx extends ArgoCall {
  readonly steps: readonly CanaryStep[];
  readonly state: CanaryStateName;
  readonly routed: boolean;
  readonly maxWeight: number;
  /** status.currentStepIndex clamped to 0..steps.length. */
  readonly index: number;
  /** `canaryStepHash` of spec.strategy.canary.steps (status.currentStepHash is written from it). */
  readonly stepHash: string;
  /** status.currentStepHash was recorded and differs from `stepHash`: the steps changed. */
  readonly stepsChanged: boolean;
  /** The new ReplicaSet is an older one within spec.rollbackWindow (`isRollbackWithinWindow`). */
  readonly withinRollbackWindow: boolean;
}

type Outcome = CommonOutcome<CanaryAction>;
type Transition = (c: CanaryCtx) => Outcome | undefined;

const canarySpec = (c: CanaryCtx) => c.rollout.spec.strategy?.canary;

function stateOf(
  rollout: Rollout,
  status: Status,
  obs: CanaryObservation,
  steps: number,
  stepsChanged = false,
  withinRollbackWindow = false,
): CanaryStateName {
  const common = commonState(rollout, status, obs, stepsChanged);
  if (common) return common;
  if (status.promoteFull === true || (status.currentStepIndex ?? 0) >= steps || withinRollbackWindow)
    return 'Promoting';
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

/**
 * spec.strategy.canary.replicaProgressThreshold (`ReplicaProgressThresholdMet`): how many of the
 * `desired` canary pods must be available. Without it, all of them. `Percent`: available/desired of
 * at least `value` %; `Pods` (Argo's docs spell it `Pod`; both are read): at least `value` pods. The
 * threshold only relaxes the default, so it is capped at 100 % / at `desired`.
 */
export function canaryProgressMet(c: CanaryCtx, available: number, desired: number): boolean {
  const t = canarySpec(c)?.replicaProgressThreshold;
  if (!t) return available >= desired;
  if (t.type === 'Percent') return available * 100 >= Math.min(100, t.value) * desired;
  return available >= Math.min(t.value, desired);
}

/**
 * `AtDesiredReplicaCountsForCanary`: spec counts at desired, the canary's available pods meeting
 * replicaProgressThreshold (default: all), the stable available, older RSs at 0.
 */
function atDesired(c: CanaryCtx, d: CanaryReplicaCounts): boolean {
  const canary = c.obs.replicaSets.canary;
  if (!canary || canary.replicas !== d.canary || !canaryProgressMet(c, canary.availableReplicas, d.canary))
    return false;
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
// Fields Argo recomputes every pass: step hash, replica counts, selector (`calculateBaseStatus`,
// `syncRolloutStatusCanary`)

/** Kubernetes' `rand.SafeEncodeString` alphabet (no vowels, no look-alikes). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with object keys sorted and undefined members dropped: equal steps give equal text. */
function canonicalJson(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x)).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * status.currentStepHash, as Argo's `ComputeStepHash` builds it: FNV-1a (32 bit) over the steps as
 * JSON, the decimal digits of the sum mapped onto the safe alphabet. The JSON here has sorted keys (Go
 * orders by struct field), so the value is Vireo's own: stable for equal steps, not equal to Argo's.
 */
export function canaryStepHash(steps: readonly CanaryStep[] | undefined): string {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(canonicalJson(steps))) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = '';
  for (const ch of String(h >>> 0)) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/**
 * `isRollbackWithinWindow`: the new ReplicaSet was created before the stable one (a rollback) and
 * fewer than spec.rollbackWindow.revisions ReplicaSets were created between the two.
 */
function rollbackWithinWindow(rollout: Rollout, obs: CanaryObservation): boolean {
  const window = rollout.spec.rollbackWindow?.revisions ?? 0;
  const { canary, stable, older } = obs.replicaSets;
  if (window <= 0 || !canary || !stable || canary.hash === stable.hash) return false;
  const from = Date.parse(canary.createdAt ?? '');
  const to = Date.parse(stable.createdAt ?? '');
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to)) return false;
  const between = (older ?? []).filter((rs) => {
    const t = Date.parse(rs.createdAt ?? '');
    return rs.hash !== canary.hash && rs.hash !== stable.hash && t > from && t < to;
  }).length;
  return between < window;
}

// ---------------------------------------------------------------------------------------------
// Progress deadline (`calculateRolloutConditions`, `RolloutProgressing`, `RolloutTimedOut`)

/** `isIndefiniteStep`: analysis, experiment and pause steps do not count against the deadline. */
const indefiniteStep = (step: CanaryStep | undefined): boolean =>
  step !== undefined && (step.pause !== undefined || !!step.analysis || !!step.experiment);

/**
 * The deadline counts while the canary must become available: Stepping or Promoting, not paused, not
 * aborted, not at an analysis/experiment/pause step.
 */
const deadlineApplies = (c: CanaryCtx, s: Status): boolean =>
  (c.state === 'Stepping' || c.state === 'Promoting') &&
  !deadlineHeld(c, s) &&
  !indefiniteStep(c.steps[c.index]);

// ---------------------------------------------------------------------------------------------
// Restart (`rollout/restart.go`) and managed routes

/** Between restartPods passes (`restartPodCheckTime`). */
const RESTART_CHECK_MS = 30_000;

interface PendingRestart {
  /** spec.restartAt as written. */
  at: string;
  atMs: number;
  /** `now` is after restartAt (`NeedsRestart`). */
  due: boolean;
}

/** spec.restartAt set and not yet recorded in `s.restartedAt`. */
function pendingRestart(c: CanaryCtx, s: Status): PendingRestart | undefined {
  const at = c.rollout.spec.restartAt;
  if (!at) return undefined;
  const atMs = Date.parse(at);
  if (!Number.isFinite(atMs)) return undefined;
  if (s.restartedAt !== undefined && Date.parse(s.restartedAt) === atMs) return undefined;
  return { at, atMs, due: c.now.getTime() > atMs };
}

/** Restart order: the stable, the new ReplicaSet, then older ones, oldest first. */
function restartOrder(c: CanaryCtx): ObservedReplicaSet[] {
  const { stable, canary } = c.obs.replicaSets;
  const created = (rs: ObservedReplicaSet) => {
    const t = Date.parse(rs.createdAt ?? '');
    return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
  };
  const rest = allReplicaSets(c)
    .filter((rs) => rs.hash !== stable?.hash && rs.hash !== canary?.hash)
    .sort((a, b) => created(a) - created(b));
  return [...(stable ? [stable] : []), ...(canary && canary.hash !== stable?.hash ? [canary] : []), ...rest];
}

/** Routes Argo's RemoveManagedRoutes removes: trafficRouting.managedRoutes (and the steps' routes). */
function managedRouteNames(c: CanaryCtx): string[] {
  const names = (canarySpec(c)?.trafficRouting?.managedRoutes ?? []).map((r) => r.name);
  for (const step of c.steps) {
    const name = step.setHeaderRoute?.name ?? step.setMirrorRoute?.name;
    if (name && !names.includes(name)) names.push(name);
  }
  return names;
}

/** RemoveManagedRoutes when a router is in charge and routes are configured. */
function removeRoutes(c: CanaryCtx): CanaryAction[] {
  const names = c.routed ? managedRouteNames(c) : [];
  return names.length > 0 ? [{ type: 'RemoveManagedRoutes', names }] : [];
}

// ---------------------------------------------------------------------------------------------
// Small builders

/** status.canary with `patch` merged (undefined values remove keys). */
const canaryBlock = (c: CanaryCtx, patch: Partial<CanaryStatusBlock>): CanaryStatusBlock =>
  withPatch(c.prev.canary, patch);

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

/** The recorded step run of the current step (undefined when none or it belongs to another step). */
function stepRun(c: CanaryCtx): RunStatus | undefined {
  const r = c.prev.canary?.currentStepAnalysisRunStatus;
  return r && runMatches(r.name, runBase(c, c.index)) ? r : undefined;
}

function backgroundRun(c: CanaryCtx): RunStatus | undefined {
  const r = c.prev.canary?.currentBackgroundAnalysisRunStatus;
  return r && runMatches(r.name, runBase(c)) ? r : undefined;
}

/** The recorded step and background runs (of this revision or not). */
const recordedRuns = (c: CanaryCtx) => [
  c.prev.canary?.currentStepAnalysisRunStatus,
  c.prev.canary?.currentBackgroundAnalysisRunStatus,
];

/** Terminate every recorded, not yet completed run (of this revision or not). */
const terminateRuns = (c: CanaryCtx): CanaryAction[] => terminate(c, recordedRuns(c));

// ---------------------------------------------------------------------------------------------
// Transitions

/**
 * What a run failure, the progress deadline or a user abort writes (user abort: status.abort was
 * already set): the common abort, the step index back to 0, the failed runs recorded, routes removed.
 */
function abortOutcome(c: CanaryCtx, message: string, failed: RunStatus[]): Outcome {
  const recorded: Partial<CanaryStatusBlock> = {};
  for (const r of failed) {
    if (r.name === c.prev.canary?.currentBackgroundAnalysisRunStatus?.name)
      recorded.currentBackgroundAnalysisRunStatus = r;
    else recorded.currentStepAnalysisRunStatus = r;
  }
  const o = commonAbort(c, message, failed, recordedRuns(c), removeRoutes(c));
  return { ...o, set: { ...o.set, currentStepIndex: 0, canary: canaryBlock(c, recorded) } };
}

/**
 * `resetRolloutStatus` after a new pod template or new steps: index 0, pause/abort/promoteFull and
 * the recorded runs cleared, a pending restart cancelled (restartedAt := spec.restartAt). The steps are
 * skipped when the new ReplicaSet is the stable one, or an active one within spec.rollbackWindow.
 */
function resetOutcome(c: CanaryCtx, extra: CanaryAction[]): Outcome {
  const backToStable = c.obs.podHash === c.prev.stableRS;
  const fastTrack = !backToStable && c.withinRollbackWindow && (c.obs.replicaSets.canary?.replicas ?? 0) > 0;
  const skip: CanaryAction[] =
    c.steps.length === 0
      ? []
      : backToStable
        ? [event('SkipSteps', 'Rollback to stable ReplicaSets')]
        : fastTrack
          ? [event('SkipSteps', 'Rollback to active ReplicaSets within RollbackWindow')]
          : [];
  return {
    set: {
      currentPodHash: c.obs.podHash,
      currentStepIndex: backToStable || fastTrack ? c.steps.length : 0,
      abort: undefined,
      abortedAt: undefined,
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
      restartedAt: c.rollout.spec.restartAt,
      canary: canaryBlock(c, {
        currentStepAnalysisRunStatus: undefined,
        currentBackgroundAnalysisRunStatus: undefined,
      }),
    },
    actions: [...terminateRuns(c), ...extra, ...skip],
    requeueMs: 0,
  };
}

/** Exactly what an experiment / plugin step would need, and what the user can do meanwhile. */
function unsupportedStepMessage(c: CanaryCtx): string {
  const step = c.steps[c.index];
  const at = `Step ${c.index + 1}/${c.steps.length}`;
  const meanwhile = 'the rollout holds here; promote to skip the step, or abort';
  if (step?.experiment) {
    const names = (step.experiment.templates ?? []).map((t) => t.name).join(', ');
    const analyses = (step.experiment.analyses ?? []).map((a) => a.name).join(', ');
    return `${at} is an experiment step (templates: ${names || 'none'}${analyses ? `; analyses: ${analyses}` : ''}); Vireo cannot run Experiments yet (no Experiment ReplicaSets or Experiment analysis), so ${meanwhile}`;
  }
  if (step?.plugin)
    return `${at} runs step plugin "${step.plugin.name}"; Vireo cannot load step plugins yet (no plugin runtime), so ${meanwhile}`;
  return `${at} has no step type Vireo knows (${Object.keys(step ?? {}).join(', ') || 'empty step'}), so ${meanwhile}`;
}

export const CANARY_TRANSITIONS = {
  /** First revision: deploy it at full scale; it is the stable (Argo skips the steps). */
  initialDeploy: (c) => {
    const cs = canarySpec(c);
    const actions: CanaryAction[] = [];
    if (!c.obs.replicaSets.canary)
      actions.push(
        { type: 'CreateReplicaSet', hash: c.obs.podHash, replicas: c.replicas },
        createdEvent(c, c.obs.podHash, c.replicas),
      );
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
    if (c.prev.currentPodHash === c.obs.podHash) return undefined;
    return resetOutcome(c, [event('RolloutUpdated', `Rollout updated to revision ${revision(c)}`)]);
  },

  /**
   * The canary steps changed (status.currentStepHash differs; `checkStepHashChange`): the same reset
   * as a new template, without a new ReplicaSet.
   */
  stepsChanged: (c) => (c.stepsChanged ? resetOutcome(c, []) : undefined),

  /** First call after `abort`: record abortedAt, terminate running analysis. */
  abortStarted: (c) => (c.prev.abortedAt ? undefined : abortOutcome(c, abortMessage(c), [])),

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
        const delayS = abortDelaySeconds(c);
        if (delayS > 0) {
          const due = dueAt(c, c.prev.abortedAt, delayS);
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
    const o = retriedOutcome(c);
    if (!o) return undefined;
    const canary = canaryBlock(c, {
      currentStepAnalysisRunStatus: undefined,
      currentBackgroundAnalysisRunStatus: undefined,
    });
    return {
      ...o,
      set: { ...o.set, currentStepIndex: c.state === 'Completed' ? c.steps.length : 0, canary },
    };
  },

  /** A step or background AnalysisRun Failed/Error: abort (§1.7). */
  analysisFailed: (c) => {
    const failed = failedRuns(c, [stepRun(c), backgroundRun(c)]);
    return failed.length === 0 ? undefined : abortOutcome(c, abortMessage(c, failed[0]?.message), failed);
  },

  /**
   * spec.progressDeadlineAbort: the canary made no progress for progressDeadlineSeconds (outside
   * pauses and analysis/experiment/pause steps): abort, as a failed analysis would.
   */
  progressDeadlineAbort: (c) => {
    const message = deadlineAbortMessage(
      c,
      (s) => deadlineApplies(c, s),
      () => ({ ...replicaStatus(c), currentStepHash: c.stepHash }),
    );
    return message === undefined ? undefined : abortOutcome(c, message, []);
  },

  /**
   * spec.restartAt is due: evict pods created before it, as many as maxUnavailable (at least 1) allows
   * beyond the pods already missing, the stable's first, then the new ReplicaSet's, then older ones.
   */
  restartPods: (c) => {
    const r = pendingRestart(c, c.prev);
    if (!r?.due) return undefined;
    const order = restartOrder(c);
    if (sumOf(order, (rs) => rs.podsToRestart ?? 0) === 0) return undefined;
    const { maxUnavailable } = surgeAndUnavailable(mathInput(c, c.prev));
    const total = sumOf(order, (rs) => rs.replicas);
    let budget =
      sumOf(order, (rs) => rs.availableReplicas) -
      (Math.max(c.replicas, total) - Math.max(maxUnavailable, 1));
    const actions: CanaryAction[] = [];
    for (const rs of order) {
      const n = Math.min(budget, rs.podsToRestart ?? 0);
      if (n <= 0) continue;
      actions.push({ type: 'RestartPods', hash: rs.hash, count: n, before: r.at });
      budget -= n;
    }
    return actions.length === 0 ? undefined : { actions, requeueMs: RESTART_CHECK_MS };
  },

  /** Every pod is younger than spec.restartAt: record status.restartedAt. */
  restartCompleted: (c) => {
    const r = pendingRestart(c, c.prev);
    if (!r?.due || sumOf(allReplicaSets(c), (rs) => rs.podsToRestart ?? 0) > 0) return undefined;
    return { set: { restartedAt: r.at }, actions: [], requeueMs: 0 };
  },

  /**
   * The router still reports managed routes after promotion, an abort or promote --full: remove them
   * (the promoting or aborting call already asked once).
   */
  removeManagedRoutes: (c) => {
    const left = c.obs.managedRoutes ?? [];
    if (!c.routed || left.length === 0) return undefined;
    if (c.state === 'Promoting' && c.prev.promoteFull !== true) return undefined;
    const names = managedRouteNames(c);
    return { actions: [{ type: 'RemoveManagedRoutes', names: names.length > 0 ? names : [...left] }] };
  },

  /**
   * A rollback within spec.rollbackWindow: skip the remaining steps and pauses (Argo handles it as
   * promote --full), then promote as usual.
   */
  rollbackWindowFastTrack: (c) => {
    if (!c.withinRollbackWindow) return undefined;
    const paused = (c.prev.pauseConditions ?? []).length > 0 || c.prev.controllerPause === true;
    if (c.prev.currentStepIndex === c.steps.length && !paused) return undefined;
    return {
      set: { currentStepIndex: c.steps.length, pauseConditions: undefined, controllerPause: undefined },
      actions: [],
      requeueMs: 0,
    };
  },

  /**
   * The canary becomes the stable only with every pod available (`shouldFullPromote`), even when
   * replicaProgressThreshold let the steps go on with fewer.
   */
  waitForFullAvailability: (c) =>
    (c.obs.replicaSets.canary?.availableReplicas ?? 0) >= c.replicas ? undefined : { actions: [] },

  /**
   * Fully promoted (or rolled back to the stable) with the router still sending traffic to the canary
   * Service: weight back to 0 and the canary Service back to the stable pods. With dynamicStableScale
   * only as fast as the stable's available pods allow (`calculateDesiredWeightOnAbortOrStableRollback`).
   */
  resetWeightToStable: (c) => {
    const w = reportedWeight(c);
    if (!c.routed || w === undefined) return undefined;
    const cs = canarySpec(c);
    let target = 0;
    if (cs?.dynamicStableScale === true && c.replicas > 0) {
      const avail = c.obs.replicaSets.stable?.availableReplicas ?? 0;
      target = Math.min(w, Math.max(0, c.maxWeight - Math.floor((c.maxWeight * avail) / c.replicas)));
    }
    if (w === target) return undefined;
    const stable = c.prev.stableRS ?? c.obs.podHash;
    const recorded = c.prev.canary?.weights?.canary.podTemplateHash;
    const s: Status = target > 0 && recorded ? { ...c.prev, currentPodHash: recorded } : c.prev;
    const actions: CanaryAction[] = [{ type: 'SetWeight', canary: target }];
    if (target === 0 && cs?.canaryService && recorded !== undefined && recorded !== stable)
      actions.push({
        type: 'SwitchServiceSelector',
        role: 'canary',
        service: cs.canaryService,
        hash: stable,
      });
    actions.push(event('TrafficWeightUpdated', `Traffic weight updated from ${w} to ${target}`));
    return { set: { canary: canaryBlock(c, { weights: weightsStatus(c, s, target) }) }, actions };
  },

  /** A run came back Inconclusive: pause with InconclusiveAnalysisRun (§1.7). */
  analysisInconclusive: (c) => {
    const p = inconclusivePause(c, [
      ['currentStepAnalysisRunStatus', stepRun(c)],
      ['currentBackgroundAnalysisRunStatus', backgroundRun(c)],
    ]);
    return p && { set: { ...p.set, canary: canaryBlock(c, { [p.key]: p.run }) }, actions: p.actions };
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
        ? createdEvent(c, a.hash, a.replicas)
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
    // pausedHold fired before while any pause condition was in place: this is the only one
    return { ...controllerPause(c, 'CanaryPauseStep'), ...(ms !== undefined ? { requeueMs: ms } : {}) };
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

  /** experiment / plugin steps: Vireo cannot run them yet; hold with a warning that says what is missing. */
  stepUnsupported: (c) => ({
    actions: [event('StepUnsupported', unsupportedStepMessage(c), true)],
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
    actions.push(...removeRoutes(c));
    // `shouldFullPromote`'s reasons, in its order.
    const reason =
      c.prev.promoteFull === true
        ? 'Full promotion requested'
        : c.withinRollbackWindow
          ? 'Rollback within window'
          : `Completed all ${c.steps.length} canary steps`;
    actions.push(
      event('RolloutCompleted', `Rollout completed update to revision ${revision(c)} (${hash}): ${reason}`),
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
    const due = dueAt(c, completedCondition(c.prev)?.lastTransitionTime, delayS);
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

  /** Delete old ReplicaSets beyond spec.revisionHistoryLimit (only those without pods). */
  cleanupHistory,
  steady: () => ({ actions: [] }),
} satisfies Record<string, Transition>;

export type CanaryTransitionName = keyof typeof CANARY_TRANSITIONS;

export const CANARY_TRANSITION_TABLE: Readonly<Record<CanaryStateName, readonly CanaryTransitionName[]>> = {
  Initial: ['initialDeploy'],
  NewRevision: ['revisionChanged', 'stepsChanged'],
  Aborted: [
    'abortStarted',
    'restartPods',
    'restartCompleted',
    'removeManagedRoutes',
    'abortRollback',
    'abortedHold',
  ],
  Paused: ['retried', 'analysisFailed', 'restartPods', 'restartCompleted', 'manualPause'],
  Stepping: [
    'retried',
    'analysisFailed',
    'progressDeadlineAbort',
    'restartPods',
    'restartCompleted',
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
    'progressDeadlineAbort',
    'restartPods',
    'restartCompleted',
    'removeManagedRoutes',
    'rollbackWindowFastTrack',
    'scaleReplicaSets',
    'waitForReplicas',
    'setTrafficWeight',
    'waitForFullAvailability',
    'promoted',
  ],
  Completed: [
    'retried',
    'restartPods',
    'restartCompleted',
    'removeManagedRoutes',
    'resetWeightToStable',
    'scaleStable',
    'scaleDownOld',
    'cleanupHistory',
    'steady',
  ],
};

// ---------------------------------------------------------------------------------------------
// Status: conditions, phase, message (one write per call)

/**
 * `RolloutHealthy`: every pod updated and available, no other pods, every step done and the current
 * ReplicaSet the stable one.
 */
function rolloutHealthy(c: CanaryCtx, s: Status): boolean {
  const n = c.replicas;
  const allSteps =
    c.steps.length === 0 || s.currentStepIndex === undefined || s.currentStepIndex === c.steps.length;
  return (
    s.updatedReplicas === n &&
    s.availableReplicas === n &&
    s.replicas === n &&
    allSteps &&
    !!s.stableRS &&
    s.stableRS === s.currentPodHash
  );
}

function finish(c: CanaryCtx, transition: string, o: Outcome): CanaryResult {
  const next = nextStatus(c, o.set);
  if (next.canary && Object.keys(next.canary).length === 0) delete next.canary;

  // Recomputed every pass from the observed ReplicaSets and the spec.
  const counts = replicaStatus(c);
  Object.assign(next, counts, {
    currentStepHash: c.stepHash,
    HPAReplicas: counts.replicas,
    selector: formatLabelSelector(c.rollout.spec.selector),
  });

  const hash = next.currentPodHash ?? c.obs.podHash;
  const paused = c.rollout.spec.paused === true || (next.pauseConditions ?? []).length > 0;
  const fullyPromoted = !!next.stableRS && next.stableRS === hash;
  const canaryRS = c.obs.replicaSets.canary;
  const updatedAvailable = !!canaryRS && canaryRS.hash === hash && canaryRS.availableReplicas >= c.replicas;
  const healthy = !paused && rolloutHealthy(c, next);

  // Requeue safety nets Argo keeps besides the progress deadline: a due or pending restart.
  const nets: number[] = [];
  const restart = c.state !== 'Initial' && c.state !== 'NewRevision' ? pendingRestart(c, next) : undefined;
  if (restart) nets.push(restart.due ? RESTART_CHECK_MS : restart.atMs - c.now.getTime() + 1);

  const actions = writeStatus(c, next, o, {
    paused,
    healthy,
    healthyCondition: healthy,
    completed: fullyPromoted && updatedAvailable,
    // Available (canary): every ReplicaSet's available pods together reach spec.replicas.
    available: counts.availableReplicas >= c.replicas,
    deadline: deadlineApplies(c, next),
    // Phase (`CalculateRolloutPhase`, §1.8): canary's reasons for Progressing.
    pending: [
      [pendingRestart(c, next) !== undefined, 'rollout is restarting'],
      [counts.updatedReplicas < c.replicas, 'more replicas need to be updated'],
      [counts.availableReplicas < counts.updatedReplicas, 'updated replicas are still becoming available'],
      // Only without a router: with one, scaleDownDelaySeconds keeps the old pods up on purpose.
      [!c.routed && counts.replicas > counts.updatedReplicas, 'old replicas are pending termination'],
      [!fullyPromoted, 'waiting for all steps to complete'],
    ],
    nets,
  });
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
  const stepHash = canaryStepHash(r.spec.strategy?.canary?.steps);
  // No recorded hash (a status from before the field, or from another controller): adopt it, no reset.
  const stepsChanged = !!prev.currentStepHash && prev.currentStepHash !== stepHash;
  const withinRollbackWindow = rollbackWithinWindow(r, observed);
  return {
    rollout: r,
    name: r.metadata?.name ?? '',
    steps,
    prev,
    obs: observed,
    now,
    state: stateOf(r, prev, observed, steps.length, stepsChanged, withinRollbackWindow),
    routed: isTrafficRouted(input),
    maxWeight: r.spec.strategy?.canary?.trafficRouting?.maxTrafficWeight ?? rolloutDefaults.maxTrafficWeight,
    replicas: specReplicas(input),
    index: Math.min(steps.length, Math.max(0, Number.isFinite(raw) ? Math.trunc(raw) : 0)),
    stepHash,
    stepsChanged,
    withinRollbackWindow,
  };
}

/**
 * One reconcile of one canary Rollout: the next status and the actions the adapters must carry out.
 * Pure: the same inputs give the same outputs.
 */
export function reconcileCanary(rollout: Rollout, observed: CanaryObservation, now: Date): CanaryResult {
  return runTable(CANARY_TRANSITION_TABLE, CANARY_TRANSITIONS, canaryContext(rollout, observed, now), finish);
}
