import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { sharedDir } from '../../testing/upstream.js';
import { newWorld, type SimStep, simulate } from './sim.js';
import { abortRollout, promoteRollout, restartRollout } from './user-actions.js';

const FILE = path.join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml');
const { objects } = loadManifests(readFileSync(FILE, 'utf8'), FILE);
const rollout = objects.find((o) => o.object.kind === 'Rollout')?.object as unknown as Rollout;

const MIN = 60_000;

describe('seed-000 rollout with background analysis, scripted', () => {
  it('loads the Rollout', () => {
    expect(rollout.metadata?.name).toBe('canary-demo');
    expect(rollout.spec.strategy?.canary?.steps).toHaveLength(8);
  });

  it('first deploy: the first revision becomes stable without steps', () => {
    const w = newWorld(rollout, 'aaa');
    const run = simulate(w, { calls: 3 });
    expect(run[0]?.transition).toBe('initialDeploy');
    expect(w.rollout.status?.stableRS).toBe('aaa');
    expect(w.rollout.status?.phase).toBe('Healthy');
    expect(w.services['canary-demo']).toBe('aaa');
  });

  it('a good canary walks 20/40/60/80 and promotes after 8 minutes of virtual time', () => {
    const w = newWorld(rollout, 'bbb', 'aaa');
    const run = simulate(w, { calls: 200 });
    const promoted = run.find((s) => s.transition === 'promoted');
    expect(promoted).toBeDefined();
    expect(promoted?.at).toBeGreaterThanOrEqual(8 * MIN);
    expect(promoted?.at).toBeLessThan(9 * MIN);
    const weights = run.flatMap((s) => s.actions.flatMap((a) => (a.type === 'SetWeight' ? [a.canary] : [])));
    expect(weights).toEqual([20, 40, 60, 80, 100, 0]);
    // background analysis started at step 2, terminated on promotion
    const created = run.flatMap((s) => s.actions.filter((a) => a.type === 'CreateAnalysisRun'));
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ kind: 'background', templates: [{ templateName: 'success-rate' }] });
    const startedAt = run.find((s) => s.actions.some((a) => a.type === 'CreateAnalysisRun'));
    expect(startedAt?.status.currentStepIndex).toBe(2);
    expect(Object.values(w.runs).map((r) => r.phase)).toEqual(['Successful']);
    const st = w.rollout.status;
    expect(st?.stableRS).toBe('bbb');
    expect(st?.currentStepIndex).toBe(8);
    expect(st?.phase).toBe('Healthy');
    expect(st?.canary?.weights?.canary.weight).toBe(0);
    expect(w.services['canary-demo']).toBe('bbb');
    // old stable scaled down after scaleDownDelaySeconds (30s with a router)
    expect(w.replicaSets.get('aaa')?.replicas).toBe(0);
    const types = Object.fromEntries((st?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));
    expect(types).toMatchObject({
      Progressing: 'True/NewReplicaSetAvailable',
      Available: 'True/AvailableReason',
      Completed: 'True/RolloutCompleted',
      Healthy: 'True/RolloutHealthy',
    });
  });

  it('background analysis Failed at step 2 aborts: weight 0, canary scaled down, Degraded', () => {
    const w = newWorld(rollout, 'bbb', 'aaa');
    const run = simulate(w, {
      calls: 100,
      before: (world) => {
        for (const r of Object.values(world.runs))
          if (r.kind === 'background' && r.phase === 'Running' && world.now - r.createdAt >= 30_000) {
            r.phase = 'Failed';
            r.message = 'Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)';
          }
      },
    });
    const aborted = run.find((s) => s.status.abort === true);
    expect(aborted?.transition).toBe('analysisFailed');
    expect(run.some((s) => s.transition === 'promoted')).toBe(false);
    const st = w.rollout.status;
    expect(st?.abort).toBe(true);
    expect(st?.abortedAt).toBeDefined();
    expect(st?.phase).toBe('Degraded');
    expect(st?.message).toMatch(/^RolloutAborted: Rollout aborted update to revision 1/);
    expect(st?.stableRS).toBe('aaa');
    expect(st?.currentStepIndex).toBe(0);
    expect(w.weight).toBe(0);
    expect(w.replicaSets.get('bbb')?.replicas).toBe(0);
    expect(w.replicaSets.get('aaa')?.replicas).toBe(1);
    const progressing = st?.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'RolloutAborted' });
    expect(st?.canary?.currentBackgroundAnalysisRunStatus?.status).toBe('Failed');
  });
});

describe('seed-000 without a traffic router (basic canary, 4 replicas)', () => {
  const basic: Rollout = structuredClone(rollout);
  basic.spec.replicas = 4;
  delete basic.spec.strategy?.canary?.trafficRouting;

  it('weights by pod count, never sets router weights, promotes', () => {
    const w = newWorld(basic, 'bbb', 'aaa');
    const run = simulate(w, { calls: 200 });
    expect(run.some((s) => s.actions.some((a) => a.type === 'SetWeight'))).toBe(false);
    expect(run.some((s) => s.transition === 'promoted')).toBe(true);
    const canarySizes = run.flatMap((s) =>
      s.actions.flatMap((a) =>
        (a.type === 'ScaleReplicaSet' || a.type === 'CreateReplicaSet') && a.hash === 'bbb'
          ? [a.replicas]
          : [],
      ),
    );
    // created at 0, then 1/2/3/4 pods for 20/40/60/80 % of 4 (rounded up); 100 % stays at 4
    expect(canarySizes).toEqual([0, 1, 2, 3, 4]);
    expect(w.rollout.status?.stableRS).toBe('bbb');
    expect(w.rollout.status?.canary?.weights).toBeUndefined();
    expect(w.replicaSets.get('aaa')?.replicas).toBe(0);
    expect(w.rollout.status?.phase).toBe('Healthy');
  });

  it('inconclusive background analysis pauses; promote resumes with a fresh run', () => {
    const w = newWorld(basic, 'bbb', 'aaa');
    let promoted = false;
    const run = simulate(w, {
      calls: 200,
      before: (world) => {
        const bg = Object.entries(world.runs).find(([, r]) => r.kind === 'background');
        if (bg && bg[0] === 'canary-demo-bbb-1' && bg[1].phase === 'Running') bg[1].phase = 'Inconclusive';
        if (
          !promoted &&
          world.rollout.status?.pauseConditions?.some((p) => p.reason === 'InconclusiveAnalysisRun')
        ) {
          promoted = true;
          world.rollout = promoteRollout(world.rollout);
        }
      },
    });
    const paused = run.find((s) => s.transition === 'analysisInconclusive');
    expect(paused?.status.phase).toBe('Paused');
    expect(paused?.status.message).toBe('InconclusiveAnalysisRun');
    expect(run.some((s) => s.transition === 'inconclusiveResumed')).toBe(true);
    expect(Object.keys(w.runs)).toEqual(['canary-demo-bbb-1', 'canary-demo-bbb-1.1']);
    expect(w.rollout.status?.stableRS).toBe('bbb');
  });
});

describe('seed-000 with managed routes, restart, undo, steps edits and the progress deadline', () => {
  /** The seed with a header route step after the first setWeight, listed in managedRoutes. */
  const withRoute: Rollout = structuredClone(rollout);
  const canary = withRoute.spec.strategy?.canary;
  if (canary?.trafficRouting) canary.trafficRouting.managedRoutes = [{ name: 'hdr' }];
  canary?.steps?.splice(1, 0, {
    setHeaderRoute: { name: 'hdr', match: [{ headerName: 'x-canary', headerValue: { exact: '1' } }] },
  });

  it('the header route lives from its step until the promotion removes it', () => {
    const w = newWorld(withRoute, 'bbb', 'aaa');
    let routedAt: number | undefined;
    const run = simulate(w, {
      calls: 200,
      before: (world) => {
        if (routedAt === undefined && world.headerRoutes.includes('hdr')) routedAt = world.now;
      },
    });
    const promoted = run.find((s) => s.transition === 'promoted');
    expect(routedAt).toBeDefined();
    expect(promoted?.actions).toContainEqual({ type: 'RemoveManagedRoutes', names: ['hdr'] });
    expect(w.headerRoutes).toEqual([]);
    expect(run.filter((s) => s.actions.some((a) => a.type === 'RemoveManagedRoutes'))).toHaveLength(1);
    expect(w.rollout.status?.phase).toBe('Healthy');
  });

  it('an abort removes the header route too', () => {
    const w = newWorld(withRoute, 'bbb', 'aaa');
    const run = simulate(w, {
      calls: 60,
      before: (world) => {
        if (world.headerRoutes.includes('hdr') && world.rollout.status?.abort !== true)
          world.rollout = abortRollout(world.rollout);
      },
    });
    expect(run.some((s) => s.transition === 'abortStarted')).toBe(true);
    expect(w.headerRoutes).toEqual([]);
    expect(w.weight).toBe(0);
    expect(w.rollout.status?.phase).toBe('Degraded');
  });

  it('restart: every pod restarted, one at a time (maxUnavailable 25% of 3 is 0, so 1), then restartedAt', () => {
    const three: Rollout = structuredClone(rollout);
    three.spec.replicas = 3;
    const w = newWorld(three, 'aaa', 'aaa');
    simulate(w, { calls: 3 });
    expect(w.rollout.status?.phase).toBe('Healthy');
    w.rollout = restartRollout(w.rollout, new Date(w.now));
    const restartAt = w.rollout.spec.restartAt;
    w.now += 1_000;
    const run = simulate(w, { calls: 10 });
    const evictions = run.flatMap((s) => s.actions.filter((a) => a.type === 'RestartPods'));
    expect(evictions).toEqual(
      [0, 1, 2].map(() => ({ type: 'RestartPods', hash: 'aaa', count: 1, before: restartAt })),
    );
    expect(run.find((s) => s.transition === 'restartPods')?.status.message).toBe('rollout is restarting');
    expect(w.rollout.status?.restartedAt).toBe(restartAt);
    expect(w.rollout.status?.phase).toBe('Healthy');
    const pods = w.replicaSets.get('aaa')?.pods ?? [];
    expect(pods.every((t) => t >= Date.parse(restartAt ?? ''))).toBe(true);
  });

  /** Promote bbb over aaa, then undo back to aaa; returns the calls after the undo. */
  function undoAfterPromotion(r: Rollout): { w: ReturnType<typeof newWorld>; after: SimStep[] } {
    const w = newWorld(r, 'bbb', 'aaa');
    simulate(w, { calls: 200 });
    expect(w.rollout.status?.stableRS).toBe('bbb');
    expect(w.replicaSets.get('aaa')?.replicas).toBe(0);
    w.podHash = 'aaa';
    w.revision = 3;
    const after = simulate(w, { calls: 100 });
    return { w, after };
  }

  it('undo within rollbackWindow: fast-tracked, no steps or analysis, promoted within seconds', () => {
    const r: Rollout = structuredClone(rollout);
    r.spec.rollbackWindow = { revisions: 2 };
    const { w, after } = undoAfterPromotion(r);
    const promoted = after.find((s) => s.transition === 'promoted');
    expect(after.map((s) => s.transition)).toContain('rollbackWindowFastTrack');
    expect(promoted?.actions).toContainEqual(
      expect.objectContaining({
        reason: 'RolloutCompleted',
        message: expect.stringMatching(/Rollback within window$/),
      }),
    );
    expect((promoted?.at ?? 0) - (after[0]?.at ?? 0)).toBeLessThan(60_000);
    expect(after.some((s) => s.actions.some((a) => a.type === 'CreateAnalysisRun'))).toBe(false);
    expect(w.rollout.status?.stableRS).toBe('aaa');
  });

  it('undo without rollbackWindow is a roll forward through every step again', () => {
    const { w, after } = undoAfterPromotion(rollout);
    const promoted = after.find((s) => s.transition === 'promoted');
    expect((promoted?.at ?? 0) - (after[0]?.at ?? 0)).toBeGreaterThanOrEqual(8 * MIN);
    expect(after.some((s) => s.actions.some((a) => a.type === 'CreateAnalysisRun'))).toBe(true);
    expect(w.rollout.status?.stableRS).toBe('aaa');
  });

  it('editing the steps mid-rollout starts over at step 0 with the new steps', () => {
    const w = newWorld(rollout, 'bbb', 'aaa');
    let edited = false;
    const run = simulate(w, {
      calls: 200,
      before: (world) => {
        if (!edited && world.rollout.status?.currentStepIndex === 4) {
          edited = true;
          const steps = [{ setWeight: 50 }, { pause: { duration: '1m' } }];
          world.rollout = structuredClone(world.rollout);
          if (world.rollout.spec.strategy?.canary) world.rollout.spec.strategy.canary.steps = steps;
        }
      },
    });
    const changed = run.findIndex((s) => s.transition === 'stepsChanged');
    expect(changed).toBeGreaterThan(0);
    expect(run[changed]?.status.currentStepIndex).toBe(0);
    const weights = run.flatMap((s) => s.actions.flatMap((a) => (a.type === 'SetWeight' ? [a.canary] : [])));
    // edited when step 4 (setWeight 60) was next: 60 never comes
    expect(weights).toEqual([20, 40, 50, 100, 0]);
    expect(w.rollout.status?.stableRS).toBe('bbb');
    expect(w.rollout.status?.currentStepIndex).toBe(2);
  });

  it('progressDeadlineAbort: a canary whose pods never become available is aborted after 600s', () => {
    const r: Rollout = structuredClone(rollout);
    r.spec.progressDeadlineAbort = true;
    const w = newWorld(r, 'bbb', 'aaa');
    const run = simulate(w, {
      calls: 50,
      before: (world) => {
        const rs = world.replicaSets.get('bbb');
        if (rs) rs.availableReplicas = 0;
      },
    });
    const aborted = run.find((s) => s.transition === 'progressDeadlineAbort');
    expect(aborted?.at).toBeGreaterThan(600_000);
    expect(aborted?.at).toBeLessThan(610_000);
    expect(w.rollout.status?.message).toBe(
      'RolloutAborted: Rollout aborted update to revision 1: ReplicaSet "canary-demo-bbb" has timed out progressing.',
    );
    expect(w.weight).toBe(0);
    expect(run.some((s) => s.transition === 'promoted')).toBe(false);
  });
});
