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
 *   (status.promoteFull) > PostPromotion (active Service already on the new hash) > Preview.
 * - Each state has an ORDERED list of named transitions in `BLUEGREEN_TRANSITION_TABLE`; the first
 *   whose function returns an outcome fires. One status is written per call (`finish`), with the
 *   conditions, phase (§1.8, blue-green branch of CalculateRolloutPhase) and message.
 * - Observations are the canary machine's (`CanaryObservation`): `canary` is the new ReplicaSet
 *   (podHash), `stable` the stableRS one, `older` the rest. Service selectors are not observed: the
 *   machine records what it asked for in status.blueGreen.activeSelector / previewSelector.
 * - The canary machine's helpers (events, AnalysisRun names/requests, conditions) are reused through
 *   `canaryContext`, the canary view of the same call.
 *
 * Flow of an update: the new ReplicaSet comes up at previewReplicaCount (or full) behind the preview
 * Service -> prePromotionAnalysis must be Successful -> BlueGreenPause (autoPromotionEnabled false:
 * until `promote`; autoPromotionSeconds: until it elapses) -> scaled to full -> the active Service is
 * switched -> postPromotionAnalysis must be Successful -> the new ReplicaSet becomes the stable ->
 * the old one is scaled down after scaleDownDelaySeconds. A failed analysis or `abort` points active
 * back at the stable and scales the new ReplicaSet down after abortScaleDownDelaySeconds.
 *
 * Choices where upstream differs or is out of this slice (keep in sync with the report):
 * - The active Service is switched back to the stable only once the stable has an available pod
 *   (upstream switches at once, even to a ReplicaSet still scaling up).
 * - The old ReplicaSets are scaled down scaleDownDelaySeconds after the Completed condition turned
 *   True (upstream: after the active switch, via an RS annotation), so they stay up for the whole
 *   postPromotionAnalysis as a rollback target.
 * - `promote --full` does not lift an abort; `retry` (or a new revision) must come first.
 * - After `promote` past an Inconclusive pre/post run, a fresh run is started (it must still pass).
 * - Not yet: scaleDownDelayRevisionLimit, fast-track rollback to an RS within its scale-down delay,
 *   rollbackWindow, progressDeadline, replica counts in status, activeMetadata/previewMetadata.
 */
import type { BlueGreenStrategy, Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { rolloutDefaults } from '../../api/argo/rollout-rules.js';
import {
  type CanaryCtx,
  COMPLETED_RUN,
  canaryContext,
  event,
  FAILED_RUN,
  freeRunName,
  observedRun,
  requestFor,
  revision,
  rsName,
  runMatches,
  runStatus,
  setCondition,
} from './machine.js';
import type { AnalysisRunRequest, CanaryAction, CanaryObservation, ObservedReplicaSet } from './types.js';

type Status = RolloutStatus;
type BlueGreenStatusBlock = NonNullable<Status['blueGreen']>;
type RunStatus = NonNullable<BlueGreenStatusBlock['prePromotionAnalysisRunStatus']>;
type Condition = NonNullable<Status['conditions']>[number];

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

/** Actions of the blue/green machine: the canary ones plus the blue/green Service roles and runs. */
export type BlueGreenAction =
  | CanaryAction
  /** Patch the Service's selector with rollouts-pod-template-hash = hash. */
  | { type: 'SwitchServiceSelector'; role: 'active' | 'preview'; service: string; hash: string }
  | ({
      type: 'CreateAnalysisRun';
      name: string;
      kind: 'prePromotion' | 'postPromotion';
    } & AnalysisRunRequest);

export interface BlueGreenResult {
  actions: BlueGreenAction[];
  status: RolloutStatus;
  /** Name of the transition that fired (see `BLUEGREEN_TRANSITION_TABLE`). */
  transition: string;
  /** The state the call started in. */
  from: BlueGreenStateName;
}

// ---------------------------------------------------------------------------------------------
// Context

export interface BlueGreenCtx {
  /** The canary machine's view of the same call (defaults applied), for its shared helpers. */
  readonly cc: CanaryCtx;
  readonly rollout: Rollout;
  readonly spec: BlueGreenStrategy;
  readonly name: string;
  readonly prev: Status;
  readonly obs: CanaryObservation;
  readonly now: Date;
  readonly state: BlueGreenStateName;
  readonly replicas: number;
}

interface Outcome {
  /** Status fields to write; an explicit `undefined` removes the field. */
  set?: Partial<Status>;
  actions: BlueGreenAction[];
  /** Requeue after this many ms. */
  requeueMs?: number;
  /** Override the Progressing condition. */
  progressing?: { status: string; reason: string; message: string };
}

type Transition = (c: BlueGreenCtx) => Outcome | undefined;
type RunKey = 'prePromotionAnalysisRunStatus' | 'postPromotionAnalysisRunStatus';

const RUN_KINDS: Record<RunKey, { suffix: string; kind: 'prePromotion' | 'postPromotion' }> = {
  prePromotionAnalysisRunStatus: { suffix: 'pre', kind: 'prePromotion' },
  postPromotionAnalysisRunStatus: { suffix: 'post', kind: 'postPromotion' },
};
const RUN_KEYS = Object.keys(RUN_KINDS) as RunKey[];

function stateOf(rollout: Rollout, status: Status, obs: CanaryObservation): BlueGreenStateName {
  if (!status.stableRS) return 'Initial';
  if (status.currentPodHash !== obs.podHash) return 'NewRevision';
  if (status.abort === true) return 'Aborted';
  if (obs.podHash === status.stableRS) return 'Completed';
  if (rollout.spec.paused === true) return 'Paused';
  if (status.promoteFull === true) return 'PromotingFull';
  if (status.blueGreen?.activeSelector === obs.podHash) return 'PostPromotion';
  return 'Preview';
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const bg = (s: Status): BlueGreenStatusBlock => s.blueGreen ?? {};

/** status.blueGreen with `patch` merged (undefined values remove keys). */
function bgBlock(c: BlueGreenCtx, patch: Partial<BlueGreenStatusBlock>): BlueGreenStatusBlock {
  const out: Record<string, unknown> = { ...bg(c.prev) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as BlueGreenStatusBlock;
}

/** Every observed ReplicaSet once (stable and new may be the same object). */
function allReplicaSets(c: BlueGreenCtx): ObservedReplicaSet[] {
  const { stable, canary, older } = c.obs.replicaSets;
  const out: ObservedReplicaSet[] = [];
  for (const rs of [canary, stable, ...(older ?? [])])
    if (rs && !out.some((x) => x.hash === rs.hash)) out.push(rs);
  return out;
}

const findRS = (c: BlueGreenCtx, hash: string | undefined): ObservedReplicaSet | undefined =>
  hash === undefined ? undefined : allReplicaSets(c).find((rs) => rs.hash === hash);

/** The new ReplicaSet (pod hash of the current template). */
const newRS = (c: BlueGreenCtx): ObservedReplicaSet | undefined => {
  const rs = c.obs.replicaSets.canary;
  return rs && rs.hash === c.obs.podHash ? rs : undefined;
};

/** The hash the active Service points at; a status written before this engine reads as the stable. */
const activeHash = (c: BlueGreenCtx): string | undefined => bg(c.prev).activeSelector ?? c.prev.stableRS;

const saturated = (rs: ObservedReplicaSet | undefined, n: number): boolean =>
  !!rs && rs.replicas === n && rs.availableReplicas >= n;

const hasPause = (s: Status, reason: string): boolean =>
  (s.pauseConditions ?? []).some((p) => p.reason === reason);

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

const switchTo = (role: 'active' | 'preview', service: string, hash: string): BlueGreenAction => ({
  type: 'SwitchServiceSelector',
  role,
  service,
  hash,
});

const switchEvent = (service: string, from: string | undefined, to: string): BlueGreenAction =>
  event('SwitchService', `Switched selector for service '${service}' from '${from ?? ''}' to '${to}'`);

const scaleTo = (c: BlueGreenCtx, rs: ObservedReplicaSet, replicas: number): BlueGreenAction[] => [
  { type: 'ScaleReplicaSet', hash: rs.hash, replicas },
  event('ScalingReplicaSet', `Scaled ReplicaSet ${rsName(c.cc, rs.hash)} from ${rs.replicas} to ${replicas}`),
];

const createNew = (c: BlueGreenCtx, replicas: number): BlueGreenAction[] => [
  { type: 'CreateReplicaSet', hash: c.obs.podHash, replicas },
  event(
    'NewReplicaSetCreated',
    `Created ReplicaSet ${rsName(c.cc, c.obs.podHash)} (revision ${revision(c.cc)}) with size ${replicas}`,
  ),
];

/** Point the preview Service at the new hash when it is not there yet. */
function previewSwitch(c: BlueGreenCtx): { actions: BlueGreenAction[]; set: Partial<BlueGreenStatusBlock> } {
  const svc = c.spec.previewService;
  const from = bg(c.prev).previewSelector;
  if (!svc || from === c.obs.podHash) return { actions: [], set: {} };
  return {
    actions: [switchTo('preview', svc, c.obs.podHash), switchEvent(svc, from, c.obs.podHash)],
    set: { previewSelector: c.obs.podHash },
  };
}

// ---------------------------------------------------------------------------------------------
// AnalysisRuns (pre/post promotion), named `<rollout>-<hash>-<revision>-pre|post` (Argo's infixes)

const runBase = (c: BlueGreenCtx, key: RunKey): string =>
  `${c.name}-${c.obs.podHash}-${revision(c.cc)}-${RUN_KINDS[key].suffix}`;

/** The recorded run of this revision (undefined when none or it belongs to another revision). */
function recordedRun(c: BlueGreenCtx, key: RunKey): RunStatus | undefined {
  const r = bg(c.prev)[key];
  return r && runMatches(r.name, runBase(c, key)) ? r : undefined;
}

/** Terminate every recorded, not yet completed run (of this revision or not). */
function terminateRuns(c: BlueGreenCtx): BlueGreenAction[] {
  const out: BlueGreenAction[] = [];
  for (const key of RUN_KEYS) {
    const r = bg(c.prev)[key];
    if (r && !COMPLETED_RUN.has(observedRun(c.cc, r).phase))
      out.push({ type: 'TerminateAnalysisRun', name: r.name });
  }
  return out;
}

/** Create, follow and record one run; undefined once it is Successful (or not configured). */
function analysisGate(c: BlueGreenCtx, key: RunKey): Outcome | undefined {
  const a = analysisSpec(c, key);
  if (!a) return undefined;
  const r = recordedRun(c, key);
  if (!r) {
    const name = freeRunName(c.cc, runBase(c, key));
    return {
      set: { blueGreen: bgBlock(c, { [key]: { name, status: 'Pending' } }) },
      actions: [{ type: 'CreateAnalysisRun', name, kind: RUN_KINDS[key].kind, ...requestFor(c.prev, a) }],
    };
  }
  const run = observedRun(c.cc, r);
  if (run.phase !== r.status || (run.message ?? '') !== (r.message ?? ''))
    return {
      set: { blueGreen: bgBlock(c, { [key]: runStatus(r.name, run) }) },
      actions: [],
      ...(run.phase === 'Successful' ? { requeueMs: 0 } : {}),
    };
  return run.phase === 'Successful' ? undefined : { actions: [] };
}

// ---------------------------------------------------------------------------------------------
// Shared outcomes

/** What a run failure / user abort writes (user abort: status.abort was already set). */
function abortOutcome(c: BlueGreenCtx, message: string, failed: [RunKey, RunStatus][]): Outcome {
  const recorded: Partial<BlueGreenStatusBlock> = {};
  for (const [key, r] of failed) recorded[key] = r;
  const failedNames = new Set(failed.map(([, r]) => r.name));
  return {
    set: {
      abort: true,
      abortedAt: c.now.toISOString(),
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
      blueGreen: bgBlock(c, recorded),
    },
    actions: [
      ...terminateRuns(c).filter((a) => a.type !== 'TerminateAnalysisRun' || !failedNames.has(a.name)),
      ...failed.map(([, r]) =>
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
        `Rollout completed update to revision ${revision(c.cc)} (${c.obs.podHash}): ${reason}`,
      ),
    ],
  };
}

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
    const from = bg(c.prev).activeSelector;
    return {
      set: { ...p.set, blueGreen: bgBlock(c, { activeSelector: c.obs.podHash }) },
      actions: [
        switchTo('active', c.spec.activeService, c.obs.podHash),
        switchEvent(c.spec.activeService, from, c.obs.podHash),
        ...p.actions,
      ],
      requeueMs: 0,
    };
  },

  /** A new pod template: reset the rollout status (`resetRolloutStatus`). */
  revisionChanged: (c) => ({
    set: {
      currentPodHash: c.obs.podHash,
      abort: undefined,
      abortedAt: undefined,
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
      blueGreen: bgBlock(c, {
        prePromotionAnalysisRunStatus: undefined,
        postPromotionAnalysisRunStatus: undefined,
        scaleUpPreviewCheckPoint: undefined,
      }),
    },
    actions: [...terminateRuns(c), event('RolloutUpdated', `Rollout updated to revision ${revision(c.cc)}`)],
    requeueMs: 0,
  }),

  /** First call after `abort`: record abortedAt, terminate running analysis. */
  abortStarted: (c) => {
    if (c.prev.abortedAt) return undefined;
    return abortOutcome(c, `Rollout aborted update to revision ${revision(c.cc)}`, []);
  },

  /** The stable must be at full scale before active goes back to it. */
  abortRestoreStable: (c) => {
    const stable = findRS(c, c.prev.stableRS);
    if (!stable || stable.replicas === c.replicas) return undefined;
    return { actions: scaleTo(c, stable, c.replicas) };
  },

  /** Active back to the stable once it has an available pod (never to an empty ReplicaSet). */
  abortSwitchActive: (c) => {
    const stableHash = c.prev.stableRS as string;
    const from = activeHash(c);
    if (from === stableHash) return undefined;
    const stable = findRS(c, stableHash);
    if (!stable || stable.availableReplicas < 1) return { actions: [] };
    return {
      set: { blueGreen: bgBlock(c, { activeSelector: stableHash }) },
      actions: [
        switchTo('active', c.spec.activeService, stableHash),
        switchEvent(c.spec.activeService, from, stableHash),
      ],
      requeueMs: 0,
    };
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
      const delayS = c.spec.abortScaleDownDelaySeconds ?? rolloutDefaults.abortScaleDownDelaySeconds;
      if (delayS <= 0) continue;
      const due = Date.parse(c.prev.abortedAt ?? c.now.toISOString()) + delayS * 1000;
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
    if (!c.prev.abortedAt || c.prev.abort === true) return undefined;
    return {
      set: {
        abortedAt: undefined,
        pauseConditions: undefined,
        controllerPause: undefined,
        blueGreen: bgBlock(c, {
          prePromotionAnalysisRunStatus: undefined,
          postPromotionAnalysisRunStatus: undefined,
          scaleUpPreviewCheckPoint: undefined,
        }),
      },
      actions: [event('RolloutRetry', 'Rollout is retrying after abort')],
      requeueMs: 0,
      progressing: { status: 'True', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' },
    };
  },

  /** A pre- or post-promotion run Failed/Error: abort (§1.7). */
  analysisFailed: (c) => {
    const failed: [RunKey, RunStatus][] = [];
    for (const key of RUN_KEYS) {
      const r = recordedRun(c, key);
      if (!r) continue;
      const run = observedRun(c.cc, r);
      if (FAILED_RUN.has(run.phase)) failed.push([key, runStatus(r.name, run)]);
    }
    if (failed.length === 0) return undefined;
    const msg = failed[0]?.[1].message;
    return abortOutcome(
      c,
      `Rollout aborted update to revision ${revision(c.cc)}${msg ? `: ${msg}` : ''}`,
      failed,
    );
  },

  /** A run came back Inconclusive: pause with InconclusiveAnalysisRun (§1.7). */
  analysisInconclusive: (c) => {
    for (const key of RUN_KEYS) {
      const r = recordedRun(c, key);
      if (!r || r.status === 'Inconclusive') continue;
      const run = observedRun(c.cc, r);
      if (run.phase !== 'Inconclusive') continue;
      return {
        set: {
          pauseConditions: [
            ...(c.prev.pauseConditions ?? []),
            { reason: 'InconclusiveAnalysisRun', startTime: c.now.toISOString() },
          ],
          controllerPause: true,
          blueGreen: bgBlock(c, { [key]: runStatus(r.name, run) }),
        },
        actions: [event('RolloutPaused', 'Rollout is paused (InconclusiveAnalysisRun)')],
      };
    }
    return undefined;
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
    const active = findRS(c, activeHash(c));
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

  /** The new ReplicaSet is not yet at its size with every pod available: wait. */
  waitForReplicas: (c) => (saturated(newRS(c), desiredNew(c)) ? undefined : { actions: [] }),

  /** prePromotionAnalysis must be Successful before the pause and the switch. */
  prePromotionAnalysis: (c) => analysisGate(c, 'prePromotionAnalysisRunStatus'),

  /** autoPromotionEnabled false or autoPromotionSeconds: pause with BlueGreenPause (once per update). */
  blueGreenPause: (c) => {
    if (!needsPause(c) || hasPause(c.prev, 'BlueGreenPause')) return undefined;
    if (c.prev.controllerPause === true || bg(c.prev).scaleUpPreviewCheckPoint === true) return undefined;
    const ms = autoPromotionMs(c);
    return {
      set: {
        pauseConditions: [
          ...(c.prev.pauseConditions ?? []),
          { reason: 'BlueGreenPause', startTime: c.now.toISOString() },
        ],
        controllerPause: true,
      },
      actions: [event('RolloutPaused', 'Rollout is paused (BlueGreenPause)')],
      ...(ms !== undefined ? { requeueMs: ms } : {}),
    };
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
    const from = activeHash(c);
    if (from === c.obs.podHash) return undefined;
    if (!saturated(newRS(c), c.replicas)) return { actions: [] };
    const full = c.prev.promoteFull === true;
    const promote = full || !analysisSpec(c, 'postPromotionAnalysisRunStatus');
    const p = promote
      ? promotion(c, full ? 'Full promotion requested' : 'Completed blue-green update')
      : undefined;
    return {
      set: {
        controllerPause: undefined,
        ...p?.set,
        blueGreen: bgBlock(c, {
          activeSelector: c.obs.podHash,
          ...(promote ? { scaleUpPreviewCheckPoint: undefined } : {}),
        }),
      },
      actions: [
        switchTo('active', c.spec.activeService, c.obs.podHash),
        switchEvent(c.spec.activeService, from, c.obs.podHash),
        ...(p?.actions ?? []),
      ],
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
    const rs = newRS(c) ?? findRS(c, c.prev.stableRS);
    if (!rs) return { actions: createNew(c, c.replicas) };
    return rs.replicas === c.replicas ? undefined : { actions: scaleTo(c, rs, c.replicas) };
  },

  /** Completed but active elsewhere (back to the stable template mid-update): switch once saturated. */
  restoreActive: (c) => {
    const from = bg(c.prev).activeSelector;
    const stable = c.prev.stableRS as string;
    if (from === stable) return undefined;
    if (!saturated(findRS(c, stable), c.replicas)) return { actions: [] };
    return {
      set: { blueGreen: bgBlock(c, { activeSelector: stable }) },
      actions: [
        switchTo('active', c.spec.activeService, stable),
        switchEvent(c.spec.activeService, from, stable),
      ],
      requeueMs: 0,
    };
  },

  /** Old ReplicaSets are scaled down scaleDownDelaySeconds after the Completed condition turned True. */
  scaleDownOld: (c) => {
    const keep = new Set([c.prev.stableRS, bg(c.prev).activeSelector]);
    const old = allReplicaSets(c).filter((rs) => !keep.has(rs.hash) && rs.replicas > 0);
    if (old.length === 0) return undefined;
    const delayS = c.spec.scaleDownDelaySeconds ?? rolloutDefaults.scaleDownDelaySeconds;
    const completed = (c.prev.conditions ?? []).find((x) => x.type === 'Completed' && x.status === 'True');
    const since = completed ? Date.parse(completed.lastTransitionTime) : c.now.getTime();
    const due = since + delayS * 1000;
    if (c.now.getTime() < due) return { actions: [], requeueMs: due - c.now.getTime() };
    return { actions: old.flatMap((rs) => scaleTo(c, rs, 0)) };
  },

  steady: () => ({ actions: [] }),
} satisfies Record<string, Transition>;

export type BlueGreenTransitionName = keyof typeof BLUEGREEN_TRANSITIONS;

export const BLUEGREEN_TRANSITION_TABLE: Readonly<
  Record<BlueGreenStateName, readonly BlueGreenTransitionName[]>
> = {
  Initial: ['initialDeploy', 'initialWait', 'initialPromote'],
  NewRevision: ['revisionChanged'],
  Aborted: ['abortStarted', 'abortRestoreStable', 'abortSwitchActive', 'abortScaleDown', 'abortedHold'],
  Completed: ['retried', 'switchPreview', 'scaleStable', 'restoreActive', 'scaleDownOld', 'steady'],
  Paused: ['retried', 'analysisFailed', 'manualPause'],
  PromotingFull: [
    'retried',
    'fullPromotionStarted',
    'scaleReplicaSets',
    'switchPreview',
    'waitForReplicas',
    'switchActive',
    'promoted',
  ],
  PostPromotion: [
    'retried',
    'analysisFailed',
    'analysisInconclusive',
    'inconclusiveResumed',
    'pausedHold',
    'scaleReplicaSets',
    'waitForReplicas',
    'postPromotionAnalysis',
    'promoted',
  ],
  Preview: [
    'retried',
    'analysisFailed',
    'analysisInconclusive',
    'inconclusiveResumed',
    'pausedHold',
    'scaleReplicaSets',
    'switchPreview',
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
// Status: conditions, phase, message (one write per call)

function finish(c: BlueGreenCtx, transition: string, o: Outcome): BlueGreenResult {
  const nowIso = c.now.toISOString();
  const raw: Record<string, unknown> = { ...c.prev };
  for (const [k, v] of Object.entries(o.set ?? {})) {
    if (v === undefined) delete raw[k];
    else raw[k] = v;
  }
  const next = raw as Status;
  // blue-green has no steps (`promote` writes an index for canaries); promoteFull ends with promotion
  delete next.currentStepIndex;
  if (next.stableRS && next.stableRS === next.currentPodHash) delete next.promoteFull;
  if (next.blueGreen && Object.keys(next.blueGreen).length === 0) delete next.blueGreen;
  const generation = (c.rollout.metadata as { generation?: number } | undefined)?.generation;
  if (generation !== undefined) next.observedGeneration = String(generation);

  const prevConds = c.prev.conditions ?? [];
  const hash = next.currentPodHash ?? c.obs.podHash;
  const rs = `ReplicaSet "${rsName(c.cc, hash)}"`;
  const rev = revision(c.cc);
  const prevAbort = prevConds.find((x) => x.type === 'Progressing' && x.reason === 'RolloutAborted');
  const paused = c.rollout.spec.paused === true || (next.pauseConditions ?? []).length > 0;
  const active = next.blueGreen?.activeSelector;
  const fresh = newRS(c);
  const updated = fresh && fresh.hash === hash ? fresh.replicas : 0;
  const available = fresh && fresh.hash === hash ? fresh.availableReplicas : 0;
  const fullyPromoted = !!next.stableRS && next.stableRS === hash && active === hash;
  const updatedAvailable = updated >= c.replicas && available >= c.replicas;

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

  // Available: the active ReplicaSet is saturated (blue-green branch of calculateRolloutConditions).
  const activeRS = findRS(c, active);
  const isAvailable = !!activeRS && activeRS.availableReplicas >= c.replicas;

  // Phase (CalculateRolloutPhase, §1.8).
  let phase: NonNullable<Status['phase']>;
  let message = '';
  if (progressing.reason === 'RolloutAborted') {
    phase = 'Degraded';
    message = `RolloutAborted: ${progressing.message}`;
  } else if (paused) {
    phase = 'Paused';
    message = c.rollout.spec.paused === true ? 'manually paused' : (next.pauseConditions?.[0]?.reason ?? '');
  } else if (updated < c.replicas) {
    phase = 'Progressing';
    message = 'more replicas need to be updated';
  } else if (available < updated) {
    phase = 'Progressing';
    message = 'updated replicas are still becoming available';
  } else if (active !== hash) {
    phase = 'Progressing';
    message = 'active service cutover pending';
  } else if (next.stableRS !== hash) {
    phase = 'Progressing';
    message = 'waiting for analysis to complete';
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
export function blueGreenContext(rollout: Rollout, observed: CanaryObservation, now: Date): BlueGreenCtx {
  const cc = canaryContext(rollout, observed, now);
  const spec = cc.rollout.spec.strategy?.blueGreen;
  if (!spec) throw new Error(`Rollout ${cc.name} has no blueGreen strategy`);
  return {
    cc,
    rollout: cc.rollout,
    spec,
    name: cc.name,
    prev: cc.prev,
    obs: observed,
    now,
    state: stateOf(cc.rollout, cc.prev, observed),
    replicas: cc.replicas,
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
  const c = blueGreenContext(rollout, observed, now);
  for (const name of BLUEGREEN_TRANSITION_TABLE[c.state]) {
    const o = (BLUEGREEN_TRANSITIONS[name] as Transition)(c);
    if (o) return finish(c, name, o);
  }
  return finish(c, 'hold', { actions: [] });
}
