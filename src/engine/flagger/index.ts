/** The pure Flagger analysis tick (flagger.app/v1beta1 Canary semantics). See machine.ts for the design. */
export {
  type Ctx,
  context,
  fnv32a,
  TRANSITION_TABLE,
  TRANSITIONS,
  type TransitionName,
  tick,
} from './machine.js';
export {
  type Action,
  type FlaggerStatus,
  type MetricRequest,
  type MetricResult,
  type Observation,
  type Readiness,
  type Routes,
  STATES,
  type StateName,
  type TickOptions,
  type TickResult,
  type WebhookPayload,
  type WebhookResult,
} from './types.js';
