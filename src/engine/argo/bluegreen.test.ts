import { describe, expect, it } from 'vitest';
import type { Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import {
  BLUEGREEN_STATES,
  BLUEGREEN_TRANSITION_TABLE,
  BLUEGREEN_TRANSITIONS,
  type BlueGreenAction,
  type BlueGreenResult,
  reconcileBlueGreen,
} from './bluegreen.js';
import { USER_OPS } from './sim.js';
import type { CanaryObservation, ObservedReplicaSet } from './types.js';

const {
  abort: abortRollout,
  pause: pauseRollout,
  promoteFull: promoteFullRollout,
  promote: promoteRollout,
  retry: retryRollout,
} = USER_OPS;

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const iso = (s: number) => at(s).toISOString();

type BlueGreenSpec = NonNullable<NonNullable<Rollout['spec']['strategy']>['blueGreen']>;

const BG: BlueGreenSpec = {
  activeService: 'demo-active',
  previewService: 'demo-preview',
  autoPromotionEnabled: false,
  prePromotionAnalysis: {
    templates: [{ templateName: 'pre' }],
    args: [{ name: 'stable', valueFrom: { podTemplateHashValue: 'Stable' } }],
  },
  postPromotionAnalysis: { templates: [{ templateName: 'post' }] },
};

const ROLLOUT: Rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo', generation: 4 },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'demo' } },
    template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    strategy: { blueGreen: BG },
  } as Rollout['spec'],
};

const PRE = 'demo-bbb-1-pre';
const POST = 'demo-bbb-1-post';

/** A rollout mid-update: stable aaa (active), new bbb behind the preview Service. */
function mid(extra: Partial<RolloutStatus> = {}, bg: Partial<BlueGreenSpec> = {}, paused?: boolean): Rollout {
  const { blueGreen, ...rest } = extra;
  return {
    ...ROLLOUT,
    spec: {
      ...ROLLOUT.spec,
      ...(paused !== undefined ? { paused } : {}),
      strategy: { blueGreen: { ...BG, ...bg } },
    },
    status: {
      stableRS: 'aaa',
      currentPodHash: 'bbb',
      ...rest,
      blueGreen: { activeSelector: 'aaa', previewSelector: 'bbb', ...blueGreen },
    },
  };
}

/** A fully promoted rollout on aaa. */
function done(extra: Partial<RolloutStatus> = {}, bg: Partial<BlueGreenSpec> = {}): Rollout {
  const r = mid(extra, bg);
  r.status = {
    ...r.status,
    currentPodHash: 'aaa',
    blueGreen: { previewSelector: 'aaa', ...extra.blueGreen },
  };
  if (!extra.blueGreen || !('activeSelector' in extra.blueGreen))
    r.status = { ...r.status, blueGreen: { ...r.status?.blueGreen, activeSelector: 'aaa' } };
  return r;
}

const rs = (hash: string, replicas: number, available = replicas): ObservedReplicaSet => ({
  hash,
  replicas,
  availableReplicas: available,
});
/** The ReplicaSet created at `s`. */
const born = (r: ObservedReplicaSet, s: number): ObservedReplicaSet => ({ ...r, createdAt: iso(s) });

/** The Rollout with spec fields set (progressDeadlineSeconds, paused...). */
const withSpec = (r: Rollout, spec: Partial<Rollout['spec']>): Rollout => ({
  ...r,
  spec: { ...r.spec, ...spec },
});

function obs(
  o: {
    podHash?: string;
    stable?: ObservedReplicaSet | null;
    fresh?: ObservedReplicaSet | null;
    older?: ObservedReplicaSet[];
    runs?: CanaryObservation['analysisRuns'];
  } = {},
): CanaryObservation {
  const podHash = o.podHash ?? 'bbb';
  const stable = o.stable === undefined ? rs('aaa', 2) : o.stable;
  const fresh = o.fresh === undefined ? rs(podHash, 2) : o.fresh;
  return {
    podHash,
    revision: 1,
    replicaSets: {
      ...(stable ? { stable } : {}),
      ...(fresh ? { canary: fresh } : {}),
      older: o.older ?? [],
    },
    ...(o.runs ? { analysisRuns: o.runs } : {}),
  };
}

const only = <T extends BlueGreenAction['type']>(r: BlueGreenResult, type: T) =>
  r.actions.filter((a) => a.type === type);
const events = (r: BlueGreenResult) =>
  r.actions.flatMap((a) => (a.type === 'EmitEvent' ? [`${a.eventType}/${a.reason}: ${a.message}`] : []));
const cond = (r: BlueGreenResult, type: string) => r.status.conditions?.find((c) => c.type === type);
const requeue = (r: BlueGreenResult) => only(r, 'RequeueAfter');

type Condition = NonNullable<RolloutStatus['conditions']>[number];
const condition = (type: string, status: string, reason: string, message: string, s = 0): Condition => ({
  type,
  status,
  reason,
  message,
  lastUpdateTime: iso(s),
  lastTransitionTime: iso(s),
});
/** The rollout completed revision 1 at `s` (the base of the scale-down delay). */
const completedAt = (s = 0) =>
  condition('Completed', 'True', 'RolloutCompleted', 'Rollout completed update to revision 1', s);

/**
 * Mid-update (`mid`) with a 60s progress deadline, progress last seen at 0: its replica fields already
 * say what the default observation with bbb at 2 pods, 1 available, reports (active aaa: 2 of 2).
 */
function stuck(extra: Partial<RolloutStatus> = {}, spec: Partial<Rollout['spec']> = {}): Rollout {
  const progressing = condition(
    'Progressing',
    'True',
    'ReplicaSetUpdated',
    'ReplicaSet "demo-bbb" is progressing.',
  );
  const r = mid({
    replicas: 4,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    conditions: [progressing],
    ...extra,
  });
  return withSpec(r, { progressDeadlineSeconds: 60, ...spec });
}
const TIMED_OUT = 'ReplicaSet "demo-bbb" has timed out progressing.';

/** Promoted to bbb at 0, so aaa waits out its scale-down delay (30s) until 30. */
const promotedToBbb = (bg: Partial<BlueGreenSpec> = {}): Rollout =>
  mid(
    {
      stableRS: 'bbb',
      currentPodHash: 'bbb',
      blueGreen: { activeSelector: 'bbb', previewSelector: 'bbb' },
      conditions: [completedAt(0)],
    },
    bg,
  );
/** The template back on aaa (undo) while bbb is the stable. */
const undone = (fresh = rs('aaa', 2)) => obs({ podHash: 'aaa', stable: rs('bbb', 2), fresh });

const META: Partial<BlueGreenSpec> = {
  activeMetadata: { labels: { role: 'active' } },
  previewMetadata: { labels: { role: 'preview' }, annotations: { note: 'preview' } },
};

const preRun = (status: string) => ({ prePromotionAnalysisRunStatus: { name: PRE, status } });
const postRun = (status: string) => ({ postPromotionAnalysisRunStatus: { name: POST, status } });
const pause = (reason: string, s = 0) => [{ reason, startTime: iso(s) }];

interface Row {
  name: string;
  rollout: Rollout;
  observed: CanaryObservation;
  now?: number;
  from: string;
  transition: string;
  check: (r: BlueGreenResult) => void;
}

const rows: Row[] = [
  // ---------------------------------------------------------------- Initial
  {
    name: 'first revision: created at full scale, preview on it',
    rollout: { ...ROLLOUT },
    observed: obs({ podHash: 'aaa', stable: null, fresh: null }),
    from: 'Initial',
    transition: 'initialDeploy',
    check: (r) => {
      expect(r.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
        { type: 'CreateReplicaSet', hash: 'aaa', replicas: 2 },
        { type: 'SwitchServiceSelector', role: 'preview', service: 'demo-preview', hash: 'aaa' },
      ]);
      expect(r.status).toMatchObject({ currentPodHash: 'aaa', blueGreen: { previewSelector: 'aaa' } });
      expect(r.status.stableRS).toBeUndefined();
      expect(r.status.observedGeneration).toBe('4');
      expect(r.status.phase).toBe('Progressing');
      expect(r.status.message).toBe('more replicas need to be updated');
    },
  },
  {
    name: 'first revision: wait until every pod is available',
    rollout: { ...ROLLOUT, status: { currentPodHash: 'aaa', blueGreen: { previewSelector: 'aaa' } } },
    observed: obs({ podHash: 'aaa', stable: null, fresh: rs('aaa', 2, 1) }),
    from: 'Initial',
    transition: 'initialWait',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.message).toBe('updated replicas are still becoming available');
      expect(cond(r, 'Available')?.status).toBe('False');
    },
  },
  {
    name: 'first revision saturated: active on it, it becomes the stable, Healthy',
    rollout: { ...ROLLOUT, status: { currentPodHash: 'aaa', blueGreen: { previewSelector: 'aaa' } } },
    observed: obs({ podHash: 'aaa', stable: null, fresh: rs('aaa', 2) }),
    from: 'Initial',
    transition: 'initialPromote',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'active', service: 'demo-active', hash: 'aaa' },
      ]);
      expect(r.status).toMatchObject({
        stableRS: 'aaa',
        phase: 'Healthy',
        blueGreen: { activeSelector: 'aaa', previewSelector: 'aaa' },
      });
      expect(events(r)).toContain(
        'Normal/RolloutCompleted: Rollout completed update to revision 1 (aaa): Initial deploy',
      );
      expect(cond(r, 'Completed')).toMatchObject({ status: 'True', reason: 'RolloutCompleted' });
    },
  },
  {
    name: "first revision: without an active ReplicaSet the counts are over every ReplicaSet, selector the Rollout's",
    rollout: { ...ROLLOUT, status: { currentPodHash: 'aaa', blueGreen: { previewSelector: 'aaa' } } },
    observed: obs({ podHash: 'aaa', stable: null, fresh: rs('aaa', 2, 1), older: [rs('zzz', 0)] }),
    from: 'Initial',
    transition: 'initialWait',
    check: (r) =>
      expect(r.status).toMatchObject({
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 1,
        availableReplicas: 1,
        HPAReplicas: 2,
        selector: 'app=demo',
      }),
  },
  {
    name: 'first revision: its pods get activeMetadata',
    rollout: { ...mid({}, META), status: { currentPodHash: 'aaa', blueGreen: { previewSelector: 'aaa' } } },
    observed: obs({ podHash: 'aaa', stable: null, fresh: rs('aaa', 2, 1) }),
    from: 'Initial',
    transition: 'syncPodMetadata',
    check: (r) =>
      expect(r.actions).toEqual([
        { type: 'SetPodMetadata', hash: 'aaa', labels: { role: 'active' }, annotations: {} },
      ]),
  },
  // ---------------------------------------------------------------- NewRevision
  {
    name: 'a new template resets pauses and analysis, terminates running runs',
    rollout: mid({
      pauseConditions: pause('BlueGreenPause'),
      controllerPause: true,
      blueGreen: { ...preRun('Running'), scaleUpPreviewCheckPoint: true },
    }),
    observed: obs({ podHash: 'ccc', fresh: null, runs: { [PRE]: { phase: 'Running' } } }),
    from: 'NewRevision',
    transition: 'revisionChanged',
    check: (r) => {
      expect(only(r, 'TerminateAnalysisRun')).toEqual([{ type: 'TerminateAnalysisRun', name: PRE }]);
      expect(r.status.currentPodHash).toBe('ccc');
      expect(r.status.pauseConditions).toBeUndefined();
      expect(r.status.controllerPause).toBeUndefined();
      expect(r.status.blueGreen).toEqual({ activeSelector: 'aaa', previewSelector: 'bbb' });
      expect(requeue(r)).toEqual([{ type: 'RequeueAfter', ms: 0 }]);
    },
  },
  {
    name: 'undo to the old ReplicaSet within its scale-down delay: active back at once, the stable again, no analysis',
    rollout: promotedToBbb(),
    observed: undone(),
    now: 10,
    from: 'NewRevision',
    transition: 'fastTrackRollback',
    check: (r) => {
      expect(r.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
        { type: 'SwitchServiceSelector', role: 'preview', service: 'demo-preview', hash: 'aaa' },
        { type: 'SwitchServiceSelector', role: 'active', service: 'demo-active', hash: 'aaa' },
        { type: 'RequeueAfter', ms: 0 },
      ]);
      expect(r.status).toMatchObject({
        stableRS: 'aaa',
        currentPodHash: 'aaa',
        phase: 'Healthy',
        blueGreen: { activeSelector: 'aaa', previewSelector: 'aaa' },
      });
      expect(r.status.pauseConditions).toBeUndefined();
      expect(events(r)).toEqual([
        'Normal/RolloutUpdated: Rollout updated to revision 1',
        "Normal/SwitchService: Switched selector for service 'demo-preview' from 'bbb' to 'aaa'",
        "Normal/SwitchService: Switched selector for service 'demo-active' from 'bbb' to 'aaa'",
        "Normal/RolloutCompleted: Rollout completed update to revision 1 (aaa): Rollback to 'demo-aaa' within scaleDownDelay",
      ]);
      // the ReplicaSet it leaves (bbb) waits out its own delay from now
      expect(cond(r, 'Completed')).toMatchObject({
        status: 'True',
        lastUpdateTime: iso(10),
        lastTransitionTime: iso(0),
      });
    },
  },
  {
    name: 'fast-track without postPromotionAnalysis: as a completed blue-green update',
    rollout: promotedToBbb({ postPromotionAnalysis: undefined }),
    observed: undone(),
    now: 10,
    from: 'NewRevision',
    transition: 'fastTrackRollback',
    check: (r) =>
      expect(events(r)).toContain(
        'Normal/RolloutCompleted: Rollout completed update to revision 1 (aaa): Completed blue-green update',
      ),
  },
  {
    name: 'undo after the scale-down delay: not fast-tracked, an ordinary update',
    rollout: promotedToBbb(),
    observed: undone(),
    now: 30,
    from: 'NewRevision',
    transition: 'revisionChanged',
    check: (r) => expect(r.status).toMatchObject({ stableRS: 'bbb', blueGreen: { activeSelector: 'bbb' } }),
  },
  {
    name: 'undo to an old ReplicaSet that lost pods: not fast-tracked',
    rollout: promotedToBbb(),
    observed: undone(rs('aaa', 2, 1)),
    now: 10,
    from: 'NewRevision',
    transition: 'revisionChanged',
    check: (r) => expect(only(r, 'SwitchServiceSelector')).toEqual([]),
  },
  {
    name: 'back to a preview a newer template superseded mid-update: not fast-tracked (never promoted)',
    rollout: mid({ currentPodHash: 'ccc' }),
    observed: obs({ podHash: 'bbb', fresh: rs('bbb', 2), older: [rs('ccc', 2)] }),
    now: 5,
    from: 'NewRevision',
    transition: 'revisionChanged',
    check: (r) => expect(r.status).toMatchObject({ stableRS: 'aaa', blueGreen: { activeSelector: 'aaa' } }),
  },
  {
    name: 'undo within the delay while paused (spec.paused): not fast-tracked',
    rollout: withSpec(promotedToBbb(), { paused: true }),
    observed: undone(),
    now: 10,
    from: 'NewRevision',
    transition: 'revisionChanged',
    check: (r) => expect(r.status.stableRS).toBe('bbb'),
  },
  // ---------------------------------------------------------------- Aborted
  {
    name: 'user abort: abortedAt recorded, runs terminated, Degraded with RolloutAborted',
    rollout: abortRollout(mid({ blueGreen: preRun('Running') })),
    observed: obs({ runs: { [PRE]: { phase: 'Running' } } }),
    from: 'Aborted',
    transition: 'abortStarted',
    check: (r) => {
      expect(r.status).toMatchObject({ abort: true, abortedAt: iso(0), phase: 'Degraded' });
      expect(r.status.message).toBe('RolloutAborted: Rollout aborted update to revision 1');
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'False', reason: 'RolloutAborted' });
      expect(only(r, 'TerminateAnalysisRun')).toEqual([{ type: 'TerminateAnalysisRun', name: PRE }]);
      expect(events(r)).toContain('Warning/RolloutAborted: Rollout aborted update to revision 1');
    },
  },
  {
    name: 'aborted after the switch: the stable is scaled back up first',
    rollout: mid({ abort: true, abortedAt: iso(0), blueGreen: { activeSelector: 'bbb' } }),
    observed: obs({ stable: rs('aaa', 0) }),
    from: 'Aborted',
    transition: 'abortRestoreStable',
    check: (r) => {
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'aaa', replicas: 2 }]);
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
    },
  },
  {
    name: 'aborted after the switch: active back to the stable once it has an available pod',
    rollout: mid({ abort: true, abortedAt: iso(0), blueGreen: { activeSelector: 'bbb' } }),
    observed: obs({ stable: rs('aaa', 2, 1) }),
    from: 'Aborted',
    transition: 'abortSwitchActive',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'active', service: 'demo-active', hash: 'aaa' },
      ]);
      expect(r.status.blueGreen?.activeSelector).toBe('aaa');
      expect(only(r, 'ScaleReplicaSet')).toEqual([]);
      expect(r.status.phase).toBe('Degraded');
    },
  },
  {
    name: 'aborted, stable has no available pod yet: active stays, nothing scaled down',
    rollout: mid({ abort: true, abortedAt: iso(0), blueGreen: { activeSelector: 'bbb' } }),
    observed: obs({ stable: rs('aaa', 2, 0) }),
    now: 60,
    from: 'Aborted',
    transition: 'abortSwitchActive',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.blueGreen?.activeSelector).toBe('bbb');
    },
  },
  {
    name: 'aborted: the preview RS is kept until abortScaleDownDelaySeconds (30s)',
    rollout: mid({ abort: true, abortedAt: iso(0) }),
    observed: obs({ older: [rs('zzz', 1)] }),
    now: 10,
    from: 'Aborted',
    transition: 'abortScaleDown',
    check: (r) => {
      // an unreferenced older RS goes at once; bbb waits
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'zzz', replicas: 0 }]);
      expect(requeue(r)).toEqual([{ type: 'RequeueAfter', ms: 20_000 }]);
    },
  },
  {
    name: 'aborted: the preview RS is scaled down once the delay has passed',
    rollout: mid({ abort: true, abortedAt: iso(0) }),
    observed: obs(),
    now: 30,
    from: 'Aborted',
    transition: 'abortScaleDown',
    check: (r) => {
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 0 }]);
      expect(events(r)).toContain('Normal/ScalingReplicaSet: Scaled ReplicaSet demo-bbb from 2 to 0');
    },
  },
  {
    name: 'aborted with abortScaleDownDelaySeconds 0: the preview stays up',
    rollout: mid({ abort: true, abortedAt: iso(0) }, { abortScaleDownDelaySeconds: 0 }),
    observed: obs(),
    now: 3600,
    from: 'Aborted',
    transition: 'abortedHold',
    check: (r) => expect(r.actions).toEqual([]),
  },
  {
    name: 'aborted and rolled back: hold, Degraded',
    rollout: mid({ abort: true, abortedAt: iso(0) }),
    observed: obs({ fresh: rs('bbb', 0) }),
    now: 60,
    from: 'Aborted',
    transition: 'abortedHold',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.phase).toBe('Degraded');
      expect(cond(r, 'Available')?.status).toBe('True');
    },
  },
  // ---------------------------------------------------------------- Paused
  {
    name: 'spec.paused holds, phase Paused "manually paused"',
    rollout: mid({}, {}, true),
    observed: obs(),
    from: 'Paused',
    transition: 'manualPause',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'manually paused' });
      expect(cond(r, 'Paused')).toMatchObject({ status: 'True', reason: 'RolloutPaused' });
    },
  },
  {
    name: 'spec.paused: a failed run still aborts',
    rollout: mid({ blueGreen: preRun('Running') }, {}, true),
    observed: obs({ runs: { [PRE]: { phase: 'Error' } } }),
    from: 'Paused',
    transition: 'analysisFailed',
    check: (r) => expect(r.status.abort).toBe(true),
  },
  {
    name: 'spec.paused: no timeout even with progressDeadlineAbort',
    rollout: stuck({}, { paused: true, progressDeadlineAbort: true }),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 3600,
    from: 'Paused',
    transition: 'manualPause',
    check: (r) => {
      expect(r.status.abort).toBeUndefined();
      expect(r.status.phase).toBe('Paused');
    },
  },
  {
    name: 'spec.paused: pod metadata is still kept right',
    rollout: mid({}, META, true),
    observed: obs(),
    from: 'Paused',
    transition: 'syncPodMetadata',
    check: (r) =>
      expect(only(r, 'SetPodMetadata').map((a) => a.type === 'SetPodMetadata' && a.hash)).toEqual([
        'aaa',
        'bbb',
      ]),
  },
  // ---------------------------------------------------------------- Preview
  {
    name: 'retry after abort: abortedAt, runs and pauses forgotten, RolloutRetry',
    rollout: retryRollout(
      mid({ abort: true, abortedAt: iso(0), controllerPause: true, blueGreen: preRun('Failed') }),
    ),
    observed: obs({ runs: { [PRE]: { phase: 'Failed' } } }),
    from: 'Preview',
    transition: 'retried',
    check: (r) => {
      expect(r.status.abort).toBe(false);
      expect(r.status.abortedAt).toBeUndefined();
      expect(r.status.controllerPause).toBeUndefined();
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus).toBeUndefined();
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'True', reason: 'RolloutRetry' });
      expect(r.status.phase).toBe('Progressing');
    },
  },
  {
    name: 'prePromotionAnalysis Failed: abort with the run message, active untouched',
    rollout: mid({ blueGreen: preRun('Running') }),
    observed: obs({ runs: { [PRE]: { phase: 'Failed', message: 'too slow' } } }),
    from: 'Preview',
    transition: 'analysisFailed',
    check: (r) => {
      expect(r.status).toMatchObject({
        abort: true,
        abortedAt: iso(0),
        phase: 'Degraded',
        blueGreen: {
          activeSelector: 'aaa',
          prePromotionAnalysisRunStatus: { name: PRE, status: 'Failed', message: 'too slow' },
        },
      });
      expect(r.status.message).toBe('RolloutAborted: Rollout aborted update to revision 1: too slow');
      expect(events(r)).toEqual([
        `Warning/AnalysisRunFailed: Analysis Run '${PRE}' failed: too slow`,
        'Warning/RolloutAborted: Rollout aborted update to revision 1: too slow',
      ]);
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
    },
  },
  {
    name: 'prePromotionAnalysis Inconclusive: pause InconclusiveAnalysisRun',
    rollout: mid({ blueGreen: preRun('Running') }),
    observed: obs({ runs: { [PRE]: { phase: 'Inconclusive' } } }),
    now: 5,
    from: 'Preview',
    transition: 'analysisInconclusive',
    check: (r) => {
      expect(r.status.pauseConditions).toEqual(pause('InconclusiveAnalysisRun', 5));
      expect(r.status.controllerPause).toBe(true);
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe('Inconclusive');
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'InconclusiveAnalysisRun' });
    },
  },
  {
    name: 'promote past an Inconclusive run: the run is forgotten so a fresh one starts',
    rollout: promoteRollout(
      mid({
        pauseConditions: pause('InconclusiveAnalysisRun'),
        controllerPause: true,
        blueGreen: preRun('Inconclusive'),
      }),
    ),
    observed: obs({ runs: { [PRE]: { phase: 'Inconclusive' } } }),
    from: 'Preview',
    transition: 'inconclusiveResumed',
    check: (r) => {
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus).toBeUndefined();
      expect(r.status.pauseConditions).toBeUndefined();
      expect(requeue(r)).toEqual([{ type: 'RequeueAfter', ms: 0 }]);
    },
  },
  {
    name: 'paused for an Inconclusive run: hold until promote',
    rollout: mid({
      pauseConditions: pause('InconclusiveAnalysisRun'),
      controllerPause: true,
      blueGreen: preRun('Inconclusive'),
    }),
    observed: obs({ runs: { [PRE]: { phase: 'Inconclusive' } } }),
    now: 600,
    from: 'Preview',
    transition: 'pausedHold',
    check: (r) => expect(r.actions).toEqual([]),
  },
  {
    name: 'new RS created at previewReplicaCount, preview Service on it, old RS and active sized',
    rollout: mid({ blueGreen: { previewSelector: 'aaa' } }, { previewReplicaCount: 1 }),
    observed: obs({ fresh: null, stable: rs('aaa', 1), older: [rs('zzz', 2)] }),
    from: 'Preview',
    transition: 'scaleReplicaSets',
    check: (r) => {
      expect(r.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
        { type: 'CreateReplicaSet', hash: 'bbb', replicas: 1 },
        { type: 'SwitchServiceSelector', role: 'preview', service: 'demo-preview', hash: 'bbb' },
        { type: 'ScaleReplicaSet', hash: 'aaa', replicas: 2 },
        { type: 'ScaleReplicaSet', hash: 'zzz', replicas: 0 },
      ]);
      expect(r.status.blueGreen).toEqual({ activeSelector: 'aaa', previewSelector: 'bbb' });
      expect(events(r)).toContain(
        'Normal/NewReplicaSetCreated: Created ReplicaSet demo-bbb (revision 1) with size 1',
      );
    },
  },
  {
    name: 'preview Service pointed at the existing new RS',
    rollout: mid({ blueGreen: { previewSelector: 'aaa' } }),
    observed: obs(),
    from: 'Preview',
    transition: 'switchPreview',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'preview', service: 'demo-preview', hash: 'bbb' },
      ]);
      expect(events(r)).toEqual([
        "Normal/SwitchService: Switched selector for service 'demo-preview' from 'aaa' to 'bbb'",
      ]);
      expect(r.status.blueGreen?.previewSelector).toBe('bbb');
    },
  },
  {
    name: 'new RS pods not yet available: wait',
    rollout: mid(),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    from: 'Preview',
    transition: 'waitForReplicas',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.message).toBe('updated replicas are still becoming available');
    },
  },
  {
    name: 'status counts: pods over every ReplicaSet; ready, available and HPA replicas of the active one; its hash in the selector',
    rollout: mid(),
    observed: obs({
      stable: { ...rs('aaa', 2, 1), currentReplicas: 3, readyReplicas: 2 },
      fresh: { ...rs('bbb', 2, 0), currentReplicas: 1, readyReplicas: 1 },
      older: [rs('zzz', 1)],
    }),
    from: 'Preview',
    transition: 'scaleReplicaSets',
    check: (r) =>
      expect(r.status).toMatchObject({
        replicas: 5,
        updatedReplicas: 1,
        readyReplicas: 2,
        availableReplicas: 1,
        HPAReplicas: 3,
        selector: 'app=demo,rollouts-pod-template-hash=aaa',
      }),
  },
  {
    name: 'progress deadline not yet passed: hold, requeue at the deadline plus a second',
    rollout: stuck(),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 30,
    from: 'Preview',
    transition: 'waitForReplicas',
    check: (r) => {
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 31_000 }]);
      expect(cond(r, 'Progressing')).toMatchObject({ reason: 'ReplicaSetUpdated', lastUpdateTime: iso(0) });
    },
  },
  {
    name: 'no progress for progressDeadlineSeconds: ProgressDeadlineExceeded, Degraded, no abort without progressDeadlineAbort',
    rollout: stuck(),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 61,
    from: 'Preview',
    transition: 'waitForReplicas',
    check: (r) => {
      expect(cond(r, 'Progressing')).toMatchObject({
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: TIMED_OUT,
      });
      expect(r.status).toMatchObject({
        phase: 'Degraded',
        message: `ProgressDeadlineExceeded: ${TIMED_OUT}`,
      });
      expect(r.status.abort).toBeUndefined();
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'a new pod after the deadline is progress: Progressing again, the clock restarts',
    rollout: stuck({
      conditions: [condition('Progressing', 'False', 'ProgressDeadlineExceeded', TIMED_OUT)],
    }),
    observed: obs({ fresh: { ...rs('bbb', 3, 1), currentReplicas: 3 } }),
    now: 90,
    from: 'Preview',
    transition: 'scaleReplicaSets',
    check: (r) => {
      expect(cond(r, 'Progressing')).toMatchObject({
        status: 'True',
        reason: 'ReplicaSetUpdated',
        lastUpdateTime: iso(90),
      });
      expect(r.status.phase).toBe('Progressing');
    },
  },
  {
    name: 'progressDeadlineAbort: no progress for progressDeadlineSeconds aborts the update',
    rollout: stuck({}, { progressDeadlineAbort: true }),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 61,
    from: 'Preview',
    transition: 'progressDeadlineAbort',
    check: (r) => {
      const message = `Rollout aborted update to revision 1: ${TIMED_OUT}`;
      expect(r.status).toMatchObject({
        abort: true,
        abortedAt: iso(61),
        phase: 'Degraded',
        message: `RolloutAborted: ${message}`,
      });
      expect(events(r)).toEqual([`Warning/RolloutAborted: ${message}`]);
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
    },
  },
  {
    name: 'progressDeadlineAbort: a BlueGreenPause does not time out',
    rollout: stuck(
      { pauseConditions: pause('BlueGreenPause'), controllerPause: true },
      { progressDeadlineAbort: true },
    ),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 3600,
    from: 'Preview',
    transition: 'waitForReplicas',
    check: (r) => {
      expect(r.status.abort).toBeUndefined();
      expect(r.status.phase).toBe('Paused');
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'Unknown', reason: 'RolloutPaused' });
      expect(r.actions).toEqual([]);
    },
  },
  {
    name: 'progressDeadlineAbort: not while a pre-promotion run is in flight',
    rollout: stuck({ blueGreen: preRun('Running') }, { progressDeadlineAbort: true }),
    observed: obs({ runs: { [PRE]: { phase: 'Running' } } }),
    now: 3600,
    from: 'Preview',
    transition: 'prePromotionAnalysis',
    check: (r) => {
      expect(r.status.abort).toBeUndefined();
      expect(cond(r, 'Progressing')).toMatchObject({ reason: 'ReplicaSetUpdated' });
      expect(r.status.phase).toBe('Progressing');
    },
  },
  {
    name: "during an update: activeMetadata on the stable's pods, previewMetadata on the new ones",
    rollout: mid({}, META),
    observed: obs(),
    from: 'Preview',
    transition: 'syncPodMetadata',
    check: (r) =>
      expect(r.actions).toEqual([
        { type: 'SetPodMetadata', hash: 'aaa', labels: { role: 'active' }, annotations: {} },
        {
          type: 'SetPodMetadata',
          hash: 'bbb',
          labels: { role: 'preview' },
          annotations: { note: 'preview' },
        },
      ]),
  },
  {
    name: 'pod metadata already in place: the update goes on',
    rollout: mid({}, META),
    observed: obs({
      stable: { ...rs('aaa', 2), podMetadata: { labels: { role: 'active' }, annotations: {} } },
      fresh: {
        ...rs('bbb', 2),
        podMetadata: { annotations: { note: 'preview' }, labels: { role: 'preview' } },
      },
    }),
    from: 'Preview',
    transition: 'prePromotionAnalysis',
    check: (r) => expect(only(r, 'SetPodMetadata')).toEqual([]),
  },
  {
    name: 'preview saturated: the pre-promotion run is created (Stable arg resolved)',
    rollout: mid(),
    observed: obs(),
    from: 'Preview',
    transition: 'prePromotionAnalysis',
    check: (r) => {
      expect(only(r, 'CreateAnalysisRun')).toEqual([
        {
          type: 'CreateAnalysisRun',
          name: PRE,
          kind: 'prePromotion',
          templates: [{ templateName: 'pre' }],
          args: [{ name: 'stable', value: 'aaa' }],
        },
      ]);
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus).toEqual({ name: PRE, status: 'Pending' });
      expect(r.status).toMatchObject({ phase: 'Progressing', message: 'active service cutover pending' });
    },
  },
  {
    name: 'pre-promotion run still Running: hold (no pause yet)',
    rollout: mid({ blueGreen: preRun('Running') }),
    observed: obs({ runs: { [PRE]: { phase: 'Running' } } }),
    from: 'Preview',
    transition: 'prePromotionAnalysis',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.pauseConditions).toBeUndefined();
    },
  },
  {
    name: 'pre-promotion run Successful: recorded, call again',
    rollout: mid({ blueGreen: preRun('Running') }),
    observed: obs({ runs: { [PRE]: { phase: 'Successful' } } }),
    from: 'Preview',
    transition: 'prePromotionAnalysis',
    check: (r) => {
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus?.status).toBe('Successful');
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 0 }]);
    },
  },
  {
    name: 'autoPromotionEnabled false: BlueGreenPause after a Successful pre-promotion run',
    rollout: mid({ blueGreen: preRun('Successful') }),
    observed: obs({ runs: { [PRE]: { phase: 'Successful' } } }),
    now: 7,
    from: 'Preview',
    transition: 'blueGreenPause',
    check: (r) => {
      expect(r.status.pauseConditions).toEqual(pause('BlueGreenPause', 7));
      expect(r.status.controllerPause).toBe(true);
      expect(r.status).toMatchObject({ phase: 'Paused', message: 'BlueGreenPause' });
      expect(requeue(r)).toEqual([]);
      expect(events(r)).toEqual(['Normal/RolloutPaused: Rollout is paused (BlueGreenPause)']);
    },
  },
  {
    name: 'autoPromotionSeconds elapsed: the pause is lifted, controllerPause kept',
    rollout: mid(
      {
        pauseConditions: pause('BlueGreenPause'),
        controllerPause: true,
        conditions: [condition('Paused', 'True', 'RolloutPaused', 'Rollout is paused')],
      },
      { autoPromotionEnabled: true, autoPromotionSeconds: 60, prePromotionAnalysis: undefined },
    ),
    observed: obs(),
    now: 60,
    from: 'Preview',
    transition: 'autoPromotionElapsed',
    check: (r) => {
      expect(r.status.pauseConditions).toEqual([]);
      expect(r.status.controllerPause).toBe(true);
      expect(r.status.phase).toBe('Progressing');
      expect(cond(r, 'Paused')).toMatchObject({ status: 'False', reason: 'RolloutResumed' });
    },
  },
  {
    name: 'autoPromotionSeconds not yet elapsed: hold, requeue for the rest',
    rollout: mid(
      { pauseConditions: pause('BlueGreenPause'), controllerPause: true },
      { autoPromotionEnabled: true, autoPromotionSeconds: 60, prePromotionAnalysis: undefined },
    ),
    observed: obs(),
    now: 45,
    from: 'Preview',
    transition: 'blueGreenPauseHold',
    check: (r) => expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 15_000 }]),
  },
  {
    name: 'manual BlueGreenPause: hold without requeue (autoPromotionSeconds ignored)',
    rollout: mid(
      { pauseConditions: pause('BlueGreenPause'), controllerPause: true, blueGreen: preRun('Successful') },
      { autoPromotionSeconds: 5 },
    ),
    observed: obs({ runs: { [PRE]: { phase: 'Successful' } } }),
    now: 3600,
    from: 'Preview',
    transition: 'blueGreenPauseHold',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status.phase).toBe('Paused');
    },
  },
  {
    name: 'previewReplicaCount: pause done, the preview is scaled to full (checkpoint)',
    rollout: mid({ controllerPause: true, blueGreen: preRun('Successful') }, { previewReplicaCount: 1 }),
    observed: obs({ fresh: rs('bbb', 1), runs: { [PRE]: { phase: 'Successful' } } }),
    from: 'Preview',
    transition: 'scaleUpPreview',
    check: (r) => {
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 2 }]);
      expect(r.status.blueGreen?.scaleUpPreviewCheckPoint).toBe(true);
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
    },
  },
  {
    name: 'promoted by the user and saturated: active switched; post-promotion analysis decides',
    rollout: mid({ controllerPause: true, blueGreen: preRun('Successful') }),
    observed: obs({ runs: { [PRE]: { phase: 'Successful' } } }),
    from: 'Preview',
    transition: 'switchActive',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'active', service: 'demo-active', hash: 'bbb' },
      ]);
      expect(r.status.blueGreen?.activeSelector).toBe('bbb');
      expect(r.status.stableRS).toBe('aaa');
      expect(r.status.controllerPause).toBeUndefined();
      expect(r.status).toMatchObject({ phase: 'Progressing', message: 'waiting for analysis to complete' });
    },
  },
  {
    name: 'without postPromotionAnalysis the switch also promotes (same call, as upstream)',
    rollout: mid(
      { controllerPause: true, blueGreen: { scaleUpPreviewCheckPoint: true } },
      { prePromotionAnalysis: undefined, postPromotionAnalysis: undefined },
    ),
    observed: obs(),
    from: 'Preview',
    transition: 'switchActive',
    check: (r) => {
      expect(r.status).toMatchObject({
        stableRS: 'bbb',
        phase: 'Healthy',
        blueGreen: { activeSelector: 'bbb' },
      });
      expect(r.status.blueGreen?.scaleUpPreviewCheckPoint).toBeUndefined();
      expect(events(r)).toContain(
        'Normal/RolloutCompleted: Rollout completed update to revision 1 (bbb): Completed blue-green update',
      );
      expect(cond(r, 'Completed')).toMatchObject({ status: 'True', reason: 'RolloutCompleted' });
      expect(cond(r, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    },
  },
  // ---------------------------------------------------------------- PostPromotion
  {
    name: 'active on the new RS: the post-promotion run is created',
    rollout: mid({ blueGreen: { activeSelector: 'bbb', ...preRun('Successful') } }),
    observed: obs(),
    from: 'PostPromotion',
    transition: 'postPromotionAnalysis',
    check: (r) => {
      expect(only(r, 'CreateAnalysisRun')).toEqual([
        {
          type: 'CreateAnalysisRun',
          name: POST,
          kind: 'postPromotion',
          templates: [{ templateName: 'post' }],
          args: [],
        },
      ]);
      expect(r.status.blueGreen?.postPromotionAnalysisRunStatus).toEqual({ name: POST, status: 'Pending' });
    },
  },
  {
    name: 'status counts after the switch: the new ReplicaSet is the active one',
    rollout: mid({ blueGreen: { activeSelector: 'bbb', ...postRun('Running') } }),
    observed: obs({ runs: { [POST]: { phase: 'Running' } } }),
    from: 'PostPromotion',
    transition: 'postPromotionAnalysis',
    check: (r) =>
      expect(r.status).toMatchObject({
        replicas: 4,
        updatedReplicas: 2,
        availableReplicas: 2,
        HPAReplicas: 2,
        selector: 'app=demo,rollouts-pod-template-hash=bbb',
      }),
  },
  {
    name: 'progressDeadlineAbort after the switch: the active pods never became available',
    rollout: stuck(
      { availableReplicas: 1, readyReplicas: 1, blueGreen: { activeSelector: 'bbb' } },
      { progressDeadlineAbort: true },
    ),
    observed: obs({ fresh: rs('bbb', 2, 1) }),
    now: 61,
    from: 'PostPromotion',
    transition: 'progressDeadlineAbort',
    check: (r) => expect(r.status).toMatchObject({ abort: true, phase: 'Degraded' }),
  },
  {
    name: 'post-promotion run Failed: abort (active goes back on the next calls)',
    rollout: mid({ blueGreen: { activeSelector: 'bbb', ...postRun('Running') } }),
    observed: obs({ runs: { [POST]: { phase: 'Failed' } } }),
    from: 'PostPromotion',
    transition: 'analysisFailed',
    check: (r) => {
      expect(r.status).toMatchObject({ abort: true, phase: 'Degraded', stableRS: 'aaa' });
      expect(r.status.blueGreen?.postPromotionAnalysisRunStatus?.status).toBe('Failed');
    },
  },
  {
    name: 'post-promotion run Successful: the new RS becomes the stable',
    rollout: mid({ blueGreen: { activeSelector: 'bbb', ...postRun('Successful') } }),
    observed: obs({ runs: { [POST]: { phase: 'Successful' } } }),
    from: 'PostPromotion',
    transition: 'promoted',
    check: (r) => {
      expect(r.status).toMatchObject({ stableRS: 'bbb', phase: 'Healthy', message: '' });
      expect(cond(r, 'Healthy')).toMatchObject({ status: 'True', reason: 'RolloutHealthy' });
      expect(events(r)).toContain(
        'Normal/RolloutCompleted: Rollout completed update to revision 1 (bbb): Completed blue-green update',
      );
    },
  },
  // ---------------------------------------------------------------- PromotingFull
  {
    name: 'promote --full: pauses cleared, running analysis terminated',
    rollout: promoteFullRollout(
      mid({ pauseConditions: pause('BlueGreenPause'), controllerPause: true, blueGreen: preRun('Running') }),
    ),
    observed: obs({ runs: { [PRE]: { phase: 'Running' } } }),
    from: 'PromotingFull',
    transition: 'fullPromotionStarted',
    check: (r) => {
      expect(only(r, 'TerminateAnalysisRun')).toEqual([{ type: 'TerminateAnalysisRun', name: PRE }]);
      expect(r.status.pauseConditions).toBeUndefined();
      expect(r.status.controllerPause).toBeUndefined();
      expect(r.status.blueGreen?.prePromotionAnalysisRunStatus).toBeUndefined();
      expect(r.status.promoteFull).toBe(true);
    },
  },
  {
    name: 'promote --full with previewReplicaCount: the preview goes to full at once',
    rollout: mid({ promoteFull: true }, { previewReplicaCount: 1 }),
    observed: obs({ fresh: rs('bbb', 1) }),
    from: 'PromotingFull',
    transition: 'scaleReplicaSets',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'bbb', replicas: 2 }]),
  },
  {
    name: 'promote --full: switch active and promote in one call, skipping analysis',
    rollout: mid({ promoteFull: true }),
    observed: obs(),
    from: 'PromotingFull',
    transition: 'switchActive',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toHaveLength(1);
      expect(r.status).toMatchObject({ stableRS: 'bbb', phase: 'Healthy' });
      expect(r.status.promoteFull).toBeUndefined();
      expect(only(r, 'CreateAnalysisRun')).toEqual([]);
      expect(events(r)).toContain(
        'Normal/RolloutCompleted: Rollout completed update to revision 1 (bbb): Full promotion requested',
      );
    },
  },
  {
    name: 'promote --full during post-promotion analysis: promoted, run terminated',
    rollout: mid({ promoteFull: true, blueGreen: { activeSelector: 'bbb' } }),
    observed: obs(),
    from: 'PromotingFull',
    transition: 'promoted',
    check: (r) => {
      expect(r.status.stableRS).toBe('bbb');
      expect(r.status.promoteFull).toBeUndefined();
    },
  },
  // ---------------------------------------------------------------- Completed
  {
    name: 'completed: the stable is kept at spec.replicas',
    rollout: done(),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 1), fresh: rs('aaa', 1) }),
    from: 'Completed',
    transition: 'scaleStable',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'aaa', replicas: 2 }]),
  },
  {
    name: 'back to the stable template mid-update: active returns to the stable',
    rollout: done({ blueGreen: { activeSelector: 'bbb' } }),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2), older: [rs('bbb', 2)] }),
    from: 'Completed',
    transition: 'restoreActive',
    check: (r) => {
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'active', service: 'demo-active', hash: 'aaa' },
      ]);
      expect(only(r, 'ScaleReplicaSet')).toEqual([]);
    },
  },
  {
    name: 'completed: preview Service back on the stable',
    rollout: done({ blueGreen: { previewSelector: 'bbb' } }),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2) }),
    from: 'Completed',
    transition: 'switchPreview',
    check: (r) =>
      expect(only(r, 'SwitchServiceSelector')).toEqual([
        { type: 'SwitchServiceSelector', role: 'preview', service: 'demo-preview', hash: 'aaa' },
      ]),
  },
  {
    name: 'completed: empty old ReplicaSets beyond revisionHistoryLimit are deleted, oldest first',
    rollout: { ...done({ conditions: [completedAt(0)] }), spec: { ...done().spec, revisionHistoryLimit: 1 } },
    observed: obs({
      podHash: 'aaa',
      stable: rs('aaa', 2),
      fresh: rs('aaa', 2),
      older: [born(rs('yyy', 0), -300), born(rs('zzz', 0), -100)],
    }),
    now: 40,
    from: 'Completed',
    transition: 'cleanupHistory',
    check: (r) =>
      expect(r.actions.filter((a) => a.type === 'DeleteReplicaSet')).toEqual([
        { type: 'DeleteReplicaSet', hash: 'yyy' },
      ]),
  },
  {
    name: 'completed: old RS kept for scaleDownDelaySeconds after Completed turned True',
    rollout: done({ conditions: [completedAt(0)] }),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2), older: [rs('zzz', 2)] }),
    now: 12,
    from: 'Completed',
    transition: 'scaleDownOld',
    check: (r) => {
      expect(r.actions).toEqual([{ type: 'RequeueAfter', ms: 18_000 }]);
      expect(r.status.phase).toBe('Healthy');
    },
  },
  {
    name: 'completed: old RS scaled down once the delay has passed',
    rollout: done({ conditions: [completedAt(0)] }),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2), older: [rs('zzz', 2)] }),
    now: 30,
    from: 'Completed',
    transition: 'scaleDownOld',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'zzz', replicas: 0 }]),
  },
  {
    name: 'scaleDownDelayRevisionLimit 1: the newest old ReplicaSet waits out the delay, older ones go at once',
    rollout: done({ conditions: [completedAt(0)] }, { scaleDownDelayRevisionLimit: 1 }),
    observed: obs({
      podHash: 'aaa',
      stable: rs('aaa', 2),
      fresh: rs('aaa', 2),
      older: [born(rs('yyy', 2), -300), born(rs('zzz', 2), -100)],
    }),
    now: 12,
    from: 'Completed',
    transition: 'scaleDownOld',
    check: (r) => {
      expect(r.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
        { type: 'ScaleReplicaSet', hash: 'yyy', replicas: 0 },
        { type: 'RequeueAfter', ms: 18_000 },
      ]);
    },
  },
  {
    name: 'scaleDownDelayRevisionLimit 1 without creation times: the first observed waits',
    rollout: done({ conditions: [completedAt(0)] }, { scaleDownDelayRevisionLimit: 1 }),
    observed: obs({
      podHash: 'aaa',
      stable: rs('aaa', 2),
      fresh: rs('aaa', 2),
      older: [rs('yyy', 2), rs('zzz', 2)],
    }),
    now: 12,
    from: 'Completed',
    transition: 'scaleDownOld',
    check: (r) =>
      expect(only(r, 'ScaleReplicaSet')).toEqual([{ type: 'ScaleReplicaSet', hash: 'zzz', replicas: 0 }]),
  },
  {
    name: 'scaleDownDelayRevisionLimit 0: old ReplicaSets are scaled down right after promotion',
    rollout: done({ conditions: [completedAt(0)] }, { scaleDownDelayRevisionLimit: 0 }),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2), older: [rs('zzz', 2)] }),
    now: 1,
    from: 'Completed',
    transition: 'scaleDownOld',
    check: (r) =>
      expect(r.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
        { type: 'ScaleReplicaSet', hash: 'zzz', replicas: 0 },
      ]),
  },
  {
    name: "promoted: the stable's pods get activeMetadata, the old ReplicaSet's metadata is removed",
    rollout: done({}, META),
    observed: obs({
      podHash: 'aaa',
      stable: { ...rs('aaa', 2), podMetadata: META.previewMetadata },
      fresh: { ...rs('aaa', 2), podMetadata: META.previewMetadata },
      older: [{ ...rs('bbb', 2), podMetadata: META.activeMetadata }],
    }),
    from: 'Completed',
    transition: 'syncPodMetadata',
    check: (r) =>
      expect(r.actions).toEqual([
        { type: 'SetPodMetadata', hash: 'aaa', labels: { role: 'active' }, annotations: {} },
        { type: 'SetPodMetadata', hash: 'bbb', labels: {}, annotations: {} },
      ]),
  },
  {
    name: 'completed and clean: steady, Healthy',
    rollout: done(),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2), older: [rs('zzz', 0)] }),
    from: 'Completed',
    transition: 'steady',
    check: (r) => {
      expect(r.actions).toEqual([]);
      expect(r.status).toMatchObject({ phase: 'Healthy', message: '' });
      expect(Object.fromEntries((r.status.conditions ?? []).map((c) => [c.type, c.status]))).toEqual({
        Progressing: 'True',
        Available: 'True',
        Completed: 'True',
        Healthy: 'True',
      });
    },
  },
  {
    name: 'abort then retry on a completed rollout: retried',
    rollout: retryRollout(done({ abort: true, abortedAt: iso(0) })),
    observed: obs({ podHash: 'aaa', stable: rs('aaa', 2), fresh: rs('aaa', 2) }),
    from: 'Completed',
    transition: 'retried',
    check: (r) => expect(r.status.abortedAt).toBeUndefined(),
  },
];

describe('reconcileBlueGreen: one row per transition', () => {
  for (const row of rows)
    it(`${row.from} / ${row.transition}: ${row.name}`, () => {
      const r = reconcileBlueGreen(row.rollout, row.observed, at(row.now ?? 0));
      expect(r.from).toBe(row.from);
      expect(r.transition).toBe(row.transition);
      row.check(r);
    });

  it('every named transition has a row, every table entry is a transition', () => {
    const covered = new Set(rows.map((r) => r.transition));
    expect(Object.keys(BLUEGREEN_TRANSITIONS).filter((t) => !covered.has(t))).toEqual([]);
    for (const state of BLUEGREEN_STATES)
      for (const t of BLUEGREEN_TRANSITION_TABLE[state]) expect(BLUEGREEN_TRANSITIONS).toHaveProperty(t);
    expect(Object.keys(BLUEGREEN_TRANSITION_TABLE).sort()).toEqual([...BLUEGREEN_STATES].sort());
  });

  it('is pure: same inputs, same outputs; the input is not changed', () => {
    const ro = mid({ blueGreen: preRun('Running') });
    const before = structuredClone(ro);
    const o = obs({ runs: { [PRE]: { phase: 'Failed' } } });
    const a = reconcileBlueGreen(ro, o, at(3));
    expect(reconcileBlueGreen(ro, o, at(3))).toEqual(a);
    expect(ro).toEqual(before);
  });

  it('rejects a Rollout without a blueGreen strategy', () => {
    const canary = { ...ROLLOUT, spec: { ...ROLLOUT.spec, strategy: { canary: {} } } } as Rollout;
    expect(() => reconcileBlueGreen(canary, obs(), at(0))).toThrow(/no blueGreen strategy/);
  });
});

/** Call, then feed the status back, as an adapter would. */
function call(ro: Rollout, o: CanaryObservation, s: number): [Rollout, BlueGreenResult] {
  const r = reconcileBlueGreen(ro, o, at(s));
  return [{ ...ro, status: r.status }, r];
}

describe('reconcileBlueGreen: user actions', () => {
  const paused = mid({
    pauseConditions: pause('BlueGreenPause'),
    controllerPause: true,
    blueGreen: preRun('Successful'),
  });
  const ok = obs({ runs: { [PRE]: { phase: 'Successful' } } });

  it('promote clears BlueGreenPause; the next call switches active', () => {
    const promoted = promoteRollout(paused);
    expect(promoted.status?.pauseConditions).toBeUndefined();
    expect(promoted.status?.controllerPause).toBe(true);
    const [, r] = call(promoted, ok, 1);
    expect(r.transition).toBe('switchActive');
    expect(r.status.currentStepIndex).toBeUndefined();
    expect(r.status.blueGreen?.activeSelector).toBe('bbb');
  });

  it('without promote the pause holds forever', () => {
    const [, r] = call(paused, ok, 86_400);
    expect(r.transition).toBe('blueGreenPauseHold');
    expect(only(r, 'SwitchServiceSelector')).toEqual([]);
  });

  it('pause (spec.paused) then promote: unpaused, back to the BlueGreenPause flow', () => {
    const [p, r1] = call(pauseRollout(mid({ blueGreen: preRun('Successful') })), ok, 0);
    expect(r1.transition).toBe('manualPause');
    const [, r2] = call(promoteRollout(p), ok, 1);
    expect(r2.transition).toBe('blueGreenPause');
  });

  it('promote --full skips the pre-promotion run and the pause', () => {
    let ro = promoteFullRollout(mid());
    const seen: string[] = [];
    let r: BlueGreenResult | undefined;
    for (let i = 0; i < 3; i++) {
      [ro, r] = call(ro, obs(), i);
      seen.push(r.transition);
    }
    expect(seen).toEqual(['switchActive', 'scaleDownOld', 'scaleDownOld']);
    expect(ro.status).toMatchObject({ stableRS: 'bbb', blueGreen: { activeSelector: 'bbb' } });
  });

  it('promote --full does not lift an abort: active stays on the stable until retry', () => {
    let ro = promoteFullRollout(abortRollout(mid()));
    let r: BlueGreenResult | undefined;
    for (let i = 0; i < 3; i++) {
      [ro, r] = call(ro, obs(), i);
      expect(r.from).toBe('Aborted');
      expect(only(r, 'SwitchServiceSelector')).toEqual([]);
    }
    expect(ro.status?.promoteFull).toBeUndefined();
    [ro, r] = call(retryRollout(ro), obs(), 10);
    expect(r.transition).toBe('retried');
    [ro, r] = call(ro, obs(), 11);
    expect(r.transition).toBe('prePromotionAnalysis');
  });

  it('retry after a failed pre-promotion run starts a fresh run (collision suffix)', () => {
    const failed = obs({ runs: { [PRE]: { phase: 'Failed' } } });
    let [ro, r] = call(mid({ blueGreen: preRun('Running') }), failed, 0);
    expect(r.transition).toBe('analysisFailed');
    [ro, r] = call(retryRollout(ro), failed, 1);
    expect(r.transition).toBe('retried');
    [ro, r] = call(ro, failed, 2);
    expect(r.transition).toBe('prePromotionAnalysis');
    expect(only(r, 'CreateAnalysisRun').map((a) => a.type === 'CreateAnalysisRun' && a.name)).toEqual([
      `${PRE}.1`,
    ]);
    expect(ro.status?.abort).toBe(false);
  });
});
