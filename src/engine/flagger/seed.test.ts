import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Canary } from '../../api/flagger/canary.js';
import { loadManifests } from '../../api/load.js';
import { sharedDir } from '../../testing/upstream.js';
import { allPass, initialWorld, type Responder, simulate } from './sim.js';
import type { Action } from './types.js';

const FILE = path.join(sharedDir, 'examples', 'seed-002-podinfo-canary.yaml');
const { objects } = loadManifests(readFileSync(FILE, 'utf8'), FILE);
const canary = objects.find((o) => o.object.kind === 'Canary')?.object as unknown as Canary;

const GOOD = { 'request-success-rate': 99.9, 'request-duration': 120, '404s percentage': 1 };
const routesOf = (actions: Action[]) =>
  actions.filter((a) => a.type === 'SetRoutes').map((a) => (a.type === 'SetRoutes' ? a.canary : -1));

/** Init (2 ticks), then a new revision from tick 2 on. */
const newRevision = (i: number, w: ReturnType<typeof initialWorld>) =>
  i === 2 ? { ...w, specHash: 'rev-2' } : w;

describe('seed-002 podinfo canary, scripted', () => {
  it('loads the Canary', () => {
    expect(canary?.metadata?.name).toBe('podinfo');
  });

  it('steps 10,20,30,40,50 and promotes when every check passes', () => {
    const run = simulate(canary, {
      ticks: 16,
      world: initialWorld('rev-1'),
      respond: allPass(GOOD),
      before: newRevision,
    });
    const phases = run.map((s) => s.status.phase);
    const transitions = run.map((s) => s.transition);
    expect(transitions.slice(0, 4)).toEqual(['initWaiting', 'initDone', 'rolloutStarted', 'checksPending']);
    // the first request of the run is the pre-rollout acceptance test
    const firstRequest = run[3]?.actions
      .filter((a) => a.type === 'CallWebhook')
      .map((a) => a.type === 'CallWebhook' && a.name);
    expect(firstRequest).toEqual(['acceptance-test']);
    const weights = run.flatMap((s) => (s.status.phase === 'Progressing' ? routesOf(s.actions) : []));
    expect(weights).toEqual([10, 20, 30, 40, 50]);
    expect(
      run
        .filter((s) => s.status.phase === 'Progressing' && (s.status.canaryWeight ?? 0) > 0)
        .map((s) => s.status.canaryWeight),
    ).toEqual([10, 20, 30, 40, 50]);
    const promoteAt = run.findIndex((s) => s.actions.some((a) => a.type === 'Promote'));
    expect(run[promoteAt]?.status.phase).toBe('Promoting');
    expect(phases.slice(promoteAt)).toEqual(expect.arrayContaining(['Promoting', 'Finalising', 'Succeeded']));
    const done = run.find((s) => s.status.phase === 'Succeeded');
    expect(done?.status.lastPromotedSpec).toBe('rev-2');
    expect(done?.status.failedChecks).toBe(0);
    expect(done?.status.conditions?.[0]).toMatchObject({
      type: 'Promoted',
      status: 'True',
      reason: 'Succeeded',
    });
    expect(done?.actions).toContainEqual({
      type: 'SendAlert',
      severity: 'info',
      message: 'Canary analysis completed successfully, promotion finished.',
    });
    // stays idle afterwards
    expect(run.at(-1)?.transition).toBe('noChange');
    // a pending round is called and judged at once (Flagger calls it in-line); other ticks wait 1m
    for (const s of run)
      expect(s.actions.at(-1)).toEqual({
        type: 'Requeue',
        afterSeconds: s.transition === 'checksPending' ? 0 : 60,
      });
    // as Flagger: revision seen at 2m, canary ready and first step at 3m, then one step a minute
    const minute = (s: (typeof run)[number]) => (s.at - (run[0]?.at ?? 0)) / 60_000;
    const stepAt = run.filter((s) => routesOf(s.actions).some((w) => w > 0)).map(minute);
    expect(stepAt.slice(0, 5)).toEqual([3, 4, 5, 6, 7]);
    expect(minute(run[promoteAt] as (typeof run)[number])).toBe(8);
  });

  it('rolls back after 5 failed checks when metrics fail', () => {
    const failing: Responder = (req, i) => ({
      ...allPass(GOOD)(req, i),
      metrics: Object.fromEntries(
        req.metrics.map((n) => [n, { value: n === 'request-success-rate' ? 80 : 1 }]),
      ),
    });
    const run = simulate(canary, {
      ticks: 14,
      world: initialWorld('rev-1'),
      respond: failing,
      before: newRevision,
    });
    const failed = run.map((s) => s.status.failedChecks);
    expect(Math.max(...failed.map((f) => f ?? 0))).toBe(5);
    const rb = run.findIndex((s) => s.status.phase === 'Failed');
    expect(rb).toBeGreaterThan(0);
    expect(run[rb]?.transition).toBe('thresholdReached');
    expect(run[rb - 1]?.status.failedChecks).toBe(5);
    const actions = run[rb]?.actions ?? [];
    expect(actions).toContainEqual({ type: 'SetRoutes', primary: 100, canary: 0, mirrored: false });
    expect(actions).toContainEqual({ type: 'ScaleToZero', target: 'podinfo' });
    expect(actions).toContainEqual({
      type: 'SendAlert',
      severity: 'error',
      message: 'Failed checks threshold reached 5',
    });
    expect(run[rb]?.status).toMatchObject({ phase: 'Failed', canaryWeight: 0, lastAppliedSpec: 'rev-2' });
    expect(run[rb]?.status.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Failed' });
    // only the first weight step happened (after pre-rollout), then 5 failed checks
    const weights = run.flatMap((s) => routesOf(s.actions));
    expect(weights.filter((w) => w > 0)).toEqual([10]);
    expect(run.slice(rb).some((s) => s.actions.some((a) => a.type === 'Promote'))).toBe(false);
    expect(run.at(-1)?.transition).toBe('noChange');
  });
});
