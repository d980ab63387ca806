/**
 * The simulator's entry point: pick the release object (an Argo Rollout or a Flagger Canary) and run
 * it through a named scenario on a virtual clock. Deterministic: the same manifests, scenario, seed
 * and options give the same report.
 */

import type { Rollout } from '../api/argo/rollout.js';
import type { Canary } from '../api/flagger/canary.js';
import type { ManifestObject } from '../api/kind.js';
import { type SimulateOptions, simulateRollout } from './argo.js';
import { simulateCanary } from './flagger.js';
import type { SimulationReport } from './report.js';
import { type ScenarioName, type ScenarioOptions, scenario } from './scenarios.js';

export type { SimulateOptions } from './argo.js';
export type { Outcome, SimulationReport, TimelineEntry } from './report.js';
export { formatReport } from './report.js';
export { isScenarioName, SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

export const isRollout = (o: ManifestObject): boolean =>
  o.apiVersion === 'argoproj.io/v1alpha1' && o.kind === 'Rollout';
export const isCanary = (o: ManifestObject): boolean =>
  o.apiVersion === 'flagger.app/v1beta1' && o.kind === 'Canary';

export interface SimulationInput extends SimulateOptions, ScenarioOptions {
  scenario: ScenarioName;
}

/** Simulate `release` (one of `objects`; the others supply templates, Services, Deployments). */
export function simulate(
  release: ManifestObject,
  objects: readonly ManifestObject[],
  input: SimulationInput,
): SimulationReport {
  const sc = scenario(input.scenario, input);
  if (isRollout(release)) {
    const rollout = release as unknown as Rollout;
    if (!rollout.spec.strategy?.canary && !rollout.spec.strategy?.blueGreen)
      throw new Error('the Rollout has no canary or blueGreen strategy to simulate');
    return simulateRollout(rollout, objects, sc, input);
  }
  if (isCanary(release)) return simulateCanary(release as unknown as Canary, objects, sc, input);
  throw new Error(
    `${release.kind} cannot be simulated: give an argoproj.io/v1alpha1 Rollout or a flagger.app/v1beta1 Canary`,
  );
}
