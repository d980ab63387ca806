import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { newWorld, simulate } from './sim.js';
import { promoteRollout } from './user-actions.js';

const FILE = '/work/shared/examples/seed-000-rollout-with-analysis.yaml';
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
