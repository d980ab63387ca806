import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { reconcileCanary } from './machine.js';
import { apply, newWorld, observe, type World } from './sim.js';
import {
  abortRollout,
  pauseRollout,
  promoteFullRollout,
  promoteRollout,
  retryRollout,
} from './user-actions.js';

const FILE = '/work/shared/examples/seed-000-rollout-with-analysis.yaml';
const seed = loadManifests(readFileSync(FILE, 'utf8'), FILE).objects.find((o) => o.object.kind === 'Rollout')
  ?.object as unknown as Rollout;

/** The seed plus an analysis step, an indefinite pause and a setCanaryScale, 3 replicas. */
const rich: Rollout = structuredClone(seed);
rich.spec.replicas = 3;
rich.spec.strategy?.canary?.steps?.splice(
  2,
  0,
  { analysis: { templates: [{ templateName: 'success-rate' }] } },
  { pause: {} },
  { setCanaryScale: { replicas: 2 } },
);

const PHASES = ['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive'];

type Op =
  | {
      kind:
        | 'abort'
        | 'retry'
        | 'promote'
        | 'promoteFull'
        | 'pause'
        | 'unpause'
        | 'newRevision'
        | 'unavailable';
    }
  | { kind: 'runPhase'; pick: number; phase: string }
  | { kind: 'weight'; weight: number }
  | { kind: 'time'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom<Op>(
    { kind: 'abort' },
    { kind: 'retry' },
    { kind: 'promote' },
    { kind: 'promoteFull' },
    { kind: 'pause' },
    { kind: 'unpause' },
    { kind: 'newRevision' },
    { kind: 'unavailable' },
  ),
  fc.record({ kind: fc.constant('runPhase' as const), pick: fc.nat(), phase: fc.constantFrom(...PHASES) }),
  fc.record({ kind: fc.constant('weight' as const), weight: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 300_000 }) }),
);

/** Applies a user action / world perturbation; returns true when it lifts an abort (retry or new revision). */
function perturb(w: World, o: Op): boolean {
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
    case 'unavailable':
      for (const rs of w.replicaSets.values()) rs.availableReplicas = 0;
      return false;
    case 'runPhase': {
      const names = Object.keys(w.runs);
      const name = names[o.pick % Math.max(1, names.length)];
      const run = name ? w.runs[name] : undefined;
      if (run) run.phase = o.phase;
      return false;
    }
    case 'weight':
      w.weight = o.weight;
      return false;
    case 'time':
      w.now += o.ms;
      return false;
  }
}

/** Transitions seen across all runs (to show the property is not vacuous). */
const seen = new Set<string>();

function check(rollout: Rollout, ops: Op[]): void {
  const w = newWorld(rollout, 'rev1', 'rev0');
  w.revision = 1;
  const steps = rollout.spec.strategy?.canary?.steps?.length ?? 0;
  let aborted = false;
  for (const o of ops) {
    if (perturb(w, o)) aborted = false;
    for (let i = 0; i < 3; i++) {
      const stableBefore = w.rollout.status?.stableRS;
      const res = reconcileCanary(w.rollout, observe(w), new Date(w.now));
      seen.add(res.transition);
      const idx = res.status.currentStepIndex ?? 0;
      expect(idx).toBeGreaterThanOrEqual(0);
      expect(idx).toBeLessThanOrEqual(steps);
      if (aborted) {
        expect(res.transition).not.toBe('promoted');
        expect(res.status.stableRS).toBe(stableBefore);
      }
      if (res.status.abort === true) aborted = true;
      w.rollout = { ...w.rollout, status: res.status };
      apply(w, res.actions);
      const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
      w.now += requeue?.type === 'RequeueAfter' ? requeue.ms : 1_000;
    }
  }
}

describe('reconcileCanary properties', () => {
  for (const [name, rollout] of [
    ['seed-000', seed],
    ['seed-000 with analysis step, indefinite pause, setCanaryScale', rich],
  ] as const)
    it(`${name}: index stays in 0..steps.length; no promotion after abort without retry`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => check(rollout, ops)),
        { numRuns: 200 },
      );
    });

  it('the random runs reach promotion, abort and retry', () => {
    for (const t of [
      'promoted',
      'analysisFailed',
      'abortStarted',
      'retried',
      'analysisInconclusive',
      'stepAnalysis',
    ])
      expect(seen).toContain(t);
  });
});
