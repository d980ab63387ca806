/**
 * The in-memory world of sim.ts for the blue/green machine (tests and demos): ReplicaSets whose pods
 * become available at once, Services whose selectors follow the switch actions, AnalysisRuns whose
 * phase a script picks. It only carries out actions and reports observations; every decision is the
 * machine's. Observe and apply with sim.ts's `observe` / `apply`.
 */
import type { Rollout } from '../../api/argo/rollout.js';
import { type BlueGreenResult, reconcileBlueGreen } from './bluegreen.js';
import { newWorld, runWorld, type SimOptions, step, type Timed, type World } from './sim.js';

export type BlueGreenSimStep = Timed<BlueGreenResult>;

/** A world with `stable` (when given) running at full scale behind both Services. */
export function newBlueGreenWorld(rollout: Rollout, podHash: string, stable?: string): World {
  const w = newWorld(rollout, podHash, stable);
  const bg = rollout.spec.strategy?.blueGreen;
  if (stable) {
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

/** One call of the machine against the world; the world carries out the actions at once. */
export const stepBlueGreen = (w: World): BlueGreenResult => step(w, reconcileBlueGreen);

/** Run the machine `calls` times against the world; returns every call's result. */
export const simulateBlueGreen = (w: World, options: SimOptions): BlueGreenSimStep[] =>
  runWorld(w, options, reconcileBlueGreen);
