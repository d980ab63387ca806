/**
 * Argo Rollouts' blue/green reconcile (`rollout/bluegreen.go`, argo-rollouts.md §1.6-§1.9) as a pure,
 * explicit state machine, built like the canary machine (machine.ts):
 *
 *   reconcileBlueGreen(rollout, observed, now) -> { actions, status, transition, from }
 *
 * No I/O, no clock (`now` is a parameter), no randomness. User actions (user-actions.ts) patch
 * spec/status as the CLI does; the machine reads them on its next call.
 *
 * Design
 * - States are the names in `BLUEGREEN_STATES`, derived from spec + status by `stateOf` in this order:
 *   Initial (no stableRS) > NewRevision (observed pod hash ≠ status.currentPodHash) > Aborted
 *   (status.abort) > Completed (currentPodHash = stableRS) > Paused (spec.paused) > PromotingFull
 *   (status.promoteFull) > PostPromotion (active Service already on the new hash) > Preview. The first
 *   five are the canary machine's (`commonState`).
 * - Each state has an ORDERED list of named transitions in `BLUEGREEN_TRANSITION_TABLE`; the first
 *   whose function returns an outcome fires. One status is written per call (`finish`), with what Argo
 *   recomputes every pass: the replica fields, the conditions with the progress deadline, the phase
 *   (§1.8, blue-green branch of CalculateRolloutPhase) and message.
 * - Observations are the canary machine's (`CanaryObservation`): `canary` is the new ReplicaSet
 *   (podHash), `stable` the stableRS one, `older` the rest. Service selectors are not observed: the
 *   machine records what it asked for in status.blueGreen.activeSelector / previewSelector.
 * - What is the same for both strategies (conditions, phase, progress deadline, replica counts, runs,
 *   abort/retry/inconclusive outcomes, events) lives in common.ts and is shared with machine.ts.
 *
 * Flow of an update: the new ReplicaSet comes up at previewReplicaCount (or full) behind the preview
 * Service -> prePromotionAnalysis must be Successful -> BlueGreenPause (autoPromotionEnabled false:
 * until `promote`; autoPromotionSeconds: until it elapses) -> scaled to full -> the active Service is
 * switched -> postPromotionAnalysis must be Successful -> the new ReplicaSet becomes the stable ->
 * the old one is scaled down after scaleDownDelaySeconds. A failed analysis, `abort` or (with
 * progressDeadlineAbort) the progress deadline points active back at the stable and scales the new
 * ReplicaSet down after abortScaleDownDelaySeconds.
 *
 * Also as upstream:
 * - Status fields (`syncRolloutStatusBlueGreen`): replicas over every ReplicaSet, updatedReplicas of
 *   the new one; readyReplicas, availableReplicas, HPAReplicas and selector (with the active hash) of
 *   the active ReplicaSet (so preview pods becoming available are no progress; new pods are).
 * - Progress deadline (the canary machine's logic, common.ts): Progressing's lastUpdateTime moves only
 *   on progress (pods, or the active/preview selector); progressDeadlineSeconds after it Progressing
 *   turns False/ProgressDeadlineExceeded (phase Degraded), or with progressDeadlineAbort the update
 *   aborts (`progressDeadlineAbort`). Paused and aborted rollouts do not time out.
 * - scaleDownDelayRevisionLimit: of the old ReplicaSets waiting out scaleDownDelaySeconds, only the
 *   newest `limit` wait (newest by creation time); the others are scaled down at once (`scaleDownOld`).
 * - Fast-track rollback (`isBlueGreenFastTracked`): a template that goes back to an old ReplicaSet still
 *   up within its scale-down delay (and saturated, not spec.paused) switches active back to it at
 *   once, without preview, pause or analysis, and it is the stable again (`fastTrackRollback`); the
 *   ReplicaSet it leaves starts its own scale-down delay.
 * - activeMetadata / previewMetadata (`reconcileEphemeralMetadata`): while an update runs the new
 *   ReplicaSet's pods carry previewMetadata and the stable's activeMetadata (also after the switch,
 *   until the new one is the stable); then the new one carries activeMetadata; any other ReplicaSet
 *   none. The machine asks with `SetPodMetadata` (types.ts) when a ReplicaSet's observed
 *   `podMetadata` differs (`syncPodMetadata`; the adapter reports what it set).
 *
 * Choices where upstream differs or is out of this slice (keep in sync with the report):
 * - The active Service is switched back to the stable only once the stable has an available pod
 *   (upstream switches at once, even to a ReplicaSet still scaling up).
 * - The old ReplicaSets are scaled down scaleDownDelaySeconds after the Completed condition was
 *   written True for the current revision or by a fast-tracked rollback (its lastUpdateTime;
 *   upstream: a deadline annotation on each ReplicaSet when the active Service leaves it), so they
 *   stay up for the whole postPromotionAnalysis as a rollback target. A new update scales them down at once (upstream keeps each until its own deadline), so
 *   more than one waits only when the adapter reports leftovers; fast-track therefore applies to
 *   going back to the previous stable within its delay.
 * - The progress deadline does not count while a pre/post-promotion AnalysisRun is in flight (as the
 *   canary machine skips analysis steps; upstream counts it for blue-green), nor without a Progressing
 *   condition to count from (as upstream's requeueStuckRollout).
 * - Fast-track only after a completed update (Completed True): upstream also fast-tracks back to a
 *   preview that a newer template superseded within its delay, which was never promoted.
 * - Without creation times (ObservedReplicaSet.createdAt) old ReplicaSets rank as the oldest for
 *   scaleDownDelayRevisionLimit, in observation order.
 * - `promote --full` does not lift an abort; `retry` (or a new revision) must come first.
 * - After `promote` past an Inconclusive pre/post run, a fresh run is started (it must still pass).
 * - Old ReplicaSets beyond revisionHistoryLimit are deleted (`cleanupHistory`, shared with the
 *   canary machine) once Completed, oldest by creation time first, only when they have no pods.
 * - Not yet: rollbackWindow, spec.restartAt, antiAffinity, AWS target-group verification.
 */
import type { BlueGreenStrategy, Rollout } from '../../api/argo/rollout.js';
import { applyRolloutDefaults } from '../../api/argo/rollout.js';
import { rolloutDefaults } from '../../api/argo/rollout-rules.js';
import { type RolloutInput, specReplicas } from '../replicas.js';
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
  createdMs,
  currentReplicaSet,
  deadlineAbortMessage,
  deadlineHeld,
  dueAt,
  event,
  failedRuns,
  findReplicaSet,
  formatLabelSelector,
  freeRunName,
  hasPause,
  inconclusivePause,
  nextStatus,
  observedRun,
  podsOf,
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
  terminateRuns as terminate,
  withPatch,
  writeStatus,
} from './common.js';
import type { BlueGreenAction, CanaryObservation, ObservedReplicaSet, PodMetadata } from './types.js';

export type { BlueGreenAction } from './types.js';

type BlueGreenStatusBlock = NonNullable<Status['blueGreen']>;

/** The named states of the blue/green machine (derived from spec + status, see `stateOf`). */
export const BLUEGREEN_STATES = [
  /** No stable ReplicaSet yet: the first revision is deployed at full scale and made active. */
  'Initial',
  /** The observed pod-template hash differs from status.currentPodHash: reset and start over. */
  'NewRevision',
  /** status.abort: active back to the stable, the new ReplicaSet scaled down, phase Degraded. */
  'Aborted',
  /** currentPodHash === stableRS: active on the stable, old ReplicaSets scaled down after the delay. */
  'Completed',
  /** spec.paused (user pause). */
  'Paused',
  /** status.promoteFull: skip analysis and pauses, switch active as soon as the new RS is full. */
  'PromotingFull',
  /** Active already on the new hash: postPromotionAnalysis, then the new RS becomes the stable. */
  'PostPromotion',
  /** The new ReplicaSet behind the preview Service: pre-promotion analysis, pause, switch. */
  'Preview',
] as const;
export type BlueGreenStateName = (typeof BLUEGREEN_STATES)[number];

export interface BlueGreenResult {
  actions: BlueGreenAction[];
  status: Status;
  /** Name of the transition that fired (see `BLUEGREEN_TRANSITION_TABLE`). */
  transition: string;
  /** The state the call started in. */
  from: BlueGreenStateName;
}

// ---------------------------------------------------------------------------------------------
// Context

export interface BlueGreenCtx extends ArgoCall {
  /** spec.strategy.blueGreen with Argo's defaults applied. */
  readonly spec: BlueGreenStrategy;
  readonly state: BlueGreenStateName;
}

type Outcome = CommonOutcome<BlueGreenAction>;
type Transition = (c: BlueGreenCtx) => Outcome | undefined;
type RunKey = 'prePromotionAnalysisRunStatus' | 'postPromotionAnalysisRunStatus';

const RUN_KINDS: Record<RunKey, { suffix: string; kind: 'prePromotion' | 'postPromotion' }> = {
  prePromotionAnalysisRunStatus: { suffix: 'pre', kind: 'prePromotion' },
  postPromotionAnalysisRunStatus: { suffix: 'post', kind: 'postPromotion' },
};
const RUN_KEYS = Object.keys(RUN_KINDS) as RunKey[];

function stateOf(rollout: Rollout, status: Status, obs: CanaryObservation): BlueGreenStateName {
  const common = commonState(rollout, status, obs);
  if (common) return common;
  if (status.promoteFull === true) return 'PromotingFull';
  if (status.blueGreen?.activeSelector === obs.podHash) return 'PostPromotion';
  return 'Preview';
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const bg = (s: Status): BlueGreenStatusBlock => s.blueGreen ?? {};

/** status.blueGreen with `patch` merged (undefined values remove keys). */
const bgBlock = (c: BlueGreenCtx, patch: Partial<BlueGreenStatusBlock>): BlueGreenStatusBlock =>
  withPatch(c.prev.blueGreen, patch);

/** The new ReplicaSet (pod hash of the current template). */
const newRS = currentReplicaSet;

/** The hash the active Service points at; a status written before this engine reads as the stable. */
const activeHash = (c: BlueGreenCtx): string | undefined => bg(c.prev).activeSelector ?? c.prev.stableRS;

const saturated = (rs: ObservedReplicaSet | undefined, n: number): boolean =>
  !!rs && rs.replicas === n && rs.availableReplicas >= n;

const analysisSpec = (c: BlueGreenCtx, key: RunKey) => {
  const a =
    key === 'prePromotionAnalysisRunStatus' ? c.spec.prePromotionAnalysis : c.spec.postPromotionAnalysis;
  return a && (a.templates ?? []).length > 0 ? a : undefined;
};

/** Controller-managed pause before the switch (`needsBlueGreenControllerPause`). */
const needsPause = (c: BlueGreenCtx): boolean =>
  c.spec.autoPromotionEnabled === false || (c.spec.autoPromotionSeconds ?? 0) > 0;

/** Timed pause: autoPromotionEnabled (default true) with autoPromotionSeconds > 0. */
const autoPromotionMs = (c: BlueGreenCtx): number | undefined =>
  c.spec.autoPromotionEnabled !== false && (c.spec.autoPromotionSeconds ?? 0) > 0
    ? (c.spec.autoPromotionSeconds ?? 0) * 1000
    : undefined;

/** Size of the new ReplicaSet: previewReplicaCount until the scale-up checkpoint, else full. */
function desiredNew(c: BlueGreenCtx): number {
  const preview = c.spec.previewReplicaCount;
  if (preview === undefined || c.prev.promoteFull === true) return c.replicas;
  if (bg(c.prev).scaleUpPreviewCheckPoint === true || activeHash(c) === c.obs.podHash) return c.replicas;
  return preview;
}

/** Point a Service at `to` (and say so, as `switchServiceSelector`). */
const switchService = (
  role: 'active' | 'preview',
  service: string,
  from: string | undefined,
  to: string,
): BlueGreenAction[] => [
  { type: 'SwitchServiceSelector', role, service, hash: to },
  event('SwitchService', `Switched selector for service '${service}' from '${from ?? ''}' to '${to}'`),
];

/** The active Service to `to`, recorded in status.blueGreen.activeSelector (merged into `extra`). */
const activeSwitch = (c: BlueGreenCtx, to: string, extra: Partial<BlueGreenStatusBlock> = {}) => ({
  blueGreen: bgBlock(c, { ...extra, activeSelector: to }),
  actions: switchService('active', c.spec.activeService, bg(c.prev).activeSelector, to),
});

const scaleTo = (c: BlueGreenCtx, rs: ObservedReplicaSet, replicas: number): BlueGreenAction[] => [
  { type: 'ScaleReplicaSet', hash: rs.hash, replicas },
  event('ScalingReplicaSet', `Scaled ReplicaSet ${rsName(c, rs.hash)} from ${rs.replicas} to ${replicas}`),
];

const createNew = (c: BlueGreenCtx, replicas: number): BlueGreenAction[] => [
  { type: 'CreateReplicaSet', hash: c.obs.podHash, replicas },
  createdEvent(c, c.obs.podHash, replicas),
];

/** Point the preview Service at the new hash when it is not there yet. */
function previewSwitch(c: BlueGreenCtx): { actions: BlueGreenAction[]; set: Partial<BlueGreenStatusBlock> } {
  const svc = c.spec.previewService;
  const from = bg(c.prev).previewSelector;
  if (!svc || from === c.obs.podHash) return { actions: [], set: {} };
  return {
    actions: switchService('preview', svc, from, c.obs.podHash),
    set: { previewSelector: c.obs.podHash },
  };
}

/**
 * Old ReplicaSets after promotion (neither stable nor active, still up), newest first: the first
 * scaleDownDelayRevisionLimit of them wait until `due` (scaleDownDelaySeconds after the Completed
 * condition was written True for this revision); the others (and all once it is due) go at once.
 */
function scaleDownDelay(c: BlueGreenCtx): {
  waiting: ObservedReplicaSet[];
  now: ObservedReplicaSet[];
  due: number;
} {
  const keep = new Set([c.prev.stableRS, bg(c.prev).activeSelector]);
  const old = allReplicaSets(c)
    .filter((rs) => !keep.has(rs.hash) && rs.replicas > 0)
    .sort((a, b) => Math.sign(createdMs(b) - createdMs(a)) || 0);
  const delayS = c.spec.scaleDownDelaySeconds ?? rolloutDefaults.scaleDownDelaySeconds;
  const completed = completedCondition(c.prev);
  const due = dueAt(c, completed?.lastUpdateTime, delayS);
  const limit = Math.max(0, c.spec.scaleDownDelayRevisionLimit ?? Number.POSITIVE_INFINITY);
  const waiting = c.now.getTime() < due ? old.slice(0, limit) : [];
  return { waiting, now: old.filter((rs) => !waiting.includes(rs)), due };
}

// ---------------------------------------------------------------------------------------------
// Status fields Argo recomputes every pass (`syncRolloutStatusBlueGreen`)

/**
 * replicas over every ReplicaSet and updatedReplicas of the new one (as the canary machine); with an
 * active ReplicaSet, readyReplicas, availableReplicas and HPAReplicas are its own and the selector
 * is the Rollout's plus its rollouts-pod-template-hash (the active ReplicaSet's selector).
 */
function replicaFields(c: BlueGreenCtx, active: string | undefined) {
  const counts = replicaStatus(c);
  const rs = findReplicaSet(c, active);
  const selector = c.rollout.spec.selector;
  return {
    replicas: counts.replicas,
    updatedReplicas: counts.updatedReplicas,
    readyReplicas: rs ? (rs.readyReplicas ?? rs.availableReplicas) : counts.readyReplicas,
    availableReplicas: rs ? rs.availableReplicas : counts.availableReplicas,
    HPAReplicas: rs ? podsOf(rs) : counts.replicas,
    selector: formatLabelSelector(
      rs
        ? { ...selector, matchLabels: { ...selector?.matchLabels, 'rollouts-pod-template-hash': rs.hash } }
        : selector,
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// AnalysisRuns (pre/post promotion), named `<rollout>-<hash>-<revision>-pre|post` (Argo's infixes)

const runBase = (c: BlueGreenCtx, key: RunKey): string =>
  `${c.name}-${c.obs.podHash}-${revision(c)}-${RUN_KINDS[key].suffix}`;

/** The run of this revision recorded in `s` (undefined when none or it belongs to another revision). */
function recordedRun(c: BlueGreenCtx, key: RunKey, s: Status = c.prev): RunStatus | undefined {
  const r = bg(s)[key];
  return r && runMatches(r.name, runBase(c, key)) ? r : undefined;
}

/** Every recorded run (of this revision or not). */
const recordedRuns = (c: BlueGreenCtx) => RUN_KEYS.map((key) => bg(c.prev)[key]);

/** Terminate every recorded, not yet completed run (of this revision or not). */
const terminateRuns = (c: BlueGreenCtx): BlueGreenAction[] => terminate(c, recordedRuns(c));

/** A pre/post-promotion run of this revision is recorded in `s` and not completed. */
const runInFlight = (c: BlueGreenCtx, s: Status): boolean =>
  RUN_KEYS.some((key) => {
    const r = recordedRun(c, key, s);
    return !!r && !COMPLETED_RUN.has(observedRun(c, r).phase);
  });

/** Create, follow and record one run; undefined once it is Successful (or not configured). */
function analysisGate(c: BlueGreenCtx, key: RunKey): Outcome | undefined {
  const a = analysisSpec(c, key);
  if (!a) return undefined;
  const r = recordedRun(c, key);
  if (!r) {
    const name = freeRunName(c, runBase(c, key));
    return {
      set: { blueGreen: bgBlock(c, { [key]: { name, status: 'Pending' } }) },
      actions: [{ type: 'CreateAnalysisRun', name, kind: RUN_KINDS[key].kind, ...requestFor(c.prev, a) }],
    };
  }
  const run = observedRun(c, r);
  if (run.phase !== r.status || (run.message ?? '') !== (r.message ?? ''))
    return {
      set: { blueGreen: bgBlock(c, { [key]: runStatus(r.name, run) }) },
      actions: [],
      ...(run.phase === 'Successful' ? { requeueMs: 0 } : {}),
    };
  return run.phase === 'Successful' ? undefined : { actions: [] };
}

// ---------------------------------------------------------------------------------------------
// Progress deadline and pod metadata

/**
 * The deadline counts while the new ReplicaSet must come up or the switch is pending (Preview,
 * PromotingFull, PostPromotion) from a recorded Progressing condition, not paused or aborted and not
 * while a pre/post-promotion run is in flight.
 */
const deadlineApplies = (c: BlueGreenCtx, s: Status): boolean =>
  (c.state === 'Preview' || c.state === 'PromotingFull' || c.state === 'PostPromotion') &&
  !deadlineHeld(c, s) &&
  (c.prev.conditions ?? []).some((x) => x.type === 'Progressing') &&
  !runInFlight(c, s);

/** The same keys with the same values (absent = empty). */
function sameMap(a: Record<string, string> = {}, b: Record<string, string> = {}): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

const sameMetadata = (a: PodMetadata | undefined, b: PodMetadata | undefined): boolean =>
  sameMap(a?.labels, b?.labels) && sameMap(a?.annotations, b?.annotations);

/**
 * `reconcileEphemeralMetadata`: fully rolled out (no stable yet, or the new ReplicaSet is the stable),
 * the new ReplicaSet carries activeMetadata; during an update it carries previewMetadata and the
 * stable activeMetadata. Every other ReplicaSet carries none.
 */
function desiredMetadata(c: BlueGreenCtx, hash: string): PodMetadata | undefined {
  const stable = c.prev.stableRS;
  const rolledOut = !stable || stable === c.obs.podHash;
  if (hash === c.obs.podHash) return rolledOut ? c.spec.activeMetadata : c.spec.previewMetadata;
  return !rolledOut && hash === stable ? c.spec.activeMetadata : undefined;
}

// ---------------------------------------------------------------------------------------------
// Shared outcomes

/** What a run failure, the progress deadline or a user abort writes: the common abort, runs recorded. */
function abortOutcome(c: BlueGreenCtx, message: string, failed: (readonly [RunKey, RunStatus])[]): Outcome {
  const recorded: Partial<BlueGreenStatusBlock> = Object.fromEntries(failed);
  const o = commonAbort(
    c,
    message,
    failed.map(([, r]) => r),
    recordedRuns(c),
  );
  return { ...o, set: { ...o.set, blueGreen: bgBlock(c, recorded) } };
}

/** The new ReplicaSet becomes the stable (`promoteStable`). */
function promotion(c: BlueGreenCtx, reason: string): { set: Partial<Status>; actions: BlueGreenAction[] } {
  return {
    set: {
      stableRS: c.obs.podHash,
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
    },
    actions: [
      event(
        'RolloutCompleted',
        `Rollout completed update to revision ${revision(c)} (${c.obs.podHash}): ${reason}`,
      ),
    ],
  };
}

/** Runs and the preview checkpoint of an update, cleared by `resetRolloutStatus` and `retry`. */
const UPDATE_BLOCK: Partial<BlueGreenStatusBlock> = {
  prePromotionAnalysisRunStatus: undefined,
  postPromotionAnalysisRunStatus: undefined,
  scaleUpPreviewCheckPoint: undefined,
};

/** `resetRolloutStatus` for a new pod template: abort, pauses, promoteFull and runs cleared. */
const resetOutcome = (c: BlueGreenCtx) => ({
  set: {
    currentPodHash: c.obs.podHash,
    abort: undefined,
    abortedAt: undefined,
    pauseConditions: undefined,
    controllerPause: undefined,
    promoteFull: undefined,
  } satisfies Partial<Status>,
  actions: [...terminateRuns(c), event('RolloutUpdated', `Rollout updated to revision ${revision(c)}`)],
});

// ---------------------------------------------------------------------------------------------
// Transitions

export const BLUEGREEN_TRANSITIONS = {
  /** First revision: create it at full scale, preview on it; it becomes active once saturated. */
  initialDeploy: (c) => {
    const rs = newRS(c);
    const actions: BlueGreenAction[] = [];
    if (!rs) actions.push(...createNew(c, c.replicas));
    else if (rs.replicas !== c.replicas) actions.push(...scaleTo(c, rs, c.replicas));
    // a template changed before the first one became available
    for (const old of allReplicaSets(c))
      if (old.hash !== c.obs.podHash && old.replicas > 0) actions.push(...scaleTo(c, old, 0));
    const preview = previewSwitch(c);
    actions.push(...preview.actions);
    if (actions.length === 0 && c.prev.currentPodHash === c.obs.podHash) return undefined;
    return {
      set: { currentPodHash: c.obs.podHash, blueGreen: bgBlock(c, preview.set) },
      actions,
      // nothing for the world to do: call again for the next transition
      ...(actions.length === 0 ? { requeueMs: 0 } : {}),
    };
  },

  /** Wait until the first ReplicaSet is saturated. */
  initialWait: (c) => (saturated(newRS(c), c.replicas) ? undefined : { actions: [] }),

  /** Active on the first ReplicaSet; it is the stable (Argo: "Initial deploy"). */
  initialPromote: (c) => {
    const p = promotion(c, 'Initial deploy');
    const active = activeSwitch(c, c.obs.podHash);
    return {
      set: { ...p.set, blueGreen: active.blueGreen },
      actions: [...active.actions, ...p.actions],
      requeueMs: 0,
    };
  },

  /**
   * The template went back to an old ReplicaSet that still waits out its scale-down delay after the
   * last completed update, up and saturated (`isBlueGreenFastTracked`): reset, then active (and
   * preview) back on it at once and it is the stable again, without preview, pause or analysis. Not
   * while spec.paused, and not mid-update (a superseded preview was never promoted).
   */
  fastTrackRollback: (c) => {
    const rs = newRS(c);
    if (!rs || c.obs.podHash === c.prev.stableRS || c.rollout.spec.paused === true) return undefined;
    if (!completedCondition(c.prev)) return undefined;
    if (!saturated(rs, c.replicas) || !scaleDownDelay(c).waiting.some((x) => x.hash === rs.hash))
      return undefined;
    const reset = resetOutcome(c);
    const preview = previewSwitch(c);
    const active = activeSwitch(c, rs.hash, { ...UPDATE_BLOCK, ...preview.set });
    const p = promotion(
      c,
      analysisSpec(c, 'postPromotionAnalysisRunStatus')
        ? `Rollback to '${rsName(c, rs.hash)}' within scaleDownDelay`
        : 'Completed blue-green update',
    );
    return {
      set: { ...reset.set, ...p.set, blueGreen: active.blueGreen },
      actions: [...reset.actions, ...preview.actions, ...active.actions, ...p.actions],
      requeueMs: 0,
      // the ReplicaSet it leaves waits out its scale-down delay from now
      recomplete: true,
    };
  },

  /** A new pod template: reset the rollout status (`resetRolloutStatus`). */
  revisionChanged: (c) => {
    const reset = resetOutcome(c);
    return {
      set: { ...reset.set, blueGreen: bgBlock(c, UPDATE_BLOCK) },
      actions: reset.actions,
      requeueMs: 0,
    };
  },

  /** First call after `abort`: record abortedAt, terminate running analysis. */
  abortStarted: (c) => (c.prev.abortedAt ? undefined : abortOutcome(c, abortMessage(c), [])),

  /** The stable must be at full scale before active goes back to it. */
  abortRestoreStable: (c) => {
    const stable = findReplicaSet(c, c.prev.stableRS);
    if (!stable || stable.replicas === c.replicas) return undefined;
    return { actions: scaleTo(c, stable, c.replicas) };
  },

  /** Active back to the stable once it has an available pod (never to an empty ReplicaSet). */
  abortSwitchActive: (c) => {
    const stableHash = c.prev.stableRS as string;
    if (activeHash(c) === stableHash) return undefined;
    const stable = findReplicaSet(c, stableHash);
    if (!stable || stable.availableReplicas < 1) return { actions: [] };
    const active = activeSwitch(c, stableHash);
    return { set: { blueGreen: active.blueGreen }, actions: active.actions, requeueMs: 0 };
  },

  /** The new ReplicaSet down after abortScaleDownDelaySeconds (0 keeps it); others down at once. */
  abortScaleDown: (c) => {
    const stable = c.prev.stableRS;
    const active = activeHash(c);
    const actions: BlueGreenAction[] = [];
    let requeueMs: number | undefined;
    for (const rs of allReplicaSets(c)) {
      if (rs.hash === stable || rs.hash === active || rs.replicas === 0) continue;
      if (rs.hash !== c.obs.podHash) {
        actions.push(...scaleTo(c, rs, 0));
        continue;
      }
      const delayS = abortDelaySeconds(c);
      if (delayS <= 0) continue;
      const due = dueAt(c, c.prev.abortedAt, delayS);
      if (c.now.getTime() >= due) actions.push(...scaleTo(c, rs, 0));
      else requeueMs = due - c.now.getTime();
    }
    if (actions.length === 0 && requeueMs === undefined) return undefined;
    return { actions, ...(requeueMs !== undefined ? { requeueMs } : {}) };
  },

  abortedHold: () => ({ actions: [] }),

  /** spec.paused: hold (runs keep going; a failure still aborts). */
  manualPause: () => ({ actions: [] }),

  /** `retry`: abort went false after an abort; forget runs and pauses, start the update over. */
  retried: (c) => {
    const o = retriedOutcome(c);
    return o && { ...o, set: { ...o.set, blueGreen: bgBlock(c, UPDATE_BLOCK) } };
  },

  /** A pre- or post-promotion run Failed/Error: abort (§1.7). */
  analysisFailed: (c) => {
    const failed = RUN_KEYS.flatMap((key) =>
      failedRuns(c, [recordedRun(c, key)]).map((r) => [key, r] as const),
    );
    return failed.length === 0 ? undefined : abortOutcome(c, abortMessage(c, failed[0]?.[1].message), failed);
  },

  /**
   * spec.progressDeadlineAbort: the update made no progress for progressDeadlineSeconds (outside
   * pauses and pre/post-promotion analysis): abort, as a failed analysis would.
   */
  progressDeadlineAbort: (c) => {
    const message = deadlineAbortMessage(
      c,
      (s) => deadlineApplies(c, s),
      () => replicaFields(c, activeHash(c)),
    );
    return message === undefined ? undefined : abortOutcome(c, message, []);
  },

  /** A run came back Inconclusive: pause with InconclusiveAnalysisRun (§1.7). */
  analysisInconclusive: (c) => {
    const p = inconclusivePause(
      c,
      RUN_KEYS.map((key) => [key, recordedRun(c, key)] as const),
    );
    return p && { set: { ...p.set, blueGreen: bgBlock(c, { [p.key]: p.run }) }, actions: p.actions };
  },

  /** `promote` cleared an Inconclusive pause: forget the run so a fresh one is started. */
  inconclusiveResumed: (c) => {
    if (hasPause(c.prev, 'InconclusiveAnalysisRun')) return undefined;
    const keys = RUN_KEYS.filter((k) => recordedRun(c, k)?.status === 'Inconclusive');
    if (keys.length === 0) return undefined;
    return {
      set: { blueGreen: bgBlock(c, Object.fromEntries(keys.map((k) => [k, undefined]))) },
      actions: [],
      requeueMs: 0,
    };
  },

  /** Paused for another reason than BlueGreenPause (an Inconclusive run): wait for `promote`. */
  pausedHold: (c) =>
    (c.prev.pauseConditions ?? []).some((p) => p.reason !== 'BlueGreenPause') ? { actions: [] } : undefined,

  /** New RS to preview size (or full), the active RS at full, unreferenced ReplicaSets to 0. */
  scaleReplicaSets: (c) => {
    const actions: BlueGreenAction[] = [];
    let set: Partial<Status> | undefined;
    const d = desiredNew(c);
    const rs = newRS(c);
    if (!rs) {
      const preview = previewSwitch(c);
      actions.push(...createNew(c, d), ...preview.actions);
      set = { blueGreen: bgBlock(c, preview.set) };
    } else if (rs.replicas !== d) actions.push(...scaleTo(c, rs, d));
    const active = findReplicaSet(c, activeHash(c));
    if (active && active.hash !== c.obs.podHash && active.replicas !== c.replicas)
      actions.push(...scaleTo(c, active, c.replicas));
    for (const old of allReplicaSets(c))
      if (![c.obs.podHash, active?.hash, c.prev.stableRS].includes(old.hash) && old.replicas > 0)
        actions.push(...scaleTo(c, old, 0));
    if (actions.length === 0) return undefined;
    return { ...(set ? { set } : {}), actions };
  },

  /** Preview Service on the new hash (Argo points it there as soon as the RS exists). */
  switchPreview: (c) => {
    if (!newRS(c)) return undefined;
    const p = previewSwitch(c);
    if (p.actions.length === 0) return undefined;
    return { set: { blueGreen: bgBlock(c, p.set) }, actions: p.actions };
  },

  /**
   * activeMetadata / previewMetadata: a ReplicaSet whose observed pod metadata is not what it should
   * carry (`desiredMetadata`) gets a SetPodMetadata.
   */
  syncPodMetadata: (c) => {
    const actions: BlueGreenAction[] = [];
    for (const rs of allReplicaSets(c)) {
      const want = desiredMetadata(c, rs.hash);
      if (sameMetadata(rs.podMetadata, want)) continue;
      actions.push({
        type: 'SetPodMetadata',
        hash: rs.hash,
        labels: { ...want?.labels },
        annotations: { ...want?.annotations },
      });
    }
    return actions.length === 0 ? undefined : { actions };
  },

  /** The new ReplicaSet is not yet at its size with every pod available: wait. */
  waitForReplicas: (c) => (saturated(newRS(c), desiredNew(c)) ? undefined : { actions: [] }),

  /** prePromotionAnalysis must be Successful before the pause and the switch. */
  prePromotionAnalysis: (c) => analysisGate(c, 'prePromotionAnalysisRunStatus'),

  /** autoPromotionEnabled false or autoPromotionSeconds: pause with BlueGreenPause (once per update). */
  blueGreenPause: (c) => {
    if (!needsPause(c) || hasPause(c.prev, 'BlueGreenPause')) return undefined;
    if (c.prev.controllerPause === true || bg(c.prev).scaleUpPreviewCheckPoint === true) return undefined;
    const ms = autoPromotionMs(c);
    return { ...controllerPause(c, 'BlueGreenPause'), ...(ms !== undefined ? { requeueMs: ms } : {}) };
  },

  /** autoPromotionSeconds have passed since the pause: resume (controllerPause stays: pause done). */
  autoPromotionElapsed: (c) => {
    const ms = autoPromotionMs(c);
    const cond = (c.prev.pauseConditions ?? []).find((p) => p.reason === 'BlueGreenPause');
    if (ms === undefined || !cond || c.now.getTime() < Date.parse(cond.startTime) + ms) return undefined;
    return {
      set: { pauseConditions: (c.prev.pauseConditions ?? []).filter((p) => p.reason !== 'BlueGreenPause') },
      actions: [event('RolloutResumed', 'Rollout is resumed')],
      requeueMs: 0,
    };
  },

  /** BlueGreenPause in place: wait for `promote` (or requeue for autoPromotionSeconds). */
  blueGreenPauseHold: (c) => {
    const cond = (c.prev.pauseConditions ?? []).find((p) => p.reason === 'BlueGreenPause');
    if (!cond) return undefined;
    const ms = autoPromotionMs(c);
    if (ms === undefined) return { actions: [] };
    return { actions: [], requeueMs: Math.max(0, Date.parse(cond.startTime) + ms - c.now.getTime()) };
  },

  /** previewReplicaCount: pause and analysis done, scale the preview to full (the checkpoint). */
  scaleUpPreview: (c) => {
    if (c.spec.previewReplicaCount === undefined || bg(c.prev).scaleUpPreviewCheckPoint === true)
      return undefined;
    const rs = newRS(c);
    return {
      set: { blueGreen: bgBlock(c, { scaleUpPreviewCheckPoint: true }) },
      actions: rs && rs.replicas !== c.replicas ? scaleTo(c, rs, c.replicas) : [],
    };
  },

  /**
   * The new ReplicaSet saturated: switch the active Service to it. Without postPromotionAnalysis (or
   * with promoteFull) it becomes the stable in the same call, as upstream does.
   */
  switchActive: (c) => {
    if (activeHash(c) === c.obs.podHash) return undefined;
    if (!saturated(newRS(c), c.replicas)) return { actions: [] };
    const full = c.prev.promoteFull === true;
    const promote = full || !analysisSpec(c, 'postPromotionAnalysisRunStatus');
    const p = promote
      ? promotion(c, full ? 'Full promotion requested' : 'Completed blue-green update')
      : undefined;
    const active = activeSwitch(c, c.obs.podHash, promote ? { scaleUpPreviewCheckPoint: undefined } : {});
    return {
      set: { controllerPause: undefined, ...p?.set, blueGreen: active.blueGreen },
      actions: [...active.actions, ...(p?.actions ?? [])],
      requeueMs: 0,
    };
  },

  /** postPromotionAnalysis must be Successful before the new ReplicaSet becomes the stable. */
  postPromotionAnalysis: (c) => analysisGate(c, 'postPromotionAnalysisRunStatus'),

  /** Active on the new hash and analysis done (or skipped by promoteFull): it becomes the stable. */
  promoted: (c) => {
    if (activeHash(c) !== c.obs.podHash) return undefined;
    const full = c.prev.promoteFull === true;
    const p = promotion(c, full ? 'Full promotion requested' : 'Completed blue-green update');
    return {
      set: { ...p.set, blueGreen: bgBlock(c, { scaleUpPreviewCheckPoint: undefined }) },
      actions: [...(full ? terminateRuns(c) : []), ...p.actions],
      requeueMs: 0,
    };
  },

  /** `promote --full`: clear pauses and stop the analysis (`reconcileAnalysisRuns` skips it). */
  fullPromotionStarted: (c) => {
    const b = bg(c.prev);
    const pending =
      (c.prev.pauseConditions ?? []).length > 0 ||
      c.prev.controllerPause !== undefined ||
      RUN_KEYS.some((k) => b[k] !== undefined);
    if (!pending) return undefined;
    return {
      set: {
        pauseConditions: undefined,
        controllerPause: undefined,
        blueGreen: bgBlock(c, {
          prePromotionAnalysisRunStatus: undefined,
          postPromotionAnalysisRunStatus: undefined,
        }),
      },
      actions: terminateRuns(c),
      requeueMs: 0,
    };
  },

  /** Completed: keep the stable at spec.replicas (re-create it if it vanished). */
  scaleStable: (c) => {
    const rs = newRS(c) ?? findReplicaSet(c, c.prev.stableRS);
    if (!rs) return { actions: createNew(c, c.replicas) };
    return rs.replicas === c.replicas ? undefined : { actions: scaleTo(c, rs, c.replicas) };
  },

  /** Completed but active elsewhere (back to the stable template mid-update): switch once saturated. */
  restoreActive: (c) => {
    const stable = c.prev.stableRS as string;
    if (bg(c.prev).activeSelector === stable) return undefined;
    if (!saturated(findReplicaSet(c, stable), c.replicas)) return { actions: [] };
    const active = activeSwitch(c, stable);
    return { set: { blueGreen: active.blueGreen }, actions: active.actions, requeueMs: 0 };
  },

  /**
   * Old ReplicaSets wait out scaleDownDelaySeconds after the Completed condition was written, the
   * newest scaleDownDelayRevisionLimit of them; the others are scaled down at once.
   */
  scaleDownOld: (c) => {
    const { waiting, now, due } = scaleDownDelay(c);
    if (waiting.length === 0 && now.length === 0) return undefined;
    const actions = now.flatMap((rs) => scaleTo(c, rs, 0));
    return waiting.length === 0 ? { actions } : { actions, requeueMs: due - c.now.getTime() };
  },

  /** Delete old ReplicaSets beyond spec.revisionHistoryLimit (only those without pods). */
  cleanupHistory,
  steady: () => ({ actions: [] }),
} satisfies Record<string, Transition>;

export type BlueGreenTransitionName = keyof typeof BLUEGREEN_TRANSITIONS;

/** What an update checks first, before and after the switch: retry, aborts, pauses, sizes. */
const UPDATE_GUARDS = [
  'retried',
  'analysisFailed',
  'progressDeadlineAbort',
  'analysisInconclusive',
  'inconclusiveResumed',
  'pausedHold',
  'scaleReplicaSets',
] as const satisfies readonly BlueGreenTransitionName[];

export const BLUEGREEN_TRANSITION_TABLE: Readonly<
  Record<BlueGreenStateName, readonly BlueGreenTransitionName[]>
> = {
  Initial: ['initialDeploy', 'syncPodMetadata', 'initialWait', 'initialPromote'],
  NewRevision: ['fastTrackRollback', 'revisionChanged'],
  Aborted: [
    'abortStarted',
    'abortRestoreStable',
    'abortSwitchActive',
    'syncPodMetadata',
    'abortScaleDown',
    'abortedHold',
  ],
  Completed: [
    'retried',
    'switchPreview',
    'syncPodMetadata',
    'scaleStable',
    'restoreActive',
    'scaleDownOld',
    'cleanupHistory',
    'steady',
  ],
  Paused: ['retried', 'analysisFailed', 'syncPodMetadata', 'manualPause'],
  PromotingFull: [
    'retried',
    'progressDeadlineAbort',
    'fullPromotionStarted',
    'scaleReplicaSets',
    'switchPreview',
    'syncPodMetadata',
    'waitForReplicas',
    'switchActive',
    'promoted',
  ],
  PostPromotion: [
    ...UPDATE_GUARDS,
    'syncPodMetadata',
    'waitForReplicas',
    'postPromotionAnalysis',
    'promoted',
  ],
  Preview: [
    ...UPDATE_GUARDS,
    'switchPreview',
    'syncPodMetadata',
    'waitForReplicas',
    'prePromotionAnalysis',
    'blueGreenPause',
    'autoPromotionElapsed',
    'blueGreenPauseHold',
    'scaleUpPreview',
    'switchActive',
  ],
};

// ---------------------------------------------------------------------------------------------
// Status: replica fields, conditions, phase, message (one write per call)

function finish(c: BlueGreenCtx, transition: string, o: Outcome): BlueGreenResult {
  const next = nextStatus(c, o.set);
  // blue-green has no steps (`promote` writes an index for canaries); promoteFull ends with promotion
  delete next.currentStepIndex;
  if (next.stableRS && next.stableRS === next.currentPodHash) delete next.promoteFull;
  if (next.blueGreen && Object.keys(next.blueGreen).length === 0) delete next.blueGreen;
  const active = next.blueGreen?.activeSelector;
  const f = replicaFields(c, active);
  next.replicas = f.replicas;
  next.updatedReplicas = f.updatedReplicas;
  next.readyReplicas = f.readyReplicas;
  next.availableReplicas = f.availableReplicas;
  next.HPAReplicas = f.HPAReplicas;
  next.selector = f.selector;

  const hash = next.currentPodHash ?? c.obs.podHash;
  const fresh = newRS(c);
  const updated = fresh && fresh.hash === hash ? fresh.replicas : 0;
  const available = fresh && fresh.hash === hash ? fresh.availableReplicas : 0;
  const completed =
    !!next.stableRS &&
    next.stableRS === hash &&
    active === hash &&
    updated >= c.replicas &&
    available >= c.replicas;
  const activeRS = findReplicaSet(c, active);
  const actions = writeStatus(c, next, o, {
    paused: c.rollout.spec.paused === true || (next.pauseConditions ?? []).length > 0,
    healthy: completed,
    completed,
    // Available: the active ReplicaSet is saturated (blue-green branch of calculateRolloutConditions).
    available: !!activeRS && activeRS.availableReplicas >= c.replicas,
    deadline: deadlineApplies(c, next),
    // Phase (CalculateRolloutPhase, §1.8): blue-green's reasons for Progressing.
    pending: [
      [updated < c.replicas, 'more replicas need to be updated'],
      [available < updated, 'updated replicas are still becoming available'],
      [active !== hash, 'active service cutover pending'],
      [next.stableRS !== hash, 'waiting for analysis to complete'],
    ],
  });
  return { actions, status: next, transition, from: c.state };
}

// ---------------------------------------------------------------------------------------------
// Entry point

/** Build the call context (exported for tests and for adapters that want to explain a call). */
export function blueGreenContext(rollout: Rollout, observed: CanaryObservation, now: Date): BlueGreenCtx {
  const r = applyRolloutDefaults(rollout);
  const name = r.metadata?.name ?? '';
  const spec = r.spec.strategy?.blueGreen;
  if (!spec) throw new Error(`Rollout ${name} has no blueGreen strategy`);
  const prev = r.status ?? {};
  return {
    rollout: r,
    spec,
    name,
    prev,
    obs: observed,
    now,
    state: stateOf(r, prev, observed),
    replicas: specReplicas({ spec: r.spec as unknown as RolloutInput['spec'] }),
  };
}

/**
 * One reconcile of one blue/green Rollout: the next status and the actions the adapters must carry
 * out. Pure: the same inputs give the same outputs.
 */
export function reconcileBlueGreen(
  rollout: Rollout,
  observed: CanaryObservation,
  now: Date,
): BlueGreenResult {
  return runTable(
    BLUEGREEN_TRANSITION_TABLE,
    BLUEGREEN_TRANSITIONS,
    blueGreenContext(rollout, observed, now),
    finish,
  );
}
