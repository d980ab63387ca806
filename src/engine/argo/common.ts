/**
 * What the two pure Argo Rollouts machines share: the canary machine (machine.ts) and the blue/green
 * machine (bluegreen.ts) use these for the parts of a reconcile that are the same for both strategies
 * upstream (`rollout/sync.go`, `utils/conditions`, `rolloututil.CalculateRolloutPhase`).
 *
 * - The call context both contexts extend (`ArgoCall`), the outcome a transition returns (`Outcome`),
 *   the states both derive first (`commonState`) and the table runner (`runTable`).
 * - Observed ReplicaSets: every one once, pod counts, status.replicas & co (`replicaStatus`),
 *   status.selector (`formatLabelSelector`).
 * - AnalysisRuns: names with Argo's collision suffix, observed phases, requests, termination.
 * - Delays: the scale-down delay after completion and the abort delay (`dueAt`).
 * - Outcomes written the same way by both: abort, retry, a controller pause, an Inconclusive pause;
 *   the progress-deadline abort (`deadlineAbortMessage`).
 * - One status per call (`nextStatus`, then `writeStatus`): the Progressing condition with the
 *   progress deadline, the phase, the standard conditions and the requeue with its safety nets.
 *
 * Pure like the machines: no I/O, no clock.
 */
import type { Rollout, RolloutAnalysis, RolloutStatus } from '../../api/argo/rollout.js';
import { rolloutDefaults } from '../../api/argo/rollout-rules.js';
import type {
  AnalysisRunRequest,
  CanaryAction,
  CanaryObservation,
  ObservedAnalysisRun,
  ObservedReplicaSet,
} from './types.js';

export type Status = RolloutStatus;
export type Condition = NonNullable<Status['conditions']>[number];
/** A recorded AnalysisRun (status.canary.* and status.blueGreen.* have the same shape). */
export type RunStatus = NonNullable<NonNullable<Status['canary']>['currentStepAnalysisRunStatus']>;
export type ConditionText = { status: string; reason: string; message: string };

export const COMPLETED_RUN = new Set(['Successful', 'Failed', 'Error', 'Inconclusive']);
export const FAILED_RUN = new Set(['Failed', 'Error']);

// ---------------------------------------------------------------------------------------------
// Call context, outcomes, states, table runner

/** What every call of either machine knows (CanaryCtx and BlueGreenCtx have these fields). */
export interface ArgoCall {
  /** The Rollout with Argo's defaults applied. */
  readonly rollout: Rollout;
  readonly name: string;
  readonly prev: Status;
  readonly obs: CanaryObservation;
  readonly now: Date;
  readonly replicas: number;
}

/** What a transition returns when it fires. */
export interface Outcome<A> {
  /** Status fields to write; an explicit `undefined` removes the field. */
  set?: Partial<Status>;
  actions: A[];
  /** Requeue after this many ms. */
  requeueMs?: number;
  /** Override the Progressing condition. */
  progressing?: ConditionText;
  /** Write the Completed condition afresh (lastUpdateTime now) even when it does not change. */
  recomplete?: boolean;
}

/**
 * The states both machines derive first, in this order: Initial (no stableRS) > NewRevision (the
 * observed pod hash differs from status.currentPodHash, or `changed`) > Aborted (status.abort) >
 * Completed (currentPodHash = stableRS) > Paused (spec.paused). Undefined: the strategy decides.
 */
export function commonState(
  rollout: Rollout,
  status: Status,
  obs: CanaryObservation,
  changed = false,
): 'Initial' | 'NewRevision' | 'Aborted' | 'Completed' | 'Paused' | undefined {
  if (!status.stableRS) return 'Initial';
  if (status.currentPodHash !== obs.podHash || changed) return 'NewRevision';
  if (status.abort === true) return 'Aborted';
  if (obs.podHash === status.stableRS) return 'Completed';
  if (rollout.spec.paused === true) return 'Paused';
  return undefined;
}

/** Run the state's ORDERED transitions; the first that returns an outcome fires (else `hold`). */
export function runTable<S extends string, N extends string, C extends { readonly state: S }, A, R>(
  table: Readonly<Record<S, readonly N[]>>,
  transitions: Readonly<Record<N, (c: C) => Outcome<A> | undefined>>,
  c: C,
  finish: (c: C, transition: string, o: Outcome<A>) => R,
): R {
  for (const name of table[c.state]) {
    const o = transitions[name](c);
    if (o) return finish(c, name, o);
  }
  return finish(c, 'hold', { actions: [] });
}

/** `base` with `patch` merged: undefined values remove keys (status blocks and the status itself). */
export function withPatch<T extends object>(base: T | undefined, patch: object | undefined): T {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as T;
}

export const hasPause = (s: Status, reason: string): boolean =>
  (s.pauseConditions ?? []).some((p) => p.reason === reason);

// ---------------------------------------------------------------------------------------------
// Names and events

export const revision = (c: ArgoCall): number => c.obs.revision ?? 1;
export const rsName = (c: ArgoCall, hash: string): string => `${c.name}-${hash}`;

export const event = (reason: string, message: string, warning = false) => ({
  type: 'EmitEvent' as const,
  eventType: warning ? ('Warning' as const) : ('Normal' as const),
  reason,
  message,
});

/** The NewReplicaSetCreated event of a CreateReplicaSet. */
export const createdEvent = (c: ArgoCall, hash: string, replicas: number) =>
  event(
    'NewReplicaSetCreated',
    `Created ReplicaSet ${rsName(c, hash)} (revision ${revision(c)}) with size ${replicas}`,
  );

/** `Rollout aborted update to revision N` with the reason, as Argo's RolloutAbortedMessage. */
export const abortMessage = (c: ArgoCall, detail?: string): string =>
  `Rollout aborted update to revision ${revision(c)}${detail ? `: ${detail}` : ''}`;

// ---------------------------------------------------------------------------------------------
// Observed ReplicaSets and the fields Argo recomputes every pass (`calculateBaseStatus`)

/** Every observed ReplicaSet once: stable, new, then older (stable and new are one when equal). */
export function allReplicaSets(c: { readonly obs: CanaryObservation }): ObservedReplicaSet[] {
  const { stable, canary, older } = c.obs.replicaSets;
  const out: ObservedReplicaSet[] = [];
  for (const rs of [stable, canary, ...(older ?? [])])
    if (rs && !out.some((x) => x.hash === rs.hash)) out.push(rs);
  return out;
}

export const findReplicaSet = (
  c: { readonly obs: CanaryObservation },
  hash: string | undefined,
): ObservedReplicaSet | undefined =>
  hash === undefined ? undefined : allReplicaSets(c).find((rs) => rs.hash === hash);

/** The ReplicaSet of the current template (the observed `canary` role with `podHash`). */
export const currentReplicaSet = (c: { readonly obs: CanaryObservation }): ObservedReplicaSet | undefined => {
  const rs = c.obs.replicaSets.canary;
  return rs && rs.hash === c.obs.podHash ? rs : undefined;
};

/** Pods that exist (status.replicas of the ReplicaSet). */
export const podsOf = (rs: ObservedReplicaSet): number => rs.currentReplicas ?? rs.replicas;
export const sumOf = (xs: readonly ObservedReplicaSet[], f: (rs: ObservedReplicaSet) => number): number =>
  xs.reduce((n, rs) => n + f(rs), 0);

export interface ReplicaStatus {
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
}

/**
 * status.replicas / readyReplicas / availableReplicas over every ReplicaSet, updatedReplicas of the
 * ReplicaSet of the current template (pods that exist, not spec counts).
 */
export function replicaStatus(c: { readonly obs: CanaryObservation }): ReplicaStatus {
  const all = allReplicaSets(c);
  const current = currentReplicaSet(c);
  return {
    replicas: sumOf(all, podsOf),
    updatedReplicas: current ? podsOf(current) : 0,
    readyReplicas: sumOf(all, (rs) => rs.readyReplicas ?? rs.availableReplicas),
    availableReplicas: sumOf(all, (rs) => rs.availableReplicas),
  };
}

type LabelSelector = NonNullable<Rollout['spec']['selector']>;

/**
 * status.selector (`metav1.FormatLabelSelector`): requirements sorted by key, `k=v` for matchLabels,
 * `k in (a,b)`, `k notin (a,b)`, `k`, `!k` for expressions (values sorted); `<none>` when empty.
 */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  const reqs: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {}))
    reqs.push({ key, text: `${key}=${value}` });
  for (const e of selector?.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    const text =
      e.operator === 'In'
        ? `${e.key} in (${values})`
        : e.operator === 'NotIn'
          ? `${e.key} notin (${values})`
          : e.operator === 'Exists'
            ? e.key
            : e.operator === 'DoesNotExist'
              ? `!${e.key}`
              : `${e.key} ${e.operator} (${values})`;
    reqs.push({ key: e.key, text });
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const out = reqs.map((r) => r.text).join(',');
  return out === '' ? '<none>' : out;
}

/** Creation time in ms; a ReplicaSet without one counts as the oldest. */
export const createdMs = (rs: ObservedReplicaSet): number => {
  const t = Date.parse(rs.createdAt ?? '');
  return Number.isFinite(t) ? t : Number.NEGATIVE_INFINITY;
};

/**
 * revisionHistoryLimit clean-up (Argo `cleanupRollouts`): of the old ReplicaSets (neither current nor
 * stable), the oldest beyond the limit are deleted, but only those with no pods left (spec and
 * observed replicas 0); the others wait for a later call. Undefined when there is nothing to delete.
 */
export function cleanupHistory(c: ArgoCall): Outcome<CanaryAction> | undefined {
  const older = [...(c.obs.replicaSets.older ?? [])].sort((a, b) => createdMs(a) - createdMs(b));
  const limit = c.rollout.spec.revisionHistoryLimit ?? rolloutDefaults.revisionHistoryLimit;
  const excess = older.slice(0, Math.max(0, older.length - limit));
  const empty = excess.filter((rs) => rs.replicas === 0 && podsOf(rs) === 0);
  if (empty.length === 0) return undefined;
  return {
    actions: empty.flatMap((rs) => [
      { type: 'DeleteReplicaSet', hash: rs.hash } as CanaryAction,
      event('ReplicaSetDeleted', `Deleted ReplicaSet ${rsName(c, rs.hash)} (revisionHistoryLimit ${limit})`),
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// Delays

/** When `delayS` seconds after `sinceIso` (or after now, without one) are over, in ms. */
export const dueAt = (c: ArgoCall, sinceIso: string | undefined, delayS: number): number =>
  Date.parse(sinceIso ?? c.now.toISOString()) + delayS * 1000;

/** The Completed condition while it is True (the base of the scale-down delay after promotion). */
export const completedCondition = (s: Status): Condition | undefined =>
  (s.conditions ?? []).find((x) => x.type === 'Completed' && x.status === 'True');

/** abortScaleDownDelaySeconds of either strategy (default 30; 0 keeps the new ReplicaSet up). */
export const abortDelaySeconds = (c: ArgoCall): number => {
  const s = c.rollout.spec.strategy;
  return (
    (s?.canary ?? s?.blueGreen)?.abortScaleDownDelaySeconds ?? rolloutDefaults.abortScaleDownDelaySeconds
  );
};

// ---------------------------------------------------------------------------------------------
// AnalysisRuns

export const runMatches = (name: string, base: string): boolean =>
  name === base || (/^\.\d+$/.test(name.slice(base.length)) && name.startsWith(base));

/** A run name not taken by an observed run: `base`, `base.1`, ... (Argo's collision counter). */
export function freeRunName(c: ArgoCall, base: string): string {
  const taken = c.obs.analysisRuns ?? {};
  if (!(base in taken)) return base;
  for (let i = 1; ; i++) if (!(`${base}.${i}` in taken)) return `${base}.${i}`;
}

/** The run's observed phase (the recorded one until the adapter reports it). */
export function observedRun(c: ArgoCall, r: RunStatus): ObservedAnalysisRun {
  return c.obs.analysisRuns?.[r.name] ?? { phase: r.status, ...(r.message ? { message: r.message } : {}) };
}

export function runStatus(name: string, run: ObservedAnalysisRun): RunStatus {
  return { name, status: run.phase, ...(run.message ? { message: run.message } : {}) };
}

/** Resolve `podTemplateHashValue` args here; other valueFrom refs are left to the adapter. */
export function requestFor(s: Status, a: RolloutAnalysis): AnalysisRunRequest {
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

/** Terminate each of the recorded runs that has not completed (of this revision or not). */
export const terminateRuns = (c: ArgoCall, runs: readonly (RunStatus | undefined)[]) =>
  runs.flatMap((r) =>
    r && !COMPLETED_RUN.has(observedRun(c, r).phase)
      ? [{ type: 'TerminateAnalysisRun' as const, name: r.name }]
      : [],
  );

/** The runs that are observed Failed or Error, as they should be recorded. */
export const failedRuns = (c: ArgoCall, runs: readonly (RunStatus | undefined)[]): RunStatus[] =>
  runs.flatMap((r) => {
    const run = r && observedRun(c, r);
    return r && run && FAILED_RUN.has(run.phase) ? [runStatus(r.name, run)] : [];
  });

// ---------------------------------------------------------------------------------------------
// Outcomes both machines write the same way

type RunAction = { type: 'TerminateAnalysisRun'; name: string } | ReturnType<typeof event>;

/**
 * What a run failure, a progress deadline or a user abort writes (user abort: status.abort was already
 * set): abortedAt, pauses and promoteFull cleared, running runs terminated (not the failed ones), a
 * Warning per failed run, `extra` (e.g. route removal), then RolloutAborted. The machine adds its own
 * status block (the failed runs) and fields.
 */
export function abortOutcome<A = never>(
  c: ArgoCall,
  message: string,
  failed: readonly RunStatus[],
  running: readonly (RunStatus | undefined)[],
  extra: readonly A[] = [],
): Outcome<A | RunAction> & { set: Partial<Status> } {
  const failedNames = new Set(failed.map((r) => r.name));
  return {
    set: {
      abort: true,
      abortedAt: c.now.toISOString(),
      pauseConditions: undefined,
      controllerPause: undefined,
      promoteFull: undefined,
    },
    actions: [
      ...terminateRuns(c, running).filter((a) => !failedNames.has(a.name)),
      ...failed.map((r) =>
        // Argo records "AnalysisRun" + phase, so notifications can tell on-analysis-run-error apart.
        event(
          r.status === 'Error' ? 'AnalysisRunError' : 'AnalysisRunFailed',
          `Analysis Run '${r.name}' ${r.status === 'Error' ? 'errored' : 'failed'}${r.message ? `: ${r.message}` : ''}`,
          true,
        ),
      ),
      ...extra,
      event('RolloutAborted', message, true),
    ],
    requeueMs: 0,
    progressing: { status: 'False', reason: 'RolloutAborted', message },
  };
}

/**
 * `retry`: abort went false after an abort; abortedAt and pauses are forgotten (the machine forgets
 * its runs), Progressing says RolloutRetry. Undefined when there is nothing to retry.
 */
export function retriedOutcome(c: ArgoCall): (Outcome<RunAction> & { set: Partial<Status> }) | undefined {
  if (!c.prev.abortedAt || c.prev.abort === true) return undefined;
  return {
    set: { abortedAt: undefined, pauseConditions: undefined, controllerPause: undefined },
    actions: [event('RolloutRetry', 'Rollout is retrying after abort')],
    requeueMs: 0,
    progressing: { status: 'True', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' },
  };
}

/** The controller pauses the rollout for `reason` (`AddPauseCondition`) and says so. */
export const controllerPause = (c: ArgoCall, reason: string) => ({
  set: {
    pauseConditions: [...(c.prev.pauseConditions ?? []), { reason, startTime: c.now.toISOString() }],
    controllerPause: true,
  } satisfies Partial<Status>,
  actions: [event('RolloutPaused', `Rollout is paused (${reason})`)],
});

/**
 * The first recorded run (by its status key) that is now observed Inconclusive and not yet recorded
 * so: pause with InconclusiveAnalysisRun (§1.7). The machine records `run` under `key`.
 */
export function inconclusivePause<K extends string>(
  c: ArgoCall,
  runs: readonly (readonly [K, RunStatus | undefined])[],
): { key: K; run: RunStatus; set: Partial<Status>; actions: RunAction[] } | undefined {
  for (const [key, r] of runs) {
    if (!r || r.status === 'Inconclusive') continue;
    const run = observedRun(c, r);
    if (run.phase !== 'Inconclusive') continue;
    return { key, run: runStatus(r.name, run), ...controllerPause(c, 'InconclusiveAnalysisRun') };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Progress deadline (`calculateRolloutConditions`, `RolloutProgressing`, `RolloutTimedOut`)

/** Progressing reasons that keep their lastUpdateTime while nothing moves (the deadline's base). */
const TRACKING_REASONS = new Set([
  'ReplicaSetUpdated',
  'RolloutRetry',
  'RolloutResumed',
  'NewReplicaSetCreated',
  'FoundNewReplicaSet',
  'ReplicaSetNotAvailable',
  'ProgressDeadlineExceeded',
]);

export const deadlineMs = (c: ArgoCall): number =>
  (c.rollout.spec.progressDeadlineSeconds ?? rolloutDefaults.progressDeadlineSeconds) * 1000;

/** The deadline never counts while aborted or paused (spec.paused or any pause condition). */
export const deadlineHeld = (c: ArgoCall, s: Status): boolean =>
  s.abort === true || c.rollout.spec.paused === true || (s.pauseConditions ?? []).length > 0;

/**
 * `RolloutProgressing`: pods were updated, old pods went away, pods became ready or available, the
 * stable changed; canary: the step index or the steps changed; blue-green: the active or preview
 * selector changed.
 */
export function madeProgress(prev: Status, next: Status): boolean {
  const z = (v: number | undefined) => v ?? 0;
  const prevIndex = prev.currentStepIndex;
  const nextIndex = next.currentStepIndex;
  return (
    z(next.updatedReplicas) !== z(prev.updatedReplicas) ||
    z(next.replicas) - z(next.updatedReplicas) < z(prev.replicas) - z(prev.updatedReplicas) ||
    z(next.readyReplicas) > z(prev.readyReplicas) ||
    z(next.availableReplicas) > z(prev.availableReplicas) ||
    (next.stableRS ?? '') !== (prev.stableRS ?? '') ||
    (prevIndex !== undefined && nextIndex !== undefined && prevIndex !== nextIndex) ||
    (next.currentStepHash ?? '') !== (prev.currentStepHash ?? '') ||
    (next.blueGreen?.activeSelector ?? '') !== (prev.blueGreen?.activeSelector ?? '') ||
    (next.blueGreen?.previewSelector ?? '') !== (prev.blueGreen?.previewSelector ?? '')
  );
}

/**
 * `RolloutTimedOut`: the Progressing condition is older than progressDeadlineSeconds (or already says
 * so). Never from an abort or a pause (a resume restarts the clock).
 */
export function timedOut(c: ArgoCall): boolean {
  const p = (c.prev.conditions ?? []).find((x) => x.type === 'Progressing');
  if (!p || p.reason === 'RolloutAborted' || p.reason === 'RolloutPaused') return false;
  if (p.reason === 'ProgressDeadlineExceeded') return true;
  return Date.parse(p.lastUpdateTime) + deadlineMs(c) < c.now.getTime();
}

export const timeoutMessage = (c: ArgoCall, hash: string): string =>
  `ReplicaSet "${rsName(c, hash)}" has timed out progressing.`;

/**
 * spec.progressDeadlineAbort: the deadline `applies` to the previous status, the Progressing condition
 * timed out and nothing moved this call (`recomputed`: the fields the machine recomputes every pass):
 * the abort message, else undefined.
 */
export function deadlineAbortMessage(
  c: ArgoCall,
  applies: (s: Status) => boolean,
  recomputed: () => Partial<Status>,
): string | undefined {
  if (c.rollout.spec.progressDeadlineAbort !== true || !applies(c.prev) || !timedOut(c)) return undefined;
  if (madeProgress(c.prev, { ...c.prev, ...recomputed() })) return undefined;
  return abortMessage(c, timeoutMessage(c, c.prev.currentPodHash ?? c.obs.podHash));
}

/**
 * The Progressing condition (`calculateRolloutConditions`): `override` (a transition's), aborted,
 * paused, `healthy`, progress (`touch`: lastUpdateTime moves, the deadline restarts), timed out while
 * the `deadline` applies, resumed, else the tracking reason it had.
 */
function progressingCondition(
  c: ArgoCall,
  next: Status,
  x: { override?: ConditionText; paused: boolean; healthy: boolean; deadline: boolean },
): { text: ConditionText; touch: boolean } {
  const prevConds = c.prev.conditions ?? [];
  const hash = next.currentPodHash ?? c.obs.podHash;
  const rs = `ReplicaSet "${rsName(c, hash)}"`;
  const prevProgressing = prevConds.find((p) => p.type === 'Progressing');
  const text = (status: string, reason: string, message: string, touch = false) => ({
    text: { status, reason, message },
    touch,
  });
  if (x.override) return { text: x.override, touch: false };
  if (next.abort === true) {
    const prevAbort = prevProgressing?.reason === 'RolloutAborted' ? prevProgressing : undefined;
    return text('False', 'RolloutAborted', prevAbort?.message ?? abortMessage(c));
  }
  if (x.paused) return text('Unknown', 'RolloutPaused', 'Rollout is paused');
  if (x.healthy) return text('True', 'NewReplicaSetAvailable', `${rs} has successfully progressed.`);
  if (madeProgress(c.prev, next)) return text('True', 'ReplicaSetUpdated', `${rs} is progressing.`, true);
  if (x.deadline && timedOut(c)) return text('False', 'ProgressDeadlineExceeded', timeoutMessage(c, hash));
  if (prevProgressing?.reason === 'RolloutPaused')
    return text('Unknown', 'RolloutResumed', 'Rollout is resumed');
  if (prevProgressing && TRACKING_REASONS.has(prevProgressing.reason))
    return text(prevProgressing.status, prevProgressing.reason, prevProgressing.message);
  return text('True', 'ReplicaSetUpdated', `${rs} is progressing.`);
}

/**
 * The requeue at the progress deadline (`requeueStuckRollout`): its lastUpdateTime plus the deadline
 * plus a second (Argo's margin against clock skew); never 0, so an adapter that calls at once does not
 * spin at the same instant.
 */
function deadlineNet(c: ArgoCall, progressing: Condition, applies: boolean): number | undefined {
  if (!applies || progressing.reason === 'ProgressDeadlineExceeded') return undefined;
  const after = Date.parse(progressing.lastUpdateTime) + deadlineMs(c) - c.now.getTime();
  return Math.max(0, after) + 1000;
}

// ---------------------------------------------------------------------------------------------
// Phase, conditions, requeue (one status per call)

/**
 * `CalculateRolloutPhase` (§1.8): Degraded (RolloutAborted, ProgressDeadlineExceeded) > Paused (spec
 * or pause conditions) > the first `pending` reason that holds (Progressing with its message) >
 * Healthy.
 */
function rolloutPhase(
  c: ArgoCall,
  next: Status,
  progressing: ConditionText,
  paused: boolean,
  pending: readonly (readonly [boolean, string])[],
): { phase: NonNullable<Status['phase']>; message: string } {
  if (progressing.reason === 'RolloutAborted' || progressing.reason === 'ProgressDeadlineExceeded')
    return { phase: 'Degraded', message: `${progressing.reason}: ${progressing.message}` };
  if (paused)
    return {
      phase: 'Paused',
      message: c.rollout.spec.paused === true ? 'manually paused' : (next.pauseConditions?.[0]?.reason ?? ''),
    };
  const reason = pending.find(([holds]) => holds);
  return reason ? { phase: 'Progressing', message: reason[1] } : { phase: 'Healthy', message: '' };
}

export function setCondition(
  prev: readonly Condition[],
  type: string,
  status: string,
  reason: string,
  message: string,
  nowIso: string,
  /** Write a fresh lastUpdateTime even when nothing changed (the Progressing condition on progress). */
  touch = false,
): Condition {
  const old = prev.find((x) => x.type === type);
  if (!touch && old && old.status === status && old.reason === reason && old.message === message) return old;
  return {
    type,
    status,
    reason,
    message,
    lastUpdateTime: nowIso,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : nowIso,
  };
}

/**
 * Progressing, Available, Paused (True while paused, False once resumed), Completed and Healthy with
 * Argo's reasons and messages; other conditions are kept. Progressing comes first.
 */
function rolloutConditions(
  c: ArgoCall,
  x: {
    progressing: { text: ConditionText; touch: boolean };
    available: boolean;
    paused: boolean;
    completed: boolean;
    healthy: boolean;
    recomplete?: boolean;
  },
): Condition[] {
  const prev = c.prev.conditions ?? [];
  const nowIso = c.now.toISOString();
  const rev = revision(c);
  const p = x.progressing.text;
  /** A True/False condition: [reason, message] when true and when false. */
  const either = (type: string, on: boolean, yes: [string, string], no: [string, string], touch = false) =>
    setCondition(prev, type, on ? 'True' : 'False', ...(on ? yes : no), nowIso, touch);
  const conds: Condition[] = [
    setCondition(prev, 'Progressing', p.status, p.reason, p.message, nowIso, x.progressing.touch),
    either(
      'Available',
      x.available,
      ['AvailableReason', 'Rollout has minimum availability'],
      ['AvailableReason', 'Rollout does not have minimum availability'],
    ),
  ];
  if (x.paused || prev.some((y) => y.type === 'Paused'))
    conds.push(
      either(
        'Paused',
        x.paused,
        ['RolloutPaused', 'Rollout is paused'],
        ['RolloutResumed', 'Rollout is resumed'],
      ),
    );
  conds.push(
    either(
      'Completed',
      x.completed,
      ['RolloutCompleted', `Rollout completed update to revision ${rev}`],
      ['RolloutNotCompleted', `Rollout not completed, started update to revision ${rev}`],
      x.recomplete,
    ),
    either(
      'Healthy',
      x.healthy,
      ['RolloutHealthy', 'Rollout is healthy'],
      ['RolloutHealthy', 'Rollout is not healthy'],
    ),
  );
  for (const y of prev) if (!conds.some((z) => z.type === y.type)) conds.push(y);
  return conds;
}

/**
 * The actions with the RequeueAfter: what the transition asked for, and the safety `nets` (due times
 * of pending work). The nets apply when the call asked for nothing else: after an action the adapter
 * calls again when the world reports back.
 */
function withRequeue<A extends { type: string }>(
  actions: readonly A[],
  requeueMs: number | undefined,
  nets: readonly number[] = [],
): (A | { type: 'RequeueAfter'; ms: number })[] {
  const acted = actions.some((a) => a.type !== 'EmitEvent');
  let ms = requeueMs;
  if (ms !== undefined) ms = Math.min(ms, ...nets);
  else if (!acted && nets.length > 0) ms = Math.min(...nets);
  return ms === undefined
    ? [...actions]
    : [...actions, { type: 'RequeueAfter', ms: Math.max(0, Math.ceil(ms)) }];
}

/**
 * The status after a transition's `set`, with observedGeneration (the machine then recomputes its
 * replica fields and calls `writeStatus`).
 */
export function nextStatus(c: ArgoCall, set: Partial<Status> | undefined): Status {
  const next = withPatch<Status>(c.prev, set);
  const generation = (c.rollout.metadata as { generation?: number } | undefined)?.generation;
  if (generation !== undefined) next.observedGeneration = String(generation);
  return next;
}

/**
 * What both machines write last in every call (`calculateRolloutConditions`,
 * `CalculateRolloutPhase`, `requeueStuckRollout`): the Progressing condition with the progress
 * deadline, the phase and message, the standard conditions into `next`; returns the actions with the
 * RequeueAfter (the transition's, or the earliest of `nets` and the deadline).
 */
export function writeStatus<A extends { type: string }>(
  c: ArgoCall,
  next: Status,
  o: Outcome<A>,
  x: {
    paused: boolean;
    /** The rollout is done: Progressing says NewReplicaSetAvailable. */
    healthy: boolean;
    /** The Healthy condition (default: the phase is Healthy). */
    healthyCondition?: boolean;
    completed: boolean;
    available: boolean;
    /** The progress deadline counts (`next`'s state). */
    deadline: boolean;
    /** The strategy's reasons for phase Progressing, in order. */
    pending: readonly (readonly [boolean, string])[];
    /** Due times (ms from now) of pending work that needs a call. */
    nets?: readonly number[];
  },
): (A | { type: 'RequeueAfter'; ms: number })[] {
  const progressing = progressingCondition(c, next, {
    override: o.progressing,
    paused: x.paused,
    healthy: x.healthy,
    deadline: x.deadline,
  });
  const { phase, message } = rolloutPhase(c, next, progressing.text, x.paused, x.pending);
  const conditions = rolloutConditions(c, {
    progressing,
    available: x.available,
    paused: x.paused,
    completed: x.completed,
    healthy: x.healthyCondition ?? phase === 'Healthy',
    recomplete: o.recomplete,
  });
  next.conditions = conditions;
  next.phase = phase;
  next.message = message;
  const net = deadlineNet(c, conditions[0] as Condition, x.deadline);
  return withRequeue(o.actions, o.requeueMs, [...(x.nets ?? []), ...(net === undefined ? [] : [net])]);
}
