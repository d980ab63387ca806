/**
 * Simulating an Argo Rollouts canary: the pure canary machine (src/engine/argo) and the pure
 * AnalysisRun engine (src/engine/analysis) run against the simulated platform, router, traffic and
 * metric provider on a virtual clock. This file only observes and carries out actions; every
 * decision is the engines'.
 *
 * The old revision is deployed first and left to settle (its traffic fills the metric windows, as
 * on a live system); the release starts when the template changes to the new revision.
 */

import { carryOutMeasurementsNow } from '../analysis/provider.js';
import type { AnalysisRun, AnalysisTemplateSpec, ArgInput } from '../api/argo/analysis.js';
import type { Rollout, RolloutStatus } from '../api/argo/rollout.js';
import type { ManifestObject } from '../api/kind.js';
import { isCompleted, type Observation, reconcileAnalysisRun } from '../engine/analysis/engine.js';
import { buildAnalysisRun } from '../engine/analysis/templates.js';
import { type BlueGreenAction, reconcileBlueGreen } from '../engine/argo/bluegreen.js';
import { reconcileCanary } from '../engine/argo/machine.js';
import type { CanaryObservation, PodMetadata } from '../engine/argo/types.js';
import { promoteRollout } from '../engine/argo/user-actions.js';
import { simulatedMetricProviders } from './provider.js';
import type { Outcome, SimulationReport } from './report.js';
import type { Scenario } from './scenarios.js';
import type { Role, Routing } from './traffic.js';
import { simulatedWorld, WARMUP_MS } from './world.js';

export interface SimulateOptions {
  seed: number;
  /** Mean requests per second (default 20). */
  rps?: number;
  /** Stop this long after the release started if nothing was decided (default 24 h). */
  maxMs?: number;
  /** Pods become ready this long after they are created (default 10 s). */
  readyDelayMs?: number;
  /** Epoch ms of the simulation start, for the time of day of the traffic curve. */
  startMs?: number;
  /**
   * A simulated operator promotes a release this long after it paused for a user (a pause step
   * without duration, a blue/green pause). Without it such a release stays undecided.
   */
  promoteAfterMs?: number;
}

export const OLD_HASH = '5d8b9c7f4';
export const NEW_HASH = '7c6f9d8b5';
/** Resync when nothing else wakes the controller (Argo's default resync is 15 minutes). */
const IDLE_MS = 5 * 60_000;
const WATCH_MS = 1_000;
/** How long to follow the controller after its decision. */
const SETTLE_MS = 2 * 60_000;

interface SimRun {
  run: AnalysisRun;
  kind: string;
  /** Observations for the next reconcile (results of measurements already taken). */
  pending: Observation[];
  next?: number;
  /** Values of valueFrom args, resolved when the run was created. */
  argValues: Record<string, string>;
}

const _obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function simulateRollout(
  input: Rollout,
  others: readonly ManifestObject[],
  sc: Scenario,
  opts: SimulateOptions,
): SimulationReport {
  const name = input.metadata?.name ?? 'rollout';
  const w = simulatedWorld(sc, opts);
  const { platform, traffic, notes, timeline, say } = w;
  const roleOf = (hash: string | undefined): Role => (hash === NEW_HASH ? 'new' : 'old');
  const canary = input.spec.strategy?.canary;
  const blueGreen = input.spec.strategy?.blueGreen;
  const reconcile = blueGreen ? reconcileBlueGreen : reconcileCanary;
  const routed = canary?.trafficRouting !== undefined;
  const maxWeight = canary?.trafficRouting?.maxTrafficWeight ?? 100;

  let rollout: Rollout = structuredClone(input);
  let podHash = OLD_HASH;
  let weight = 0;
  const services: Record<string, string> = {};
  const runs = new Map<string, SimRun>();
  /** What the adapter keeps per ReplicaSet besides pods: creation time and ephemeral pod metadata. */
  const createdAt = new Map<string, number>();
  const podMetadata = new Map<string, PodMetadata>();
  let now = 0;

  const observe = (): CanaryObservation => {
    const status = rollout.status ?? {};
    const rs = (hash: string | undefined) => {
      if (!hash || !platform.has(hash)) return undefined;
      const meta = podMetadata.get(hash);
      const created = createdAt.get(hash);
      return {
        hash,
        replicas: platform.replicas(hash),
        availableReplicas: platform.available(hash, now),
        ...(created !== undefined ? { createdAt: new Date(w.startMs + created).toISOString() } : {}),
        ...(meta ? { podMetadata: meta } : {}),
      };
    };
    const stable = rs(status.stableRS);
    const current = rs(podHash);
    const older = platform
      .names()
      .filter((h) => h !== status.stableRS && h !== podHash)
      .map((h) => rs(h) as NonNullable<ReturnType<typeof rs>>);
    const analysisRuns: NonNullable<CanaryObservation['analysisRuns']> = {};
    for (const [runName, r] of runs) {
      const phase = r.run.status?.phase || 'Pending';
      analysisRuns[runName] = { phase, ...(r.run.status?.message ? { message: r.run.status.message } : {}) };
    }
    return {
      podHash,
      revision: podHash === NEW_HASH ? 2 : 1,
      replicaSets: { ...(stable ? { stable } : {}), ...(current ? { canary: current } : {}), older },
      ...(routed ? { weights: { canary: weight } } : {}),
      analysisRuns,
    };
  };

  /** How requests split between old and new right now. */
  const routing = (): Routing => {
    const status = rollout.status ?? {};
    const newDown = platform.availableOf('new', now) > 0 ? 0 : 1;
    const oldDown = platform.availableOf('old', now) > 0 ? 0 : 1;
    if (blueGreen) {
      // Users reach only the active Service; the preview gets no user traffic.
      const active = roleOf(
        services[blueGreen.activeService] || status.blueGreen?.activeSelector || status.stableRS,
      );
      return { newShare: active === 'new' ? 1 : 0, newDown, oldDown };
    }
    if (routed) {
      const stableSvc = canary?.stableService;
      const canarySvc = canary?.canaryService;
      const stableRole = roleOf((stableSvc && services[stableSvc]) || status.stableRS);
      const canaryRole = roleOf((canarySvc && services[canarySvc]) || podHash);
      const w = Math.min(1, Math.max(0, weight / maxWeight));
      const newShare = (canaryRole === 'new' ? w : 0) + (stableRole === 'new' ? 1 - w : 0);
      return { newShare, newDown, oldDown };
    }
    // Without a router a Service spreads requests over every ready pod of the Rollout.
    const n = platform.availableOf('new', now);
    const o = platform.availableOf('old', now);
    return { newShare: n + o > 0 ? n / (n + o) : 0, newDown, oldDown };
  };

  /** The run the controller creates for the machine's request (templates flattened, args applied). */
  const buildRun = (a: Extract<BlueGreenAction, { type: 'CreateAnalysisRun' }>): SimRun => {
    const built = buildAnalysisRun(
      {
        name: a.name,
        templates: a.templates,
        args: a.args as ArgInput[],
        ...(a.dryRun ? { dryRun: a.dryRun } : {}),
        ...(a.measurementRetention ? { measurementRetention: a.measurementRetention } : {}),
        podTemplateHashes: {
          Latest: podHash,
          ...(rollout.status?.stableRS ? { Stable: rollout.status.stableRS } : {}),
        },
        owner: rollout,
      },
      (kind, templateName) =>
        others.find((o) => o.kind === kind && o.metadata?.name === templateName) as
          | { spec?: AnalysisTemplateSpec }
          | undefined,
    );
    if (!built.ok) {
      const run: AnalysisRun = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisRun',
        metadata: { name: a.name },
        spec: { metrics: [] },
        status: { phase: 'Error', message: built.message },
      };
      return { run, kind: a.kind, pending: [], argValues: {} };
    }
    // Secrets are not read in a simulation: their args get a placeholder.
    const argValues: Record<string, string> = {};
    for (const x of built.valueFrom) {
      argValues[x.name] = 'simulated-secret';
      notes.add(`secret args are given a placeholder value (${x.name})`);
    }
    return { run: built.run, kind: a.kind, pending: [], argValues };
  };

  const providers = simulatedMetricProviders({
    traffic,
    startMs: w.startMs,
    down: sc.metricsDown === true,
    notes,
  });

  /** Reconcile due AnalysisRuns; true when a run's phase changed (the rollout controller watches runs). */
  const reconcileRuns = (): boolean => {
    let changed = false;
    for (const [runName, r] of runs) {
      if (isCompleted(r.run.status?.phase)) continue;
      if (r.next !== undefined && now < r.next && r.pending.length === 0 && !r.run.spec.terminate) continue;
      // Providers answer at once here, so measure and record in the same instant (as Argo's in-line
      // providers), and reconcile again while the run has something due now.
      for (let pass = 0; pass < 5; pass++) {
        const before = r.run.status?.phase;
        const res = reconcileAnalysisRun(r.run, now, r.pending, { argValues: r.argValues });
        r.pending = [];
        r.run = { ...r.run, status: res.status };
        const requeue = res.actions.find((x) => x.type === 'requeue');
        r.next = requeue?.type === 'requeue' ? now + requeue.afterMs : undefined;
        let measured = 0;
        const observations = carryOutMeasurementsNow(res.actions, providers, {
          now: w.startMs + now,
          run: { name: runName },
          argValues: r.argValues,
        });
        for (const o of observations) {
          r.pending.push(o);
          measured++;
          const shown = o.phase === 'Error' ? `error: ${o.message}` : fmtValue(o.value);
          say(now, 'analysis', `${runName} ${o.metric} = ${shown}`);
        }
        if (res.status.phase !== before) changed = true;
        if (res.status.phase !== before && res.status.phase)
          say(
            now,
            'analysis',
            `${runName} ${res.status.phase}${res.status.message ? `: ${res.status.message}` : ''}`,
          );
        if (measured === 0 && (r.next === undefined || r.next > now)) break;
      }
    }
    return changed;
  };

  let lastPhase = '';
  let lastState = '';
  const apply = (actions: readonly BlueGreenAction[]) => {
    for (const a of actions) {
      switch (a.type) {
        case 'CreateReplicaSet':
        case 'ScaleReplicaSet':
          if (platform.replicas(a.hash) !== a.replicas || !platform.has(a.hash)) {
            if (!platform.has(a.hash)) createdAt.set(a.hash, now);
            platform.scale(a.hash, a.replicas, now, roleOf(a.hash));
            say(now, 'platform', `ReplicaSet ${name}-${a.hash} (${roleOf(a.hash)}) scaled to ${a.replicas}`);
          }
          break;
        case 'SetWeight':
          if (a.canary !== weight) say(now, 'router', `canary weight ${a.canary} %`);
          weight = a.canary;
          break;
        case 'CreateAnalysisRun': {
          const r = buildRun(a);
          runs.set(a.name, r);
          say(now, 'analysis', `${a.name} created (${a.kind})`);
          break;
        }
        case 'TerminateAnalysisRun': {
          const r = runs.get(a.name);
          if (r && !isCompleted(r.run.status?.phase))
            r.run = { ...r.run, spec: { ...r.run.spec, terminate: true } };
          break;
        }
        case 'SwitchServiceSelector':
          services[a.service] = a.hash;
          break;
        case 'DeleteReplicaSet':
          platform.delete(a.hash);
          say(now, 'platform', `ReplicaSet ${name}-${a.hash} deleted`);
          break;
        case 'SetPodMetadata':
          podMetadata.set(a.hash, { labels: a.labels, annotations: a.annotations });
          say(now, 'platform', `pods of ${name}-${a.hash} labelled ${JSON.stringify(a.labels)}`);
          break;
        case 'SetHeaderRoute':
          say(now, 'router', `header route ${a.name}`);
          break;
        case 'SetMirrorRoute':
          say(now, 'router', `mirror route ${a.name}`);
          break;
        case 'EmitEvent':
          say(now, 'rollout', `${a.eventType === 'Warning' ? 'Warning ' : ''}${a.reason}: ${a.message}`);
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
  let newRequests = { requests: 0, failed: 0 };

  /** The next wake: the controller's, or an earlier AnalysisRun measurement. */
  const nextRunWake = (controller: number): number => {
    let next = controller;
    for (const r of runs.values())
      if (!isCompleted(r.run.status?.phase) && r.next !== undefined && r.next > now && r.next < next)
        next = r.next;
    return next;
  };

  /** When the rollout controller must run next (its requeue, a watch event, a pod change…). */
  let controllerDue = 0;
  for (let calls = 0; calls < 1_000_000; calls++) {
    traffic.advanceTo(now, routing());
    let changed = now >= controllerDue;
    if (!w.released && now >= WARMUP_MS && rollout.status?.phase === 'Healthy') {
      w.releaseAt = now;
      podHash = NEW_HASH;
      changed = true;
      say(now, 'user', `new revision ${NEW_HASH} (scenario ${sc.name})`);
    }
    if (reconcileRuns()) changed = true;
    // The simulated operator: promote a release that has waited for a user long enough.
    const userPause = waitingForUser(rollout, rollout.status ?? {});
    if (
      opts.promoteAfterMs !== undefined &&
      userPause !== undefined &&
      w.startMs + now >= userPause + opts.promoteAfterMs
    ) {
      rollout = promoteRollout(rollout);
      changed = true;
      say(now, 'user', 'promote (simulated operator)');
    }
    if (!changed) {
      // Only an AnalysisRun measured: the rollout controller has nothing new to look at.
      now = nextRunWake(controllerDue);
      continue;
    }
    const res = reconcile(rollout, observe(), new Date(w.startMs + now));
    rollout = { ...rollout, status: res.status };
    apply(res.actions);
    const st: RolloutStatus = res.status;
    const state = `${res.from}/${st.currentStepIndex ?? ''}`;
    if (w.released && (st.phase !== lastPhase || state !== lastState)) {
      say(
        now,
        'rollout',
        `${res.transition}: phase ${st.phase}${blueGreen ? '' : `, step ${st.currentStepIndex ?? '-'}`}${st.message ? ` (${st.message})` : ''}`,
      );
    }
    lastPhase = st.phase ?? '';
    lastState = state;

    if (w.released && decidedAt === undefined) {
      if (st.abort === true) {
        outcome = 'aborted';
        reason = st.message ?? 'aborted';
        decidedAt = now;
      } else if (st.stableRS === NEW_HASH) {
        outcome = 'promoted';
        reason = `${NEW_HASH} is the stable ReplicaSet`;
        decidedAt = now;
      }
    }
    // After the decision, let the controller finish (old pods scaled down, phase settled).
    if (decidedAt !== undefined && (settled(st, outcome) || now - decidedAt >= SETTLE_MS)) break;
    if (decidedAt === undefined && w.released && now - w.releaseAt >= maxMs) break;

    // Next controller call: its requeue, a watch event after acting, a pod change, the operator, a limit.
    const wakes: number[] = [now + IDLE_MS];
    const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
    if (requeue?.type === 'RequeueAfter') wakes.push(now + Math.max(requeue.ms, 1));
    if (res.actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'RequeueAfter'))
      wakes.push(now + WATCH_MS);
    const pod = platform.nextChange(now);
    if (pod !== undefined) wakes.push(pod);
    for (const r of runs.values()) {
      if (isCompleted(r.run.status?.phase)) continue;
      if (r.pending.length > 0 || r.run.status === undefined || r.run.spec.terminate)
        wakes.push(now + WATCH_MS);
    }
    if (!w.released && now < WARMUP_MS) wakes.push(WARMUP_MS);
    const paused = waitingForUser(rollout, res.status);
    if (opts.promoteAfterMs !== undefined && paused !== undefined)
      wakes.push(paused - w.startMs + opts.promoteAfterMs);
    if (w.released) wakes.push(w.releaseAt + maxMs);
    if (decidedAt !== undefined) wakes.push(decidedAt + SETTLE_MS);
    controllerDue = Math.min(...wakes.filter((t) => t > now));
    now = nextRunWake(controllerDue);
  }
  if (w.released) {
    const c = traffic.counts(['new'], w.releaseAt, decidedAt ?? now);
    newRequests = { requests: c.requests, failed: c.errors };
  }
  if (outcome === 'undecided') reason = waitingFor(rollout.status ?? {});
  return {
    kind: 'Rollout',
    name,
    scenario: sc.name,
    scenarioDescription: sc.description,
    seed: opts.seed,
    outcome,
    reason,
    ...(decidedAt !== undefined ? { decidedAfterMs: decidedAt - w.releaseAt } : {}),
    simulatedMs: w.released ? now - w.releaseAt : 0,
    newVersion: newRequests,
    finalPhase: rollout.status?.phase ?? '',
    notes: [...notes],
    timeline,
  };
}

/**
 * When (epoch ms) the release started waiting for a user: a pause step without duration, or a
 * blue/green pause. Timed pauses end by themselves and are not a user's to end.
 */
function waitingForUser(rollout: Rollout, st: RolloutStatus): number | undefined {
  const pause = st.pauseConditions?.find((p) => {
    if (p.reason === 'BlueGreenPause') return true;
    if (p.reason !== 'CanaryPauseStep') return false;
    const step = rollout.spec.strategy?.canary?.steps?.[st.currentStepIndex ?? 0];
    return step?.pause !== undefined && step.pause.duration === undefined;
  });
  return pause?.startTime ? Date.parse(pause.startTime) : undefined;
}

function settled(st: RolloutStatus, outcome: Outcome): boolean {
  if (outcome === 'promoted') return st.phase === 'Healthy';
  const activeBack =
    st.blueGreen?.activeSelector === undefined || st.blueGreen.activeSelector === st.stableRS;
  return st.phase === 'Degraded' && (st.canary?.weights?.canary.weight ?? 0) === 0 && activeBack;
}

function waitingFor(st: RolloutStatus): string {
  const pause = st.pauseConditions?.[0];
  if (pause) return `paused (${pause.reason}) and waiting for a promote`;
  return st.message ? `phase ${st.phase}: ${st.message}` : `phase ${st.phase ?? '(none)'}`;
}

function fmtValue(v: unknown): string {
  const f = (x: unknown) =>
    typeof x === 'number' ? String(Math.round(x * 10_000) / 10_000) : JSON.stringify(x);
  return Array.isArray(v) ? `[${v.map(f).join(', ')}]` : f(v);
}
