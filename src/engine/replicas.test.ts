/**
 * Ports of Argo Rollouts' own replica-count tests (utils/replicaset/canary_test.go, v1.9 line: the
 * version with the table-driven dynamic-scale test added by PR #4035), one row per upstream case and
 * named as upstream names it, plus the sample rows of the reference notes (§2.3) and tests of the
 * helpers.
 *
 * Each port builds the Rollout the way the Go test's `newRollout` does: one step
 * `{setWeight, setCanaryScale}`, status currentPodHash "canary" and stableRS "stable", and maxSurge /
 * maxUnavailable set to the row's values (Go's zero value, the integer 0, where a row leaves them out).
 */
import { describe, expect, it } from 'vitest';
import {
  approximateWeightedCounts,
  type CanaryStepInput,
  canaryReplicaCounts,
  canaryReplicasOrWeight,
  currentSetWeight,
  desiredCanaryWeight,
  type IntOrPercent,
  type ReplicaSetCounts,
  type RolloutInput,
  type SetCanaryScaleInput,
  surgeAndUnavailable,
  trafficWeightToReplicas,
} from './replicas.js';

interface GoRolloutArgs {
  replicas: number;
  setWeight: number;
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  currentPodHash?: string;
  stableRS?: string;
  setCanaryScale?: SetCanaryScaleInput;
  trafficRouting?: boolean;
}

/** canary_test.go `newRollout`. */
function goNewRollout(a: GoRolloutArgs): RolloutInput {
  const step: CanaryStepInput = { setWeight: a.setWeight };
  if (a.setCanaryScale) step.setCanaryScale = a.setCanaryScale;
  return {
    spec: {
      replicas: a.replicas,
      strategy: {
        canary: {
          maxSurge: a.maxSurge ?? 0,
          maxUnavailable: a.maxUnavailable ?? 0,
          steps: [step],
          ...(a.trafficRouting ? { trafficRouting: {} } : {}),
        },
      },
    },
    status: { currentPodHash: a.currentPodHash ?? 'canary', stableRS: a.stableRS ?? 'stable' },
  };
}

/** canary_test.go `newRS`: [spec.replicas, status.availableReplicas]. */
function rs([replicas, availableReplicas]: readonly [number, number], name?: string): ReplicaSetCounts {
  return name === undefined ? { replicas, availableReplicas } : { replicas, availableReplicas, name };
}

function canaryOf(ro: RolloutInput) {
  const canary = ro.spec?.strategy?.canary;
  if (!canary) throw new Error('no canary strategy');
  return canary;
}

// -------------------------------------------------------------------------------------------------

interface CanaryCase {
  name: string;
  /** The row's name in earlier upstream versions, where it was renamed (newRS -> canaryRS). */
  formerly?: string;
  replicas: number;
  setWeight?: number;
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  promoteFull?: boolean;
  /** [spec, available] */
  stable: readonly [number, number];
  canary: readonly [number, number];
  older?: readonly [number, number];
  setCanaryScale?: SetCanaryScaleInput;
  trafficRouting?: boolean;
  abortScaleDownDelaySeconds?: number;
  abort?: boolean;
  minPodsPerReplicaSet?: number;
  expected: { canary: number; stable: number };
}

const TestCalculateReplicaCountsForCanary: CanaryCase[] = [
  {
    name: 'Do not add extra RSs in scaleDownCount when .Spec.Replica < AvailableReplicas',
    replicas: 10,
    setWeight: 100,
    maxSurge: 3,
    maxUnavailable: 0,
    stable: [7, 8],
    canary: [6, 3],
    expected: { canary: 6, stable: 7 },
  },
  {
    name: 'Use max surge int to scale up canary',
    replicas: 10,
    setWeight: 20,
    maxSurge: 2,
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 2, stable: 10 },
  },
  {
    name: 'Use max surge percentage to scale up canary',
    replicas: 10,
    setWeight: 20,
    maxSurge: '20%',
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 2, stable: 10 },
  },
  {
    name: 'Scale down extra stable replicas',
    replicas: 10,
    setWeight: 20,
    maxSurge: '20%',
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [2, 2],
    expected: { canary: 2, stable: 8 },
  },
  {
    name: 'Do not go past max surge',
    replicas: 10,
    setWeight: 30,
    maxSurge: 2,
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 2, stable: 10 },
  },
  {
    name: 'Use max unavailable int to scale down stableRS',
    replicas: 10,
    setWeight: 20,
    maxSurge: 0,
    maxUnavailable: 2,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 0, stable: 8 },
  },
  {
    name: 'Use max surge percentage to scale down stableRS',
    replicas: 10,
    setWeight: 20,
    maxSurge: 0,
    maxUnavailable: '20%',
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 0, stable: 8 },
  },
  {
    name: 'Do not go past max unavailable',
    replicas: 10,
    setWeight: 30,
    maxSurge: 0,
    maxUnavailable: 2,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 0, stable: 8 },
  },
  {
    name: 'Use Max Surge and Max Unavailable',
    replicas: 10,
    setWeight: 50,
    maxSurge: 2,
    maxUnavailable: 1,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 2, stable: 9 },
  },
  {
    name: 'Scale canaryRS to zero on setWeight of 0%',
    replicas: 10,
    setWeight: 0,
    maxSurge: 1,
    maxUnavailable: 1,
    stable: [10, 10],
    canary: [1, 1],
    expected: { canary: 0, stable: 10 },
  },
  {
    name: 'Scale stable to zero on setWeight of 100%',
    replicas: 10,
    setWeight: 100,
    maxSurge: 1,
    maxUnavailable: 1,
    stable: [1, 1],
    canary: [10, 10],
    expected: { canary: 10, stable: 0 },
  },
  {
    name: 'Do not scale canaryRS down to zero on non-zero weight',
    formerly: 'Do not scale newRS down to zero on non-zero weight',
    replicas: 1,
    setWeight: 20,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [1, 1],
    canary: [0, 0],
    expected: { canary: 1, stable: 1 },
  },
  {
    name: 'Do not scale canaryRS down to zero on non-100 weight',
    replicas: 1,
    setWeight: 90,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [1, 1],
    canary: [0, 0],
    expected: { canary: 1, stable: 1 },
  },
  {
    name: 'Scale canaryRS to zero on <50 weight without surge',
    replicas: 1,
    setWeight: 49,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [1, 1],
    canary: [0, 0],
    expected: { canary: 0, stable: 1 },
  },
  {
    name: 'Scale stableRS down to zero on >=50 weight without surge',
    replicas: 1,
    setWeight: 51,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [1, 1],
    canary: [0, 0],
    expected: { canary: 0, stable: 0 },
  },
  {
    name: 'Scale canaryRS to one on >=50 weight without surge and stable replicas',
    replicas: 1,
    setWeight: 51,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [0, 0],
    canary: [0, 0],
    expected: { canary: 1, stable: 0 },
  },
  {
    name: 'Scale up Stable before canaryRS',
    formerly: 'Scale up Stable before newRS',
    replicas: 10,
    setWeight: 30,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [1, 1],
    canary: [0, 0],
    older: [3, 3],
    expected: { canary: 1, stable: 7 },
  },
  {
    name: 'Scale down canaryRS and stable',
    formerly: 'Scale down newRS and stable',
    replicas: 10,
    setWeight: 30,
    maxSurge: 0,
    maxUnavailable: 3,
    stable: [8, 5],
    canary: [4, 4],
    expected: { canary: 3, stable: 7 },
  },
  {
    name: 'Scale down stable and canary available',
    replicas: 10,
    setWeight: 100,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [10, 2],
    canary: [10, 8],
    expected: { canary: 9, stable: 2 },
  },
  {
    name: 'Do not scale down canaryRS or stable when older RS count >= scaleDownCount',
    formerly: 'Do not scale down newRS or stable when older RS count >= scaleDownCount',
    replicas: 10,
    setWeight: 30,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [8, 6],
    canary: [4, 2],
    older: [3, 3],
    expected: { canary: 4, stable: 8 },
  },
  {
    name: 'Do not round past maxSurge with uneven setWeight divisor',
    replicas: 10,
    setWeight: 5,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 0, stable: 9 },
  },
  {
    name: 'Do not round past maxSurge with uneven setWeight divisor (part 2)',
    replicas: 10,
    setWeight: 5,
    maxSurge: 0,
    maxUnavailable: 1,
    stable: [9, 9],
    canary: [0, 0],
    expected: { canary: 1, stable: 9 },
  },
  {
    name: 'Use maxUnavailable of 1 when percentage of maxUnavailable and maxSurge result in 0 replicas',
    replicas: 10,
    setWeight: 10,
    maxSurge: '0%',
    maxUnavailable: '0%',
    stable: [10, 10],
    canary: [0, 0],
    expected: { canary: 0, stable: 9 },
  },
  {
    name: 'For canary replicas, use setCanaryScale.replicas when specified along with trafficRouting (and ignore setWeight)',
    replicas: 1,
    stable: [1, 1],
    canary: [0, 0],
    setWeight: 100,
    setCanaryScale: { replicas: 9 },
    trafficRouting: true,
    expected: { canary: 9, stable: 1 },
  },
  {
    name: 'Use setCanaryScale.weight for canary replicas when specified with trafficRouting (and ignore setWeight)',
    replicas: 4,
    stable: [4, 4],
    canary: [0, 0],
    setWeight: 100,
    setCanaryScale: { weight: 200 },
    trafficRouting: true,
    expected: { canary: 8, stable: 4 },
  },
  {
    name: 'Ignore setCanaryScale replicas/weight when matchTrafficWeight is true',
    replicas: 10,
    setWeight: 20,
    maxSurge: '20%',
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [0, 0],
    setCanaryScale: { replicas: 9, weight: 100, matchTrafficWeight: true },
    trafficRouting: true,
    expected: { canary: 2, stable: 10 },
  },
  {
    name: 'Ignore setCanaryScale when trafficRouting is missing and use setWeight for replicas',
    replicas: 10,
    setWeight: 20,
    maxSurge: '20%',
    maxUnavailable: 0,
    stable: [10, 10],
    canary: [0, 0],
    setCanaryScale: { replicas: 9, weight: 100, matchTrafficWeight: false },
    expected: { canary: 2, stable: 10 },
  },
  {
    name: 'honor maxSurge during scale up when stableRS unavailable',
    replicas: 4,
    setWeight: 100,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [4, 1],
    canary: [0, 0],
    expected: { canary: 1, stable: 4 },
  },
  {
    name: 'scale down to maxunavailable without exceeding maxSurge',
    replicas: 3,
    setWeight: 99,
    maxSurge: 0,
    maxUnavailable: 2,
    stable: [3, 3],
    canary: [0, 0],
    expected: { canary: 0, stable: 1 },
  },
  {
    name: 'scale down to maxunavailable without exceeding maxSurge (part 2)',
    replicas: 3,
    setWeight: 99,
    maxSurge: 0,
    maxUnavailable: 2,
    stable: [1, 1],
    canary: [0, 0],
    expected: { canary: 2, stable: 1 },
  },
  {
    name: 'honor maxUnavailable during scale down stableRS unavailable',
    replicas: 4,
    setWeight: 100,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [4, 1],
    canary: [1, 1],
    expected: { canary: 1, stable: 3 },
  },
  {
    name: 'honor maxUnavailable when aborting or reducing weight part 1',
    replicas: 4,
    setWeight: 0,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [0, 0],
    canary: [4, 4],
    expected: { canary: 4, stable: 1 },
  },
  {
    name: 'honor maxUnavailable when aborting or reducing weight part 2',
    replicas: 4,
    setWeight: 0,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [1, 0],
    canary: [4, 4],
    expected: { canary: 4, stable: 1 },
  },
  {
    name: 'honor maxUnavailable when aborting or reducing weight part 3',
    replicas: 4,
    setWeight: 0,
    maxSurge: 1,
    maxUnavailable: 0,
    stable: [1, 1],
    canary: [4, 4],
    expected: { canary: 3, stable: 1 },
  },
  {
    name: 'promote full does not consider weight',
    promoteFull: true,
    replicas: 4,
    setWeight: 1,
    maxSurge: 4,
    maxUnavailable: 4,
    stable: [4, 4],
    canary: [0, 0],
    expected: { canary: 4, stable: 0 },
  },
  {
    name: 'promote full still honors maxSurge/maxUnavailable',
    promoteFull: true,
    replicas: 4,
    setWeight: 1,
    maxSurge: 3,
    maxUnavailable: 0,
    stable: [4, 4],
    canary: [0, 0],
    expected: { canary: 3, stable: 4 },
  },
  {
    name: 'aborted with abortScaleDownDelaySeconds:0 and setCanaryScale',
    replicas: 1,
    setCanaryScale: { replicas: 1 },
    trafficRouting: true,
    abortScaleDownDelaySeconds: 0,
    abort: true,
    stable: [1, 1],
    canary: [1, 1],
    expected: { canary: 1, stable: 1 },
  },
  {
    name: 'aborted with abortScaleDownDelaySeconds>0 and setCanaryScale',
    replicas: 1,
    setCanaryScale: { replicas: 1 },
    trafficRouting: true,
    abortScaleDownDelaySeconds: 30,
    abort: true,
    stable: [1, 1],
    canary: [1, 1],
    expected: { canary: 0, stable: 1 },
  },
  {
    name: 'Honor MinPodsPerReplicaSet when using trafficRouting and starting canary',
    replicas: 10,
    setWeight: 5,
    stable: [10, 10],
    canary: [0, 0],
    trafficRouting: true,
    minPodsPerReplicaSet: 2,
    expected: { canary: 2, stable: 10 },
  },
];

describe('TestCalculateReplicaCountsForCanary', () => {
  it.each(TestCalculateReplicaCountsForCanary.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rollout = goNewRollout({
      replicas: c.replicas,
      setWeight: c.setWeight ?? 0,
      ...(c.maxSurge !== undefined ? { maxSurge: c.maxSurge } : {}),
      ...(c.maxUnavailable !== undefined ? { maxUnavailable: c.maxUnavailable } : {}),
      ...(c.setCanaryScale ? { setCanaryScale: c.setCanaryScale } : {}),
      ...(c.trafficRouting ? { trafficRouting: true } : {}),
    });
    const canary = canaryOf(rollout);
    if (c.abortScaleDownDelaySeconds !== undefined)
      canary.abortScaleDownDelaySeconds = c.abortScaleDownDelaySeconds;
    if (c.minPodsPerReplicaSet !== undefined) canary.minPodsPerReplicaSet = c.minPodsPerReplicaSet;
    rollout.status = { ...rollout.status, promoteFull: c.promoteFull === true, abort: c.abort === true };
    // The Go harness hands the router path no ReplicaSets and no weights (only the dynamic abort
    // path would read them), and the basic path the canary, the stable and the one older RS.
    const replicaSets = c.trafficRouting
      ? {}
      : { stable: rs(c.stable), canary: rs(c.canary), older: c.older ? [rs(c.older)] : [] };
    expect(canaryReplicaCounts(rollout, replicaSets)).toEqual(c.expected);
  });
});

// -------------------------------------------------------------------------------------------------

/** [replicas, weight, maxWeight, maxSurge, expCanary, expStable] */
type ApproxRow = readonly [number, number, number, number, number, number];

const TestApproximateWeightedNewStableReplicaCounts: ApproxRow[] = [
  [0, 0, 100, 0, 0, 0], // 0%
  [0, 50, 100, 0, 0, 0], // 0%
  [0, 100, 100, 0, 0, 0], // 0%

  [0, 0, 100, 1, 0, 0], // 0%
  [0, 50, 100, 1, 0, 0], // 0%
  [0, 100, 100, 1, 0, 0], // 0%

  [1, 0, 100, 0, 0, 1], // 0%
  [1, 1, 100, 0, 0, 1], // 0%
  [1, 49, 100, 0, 0, 1], // 0%
  [1, 50, 100, 0, 1, 0], // 100%
  [1, 99, 100, 0, 1, 0], // 100%
  [1, 100, 100, 0, 1, 0], // 100%

  [1, 0, 100, 1, 0, 1], // 0%
  [1, 1, 100, 1, 1, 1], // 50%
  [1, 49, 100, 1, 1, 1], // 50%
  [1, 50, 100, 1, 1, 1], // 50%
  [1, 99, 100, 1, 1, 1], // 50%
  [1, 100, 100, 1, 1, 0], // 100%

  [2, 0, 100, 0, 0, 2], // 0%
  [2, 1, 100, 0, 1, 1], // 50%
  [2, 50, 100, 0, 1, 1], // 50%
  [2, 99, 100, 0, 1, 1], // 50%
  [2, 100, 100, 0, 2, 0], // 100%

  [2, 0, 100, 1, 0, 2], // 0%
  [2, 1, 100, 1, 1, 2], // 33.3%
  [2, 50, 100, 1, 1, 1], // 50%
  [2, 99, 100, 1, 2, 1], // 66.6%
  [2, 100, 100, 1, 2, 0], // 100%

  [3, 10, 100, 0, 1, 2], // 33.3%
  [3, 25, 100, 0, 1, 2], // 33.3%
  [3, 33, 100, 0, 1, 2], // 33.3%
  [3, 34, 100, 0, 1, 2], // 33.3%
  [3, 49, 100, 0, 1, 2], // 33.3%
  [3, 50, 100, 0, 2, 1], // 66.6%

  [3, 10, 100, 1, 1, 3], // 25%
  [3, 25, 100, 1, 1, 3], // 25%
  [3, 33, 100, 1, 1, 2], // 33.3%
  [3, 34, 100, 1, 1, 2], // 33.3%
  [3, 49, 100, 1, 2, 2], // 50%
  [3, 50, 100, 1, 2, 2], // 50%

  [10, 0, 100, 1, 0, 10], // 0%
  [10, 1, 100, 0, 1, 9], // 10%
  [10, 14, 100, 0, 1, 9], // 10%
  [10, 15, 100, 0, 2, 8], // 20%
  [10, 16, 100, 0, 2, 8], // 20%
  [10, 99, 100, 0, 9, 1], // 90%
  [10, 100, 100, 1, 10, 0], // 100%

  [10, 0, 100, 1, 0, 10], // 0%
  [10, 1, 100, 1, 1, 10], // 9.1%
  [10, 18, 100, 1, 2, 9], // 18.1%
  [10, 19, 100, 1, 2, 9], // 18.1%
  [10, 20, 100, 1, 2, 8], // 20%
  [10, 23, 100, 1, 2, 8], // 20%
  [10, 24, 100, 1, 3, 8], // 27.2%
  [10, 25, 100, 1, 3, 8], // 27.2%
  [10, 99, 100, 1, 10, 1], // 90.9%
  [10, 100, 100, 1, 10, 0], // 100%
];

describe('TestApproximateWeightedNewStableReplicaCounts', () => {
  it.each(
    TestApproximateWeightedNewStableReplicaCounts.map(
      (r) => [`replicas:${r[0]}_weight:${r[1]}_maxweight:${r[2]}_surge:${r[3]}`, r] as const,
    ),
  )('%s', (_name, [replicas, weight, maxWeight, maxSurge, canary, stable]) => {
    expect(approximateWeightedCounts(replicas, weight, maxWeight, maxSurge)).toEqual({ canary, stable });
  });

  it('scales with maxTrafficWeight: weight 200 of 1000 is 20%', () => {
    expect(approximateWeightedCounts(10, 200, 1000, 1)).toEqual(approximateWeightedCounts(10, 20, 100, 1));
    expect(approximateWeightedCounts(3, 500, 1000, 0)).toEqual({ canary: 2, stable: 1 });
  });
});

// -------------------------------------------------------------------------------------------------

interface DynamicCase {
  name: string;
  rolloutReplicas: number;
  /** Misnamed upstream: newRollout takes it as the first step's setWeight. */
  rolloutMaxReplicas: number;
  rolloutAbort: boolean;
  steps?: CanaryStepInput[];
  canaryWeight: number;
  stableWeight: number;
  canaryRSReplicas?: number;
  /** Declared by some rows but never read: the harness makes the canary's available equal its spec. */
  availableCanaryReplicas?: number;
  stableRSReplicas?: number;
  availableStableReplicas?: number;
  expectedCanaryReplicas: number;
  expectedStableReplicas: number;
}

const TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale: DynamicCase[] = [
  {
    name: 'Should scale stable replica up depending on next expected canary downscale step, if abort is true',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    canaryWeight: 60,
    stableWeight: 40,
    canaryRSReplicas: 6,
    availableCanaryReplicas: 6,
    stableRSReplicas: 4,
    availableStableReplicas: 4,
    expectedCanaryReplicas: 6,
    expectedStableReplicas: 8,
    rolloutAbort: true,
    steps: [{ setWeight: 60 }],
  },
  {
    name: 'Should scale stable replica up depending on available canary replicas, if actual number of canaries is less than expected and abort is true',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: true,
    canaryWeight: 60,
    stableWeight: 40,
    canaryRSReplicas: 1,
    availableCanaryReplicas: 1,
    stableRSReplicas: 4,
    availableStableReplicas: 4,
    expectedCanaryReplicas: 6,
    expectedStableReplicas: 8,
    steps: [{ setWeight: 60 }],
  },
  {
    name: 'Should scale stable replica up depending on available stable replicas, if abort is true',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: true,
    canaryWeight: 60,
    stableWeight: 40,
    canaryRSReplicas: 2,
    availableCanaryReplicas: 2,
    stableRSReplicas: 8,
    availableStableReplicas: 4,
    expectedCanaryReplicas: 6,
    expectedStableReplicas: 8,
    steps: [{ setWeight: 60 }],
  },
  {
    name: 'Should scale stable up as if canaries are scaled down to 0 if stable and canary replicas not passed, and abort is true',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: true,
    canaryWeight: 60,
    stableWeight: 40,
    expectedCanaryReplicas: 6,
    expectedStableReplicas: 10,
    steps: [{ setWeight: 60 }],
  },
  // without steps
  {
    name: 'Should scale down stable',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 10,
    rolloutAbort: false,
    canaryWeight: 10,
    stableWeight: 90,
    expectedCanaryReplicas: 1,
    expectedStableReplicas: 9,
  },
  {
    name: 'Should take max of desired canary (20) > actual (10)',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: false,
    canaryWeight: 10,
    stableWeight: 90,
    expectedCanaryReplicas: 2,
    expectedStableReplicas: 9,
  },
  {
    name: 'Should leave canary scaled up if there is still traffic to it on abort',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: true,
    canaryWeight: 20,
    stableWeight: 80,
    expectedCanaryReplicas: 2,
    expectedStableReplicas: 10,
  },
  {
    name: 'Should reduce canary when there is less traffic to it on abort',
    rolloutReplicas: 10,
    rolloutMaxReplicas: 20,
    rolloutAbort: true,
    canaryWeight: 10,
    stableWeight: 90,
    expectedCanaryReplicas: 1,
    expectedStableReplicas: 10,
  },
];

describe('TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale', () => {
  it.each(TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale.map((c) => [c.name, c] as const))(
    '%s',
    (_name, c) => {
      const rollout = goNewRollout({
        replicas: c.rolloutReplicas,
        setWeight: c.rolloutMaxReplicas,
        maxSurge: 0,
        maxUnavailable: 1,
        trafficRouting: true,
      });
      const canary = canaryOf(rollout);
      canary.dynamicStableScale = true;
      canary.steps = [...(canary.steps ?? []), ...(c.steps ?? [])];
      rollout.status = {
        ...rollout.status,
        abort: c.rolloutAbort,
        canary: { weights: { canary: { weight: c.canaryWeight }, stable: { weight: c.stableWeight } } },
      };
      // As the Go harness: a ReplicaSet with 0 replicas is not passed at all, and the canary's
      // available count is its spec count.
      const stableRS = c.stableRSReplicas ?? 0;
      const canaryRS = c.canaryRSReplicas ?? 0;
      const replicaSets = {
        ...(stableRS > 0 ? { stable: rs([stableRS, c.availableStableReplicas ?? 0]) } : {}),
        ...(canaryRS > 0 ? { canary: rs([canaryRS, canaryRS]) } : {}),
      };
      expect(canaryReplicaCounts(rollout, replicaSets)).toEqual({
        canary: c.expectedCanaryReplicas,
        stable: c.expectedStableReplicas,
      });
    },
  );
});

// -------------------------------------------------------------------------------------------------

describe('TestTrafficWeightToReplicas', () => {
  it.each([
    [10, 0, 100, 0],
    [10, 20, 100, 2],
    [10, 25, 100, 3],
    [10, 33, 100, 4],
    [10, 99, 100, 10],
    [10, 100, 100, 10],
    [23, 100000000, 100000000, 23],
  ])('trafficWeightToReplicas(%i, %i, %i) = %i', (replicas, weight, maxWeight, expected) => {
    expect(trafficWeightToReplicas(replicas, weight, maxWeight)).toBe(expected);
  });
});

describe('one-off upstream tests', () => {
  it('TestCalculateReplicaCountsForNewDeployment', () => {
    // Canary and stable are one ReplicaSet (both named "stable"), so the canary takes the Rollout.
    const rollout = goNewRollout({ replicas: 10, setWeight: 10, maxSurge: 0, maxUnavailable: 1 });
    const replicaSets = { stable: rs([10, 0], 'stable'), canary: rs([10, 0], 'stable') };
    expect(canaryReplicaCounts(rollout, replicaSets)).toEqual({ canary: 10, stable: 0 });
  });

  it('TestCalculateReplicaCountsForCanaryTrafficRouting', () => {
    const rollout = goNewRollout({ replicas: 10, setWeight: 10, maxSurge: 0, maxUnavailable: 1 });
    canaryOf(rollout).trafficRouting = {};
    expect(canaryReplicaCounts(rollout, {})).toEqual({ canary: 1, stable: 10 });
  });

  it('TestCalculateReplicaCountsForCanaryStableRSdEdgeCases', () => {
    const rollout = goNewRollout({
      replicas: 10,
      setWeight: 10,
      maxSurge: 0,
      maxUnavailable: 1,
      currentPodHash: '',
      stableRS: '',
    });
    const newRS = rs([9, 9], 'stable');
    // No stable ReplicaSet.
    expect(canaryReplicaCounts(rollout, { canary: newRS, older: [] })).toEqual({ canary: 10, stable: 0 });
    // The new ReplicaSet passed as the stable too.
    expect(canaryReplicaCounts(rollout, { canary: newRS, stable: newRS, older: [] })).toEqual({
      canary: 10,
      stable: 0,
    });
  });
});

// -------------------------------------------------------------------------------------------------

/** The sample rows of the reference notes (§2.3), with the same step and status as the upstream ports. */
describe('reference sample rows (argo-rollouts.md §2.3)', () => {
  interface SampleRow {
    name: string;
    replicas: number;
    setWeight?: number;
    promoteFull?: boolean;
    maxSurge: IntOrPercent;
    maxUnavailable: IntOrPercent;
    stable: readonly [number, number];
    canary: readonly [number, number];
    older?: readonly [number, number];
    expected: { canary: number; stable: number };
  }
  const rows: SampleRow[] = [
    {
      name: 'surge used for the canary',
      replicas: 10,
      setWeight: 20,
      maxSurge: 2,
      maxUnavailable: 0,
      stable: [10, 10],
      canary: [0, 0],
      expected: { canary: 2, stable: 10 },
    },
    {
      name: 'extra stable removed',
      replicas: 10,
      setWeight: 20,
      maxSurge: '20%',
      maxUnavailable: 0,
      stable: [10, 10],
      canary: [2, 2],
      expected: { canary: 2, stable: 8 },
    },
    {
      name: 'make room first',
      replicas: 10,
      setWeight: 20,
      maxSurge: 0,
      maxUnavailable: 2,
      stable: [10, 10],
      canary: [0, 0],
      expected: { canary: 0, stable: 8 },
    },
    {
      name: 'surge 2, unavailable 1 at 50%',
      replicas: 10,
      setWeight: 50,
      maxSurge: 2,
      maxUnavailable: 1,
      stable: [10, 10],
      canary: [0, 0],
      expected: { canary: 2, stable: 9 },
    },
    {
      name: 'stable before canary',
      replicas: 10,
      setWeight: 30,
      maxSurge: 1,
      maxUnavailable: 0,
      stable: [1, 1],
      canary: [0, 0],
      older: [3, 3],
      expected: { canary: 1, stable: 7 },
    },
    {
      name: 'never 0 for 1-99% with surge',
      replicas: 1,
      setWeight: 20,
      maxSurge: 1,
      maxUnavailable: 0,
      stable: [1, 1],
      canary: [0, 0],
      expected: { canary: 1, stable: 1 },
    },
    {
      name: '1 replica at 49% without surge stays on the stable',
      replicas: 1,
      setWeight: 49,
      maxSurge: 0,
      maxUnavailable: 1,
      stable: [1, 1],
      canary: [0, 0],
      expected: { canary: 0, stable: 1 },
    },
    {
      name: 'both 0 => unavailable 1',
      replicas: 10,
      setWeight: 10,
      maxSurge: '0%',
      maxUnavailable: '0%',
      stable: [10, 10],
      canary: [0, 0],
      expected: { canary: 0, stable: 9 },
    },
    {
      name: 'abort honours maxUnavailable',
      replicas: 4,
      setWeight: 0,
      maxSurge: 1,
      maxUnavailable: 0,
      stable: [1, 1],
      canary: [4, 4],
      expected: { canary: 3, stable: 1 },
    },
    {
      name: 'full promote still surges',
      replicas: 4,
      promoteFull: true,
      maxSurge: 3,
      maxUnavailable: 0,
      stable: [4, 4],
      canary: [0, 0],
      expected: { canary: 3, stable: 4 },
    },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const rollout = goNewRollout({
      replicas: r.replicas,
      setWeight: r.setWeight ?? 1,
      maxSurge: r.maxSurge,
      maxUnavailable: r.maxUnavailable,
    });
    if (r.promoteFull) rollout.status = { ...rollout.status, promoteFull: true };
    const replicaSets = {
      stable: rs(r.stable),
      canary: rs(r.canary),
      older: r.older ? [rs(r.older)] : [],
    };
    expect(canaryReplicaCounts(rollout, replicaSets)).toEqual(r.expected);
  });

  it('abort (rather than setWeight 0) honours maxUnavailable the same way', () => {
    const rollout = goNewRollout({ replicas: 4, setWeight: 50, maxSurge: 1, maxUnavailable: 0 });
    rollout.status = { ...rollout.status, abort: true };
    expect(canaryReplicaCounts(rollout, { stable: rs([1, 1]), canary: rs([4, 4]) })).toEqual({
      canary: 3,
      stable: 1,
    });
  });
});

// -------------------------------------------------------------------------------------------------
// Helpers

describe('surgeAndUnavailable (resolveFenceposts)', () => {
  const withFenceposts = (replicas: number, maxSurge?: IntOrPercent, maxUnavailable?: IntOrPercent) =>
    surgeAndUnavailable({
      spec: {
        replicas,
        strategy: {
          canary: {
            ...(maxSurge !== undefined ? { maxSurge } : {}),
            ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
          },
        },
      },
    });

  it('defaults both to 25%: surge rounds up, unavailable down', () => {
    expect(withFenceposts(10)).toEqual({ maxSurge: 3, maxUnavailable: 2 });
    expect(withFenceposts(1)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('reads any string as a percentage, with or without %', () => {
    expect(withFenceposts(10, '25', '25')).toEqual(withFenceposts(10, '25%', '25%'));
    expect(withFenceposts(10, '1', 0)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(withFenceposts(100, '1', 0)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  });

  it('takes integers as counts', () => {
    expect(withFenceposts(10, 3, 2)).toEqual({ maxSurge: 3, maxUnavailable: 2 });
  });

  it('turns unavailable to 1 when both resolve to 0 (upstream resolveFenceposts examples)', () => {
    // 2 desired, unavailable 1%, surge 0%: old(-1) first.
    expect(withFenceposts(2, '0%', '1%')).toEqual({ maxSurge: 0, maxUnavailable: 1 });
    // 2 desired, unavailable 25%, surge 1%: new(+1) first.
    expect(withFenceposts(2, '1%', '25%')).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    // 1 desired, unavailable 0%, surge 1%.
    expect(withFenceposts(1, '1%', '0%')).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(withFenceposts(10, 0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
  });

  it('caps unavailable at spec.replicas, and is 0 with 0 replicas', () => {
    expect(withFenceposts(3, 0, 5)).toEqual({ maxSurge: 0, maxUnavailable: 3 });
    expect(withFenceposts(0, 0, 0)).toEqual({ maxSurge: 0, maxUnavailable: 0 });
  });

  it('treats unparseable values as Go does after ignoring the error: both 0', () => {
    expect(withFenceposts(10, 'abc', 1)).toEqual({ maxSurge: 0, maxUnavailable: 0 });
    expect(withFenceposts(10, 1, 'x%')).toEqual({ maxSurge: 0, maxUnavailable: 0 });
  });

  it('is 0/0 without a canary strategy', () => {
    expect(surgeAndUnavailable({ spec: { replicas: 4 } })).toEqual({ maxSurge: 0, maxUnavailable: 0 });
  });
});

describe('currentSetWeight / desiredCanaryWeight', () => {
  const stepped = (
    steps: CanaryStepInput[],
    index: number | undefined,
    extra: Partial<RolloutInput> = {},
  ) => {
    const ro: RolloutInput = {
      spec: { replicas: 10, strategy: { canary: { steps } } },
      status: {
        currentPodHash: 'canary',
        stableRS: 'stable',
        ...(index !== undefined ? { currentStepIndex: index } : {}),
      },
      ...extra,
    };
    return ro;
  };

  it('TestGetCurrentSetWeight: past the last step is 100, at step 0 its weight, abort 0', () => {
    const ro = stepped([{ setWeight: 10 }], 1);
    expect(currentSetWeight(ro)).toBe(100);
    ro.status = { ...ro.status, currentStepIndex: 0 };
    expect(currentSetWeight(ro)).toBe(10);
    ro.status = { ...ro.status, abort: true };
    expect(currentSetWeight(ro)).toBe(0);
  });

  it('takes the nearest setWeight at or before the current step, 0 before any', () => {
    const steps = [{ pause: {} }, { setWeight: 20 }, { pause: {} }, { setWeight: 40 }];
    expect(currentSetWeight(stepped(steps, 0))).toBe(0);
    expect(currentSetWeight(stepped(steps, 2))).toBe(20);
    expect(currentSetWeight(stepped(steps, 3))).toBe(40);
    expect(currentSetWeight(stepped(steps, undefined))).toBe(0);
    expect(currentSetWeight(stepped([], undefined))).toBe(100);
  });

  it('is maxTrafficWeight with promoteFull, without a stable, or when the new revision is stable', () => {
    const base = stepped([{ setWeight: 10 }], 0);
    expect(desiredCanaryWeight({ ...base, status: { ...base.status, promoteFull: true } })).toBe(100);
    expect(desiredCanaryWeight({ ...base, status: { ...base.status, stableRS: '' } })).toBe(100);
    expect(desiredCanaryWeight({ ...base, status: { ...base.status, currentPodHash: 'stable' } })).toBe(100);
    expect(desiredCanaryWeight(base)).toBe(10);
  });

  it('walks the steps back on a dynamicStableScale abort, as the stable becomes available', () => {
    const steps = [{ setWeight: 10 }, { setWeight: 30 }, { setWeight: 60 }, { setWeight: 90 }];
    const ro = stepped(steps, 3);
    const canary = canaryOf(ro);
    canary.trafficRouting = { nginx: {} };
    canary.dynamicStableScale = true;
    ro.status = { ...ro.status, abort: true };
    const at = (stableAvailable: number, canaryAvailable: number) =>
      desiredCanaryWeight(ro, {
        stable: { replicas: 10, availableReplicas: stableAvailable },
        canary: { replicas: 9, availableReplicas: canaryAvailable },
      });
    expect(at(1, 9)).toBe(60); // canary holds 9: the first step below it is 60% (6 pods)
    expect(at(4, 6)).toBe(30);
    expect(at(7, 9)).toBe(60); // the canary's available pods hold the weight up (max())
    expect(at(9, 1)).toBe(0); // 1 pod: no step has fewer than 1 pod but 0
    // Without both ReplicaSets, or without dynamicStableScale, an abort is simply weight 0.
    expect(desiredCanaryWeight(ro, { stable: { replicas: 10, availableReplicas: 1 } })).toBe(0);
    canary.dynamicStableScale = false;
    expect(at(1, 9)).toBe(0);
  });
});

describe('canaryReplicasOrWeight (TestGetCanaryReplicasOrWeight)', () => {
  const routed = (scs: SetCanaryScaleInput): RolloutInput => ({
    spec: {
      strategy: { canary: { steps: [{ setWeight: 10 }, { setCanaryScale: scs }], trafficRouting: {} } },
    },
    status: { currentStepIndex: 1, stableRS: 'stable-rs' },
  });

  it('test full promote rollout', () => {
    expect(canaryReplicasOrWeight({ status: { promoteFull: true } })).toEqual({
      replicas: null,
      weight: 100,
    });
  });
  it('test canary step weight', () => {
    expect(canaryReplicasOrWeight(routed({ weight: 20 }))).toEqual({ replicas: null, weight: 20 });
  });
  it('test canary step replicas', () => {
    expect(canaryReplicasOrWeight(routed({ replicas: 5 }))).toEqual({ replicas: 5, weight: 0 });
  });
  it('test get current step weight', () => {
    expect(
      canaryReplicasOrWeight({ spec: { strategy: { blueGreen: {} } }, status: { abort: true } }),
    ).toEqual({
      replicas: null,
      weight: 100,
    });
  });
  it('falls back to setWeight when the setCanaryScale sets neither replicas nor weight', () => {
    expect(canaryReplicasOrWeight(routed({}))).toEqual({ replicas: null, weight: 10 });
  });
  it('ignores setCanaryScale on abort unless abortScaleDownDelaySeconds is 0', () => {
    const ro = routed({ replicas: 5 });
    ro.status = { ...ro.status, abort: true };
    expect(canaryReplicasOrWeight(ro)).toEqual({ replicas: null, weight: 0 });
    canaryOf(ro).abortScaleDownDelaySeconds = 0;
    expect(canaryReplicasOrWeight(ro)).toEqual({ replicas: 5, weight: 0 });
  });
});

describe('canaryReplicaCounts: details beyond the upstream tables', () => {
  const routed = (extra: Record<string, unknown>, replicas = 10, setWeight = 30): RolloutInput => ({
    spec: {
      replicas,
      strategy: { canary: { steps: [{ setWeight }], trafficRouting: { istio: {} }, ...extra } },
    },
    status: { currentPodHash: 'canary', stableRS: 'stable' },
  });

  it('caps minPodsPerReplicaSet at spec.replicas (PR #4570)', () => {
    expect(canaryReplicaCounts(routed({ minPodsPerReplicaSet: 5 }, 2, 10))).toEqual({ canary: 2, stable: 2 });
    expect(canaryReplicaCounts(routed({ minPodsPerReplicaSet: 3 }, 10, 10))).toEqual({
      canary: 3,
      stable: 10,
    });
  });

  it('applies minPodsPerReplicaSet to the stable only with dynamicStableScale', () => {
    const ro = routed({ minPodsPerReplicaSet: 3, dynamicStableScale: true }, 10, 90);
    expect(canaryReplicaCounts(ro)).toEqual({ canary: 9, stable: 3 });
  });

  it('does not raise an explicit setCanaryScale.replicas to minPodsPerReplicaSet without dynamicStableScale', () => {
    const ro = routed({ minPodsPerReplicaSet: 3 });
    canaryOf(ro).steps = [{ setCanaryScale: { replicas: 1 } }];
    expect(canaryReplicaCounts(ro)).toEqual({ canary: 1, stable: 10 });
    canaryOf(ro).dynamicStableScale = true;
    expect(canaryReplicaCounts(ro).canary).toBe(3);
  });

  it('sizes by maxTrafficWeight: setWeight 250 of 1000 is 25%', () => {
    const ro = routed({ trafficRouting: { smi: {}, maxTrafficWeight: 1000 } }, 10, 250);
    expect(canaryReplicaCounts(ro)).toEqual({ canary: 3, stable: 10 });
  });

  it('keeps the stable up until traffic leaves it (dynamicStableScale)', () => {
    const ro = routed({ dynamicStableScale: true }, 10, 50);
    expect(canaryReplicaCounts(ro)).toEqual({ canary: 5, stable: 5 });
    ro.status = { ...ro.status, canary: { weights: { canary: { weight: 10 }, stable: { weight: 90 } } } };
    expect(canaryReplicaCounts(ro)).toEqual({ canary: 5, stable: 9 });
  });

  it('treats the canary as the stable when status.currentPodHash is the stableRS', () => {
    const ro = goNewRollout({ replicas: 4, setWeight: 25, maxSurge: 1, maxUnavailable: 0 });
    ro.status = { ...ro.status, currentPodHash: 'stable' };
    const same = { replicas: 3, availableReplicas: 3 };
    expect(canaryReplicaCounts(ro, { canary: same, stable: { ...same } })).toEqual({ canary: 4, stable: 0 });
    // The same object twice means the same ReplicaSet too.
    const ro2 = goNewRollout({ replicas: 4, setWeight: 25, maxSurge: 1, maxUnavailable: 0 });
    expect(canaryReplicaCounts(ro2, { canary: same, stable: same })).toEqual({ canary: 4, stable: 0 });
  });

  it('never grows a canary ReplicaSet that does not exist yet (the controller creates it first)', () => {
    const ro = goNewRollout({ replicas: 10, setWeight: 20, maxSurge: 2, maxUnavailable: 0 });
    expect(canaryReplicaCounts(ro, { stable: rs([10, 10]) })).toEqual({ canary: 0, stable: 10 });
  });

  it('uses spec.replicas 1 and the 25% defaults when they are left out', () => {
    const ro: RolloutInput = {
      spec: { strategy: { canary: { steps: [{ setWeight: 50 }] } } },
      status: { currentPodHash: 'canary', stableRS: 'stable' },
    };
    // 1 replica, surge ceil(25%)=1, unavailable 0: one canary pod next to the stable one.
    expect(canaryReplicaCounts(ro, { stable: rs([1, 1]), canary: rs([0, 0]) })).toEqual({
      canary: 1,
      stable: 1,
    });
  });
});
