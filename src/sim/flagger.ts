/**
 * Simulating a Flagger Canary: the pure Flagger tick (src/engine/flagger) against the simulated
 * platform (the target Deployment and `<target>-primary`), router, traffic and metric provider.
 * This file only observes and carries out actions; every decision is the machine's.
 *
 * Adapter contract kept here (src/engine/flagger/machine.ts): the checks a tick requests are run
 * when the next tick is due, immediately before it (so their range ends where Flagger's would), and
 * their results are reported to that tick only. Webhooks and approval gates answer "ok".
 */

import type { ResolvedCheck } from '../analysis/provider.js';
import { parseGoDuration } from '../api/duration.js';
import type { Canary } from '../api/flagger/canary.js';
import { analysisInterval, getAnalysis, progressDeadlineSeconds } from '../api/flagger/canary-defaults.js';
import type { ManifestObject } from '../api/kind.js';
import { tick } from '../engine/flagger/machine.js';
import type {
  Action,
  FlaggerStatus,
  MetricRequest,
  MetricResult,
  Observation,
  Readiness,
} from '../engine/flagger/types.js';
import type { SimulateOptions } from './argo.js';
import { simulatedCheckProvider } from './provider.js';
import type { Outcome, SimulationReport } from './report.js';
import type { Scenario } from './scenarios.js';
import type { Role, Routing } from './traffic.js';
import { simulatedWorld, WARMUP_MS } from './world.js';

const OLD_SPEC = 'spec-old';
const NEW_SPEC = 'spec-new';
const SETTLE_MS = 5 * 60_000;
/** A/B testing: share of requests that match the canary's header/cookie rules. */
const AB_MATCH_SHARE = 0.05;
/** A load-test hook whose rate cannot be read. */
const DEFAULT_LOAD_RPS = 10;

const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function simulateCanary(
  canary: Canary,
  others: readonly ManifestObject[],
  sc: Scenario,
  opts: SimulateOptions,
): SimulationReport {
  const name = canary.metadata?.name ?? 'canary';
  const namespace = canary.metadata?.namespace ?? 'default';
  const target = String(obj(canary.spec?.targetRef).name ?? name);
  const primary = `${target}-primary`;
  const deadlineMs = progressDeadlineSeconds(canary) * 1000;
  const deployment = others.find(
    (o) =>
      o.kind === 'Deployment' &&
      o.metadata?.name === target &&
      (o.metadata?.namespace ?? namespace) === namespace,
  );
  const replicas = Number(obj(deployment?.spec).replicas ?? 1) || 1;

  const w = simulatedWorld(sc, opts);
  const { platform, traffic, notes, timeline, say } = w;
  notes.add('webhooks and approval gates answer "ok" (rollback gates stay closed) in the simulator');
  const analysis = getAnalysis(canary);
  const abMatchShare = Array.isArray(analysis?.match) ? AB_MATCH_SHARE : undefined;
  if (abMatchShare !== undefined)
    notes.add(`A/B: ${abMatchShare * 100} % of requests are assumed to match the header/cookie rules`);
  const loadCommands = new Map<string, string>();
  for (const h of Array.isArray(analysis?.webhooks) ? analysis.webhooks : []) {
    const hook = obj(h);
    const cmd = obj(hook.metadata).cmd;
    if (
      (hook.type ?? 'rollout') === 'rollout' &&
      typeof cmd === 'string' &&
      /\b(hey|ab|wrk|k6|curl)\b/.test(cmd)
    )
      loadCommands.set(String(hook.name), cmd);
  }
  let load = { until: 0, rps: 0 };

  let specHash = OLD_SPEC;
  let routes = { primary: 100, canary: 0, mirrored: false };
  let status: FlaggerStatus | undefined = structuredClone(canary.status);
  let now = 0;
  let pendingRequest: { webhooks: { name: string; hookType: string }[]; metrics: MetricRequest[] } = {
    webhooks: [],
    metrics: [],
  };
  /** Since when each workload has been waiting to become ready (for progressDeadlineSeconds). */
  const waitingSince = new Map<string, number>();
  let canaryScaledToZero = false;

  const specRole = (): Role => (specHash === NEW_SPEC ? 'new' : 'old');

  const readiness = (workload: string): Readiness => {
    if (!platform.has(workload)) return { ready: false, retriable: true, message: `${workload} not found` };
    if (platform.rolledOut(workload, now)) {
      waitingSince.delete(workload);
      return { ready: true };
    }
    const since = waitingSince.get(workload) ?? now;
    waitingSince.set(workload, since);
    const ready = platform.available(workload, now);
    const want = platform.replicas(workload);
    if (now - since >= deadlineMs)
      return {
        ready: false,
        retriable: false,
        message: `deployment ${workload} exceeded its progress deadline`,
      };
    return {
      ready: false,
      retriable: true,
      message: `waiting for rollout to finish: ${ready} of ${want} updated replicas are available`,
    };
  };

  /** How requests split at `at`: routes apply to all requests, or only to header-matched ones (A/B). */
  const routingAt = (at: number): Routing => {
    let newUp = 0;
    let oldUp = 0;
    let newDown = 0;
    let oldDown = 0;
    const routed = abMatchShare ?? 1;
    for (const [workload, share] of [
      [primary, (routed * routes.primary) / 100 + (1 - routed)],
      [target, (routed * routes.canary) / 100],
    ] as const) {
      if (share <= 0) continue;
      const serving = platform.servingByRole(workload, at);
      const total = serving.new + serving.old;
      if (total > 0) {
        newUp += (share * serving.new) / total;
        oldUp += (share * serving.old) / total;
      } else if ((platform.role(workload) ?? 'old') === 'new') newDown += share;
      else oldDown += share;
    }
    const newShare = newUp + newDown;
    const oldShare = oldUp + oldDown;
    const canaryServing = platform.servingByRole(target, at).new > 0;
    const direct = at < load.until ? load.rps : 0;
    return {
      newShare: newShare + oldShare > 0 ? newShare / (newShare + oldShare) : 0,
      newDown: newShare > 0 ? newDown / newShare : direct > 0 && !canaryServing ? 1 : 0,
      oldDown: oldShare > 0 ? oldDown / oldShare : 0,
      ...(direct > 0 ? { newDirectRps: direct } : {}),
    };
  };

  /** Generate traffic up to `to`, split where pods change or a load test ends. */
  const advanceTraffic = (to: number) => {
    let t = traffic.seconds * 1000;
    while (t < to) {
      const cuts = [to, platform.nextChange(t), load.until > t ? load.until : undefined];
      const next = Math.min(...cuts.filter((x): x is number => x !== undefined && x > t));
      traffic.advanceTo(next, routingAt(t));
      t = Math.max(next, t + 1000);
    }
  };

  /** A rollout hook that runs a load tester (`hey -z 1m -q 10 -c 2 URL`) sends traffic to the canary. */
  const startLoad = (hookName: string) => {
    const cmd = loadCommands.get(hookName);
    if (cmd === undefined) return;
    const q = Number(/-q\s+(\d+)/.exec(cmd)?.[1] ?? Number.NaN);
    const c = Number(/-c\s+(\d+)/.exec(cmd)?.[1] ?? 1);
    const z = parseGoDuration(/-z\s+(\S+)/.exec(cmd)?.[1] ?? '') ?? analysisInterval(canary) * 1000;
    const rps = Number.isFinite(q) ? q * c : DEFAULT_LOAD_RPS;
    if (!Number.isFinite(q))
      notes.add(`load test ${hookName}: rate not given with -q, assumed ${DEFAULT_LOAD_RPS} rps`);
    notes.add(`load test ${hookName} sends ${rps} rps to the canary for ${z / 1000}s per call`);
    load = { until: now + z, rps };
  };

  const checks = simulatedCheckProvider({
    traffic,
    startMs: w.startMs,
    down: sc.metricsDown === true,
    notes,
  });
  /** The adapter's part: resolve the MetricTemplate, then ask the provider. */
  const metricResult = (m: MetricRequest): MetricResult => {
    let request: ResolvedCheck = m;
    if (m.templateRef) {
      const tpl = others.find(
        (o) =>
          o.kind === 'MetricTemplate' &&
          o.metadata?.name === m.templateRef?.name &&
          (o.metadata?.namespace ?? namespace) === m.templateRef?.namespace,
      );
      if (!tpl) return { error: `MetricTemplate ${m.templateRef.namespace}/${m.templateRef.name} not found` };
      const spec = obj(tpl.spec);
      request = { ...m, query: String(spec.query ?? ''), provider: obj(spec.provider) };
    }
    return checks.check(request, { now: w.startMs + now, canary: name }) as MetricResult;
  };

  const apply = (actions: readonly Action[]) => {
    for (const a of actions) {
      switch (a.type) {
        case 'InitializePrimary':
          if (!platform.has(primary)) {
            platform.scale(primary, replicas, now, specRole());
            say(now, 'platform', `Deployment ${primary} created with ${replicas} pod(s)`);
          }
          break;
        case 'ScaleToZero':
          if (!canaryScaledToZero) say(now, 'platform', `Deployment ${target} scaled to 0`);
          platform.scale(target, 0, now, specRole());
          canaryScaledToZero = true;
          break;
        case 'ScaleFromZero':
          if (canaryScaledToZero || !platform.has(target))
            say(now, 'platform', `Deployment ${target} scaled to ${replicas}`);
          platform.scale(target, replicas, now, specRole());
          canaryScaledToZero = false;
          break;
        case 'SetRoutes':
          if (a.primary !== routes.primary || a.canary !== routes.canary || a.mirrored !== routes.mirrored)
            say(
              now,
              'router',
              `primary ${a.primary} %, canary ${a.canary} %${a.mirrored ? ', mirrored' : ''}`,
            );
          routes = { primary: a.primary, canary: a.canary, mirrored: a.mirrored };
          break;
        case 'Promote':
          platform.replace(primary, now, specRole());
          say(now, 'platform', `Deployment ${primary} rolling to ${specHash}`);
          break;
        case 'EmitEvent':
          say(now, 'canary', `${a.eventType === 'Warning' ? 'Warning ' : ''}${a.message}`);
          break;
        case 'SendAlert':
          say(now, 'alert', `${a.severity}: ${a.message}`);
          break;
        default:
          break;
      }
    }
  };

  let outcome: Outcome = 'undecided';
  let decidedAt: number | undefined;
  let reason = '';
  const maxMs = opts.maxMs ?? 24 * 3_600_000;
  let lastPhase: string | undefined;

  // The target Deployment exists before Flagger sees it.
  platform.seed(target, replicas, 'old');

  for (let calls = 0; calls < 1_000_000; calls++) {
    advanceTraffic(now);
    if (!w.released && now >= WARMUP_MS && status?.phase === 'Initialized') {
      w.releaseAt = now;
      specHash = NEW_SPEC;
      // The new template rolls the (scaled-down) target; Flagger scales it up when it sees the change.
      platform.replace(target, now, 'new');
      say(now, 'user', `new revision ${NEW_SPEC} (scenario ${sc.name})`);
    }
    // Carry out last tick's requests now, right before this tick.
    // A rollback hook that answers ok asks for a rollback: the simulated operator never does.
    const webhooks = Object.fromEntries(
      pendingRequest.webhooks.map((h) => [
        h.name,
        h.hookType === 'rollback'
          ? { ok: false as const, message: 'rollback gate closed' }
          : { ok: true as const },
      ]),
    );
    const metrics: Record<string, MetricResult> = {};
    for (const m of pendingRequest.metrics) {
      const r = metricResult(m);
      metrics[m.name] = r;
      say(
        now,
        'metrics',
        `${m.name} = ${'error' in r ? `error: ${r.error}` : Math.round(r.value * 1000) / 1000}`,
      );
    }
    for (const h of pendingRequest.webhooks) {
      const r = webhooks[h.name];
      if (h.hookType === 'rollout' && r?.ok) startLoad(h.name);
      say(
        now,
        'webhook',
        `${h.name} (${h.hookType}) ${r?.ok ? 'ok' : `not ok: ${r && !r.ok ? r.message : ''}`}`,
      );
    }
    const observed: Observation = {
      target: { specHash },
      primary: readiness(primary),
      canary: canaryScaledToZero
        ? { ready: false, retriable: true, message: 'scaled to zero' }
        : readiness(target),
      routes,
      ...(pendingRequest.webhooks.length > 0 ? { webhooks } : {}),
      ...(pendingRequest.metrics.length > 0 ? { metrics } : {}),
    };
    const res = tick(canary, status, observed, new Date(w.startMs + now));
    status = res.status;
    apply(res.actions);
    // event and post-rollout hooks are fire-and-forget: their answers are not reported.
    pendingRequest = {
      webhooks: res.actions.flatMap((a) =>
        a.type === 'CallWebhook' && a.hookType !== 'event' && a.hookType !== 'post-rollout'
          ? [{ name: a.name, hookType: a.hookType }]
          : [],
      ),
      metrics: res.actions.flatMap((a) => (a.type === 'RunMetricChecks' ? a.metrics : [])),
    };
    if (status.phase !== lastPhase && w.released)
      say(
        now,
        'canary',
        `${res.transition}: phase ${status.phase}, weight ${status.canaryWeight ?? 0}, failed checks ${status.failedChecks ?? 0}`,
      );
    lastPhase = status.phase;

    if (w.released && decidedAt === undefined) {
      if (res.actions.some((a) => a.type === 'Promote')) {
        outcome = 'promoted';
        reason = `${target} spec copied to ${primary}`;
        decidedAt = now;
      } else if (status.phase === 'Failed') {
        outcome = 'aborted';
        const why = res.actions.find((a) => a.type === 'EmitEvent' && a.eventType === 'Warning');
        reason = why?.type === 'EmitEvent' ? why.message : 'Canary failed';
        decidedAt = now;
      }
    }
    const final = status.phase === 'Succeeded' || status.phase === 'Failed';
    if (decidedAt !== undefined && (final || now - decidedAt >= SETTLE_MS)) break;
    if (decidedAt === undefined && w.released && now - w.releaseAt >= maxMs) break;

    const requeue = res.actions.find((a) => a.type === 'Requeue');
    const afterMs = requeue?.type === 'Requeue' ? requeue.afterSeconds * 1000 : 60_000;
    let next = now + afterMs;
    if (!w.released && next > WARMUP_MS && status.phase === 'Initialized')
      next = Math.max(now + 1, WARMUP_MS);
    now = next;
  }
  const none = { requests: 0, errors: 0 };
  const c = w.released ? traffic.counts(['new'], w.releaseAt, decidedAt ?? now) : none;
  const t = w.released ? traffic.counts(['test'], w.releaseAt, decidedAt ?? now) : none;
  if (outcome === 'undecided')
    reason = `phase ${status?.phase ?? '(none)'}, weight ${status?.canaryWeight ?? 0}`;
  return {
    kind: 'Canary',
    name,
    scenario: sc.name,
    scenarioDescription: sc.description,
    seed: opts.seed,
    outcome,
    reason,
    ...(decidedAt !== undefined ? { decidedAfterMs: decidedAt - w.releaseAt } : {}),
    simulatedMs: w.released ? now - w.releaseAt : 0,
    newVersion: { requests: c.requests, failed: c.errors },
    ...(t.requests > 0 ? { loadTest: { requests: t.requests, failed: t.errors } } : {}),
    finalPhase: status?.phase ?? '',
    notes: [...notes],
    timeline,
  };
}
