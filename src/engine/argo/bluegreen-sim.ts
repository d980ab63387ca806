/**
 * A tiny in-memory world for the blue/green machine (tests and demos): ReplicaSets whose pods become
 * available at once, Services whose selectors follow the switch actions, AnalysisRuns whose phase a
 * script picks. It only carries out actions and reports observations; every decision is the machine's.
 */
import type { Rollout } from '../../api/argo/rollout.js';
import { type BlueGreenAction, type BlueGreenResult, reconcileBlueGreen } from './bluegreen.js';
import { COMPLETED_RUN } from './machine.js';
import type { CanaryObservation } from './types.js';

export interface BlueGreenSimRun {
  phase: string;
  message?: string;
  kind: 'prePromotion' | 'postPromotion';
  createdAt: number;
}

export interface BlueGreenWorld {
  now: number;
  rollout: Rollout;
  podHash: string;
  revision: number;
  replicaSets: Map<string, { replicas: number; availableReplicas: number }>;
  runs: Record<string, BlueGreenSimRun>;
  /** Service name -> rollouts-pod-template-hash in its selector. */
  services: Record<string, string>;
}

export interface BlueGreenSimStep extends BlueGreenResult {
  /** Virtual time of the call (ms since the start). */
  at: number;
}

export interface BlueGreenSimOptions {
  calls: number;
  /** Change the world before each call (user actions, run phases, new revisions). */
  before?: (w: BlueGreenWorld, call: number) => void;
  /** Advance the clock by this much when the machine does not ask for a requeue (default 10s). */
  idleMs?: number;
}

/** A world with `stable` (when given) running at full scale behind both Services. */
export function newBlueGreenWorld(rollout: Rollout, podHash: string, stable?: string): BlueGreenWorld {
  const w: BlueGreenWorld = {
    now: 0,
    rollout: structuredClone(rollout),
    podHash,
    revision: 1,
    replicaSets: new Map(),
    runs: {},
    services: {},
  };
  if (stable) {
    const n = rollout.spec.replicas ?? 1;
    const bg = rollout.spec.strategy?.blueGreen;
    w.replicaSets.set(stable, { replicas: n, availableReplicas: n });
    w.rollout.status = {
      stableRS: stable,
      currentPodHash: stable,
      blueGreen: { activeSelector: stable, ...(bg?.previewService ? { previewSelector: stable } : {}) },
    };
    if (bg) w.services[bg.activeService] = stable;
    if (bg?.previewService) w.services[bg.previewService] = stable;
  }
  return w;
}

export function observeBlueGreen(w: BlueGreenWorld): CanaryObservation {
  const stableHash = w.rollout.status?.stableRS;
  const rs = (hash: string) => {
    const x = w.replicaSets.get(hash);
    return x ? { hash, ...x } : undefined;
  };
  const stable = stableHash ? rs(stableHash) : undefined;
  const canary = rs(w.podHash);
  const older = [...w.replicaSets.keys()]
    .filter((h) => h !== stableHash && h !== w.podHash)
    .flatMap((h) => rs(h) ?? []);
  const analysisRuns: CanaryObservation['analysisRuns'] = {};
  for (const [name, r] of Object.entries(w.runs))
    analysisRuns[name] = { phase: r.phase, ...(r.message ? { message: r.message } : {}) };
  return {
    podHash: w.podHash,
    revision: w.revision,
    replicaSets: { ...(stable ? { stable } : {}), ...(canary ? { canary } : {}), older },
    analysisRuns,
  };
}

export function applyBlueGreen(w: BlueGreenWorld, actions: readonly BlueGreenAction[]): void {
  for (const a of actions) {
    switch (a.type) {
      case 'CreateReplicaSet':
      case 'ScaleReplicaSet':
        w.replicaSets.set(a.hash, { replicas: a.replicas, availableReplicas: a.replicas });
        break;
      case 'CreateAnalysisRun':
        if (a.kind === 'prePromotion' || a.kind === 'postPromotion')
          w.runs[a.name] = { phase: 'Running', kind: a.kind, createdAt: w.now };
        break;
      case 'TerminateAnalysisRun': {
        const r = w.runs[a.name];
        if (r && !COMPLETED_RUN.has(r.phase)) r.phase = 'Successful';
        break;
      }
      case 'SwitchServiceSelector':
        w.services[a.service] = a.hash;
        break;
      default:
        break;
    }
  }
}

/** One call of the machine against the world; the world carries out the actions at once. */
export function stepBlueGreen(w: BlueGreenWorld): BlueGreenResult {
  const res = reconcileBlueGreen(w.rollout, observeBlueGreen(w), new Date(w.now));
  w.rollout = { ...w.rollout, status: res.status };
  applyBlueGreen(w, res.actions);
  return res;
}

/** Run the machine `calls` times against the world; returns every call's result. */
export function simulateBlueGreen(w: BlueGreenWorld, options: BlueGreenSimOptions): BlueGreenSimStep[] {
  const out: BlueGreenSimStep[] = [];
  for (let i = 0; i < options.calls; i++) {
    options.before?.(w, i);
    const at = w.now;
    const res = stepBlueGreen(w);
    out.push({ ...res, at });
    const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
    // The world reacts at once, so a watch would call again soon (1s); else the requeue or idle tick.
    const acted = res.actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'RequeueAfter');
    if (requeue?.type === 'RequeueAfter') w.now += requeue.ms;
    else w.now += acted ? 1_000 : (options.idleMs ?? 10_000);
  }
  return out;
}
