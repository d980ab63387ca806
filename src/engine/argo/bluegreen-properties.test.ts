import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Rollout, rolloutPhases } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { sharedDir } from '../../testing/upstream.js';
import { BLUEGREEN_STATES, BLUEGREEN_TRANSITION_TABLE, reconcileBlueGreen } from './bluegreen.js';
import { applyBlueGreen, type BlueGreenWorld, newBlueGreenWorld, observeBlueGreen } from './bluegreen-sim.js';
import {
  abortRollout,
  pauseRollout,
  promoteFullRollout,
  promoteRollout,
  retryRollout,
} from './user-actions.js';

const FILE = path.join(sharedDir, 'examples', 'seed-003-bluegreen-rollout.yaml');
const seed = loadManifests(readFileSync(FILE, 'utf8'), FILE).objects.find((o) => o.object.kind === 'Rollout')
  ?.object as unknown as Rollout;

function variant(patch: Record<string, unknown>, replicas = 1): Rollout {
  const r: Rollout = structuredClone(seed);
  r.spec.replicas = replicas;
  Object.assign(r.spec.strategy?.blueGreen ?? {}, patch);
  return r;
}

const VARIANTS: [string, Rollout][] = [
  ['seed-003 (manual promotion)', seed],
  [
    'seed-003 with previewReplicaCount, pre- and post-promotion analysis, 3 replicas',
    variant(
      {
        previewReplicaCount: 1,
        prePromotionAnalysis: { templates: [{ templateName: 'pre' }] },
        postPromotionAnalysis: { templates: [{ templateName: 'post' }] },
      },
      3,
    ),
  ],
  [
    'seed-003 with autoPromotionSeconds, post-promotion analysis, no delays',
    variant({
      autoPromotionEnabled: true,
      autoPromotionSeconds: 30,
      postPromotionAnalysis: { templates: [{ templateName: 'post' }] },
      scaleDownDelaySeconds: 0,
      abortScaleDownDelaySeconds: 0,
    }),
  ],
];

const PHASES = ['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive'];

type Op =
  | {
      kind: 'abort' | 'retry' | 'promote' | 'promoteFull' | 'pause' | 'unpause' | 'newRevision' | 'rollback';
    }
  | { kind: 'runPhase'; pick: number; phase: string }
  | { kind: 'unavailable' | 'recover'; pick: number }
  | { kind: 'time'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<Op>(
      { kind: 'abort' },
      { kind: 'retry' },
      { kind: 'promote' },
      { kind: 'promoteFull' },
      { kind: 'pause' },
      { kind: 'unpause' },
      { kind: 'newRevision' },
      { kind: 'rollback' },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('runPhase' as const),
      pick: fc.nat(),
      phase: fc.constantFrom(...PHASES),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('unavailable' as const, 'recover' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  },
);

const pickOf = <T>(xs: T[], n: number): T | undefined => xs[n % Math.max(1, xs.length)];

/** Applies a user action / world change; returns true when it lifts an abort (retry, new template). */
function perturb(w: BlueGreenWorld, o: Op): boolean {
  switch (o.kind) {
    case 'abort':
      w.rollout = abortRollout(w.rollout);
      return false;
    case 'retry':
      w.rollout = retryRollout(w.rollout);
      return true;
    case 'promote':
      w.rollout = promoteRollout(w.rollout);
      return false;
    case 'promoteFull':
      w.rollout = promoteFullRollout(w.rollout);
      return false;
    case 'pause':
      w.rollout = pauseRollout(w.rollout);
      return false;
    case 'unpause':
      w.rollout = { ...w.rollout, spec: { ...w.rollout.spec, paused: false } };
      return false;
    case 'newRevision':
      w.revision += 1;
      w.podHash = `rev${w.revision}`;
      return true;
    case 'rollback': {
      // back to the stable template (`undo`): a new revision whose hash is the stable's
      const stable = w.rollout.status?.stableRS;
      if (!stable || stable === w.podHash) return false;
      w.revision += 1;
      w.podHash = stable;
      return true;
    }
    case 'runPhase': {
      // mostly the newest run (the one the machine follows), sometimes an older one
      const runs = Object.values(w.runs).sort((a, b) => b.createdAt - a.createdAt);
      const run = pickOf(runs.slice(0, o.pick % 4 === 0 ? runs.length : 1), o.pick);
      if (run) run.phase = o.phase;
      return false;
    }
    case 'unavailable':
    case 'recover': {
      const rs = pickOf([...w.replicaSets.values()], o.pick);
      if (rs) rs.availableReplicas = o.kind === 'unavailable' ? 0 : rs.replicas;
      return false;
    }
    case 'time':
      w.now += o.ms;
      return false;
  }
}

/** Transitions seen across all runs (to show the property is not vacuous). */
const seen = new Set<string>();

function check(rollout: Rollout, ops: Op[]): void {
  const w = newBlueGreenWorld(rollout, 'rev1', 'rev0');
  let aborted = false;
  let tampered = false;
  for (const o of ops) {
    if (perturb(w, o)) aborted = false;
    if (o.kind === 'unavailable') tampered = true;
    for (let i = 0; i < 3; i++) {
      const before = w.rollout.status ?? {};
      const observed = observeBlueGreen(w);
      const res = reconcileBlueGreen(w.rollout, observed, new Date(w.now));
      seen.add(res.transition);
      const st = res.status;

      // a valid status
      expect(BLUEGREEN_STATES).toContain(res.from);
      if (res.transition !== 'hold') expect(BLUEGREEN_TRANSITION_TABLE[res.from]).toContain(res.transition);
      expect(rolloutPhases).toContain(st.phase);
      expect(st.currentStepIndex).toBeUndefined();
      if (st.abort === true) expect(st.phase).toBe('Degraded');

      // the active Service only ever moves to a ReplicaSet with available pods
      const known = [
        observed.replicaSets.stable,
        observed.replicaSets.canary,
        ...(observed.replicaSets.older ?? []),
      ];
      for (const a of res.actions)
        if (a.type === 'SwitchServiceSelector' && a.role === 'active') {
          const target = known.find((rs) => rs?.hash === a.hash);
          expect(target?.availableReplicas ?? 0).toBeGreaterThan(0);
        }
      // ... and its ReplicaSet is never scaled to zero
      for (const a of res.actions)
        if (a.type === 'ScaleReplicaSet' && a.replicas === 0) {
          expect(a.hash).not.toBe(st.blueGreen?.activeSelector);
          expect(a.hash).not.toBe(before.blueGreen?.activeSelector);
        }

      // no promotion after an abort until retry (or a new template)
      if (aborted) {
        expect(st.stableRS).toBe(before.stableRS);
        for (const a of res.actions)
          if (a.type === 'SwitchServiceSelector' && a.role === 'active') expect(a.hash).toBe(before.stableRS);
      }
      if (st.abort === true) aborted = true;

      w.rollout = { ...w.rollout, status: st };
      applyBlueGreen(w, res.actions);

      // once there is a stable, active names an existing ReplicaSet with pods
      if (st.stableRS) {
        const active = st.blueGreen?.activeSelector;
        expect(active).toBeDefined();
        const rs = w.replicaSets.get(active ?? '');
        expect(rs?.replicas ?? 0).toBeGreaterThan(0);
        if (!tampered) expect(rs?.availableReplicas ?? 0).toBeGreaterThan(0);
        expect(w.services[rollout.spec.strategy?.blueGreen?.activeService ?? '']).toBe(active);
      }

      const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
      w.now += requeue?.type === 'RequeueAfter' ? requeue.ms : 1_000;
    }
  }
}

describe('reconcileBlueGreen properties', () => {
  for (const [name, rollout] of VARIANTS)
    it(`${name}: valid status, active always on available pods, no promotion after abort without retry`, () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 10, maxLength: 40 }), (ops) => check(rollout, ops)),
        { numRuns: 200, seed: 20_260_101 },
      );
    });

  it('the random runs reach promotion, abort, rollback and retry', () => {
    for (const t of [
      'revisionChanged',
      'blueGreenPause',
      'autoPromotionElapsed',
      'prePromotionAnalysis',
      'postPromotionAnalysis',
      'switchActive',
      'promoted',
      'analysisFailed',
      'analysisInconclusive',
      'inconclusiveResumed',
      'abortStarted',
      'abortSwitchActive',
      'abortScaleDown',
      'retried',
      'fullPromotionStarted',
      'restoreActive',
      'scaleDownOld',
      'scaleUpPreview',
      'manualPause',
    ])
      expect(seen).toContain(t);
  });
});
