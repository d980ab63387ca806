import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanaryStep, Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { RolloutStatusSchema } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { type SchemaNode, validateValue } from '../../api/validate.js';
import { sharedDir } from '../../testing/upstream.js';
import { canaryStepHash, reconcileCanary } from './machine.js';
import { apply, newWorld, observe, type World } from './sim.js';
import type { CanaryResult } from './types.js';
import {
  abortRollout,
  pauseRollout,
  promoteFullRollout,
  promoteRollout,
  type RevisionTemplate,
  restartRollout,
  retryRollout,
  setImage,
  UserActionError,
  undoRollout,
} from './user-actions.js';

const FILE = path.join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml');
const seed = loadManifests(readFileSync(FILE, 'utf8'), FILE).objects.find((o) => o.object.kind === 'Rollout')
  ?.object as unknown as Rollout;

/** The container whose image names the pod-template hash in these worlds (`app:<hash>`). */
const CONTAINER = seed.spec.template?.spec?.containers[0]?.name ?? '';
const withImage = (r: Rollout, hash: string): Rollout => setImage(r, CONTAINER, `app:${hash}`);
const hashOf = (r: Rollout): string =>
  String(r.spec.template?.spec?.containers[0]?.image ?? '').split(':')[1] ?? '';

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

/**
 * The seed with a header route, rollbackWindow, a short progress deadline that aborts, 4 replicas and
 * maxUnavailable 2 (restarts of two pods at a time).
 */
const routed: Rollout = structuredClone(seed);
routed.spec.replicas = 4;
routed.spec.rollbackWindow = { revisions: 2 };
routed.spec.progressDeadlineSeconds = 120;
routed.spec.progressDeadlineAbort = true;
if (routed.spec.strategy?.canary) {
  const canary = routed.spec.strategy.canary;
  canary.maxUnavailable = 2;
  if (canary.trafficRouting) canary.trafficRouting.managedRoutes = [{ name: 'hdr' }];
  canary.steps?.splice(1, 0, {
    setHeaderRoute: { name: 'hdr', match: [{ headerName: 'x', headerValue: { exact: '1' } }] },
  });
}

/** Steps the `steps` op switches between (the original is variant 0). */
const stepVariants = (r: Rollout): CanaryStep[][] => {
  const steps = r.spec.strategy?.canary?.steps ?? [];
  return [
    steps,
    steps.slice(0, Math.max(1, steps.length - 2)),
    [...steps, { pause: { duration: '30s' } }],
    steps.map((s) => (s.pause?.duration !== undefined ? { pause: { duration: '10s' } } : s)),
  ];
};

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
  | { kind: 'time'; ms: number }
  | { kind: 'steps'; pick: number }
  | { kind: 'restart'; inMs: number }
  | { kind: 'undo'; pick: number };

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
      { kind: 'unavailable' },
    ),
  },
  fc.record({ kind: fc.constant('runPhase' as const), pick: fc.nat(), phase: fc.constantFrom(...PHASES) }),
  fc.record({ kind: fc.constant('weight' as const), weight: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 300_000 }) }),
  fc.record({ kind: fc.constant('steps' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('restart' as const), inMs: fc.constantFrom(0, 5_000, 60_000) }),
  fc.record({ kind: fc.constant('undo' as const), pick: fc.nat() }),
);

interface Sim {
  w: World;
  base: Rollout;
  /** rollout.argoproj.io/revision of each pod-template hash seen. */
  revisions: Map<string, number>;
  /** Every spec.restartAt the user wrote. */
  restartAts: Set<number>;
}

/** The world's template changed to `hash` (new revision, or an older one brought back). */
function newTemplate(s: Sim, hash: string): boolean {
  if (hash === s.w.podHash) return false;
  s.w.revision = Math.max(...s.revisions.values()) + 1;
  s.revisions.set(hash, s.w.revision);
  s.w.podHash = hash;
  return true;
}

/** Applies a user action / world perturbation; returns true when it lifts an abort. */
function perturb(s: Sim, o: Op): boolean {
  const { w } = s;
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
    case 'newRevision': {
      const hash = `rev${Math.max(...s.revisions.values()) + 1}`;
      w.rollout = withImage(w.rollout, hash);
      return newTemplate(s, hash);
    }
    case 'undo': {
      const history: RevisionTemplate[] = [...s.revisions]
        .filter(([h]) => w.replicaSets.has(h) || h === w.podHash)
        .map(([h, revision]) => ({ revision, template: withImage(w.rollout, h).spec.template ?? {} }));
      const to = o.pick % 3 === 0 ? 0 : (history[o.pick % history.length]?.revision ?? 0);
      try {
        w.rollout = undoRollout(w.rollout, history, to);
      } catch (e) {
        if (e instanceof UserActionError) return false;
        throw e;
      }
      return newTemplate(s, hashOf(w.rollout));
    }
    case 'steps': {
      const variants = stepVariants(s.base);
      const steps = variants[o.pick % variants.length] ?? [];
      const before = canaryStepHash(w.rollout.spec.strategy?.canary?.steps);
      w.rollout = structuredClone(w.rollout);
      if (w.rollout.spec.strategy?.canary) w.rollout.spec.strategy.canary.steps = structuredClone(steps);
      return canaryStepHash(steps) !== before;
    }
    case 'restart':
      w.rollout = restartRollout(w.rollout, new Date(w.now), o.inMs);
      s.restartAts.add(Date.parse(w.rollout.spec.restartAt ?? ''));
      return false;
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

const STATUS_SCHEMA = RolloutStatusSchema as unknown as SchemaNode;

/** Everything a status written by the machine must satisfy, whatever happened before. */
function checkStatus(rollout: Rollout, res: CanaryResult, restartAts: ReadonlySet<number>): void {
  const st: RolloutStatus = res.status;
  const errors = validateValue(STATUS_SCHEMA, st).filter((d) => d.severity === 'error');
  expect(errors).toEqual([]);
  const steps = rollout.spec.strategy?.canary?.steps ?? [];
  const idx = st.currentStepIndex ?? 0;
  expect(Number.isInteger(idx)).toBe(true);
  expect(idx).toBeGreaterThanOrEqual(0);
  expect(idx).toBeLessThanOrEqual(steps.length);
  expect(st.currentStepHash).toBe(canaryStepHash(rollout.spec.strategy?.canary?.steps));
  expect(st.HPAReplicas).toBe(st.replicas);
  expect(st.updatedReplicas).toBeLessThanOrEqual(st.replicas ?? 0);
  expect(st.availableReplicas).toBeLessThanOrEqual(st.replicas ?? 0);
  // restartedAt only ever records a restartAt the user asked for; once it matches, no more evictions.
  if (st.restartedAt !== undefined) expect(restartAts.has(Date.parse(st.restartedAt))).toBe(true);
  const restartDone =
    rollout.spec.restartAt === undefined ||
    (st.restartedAt !== undefined && Date.parse(st.restartedAt) === Date.parse(rollout.spec.restartAt));
  if (restartDone) expect(res.actions.filter((a) => a.type === 'RestartPods')).toEqual([]);
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  const degraded =
    progressing?.reason === 'RolloutAborted' || progressing?.reason === 'ProgressDeadlineExceeded';
  expect(st.phase === 'Degraded').toBe(degraded);
  if (st.abort === true) expect(st.abortedAt).toBeDefined();
  const requeues = res.actions.filter((a) => a.type === 'RequeueAfter');
  expect(requeues.length).toBeLessThanOrEqual(1);
  for (const a of res.actions) {
    if (a.type === 'RequeueAfter') expect(Number.isFinite(a.ms) && a.ms >= 0).toBe(true);
    if (a.type === 'RestartPods') expect(a.count).toBeGreaterThan(0);
    if (a.type === 'SetWeight') expect(a.canary).toBeGreaterThanOrEqual(0);
  }
}

/** Transitions seen across all runs (to show the property is not vacuous). */
const seen = new Set<string>();

function check(base: Rollout, ops: Op[]): void {
  const rollout = withImage(base, 'rev1');
  const s: Sim = {
    w: newWorld(rollout, 'rev1', 'rev0'),
    base,
    revisions: new Map([
      ['rev0', 1],
      ['rev1', 2],
    ]),
    restartAts: new Set(),
  };
  const { w } = s;
  w.revision = 2;
  let aborted = false;
  for (const o of ops) {
    if (perturb(s, o)) aborted = false;
    for (let i = 0; i < 3; i++) {
      const stableBefore = w.rollout.status?.stableRS;
      const res = reconcileCanary(w.rollout, observe(w), new Date(w.now));
      seen.add(res.transition);
      checkStatus(w.rollout, res, s.restartAts);
      if (aborted) {
        expect(res.transition).not.toBe('promoted');
        expect(res.status.stableRS).toBe(stableBefore);
      }
      if (res.status.abort === true) aborted = true;
      w.rollout = { ...w.rollout, status: res.status };
      apply(w, res.actions);
      const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
      w.now += requeue?.type === 'RequeueAfter' ? Math.max(requeue.ms, 1_000) : 1_000;
    }
  }
}

describe('reconcileCanary properties', () => {
  for (const [name, rollout] of [
    ['seed-000', seed],
    ['seed-000 with analysis step, indefinite pause, setCanaryScale', rich],
    ['seed-000 with a header route, rollbackWindow, progressDeadlineAbort, 4 replicas', routed],
  ] as const)
    it(`${name}: valid status, index in 0..steps.length, step hash current, no promotion after abort`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => check(rollout, ops)),
        { numRuns: 200 },
      );
    });

  it('the random runs reach promotion, abort, retry, step changes, restarts, route cleanup and timeouts', () => {
    for (const t of [
      'promoted',
      'analysisFailed',
      'abortStarted',
      'retried',
      'analysisInconclusive',
      'stepAnalysis',
      'stepsChanged',
      'revisionChanged',
      'restartPods',
      'restartCompleted',
      'progressDeadlineAbort',
      'resetWeightToStable',
      'removeManagedRoutes',
    ])
      expect(seen).toContain(t);
  });
});
