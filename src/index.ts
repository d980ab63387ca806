/**
 * Vireo's library entry point: what other programs (and the tests of the package as installed) import.
 * @module vireo
 */

export { toCrd } from './api/crd.js';
export type { Diagnostic, FieldPath } from './api/diagnostics.js';
export { formatDiagnostic } from './api/diagnostics.js';
export { parseGoDuration } from './api/duration.js';
export type { KindDefinition, ManifestObject } from './api/kind.js';
export { checkObjects, type LoadedObject, loadManifests } from './api/load.js';
export { allKinds, findKind } from './api/registry.js';
export { canaryReplicaCounts, type ReplicaSetsInput, type RolloutInput } from './engine/replicas.js';
export { compile, ExprError, evaluate, evaluateCondition, evaluateThresholdRange } from './expr/index.js';
export { findTraps } from './lint/traps.js';
export { type Plan, type PlanStep, planFor } from './plan/plan.js';
export {
  formatReport,
  type Outcome,
  SCENARIO_NAMES,
  type ScenarioName,
  type SimulationInput,
  type SimulationReport,
  simulate,
} from './sim/simulate.js';
