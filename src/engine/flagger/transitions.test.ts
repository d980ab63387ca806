import { describe, expect, it } from 'vitest';
import type { Canary } from '../../api/flagger/canary.js';
import { TRANSITION_TABLE, TRANSITIONS, tick } from './machine.js';
import { type Action, type FlaggerStatus, type Observation, STATES } from './types.js';

const NOW = new Date('2026-01-01T00:00:00Z');

type Spec = Record<string, unknown>;
const mk = (analysis: Spec = {}, spec: Spec = {}): Canary =>
  ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'ns' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
      service: { port: 80 },
      analysis: { interval: '30s', threshold: 3, maxWeight: 50, stepWeight: 10, ...analysis },
      ...spec,
    },
  }) as unknown as Canary;

const hook = (name: string, type: string, extra: Spec = {}) => ({
  name,
  type,
  url: `http://hooks/${name}`,
  ...extra,
});
const metric = { name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' };

const BASE = mk({ metrics: [metric], webhooks: [hook('load', 'rollout')] });
const obs = (o: Partial<Observation> = {}): Observation => ({
  target: { specHash: 'h2' },
  primary: { ready: true },
  canary: { ready: true },
  routes: { primary: 100, canary: 0, mirrored: false },
  ...o,
});
const st = (s: FlaggerStatus): FlaggerStatus => ({ lastAppliedSpec: 'h2', lastPromotedSpec: 'h1', ...s });
const routes = (primary: number, canary: number, mirrored = false) => ({ primary, canary, mirrored });
const okMetrics = { 'request-success-rate': { value: 99.5 } };
const okLoad = { load: { ok: true as const } };

interface Row {
  name: string;
  canary?: Canary;
  status: FlaggerStatus | undefined;
  observed: Observation;
  transition: string;
  phase: string;
  actions?: Partial<Action>[];
  absent?: Action['type'][];
  status2?: Partial<FlaggerStatus>;
}

const rows: Row[] = [
  {
    name: 'first tick: primary created, not ready yet',
    status: undefined,
    observed: obs({ primary: { ready: false, retriable: true } }),
    transition: 'initWaiting',
    phase: 'Initializing',
    actions: [{ type: 'InitializePrimary', target: 'app', primary: 'app-primary' }],
    absent: ['ScaleToZero'],
  },
  {
    name: 'primary never ready during initialization',
    status: { phase: 'Initializing' },
    observed: obs({ primary: { ready: false, retriable: false, message: 'deadline' } }),
    transition: 'initFailed',
    phase: 'Failed',
    actions: [{ type: 'SetRoutes', primary: 100, canary: 0, mirrored: false }, { type: 'ScaleToZero' }],
  },
  {
    name: 'primary ready: initialized',
    status: { phase: 'Initializing' },
    observed: obs({ target: { specHash: 'h1', trackedConfigs: { 'cm/app': 'c1' } } }),
    transition: 'initDone',
    phase: 'Initialized',
    actions: [
      { type: 'ScaleToZero', target: 'app' },
      { type: 'SetRoutes', primary: 100, canary: 0 },
    ],
    status2: { lastAppliedSpec: 'h1', lastPromotedSpec: 'h1', trackedConfigs: { 'cm/app': 'c1' } },
  },
  {
    name: 'skipAnalysis initializes without waiting for the primary',
    canary: mk({}, { skipAnalysis: true }),
    status: { phase: 'Initializing' },
    observed: obs({ primary: { ready: false, retriable: true } }),
    transition: 'initDone',
    phase: 'Initialized',
  },
  {
    name: 'idle without a change',
    status: { phase: 'Initialized', lastAppliedSpec: 'h2', lastPromotedSpec: 'h2' },
    observed: obs(),
    transition: 'noChange',
    phase: 'Initialized',
    absent: ['SetRoutes', 'CallWebhook', 'EmitEvent'],
  },
  {
    name: 'manual rollback to the promoted spec is not a change',
    status: { phase: 'Failed', lastAppliedSpec: 'h3', lastPromotedSpec: 'h2' },
    observed: obs(),
    transition: 'noChange',
    phase: 'Failed',
  },
  {
    name: 'change while the primary is stuck past its deadline',
    status: { phase: 'Succeeded', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
    observed: obs({ primary: { ready: false, retriable: false, message: 'deadline' } }),
    transition: 'primaryDeadline',
    phase: 'Failed',
  },
  {
    name: 'change while the primary is still rolling out',
    status: { phase: 'Succeeded', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
    observed: obs({ primary: { ready: false, retriable: true } }),
    transition: 'primaryWait',
    phase: 'Succeeded',
    absent: ['ScaleFromZero'],
  },
  {
    name: 'change with a confirm-rollout gate not called yet',
    canary: mk({ webhooks: [hook('gate', 'confirm-rollout')] }),
    status: { phase: 'Succeeded', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
    observed: obs(),
    transition: 'rolloutGatePending',
    phase: 'Succeeded',
    actions: [{ type: 'CallWebhook', name: 'gate', hookType: 'confirm-rollout' }],
  },
  {
    name: 'confirm-rollout rejects: Waiting',
    canary: mk({ webhooks: [hook('gate', 'confirm-rollout')] }),
    status: { phase: 'Succeeded', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
    observed: obs({ webhooks: { gate: { ok: false, message: 'closed' } } }),
    transition: 'rolloutRejected',
    phase: 'Waiting',
    actions: [
      { type: 'SendAlert', severity: 'warn', message: 'Canary is waiting for approval.' },
      { type: 'CallWebhook', name: 'gate' },
    ],
  },
  {
    name: 'confirm-rollout approves: Progressing',
    canary: mk({ webhooks: [hook('gate', 'confirm-rollout')] }),
    status: { phase: 'Waiting', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1', failedChecks: 2 },
    observed: obs({ webhooks: { gate: { ok: true } } }),
    transition: 'rolloutStarted',
    phase: 'Progressing',
    actions: [{ type: 'ScaleFromZero', target: 'app' }],
    status2: { failedChecks: 0, canaryWeight: 0, iterations: 0, lastAppliedSpec: 'h2' },
  },
  {
    name: 'new revision without gates starts a run',
    status: { phase: 'Initialized', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' },
    observed: obs(),
    transition: 'rolloutStarted',
    phase: 'Progressing',
    actions: [
      { type: 'SendAlert', severity: 'info', message: 'New revision detected, progressing canary analysis.' },
    ],
  },
  {
    name: 'tracked config change starts a run',
    status: {
      phase: 'Succeeded',
      lastAppliedSpec: 'h2',
      lastPromotedSpec: 'h2',
      trackedConfigs: { cm: 'a' },
    },
    observed: obs({ target: { specHash: 'h2', trackedConfigs: { cm: 'b' } } }),
    transition: 'rolloutStarted',
    phase: 'Progressing',
  },
  {
    name: 'new revision mid-analysis restarts',
    status: st({ phase: 'Progressing', canaryWeight: 30, failedChecks: 2 }),
    observed: obs({ target: { specHash: 'h3' }, routes: routes(70, 30) }),
    transition: 'revisionRestart',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 100, canary: 0 }],
    status2: { canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: 'h3' },
  },
  {
    name: 'canary past its progress deadline rolls back (no alert)',
    status: st({ phase: 'Progressing', canaryWeight: 20 }),
    observed: obs({
      canary: { ready: false, retriable: false, message: 'deadline exceeded' },
      routes: routes(80, 20),
    }),
    transition: 'canaryDeadline',
    phase: 'Failed',
    actions: [{ type: 'SetRoutes', primary: 100, canary: 0 }, { type: 'ScaleToZero' }],
    absent: ['SendAlert'],
  },
  {
    name: 'canary not ready yet: wait, no failed check, no calls',
    status: st({ phase: 'Progressing', canaryWeight: 20 }),
    observed: obs({ canary: { ready: false, retriable: true }, routes: routes(80, 20) }),
    transition: 'canaryWait',
    phase: 'Progressing',
    absent: ['CallWebhook', 'RunMetricChecks', 'SetRoutes'],
    status2: { failedChecks: 0 },
  },
  {
    name: 'skipAnalysis promotes at once',
    canary: mk({ webhooks: [hook('post', 'post-rollout')] }, { skipAnalysis: true }),
    status: st({ phase: 'Progressing' }),
    observed: obs(),
    transition: 'skipAnalysis',
    phase: 'Succeeded',
    actions: [
      { type: 'Promote' },
      { type: 'ScaleToZero' },
      { type: 'CallWebhook', name: 'post', hookType: 'post-rollout' },
    ],
    status2: { lastPromotedSpec: 'h2' },
  },
  {
    name: 'rollback webhook returns 2xx',
    canary: mk({ webhooks: [hook('abort', 'rollback')] }),
    status: st({ phase: 'WaitingPromotion' }),
    observed: obs({ routes: routes(50, 50), webhooks: { abort: { ok: true } } }),
    transition: 'rollbackHook',
    phase: 'Failed',
    actions: [{ type: 'SendAlert', severity: 'warn', message: 'Rolling back manual webhook invoked' }],
  },
  {
    name: 'failed checks reach the threshold',
    status: st({ phase: 'Progressing', canaryWeight: 20, failedChecks: 3 }),
    observed: obs({ routes: routes(80, 20) }),
    transition: 'thresholdReached',
    phase: 'Failed',
    actions: [
      { type: 'SetRoutes', primary: 100, canary: 0 },
      { type: 'ScaleToZero' },
      { type: 'SendAlert', severity: 'error', message: 'Failed checks threshold reached 3' },
    ],
    status2: { canaryWeight: 0 },
  },
  {
    name: 'checks not called yet: request them',
    status: st({ phase: 'Progressing', canaryWeight: 10 }),
    observed: obs({ routes: routes(90, 10) }),
    transition: 'checksPending',
    phase: 'Progressing',
    actions: [{ type: 'CallWebhook', name: 'load', hookType: 'rollout' }, { type: 'RunMetricChecks' }],
    absent: ['SetRoutes'],
  },
  {
    name: 'metric with no values counts one failed check',
    status: st({ phase: 'Progressing', canaryWeight: 10, failedChecks: 1 }),
    observed: obs({
      routes: routes(90, 10),
      webhooks: okLoad,
      metrics: { 'request-success-rate': { error: 'no values found' } },
    }),
    transition: 'checksFailed',
    phase: 'Progressing',
    actions: [{ type: 'EmitEvent', eventType: 'Warning' }, { type: 'RunMetricChecks' }],
    absent: ['SetRoutes'],
    status2: { failedChecks: 2, canaryWeight: 10 },
  },
  {
    name: 'metric below its minimum counts a failed check',
    status: st({ phase: 'Progressing', canaryWeight: 10 }),
    observed: obs({
      routes: routes(90, 10),
      webhooks: okLoad,
      metrics: { 'request-success-rate': { value: 90 } },
    }),
    transition: 'checksFailed',
    phase: 'Progressing',
    status2: { failedChecks: 1 },
  },
  {
    name: 'pre-rollout failure counts a failed check',
    canary: mk({ webhooks: [hook('smoke', 'pre-rollout')] }),
    status: st({ phase: 'Progressing' }),
    observed: obs({ webhooks: { smoke: { ok: false, message: '500' } } }),
    transition: 'checksFailed',
    phase: 'Progressing',
    actions: [{ type: 'CallWebhook', name: 'smoke', hookType: 'pre-rollout' }],
    status2: { failedChecks: 1 },
  },
  {
    name: 'no stepWeight: stalls',
    canary: mk({ stepWeight: undefined }),
    status: st({ phase: 'Progressing' }),
    observed: obs(),
    transition: 'stalled',
    phase: 'Progressing',
    absent: ['SetRoutes'],
  },
  {
    name: 'confirm-traffic-increase rejects: no advance, no failed check',
    canary: mk({ webhooks: [hook('more', 'confirm-traffic-increase')] }),
    status: st({ phase: 'Progressing', canaryWeight: 10 }),
    observed: obs({ routes: routes(90, 10), webhooks: { more: { ok: false, message: 'no' } } }),
    transition: 'trafficIncreaseWaiting',
    phase: 'Progressing',
    actions: [
      { type: 'SendAlert', severity: 'warn', message: 'Canary traffic increase is waiting for approval.' },
    ],
    absent: ['SetRoutes'],
    status2: { failedChecks: 0 },
  },
  {
    name: 'checks pass: weight step',
    status: st({ phase: 'Progressing', canaryWeight: 10 }),
    observed: obs({ routes: routes(90, 10), webhooks: okLoad, metrics: okMetrics }),
    transition: 'weightStep',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 80, canary: 20, mirrored: false }, { type: 'RunMetricChecks' }],
    status2: { canaryWeight: 20 },
  },
  {
    name: 'stepWeights ladder',
    canary: mk({ stepWeight: undefined, stepWeights: [1, 10, 60] }),
    status: st({ phase: 'Progressing', canaryWeight: 1 }),
    observed: obs({ routes: routes(99, 1) }),
    transition: 'weightStep',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 90, canary: 10 }],
  },
  {
    name: 'mirror: first step mirrors at 100/0',
    canary: mk({ mirror: true }),
    status: st({ phase: 'Progressing' }),
    observed: obs(),
    transition: 'weightStep',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 100, canary: 0, mirrored: true }],
  },
  {
    name: 'mirror: second step stops mirroring and shifts',
    canary: mk({ mirror: true }),
    status: st({ phase: 'Progressing' }),
    observed: obs({ routes: routes(100, 0, true) }),
    transition: 'weightStep',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 90, canary: 10, mirrored: false }],
  },
  {
    name: 'A/B: one iteration with all matching traffic on the canary',
    canary: mk({ iterations: 3, match: [{ headers: { x: { exact: '1' } } }] }),
    status: st({ phase: 'Progressing', iterations: 1 }),
    observed: obs({ routes: routes(0, 100) }),
    transition: 'abIteration',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 0, canary: 100 }],
    status2: { iterations: 2 },
  },
  {
    name: 'blue/green: iteration',
    canary: mk({ iterations: 2 }, { provider: 'kubernetes' }),
    status: st({ phase: 'Progressing', iterations: 1 }),
    observed: obs(),
    transition: 'bgIteration',
    phase: 'Progressing',
    absent: ['SetRoutes'],
    status2: { iterations: 2 },
  },
  {
    name: 'blue/green: last iteration switches traffic to the canary',
    canary: mk({ iterations: 2 }),
    status: st({ phase: 'Progressing', iterations: 2 }),
    observed: obs(),
    transition: 'bgSwitch',
    phase: 'Progressing',
    actions: [{ type: 'SetRoutes', primary: 0, canary: 100 }],
    status2: { iterations: 3 },
  },
  {
    name: 'blue/green: promotes after the switch',
    canary: mk({ iterations: 2 }),
    status: st({ phase: 'Progressing', iterations: 3 }),
    observed: obs({ routes: routes(0, 100) }),
    transition: 'promotionStarted',
    phase: 'Promoting',
    actions: [{ type: 'Promote' }],
  },
  {
    name: 'confirm-promotion rejects: WaitingPromotion',
    canary: mk({ webhooks: [hook('ship', 'confirm-promotion')] }),
    status: st({ phase: 'Progressing', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50), webhooks: { ship: { ok: false, message: 'closed' } } }),
    transition: 'promotionGate',
    phase: 'WaitingPromotion',
    actions: [
      { type: 'SendAlert', severity: 'warn', message: 'Canary promotion is waiting for approval.' },
      { type: 'CallWebhook', name: 'ship', hookType: 'confirm-promotion' },
    ],
    absent: ['Promote'],
  },
  {
    name: 'WaitingPromotion still rejected: no second alert',
    canary: mk({ webhooks: [hook('ship', 'confirm-promotion')] }),
    status: st({ phase: 'WaitingPromotion' }),
    observed: obs({ routes: routes(50, 50), webhooks: { ship: { ok: false, message: 'closed' } } }),
    transition: 'promotionGate',
    phase: 'WaitingPromotion',
    absent: ['SendAlert', 'Promote'],
  },
  {
    name: 'max weight reached, checks pass: promote',
    status: st({ phase: 'Progressing', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50), webhooks: okLoad, metrics: okMetrics }),
    transition: 'promotionStarted',
    phase: 'Promoting',
    actions: [{ type: 'Promote', target: 'app', primary: 'app-primary' }],
    absent: ['SetRoutes', 'RunMetricChecks'],
  },
  {
    name: 'WaitingPromotion approved: promote',
    canary: mk({ webhooks: [hook('ship', 'confirm-promotion')] }),
    status: st({ phase: 'WaitingPromotion' }),
    observed: obs({ routes: routes(50, 50), webhooks: { ship: { ok: true } } }),
    transition: 'promotionStarted',
    phase: 'Promoting',
  },
  {
    name: 'primary fails during promotion: traffic to the canary',
    status: st({ phase: 'Promoting', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50), primary: { ready: false, retriable: false, message: 'stuck' } }),
    transition: 'promotionFailed',
    phase: 'Failed',
    actions: [
      { type: 'SetRoutes', primary: 0, canary: 100 },
      { type: 'SendAlert', severity: 'error', message: 'Promotion failed, primary not ready: stuck' },
    ],
  },
  {
    name: 'promotion waits for the primary rollout',
    status: st({ phase: 'Promoting', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50), primary: { ready: false, retriable: true } }),
    transition: 'primaryWait',
    phase: 'Promoting',
    absent: ['SetRoutes'],
  },
  {
    name: 'promotion: all traffic back to the primary',
    status: st({ phase: 'Promoting', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50) }),
    transition: 'promotionShift',
    phase: 'Finalising',
    actions: [{ type: 'SetRoutes', primary: 100, canary: 0 }],
  },
  {
    name: 'promotion by stepWeightPromotion',
    canary: mk({ stepWeightPromotion: 20 }),
    status: st({ phase: 'Promoting', canaryWeight: 50 }),
    observed: obs({ routes: routes(50, 50) }),
    transition: 'promotionShift',
    phase: 'Promoting',
    actions: [{ type: 'SetRoutes', primary: 70, canary: 30 }],
    status2: { canaryWeight: 30 },
  },
  {
    name: 'kubernetes provider: straight to Finalising',
    canary: mk({ iterations: 2 }, { provider: 'kubernetes' }),
    status: st({ phase: 'Promoting' }),
    observed: obs(),
    transition: 'promotionShift',
    phase: 'Finalising',
    absent: ['SetRoutes'],
  },
  {
    name: 'Finalising: scale down, Succeeded, post-rollout',
    canary: mk({ webhooks: [hook('notify', 'post-rollout')] }),
    status: st({ phase: 'Finalising' }),
    observed: obs(),
    transition: 'finalised',
    phase: 'Succeeded',
    actions: [
      { type: 'ScaleToZero', target: 'app' },
      { type: 'CallWebhook', name: 'notify', hookType: 'post-rollout' },
      {
        type: 'SendAlert',
        severity: 'info',
        message: 'Canary analysis completed successfully, promotion finished.',
      },
    ],
    status2: { lastPromotedSpec: 'h2' },
  },
  {
    name: 'suspended: nothing happens',
    canary: mk({}, { suspend: true }),
    status: st({ phase: 'Progressing', canaryWeight: 20 }),
    observed: obs({ routes: routes(80, 20) }),
    transition: 'suspended',
    phase: 'Progressing',
    absent: ['SetRoutes', 'CallWebhook'],
  },
  {
    name: 'Terminating is left to the finalizer',
    status: st({ phase: 'Terminating' }),
    observed: obs(),
    transition: 'terminating',
    phase: 'Terminating',
  },
];

describe('transition table', () => {
  it.each(rows)('$name → $transition', (row) => {
    const r = tick(row.canary ?? BASE, row.status, row.observed, NOW);
    expect(r.transition).toBe(row.transition);
    expect(r.status.phase).toBe(row.phase);
    for (const a of row.actions ?? []) expect(r.actions).toContainEqual(expect.objectContaining(a));
    for (const t of row.absent ?? []) expect(r.actions.map((a) => a.type)).not.toContain(t);
    if (row.status2) expect(r.status).toMatchObject(row.status2);
    expect(r.actions.at(-1)?.type).toBe('Requeue');
  });

  it('every transition in TRANSITIONS is listed in the table and covered by a row', () => {
    const listed = new Set(Object.values(TRANSITION_TABLE).flat());
    for (const name of Object.keys(TRANSITIONS)) expect(listed.has(name as never)).toBe(true);
    const covered = new Set(rows.map((r) => r.transition));
    for (const name of Object.keys(TRANSITIONS)) expect(covered.has(name)).toBe(true);
    expect(Object.keys(TRANSITION_TABLE).sort()).toEqual([...STATES].sort());
  });

  it('writes the Promoted condition and lastTransitionTime', () => {
    const r = tick(BASE, { phase: 'Initializing' }, obs(), NOW);
    expect(r.status.lastTransitionTime).toBe(NOW.toISOString());
    expect(r.status.conditions).toEqual([
      expect.objectContaining({ type: 'Promoted', status: 'True', reason: 'Initialized' }),
    ]);
    const p = tick(BASE, st({ phase: 'Progressing' }), obs(), NOW);
    expect(p.status.conditions?.[0]).toMatchObject({ status: 'Unknown', reason: 'Progressing' });
  });

  it('sends Flagger’s webhook payload and fires event hooks', () => {
    const c = mk({
      webhooks: [hook('load', 'rollout', { metadata: { cmd: 'hey' } }), hook('ev', 'event')],
    });
    const r = tick(c, st({ phase: 'Progressing', canaryWeight: 10 }), obs({ routes: routes(90, 10) }), NOW);
    const call = r.actions.find((a) => a.type === 'CallWebhook' && a.name === 'load');
    expect(call).toMatchObject({
      url: 'http://hooks/load',
      payload: { name: 'app', namespace: 'ns', phase: 'Progressing', metadata: { cmd: 'hey' } },
    });
    expect(call?.type === 'CallWebhook' && call.payload.checksum).toMatch(/^[0-9a-f]{8}$/);
    const w = tick(
      c,
      st({ phase: 'Progressing', canaryWeight: 10 }),
      obs({ routes: routes(90, 10), webhooks: { load: { ok: true } } }),
      NOW,
    );
    expect(w.actions).toContainEqual(
      expect.objectContaining({
        type: 'CallWebhook',
        name: 'ev',
        hookType: 'event',
        payload: expect.objectContaining({
          metadata: expect.objectContaining({
            eventType: 'Normal',
            eventMessage: 'Advance app.ns canary weight 20',
          }),
        }),
      }),
    );
  });

  it('requests confirm-promotion with the checks of the last interval', () => {
    const c = mk({ webhooks: [hook('ship', 'confirm-promotion'), hook('load', 'rollout')] });
    const r = tick(
      c,
      st({ phase: 'Progressing', canaryWeight: 40 }),
      obs({ routes: routes(60, 40), webhooks: { load: { ok: true } } }),
      NOW,
    );
    expect(r.transition).toBe('weightStep');
    const names = r.actions.flatMap((a) => (a.type === 'CallWebhook' ? [a.name] : []));
    expect(names).toEqual(['load', 'ship']);
  });

  it('is pure: same inputs, same outputs, inputs untouched', () => {
    const status = st({ phase: 'Progressing', canaryWeight: 10 });
    const o = obs({ routes: routes(90, 10), webhooks: okLoad, metrics: okMetrics });
    const snapshot = JSON.stringify([BASE, status, o]);
    expect(tick(BASE, status, o, NOW)).toEqual(tick(BASE, status, o, NOW));
    expect(JSON.stringify([BASE, status, o])).toBe(snapshot);
  });
});
