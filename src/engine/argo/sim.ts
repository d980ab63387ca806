/**
 * A tiny in-memory world for the canary machine (tests and demos): ReplicaSets whose pods become
 * available at once, a router that applies weights at once, AnalysisRuns whose phase a script picks.
 * It only carries out actions and reports observations; every decision is the machine's.
 */
import type { Rollout } from '../../api/argo/rollout.js';
import { reconcileCanary } from './machine.js';
import type { CanaryAction, CanaryObservation, CanaryResult } from './types.js';

export interface SimRun {
  phase: string;
  message?: string;
  kind: 'step' | 'background';
  createdAt: number;
}

export interface World {
  now: number;
  rollout: Rollout;
  podHash: string;
  revision: number;
  replicaSets: Map<string, { replicas: number; availableReplicas: number }>;
  weight: number;
  runs: Record<string, SimRun>;
  services: Record<string, string>;
  headerRoutes: string[];
}

export interface SimStep extends CanaryResult {
  /** Virtual time of the call (ms since the start). */
  at: number;
}

/** Optional hooks: change the world before each call (user actions, run phases, new revisions). */
export interface SimOptions {
  calls: number;
  before?: (w: World, call: number) => void;
  /** Advance the clock by this much when the machine does not ask for a requeue (default 10s). */
  idleMs?: number;
}

export function newWorld(rollout: Rollout, podHash: string, stable?: string): World {
  const w: World = {
    now: 0,
    rollout: structuredClone(rollout),
    podHash,
    revision: 1,
    replicaSets: new Map(),
    weight: 0,
    runs: {},
    services: {},
    headerRoutes: [],
  };
  if (stable) {
    const n = rollout.spec.replicas ?? 1;
    w.replicaSets.set(stable, { replicas: n, availableReplicas: n });
    w.rollout.status = {
      stableRS: stable,
      currentPodHash: stable,
      currentStepIndex: rollout.spec.strategy?.canary?.steps?.length ?? 0,
    };
  }
  return w;
}

export function observe(w: World): CanaryObservation {
  const stableHash = w.rollout.status?.stableRS;
  const rs = (hash: string) => {
    const x = w.replicaSets.get(hash);
    return x ? { hash, ...x } : undefined;
  };
  const stable = stableHash ? rs(stableHash) : undefined;
  const canary = rs(w.podHash);
  const older = [...w.replicaSets.keys()]
    .filter((h) => h !== stableHash && h !== w.podHash)
    .map((h) => ({ hash: h, ...(w.replicaSets.get(h) as { replicas: number; availableReplicas: number }) }));
  const analysisRuns: CanaryObservation['analysisRuns'] = {};
  for (const [name, r] of Object.entries(w.runs))
    analysisRuns[name] = { phase: r.phase, ...(r.message ? { message: r.message } : {}) };
  return {
    podHash: w.podHash,
    revision: w.revision,
    replicaSets: { ...(stable ? { stable } : {}), ...(canary ? { canary } : {}), older },
    weights: { canary: w.weight },
    analysisRuns,
  };
}

const DONE = new Set(['Successful', 'Failed', 'Error', 'Inconclusive']);

export function apply(w: World, actions: readonly CanaryAction[]): void {
  for (const a of actions) {
    switch (a.type) {
      case 'CreateReplicaSet':
      case 'ScaleReplicaSet':
        w.replicaSets.set(a.hash, { replicas: a.replicas, availableReplicas: a.replicas });
        break;
      case 'SetWeight':
        w.weight = a.canary;
        break;
      case 'CreateAnalysisRun':
        w.runs[a.name] = { phase: 'Running', kind: a.kind, createdAt: w.now };
        break;
      case 'TerminateAnalysisRun': {
        const r = w.runs[a.name];
        if (r && !DONE.has(r.phase)) r.phase = 'Successful';
        break;
      }
      case 'SwitchServiceSelector':
        w.services[a.service] = a.hash;
        break;
      case 'SetHeaderRoute':
        w.headerRoutes.push(a.name);
        break;
      default:
        break;
    }
  }
}

/** Run the machine `calls` times against the world; returns every call's result. */
export function simulate(w: World, options: SimOptions): SimStep[] {
  const out: SimStep[] = [];
  for (let i = 0; i < options.calls; i++) {
    options.before?.(w, i);
    const res = reconcileCanary(w.rollout, observe(w), new Date(w.now));
    w.rollout = { ...w.rollout, status: res.status };
    apply(w, res.actions);
    out.push({ ...res, at: w.now });
    const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
    // The world reacts at once to what the machine did, so a watch would call again soon (1s);
    // otherwise wait for the requeue or an idle tick.
    const acted = res.actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'RequeueAfter');
    if (requeue && requeue.type === 'RequeueAfter') w.now += requeue.ms;
    else w.now += acted ? 1_000 : (options.idleMs ?? 10_000);
  }
  return out;
}
