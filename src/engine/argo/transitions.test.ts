import { describe, expect, it } from 'vitest';
import type { Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { CANARY_TRANSITIONS, canaryStepHash, formatLabelSelector, reconcileCanary } from './machine.js';
import type { CanaryAction, CanaryObservation, CanaryResult } from './types.js';
import {
  abortRollout,
  promoteFullRollout,
  promoteRollout,
  restartRollout,
  retryRollout,
} from './user-actions.js';

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
      expect(only(r, 'RemoveManagedRoutes')).toEqual([{ type: 'RemoveManagedRoutes', names: ['h', 'm'] }]);
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
    name: 'pods not available yet: wait, no weight change; requeue at the progress deadline',
    rollout: mid(0),
    observed: obs({ canary: [1, 0], weight: 0 }),
    transition: 'waitForReplicas',
    check: (r) => {
      // Progress (a new updated pod) restarts the deadline clock: 600s + Argo's 1s margin.
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 601_000 }]);
      expect(cond(r, 'Progressing')).toMatchObject({
        status: 'True',
        reason: 'ReplicaSetUpdated',
        message: 'ReplicaSet "demo-bbb" is progressing.',
        lastUpdateTime: iso(0),
      });
      expect(r.status).toMatchObject({ phase: 'Progressing', message: 'waiting for all steps to complete' });
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
      expect(only(r, 'EmitEvent')).toEqual([
        {
          type: 'EmitEvent',
          eventType: 'Warning',
          reason: 'StepUnsupported',
          message:
            'Step 7/8 is an experiment step (templates: e); Vireo cannot run Experiments yet (no Experiment ReplicaSets or Experiment analysis), so the rollout holds here; promote to skip the step, or abort',
        },
      ]);
      // An experiment step is indefinite: no progress deadline, no requeue.
      expect(only(r, 'RequeueAfter')).toEqual([]);
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
      // The header and mirror routes of steps 4 and 7 go with the promotion.
      expect(only(r, 'RemoveManagedRoutes')).toEqual([{ type: 'RemoveManagedRoutes', names: ['h', 'm'] }]);
      expect(only(r, 'EmitEvent').at(-1)).toMatchObject({
        reason: 'RolloutCompleted',
        message: 'Rollout completed update to revision 1 (bbb): Completed all 8 canary steps',
      });
      // With a router the old stable stays up for scaleDownDelaySeconds: the phase is Healthy
      // (CalculateRolloutPhase skips "old replicas pending" with a router), the Healthy condition not yet.
      expect(r.status).toMatchObject({ phase: 'Healthy', message: '' });
      expect(cond(r, 'Healthy')).toMatchObject({ status: 'False' });
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
      weight: 0,
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
    name: 'completed: old ReplicaSets beyond revisionHistoryLimit (2) with no pods are deleted, oldest first',
    rollout: {
      ...mid(8),
      spec: { ...mid(8).spec, revisionHistoryLimit: 2 },
      status: { stableRS: 'bbb', currentPodHash: 'bbb', currentStepIndex: 8 },
    },
    observed: obs({
      weight: 0,
      replicaSets: {
        stable: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
        older: [
          { hash: 'r4', replicas: 0, availableReplicas: 0, createdAt: iso(-100) },
          { hash: 'r1', replicas: 0, availableReplicas: 0, createdAt: iso(-400) },
          { hash: 'r2', replicas: 0, availableReplicas: 0, currentReplicas: 1, createdAt: iso(-300) },
          { hash: 'r3', replicas: 0, availableReplicas: 0, createdAt: iso(-200) },
        ],
      },
    }),
    transition: 'cleanupHistory',
    check: (r) => {
      // r1 and r2 exceed the limit; r2 still has a terminating pod and waits for a later call.
      expect(r.actions.filter((a) => a.type === 'DeleteReplicaSet')).toEqual([
        { type: 'DeleteReplicaSet', hash: 'r1' },
      ]);
      expect(r.status.phase).toBe('Healthy');
    },
  },
  {
    name: 'completed and clean: steady, Healthy',
    rollout: { ...mid(8), status: { stableRS: 'bbb', currentPodHash: 'bbb', currentStepIndex: 8 } },
    observed: obs({
      weight: 0,
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

// ---------------------------------------------------------------------------------------------
// Step hash, status fields, progress deadline, restart, managed routes, rollbackWindow,
// replicaProgressThreshold, weight after promotion

const HASH = canaryStepHash(ROLLOUT.spec.strategy?.canary?.steps);
const canarySpecOf = (extra: Record<string, unknown>) =>
  ({
    canary: { ...ROLLOUT.spec.strategy?.canary, ...extra },
  }) as NonNullable<Rollout['spec']['strategy']>;

const progressingSince = (s: number) => ({
  type: 'Progressing',
  status: 'True',
  reason: 'ReplicaSetUpdated',
  message: 'ReplicaSet "demo-bbb" is progressing.',
  lastUpdateTime: iso(s),
  lastTransitionTime: iso(s),
});

/** Step 0 (setWeight 20): the canary pod never became available; nothing moved since `since`. */
const stuck = (since: number, extra: Partial<RolloutStatus> = {}, spec: Partial<Rollout['spec']> = {}) =>
  mid(
    0,
    {
      currentStepHash: HASH,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [progressingSince(since)],
      ...extra,
    },
    spec,
  );

/** Fully promoted to bbb with 4 replicas (spec overrides merged). */
const done4 = (spec: Partial<Rollout['spec']> = {}, extra: Partial<RolloutStatus> = {}): Rollout =>
  mid(
    8,
    { stableRS: 'bbb', currentPodHash: 'bbb', currentStepHash: HASH, ...extra },
    { replicas: 4, ...spec },
  );
const bbb4 = (available = 4, podsToRestart?: number) => {
  const rs = {
    hash: 'bbb',
    replicas: 4,
    availableReplicas: available,
    ...(podsToRestart !== undefined ? { podsToRestart } : {}),
  };
  return { stable: rs, canary: rs };
};

/** Undo from bbb (stable, created at 200) back to aaa (created at 100). */
const undoToAaa = (
  status: Partial<RolloutStatus>,
  aaaReplicas: number,
  windowRevisions: number,
  older: CanaryObservation['replicaSets']['older'] = [],
): [Rollout, CanaryObservation] => [
  mid(
    8,
    { stableRS: 'bbb', currentPodHash: 'bbb', currentStepHash: HASH, ...status },
    {
      rollbackWindow: { revisions: windowRevisions },
    },
  ),
  {
    podHash: 'aaa',
    revision: 3,
    replicaSets: {
      stable: { hash: 'bbb', replicas: 1, availableReplicas: 1, createdAt: iso(200) },
      canary: { hash: 'aaa', replicas: aaaReplicas, availableReplicas: aaaReplicas, createdAt: iso(100) },
      older,
    },
    weights: { canary: 0 },
  },
];

const thresholdRollout = (threshold?: { type: 'Percent' | 'Pods'; value: number }, index = 0) =>
  mid(
    index,
    {},
    {
      replicas: 10,
      strategy: canarySpecOf(threshold ? { replicaProgressThreshold: threshold } : {}),
    },
  );
const tenReplicas = (canary: [number, number], weight = 20): CanaryObservation =>
  obs({
    weight,
    replicaSets: {
      stable: { hash: 'aaa', replicas: 10, availableReplicas: 10 },
      canary: { hash: 'bbb', replicas: canary[0], availableReplicas: canary[1] },
    },
  });

const moreRows: Row[] = [
  {
    name: 'currentStepHash is written every pass; a status without one is adopted, not reset',
    rollout: mid(3, { canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    transition: 'stepPause',
    check: (r) => {
      expect(r.status.currentStepHash).toBe(HASH);
      expect(r.status.currentStepIndex).toBe(3);
    },
  },
  {
    name: 'steps changed mid-rollout: index back to 0, runs terminated, abort lifted',
    rollout: mid(5, { currentStepHash: 'bbbbbbbbbb', abort: true, abortedAt: iso(0), canary: bgRun }),
    observed: obs({ analysisRuns: { [BG]: { phase: 'Running' } } }),
    now: 5,
    transition: 'stepsChanged',
    check: (r) => {
      expect(r.from).toBe('NewRevision');
      expect(r.status).toMatchObject({ currentStepIndex: 0, currentStepHash: HASH, currentPodHash: 'bbb' });
      expect(r.status.abort).toBeUndefined();
      expect(r.status.abortedAt).toBeUndefined();
      expect(r.status.canary?.currentBackgroundAnalysisRunStatus).toBeUndefined();
      expect(r.actions).toEqual([
        { type: 'TerminateAnalysisRun', name: BG },
        { type: 'RequeueAfter', ms: 0 },
      ]);
      expect(cond(r, 'Progressing')).toMatchObject({ reason: 'ReplicaSetUpdated', lastUpdateTime: iso(5) });
    },
  },
  {
    name: 'steps changed on a completed rollout: it stays completed (skip to the end)',
    rollout: {
      ...mid(8),
      status: { stableRS: 'bbb', currentPodHash: 'bbb', currentStepIndex: 8, currentStepHash: 'x' },
    },
    observed: obs({ weight: 0, replicaSets: bbb4(1) }),
    transition: 'stepsChanged',
    check: (r) => {
      expect(r.status.currentStepIndex).toBe(8);
      expect(only(r, 'EmitEvent')).toMatchObject([
        { reason: 'SkipSteps', message: 'Rollback to stable ReplicaSets' },
      ]);
    },
  },
  {
    name: 'status carries replica counts (pods, not spec), HPAReplicas and the selector',
    rollout: mid(1, { canary: bgRun, currentStepHash: HASH }, { replicas: 4 }),
    observed: obs({
      analysisRuns: { [BG]: { phase: 'Running' } },
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 3, readyReplicas: 4 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1, currentReplicas: 2 },
        older: [{ hash: 'ccc', replicas: 0, availableReplicas: 0, currentReplicas: 1 }],
      },
    }),
    transition: 'waitForReplicas',
    check: (r) => {
      expect(r.status).toMatchObject({
        replicas: 7,
        updatedReplicas: 2,
        readyReplicas: 5,
        availableReplicas: 4,
        HPAReplicas: 7,
        selector: 'app=demo',
        currentStepHash: HASH,
      });
      // Available: every ReplicaSet's available pods together reach spec.replicas.
      expect(cond(r, 'Available')).toMatchObject({ status: 'True' });
    },
  },
  {
    name: 'no progress for progressDeadlineSeconds: ProgressDeadlineExceeded, Degraded, no abort',
    rollout: stuck(0),
    observed: obs({ canary: [1, 0] }),
    now: 601,
    transition: 'waitForReplicas',
    check: (r) => {
      expect(cond(r, 'Progressing')).toEqual({
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "demo-bbb" has timed out progressing.',
        lastUpdateTime: iso(601),
        lastTransitionTime: iso(601),
      });
      expect(r.status).toMatchObject({
        phase: 'Degraded',
        message: 'ProgressDeadlineExceeded: ReplicaSet "demo-bbb" has timed out progressing.',
      });
      expect(r.status.abort).toBeUndefined();
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'exactly at the deadline: not yet; requeue a second later',
    rollout: stuck(0),
    observed: obs({ canary: [1, 0] }),
    now: 600,
    transition: 'waitForReplicas',
    check: (r) => {
      expect(cond(r, 'Progressing')).toEqual(progressingSince(0));
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 1000 }]);
      expect(r.status.phase).toBe('Progressing');
    },
  },
  {
    name: 'a spec.paused rollout does not time out',
    rollout: stuck(0, {}, { paused: true }),
    observed: obs({ canary: [1, 0] }),
    now: 5000,
    transition: 'manualPause',
    check: (r) => {
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'RolloutPaused' });
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'manually paused' });
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'a controller pause (Inconclusive) does not time out, even with progressDeadlineAbort',
    rollout: stuck(
      0,
      { controllerPause: true, pauseConditions: [{ reason: 'InconclusiveAnalysisRun', startTime: iso(0) }] },
      { progressDeadlineAbort: true },
    ),
    observed: obs({ canary: [1, 0] }),
    now: 5000,
    transition: 'pausedHold',
    check: (r) => {
      expect(r.status.abort).toBeUndefined();
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'InconclusiveAnalysisRun' });
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'resumed after a long pause: RolloutResumed restarts the deadline clock',
    rollout: stuck(0, {
      conditions: [
        { ...progressingSince(0), status: 'Unknown', reason: 'RolloutPaused', message: 'Rollout is paused' },
      ],
    }),
    observed: obs({ canary: [1, 0] }),
    now: 5000,
    transition: 'waitForReplicas',
    check: (r) => {
      expect(cond(r, 'Progressing')).toMatchObject({
        status: 'Unknown',
        reason: 'RolloutResumed',
        lastUpdateTime: iso(5000),
      });
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 601_000 }]);
    },
  },
  {
    name: 'progress late in the window restarts the clock (lastUpdateTime moves, transition time stays)',
    rollout: stuck(0),
    observed: obs({ canary: [1, 1] }),
    now: 599,
    transition: 'stepWeightOrScale',
    check: (r) => {
      expect(cond(r, 'Progressing')).toEqual({ ...progressingSince(0), lastUpdateTime: iso(599) });
      expect(r.status.currentStepIndex).toBe(1);
    },
  },
  {
    name: 'analysis/experiment/pause steps do not count against the deadline',
    rollout: mid(2, {
      currentStepHash: HASH,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      conditions: [progressingSince(0)],
      canary: { ...bgRun, currentStepAnalysisRunStatus: { name: STEP2, status: 'Running' } },
    }),
    observed: obs({
      canary: [1, 0],
      analysisRuns: { [BG]: { phase: 'Running' }, [STEP2]: { phase: 'Running' } },
    }),
    now: 10_000,
    transition: 'waitForReplicas',
    check: (r) => {
      expect(cond(r, 'Progressing')).toEqual(progressingSince(0));
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'progressDeadlineAbort: the timeout aborts (routes removed, Degraded)',
    rollout: stuck(0, {}, { progressDeadlineAbort: true }),
    observed: obs({ canary: [1, 0] }),
    now: 601,
    transition: 'progressDeadlineAbort',
    check: (r) => {
      const message =
        'Rollout aborted update to revision 1: ReplicaSet "demo-bbb" has timed out progressing.';
      expect(r.status).toMatchObject({
        abort: true,
        abortedAt: iso(601),
        currentStepIndex: 0,
        phase: 'Degraded',
        message: `RolloutAborted: ${message}`,
      });
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutAborted', message });
      expect(only(r, 'RemoveManagedRoutes')).toEqual([{ type: 'RemoveManagedRoutes', names: ['h', 'm'] }]);
      expect(only(r, 'EmitEvent')).toEqual([
        { type: 'EmitEvent', eventType: 'Warning', reason: 'RolloutAborted', message },
      ]);
    },
  },
  {
    name: 'progressDeadlineAbort waits while the pods still make progress',
    rollout: stuck(0, {}, { progressDeadlineAbort: true }),
    observed: obs({ canary: [1, 1] }),
    now: 900,
    transition: 'stepWeightOrScale',
    check: (r) => {
      expect(r.status.abort).toBeUndefined();
      expect(cond(r, 'Progressing')).toMatchObject({ reason: 'ReplicaSetUpdated', lastUpdateTime: iso(900) });
    },
  },
  {
    name: 'restart due: evict maxUnavailable (25% of 4 = 1) pods, the stable first; requeue 30s',
    rollout: done4({ restartAt: iso(0) }),
    observed: obs({ weight: 0, replicaSets: bbb4(4, 4) }),
    now: 10,
    transition: 'restartPods',
    check: (r) => {
      expect(r.actions).toEqual([
        { type: 'RestartPods', hash: 'bbb', count: 1, before: iso(0) },
        { type: 'RequeueAfter', ms: 30_000 },
      ]);
      expect(r.status).toMatchObject({ phase: 'Progressing', message: 'rollout is restarting' });
      expect(r.status.restartedAt).toBeUndefined();
    },
  },
  {
    name: 'restart mid-canary: stable, then the new ReplicaSet, within maxUnavailable 2',
    rollout: mid(
      3,
      { currentStepHash: HASH, canary: bgRun },
      { replicas: 4, restartAt: iso(0), strategy: canarySpecOf({ maxUnavailable: 2 }) },
    ),
    observed: obs({
      analysisRuns: { [BG]: { phase: 'Running' } },
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 4, podsToRestart: 1 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1, podsToRestart: 1 },
      },
    }),
    now: 10,
    transition: 'restartPods',
    check: (r) =>
      // 5 available - (max(4, 5) - 2) = 2 pods may go.
      expect(only(r, 'RestartPods')).toEqual([
        { type: 'RestartPods', hash: 'aaa', count: 1, before: iso(0) },
        { type: 'RestartPods', hash: 'bbb', count: 1, before: iso(0) },
      ]),
  },
  {
    name: 'restart waits while a pod is down; checks again in 30s',
    rollout: done4({ restartAt: iso(0) }),
    observed: obs({ weight: 0, replicaSets: bbb4(3, 3) }),
    now: 10,
    transition: 'steady',
    check: (r) => expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 30_000 }]),
  },
  {
    name: 'restart done: every pod is younger than restartAt, status.restartedAt recorded',
    rollout: done4({ restartAt: iso(0) }),
    observed: obs({ weight: 0, replicaSets: bbb4(4, 0) }),
    now: 40,
    transition: 'restartCompleted',
    check: (r) => {
      expect(r.status.restartedAt).toBe(iso(0));
      expect(r.status).toMatchObject({ phase: 'Healthy', message: '' });
      const next = reconcileCanary(
        { ...done4({ restartAt: iso(0) }), status: r.status },
        obs({ weight: 0, replicaSets: bbb4(4, 0) }),
        at(41),
      );
      expect(next.transition).toBe('steady');
    },
  },
  {
    name: 'restart not yet due: Progressing "rollout is restarting", requeue at restartAt',
    rollout: done4({ restartAt: iso(100) }),
    observed: obs({ weight: 0, replicaSets: bbb4(4, 4) }),
    now: 10,
    transition: 'steady',
    check: (r) => {
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 90_001 }]);
      expect(r.status).toMatchObject({ phase: 'Progressing', message: 'rollout is restarting' });
    },
  },
  {
    name: 'restart runs while the rollout is paused too',
    rollout: mid(3, { currentStepHash: HASH }, { replicas: 4, paused: true, restartAt: iso(0) }),
    observed: obs({
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 4, podsToRestart: 2 },
        canary: { hash: 'bbb', replicas: 1, availableReplicas: 1 },
      },
    }),
    now: 10,
    transition: 'restartPods',
    check: (r) => {
      expect(r.from).toBe('Paused');
      expect(only(r, 'RestartPods')).toEqual([
        { type: 'RestartPods', hash: 'aaa', count: 1, before: iso(0) },
      ]);
    },
  },
  {
    name: 'a new template cancels a pending restart (restartedAt := restartAt)',
    rollout: mid(3, {}, { restartAt: iso(0) }),
    observed: obs({ podHash: 'ccc' }),
    now: 10,
    transition: 'revisionChanged',
    check: (r) => expect(r.status.restartedAt).toBe(iso(0)),
  },
  {
    name: 'completed with managed routes left on the router: remove them',
    rollout: done4(),
    observed: { ...obs({ weight: 0, replicaSets: bbb4() }), managedRoutes: ['h'] },
    transition: 'removeManagedRoutes',
    check: (r) => expect(r.actions).toEqual([{ type: 'RemoveManagedRoutes', names: ['h', 'm'] }]),
  },
  {
    name: 'aborted with managed routes left: remove them',
    rollout: mid(0, { abort: true, abortedAt: iso(0) }),
    observed: { ...obs({ weight: 0, canary: [0, 0] }), managedRoutes: ['m'] },
    now: 60,
    transition: 'removeManagedRoutes',
    check: (r) =>
      expect(only(r, 'RemoveManagedRoutes')).toEqual([{ type: 'RemoveManagedRoutes', names: ['h', 'm'] }]),
  },
  {
    name: 'promote --full removes managed routes',
    rollout: promoteFullRollout(mid(5, { currentStepHash: HASH })),
    observed: { ...obs(), managedRoutes: ['h'] },
    transition: 'removeManagedRoutes',
    check: (r) => expect(r.from).toBe('Promoting'),
  },
  {
    name: 'rolled back to the stable mid-update: weight to 0, canary Service back to the stable',
    rollout: mid(8, {
      stableRS: 'aaa',
      currentPodHash: 'aaa',
      canary: {
        weights: {
          canary: { weight: 40, podTemplateHash: 'bbb', serviceName: 'demo-canary' },
          stable: { weight: 60, podTemplateHash: 'aaa', serviceName: 'demo' },
        },
      },
    }),
    observed: obs({
      podHash: 'aaa',
      weight: 40,
      replicaSets: {
        stable: { hash: 'aaa', replicas: 1, availableReplicas: 1 },
        canary: { hash: 'aaa', replicas: 1, availableReplicas: 1 },
        older: [{ hash: 'bbb', replicas: 1, availableReplicas: 1 }],
      },
    }),
    transition: 'resetWeightToStable',
    check: (r) => {
      expect(r.actions).toEqual([
        { type: 'SetWeight', canary: 0 },
        { type: 'SwitchServiceSelector', role: 'canary', service: 'demo-canary', hash: 'aaa' },
        {
          type: 'EmitEvent',
          eventType: 'Normal',
          reason: 'TrafficWeightUpdated',
          message: 'Traffic weight updated from 40 to 0',
        },
      ]);
      expect(r.status.canary?.weights).toEqual({
        canary: { weight: 0, podTemplateHash: 'aaa', serviceName: 'demo-canary' },
        stable: { weight: 100, podTemplateHash: 'aaa', serviceName: 'demo' },
      });
    },
  },
  {
    name: 'rolled back to the stable with dynamicStableScale: weight only as far as the stable can take',
    rollout: mid(
      8,
      {
        stableRS: 'aaa',
        currentPodHash: 'aaa',
        canary: {
          weights: {
            canary: { weight: 40, podTemplateHash: 'bbb', serviceName: 'demo-canary' },
            stable: { weight: 60, podTemplateHash: 'aaa', serviceName: 'demo' },
          },
        },
      },
      { replicas: 4, strategy: canarySpecOf({ dynamicStableScale: true }) },
    ),
    observed: obs({
      podHash: 'aaa',
      weight: 40,
      replicaSets: {
        stable: { hash: 'aaa', replicas: 4, availableReplicas: 3 },
        canary: { hash: 'aaa', replicas: 4, availableReplicas: 3 },
        older: [{ hash: 'bbb', replicas: 2, availableReplicas: 2 }],
      },
    }),
    transition: 'resetWeightToStable',
    check: (r) => {
      // 100 - 100 * 3/4 = 25.
      expect(only(r, 'SetWeight')).toEqual([{ type: 'SetWeight', canary: 25 }]);
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
      expect(r.status.canary?.weights?.canary).toEqual({
        weight: 25,
        podTemplateHash: 'bbb',
        serviceName: 'demo-canary',
      });
    },
  },
  {
    name: 'completed: the stable is kept at spec.replicas',
    rollout: done4(),
    observed: obs({
      weight: 0,
      replicaSets: {
        stable: { hash: 'bbb', replicas: 5, availableReplicas: 5 },
        canary: { hash: 'bbb', replicas: 5, availableReplicas: 5 },
      },
    }),
    transition: 'scaleStable',
    check: (r) => expect(r.actions).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 4 }]),
  },
  (() => {
    const [rollout, observed] = undoToAaa({}, 1, 2);
    return {
      name: 'undo within rollbackWindow to a ReplicaSet still up: skip the steps at once',
      rollout,
      observed,
      transition: 'revisionChanged',
      check: (r: CanaryResult) => {
        expect(r.status).toMatchObject({ currentPodHash: 'aaa', currentStepIndex: 8, stableRS: 'bbb' });
        expect(only(r, 'EmitEvent')).toMatchObject([
          { reason: 'RolloutUpdated', message: 'Rollout updated to revision 3' },
          { reason: 'SkipSteps', message: 'Rollback to active ReplicaSets within RollbackWindow' },
        ]);
      },
    };
  })(),
  (() => {
    const older = [{ hash: 'ccc', replicas: 0, availableReplicas: 0, createdAt: iso(150) }];
    const [rollout, observed] = undoToAaa({}, 1, 1, older);
    return {
      name: 'undo outside rollbackWindow (a revision lies between): the steps run again',
      rollout,
      observed,
      transition: 'revisionChanged',
      check: (r: CanaryResult) => {
        expect(r.status.currentStepIndex).toBe(0);
        expect(only(r, 'EmitEvent')).toHaveLength(1);
      },
    };
  })(),
  (() => {
    const [rollout, observed] = undoToAaa({}, 0, 2);
    return {
      name: 'undo within rollbackWindow to a scaled-down ReplicaSet: index 0 on this call',
      rollout,
      observed,
      transition: 'revisionChanged',
      check: (r: CanaryResult) => expect(r.status.currentStepIndex).toBe(0),
    };
  })(),
  (() => {
    const [rollout, observed] = undoToAaa(
      {
        currentPodHash: 'aaa',
        currentStepIndex: 1,
        controllerPause: true,
        pauseConditions: [{ reason: 'CanaryPauseStep', startTime: iso(0) }],
      },
      0,
      2,
    );
    return {
      name: 'rollback within window: steps and pauses skipped (fast-track)',
      rollout,
      observed,
      transition: 'rollbackWindowFastTrack',
      check: (r: CanaryResult) => {
        expect(r.from).toBe('Promoting');
        expect(r.status.currentStepIndex).toBe(8);
        expect(r.status.pauseConditions).toBeUndefined();
        expect(r.status.controllerPause).toBeUndefined();
      },
    };
  })(),
  (() => {
    const [rollout, observed] = undoToAaa({ currentPodHash: 'aaa', currentStepIndex: 8 }, 1, 2);
    return {
      name: 'rollback within window at full: promoted for that reason',
      rollout,
      observed: { ...observed, weights: { canary: 100 } },
      transition: 'promoted',
      check: (r: CanaryResult) => {
        expect(r.status.stableRS).toBe('aaa');
        expect(only(r, 'EmitEvent').at(-1)).toMatchObject({
          reason: 'RolloutCompleted',
          message: 'Rollout completed update to revision 3 (aaa): Rollback within window',
        });
      },
    };
  })(),
  (() => {
    const [rollout, observed] = undoToAaa(
      { currentPodHash: 'aaa', currentStepIndex: 0, abort: true, abortedAt: iso(0) },
      1,
      2,
    );
    return {
      name: 'an aborted rollback within window stays aborted (no fast-track past an abort)',
      rollout,
      observed,
      transition: 'abortRollback',
      check: (r: CanaryResult) => expect(r.status).toMatchObject({ stableRS: 'bbb', abort: true }),
    };
  })(),
  {
    name: 'replicaProgressThreshold 50%: 1 of 2 canary pods available completes the step',
    rollout: thresholdRollout({ type: 'Percent', value: 50 }),
    observed: tenReplicas([2, 1]),
    transition: 'stepWeightOrScale',
    check: (r) => expect(r.status.currentStepIndex).toBe(1),
  },
  {
    name: 'without replicaProgressThreshold every canary pod must be available',
    rollout: thresholdRollout(),
    observed: tenReplicas([2, 1]),
    transition: 'waitForReplicas',
    check: (r) => expect(r.status.currentStepIndex).toBe(0),
  },
  {
    name: 'replicaProgressThreshold Pods 1: one available pod is enough',
    rollout: thresholdRollout({ type: 'Pods', value: 1 }),
    observed: tenReplicas([2, 1]),
    transition: 'stepWeightOrScale',
    check: (r) => expect(r.status.currentStepIndex).toBe(1),
  },
  {
    name: 'replicaProgressThreshold Pods above the desired count asks for the desired count only',
    rollout: thresholdRollout({ type: 'Pods', value: 5 }),
    observed: tenReplicas([2, 2]),
    transition: 'stepWeightOrScale',
    check: (r) => expect(r.status.currentStepIndex).toBe(1),
  },
  {
    name: 'replicaProgressThreshold Pods 2 of 2 desired: one available pod is not enough',
    rollout: thresholdRollout({ type: 'Pods', value: 2 }),
    observed: tenReplicas([2, 1]),
    transition: 'waitForReplicas',
    check: (r) => expect(r.status.currentStepIndex).toBe(0),
  },
  {
    name: 'replicaProgressThreshold does not promote: the canary becomes stable only fully available',
    rollout: thresholdRollout({ type: 'Percent', value: 50 }, 8),
    observed: tenReplicas([10, 6], 100),
    transition: 'waitForFullAvailability',
    check: (r) => {
      expect(r.status.stableRS).toBe('aaa');
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 601_000 }]);
    },
  },
  {
    name: 'plugin step: the warning names the plugin and what is missing',
    rollout: mid(
      1,
      {},
      {
        strategy: canarySpecOf({
          analysis: undefined,
          steps: [{ setWeight: 20 }, { plugin: { name: 'acme/gate', config: {} } }],
        }),
      },
    ),
    observed: obs(),
    transition: 'stepUnsupported',
    check: (r) =>
      expect(only(r, 'EmitEvent')).toEqual([
        {
          type: 'EmitEvent',
          eventType: 'Warning',
          reason: 'StepUnsupported',
          message:
            'Step 2/2 runs step plugin "acme/gate"; Vireo cannot load step plugins yet (no plugin runtime), so the rollout holds here; promote to skip the step, or abort',
        },
      ]),
  },
];

describe('reconcileCanary: step hash, status fields, deadline, restart, routes, rollbackWindow, threshold', () => {
  for (const row of moreRows)
    it(row.name, () => {
      const r = reconcileCanary(row.rollout, row.observed, at(row.now ?? 0));
      expect(r.transition).toBe(row.transition);
      row.check(r);
    });

  it('every transition has a row', () => {
    const covered = new Set([...rows, ...moreRows].map((r) => r.transition));
    expect(Object.keys(CANARY_TRANSITIONS).filter((t) => !covered.has(t))).toEqual([]);
  });

  it('canaryStepHash: FNV-1a of the canonical JSON, Argo-style short rendering', () => {
    // FNV-1a('[{"setWeight":20},{"pause":{"duration":"1m"}}]') = 3869253257, digits on the safe alphabet.
    expect(canaryStepHash([{ setWeight: 20 }, { pause: { duration: '1m' } }])).toBe('7dbf69769c');
    expect(canaryStepHash(undefined)).toBe('5ffbfbbd64'); // "null"
    const a = canaryStepHash([{ setCanaryScale: { weight: 5, matchTrafficWeight: false } }]);
    const b = canaryStepHash([{ setCanaryScale: { matchTrafficWeight: false, weight: 5 } }]);
    expect(a).toBe(b);
    expect(canaryStepHash([{ setWeight: 21 }])).not.toBe(canaryStepHash([{ setWeight: 20 }]));
  });

  it('formatLabelSelector renders like metav1.FormatLabelSelector', () => {
    expect(formatLabelSelector(undefined)).toBe('<none>');
    expect(formatLabelSelector({})).toBe('<none>');
    expect(
      formatLabelSelector({
        matchLabels: { tier: 'web', app: 'demo' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'canary'] },
          { key: 'zone', operator: 'NotIn', values: ['b', 'a'] },
          { key: 'beta', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app=demo,beta,env in (canary,prod),!legacy,tier=web,zone notin (a,b)');
  });

  it('restart end to end: restartRollout, then the machine restarts and records restartedAt', () => {
    const ro = restartRollout(done4(), at(0));
    expect(ro.spec.restartAt).toBe('2026-01-01T00:00:00Z');
    const r = reconcileCanary(ro, obs({ weight: 0, replicaSets: bbb4(4, 4) }), at(1));
    expect(r.transition).toBe('restartPods');
  });
});

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
