import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Rollout, RolloutStatusSchema, rolloutPhases } from '../../api/argo/rollout.js';
import { loadManifests } from '../../api/load.js';
import { type SchemaNode, validateValue } from '../../api/validate.js';
import { sharedDir } from '../../testing/upstream.js';
import {
  BLUEGREEN_STATES,
  BLUEGREEN_TRANSITION_TABLE,
  type BlueGreenResult,
  reconcileBlueGreen,
} from './bluegreen.js';
import { newBlueGreenWorld } from './bluegreen-sim.js';
import { apply, observe, USER_OPS, type UserOp, type World } from './sim.js';
import type { CanaryObservation } from './types.js';

const FILE = path.join(sharedDir, 'examples', 'seed-003-bluegreen-rollout.yaml');
const seed = loadManifests(readFileSync(FILE, 'utf8'), FILE).objects.find((o) => o.object.kind === 'Rollout')
  ?.object as unknown as Rollout;

function variant(patch: Record<string, unknown>, replicas = 1, spec: Partial<Rollout['spec']> = {}): Rollout {
  const r: Rollout = structuredClone(seed);
  r.spec.replicas = replicas;
  Object.assign(r.spec, spec);
  Object.assign(r.spec.strategy?.blueGreen ?? {}, patch);
  return r;
}

const ACTIVE_META = { labels: { role: 'active' } };
const PREVIEW_META = { labels: { role: 'preview' }, annotations: { 'vireo.dev/preview': 'yes' } };

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
  [
    'seed-003 auto-promoted with a 60s progress deadline that aborts, a 5m scale-down delay, pod metadata, 2 replicas',
    variant(
      {
        autoPromotionEnabled: true,
        scaleDownDelaySeconds: 300,
        activeMetadata: ACTIVE_META,
        previewMetadata: PREVIEW_META,
      },
      2,
      { progressDeadlineSeconds: 60, progressDeadlineAbort: true },
    ),
  ],
  [
    'seed-003 with scaleDownDelayRevisionLimit 0, a progress deadline without abort, post-promotion analysis',
    variant(
      { scaleDownDelayRevisionLimit: 0, postPromotionAnalysis: { templates: [{ templateName: 'post' }] } },
      2,
      { progressDeadlineSeconds: 60 },
    ),
  ],
];

const PHASES = ['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive'];

type Op =
  | { kind: UserOp | 'newRevision' | 'rollback' }
  | { kind: 'runPhase' | 'undo'; pick: number; phase?: string }
  | { kind: 'unavailable' | 'recover'; pick: number }
  | { kind: 'time'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<Op>(
      ...(Object.keys(USER_OPS) as UserOp[]).map((kind) => ({ kind })),
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
      kind: fc.constantFrom('unavailable' as const, 'recover' as const, 'undo' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 120_000 }) }),
  },
);

const pickOf = <T>(xs: T[], n: number): T | undefined => xs[n % Math.max(1, xs.length)];

/** Back to an older template: a new revision whose pod hash is `hash`. */
function templateTo(w: World, hash: string | undefined): boolean {
  if (!hash || hash === w.podHash) return false;
  w.revision += 1;
  w.podHash = hash;
  return true;
}

/** Applies a user action / world change; returns true when it lifts an abort (retry, new template). */
function perturb(w: World, o: Op): boolean {
  if (o.kind in USER_OPS) {
    w.rollout = USER_OPS[o.kind as UserOp](w.rollout);
    return o.kind === 'retry';
  }
  switch (o.kind) {
    case 'newRevision':
      return templateTo(w, `rev${w.revision + 1}`);
    case 'rollback':
      // back to the stable template (`undo`)
      return templateTo(w, w.rollout.status?.stableRS);
    case 'undo':
      // back to any other ReplicaSet's template: one still up in its scale-down delay is fast-tracked
      return templateTo(
        w,
        pickOf(
          [...w.replicaSets.keys()].filter((h) => h !== w.podHash),
          o.pick,
        ),
      );
    case 'runPhase': {
      // mostly the newest run (the one the machine follows), sometimes an older one
      const runs = Object.values(w.runs).sort((a, b) => b.createdAt - a.createdAt);
      const run = pickOf(runs.slice(0, o.pick % 4 === 0 ? runs.length : 1), o.pick);
      if (run && o.phase) run.phase = o.phase;
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
  return false;
}

/** Transitions seen across all runs (to show the property is not vacuous). */
const seen = new Set<string>();
const STATUS_SCHEMA = RolloutStatusSchema as unknown as SchemaNode;

/** A cheap invariant (the loop makes ~100k checks): fails with `what` and the values involved. */
function ok(holds: boolean, what: string, detail?: unknown): void {
  if (!holds) expect.fail(`${what}: ${JSON.stringify(detail)}`);
}

/** The status fields Argo recomputes every pass, the phase and the progress deadline. */
function checkStatus(rollout: Rollout, observed: CanaryObservation, res: BlueGreenResult): void {
  const st = res.status;
  const errors = validateValue(STATUS_SCHEMA, st).filter((d) => d.severity === 'error');
  ok(errors.length === 0, 'status matches the schema', errors);
  ok(BLUEGREEN_STATES.includes(res.from), 'a known state', res.from);
  ok(
    res.transition === 'hold' || BLUEGREEN_TRANSITION_TABLE[res.from].includes(res.transition as never),
    'the transition belongs to the state',
    [res.from, res.transition],
  );
  ok(rolloutPhases.includes(st.phase as never), 'a known phase', st.phase);
  ok(st.currentStepIndex === undefined, 'no step index', st.currentStepIndex);
  ok((st.updatedReplicas ?? 0) <= (st.replicas ?? 0), 'updatedReplicas <= replicas', st);
  ok((st.availableReplicas ?? 0) <= (st.replicas ?? 0), 'availableReplicas <= replicas', st);
  const active = st.blueGreen?.activeSelector;
  const activeRS = [
    observed.replicaSets.stable,
    observed.replicaSets.canary,
    ...(observed.replicaSets.older ?? []),
  ].find((rs) => rs?.hash === active);
  if (activeRS)
    ok(
      st.HPAReplicas === activeRS.replicas &&
        st.availableReplicas === activeRS.availableReplicas &&
        !!st.selector?.includes(`rollouts-pod-template-hash=${active}`),
      "HPAReplicas, availableReplicas and selector are the active ReplicaSet's",
      [st.HPAReplicas, st.availableReplicas, st.selector, activeRS],
    );
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  const degraded =
    progressing?.reason === 'RolloutAborted' || progressing?.reason === 'ProgressDeadlineExceeded';
  ok((st.phase === 'Degraded') === degraded, 'Degraded exactly when aborted or past the deadline', [
    st.phase,
    progressing,
  ]);
  ok(st.abort !== true || st.phase === 'Degraded', 'an abort is Degraded', st.phase);
  // paused rollouts do not time out
  const pausedBefore = rollout.spec.paused === true || (rollout.status?.pauseConditions ?? []).length > 0;
  if (pausedBefore)
    ok(
      res.transition !== 'progressDeadlineAbort' &&
        (st.abort === true || progressing?.reason !== 'ProgressDeadlineExceeded'),
      'a paused rollout does not time out',
      [res.transition, progressing],
    );
  const requeues = res.actions.filter((a) => a.type === 'RequeueAfter');
  ok(
    requeues.length <= 1 &&
      requeues.every((a) => a.type === 'RequeueAfter' && Number.isFinite(a.ms) && a.ms >= 0),
    'at most one finite requeue',
    requeues,
  );
}

function check(rollout: Rollout, ops: Op[]): void {
  const w = newBlueGreenWorld(rollout, 'rev1', 'rev0');
  const bg = rollout.spec.strategy?.blueGreen;
  const limit = bg?.scaleDownDelayRevisionLimit ?? Number.POSITIVE_INFINITY;
  let aborted = false;
  let tampered = false;
  for (const o of ops) {
    if (perturb(w, o)) aborted = false;
    if (o.kind === 'unavailable') tampered = true;
    for (let i = 0; i < 3; i++) {
      const before = w.rollout.status ?? {};
      const observed = observe(w);
      const res = reconcileBlueGreen(w.rollout, observed, new Date(w.now));
      seen.add(res.transition);
      const st = res.status;
      checkStatus(w.rollout, observed, res);

      const known = [
        observed.replicaSets.stable,
        observed.replicaSets.canary,
        ...(observed.replicaSets.older ?? []),
      ];
      for (const a of res.actions) {
        // the active Service only ever moves to a ReplicaSet with available pods ...
        if (a.type === 'SwitchServiceSelector' && a.role === 'active')
          ok(
            (known.find((rs) => rs?.hash === a.hash)?.availableReplicas ?? 0) > 0,
            'active to available pods',
            a,
          );
        // ... and its ReplicaSet is never scaled to zero
        if (a.type === 'ScaleReplicaSet' && a.replicas === 0)
          ok(
            a.hash !== st.blueGreen?.activeSelector && a.hash !== before.blueGreen?.activeSelector,
            'the active ReplicaSet is not scaled to zero',
            a,
          );
        // pod metadata only for ReplicaSets that exist
        if (a.type === 'SetPodMetadata')
          ok(
            known.some((rs) => rs?.hash === a.hash),
            'metadata for a ReplicaSet',
            a,
          );
      }

      // a fast-tracked rollback: to a ReplicaSet that was up, active and stable on it at once, no analysis
      if (res.transition === 'fastTrackRollback')
        ok(
          observed.replicaSets.canary?.replicas === rollout.spec.replicas &&
            st.stableRS === w.podHash &&
            st.blueGreen?.activeSelector === w.podHash &&
            st.pauseConditions === undefined &&
            !res.actions.some((a) => a.type === 'CreateAnalysisRun'),
          'fast-track: up, active and stable at once, without analysis or pause',
          res,
        );

      // no promotion after an abort until retry (or a new template)
      if (aborted)
        ok(
          st.stableRS === before.stableRS &&
            res.actions.every(
              (a) => a.type !== 'SwitchServiceSelector' || a.role !== 'active' || a.hash === before.stableRS,
            ),
          'no promotion after an abort',
          res,
        );
      if (st.abort === true) aborted = true;

      w.rollout = { ...w.rollout, status: st };
      apply(w, res.actions);

      // once there is a stable, active names an existing ReplicaSet with pods
      if (st.stableRS) {
        const active = st.blueGreen?.activeSelector;
        const rs = w.replicaSets.get(active ?? '');
        ok(
          active !== undefined &&
            (rs?.replicas ?? 0) > 0 &&
            (tampered || (rs?.availableReplicas ?? 0) > 0) &&
            w.services[bg?.activeService ?? ''] === active,
          'active names a ReplicaSet with pods, and the Service is on it',
          [active, rs, w.services],
        );
      }
      // settled: at most scaleDownDelayRevisionLimit old ReplicaSets are up; pod metadata by role
      if (res.transition === 'steady' || res.transition === 'scaleDownOld') {
        const up = [...w.replicaSets].filter(
          ([h, rs]) => h !== st.stableRS && h !== w.podHash && rs.replicas > 0,
        );
        ok(up.length <= limit, 'at most scaleDownDelayRevisionLimit old ReplicaSets up', up);
      }
      if (res.transition === 'steady')
        for (const [h, rs] of w.replicaSets) {
          const want = h === st.stableRS ? bg?.activeMetadata : undefined;
          ok(
            JSON.stringify(rs.podMetadata?.labels ?? {}) === JSON.stringify(want?.labels ?? {}),
            'settled pod metadata: activeMetadata on the stable only',
            [h, rs.podMetadata],
          );
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

  it('the random runs reach promotion, abort, rollback, fast-track, deadlines, metadata and retry', () => {
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
      'fastTrackRollback',
      'progressDeadlineAbort',
      'syncPodMetadata',
    ])
      expect(seen).toContain(t);
  });
});
