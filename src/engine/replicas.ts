/**
 * Canary replica math, as Argo Rollouts v1.9 does it (`utils/replicaset/canary.go`,
 * `resolveFenceposts` in `utils/replicaset/replicaset.go`, `utils/defaults`, `utils/weightutil`).
 *
 * Pure: the counts one reconcile pass writes to the canary and stable ReplicaSets, from the Rollout
 * (spec + status) and what the ReplicaSets currently ask for and have available. No I/O, no clock.
 *
 * Go does this arithmetic on int32 and float64; the comments below say where that matters.
 */

/** Kubernetes IntOrString: `1` is a count, `"25%"` a percentage. */
export type IntOrPercent = number | string;

export interface SetCanaryScaleInput {
  replicas?: number;
  weight?: number;
  matchTrafficWeight?: boolean;
}

export interface CanaryStepInput {
  setWeight?: number;
  setCanaryScale?: SetCanaryScaleInput;
  [other: string]: unknown;
}

export interface CanaryStrategyInput {
  steps?: CanaryStepInput[];
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  /** Present (even `{}`) means a traffic router is in charge: Argo only checks the pointer. */
  trafficRouting?: { maxTrafficWeight?: number; [router: string]: unknown } | null;
  dynamicStableScale?: boolean;
  minPodsPerReplicaSet?: number;
  abortScaleDownDelaySeconds?: number;
  [other: string]: unknown;
}

export interface RolloutInput {
  spec?: {
    replicas?: number;
    strategy?: { canary?: CanaryStrategyInput; [other: string]: unknown };
    [other: string]: unknown;
  };
  status?: {
    currentStepIndex?: number;
    abort?: boolean;
    promoteFull?: boolean;
    currentPodHash?: string;
    stableRS?: string;
    canary?: {
      weights?: { canary?: { weight?: number }; stable?: { weight?: number } } | null;
      [other: string]: unknown;
    };
    [other: string]: unknown;
  };
  [other: string]: unknown;
}

/** One ReplicaSet as the replica math sees it. */
export interface ReplicaSetCounts {
  /** The ReplicaSet's spec.replicas. */
  replicas: number;
  /** status.availableReplicas (default 0). */
  availableReplicas?: number;
  /** Optional identity (name or pod-template hash): a canary and stable with the same name are one RS. */
  name?: string;
}

export interface ReplicaSetsInput {
  stable?: ReplicaSetCounts | null;
  canary?: ReplicaSetCounts | null;
  /** ReplicaSets of older revisions, neither canary nor stable. */
  older?: ReplicaSetCounts[];
}

export interface CanaryReplicaCounts {
  canary: number;
  stable: number;
}

/** Argo's default for both maxSurge and maxUnavailable: the string "25", read as a percentage. */
const DEFAULT_SURGE_OR_UNAVAILABLE = '25';

// ---------------------------------------------------------------------------------------------
// Reading the input

function int(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : fallback;
}

function canaryOf(rollout: RolloutInput): CanaryStrategyInput | undefined {
  const c = rollout.spec?.strategy?.canary;
  return c !== null && typeof c === 'object' ? c : undefined;
}

function stepsOf(rollout: RolloutInput): CanaryStepInput[] {
  const steps = canaryOf(rollout)?.steps;
  return Array.isArray(steps) ? steps : [];
}

/** spec.replicas, default 1 (Argo writes the default back into the spec). */
export function specReplicas(rollout: RolloutInput): number {
  return int(rollout.spec?.replicas, 1);
}

/** Argo asks only whether `trafficRouting` is set, not which router it names. */
export function isTrafficRouted(rollout: RolloutInput): boolean {
  const tr = canaryOf(rollout)?.trafficRouting;
  return tr !== null && typeof tr === 'object';
}

/** The scale setWeight is written in: `trafficRouting.maxTrafficWeight`, default 100. */
export function maxTrafficWeight(rollout: RolloutInput): number {
  const tr = canaryOf(rollout)?.trafficRouting;
  return isTrafficRouted(rollout) ? int(tr?.maxTrafficWeight, 100) : 100;
}

function available(rs: ReplicaSetCounts): number {
  return int(rs.availableReplicas, 0);
}

function specOf(rs: ReplicaSetCounts): number {
  return int(rs.replicas, 0);
}

/** Go adds and multiplies these counts as int32; wrap the same way so huge inputs agree too. */
function i32(v: number): number {
  return v | 0;
}

function sumSpec(sets: readonly (ReplicaSetCounts | undefined)[]): number {
  let total = 0;
  for (const rs of sets) if (rs) total = i32(total + specOf(rs));
  return total;
}

// ---------------------------------------------------------------------------------------------
// maxSurge / maxUnavailable

/**
 * Resolves one IntOrString against `total`. Argo still uses the deprecated
 * `intstr.GetValueFromIntOrPercent`, which strips every `%` and reads any string as a percentage;
 * that is why the default "25" means 25%. Returns undefined where Go returns an error.
 */
function resolveIntOrPercent(v: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const digits = v.replaceAll('%', '');
  if (!/^[+-]?\d+$/.test(digits)) return undefined; // strconv.Atoi's grammar
  const percent = Number.parseInt(digits, 10);
  const scaled = (percent * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/**
 * maxSurge and maxUnavailable as Argo resolves them against spec.replicas (`resolveFenceposts`,
 * `MaxSurge`, `MaxUnavailable`): surge rounds up, unavailable rounds down; if both come out 0,
 * unavailable becomes 1 so the rollout can move at all; unavailable is capped at spec.replicas.
 */
export function surgeAndUnavailable(rollout: RolloutInput): { maxSurge: number; maxUnavailable: number } {
  const canary = canaryOf(rollout);
  if (!canary) return { maxSurge: 0, maxUnavailable: 0 };
  const n = specReplicas(rollout);
  const surge = resolveIntOrPercent(canary.maxSurge ?? DEFAULT_SURGE_OR_UNAVAILABLE, n, true);
  const unavailable = resolveIntOrPercent(canary.maxUnavailable ?? DEFAULT_SURGE_OR_UNAVAILABLE, n, false);
  // Go drops the error ("caught by validation") and keeps the zero values it returned.
  if (surge === undefined || unavailable === undefined) return { maxSurge: 0, maxUnavailable: 0 };
  const unavailableOrOne = surge === 0 && unavailable === 0 ? 1 : unavailable;
  return {
    maxSurge: surge,
    maxUnavailable: n === 0 ? 0 : Math.min(unavailableOrOne, n),
  };
}

// ---------------------------------------------------------------------------------------------
// Desired weight

/** The current step index, or undefined when there are no steps or all of them are done. */
function currentStepIndex(rollout: RolloutInput): number | undefined {
  const steps = stepsOf(rollout);
  if (steps.length === 0) return undefined;
  const index = Math.max(0, int(rollout.status?.currentStepIndex, 0));
  return index < steps.length ? index : undefined;
}

/**
 * The weight of the last `setWeight` at or before the current step (`GetCurrentSetWeight`): 0 when
 * aborted or when no setWeight has run yet, maxTrafficWeight once every step is done.
 */
export function currentSetWeight(rollout: RolloutInput): number {
  if (rollout.status?.abort === true) return 0;
  const index = currentStepIndex(rollout);
  if (index === undefined) return maxTrafficWeight(rollout);
  const steps = stepsOf(rollout);
  for (let i = index; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (typeof w === 'number') return int(w, 0);
  }
  return 0;
}

/** Percent of spec.replicas a weight stands for, rounded up (`trafficWeightToReplicas`). */
export function trafficWeightToReplicas(replicas: number, weight: number, maxWeight: number): number {
  // float64 in Go, same order of operations.
  return Math.ceil((weight * replicas) / maxWeight);
}

/** True when the Rollout is fully promoting or has nothing to canary against. */
function wantsFullWeight(rollout: RolloutInput): boolean {
  const status = rollout.status ?? {};
  const stableRS = status.stableRS ?? '';
  return status.promoteFull === true || stableRS === '' || (status.currentPodHash ?? '') === stableRS;
}

/**
 * The canary weight this reconcile aims for (`GetCanaryReplicasOrWeight` without setCanaryScale,
 * then `GetDesiredCanaryWeight`):
 * - maxTrafficWeight when promoting fully, with no stable, or when the new revision is the stable one;
 * - on abort with dynamicStableScale and both ReplicaSets present, walk the setWeight steps back from
 *   the last one and take the first whose replica count is below what the canary still holds, so the
 *   stable grows back step by step instead of surging to 100% at once (v1.9, PR #4035);
 * - otherwise the current setWeight (0 on abort).
 */
export function desiredCanaryWeight(rollout: RolloutInput, replicaSets: ReplicaSetsInput = {}): number {
  if (wantsFullWeight(rollout)) return maxTrafficWeight(rollout);
  const { canary, stable } = knownReplicaSets(rollout, replicaSets);
  if (rollout.status?.abort === true && canaryOf(rollout)?.dynamicStableScale === true && canary && stable) {
    const n = specReplicas(rollout);
    const maxWeight = maxTrafficWeight(rollout);
    // What the canary would still hold if the stable's available pods covered the rest, but never
    // less than the canary actually has available, so the stable does not outrun the canary's drain.
    // (Master later drops the max() when abortScaleDownDelaySeconds is set explicitly, PR #4900; v1.9
    // does not have that.)
    const canaryHolds = Math.max(i32(n - available(stable)), available(canary));
    const steps = stepsOf(rollout);
    for (let i = steps.length - 1; i >= 0; i--) {
      const w = steps[i]?.setWeight;
      if (typeof w === 'number' && trafficWeightToReplicas(n, int(w, 0), maxWeight) < canaryHolds) {
        return int(w, 0);
      }
    }
    return 0;
  }
  return currentSetWeight(rollout);
}

/**
 * The setCanaryScale in force, if any (`UseSetCanaryScale`): only with a traffic router; ignored on
 * abort unless `abortScaleDownDelaySeconds: 0` asks to keep the canary up; the nearest one at or
 * before the current step wins, and `matchTrafficWeight` there switches it off.
 */
function setCanaryScaleInForce(rollout: RolloutInput): SetCanaryScaleInput | undefined {
  if (!isTrafficRouted(rollout)) return undefined;
  if (rollout.status?.abort === true && canaryOf(rollout)?.abortScaleDownDelaySeconds !== 0) return undefined;
  const index = currentStepIndex(rollout);
  if (index === undefined) return undefined;
  const steps = stepsOf(rollout);
  for (let i = index; i >= 0; i--) {
    const scs = steps[i]?.setCanaryScale;
    if (scs === null || typeof scs !== 'object') continue;
    return scs.matchTrafficWeight === true ? undefined : scs;
  }
  return undefined;
}

/**
 * Either a fixed canary replica count (setCanaryScale.replicas) or the weight to size the canary by
 * (`GetCanaryReplicasOrWeight`). A setCanaryScale.weight is a percentage of spec.replicas.
 */
export function canaryReplicasOrWeight(
  rollout: RolloutInput,
  replicaSets: ReplicaSetsInput = {},
): { replicas: number | null; weight: number } {
  if (wantsFullWeight(rollout)) return { replicas: null, weight: maxTrafficWeight(rollout) };
  const scs = setCanaryScaleInForce(rollout);
  if (typeof scs?.replicas === 'number') return { replicas: int(scs.replicas, 0), weight: 0 };
  if (typeof scs?.weight === 'number') return { replicas: null, weight: int(scs.weight, 0) };
  return { replicas: null, weight: desiredCanaryWeight(rollout, replicaSets) };
}

// ---------------------------------------------------------------------------------------------
// Without a traffic router: traffic follows pod counts

/**
 * The canary/stable split that best approximates `weight` by pod counts
 * (`approximateWeightedCanaryStableReplicaCounts`). Candidates total spec.replicas, or one more when
 * maxSurge allows; a 1-99% weight never rounds either side to 0 unless a single replica without surge
 * leaves no choice. Ties between floor and ceiling go to the ceiling; ties between candidates to the
 * first listed.
 */
export function approximateWeightedCounts(
  replicas: number,
  weight: number,
  maxWeight: number,
  maxSurge: number,
): CanaryReplicaCounts {
  if (replicas === 0) return { canary: 0, stable: 0 };
  const product = Math.imul(replicas, weight); // int32 in Go
  const up = Math.ceil(product / maxWeight);
  const down = Math.floor(product / maxWeight);
  const tiedAt = (total: number) => {
    const x = total * (weight / maxWeight); // Go: float64(total) * (float64(w) / float64(max))
    return x - Math.trunc(x) === 0.5;
  };
  const zeroAllowed = weight === maxWeight || weight === 0 || (replicas === 1 && maxSurge === 0);

  const options: { canary: number; total: number }[] = [];
  if (up < replicas || zeroAllowed) options.push({ canary: up, total: replicas });
  if (!tiedAt(replicas) && (down !== 0 || zeroAllowed)) options.push({ canary: down, total: replicas });
  if (maxSurge > 0) {
    // Both surge candidates keep the counts computed for spec.replicas.
    options.push({ canary: up, total: i32(replicas + 1) });
    if (!tiedAt(i32(replicas + 1)) && (down !== 0 || zeroAllowed)) {
      options.push({ canary: down, total: i32(replicas + 1) });
    }
  }
  if (options.length === 0) return { canary: 0, stable: replicas }; // unreachable, as in Go

  const delta = (o: { canary: number; total: number }) =>
    Math.abs(Math.imul(o.canary, maxWeight) / o.total - weight);
  let best = options[0]!;
  for (const o of options.slice(1)) if (delta(o) < delta(best)) best = o;
  return { canary: best.canary, stable: best.total - best.canary };
}

/**
 * Pods a ReplicaSet contributes to availability when deciding what may be scaled down
 * (`GetReplicasForScaleDown`). Surplus available pods above spec are about to go, so they never count;
 * `ignoreAvailability` counts spec even if the pods are not ready (a crash-looping RS must still be
 * drainable).
 */
function replicasForScaleDown(rs: ReplicaSetCounts | undefined, ignoreAvailability: boolean): number {
  if (!rs) return 0;
  if (specOf(rs) < available(rs)) return specOf(rs);
  return ignoreAvailability ? specOf(rs) : available(rs);
}

/** Shrinks the RS being drained toward its desired count by up to `scaleDown` (never below desired). */
function drained(
  rs: ReplicaSetCounts | undefined,
  desired: number,
  scaleDown: number,
  current: number,
): number {
  if (rs && specOf(rs) > desired) return Math.max(desired, i32(specOf(rs) - scaleDown));
  return current;
}

/**
 * After draining one RS, trims the other back under spec.replicas + maxSurge, but gives back pods it
 * needs to keep `minAvailable` (`adjustReplicaWithinLimits`). Returns [drainCount, adjustCount].
 */
function withinLimits(
  drainRS: ReplicaSetCounts | undefined,
  adjustRS: ReplicaSetCounts | undefined,
  drainCount: number,
  adjustCount: number,
  maxTotal: number,
  minAvailable: number,
): [number, number] {
  let overLimit = Math.max(0, i32(adjustCount + drainCount - maxTotal));
  let totalAvailable = drainRS ? Math.min(available(drainRS), drainCount) : 0;
  if (!adjustRS) return [drainCount, adjustCount];
  let adjust = i32(adjustCount - overLimit);
  totalAvailable = i32(totalAvailable + Math.min(available(adjustRS), adjust));
  const availabilityLost = Math.max(0, i32(available(adjustRS) - adjust));
  const shortOfMinimum = Math.max(0, i32(minAvailable - totalAvailable));
  adjust = i32(adjust + Math.min(availabilityLost, shortOfMinimum));
  // Whatever is still over the limit comes off the drained side; the caller's scale-down check
  // guarantees that cannot breach minAvailable.
  overLimit = Math.max(0, i32(adjust + drainCount - maxTotal));
  return [i32(drainCount - overLimit), adjust];
}

/** Canary and stable ReplicaSets as Argo's controller would hand them to the replica math. */
function knownReplicaSets(
  rollout: RolloutInput,
  replicaSets: ReplicaSetsInput,
): { canary?: ReplicaSetCounts; stable?: ReplicaSetCounts; stableIsCanary: boolean } {
  const status = rollout.status ?? {};
  const canary = replicaSets.canary ?? undefined;
  // GetStableRS finds nothing while status.stableRS is empty.
  const stable = (status.stableRS ?? '') === '' ? undefined : (replicaSets.stable ?? undefined);
  const stableIsCanary =
    stable !== undefined &&
    canary !== undefined &&
    (stable === canary ||
      (typeof stable.name === 'string' && stable.name !== '' && stable.name === canary.name) ||
      // GetStableRS returns the new RS itself when its hash is the stable one.
      status.currentPodHash === status.stableRS);
  return {
    ...(canary ? { canary } : {}),
    ...(stable ? { stable } : {}),
    stableIsCanary,
  };
}

/** `CalculateReplicaCountsForBasicCanary`: steps toward the weighted split within surge/unavailable. */
function basicCanaryCounts(rollout: RolloutInput, replicaSets: ReplicaSetsInput): CanaryReplicaCounts {
  const n = specReplicas(rollout);
  const { weight } = canaryReplicasOrWeight(rollout, replicaSets);
  const { maxSurge, maxUnavailable } = surgeAndUnavailable(rollout);
  const { canary: canaryRS, stable: stableRS, stableIsCanary } = knownReplicaSets(rollout, replicaSets);
  const older = (replicaSets.older ?? []).filter((rs): rs is ReplicaSetCounts => rs != null);

  let { canary: desiredCanary, stable: desiredStable } = approximateWeightedCounts(
    n,
    weight,
    maxTrafficWeight(rollout),
    maxSurge,
  );
  let canaryCount = canaryRS ? specOf(canaryRS) : 0;
  let stableCount = 0;
  const scaleStable = stableRS !== undefined && !stableIsCanary;
  if (scaleStable) {
    stableCount = specOf(stableRS);
  } else {
    // No separate stable: skip the steps and take the new revision straight to 100%.
    desiredCanary = n;
    desiredStable = 0;
  }

  const maxTotal = i32(n + maxSurge);
  let scaleUp = i32(maxTotal - sumSpec([...older, canaryRS, scaleStable ? stableRS : undefined]));

  // Surge goes to the stable first: it is what keeps serving if the canary turns out bad.
  if (scaleStable && specOf(stableRS) < desiredStable && scaleUp > 0) {
    if (i32(specOf(stableRS) + scaleUp) < desiredStable) {
      stableCount = i32(specOf(stableRS) + scaleUp);
      scaleUp = 0;
    } else {
      stableCount = desiredStable;
      scaleUp = i32(scaleUp - i32(desiredStable - specOf(stableRS)));
    }
  }
  if (canaryRS && specOf(canaryRS) < desiredCanary && scaleUp > 0) {
    canaryCount = Math.min(desiredCanary, i32(specOf(canaryRS) + scaleUp));
  }

  // Older revisions are drained first (elsewhere); nothing here shrinks until they are gone.
  if (sumSpec(older) > 0) return { canary: canaryCount, stable: stableCount };

  const minAvailable = i32(n - maxUnavailable);
  // Growing the canary: the stable's readiness is irrelevant to how far it may shrink (it is being
  // replaced). Shrinking it (abort, lower weight): the canary's readiness is irrelevant instead.
  const increasing = !canaryRS || desiredCanary >= specOf(canaryRS);
  const countedAvailable = i32(
    replicasForScaleDown(canaryRS, !increasing) + replicasForScaleDown(stableRS, increasing),
  );
  if (countedAvailable <= minAvailable) return { canary: canaryCount, stable: stableCount };

  const scaleDown = i32(countedAvailable - minAvailable);
  if (!increasing) {
    canaryCount = drained(canaryRS, desiredCanary, scaleDown, canaryCount);
    [canaryCount, stableCount] = withinLimits(
      canaryRS,
      stableRS,
      canaryCount,
      stableCount,
      maxTotal,
      minAvailable,
    );
  } else if (scaleStable) {
    stableCount = drained(stableRS, desiredStable, scaleDown, stableCount);
    [stableCount, canaryCount] = withinLimits(
      stableRS,
      canaryRS,
      stableCount,
      canaryCount,
      maxTotal,
      minAvailable,
    );
  }
  return { canary: canaryCount, stable: stableCount };
}

// ---------------------------------------------------------------------------------------------
// With a traffic router

/**
 * `CheckMinPodsPerReplicaSet`: with a router, a non-zero count is raised to minPodsPerReplicaSet,
 * capped at spec.replicas (PR #4570) so the floor can never ask for more pods than the Rollout has.
 */
function withMinPods(rollout: RolloutInput, count: number): number {
  if (count === 0) return 0;
  const minPods = canaryOf(rollout)?.minPodsPerReplicaSet;
  if (typeof minPods !== 'number' || !isTrafficRouted(rollout)) return count;
  return Math.max(count, Math.min(int(minPods, 0), specReplicas(rollout)));
}

/**
 * `CalculateReplicaCountsForTrafficRoutedCanary`. The router, not pod counts, splits traffic, so the
 * canary is sized to its weight and maxSurge/maxUnavailable do not apply. The stable stays at full
 * size (instant abort) unless dynamicStableScale, where it shrinks only as traffic actually leaves it
 * (status.canary.weights) and, on abort, the canary shrinks only as traffic leaves it.
 */
function trafficRoutedCounts(rollout: RolloutInput, replicaSets: ReplicaSetsInput): CanaryReplicaCounts {
  const n = specReplicas(rollout);
  const maxWeight = maxTrafficWeight(rollout);
  const { replicas: fixedCanary, weight } = canaryReplicasOrWeight(rollout, replicaSets);
  // An explicit setCanaryScale.replicas is taken as written (the floor applies only further down).
  let canary = fixedCanary ?? withMinPods(rollout, trafficWeightToReplicas(n, weight, maxWeight));
  if (canaryOf(rollout)?.dynamicStableScale !== true) return { canary, stable: n };

  let stable = trafficWeightToReplicas(n, i32(maxWeight - weight), maxWeight);
  const weights = rollout.status?.canary?.weights;
  if (weights !== null && typeof weights === 'object') {
    stable = Math.max(stable, trafficWeightToReplicas(n, int(weights.stable?.weight, 0), maxWeight));
    if (rollout.status?.abort === true) {
      canary = Math.max(trafficWeightToReplicas(n, int(weights.canary?.weight, 0), maxWeight), canary);
    }
  }
  return { canary: withMinPods(rollout, canary), stable: withMinPods(rollout, stable) };
}

// ---------------------------------------------------------------------------------------------

/**
 * The replica counts this reconcile pass sets on the canary (new) and stable ReplicaSets of a canary
 * Rollout, exactly as Argo Rollouts v1.9 computes them.
 *
 * `replicaSets.canary` is the ReplicaSet of the current pod template; `stable` the one named by
 * status.stableRS (ignored while that is empty, as Argo finds no stable then); `older` every other
 * revision still around. When the canary and stable are the same ReplicaSet (same object, same `name`,
 * or status.currentPodHash === status.stableRS), the stable count returned is 0 and the canary gets
 * the whole Rollout.
 */
export function canaryReplicaCounts(
  rollout: RolloutInput,
  replicaSets: ReplicaSetsInput = {},
): CanaryReplicaCounts {
  return isTrafficRouted(rollout)
    ? trafficRoutedCounts(rollout, replicaSets)
    : basicCanaryCounts(rollout, replicaSets);
}
