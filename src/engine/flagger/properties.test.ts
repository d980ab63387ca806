import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Canary } from '../../api/flagger/canary.js';
import { CANARY_PHASES } from '../../api/flagger/constants.js';
import { tick } from './machine.js';
import { applyActions, initialWorld, requested, type World } from './sim.js';
import type { FlaggerStatus, MetricResult, Observation, Readiness, WebhookResult } from './types.js';

const base = (analysis: Record<string, unknown>, spec: Record<string, unknown> = {}): Canary =>
  ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'ns' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
      service: { port: 80 },
      analysis,
      ...spec,
    },
  }) as unknown as Canary;

const hooks = [
  { name: 'pre', type: 'pre-rollout', url: 'http://h/pre' },
  { name: 'load', type: 'rollout', url: 'http://h/load' },
  { name: 'gate', type: 'confirm-rollout', url: 'http://h/gate' },
  { name: 'more', type: 'confirm-traffic-increase', url: 'http://h/more' },
  { name: 'ship', type: 'confirm-promotion', url: 'http://h/ship' },
  { name: 'abort', type: 'rollback', url: 'http://h/abort' },
  { name: 'post', type: 'post-rollout', url: 'http://h/post' },
];
const metrics = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];

const VARIANTS: Canary[] = [
  base({ interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10, metrics, webhooks: hooks.slice(0, 2) }),
  base({ threshold: 2, stepWeights: [5, 25, 70], mirror: true, metrics, webhooks: hooks }),
  base({
    threshold: 3,
    iterations: 3,
    match: [{ headers: { u: { exact: 'x' } } }],
    metrics,
    webhooks: hooks,
  }),
  base({ threshold: 1, iterations: 2, mirror: true, stepWeightPromotion: 30, webhooks: hooks }),
  base({ threshold: 2, metrics }, { provider: 'kubernetes' }),
  base({ stepWeight: 20, webhooks: hooks }, { skipAnalysis: true }),
  base({ stepWeight: 40, maxWeight: 100, stepWeightPromotion: 15, metrics }),
];

const readiness: fc.Arbitrary<Readiness> = fc.oneof(
  { weight: 40, arbitrary: fc.constant({ ready: true } as Readiness) },
  { weight: 2, arbitrary: fc.constant({ ready: false, retriable: true } as Readiness) },
  { weight: 1, arbitrary: fc.constant({ ready: false, retriable: false, message: 'deadline' } as Readiness) },
);

const stepArb = fc.record({
  hash: fc.oneof(
    { weight: 8, arbitrary: fc.constant('keep') },
    { weight: 1, arbitrary: fc.constantFrom('h1', 'h2', 'h3') },
  ),
  primary: readiness,
  canary: readiness,
  randomRoutes: fc.option(
    fc.record({
      primary: fc.integer({ min: -20, max: 120 }),
      canary: fc.integer({ min: -20, max: 120 }),
      mirrored: fc.boolean(),
    }),
    { freq: 6 },
  ),
  hookOk: fc.double({ min: 0, max: 1, noNaN: true }),
  metricValue: fc.oneof(
    { weight: 1, arbitrary: fc.constant<MetricResult>({ error: 'no values found' }) },
    { weight: 6, arbitrary: fc.integer({ min: 97, max: 100 }).map<MetricResult>((value) => ({ value })) },
  ),
  drop: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

describe('Flagger tick properties', () => {
  it('never writes an invalid status and never promotes after a rollback without a new revision', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: VARIANTS.length - 1 }),
        fc.array(stepArb, { minLength: 30, maxLength: 80, size: 'max' }),
        (variant, steps) => {
          const canary = VARIANTS[variant] as Canary;
          let world: World = initialWorld('h1');
          let status: FlaggerStatus | undefined;
          let pending: { webhooks: string[]; metrics: string[] } = { webhooks: [], metrics: [] };
          let failedHash: string | undefined; // lastAppliedSpec at the rollback, while no new revision
          const t0 = Date.parse('2026-01-01T00:00:00Z');
          steps.forEach((s, i) => {
            if (s.hash !== 'keep') world = { ...world, specHash: s.hash };
            const webhooks: Record<string, WebhookResult> = {};
            const ms: Record<string, MetricResult> = {};
            if (!s.drop) {
              for (const n of pending.webhooks)
                webhooks[n] = s.hookOk > 0.1 ? { ok: true } : { ok: false, message: 'no' };
              for (const n of pending.metrics) ms[n] = s.metricValue;
            }
            const observed: Observation = {
              target: { specHash: world.specHash },
              primary: s.primary,
              canary: s.canary,
              routes: s.randomRoutes ?? world.routes,
              webhooks,
              metrics: ms,
            };
            if (
              failedHash !== undefined &&
              world.specHash !== failedHash &&
              world.specHash !== status?.lastPromotedSpec
            )
              failedHash = undefined;
            const prevFailed = status?.failedChecks ?? 0;
            const r = tick(canary, status, observed, new Date(t0 + i * 60_000));
            const st = r.status;
            expect(CANARY_PHASES).toContain(st.phase);
            expect(Number.isInteger(st.canaryWeight)).toBe(true);
            expect(st.canaryWeight).toBeGreaterThanOrEqual(0);
            expect(st.canaryWeight).toBeLessThanOrEqual(100);
            expect(st.failedChecks).toBeGreaterThanOrEqual(0);
            expect(st.failedChecks ?? 0).toBeLessThanOrEqual(prevFailed + 1);
            expect(st.iterations).toBeGreaterThanOrEqual(0);
            for (const a of r.actions) {
              if (a.type !== 'SetRoutes') continue;
              expect(a.primary).toBeGreaterThanOrEqual(0);
              expect(a.primary).toBeLessThanOrEqual(100);
              expect(a.canary).toBeGreaterThanOrEqual(0);
              expect(a.canary).toBeLessThanOrEqual(100);
            }
            if (failedHash !== undefined) expect(r.actions.some((a) => a.type === 'Promote')).toBe(false);
            if (st.phase === 'Failed' && r.status.phase !== status?.phase)
              failedHash = st.lastAppliedSpec ?? '';
            expect(r.actions.at(-1)).toEqual({ type: 'Requeue', afterSeconds: expect.any(Number) });
            status = st;
            world = applyActions(world, r.actions);
            pending = requested(r.actions);
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
