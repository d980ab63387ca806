import { describe, expect, it } from 'vitest';
import type { Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { reconcileCanary } from './machine.js';
import type { CanaryAction, CanaryObservation, CanaryResult } from './types.js';
import { abortRollout, promoteFullRollout, promoteRollout, retryRollout } from './user-actions.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();

const ROLLOUT: Rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo', generation: 3 },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'demo' } },
    template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    strategy: {
      canary: {
        canaryService: 'demo-canary',
        stableService: 'demo',
        trafficRouting: { traefik: { weightedTraefikServiceName: 'ts' } },
        analysis: { templates: [{ templateName: 'bg' }], startingStep: 1 },
        steps: [
          { setWeight: 20 }, // 0
          { pause: { duration: '1m' } }, // 1
          { analysis: { templates: [{ templateName: 'step' }] } }, // 2
          { pause: {} }, // 3
          { setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { exact: 'y' } }] } }, // 4
          { setCanaryScale: { weight: 50 } }, // 5
          { experiment: { templates: [{ name: 'e', specRef: 'canary' }] } }, // 6
          { setMirrorRoute: { name: 'm', percentage: 10 } }, // 7
        ],
      },
    },
  } as Rollout['spec'],
};

const BG = 'demo-bbb-1';
const STEP2 = 'demo-bbb-1-2';

/** A rollout mid-canary: stable aaa, canary bbb, at `index`. */
function mid(
  index: number,
  extra: Partial<RolloutStatus> = {},
  spec: Partial<Rollout['spec']> = {},
): Rollout {
  return {
    ...ROLLOUT,
    spec: { ...ROLLOUT.spec, ...spec },
    status: { stableRS: 'aaa', currentPodHash: 'bbb', currentStepIndex: index, ...extra },
  };
}

function obs(
  o: Partial<CanaryObservation> & { weight?: number; canary?: [number, number] | null } = {},
): CanaryObservation {
  const canary: [number, number] | null = o.canary === undefined ? [1, 1] : o.canary;
  return {
    podHash: o.podHash ?? 'bbb',
    revision: 1,
    replicaSets: o.replicaSets ?? {
      stable: { hash: 'aaa', replicas: 1, availableReplicas: 1 },
      ...(canary ? { canary: { hash: 'bbb', replicas: canary[0], availableReplicas: canary[1] } } : {}),
    },
    weights: { canary: o.weight ?? 20 },
    ...(o.analysisRuns ? { analysisRuns: o.analysisRuns } : {}),
  };
}

const only = (r: CanaryResult, type: CanaryAction['type']) => r.actions.filter((a) => a.type === type);
const cond = (r: CanaryResult, type: string) => r.status.conditions?.find((c) => c.type === type);
const bgRun = { currentBackgroundAnalysisRunStatus: { name: BG, status: 'Running' } };

interface Row {
  name: string;
  rollout: Rollout;
  observed: CanaryObservation;
  now?: number;
  transition: string;
  check: (r: CanaryResult) => void;
}

const rows: Row[] = [
  {
    name: 'first revision is deployed at full scale and becomes stable',
    rollout: { ...ROLLOUT },
    observed: obs({ podHash: 'aaa', replicaSets: {} }),
    transition: 'initialDeploy',
    check: (r) => {
      expect(only(r, 'CreateReplicaSet')).toEqual([{ type: 'CreateReplicaSet', hash: 'aaa', replicas: 1 }]);
      expect(r.status).toMatchObject({ stableRS: 'aaa', currentPodHash: 'aaa', currentStepIndex: 8 });
      expect(r.status.observedGeneration).toBe('3');
    },
  },
  {
    name: 'a new template mid-rollout resets the step index and terminates running analysis',
    rollout: mid(5, { canary: bgRun, pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(0) }] }),
    observed: obs({ podHash: 'ccc', analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'revisionChanged',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(0);
      expect(r.status.currentPodHash).toBe('ccc');
      expect(r.status.pauseConditions).toBeUndefined();
      expect(only(r, 'TerminateAnalysisRun')).toEqual([{ type: 'TerminateAnalysisRun', name: BG }]);
    },
  },
  {
    name: 'going back to the stable template skips the steps',
    rollout: mid(3, { abort: true, abortedAt: iso(0) }),
    observed: obs({ podHash: 'aaa' }),
    transition: 'revisionChanged',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(8);
      expect(r.status.abort).toBeUndefined();
    },
  },
  {
    name: 'user abort: abortedAt recorded, index 0, Degraded with RolloutAborted',
    rollout: abortRollout(mid(3, { canary: bgRun })),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'abortStarted',
    check: (r) => {
      expect(r.status).toMatchObject({
        abort: true,
        abortedAt: iso(0),
        currentStepIndex: 0,
        phase: 'Degraded',
      });
      expect(r.status.message).toBe('RolloutAborted: Rollout aborted update to revision 1');
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutAborted' });
      expect(only(r, 'TerminateAnalysisRun')).toHaveLength(1);
      expect(only(r, 'EmitEvent').map((e) => e.type === 'EmitEvent' && e.reason)).toContain('RolloutAborted');
    },
  },
  {
    name: 'aborted: weight back to 0, canary kept until abortScaleDownDelaySeconds',
    rollout: mid(0, { abort: true, abortedAt: iso(0) }),
    observed: obs({ weight: 40 }),
    now: 10,
    transition: 'abortRollback',
    check: (r) => {
      expect(only(r, 'SetWeight')).toEqual([{ type: 'SetWeight', canary: 0 }]);
      expect(only(r, 'ScaleReplicaSet')).toEqual([]);
      expect(only(r, 'RequeueAfter')).toEqual([{ type: 'RequeueAfter', ms: 20_000 }]);
      expect(r.status.canary?.weights?.canary.weight).toBe(0);
    },
  },
  {
    name: 'aborted: canary scaled down after the delay',
    rollout: mid(0, { abort: true, abortedAt: iso(0) }),
    observed: obs({ weight: 0 }),
    now: 30,
    transition: 'abortRollback',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 0 }]),
  },
  {
    name: 'aborted and rolled back: hold, Degraded',
    rollout: mid(0, { abort: true, abortedAt: iso(0) }),
    observed: obs({ weight: 0, canary: [0, 0] }),
    now: 60,
    transition: 'abortedHold',
    check: (r) => expect(r.status.phase).toBe('Degraded'),
  },
  {
    name: 'spec.paused: hold, phase Paused "manually paused"',
    rollout: mid(0, {}, { paused: true }),
    observed: obs({ weight: 0 }),
    transition: 'manualPause',
    check: (r) => {
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'manually paused' });
      expect(cond(r, 'Paused')).toMatchObject({ status: 'True', reason: 'RolloutPaused' });
      expect(only(r, 'SetWeight')).toEqual([]);
    },
  },
  {
    name: 'retry after abort: start over, Progressing RolloutRetry',
    rollout: retryRollout(
      mid(0, {
        abort: true,
        abortedAt: iso(0),
        canary: { currentBackgroundAnalysisRunStatus: { name: BG, status: 'Failed' } },
      }),
    ),
    observed: obs({ weight: 0, analysisRuns: { [BG]: { phase: 'Failed' } } }),
    transition: 'retried',
    check: (r) => {
      expect(r.status.abortedAt).toBeUndefined();
      expect(r.status.canary?.currentBackgroundAnalysisRunStatus).toBeUndefined();
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'True', reason: 'RolloutRetry' });
    },
  },
  {
    name: 'step analysis Error aborts',
    rollout: mid(2, { canary: { currentStepAnalysisRunStatus: { name: STEP2, status: 'Running' } } }),
    observed: obs({ analysisRuns: { [STEP2]: { phase: 'Error', message: 'boom' } } }),
    transition: 'analysisFailed',
    check: (r) => {
      expect(r.status).toMatchObject({ abort: true, phase: 'Degraded' });
      expect(r.status.message).toBe('RolloutAborted: Rollout aborted update to revision 1: boom');
      expect(r.status.canary?.currentStepAnalysisRunStatus).toEqual({
        name: STEP2,
        status: 'Error',
        message: 'boom',
      });
    },
  },
  {
    name: 'background analysis Inconclusive pauses with InconclusiveAnalysisRun',
    rollout: mid(2, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Inconclusive' } } }),
    transition: 'analysisInconclusive',
    check: (r) => {
      expect(r.status.pauseConditions).toEqual([{ reason: 'InconclusiveAnalysisRun', startTime: iso(0) }]);
      expect(r.status).toMatchObject({
        controllerPause: true,
        phase: 'Paused',
        message: 'InconclusiveAnalysisRun',
      });
    },
  },
  {
    name: 'promote past an Inconclusive background run: terminated and forgotten',
    rollout: promoteRollout(
      mid(2, {
        controllerPause: true,
        pauseConditions: [{ reason: 'InconclusiveAnalysisRun', startTime: iso(0) }],
        canary: { currentBackgroundAnalysisRunStatus: { name: BG, status: 'Inconclusive' } },
      }),
    ),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Inconclusive' } } }),
    transition: 'inconclusiveResumed',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(3);
      expect(r.status.canary?.currentBackgroundAnalysisRunStatus).toBeUndefined();
    },
  },
  {
    name: 'pause step: adds CanaryPauseStep and requeues after the duration',
    rollout: mid(1, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepPause',
    check: (r) => {
      expect(r.status.pauseConditions).toEqual([{ reason: 'CanaryPauseStep', startTime: iso(0) }]);
      expect(r.status.controllerPause).toBe(true);
      expect(only(r, 'RequeueAfter')).toEqual([{ type: 'RequeueAfter', ms: 60_000 }]);
      expect(r.status.phase).toBe('Paused');
    },
  },
  {
    name: 'pause step still running: hold, requeue for the rest',
    rollout: mid(1, {
      controllerPause: true,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(0) }],
      canary: bgRun,
    }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    now: 45,
    transition: 'pausedHold',
    check: (r) => expect(only(r, 'RequeueAfter')).toEqual([{ type: 'RequeueAfter', ms: 15_000 }]),
  },
  {
    name: 'pause step elapsed: next step',
    rollout: mid(1, {
      controllerPause: true,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(0) }],
      canary: bgRun,
    }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    now: 60,
    transition: 'pauseStepElapsed',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(2);
      expect(r.status.pauseConditions).toBeUndefined();
      expect(r.status.controllerPause).toBeUndefined();
    },
  },
  {
    name: 'indefinite pause: no requeue; promote completes it',
    rollout: mid(3, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepPause',
    check: (r) => {
      expect(only(r, 'RequeueAfter')).toEqual([]);
      const next = reconcileCanary(
        promoteRollout({ ...mid(3), status: r.status }),
        obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
        at(5),
      );
      expect(next.transition).toBe('stepPause');
      expect(next.status.currentStepIndex).toBe(4);
    },
  },
  {
    name: 'background analysis starts at startingStep',
    rollout: mid(1),
    observed: obs(),
    transition: 'backgroundAnalysisStart',
    check: (r) => {
      expect(only(r, 'CreateAnalysisRun')).toMatchObject([
        { name: BG, kind: 'background', templates: [{ templateName: 'bg' }] },
      ]);
      expect(r.status.canary?.currentBackgroundAnalysisRunStatus).toEqual({ name: BG, status: 'Pending' });
    },
  },
  {
    name: 'a taken run name gets a collision suffix',
    rollout: mid(1),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Failed' } } }),
    transition: 'backgroundAnalysisStart',
    check: (r) => expect(only(r, 'CreateAnalysisRun')).toMatchObject([{ name: `${BG}.1` }]),
  },
  {
    name: 'no canary ReplicaSet yet: create it and point the canary Service at it',
    rollout: mid(0),
    observed: obs({ canary: null, weight: 0 }),
    transition: 'scaleReplicaSets',
    check: (r) => {
      expect(only(r, 'CreateReplicaSet')).toEqual([{ type: 'CreateReplicaSet', hash: 'bbb', replicas: 1 }]);
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'canary', service: 'demo-canary', hash: 'bbb' },
      ]);
    },
  },
  {
    name: 'pods not available yet: wait, no weight change',
    rollout: mid(0),
    observed: obs({ canary: [1, 0], weight: 0 }),
    transition: 'waitForReplicas',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.phase).toBe('Progressing');
    },
  },
  {
    name: 'router weight differs: set it and record status.canary.weights',
    rollout: mid(0),
    observed: obs({ weight: 0 }),
    transition: 'setTrafficWeight',
    check: (r) => {
      expect(only(r, 'SetWeight')).toEqual([{ type: 'SetWeight', canary: 20 }]);
      expect(r.status.canary?.weights).toMatchObject({
        canary: { weight: 20, podTemplateHash: 'bbb', serviceName: 'demo-canary' },
        stable: { weight: 80, podTemplateHash: 'aaa', serviceName: 'demo' },
      });
      expect(r.status.currentStepIndex).toBe(0);
    },
  },
  {
    name: 'setWeight step done when counts and weight are at desired',
    rollout: mid(0),
    observed: obs({ weight: 20 }),
    transition: 'stepWeightOrScale',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(1);
      expect(only(r, 'EmitEvent')).toMatchObject([
        { reason: 'RolloutStepCompleted', message: 'Rollout step 1/8 completed (setWeight: 20)' },
      ]);
    },
  },
  {
    name: 'analysis step: create the run',
    rollout: mid(2, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepAnalysis',
    check: (r) => {
      expect(only(r, 'CreateAnalysisRun')).toMatchObject([
        { name: STEP2, kind: 'step', templates: [{ templateName: 'step' }] },
      ]);
      expect(r.status.currentStepIndex).toBe(2);
    },
  },
  {
    name: 'analysis step: Running holds',
    rollout: mid(2, {
      canary: { ...bgRun, currentStepAnalysisRunStatus: { name: STEP2, status: 'Pending' } },
    }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' }, [STEP2]: { phase: 'Running' } } }),
    transition: 'stepAnalysis',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(2);
      expect(r.status.canary?.currentStepAnalysisRunStatus?.status).toBe('Running');
    },
  },
  {
    name: 'analysis step: Successful completes the step',
    rollout: mid(2, {
      canary: { ...bgRun, currentStepAnalysisRunStatus: { name: STEP2, status: 'Running' } },
    }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' }, [STEP2]: { phase: 'Successful' } } }),
    transition: 'stepAnalysis',
    check: (r) => expect(r.status.currentStepIndex).toBe(3),
  },
  {
    name: 'setHeaderRoute: route action, completes at once',
    rollout: mid(4, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepRoute',
    check: (r) => {
      expect(only(r, 'SetHeaderRoute')).toEqual([
        { type: 'SetHeaderRoute', name: 'h', match: [{ headerName: 'x', headerValue: { exact: 'y' } }] },
      ]);
      expect(r.status.currentStepIndex).toBe(5);
    },
  },
  {
    name: 'setCanaryScale: scale the canary first',
    rollout: mid(5, { canary: bgRun }, { replicas: 4 }),
    observed: obs({
      analysisRuns: { [BG]: { phase: 'Running' } },
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 4 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
      },
    }),
    transition: 'scaleReplicaSets',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 2 }]),
  },
  {
    name: 'setCanaryScale: at desired completes',
    rollout: mid(5, { canary: bgRun }, { replicas: 4 }),
    observed: obs({
      analysisRuns: { [BG]: { phase: 'Running' } },
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 4 },
        canary: { hash: 'bbb', replicas: 2, availableReplicas: 2 },
      },
    }),
    transition: 'stepWeightOrScale',
    check: (r) => expect(r.status.currentStepIndex).toBe(6),
  },
  {
    name: 'experiment step: not in this slice, hold with a warning',
    rollout: mid(6, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepUnsupported',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(6);
      expect(only(r, 'EmitEvent')).toMatchObject([{ eventType: 'Warning' }]);
    },
  },
  {
    name: 'setMirrorRoute: route action, completes at once',
    rollout: mid(7, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepRoute',
    check: (r) => {
      expect(only(r, 'SetMirrorRoute')).toEqual([
        { type: 'SetMirrorRoute', name: 'm', match: [], percentage: 10 },
      ]);
      expect(r.status.currentStepIndex).toBe(8);
    },
  },
  {
    name: 'promote --full: full weight before the steps are done',
    rollout: promoteFullRollout(mid(1)),
    observed: obs({ weight: 20 }),
    transition: 'setTrafficWeight',
    check: (r) => expect(only(r, 'SetWeight')).toEqual([{ type: 'SetWeight', canary: 100 }]),
  },
  {
    name: 'all steps done and at full: canary becomes stable',
    rollout: mid(8, { canary: bgRun }),
    observed: obs({ weight: 100, analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'promoted',
    check: (r) => {
      expect(r.status).toMatchObject({ stableRS: 'bbb', currentStepIndex: 8 });
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'stable', service: 'demo', hash: 'bbb' },
      ]);
      expect(only(r, 'SetWeight')).toEqual([{ type: 'SetWeight', canary: 0 }]);
      expect(only(r, 'TerminateAnalysisRun')).toEqual([{ type: 'TerminateAnalysisRun', name: BG }]);
      expect(r.status.canary?.weights?.canary.weight).toBe(0);
      expect(r.status.message).toBe('old replicas are pending termination');
    },
  },
  {
    name: 'completed: old stable waits for scaleDownDelaySeconds',
    rollout: {
      ...mid(8),
      status: {
        stableRS: 'bbb',
        currentPodHash: 'bbb',
        currentStepIndex: 8,
        conditions: [
          {
            type: 'Completed',
            status: 'True',
            reason: 'RolloutCompleted',
            message: '',
            lastUpdateTime: iso(0),
            lastTransitionTime: iso(0),
          },
        ],
      },
    },
    observed: obs({
      replicaSets: {
        stable: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        older: [{ hash: 'aaa', replicas: 1, availableReplicas: 1 }],
      },
    }),
    now: 10,
    transition: 'scaleDownOld',
    check: (r) => expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 20_000 }]),
  },
  {
    name: 'completed and clean: steady, Healthy',
    rollout: { ...mid(8), status: { stableRS: 'bbb', currentPodHash: 'bbb', currentStepIndex: 8 } },
    observed: obs({
      replicaSets: {
        stable: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        older: [{ hash: 'aaa', replicas: 0, availableReplicas: 0 }],
      },
    }),
    transition: 'steady',
    check: (r) => {
      expect(r.status.phase).toBe('Healthy');
      expect(cond(r, 'Healthy')).toMatchObject({ status: 'True', reason: 'RolloutHealthy' });
      expect(cond(r, 'Completed')).toMatchObject({ status: 'True', reason: 'RolloutCompleted' });
    },
  },
];

describe('reconcileCanary transitions', () => {
  for (const row of rows)
    it(row.name, () => {
      const r = reconcileCanary(row.rollout, row.observed, at(row.now ?? 0));
      expect(r.transition).toBe(row.transition);
      row.check(r);
    });

  it('is pure: same inputs, same outputs; input not mutated', () => {
    const ro = mid(1);
    const copy = structuredClone(ro);
    const a = reconcileCanary(ro, obs(), at(0));
    const b = reconcileCanary(ro, obs(), at(0));
    expect(a).toEqual(b);
    expect(ro).toEqual(copy);
  });
});

describe('user actions (§1.9)', () => {
  it('promote without a pause condition skips the current step', () => {
    expect(promoteRollout(mid(2)).status?.currentStepIndex).toBe(3);
  });
  it('promote on a pause step only clears the pause conditions', () => {
    const r = promoteRollout(
      mid(3, { controllerPause: true, pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(0) }] }),
    );
    expect(r.status).toMatchObject({ currentStepIndex: 3, controllerPause: true });
    expect(r.status?.pauseConditions).toBeUndefined();
  });
  it('promote on Inconclusive also clears controllerPause and increments', () => {
    const r = promoteRollout(
      mid(2, {
        controllerPause: true,
        pauseConditions: [{ reason: 'InconclusiveAnalysisRun', startTime: iso(0) }],
      }),
    );
    expect(r.status?.currentStepIndex).toBe(3);
    expect(r.status?.controllerPause).toBeUndefined();
  });
  it('abort / retry / promote --full write the status flags', () => {
    expect(abortRollout(mid(0)).status?.abort).toBe(true);
    expect(retryRollout(mid(0, { abort: true })).status?.abort).toBe(false);
    expect(promoteFullRollout(mid(0, {}, { paused: true }))).toMatchObject({
      spec: { paused: false },
      status: { promoteFull: true },
    });
  });
});

describe('abort and retry on a completed rollout', () => {
  it('retry clears abortedAt and keeps the steps done', () => {
    const ro: Rollout = {
      ...mid(8),
      status: {
        stableRS: 'bbb',
        currentPodHash: 'bbb',
        currentStepIndex: 0,
        abort: false,
        abortedAt: iso(0),
      },
    };
    const same = { hash: 'bbb', replicas: 1, availableReplicas: 1 };
    const r = reconcileCanary(ro, obs({ replicaSets: { stable: same, canary: same } }), at(1));
    expect(r.transition).toBe('retried');
    expect(r.status.currentStepIndex).toBe(8);
    expect(r.status.abortedAt).toBeUndefined();
  });
});
