import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { sharedDir } from '../../testing/upstream.js';
import type { BlueGreenAction } from './bluegreen.js';
import { type BlueGreenSimStep, newBlueGreenWorld, simulateBlueGreen } from './bluegreen-sim.js';
import { promoteRollout } from './user-actions.js';

const FILE = path.join(sharedDir, 'examples', 'seed-003-bluegreen-rollout.yaml');
const { objects } = loadManifests(readFileSync(FILE, 'utf8'), FILE);
const rollout = objects.find((o) => o.object.kind === 'Rollout')?.object as unknown as Rollout;

const ACTIVE = 'app-backend-stable';
const PREVIEW = 'app-backend-preview';

const switches = (run: BlueGreenSimStep[], role: 'active' | 'preview') =>
  run.flatMap((s) =>
    s.actions.flatMap((a) => (a.type === 'SwitchServiceSelector' && a.role === role ? [[s.at, a.hash]] : [])),
  );
const scaledTo = (run: BlueGreenSimStep[], hash: string) =>
  run.flatMap((s) =>
    s.actions.flatMap((a: BlueGreenAction) =>
      (a.type === 'ScaleReplicaSet' || a.type === 'CreateReplicaSet') && a.hash === hash
        ? [[s.at, a.replicas]]
        : [],
    ),
  );
const conds = (st: Rollout['status']) =>
  Object.fromEntries((st?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
/** The conditions of a fully promoted, healthy rollout. */
const PROMOTED = {
  Progressing: 'True/NewReplicaSetAvailable',
  Available: 'True/AvailableReason',
  Completed: 'True/RolloutCompleted',
  Healthy: 'True/RolloutHealthy',
};

/** The user promotes `after` ms after the BlueGreenPause; returns when (undefined: not yet). */
function promoter(after: number) {
  const state: { at?: number } = {};
  const before = (world: ReturnType<typeof newBlueGreenWorld>) => {
    const p = world.rollout.status?.pauseConditions?.find((c) => c.reason === 'BlueGreenPause');
    if (p && state.at === undefined && world.now - Date.parse(p.startTime) >= after) {
      state.at = world.now;
      world.rollout = promoteRollout(world.rollout);
    }
  };
  return { state, before };
}

/** The seed with analysis added (and auto-promotion, so analysis decides alone). */
function withAnalysis(key: 'prePromotionAnalysis' | 'postPromotionAnalysis'): Rollout {
  const r: Rollout = structuredClone(rollout);
  const bg = r.spec.strategy?.blueGreen;
  if (!bg) throw new Error('seed has no blueGreen');
  bg.autoPromotionEnabled = true;
  bg[key] = {
    templates: [{ templateName: 'smoke' }],
    args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' } }],
  };
  return r;
}

/** Fail every run of `kind` 20s after it started. */
const failRuns = (kind: 'prePromotion' | 'postPromotion') => (w: ReturnType<typeof newBlueGreenWorld>) => {
  for (const r of Object.values(w.runs))
    if (r.kind === kind && r.phase === 'Running' && w.now - r.createdAt >= 20_000) {
      r.phase = 'Failed';
      r.message = 'Metric "smoke" assessed Failed due to failed (1) > failureLimit (0)';
    }
};

describe('seed-003 blue/green with manual promotion, scripted', () => {
  it('loads the Rollout', () => {
    expect(rollout.metadata?.name).toBe('app-backend');
    expect(rollout.spec.strategy?.blueGreen).toMatchObject({
      activeService: ACTIVE,
      previewService: PREVIEW,
      autoPromotionEnabled: false,
    });
  });

  it('first deploy: created at full scale, both Services on it, stable, Healthy', () => {
    const w = newBlueGreenWorld(rollout, 'aaa');
    const run = simulateBlueGreen(w, { calls: 4 });
    expect(run.map((s) => s.transition)).toEqual(['initialDeploy', 'initialPromote', 'steady', 'steady']);
    expect(run[0]?.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([
      { type: 'CreateReplicaSet', hash: 'aaa', replicas: 1 },
      { type: 'SwitchServiceSelector', role: 'preview', service: PREVIEW, hash: 'aaa' },
    ]);
    expect(w.services).toEqual({ [ACTIVE]: 'aaa', [PREVIEW]: 'aaa' });
    const st = w.rollout.status;
    expect(st).toMatchObject({
      stableRS: 'aaa',
      currentPodHash: 'aaa',
      phase: 'Healthy',
      message: '',
      blueGreen: { activeSelector: 'aaa', previewSelector: 'aaa' },
    });
    expect(conds(st)).toEqual(PROMOTED);
  });

  it('new revision: preview up, paused, promote switches active, old RS down 30s later', () => {
    const w = newBlueGreenWorld(rollout, 'bbb', 'aaa');
    // the user promotes two minutes after the pause
    const user = promoter(120_000);
    const run = simulateBlueGreen(w, { calls: 40, before: user.before });
    const promotedAt = user.state.at;
    const names = run.map((s) => s.transition);
    expect(names.slice(0, 3)).toEqual(['revisionChanged', 'scaleReplicaSets', 'blueGreenPause']);
    // preview Service on bbb as soon as it exists; active untouched until the promote
    expect(switches(run, 'preview')).toEqual([[0, 'bbb']]);
    const paused = run.find((s) => s.transition === 'blueGreenPause');
    expect(paused?.status).toMatchObject({
      phase: 'Paused',
      message: 'BlueGreenPause',
      controllerPause: true,
      pauseConditions: [{ reason: 'BlueGreenPause' }],
      blueGreen: { activeSelector: 'aaa', previewSelector: 'bbb' },
    });
    expect(conds(paused?.status)).toMatchObject({
      Progressing: 'Unknown/RolloutPaused',
      Paused: 'True/RolloutPaused',
      Available: 'True/AvailableReason',
      Completed: 'False/RolloutNotCompleted',
    });
    expect(names.filter((n) => n === 'blueGreenPauseHold').length).toBeGreaterThan(5);

    const switched = run.find((s) => s.transition === 'switchActive');
    expect(promotedAt).toBeDefined();
    expect(switched?.at).toBe(promotedAt);
    expect(switches(run, 'active')).toEqual([[promotedAt, 'bbb']]);
    expect(switched?.status).toMatchObject({ stableRS: 'bbb', phase: 'Healthy' });
    expect(switched?.status.pauseConditions).toBeUndefined();
    expect(switched?.status.controllerPause).toBeUndefined();

    // aaa kept for scaleDownDelaySeconds (30s), then scaled down
    expect(scaledTo(run, 'aaa')).toEqual([[(promotedAt ?? 0) + 30_000, 0]]);
    expect(w.replicaSets.get('aaa')?.replicas).toBe(0);
    expect(w.services).toEqual({ [ACTIVE]: 'bbb', [PREVIEW]: 'bbb' });
    const st = w.rollout.status;
    expect(st).toMatchObject({ stableRS: 'bbb', currentPodHash: 'bbb', phase: 'Healthy' });
    expect(st?.currentStepIndex).toBeUndefined();
    expect(conds(st)).toEqual({ ...PROMOTED, Paused: 'False/RolloutResumed' });
  });

  it('undo within scaleDownDelaySeconds: fast-tracked back without pause, the left version down 30s later', () => {
    const w = newBlueGreenWorld(rollout, 'bbb', 'aaa');
    const user = promoter(60_000);
    let undoneAt: number | undefined;
    const run = simulateBlueGreen(w, {
      calls: 20,
      before: (world) => {
        user.before(world);
        // on the next call after bbb became the stable, the user undoes to aaa (still up for 30s)
        if (undoneAt === undefined && world.rollout.status?.stableRS === 'bbb') {
          undoneAt = world.now;
          world.podHash = 'aaa';
          world.revision = 3;
        }
      },
    });
    const names = run.map((s) => s.transition);
    expect(undoneAt).toBeDefined();
    const fast = run.find((s) => s.transition === 'fastTrackRollback');
    expect(fast?.at).toBe(undoneAt);
    expect(names.filter((n) => n === 'blueGreenPause')).toHaveLength(1);
    expect(
      run.slice(names.indexOf('fastTrackRollback')).flatMap((s) => s.actions.map((a) => a.type)),
    ).not.toContain('CreateReplicaSet');
    expect(switches(run, 'active')).toEqual([
      [user.state.at, 'bbb'],
      [undoneAt, 'aaa'],
    ]);
    // aaa was never scaled down; bbb waits its 30s from the rollback
    expect(scaledTo(run, 'aaa')).toEqual([]);
    expect(scaledTo(run, 'bbb').at(-1)).toEqual([(undoneAt ?? 0) + 30_000, 0]);
    expect(w.services).toEqual({ [ACTIVE]: 'aaa', [PREVIEW]: 'aaa' });
    expect(w.rollout.status).toMatchObject({ stableRS: 'aaa', currentPodHash: 'aaa', phase: 'Healthy' });
    expect(fast?.actions).toContainEqual({
      type: 'EmitEvent',
      eventType: 'Normal',
      reason: 'RolloutCompleted',
      message: 'Rollout completed update to revision 3 (aaa): Completed blue-green update',
    });
  });

  it('autoPromotionSeconds: paused, then the switch happens by itself after 60s', () => {
    const auto: Rollout = structuredClone(rollout);
    const bg = auto.spec.strategy?.blueGreen;
    if (bg) {
      bg.autoPromotionEnabled = true;
      bg.autoPromotionSeconds = 60;
    }
    const w = newBlueGreenWorld(auto, 'bbb', 'aaa');
    const run = simulateBlueGreen(w, { calls: 12 });
    const paused = run.find((s) => s.transition === 'blueGreenPause');
    expect(paused?.status.phase).toBe('Paused');
    expect(paused?.actions.find((a) => a.type === 'RequeueAfter')).toEqual({
      type: 'RequeueAfter',
      ms: 60_000,
    });
    const resumed = run.find((s) => s.transition === 'autoPromotionElapsed');
    expect((resumed?.at ?? 0) - (paused?.at ?? 0)).toBe(60_000);
    expect(resumed?.status.pauseConditions).toEqual([]);
    expect(resumed?.status.controllerPause).toBe(true);
    const switched = run.find((s) => s.transition === 'switchActive');
    expect(switched?.at).toBe(resumed?.at);
    expect(switches(run, 'active')).toEqual([[resumed?.at, 'bbb']]);
    expect(scaledTo(run, 'aaa')).toEqual([[(switched?.at ?? 0) + 30_000, 0]]);
    expect(w.rollout.status).toMatchObject({ stableRS: 'bbb', phase: 'Healthy' });
  });

  it('prePromotionAnalysis failing aborts: active never switched, preview RS down after 30s', () => {
    const w = newBlueGreenWorld(withAnalysis('prePromotionAnalysis'), 'bbb', 'aaa');
    const run = simulateBlueGreen(w, { calls: 30, before: failRuns('prePromotion') });
    const created = run.flatMap((s) => s.actions.filter((a) => a.type === 'CreateAnalysisRun'));
    expect(created).toEqual([
      {
        type: 'CreateAnalysisRun',
        name: 'app-backend-bbb-1-pre',
        kind: 'prePromotion',
        templates: [{ templateName: 'smoke' }],
        args: [{ name: 'hash', value: 'bbb' }],
      },
    ]);
    const aborted = run.find((s) => s.transition === 'analysisFailed');
    expect(aborted?.status).toMatchObject({
      abort: true,
      phase: 'Degraded',
      blueGreen: { prePromotionAnalysisRunStatus: { name: 'app-backend-bbb-1-pre', status: 'Failed' } },
    });
    expect(aborted?.status.message).toBe(
      'RolloutAborted: Rollout aborted update to revision 1: Metric "smoke" assessed Failed due to failed (1) > failureLimit (0)',
    );
    expect(switches(run, 'active')).toEqual([]);
    expect(run.some((s) => s.transition === 'switchActive' || s.transition === 'promoted')).toBe(false);
    expect(scaledTo(run, 'bbb')).toEqual([
      [0, 1],
      [Date.parse(aborted?.status.abortedAt ?? '') + 30_000, 0],
    ]);
    const st = w.rollout.status;
    expect(st).toMatchObject({ stableRS: 'aaa', abort: true, phase: 'Degraded' });
    expect(w.services[ACTIVE]).toBe('aaa');
    expect(w.replicaSets.get('aaa')?.replicas).toBe(1);
    expect(conds(st)).toMatchObject({
      Progressing: 'False/RolloutAborted',
      Available: 'True/AvailableReason',
    });
  });

  it('postPromotionAnalysis failing aborts after the switch: active back on the stable hash', () => {
    const w = newBlueGreenWorld(withAnalysis('postPromotionAnalysis'), 'bbb', 'aaa');
    const run = simulateBlueGreen(w, { calls: 30, before: failRuns('postPromotion') });
    const names = run.map((s) => s.transition);
    const switched = run.find((s) => s.transition === 'switchActive');
    // active switched, but the stable stays aaa until the post-promotion run succeeds
    expect(switched?.status).toMatchObject({ stableRS: 'aaa', blueGreen: { activeSelector: 'bbb' } });
    expect(switched?.status.phase).toBe('Progressing');
    expect(switched?.status.message).toBe('waiting for analysis to complete');
    expect(names).toContain('postPromotionAnalysis');
    const aborted = run.find((s) => s.transition === 'analysisFailed');
    expect(aborted?.from).toBe('PostPromotion');
    expect(names[names.indexOf('analysisFailed') + 1]).toBe('abortSwitchActive');
    expect(switches(run, 'active').map(([, h]) => h)).toEqual(['bbb', 'aaa']);
    expect(w.services[ACTIVE]).toBe('aaa');
    expect(names).not.toContain('promoted');
    const st = w.rollout.status;
    expect(st).toMatchObject({
      stableRS: 'aaa',
      abort: true,
      phase: 'Degraded',
      blueGreen: {
        activeSelector: 'aaa',
        postPromotionAnalysisRunStatus: { name: 'app-backend-bbb-1-post', status: 'Failed' },
      },
    });
    // the old stable was never scaled down; the failed version is, after abortScaleDownDelaySeconds
    expect(scaledTo(run, 'aaa')).toEqual([]);
    expect(scaledTo(run, 'bbb').at(-1)).toEqual([Date.parse(st?.abortedAt ?? '') + 30_000, 0]);
  });
});
