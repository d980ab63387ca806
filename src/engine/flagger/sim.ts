/**
 * A tiny in-memory world for driving `tick` in tests and demos: it applies the actions of one tick
 * and reports the next observation, with webhook and metric results chosen by a responder.
 * Pure (returns new objects); no I/O.
 */
import type { Canary } from '../../api/flagger/canary.js';
import { tick } from './machine.js';
import type {
  Action,
  FlaggerStatus,
  MetricResult,
  Observation,
  Readiness,
  Routes,
  TickResult,
  WebhookResult,
} from './types.js';

export interface World {
  specHash: string;
  trackedConfigs?: Record<string, string>;
  primary: Readiness;
  canary: Readiness;
  routes: Routes;
  /** Hash the primary runs (set by InitializePrimary / Promote). */
  primarySpec?: string;
}

export const initialWorld = (specHash: string): World => ({
  specHash,
  primary: { ready: false, retriable: true, message: 'primary not created' },
  canary: { ready: true },
  routes: { primary: 100, canary: 0, mirrored: false },
});

/** Apply one tick's actions to the world. */
export function applyActions(world: World, actions: readonly Action[]): World {
  const w: World = { ...world, routes: { ...world.routes } };
  for (const a of actions) {
    switch (a.type) {
      case 'InitializePrimary':
      case 'Promote':
        w.primary = { ready: true };
        w.primarySpec = w.specHash;
        break;
      case 'ScaleToZero':
        w.canary = { ready: false, retriable: true, message: 'scaled to zero' };
        break;
      case 'ScaleFromZero':
        w.canary = { ready: true };
        break;
      case 'SetRoutes':
        w.routes = { primary: a.primary, canary: a.canary, mirrored: a.mirrored };
        break;
      default:
        break;
    }
  }
  return w;
}

export type Responder = (
  request: { webhooks: string[]; metrics: string[] },
  tickIndex: number,
) => { webhooks?: Record<string, WebhookResult>; metrics?: Record<string, MetricResult> };

/** Everything passes: hooks ok, metrics at `values[name]` (default 0). */
export const allPass =
  (values: Record<string, number> = {}): Responder =>
  (req) => ({
    webhooks: Object.fromEntries(req.webhooks.map((n) => [n, { ok: true } as WebhookResult])),
    metrics: Object.fromEntries(req.metrics.map((n) => [n, { value: values[n] ?? 0 } as MetricResult])),
  });

/** The webhook and metric names a tick asked for (excluding fire-and-forget event hooks). */
export function requested(actions: readonly Action[]): { webhooks: string[]; metrics: string[] } {
  const webhooks: string[] = [];
  const metrics: string[] = [];
  for (const a of actions) {
    if (a.type === 'CallWebhook' && a.hookType !== 'event' && a.hookType !== 'post-rollout')
      webhooks.push(a.name);
    if (a.type === 'RunMetricChecks') metrics.push(...a.metrics.map((m) => m.name));
  }
  return { webhooks, metrics };
}

export interface SimStep extends TickResult {
  observed: Observation;
  /** Time of the tick (epoch ms). */
  at: number;
}

/**
 * Run `ticks` ticks from `start`, each after the previous tick's `Requeue` (as an adapter does).
 * `before(i, world)` may change the world (e.g. a new revision) before tick i is observed.
 */
export function simulate(
  canary: Canary,
  opts: {
    ticks: number;
    world: World;
    respond: Responder;
    status?: FlaggerStatus;
    start?: number;
    before?: (i: number, world: World) => World;
  },
): SimStep[] {
  let world = opts.world;
  let status = opts.status;
  let pending: ReturnType<Responder> = {};
  const out: SimStep[] = [];
  let now = opts.start ?? Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < opts.ticks; i++) {
    if (opts.before) world = opts.before(i, world);
    const observed: Observation = {
      target: {
        specHash: world.specHash,
        ...(world.trackedConfigs ? { trackedConfigs: world.trackedConfigs } : {}),
      },
      primary: world.primary,
      canary: world.canary,
      routes: world.routes,
      ...(pending.webhooks ? { webhooks: pending.webhooks } : {}),
      ...(pending.metrics ? { metrics: pending.metrics } : {}),
    };
    const r = tick(canary, status, observed, new Date(now));
    out.push({ ...r, observed, at: now });
    status = r.status;
    world = applyActions(world, r.actions);
    const req = requested(r.actions);
    pending = req.webhooks.length + req.metrics.length > 0 ? opts.respond(req, i) : {};
    const requeue = r.actions.find((a) => a.type === 'Requeue');
    now += (requeue?.type === 'Requeue' ? requeue.afterSeconds : 60) * 1000;
  }
  return out;
}
