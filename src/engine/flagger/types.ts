/**
 * Inputs and outputs of the pure Flagger tick (see machine.ts for the design).
 *
 * `Observation` is what the adapters report before a tick; `Action` is what they must do after it.
 */
import type { CanaryStatus } from '../../api/flagger/canary.js';

/** The named states of the machine: Flagger's phases minus "", Terminating and Terminated. */
export const STATES = [
  'Initializing',
  'Initialized',
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
] as const;
export type StateName = (typeof STATES)[number];

/** Router weights, as `GetRoutes` / `SetRoutes` see them. */
export interface Routes {
  primary: number;
  canary: number;
  mirrored: boolean;
}

/**
 * Readiness of the primary or canary workload (`IsPrimaryReady` / `IsCanaryReady`). `retriable:
 * false` means the rollout is stuck past `progressDeadlineSeconds` (the adapter decides that).
 */
export type Readiness = { ready: true } | { ready: false; retriable: boolean; message?: string };

/** Outcome of one webhook call: 2xx..202 is ok; anything else failed with the body or error text. */
export type WebhookResult = { ok: true } | { ok: false; message: string };

/** Outcome of one metric query: a value, or an error (e.g. "no values found"). */
export type MetricResult = { value: number } | { error: string };

/**
 * What the adapters report before a tick.
 *
 * Contract for `webhooks` and `metrics`: they hold ONLY the results of the `CallWebhook` /
 * `RunMetricChecks` actions of the previous tick (keyed by webhook name / metric name), and are
 * empty or absent otherwise. Stale results must not be repeated, or failed checks are counted twice.
 */
export interface Observation {
  /** The target's current pod-template hash and tracked ConfigMap/Secret checksums (name → checksum). */
  target: { specHash: string; trackedConfigs?: Record<string, string> };
  primary: Readiness;
  canary: Readiness;
  /** The router's current weights: the source of truth for the canary weight (as `GetRoutes`). */
  routes: Routes;
  webhooks?: Record<string, WebhookResult>;
  metrics?: Record<string, MetricResult>;
}

/** Flagger's webhook payload (`CanaryWebhookPayload`). */
export interface WebhookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata?: Record<string, string>;
}

/** One metric the adapter must query; results come back as `Observation.metrics[name]`. */
export interface MetricRequest {
  name: string;
  interval: string;
  templateRef?: { name: string; namespace: string };
  query?: string;
  templateVariables?: Record<string, string>;
}

export type Action =
  /** Create / refresh `<target>-primary` as a copy of the target (idempotent). */
  | { type: 'InitializePrimary'; target: string; primary: string }
  | { type: 'ScaleToZero'; target: string }
  | { type: 'ScaleFromZero'; target: string }
  | { type: 'SetRoutes'; primary: number; canary: number; mirrored: boolean }
  | { type: 'CallWebhook'; name: string; hookType: string; url: string; payload: WebhookPayload }
  | { type: 'RunMetricChecks'; metrics: MetricRequest[] }
  /** Copy the target's spec to the primary. */
  | { type: 'Promote'; target: string; primary: string }
  | { type: 'EmitEvent'; eventType: 'Normal' | 'Warning'; reason: string; message: string }
  | { type: 'SendAlert'; severity: 'info' | 'warn' | 'error'; message: string }
  | { type: 'Requeue'; afterSeconds: number };

export type FlaggerStatus = CanaryStatus;

export interface TickResult {
  actions: Action[];
  status: FlaggerStatus;
  /** Name of the transition that fired (see `TRANSITION_TABLE`). */
  transition: string;
  /** The state the tick started in (undefined for Terminating / Terminated). */
  from: StateName | undefined;
}

export interface TickOptions {
  /** Controller-wide `-mesh-provider`, used when `spec.provider` is empty (default istio). */
  meshProvider?: string;
}
