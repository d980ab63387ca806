/**
 * A tiny in-memory world for the Argo machines (tests and demos): ReplicaSets whose pods become
 * available at once, a router that applies weights and routes at once, Services whose selectors follow
 * the switch actions, AnalysisRuns whose phase a script picks. It only carries out actions and reports
 * observations; every decision is the machine's. The canary machine runs with `simulate`, the
 * blue/green one with bluegreen-sim.ts; both with `runWorld`.
 *
 * Pods are kept as their creation times, so restarts (spec.restartAt) and the creation order of
 * ReplicaSets (spec.rollbackWindow, scaleDownDelayRevisionLimit) can be observed; ephemeral pod
 * metadata (SetPodMetadata) is kept per ReplicaSet and reported back.
 */
import type { Rollout, RolloutStatus } from '../../api/argo/rollout.js';
import { COMPLETED_RUN } from './common.js';
import { reconcileCanary } from './machine.js';
import type {
  BlueGreenAction,
  CanaryObservation,
  CanaryResult,
  ObservedReplicaSet,
  PodMetadata,
} from './types.js';
import * as user from './user-actions.js';

export interface SimRun {
  phase: string;
  message?: string;
  kind: Extract<BlueGreenAction, { type: 'CreateAnalysisRun' }>['kind'];
  createdAt: number;
}

export interface SimReplicaSet {
  replicas: number;
  availableReplicas: number;
  /** Virtual creation time (ms); default 0. */
  createdAt?: number;
  /** Creation times of its pods (ms), oldest first; default: `replicas` pods born at createdAt. */
  pods?: number[];
  /** Ephemeral pod metadata from the last SetPodMetadata. */
  podMetadata?: PodMetadata;
}

export interface World {
  now: number;
  rollout: Rollout;
  podHash: string;
  revision: number;
  replicaSets: Map<string, SimReplicaSet>;
  weight: number;
  runs: Record<string, SimRun>;
  services: Record<string, string>;
  headerRoutes: string[];
  mirrorRoutes: string[];
}

/** One call's result with its virtual time (ms since the start). */
export type Timed<R> = R & { at: number };
export type SimStep = Timed<CanaryResult>;

/** Optional hooks: change the world before each call (user actions, run phases, new revisions). */
export interface SimOptions {
  calls: number;
  before?: (w: World, call: number) => void;
  /** Advance the clock by this much when the machine does not ask for a requeue (default 10s). */
  idleMs?: number;
}

/** When the first stable ReplicaSet was created (before the first call at 0). */
const STABLE_CREATED_AT = -60_000;

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
    mirrorRoutes: [],
  };
  if (stable) {
    const n = rollout.spec.replicas ?? 1;
    w.replicaSets.set(stable, {
      replicas: n,
      availableReplicas: n,
      createdAt: STABLE_CREATED_AT,
      pods: Array(n).fill(STABLE_CREATED_AT),
    });
    w.rollout.status = {
      stableRS: stable,
      currentPodHash: stable,
      currentStepIndex: rollout.spec.strategy?.canary?.steps?.length ?? 0,
    };
  }
  return w;
}

function podsOf(rs: SimReplicaSet): number[] {
  return rs.pods ?? Array(rs.replicas).fill(rs.createdAt ?? 0);
}

/** spec.restartAt in ms while a restart is pending (status.restartedAt differs). */
function pendingRestartMs(w: World): number | undefined {
  const at = w.rollout.spec.restartAt;
  if (!at) return undefined;
  const ms = Date.parse(at);
  const done = w.rollout.status?.restartedAt;
  return done !== undefined && Date.parse(done) === ms ? undefined : ms;
}

export function observe(w: World): CanaryObservation {
  const stableHash = w.rollout.status?.stableRS;
  const restartMs = pendingRestartMs(w);
  const rs = (hash: string): ObservedReplicaSet | undefined => {
    const x = w.replicaSets.get(hash);
    if (!x) return undefined;
    const old = restartMs === undefined ? 0 : podsOf(x).filter((t) => t < restartMs).length;
    return {
      hash,
      replicas: x.replicas,
      availableReplicas: x.availableReplicas,
      createdAt: new Date(x.createdAt ?? 0).toISOString(),
      ...(old > 0 ? { podsToRestart: old } : {}),
      ...(x.podMetadata ? { podMetadata: x.podMetadata } : {}),
    };
  };
  const stable = stableHash ? rs(stableHash) : undefined;
  const canary = rs(w.podHash);
  const older = [...w.replicaSets.keys()]
    .filter((h) => h !== stableHash && h !== w.podHash)
    .map((h) => rs(h) as ObservedReplicaSet);
  const analysisRuns: CanaryObservation['analysisRuns'] = {};
  for (const [name, r] of Object.entries(w.runs))
    analysisRuns[name] = { phase: r.phase, ...(r.message ? { message: r.message } : {}) };
  return {
    podHash: w.podHash,
    revision: w.revision,
    replicaSets: { ...(stable ? { stable } : {}), ...(canary ? { canary } : {}), older },
    weights: { canary: w.weight },
    analysisRuns,
    managedRoutes: [...w.headerRoutes, ...w.mirrorRoutes],
  };
}

function scale(w: World, hash: string, replicas: number): void {
  const x = w.replicaSets.get(hash);
  const pods = x ? [...podsOf(x)] : [];
  while (pods.length < replicas) pods.push(w.now);
  pods.sort((a, b) => a - b);
  pods.length = Math.min(pods.length, Math.max(0, replicas)); // the newest pods go first
  w.replicaSets.set(hash, {
    ...x,
    replicas,
    availableReplicas: replicas,
    createdAt: x?.createdAt ?? w.now,
    pods,
  });
}

const setRoute = (routes: string[], name: string, on: boolean): void => {
  const i = routes.indexOf(name);
  if (on && i < 0) routes.push(name);
  if (!on && i >= 0) routes.splice(i, 1);
};

export function apply(w: World, actions: readonly BlueGreenAction[]): void {
  for (const a of actions) {
    switch (a.type) {
      case 'CreateReplicaSet':
      case 'ScaleReplicaSet':
        scale(w, a.hash, a.replicas);
        break;
      case 'DeleteReplicaSet':
        w.replicaSets.delete(a.hash);
        break;
      case 'RestartPods': {
        const x = w.replicaSets.get(a.hash);
        if (!x) break;
        const before = Date.parse(a.before);
        let left = a.count;
        const pods = podsOf(x).map((t) => {
          if (left <= 0 || t >= before) return t;
          left -= 1;
          return w.now;
        });
        w.replicaSets.set(a.hash, { ...x, pods: pods.sort((p, q) => p - q) });
        break;
      }
      case 'SetWeight':
        w.weight = a.canary;
        break;
      case 'CreateAnalysisRun':
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
      case 'SetHeaderRoute':
        // A header route without match rules removes it (Argo's routers).
        setRoute(w.headerRoutes, a.name, a.match.length > 0);
        break;
      case 'SetMirrorRoute':
        setRoute(w.mirrorRoutes, a.name, a.match.length > 0 || (a.percentage ?? 0) > 0);
        break;
      case 'RemoveManagedRoutes':
        for (const name of a.names) {
          setRoute(w.headerRoutes, name, false);
          setRoute(w.mirrorRoutes, name, false);
        }
        break;
      case 'SetPodMetadata': {
        const x = w.replicaSets.get(a.hash);
        if (x) x.podMetadata = { labels: { ...a.labels }, annotations: { ...a.annotations } };
        break;
      }
      default:
        break;
    }
  }
}

/** What a machine's reconcile returns, as far as the world needs it. */
interface Reconciled {
  actions: readonly BlueGreenAction[];
  status: RolloutStatus;
}

/** One call of `reconcile` against the world; the world carries out the actions at once. */
export function step<R extends Reconciled>(
  w: World,
  reconcile: (rollout: Rollout, observed: CanaryObservation, now: Date) => R,
): R {
  const res = reconcile(w.rollout, observe(w), new Date(w.now));
  w.rollout = { ...w.rollout, status: res.status };
  apply(w, res.actions);
  return res;
}

/** Run `reconcile` `calls` times against the world; returns every call's result. */
export function runWorld<R extends Reconciled>(
  w: World,
  options: SimOptions,
  reconcile: (rollout: Rollout, observed: CanaryObservation, now: Date) => R,
): Timed<R>[] {
  const out: Timed<R>[] = [];
  for (let i = 0; i < options.calls; i++) {
    options.before?.(w, i);
    const at = w.now;
    const res = step(w, reconcile);
    out.push({ ...res, at });
    const requeue = res.actions.find((a) => a.type === 'RequeueAfter');
    // The world reacts at once to what the machine did, so a watch would call again soon (1s);
    // otherwise wait for the requeue or an idle tick.
    const acted = res.actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'RequeueAfter');
    if (requeue && requeue.type === 'RequeueAfter') w.now += requeue.ms;
    else w.now += acted ? 1_000 : (options.idleMs ?? 10_000);
  }
  return out;
}

/** Run the canary machine `calls` times against the world; returns every call's result. */
export const simulate = (w: World, options: SimOptions): SimStep[] => runWorld(w, options, reconcileCanary);

/** The user actions a property test plays, by name (`unpause` sets spec.paused false). */
export const USER_OPS = {
  abort: user.abortRollout,
  retry: user.retryRollout,
  promote: user.promoteRollout,
  promoteFull: user.promoteFullRollout,
  pause: user.pauseRollout,
  unpause: (r: Rollout): Rollout => ({ ...r, spec: { ...r.spec, paused: false } }),
} as const satisfies Record<string, (r: Rollout) => Rollout>;
export type UserOp = keyof typeof USER_OPS;
