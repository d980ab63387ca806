/**
 * Flagger's analysis tick (`advanceCanary`, flagger.md §2) as a pure, explicit state machine:
 *
 *   tick(canary, status, observed, now) -> { actions, status, transition }
 *
 * No I/O, no clock (`now` is a parameter), no randomness.
 *
 * Design
 * - States are the named phases in `STATES` (a "" phase reads as Initializing). Each state has an
 *   ORDERED list of named transitions in `TRANSITION_TABLE`; the first transition whose function
 *   returns an outcome fires. Every transition is a small pure function `(ctx) => Outcome |
 *   undefined` in `TRANSITIONS`; the order of a state's list is Flagger's order of guards (§2 A–F),
 *   so the precedence is visible in one table instead of a chain of flag checks.
 *   Two guards apply before any table: `suspended` (spec.suspend) and `terminating` (phases
 *   Terminating/Terminated, which belong to deletion and are left alone).
 * - An `Outcome` names the next phase, explicit status fields, and the actions. `finish` applies
 *   Flagger's status rules once: `setStatusPhase` (weight and iterations zeroed outside
 *   Progressing/Waiting/Promoting, iterations = analysis.iterations-1 on WaitingPromotion, clamped at
 *   0), `lastTransitionTime = now` whenever the status changes (Flagger stamps it on every status
 *   write), and the single `Promoted` condition (True for Initialized/Succeeded, False for Failed,
 *   Unknown otherwise; reason = phase).
 * - Webhooks and metric checks are ACTIONS whose results come back as OBSERVATIONS on the next tick.
 *   A tick that stays in Progressing/WaitingPromotion with a ready canary ends by requesting exactly
 *   the calls the next tick will evaluate (`requests`): rollback hooks; the check round (pre-rollout
 *   hooks on the first round — weight 0, iterations 0, not mirrored — else rollout hooks + metrics);
 *   confirm-traffic-increase hooks when the next tick could raise the weight; confirm-promotion
 *   hooks when the next tick is at the promotion point. The next tick evaluates what is present:
 *     * a check round with no results at all is "pending" (not called yet): no failed check, the
 *       round is requested; a round with some results counts a missing result as a failure; the
 *       first failure (in Flagger's order: hooks, then metrics) counts ONE failed check. So the
 *       count per interval is exactly Flagger's, provided the adapter honours the contract in
 *       `Observation` (results of the previous tick's calls only).
 *     * a gate (confirm-rollout / confirm-traffic-increase / confirm-promotion) without results is
 *       pending: hold, request it, no alert; all ok opens it; any failure closes it.
 *     * a rollback hook result that is ok rolls back.
 *   Timing matches Flagger's synchronous calls when the adapter honours the requeue: a tick whose
 *   decision only waits for results it has not asked for yet (a pending round or gate) requeues
 *   after 0 s, so the calls run and are judged at the same instant; other requests are carried out
 *   when the next tick is due, immediately before it, so queries cover the same window as Flagger's.
 *   Remaining difference: the gates are called in the same batch as the checks of the interval, not
 *   after them.
 *   post-rollout and event hooks are fire-and-forget (their results are ignored).
 * - Weights are read from `observed.routes` (Flagger's `GetRoutes`), not from status.
 * - Every tick ends with `Requeue` after the analysis interval.
 */
import type { Canary } from '../../api/flagger/canary.js';
import {
  analysisInterval,
  analysisIterations,
  analysisThreshold,
  canaryProvider,
  type DeploymentStrategy,
  deploymentStrategy,
  getAnalysis,
  maxWeight,
  metricInterval,
  nextStepWeight,
  skipAnalysis,
  TOTAL_WEIGHT,
  webhookType,
} from '../../api/flagger/canary-defaults.js';
import { arr, bool, isObj, num, obj, str } from '../../api/flagger/loose.js';
import type {
  Action,
  FlaggerStatus,
  MetricRequest,
  Observation,
  Routes,
  StateName,
  TickOptions,
  TickResult,
  WebhookPayload,
} from './types.js';
import { STATES } from './types.js';

// ---------------------------------------------------------------------------------------------
// Configuration read from the Canary (once per tick)

interface Hook {
  name: string;
  type: string;
  url: string;
  muteAlert: boolean;
  metadata: Record<string, string> | undefined;
}

interface MetricSpec {
  name: string;
  interval: string;
  min: number | undefined;
  max: number | undefined;
  templateRef: { name: string; namespace: string } | undefined;
  query: string | undefined;
  templateVariables: Record<string, string> | undefined;
}

interface Config {
  name: string;
  namespace: string;
  target: string;
  kind: string;
  interval: number;
  threshold: number;
  maxWeight: number;
  strategy: DeploymentStrategy;
  iterations: number;
  provider: string;
  skip: boolean;
  suspend: boolean;
  mirror: boolean;
  stepWeightPromotion: number;
  hooks: Hook[];
  metrics: MetricSpec[];
}

const stringRecord = (v: unknown): Record<string, string> | undefined => {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

const BUILTIN = new Set(['request-success-rate', 'request-duration']);

function readConfig(canary: Canary, options: TickOptions): Config {
  const meta = obj(canary, 'metadata');
  const spec = obj(canary, 'spec');
  const targetRef = obj(spec, 'targetRef');
  const namespace = str(meta, 'namespace') ?? 'default';
  const a = getAnalysis(canary);
  const hooks: Hook[] = arr(a, 'webhooks')
    .filter(isObj)
    .map((w) => ({
      name: str(w, 'name') ?? '',
      type: webhookType(w),
      url: str(w, 'url') ?? '',
      muteAlert: bool(w, 'muteAlert'),
      metadata: stringRecord(w.metadata),
    }));
  const metrics: MetricSpec[] = arr(a, 'metrics')
    .filter(isObj)
    .map((m) => {
      const name = str(m, 'name') ?? '';
      const range = obj(m, 'thresholdRange');
      let min = num(range, 'min');
      let max = num(range, 'max');
      const legacy = num(m, 'threshold');
      if (!range && legacy !== undefined) {
        if (name === 'request-success-rate') min = legacy;
        else max = legacy;
      }
      const ref = obj(m, 'templateRef');
      return {
        name,
        interval: metricInterval(m),
        min,
        max,
        templateRef: ref
          ? { name: str(ref, 'name') ?? '', namespace: str(ref, 'namespace') || namespace }
          : undefined,
        query: str(m, 'query'),
        templateVariables: stringRecord(m.templateVariables),
      };
    });
  return {
    name: str(meta, 'name') ?? '',
    namespace,
    target: str(targetRef, 'name') ?? '',
    kind: str(targetRef, 'kind') ?? 'Deployment',
    interval: analysisInterval(canary),
    threshold: analysisThreshold(canary),
    maxWeight: maxWeight(canary),
    strategy: deploymentStrategy(canary, options.meshProvider),
    iterations: analysisIterations(canary, options.meshProvider),
    provider: canaryProvider(canary, options.meshProvider) ?? 'istio',
    skip: skipAnalysis(canary),
    suspend: bool(spec, 'suspend'),
    mirror: bool(a, 'mirror'),
    stepWeightPromotion: num(a, 'stepWeightPromotion') ?? 0,
    hooks,
    metrics,
  };
}

// ---------------------------------------------------------------------------------------------
// Tick context and outcome

/** The status fields the machine reads, normalised (absent counters read as 0). */
interface Current {
  phase: string;
  canaryWeight: number;
  failedChecks: number;
  iterations: number;
  lastAppliedSpec: string | undefined;
  lastPromotedSpec: string | undefined;
  trackedConfigs: Record<string, string> | undefined;
}

export interface Ctx {
  readonly canary: Canary;
  readonly cfg: Config;
  readonly prev: FlaggerStatus;
  readonly cur: Current;
  readonly obs: Observation;
  readonly now: Date;
  readonly state: StateName | undefined;
  /** Target pod template or tracked configs changed since the last applied / promoted spec. */
  readonly changed: boolean;
  /** Router weights, clamped to 0..100. */
  readonly routes: Routes;
}

interface Outcome {
  /** Next phase; undefined keeps the current phase. */
  phase?: StateName;
  /** Explicit status fields, applied after the phase rules. */
  set?: Partial<Current>;
  actions: Action[];
  /** Request the calls the next tick evaluates (see the design note). */
  request?: boolean;
  /** The decision waits only for those calls' results: requeue at once instead of after the interval. */
  immediate?: boolean;
}

type Transition = (c: Ctx) => Outcome | undefined;

const clampWeight = (w: number): number => (Number.isFinite(w) ? Math.min(TOTAL_WEIGHT, Math.max(0, w)) : 0);
const nonNeg = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

function stateOf(phase: string): StateName | undefined {
  if (phase === '' || phase === 'Initializing') return 'Initializing';
  if (phase === 'Terminating' || phase === 'Terminated') return undefined;
  return STATE_SET.has(phase) ? (phase as StateName) : 'Initializing';
}

const STATE_SET: ReadonlySet<string> = new Set(STATES);

const sortedJson = (r: Record<string, string> | undefined): string =>
  JSON.stringify(Object.entries(r ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** `HasTargetChanged || HaveDependenciesChanged` (pkg/canary/spec.go, config_tracker.go). */
function hasChanged(cur: Current, obs: Observation): boolean {
  const hash = obs.target.specHash;
  let spec: boolean;
  if (!cur.lastAppliedSpec) spec = true;
  else if (cur.lastPromotedSpec === hash) spec = false;
  else spec = cur.lastAppliedSpec !== hash;
  const configs = sortedJson(obs.target.trackedConfigs) !== sortedJson(cur.trackedConfigs);
  return spec || configs;
}

// ---------------------------------------------------------------------------------------------
// Small action builders

const id = (c: Ctx): string => `${c.cfg.target}.${c.cfg.namespace}`;
const primaryName = (c: Ctx): string => `${c.cfg.target}-primary`;
const event = (message: string, warning = false): Action => ({
  type: 'EmitEvent',
  eventType: warning ? 'Warning' : 'Normal',
  reason: 'Synced',
  message,
});
const alert = (severity: 'info' | 'warn' | 'error', message: string): Action => ({
  type: 'SendAlert',
  severity,
  message,
});
const setRoutes = (primary: number, canary: number, mirrored = false): Action => ({
  type: 'SetRoutes',
  primary,
  canary,
  mirrored,
});

/** FNV-1a 32-bit, hex: a deterministic stand-in for Flagger's `ComputeHash` (not byte-identical). */
export function fnv32a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function payload(
  c: Ctx,
  phase: string,
  status: Pick<Current, 'trackedConfigs' | 'lastAppliedSpec'>,
  metadata: Record<string, string> | undefined,
): WebhookPayload {
  const checksum = fnv32a(
    JSON.stringify({
      trackedConfigs: status.trackedConfigs ?? null,
      lastAppliedSpec: status.lastAppliedSpec ?? '',
    }),
  );
  const p: WebhookPayload = { name: c.cfg.name, namespace: c.cfg.namespace, phase, checksum };
  if (metadata) p.metadata = metadata;
  return p;
}

function callHooks(
  c: Ctx,
  type: string,
  phase: string,
  status: Pick<Current, 'trackedConfigs' | 'lastAppliedSpec'> = c.cur,
): Action[] {
  return hooksOf(c, type).map((h) => ({
    type: 'CallWebhook',
    name: h.name,
    hookType: h.type,
    url: h.url,
    payload: payload(c, phase, status, h.metadata),
  }));
}

const hooksOf = (c: Ctx, type: string): Hook[] => c.cfg.hooks.filter((h) => h.type === type);

// ---------------------------------------------------------------------------------------------
// Reading results of the previous tick's calls

type Gate = { open: true } | { open: false; pending: true } | { open: false; pending: false; hook: Hook };

/** All hooks of `type` returned ok (or there are none); pending when none reported. */
function gate(c: Ctx, type: string): Gate {
  const hooks = hooksOf(c, type);
  if (hooks.length === 0) return { open: true };
  const results = hooks.map((h) => c.obs.webhooks?.[h.name]);
  if (results.every((r) => r === undefined)) return { open: false, pending: true };
  for (let i = 0; i < hooks.length; i++) {
    const r = results[i];
    if (r?.ok !== true) return { open: false, pending: false, hook: hooks[i] as Hook };
  }
  return { open: true };
}

type RoundKind = 'pre-rollout' | 'analysis';

/** Flagger runs pre-rollout hooks instead of the analysis when weight 0, iterations 0, not mirrored. */
const roundKind = (cfg: Config, weight: number, iterations: number, mirrored: boolean): RoundKind =>
  weight === 0 && iterations === 0 && !(cfg.mirror && mirrored) ? 'pre-rollout' : 'analysis';

type Checks =
  | { kind: 'pending' }
  | { kind: 'failed'; message: string }
  | { kind: 'passed'; round: RoundKind };

function metricFailure(c: Ctx, m: MetricSpec): string | undefined {
  if (!BUILTIN.has(m.name) && !m.templateRef && !m.query)
    return `Metric ${m.name} has no query or templateRef for ${id(c)}`;
  const r = c.obs.metrics?.[m.name];
  if (r === undefined) return `Metric ${m.name} reported no result for ${id(c)}`;
  if ('error' in r) {
    if (/no values found/i.test(r.error))
      return `Halt advancement no values found for ${c.cfg.provider} metric ${m.name} probably ${id(c)} is not receiving traffic: ${r.error}`;
    return `Metric query failed for ${m.name}: ${r.error}`;
  }
  if (m.min !== undefined && r.value < m.min)
    return `Halt ${id(c)} advancement ${m.name} ${r.value} < ${m.min}`;
  if (m.max !== undefined && r.value > m.max)
    return `Halt ${id(c)} advancement ${m.name} ${r.value} > ${m.max}`;
  return undefined;
}

/** The check round of this interval (§2 step 23), from the results reported by the adapters. */
function checks(c: Ctx): Checks {
  const round = roundKind(c.cfg, c.routes.canary, c.cur.iterations, c.routes.mirrored);
  const hooks = hooksOf(c, round === 'pre-rollout' ? 'pre-rollout' : 'rollout');
  const metrics = round === 'analysis' ? c.cfg.metrics : [];
  if (hooks.length === 0 && metrics.length === 0) return { kind: 'passed', round };
  const anyResult =
    hooks.some((h) => c.obs.webhooks?.[h.name] !== undefined) ||
    metrics.some((m) => c.obs.metrics?.[m.name] !== undefined);
  if (!anyResult) return { kind: 'pending' };
  for (const h of hooks) {
    const r = c.obs.webhooks?.[h.name];
    if (r?.ok !== true) {
      const why = r && !r.ok ? r.message : 'no result reported';
      return {
        kind: 'failed',
        message:
          round === 'pre-rollout'
            ? `Halt advancement ${id(c)} pre-rollout check ${h.name} failed ${why}`
            : `Halt advancement ${id(c)} rollout check ${h.name} failed ${why}`,
      };
    }
  }
  for (const m of metrics) {
    const why = metricFailure(c, m);
    if (why) return { kind: 'failed', message: why };
  }
  return { kind: 'passed', round };
}

// ---------------------------------------------------------------------------------------------
// Shared outcomes

/** `rollback()` (scheduler.go L948). */
function rollback(c: Ctx, extra: Action[] = []): Outcome {
  const actions: Action[] = [...extra];
  if (c.cur.failedChecks >= c.cfg.threshold) {
    actions.push(
      event(`Rolling back ${id(c)} failed checks threshold reached ${c.cur.failedChecks}`, true),
      alert('error', `Failed checks threshold reached ${c.cur.failedChecks}`),
    );
  }
  const after = { lastAppliedSpec: c.obs.target.specHash, trackedConfigs: c.obs.target.trackedConfigs };
  actions.push(
    setRoutes(100, 0),
    { type: 'ScaleToZero', target: c.cfg.target },
    event(`Canary failed! Scaling down ${id(c)}`, true),
    ...callHooks(c, 'post-rollout', 'Failed', after),
  );
  return {
    phase: 'Failed',
    set: { canaryWeight: 0, failedChecks: 0, iterations: 0, ...after },
    actions,
  };
}

const promote = (c: Ctx, extra: Action[] = []): Outcome => ({
  phase: 'Promoting',
  actions: [
    ...extra,
    event(`Copying ${id(c)} template spec to ${primaryName(c)}.${c.cfg.namespace}`),
    { type: 'Promote', target: c.cfg.target, primary: primaryName(c) },
  ],
});

/** The confirm-promotion gate at the promotion point (§2 steps 25–27). */
function promotionGate(c: Ctx): Outcome | 'open' {
  const g = gate(c, 'confirm-promotion');
  if (g.open) return 'open';
  if (g.pending) return { actions: [], request: true, immediate: true };
  const actions: Action[] = [
    event(`Halt ${id(c)} advancement waiting for promotion approval ${g.hook.name}`, true),
  ];
  if (c.state !== 'WaitingPromotion') {
    if (!g.hook.muteAlert) actions.push(alert('warn', 'Canary promotion is waiting for approval.'));
    return { phase: 'WaitingPromotion', actions, request: true };
  }
  return {
    actions,
    set: { iterations: Math.max(0, c.cfg.iterations - 1) },
    request: true,
  };
}

const checksPassed = (c: Ctx): boolean => checks(c).kind === 'passed';
const inRun = (c: Ctx): boolean => c.state === 'Progressing' || c.state === 'WaitingPromotion';

// ---------------------------------------------------------------------------------------------
// Transitions: each a small pure function, undefined when it does not apply

export const TRANSITIONS = {
  // -- Initializing (§2 A, steps 6–11)
  initFailed: (c) =>
    !c.cfg.skip && !c.obs.primary.ready && !c.obs.primary.retriable
      ? rollback(c, [
          { type: 'InitializePrimary', target: c.cfg.target, primary: primaryName(c) },
          event(`${primaryName(c)}.${c.cfg.namespace} not ready: ${c.obs.primary.message ?? ''}`, true),
        ])
      : undefined,
  initWaiting: (c) =>
    !c.cfg.skip && !c.obs.primary.ready
      ? {
          phase: 'Initializing',
          actions: [{ type: 'InitializePrimary', target: c.cfg.target, primary: primaryName(c) }],
        }
      : undefined,
  initDone: (c) => ({
    phase: 'Initialized',
    set: {
      lastAppliedSpec: c.obs.target.specHash,
      lastPromotedSpec: c.obs.target.specHash,
      trackedConfigs: c.obs.target.trackedConfigs,
    },
    actions: [
      { type: 'InitializePrimary', target: c.cfg.target, primary: primaryName(c) },
      { type: 'ScaleToZero', target: c.cfg.target },
      setRoutes(100, 0),
      event(`Initialization done! ${id(c)}`),
      alert('info', `New ${c.cfg.kind} detected, initialization completed.`),
    ],
  }),

  // -- Idle states and Waiting (§2 B step 12, C step 15)
  noChange: (c) => (c.changed ? undefined : { actions: [] }),
  primaryDeadline: (c) =>
    !c.cfg.skip && !c.obs.primary.ready && !c.obs.primary.retriable
      ? rollback(c, [
          event(`${primaryName(c)}.${c.cfg.namespace} not ready: ${c.obs.primary.message ?? ''}`, true),
        ])
      : undefined,
  primaryWait: (c) =>
    !c.cfg.skip && !c.obs.primary.ready
      ? {
          actions: [
            event(`${primaryName(c)}.${c.cfg.namespace} not ready: ${c.obs.primary.message ?? ''}`, true),
          ],
        }
      : undefined,
  rolloutGatePending: (c) => {
    const g = gate(c, 'confirm-rollout');
    return !g.open && g.pending
      ? { actions: callHooks(c, 'confirm-rollout', c.cur.phase), immediate: true }
      : undefined;
  },
  rolloutRejected: (c) => {
    const g = gate(c, 'confirm-rollout');
    if (g.open || g.pending) return undefined;
    const actions: Action[] = [
      event(`Halt ${id(c)} advancement waiting for approval ${g.hook.name}`, true),
      ...callHooks(c, 'confirm-rollout', 'Waiting'),
    ];
    if (c.state !== 'Waiting' && !g.hook.muteAlert)
      actions.unshift(alert('warn', 'Canary is waiting for approval.'));
    return { phase: 'Waiting', actions };
  },
  rolloutStarted: (c) => ({
    phase: 'Progressing',
    set: {
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: c.obs.target.specHash,
      trackedConfigs: c.obs.target.trackedConfigs,
    },
    actions: [
      event(`New revision detected! Scaling up ${id(c)}`),
      alert('info', 'New revision detected, progressing canary analysis.'),
      { type: 'ScaleFromZero', target: c.cfg.target },
    ],
  }),

  // -- Active run (§2 B step 13, D)
  promotionFailed: (c) =>
    !c.cfg.skip && !c.obs.primary.ready && !c.obs.primary.retriable
      ? {
          phase: 'Failed',
          actions: [
            setRoutes(0, 100),
            event(`Promotion failed, ${primaryName(c)}.${c.cfg.namespace} not ready`, true),
            alert('error', `Promotion failed, primary not ready: ${c.obs.primary.message ?? ''}`),
          ],
        }
      : undefined,
  revisionRestart: (c) =>
    inRun(c) && c.changed
      ? {
          phase: 'Progressing',
          set: {
            canaryWeight: 0,
            failedChecks: 0,
            iterations: 0,
            lastAppliedSpec: c.obs.target.specHash,
            trackedConfigs: c.obs.target.trackedConfigs,
          },
          actions: [setRoutes(100, 0), event(`New revision detected! Restarting analysis for ${id(c)}`)],
        }
      : undefined,
  canaryDeadline: (c) =>
    !c.obs.canary.ready && !c.obs.canary.retriable
      ? rollback(c, [event(`${id(c)} not ready: ${c.obs.canary.message ?? ''}`, true)])
      : undefined,
  canaryWait: (c) =>
    !c.obs.canary.ready
      ? { actions: [event(`${id(c)} not ready: ${c.obs.canary.message ?? ''}`, true)] }
      : undefined,
  skipAnalysis: (c) => {
    if (!c.cfg.skip) return undefined;
    const after = { lastAppliedSpec: c.cur.lastAppliedSpec, trackedConfigs: c.cur.trackedConfigs };
    return {
      phase: 'Succeeded',
      set: { lastPromotedSpec: c.cur.lastAppliedSpec },
      actions: [
        setRoutes(100, 0),
        event(`Copying ${id(c)} template spec to ${primaryName(c)}.${c.cfg.namespace}`),
        { type: 'Promote', target: c.cfg.target, primary: primaryName(c) },
        { type: 'ScaleToZero', target: c.cfg.target },
        event(`Promotion completed! Canary analysis was skipped for ${id(c)}`),
        ...callHooks(c, 'post-rollout', 'Succeeded', after),
        alert('info', 'Canary analysis was skipped, promotion finished.'),
      ],
    };
  },
  rollbackHook: (c) => {
    if (!inRun(c)) return undefined;
    const hook = hooksOf(c, 'rollback').find((h) => c.obs.webhooks?.[h.name]?.ok === true);
    if (!hook) return undefined;
    return rollback(c, [
      event(`Rolling back ${id(c)} manual webhook invoked`, true),
      alert('warn', 'Rolling back manual webhook invoked'),
    ]);
  },
  promotionShift: (c) => {
    if (c.cfg.provider === 'kubernetes') return { phase: 'Finalising', actions: [] };
    if (c.cfg.stepWeightPromotion <= 0)
      return { phase: 'Finalising', actions: [event('Routing all traffic to primary'), setRoutes(100, 0)] };
    if (c.routes.canary <= 0) return { actions: [] };
    const primary = Math.min(TOTAL_WEIGHT, c.routes.primary + c.cfg.stepWeightPromotion);
    const canary = Math.max(0, c.routes.canary - c.cfg.stepWeightPromotion);
    if (primary === TOTAL_WEIGHT) return { phase: 'Finalising', actions: [setRoutes(primary, canary)] };
    return { set: { canaryWeight: canary }, actions: [setRoutes(primary, canary)] };
  },
  finalised: (c) => {
    const after = { lastAppliedSpec: c.cur.lastAppliedSpec, trackedConfigs: c.cur.trackedConfigs };
    return {
      phase: 'Succeeded',
      set: { lastPromotedSpec: c.cur.lastAppliedSpec },
      actions: [
        { type: 'ScaleToZero', target: c.cfg.target },
        event(`Promotion completed! Scaling down ${id(c)}`),
        ...callHooks(c, 'post-rollout', 'Succeeded', after),
        alert('info', 'Canary analysis completed successfully, promotion finished.'),
      ],
    };
  },
  thresholdReached: (c) => (c.cur.failedChecks >= c.cfg.threshold ? rollback(c) : undefined),
  checksPending: (c) =>
    checks(c).kind === 'pending' ? { actions: [], request: true, immediate: true } : undefined,
  checksFailed: (c) => {
    const r = checks(c);
    if (r.kind !== 'failed') return undefined;
    const start = roundKind(c.cfg, c.routes.canary, c.cur.iterations, c.routes.mirrored) === 'pre-rollout';
    return {
      set: { failedChecks: c.cur.failedChecks + 1 },
      actions: [...(start ? [event(`Starting canary analysis for ${id(c)}`)] : []), event(r.message, true)],
      request: true,
    };
  },

  // -- Advance by strategy (§2 F); only reached when this interval's checks passed
  trafficIncreaseWaiting: (c) => {
    if (c.cfg.strategy !== 'canary' || !checksPassed(c)) return undefined;
    if (nextStepWeight(c.canary, c.routes.canary) <= 0) return undefined;
    if (c.routes.mirrored || c.state !== 'Progressing') return undefined;
    const g = gate(c, 'confirm-traffic-increase');
    if (g.open) return undefined;
    if (g.pending) return { actions: [], request: true, immediate: true };
    const actions: Action[] = [
      event(`Halt ${id(c)} advancement waiting for traffic increase approval ${g.hook.name}`, true),
    ];
    if (!g.hook.muteAlert) actions.push(alert('warn', 'Canary traffic increase is waiting for approval.'));
    return { actions, request: true };
  },
  weightStep: (c) => {
    if (c.cfg.strategy !== 'canary' || c.routes.canary >= c.cfg.maxWeight) return undefined;
    const step = nextStepWeight(c.canary, c.routes.canary);
    if (step <= 0) return undefined;
    let primary = c.routes.primary;
    let canary = c.routes.canary;
    let mirrored = false;
    if (c.cfg.mirror && canary === 0) {
      if (!c.routes.mirrored) {
        mirrored = true;
        primary = TOTAL_WEIGHT;
      } else {
        primary = TOTAL_WEIGHT - step;
        canary = step;
      }
    } else {
      primary = Math.max(0, primary - step);
      canary = Math.min(TOTAL_WEIGHT, canary + step);
    }
    return {
      set: { canaryWeight: canary },
      actions: [
        ...preRolloutEvent(c),
        setRoutes(primary, canary, mirrored),
        event(`Advance ${id(c)} canary weight ${canary}`),
      ],
      request: true,
    };
  },
  abIteration: (c) =>
    c.cfg.strategy === 'ab-testing' && c.cur.iterations < c.cfg.iterations
      ? {
          set: { iterations: c.cur.iterations + 1 },
          actions: [
            ...preRolloutEvent(c),
            setRoutes(0, 100),
            event(`Advance ${id(c)} canary iteration ${c.cur.iterations + 1}/${c.cfg.iterations}`),
          ],
          request: true,
        }
      : undefined,
  bgIteration: (c) => {
    if (c.cfg.strategy !== 'blue-green' || c.cur.iterations >= c.cfg.iterations) return undefined;
    const mirror = c.cfg.mirror && !c.routes.mirrored && c.cfg.provider !== 'kubernetes';
    return {
      set: { iterations: c.cur.iterations + 1 },
      actions: [
        ...preRolloutEvent(c),
        ...(mirror ? [setRoutes(100, 0, true)] : []),
        event(`Advance ${id(c)} canary iteration ${c.cur.iterations + 1}/${c.cfg.iterations}`),
      ],
      request: true,
    };
  },
  promotionGate: (c) => {
    const g = promotionGate(c);
    return g === 'open' ? undefined : g;
  },
  bgSwitch: (c) =>
    c.cfg.strategy === 'blue-green' && c.cur.iterations === c.cfg.iterations
      ? {
          set: { iterations: c.cur.iterations + 1 },
          actions: [
            ...(c.cfg.provider !== 'kubernetes' ? [setRoutes(0, 100)] : []),
            event(`Routing all traffic to canary ${id(c)}`),
          ],
          request: true,
        }
      : undefined,
  promotionStarted: (c) => promote(c, preRolloutEvent(c)),
  /** A canary whose next step is 0 (no stepWeight) never advances: Flagger stalls silently. */
  stalled: (c) =>
    c.cfg.strategy === 'canary' && nextStepWeight(c.canary, c.routes.canary) <= 0
      ? { actions: [], request: true }
      : undefined,
} satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

function preRolloutEvent(c: Ctx): Action[] {
  const r = checks(c);
  return r.kind === 'passed' && r.round === 'pre-rollout' && hooksOf(c, 'pre-rollout').length > 0
    ? [event(`Starting canary analysis for ${id(c)}`)]
    : [];
}

const IDLE: readonly TransitionName[] = [
  'noChange',
  'primaryDeadline',
  'primaryWait',
  'rolloutGatePending',
  'rolloutRejected',
  'rolloutStarted',
];

const RUN: readonly TransitionName[] = [
  'primaryDeadline',
  'primaryWait',
  'revisionRestart',
  'canaryDeadline',
  'canaryWait',
  'skipAnalysis',
  'rollbackHook',
  'thresholdReached',
  'checksPending',
  'checksFailed',
  'stalled',
  'trafficIncreaseWaiting',
  'weightStep',
  'abIteration',
  'bgIteration',
  'promotionGate',
  'bgSwitch',
  'promotionStarted',
];

/** Each state's transitions, in Flagger's order of guards; the first that applies fires. */
export const TRANSITION_TABLE: Readonly<Record<StateName, readonly TransitionName[]>> = {
  Initializing: ['initFailed', 'initWaiting', 'initDone'],
  Initialized: IDLE,
  Succeeded: IDLE,
  Failed: IDLE,
  Waiting: IDLE.slice(1),
  Progressing: RUN,
  WaitingPromotion: RUN,
  Promoting: [
    'promotionFailed',
    'primaryWait',
    'canaryDeadline',
    'canaryWait',
    'skipAnalysis',
    'promotionShift',
  ],
  Finalising: ['promotionFailed', 'primaryWait', 'canaryDeadline', 'canaryWait', 'skipAnalysis', 'finalised'],
};

// ---------------------------------------------------------------------------------------------
// Requests for the next tick

function requests(c: Ctx, phase: string, st: Current, routes: Routes): Action[] {
  if (phase !== 'Progressing' && phase !== 'WaitingPromotion') return [];
  const out: Action[] = [...callHooks(c, 'rollback', phase, st)];
  const round = roundKind(c.cfg, routes.canary, st.iterations, routes.mirrored);
  if (round === 'pre-rollout') out.push(...callHooks(c, 'pre-rollout', 'Progressing', st));
  else {
    out.push(...callHooks(c, 'rollout', 'Progressing', st));
    if (c.cfg.metrics.length > 0) {
      const metrics: MetricRequest[] = c.cfg.metrics.map((m) => {
        const r: MetricRequest = { name: m.name, interval: m.interval };
        if (m.templateRef) r.templateRef = m.templateRef;
        if (m.query) r.query = m.query;
        if (m.templateVariables) r.templateVariables = m.templateVariables;
        return r;
      });
      out.push({ type: 'RunMetricChecks', metrics });
    }
  }
  const step = c.cfg.strategy === 'canary' ? nextStepWeight(c.canary, routes.canary) : 0;
  if (step > 0 && !routes.mirrored && phase === 'Progressing')
    out.push(...callHooks(c, 'confirm-traffic-increase', 'Progressing', st));
  const atPromotion =
    c.cfg.strategy === 'canary' ? routes.canary >= c.cfg.maxWeight : st.iterations >= c.cfg.iterations;
  if (atPromotion) out.push(...callHooks(c, 'confirm-promotion', 'Progressing', st));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Status writing

const CONDITION_MESSAGES: Record<string, (kind: string) => string> = {
  Initializing: (k) => `New ${k} detected, starting initialization.`,
  Initialized: (k) => `${k} initialization completed.`,
  Waiting: () => 'Waiting for approval.',
  WaitingPromotion: () => 'Waiting for approval.',
  Progressing: () => 'New revision detected, progressing canary analysis.',
  Promoting: () => 'Canary analysis completed, starting primary rolling update.',
  Finalising: () => 'Canary analysis completed, routing all traffic to primary.',
  Succeeded: () => 'Canary analysis completed successfully, promotion finished.',
  Failed: (k) => `Canary analysis failed, ${k} scaled to zero.`,
};

function conditionStatus(phase: string): 'True' | 'False' | 'Unknown' {
  if (phase === 'Initialized' || phase === 'Succeeded') return 'True';
  if (phase === 'Failed') return 'False';
  return 'Unknown';
}

function finish(c: Ctx, transition: string, o: Outcome): TickResult {
  const next: Current = { ...c.cur };
  if (o.phase !== undefined && o.phase !== c.cur.phase) {
    next.phase = o.phase;
    if (o.phase !== 'Progressing' && o.phase !== 'Waiting' && o.phase !== 'Promoting') {
      next.canaryWeight = 0;
      next.iterations = 0;
    }
    if (o.phase === 'WaitingPromotion') next.iterations = Math.max(0, c.cfg.iterations - 1);
  }
  Object.assign(next, o.set ?? {});
  next.canaryWeight = clampWeight(next.canaryWeight);
  next.failedChecks = nonNeg(next.failedChecks);
  next.iterations = nonNeg(next.iterations);

  const changed =
    next.phase !== c.cur.phase ||
    next.canaryWeight !== c.cur.canaryWeight ||
    next.failedChecks !== c.cur.failedChecks ||
    next.iterations !== c.cur.iterations ||
    next.lastAppliedSpec !== c.cur.lastAppliedSpec ||
    next.lastPromotedSpec !== c.cur.lastPromotedSpec ||
    sortedJson(next.trackedConfigs) !== sortedJson(c.cur.trackedConfigs);

  const nowIso = c.now.toISOString();
  const status: FlaggerStatus = { ...c.prev };
  status.phase = next.phase as FlaggerStatus['phase'];
  status.canaryWeight = next.canaryWeight;
  status.failedChecks = next.failedChecks;
  status.iterations = next.iterations;
  for (const k of ['lastAppliedSpec', 'lastPromotedSpec', 'trackedConfigs'] as const) {
    if (next[k] === undefined) delete status[k];
  }
  if (next.lastAppliedSpec !== undefined) status.lastAppliedSpec = next.lastAppliedSpec;
  if (next.lastPromotedSpec !== undefined) status.lastPromotedSpec = next.lastPromotedSpec;
  if (next.trackedConfigs !== undefined) status.trackedConfigs = { ...next.trackedConfigs };
  if (changed || status.lastTransitionTime === undefined) status.lastTransitionTime = nowIso;

  const old = (c.prev.conditions ?? []).find((x) => x.type === 'Promoted');
  const condStatus = conditionStatus(next.phase);
  if (!old || old.reason !== next.phase || old.status !== condStatus) {
    const cond = {
      type: 'Promoted',
      status: condStatus,
      reason: next.phase,
      message: (CONDITION_MESSAGES[next.phase] ?? (() => ''))(c.cfg.kind),
      lastUpdateTime: nowIso,
      lastTransitionTime: nowIso,
    };
    status.conditions = [...(c.prev.conditions ?? []).filter((x) => x.type !== 'Promoted'), cond];
  }

  const actions: Action[] = [];
  for (const a of o.actions) {
    actions.push(a);
    if (a.type === 'EmitEvent') actions.push(...eventHooks(c, a));
  }
  if (o.request && c.obs.canary.ready) {
    const last = [...o.actions].reverse().find((a) => a.type === 'SetRoutes');
    const routes = last && last.type === 'SetRoutes' ? last : c.routes;
    actions.push(...requests(c, next.phase, next, routes));
  }
  actions.push({ type: 'Requeue', afterSeconds: o.immediate ? 0 : c.cfg.interval });
  return { actions, status, transition, from: c.state };
}

/** `event` hooks fire on every event Flagger records (events.go), fire-and-forget. */
function eventHooks(c: Ctx, e: Extract<Action, { type: 'EmitEvent' }>): Action[] {
  return hooksOf(c, 'event').map((h) => ({
    type: 'CallWebhook',
    name: h.name,
    hookType: 'event',
    url: h.url,
    payload: payload(c, c.cur.phase, c.cur, {
      ...(h.metadata ?? {}),
      eventMessage: e.message,
      eventType: e.eventType,
      timestamp: String(c.now.getTime()),
    }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Entry point

function normalise(status: FlaggerStatus | undefined): Current {
  const s = status ?? {};
  return {
    phase: s.phase ?? '',
    canaryWeight: nonNeg(s.canaryWeight),
    failedChecks: nonNeg(s.failedChecks),
    iterations: nonNeg(s.iterations),
    lastAppliedSpec: s.lastAppliedSpec || undefined,
    lastPromotedSpec: s.lastPromotedSpec || undefined,
    trackedConfigs: s.trackedConfigs,
  };
}

/** Build the tick context (exported for tests and for adapters that want to explain a tick). */
export function context(
  canary: Canary,
  status: FlaggerStatus | undefined,
  observed: Observation,
  now: Date,
  options: TickOptions = {},
): Ctx {
  const cur = normalise(status);
  const r = observed.routes;
  return {
    canary,
    cfg: readConfig(canary, options),
    prev: status ?? {},
    cur,
    obs: observed,
    now,
    state: stateOf(cur.phase),
    changed: hasChanged(cur, observed),
    routes: { primary: clampWeight(r.primary), canary: clampWeight(r.canary), mirrored: r.mirrored === true },
  };
}

/**
 * One analysis tick of one Canary: the next status and the actions the adapters must carry out.
 * Pure: the same inputs give the same outputs.
 */
export function tick(
  canary: Canary,
  status: FlaggerStatus | undefined,
  observed: Observation,
  now: Date,
  options: TickOptions = {},
): TickResult {
  const c = context(canary, status, observed, now, options);
  if (c.cfg.suspend)
    return finish(c, 'suspended', { actions: [event('skipping canary run as object is suspended')] });
  if (c.state === undefined) return finish(c, 'terminating', { actions: [] });
  for (const name of TRANSITION_TABLE[c.state]) {
    const o = (TRANSITIONS[name] as Transition)(c);
    if (o) return finish(c, name, o);
  }
  return finish(c, 'hold', { actions: [] });
}
