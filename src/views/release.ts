/**
 * What the CLI (`vireo get rollout`, `list rollouts`, `status`) and the dashboard show of a release,
 * the same for both platforms (local runtime, Kubernetes) and both dialects (Argo Rollout, Flagger
 * Canary). Platforms fill it from their objects; renderers only format it. Plain JSON data
 * (`-o json|yaml` prints it as it is), times as RFC 3339 strings.
 */

/** Argo's rollout phases; a Flagger Canary's phase is mapped (Progressing/Promoting/Finalising -> Progressing, Succeeded/Initialized -> Healthy, Failed -> Degraded, Waiting* -> Paused). */
export type ReleasePhase = 'Progressing' | 'Paused' | 'Healthy' | 'Degraded' | 'Unknown';

export type VersionRole = 'stable' | 'canary' | 'active' | 'preview' | 'primary';

export interface PodView {
  name: string;
  /** Running, Waiting (ContainerCreating, CrashLoopBackOff: see reason), Terminating. */
  phase: string;
  reason?: string;
  ready: boolean;
  restarts: number;
  /** When the current process/container started. */
  startedAt?: string;
  /** Local runtime: pid and port of the replica process. */
  pid?: number;
  port?: number;
}

export interface VersionView {
  /** ReplicaSet (or local version) name, e.g. `rollouts-demo-6cf78c66c5`. */
  name: string;
  /** Pod-template hash. */
  hash: string;
  revision: number;
  roles: VersionRole[];
  images: string[];
  /** Healthy (all desired available), Progressing, Degraded (crash looping), ScaledDown. */
  status: 'Healthy' | 'Progressing' | 'Degraded' | 'ScaledDown';
  desired: number;
  current: number;
  ready: number;
  available: number;
  createdAt?: string;
  pods: PodView[];
}

export interface MeasurementView {
  /** Successful, Failed, Inconclusive, Error, Running. */
  phase: string;
  /** The value as text (Argo's `value` field). */
  value?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface MetricRunView {
  name: string;
  phase: string;
  /** The condition or threshold it is judged by (`result[0] >= 0.95`, `min 99`). */
  condition?: string;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  measurements: MeasurementView[];
}

export interface AnalysisRunView {
  name: string;
  revision: number;
  /** Argo: step, background, prePromotion, postPromotion; Flagger: the canary's checks. */
  kind: string;
  phase: string;
  message?: string;
  startedAt?: string;
  metrics: MetricRunView[];
}

export interface ReleaseEventView {
  at: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** One canary step as written, for a progress line. */
export interface StepView {
  /** setWeight, pause, analysis, experiment, setCanaryScale, setHeaderRoute, setMirrorRoute, plugin. */
  kind: string;
  /** Short text: `weight 20 %`, `pause 5s`, `pause until promoted`, `analysis success-rate`. */
  label: string;
}

export interface ReleaseView {
  dialect: 'argo' | 'flagger';
  /** `Rollout` or `Canary`. */
  kind: string;
  namespace: string;
  name: string;
  phase: ReleasePhase;
  /** Argo's status message or Flagger's last condition message. */
  message?: string;
  /** Why it is paused (CanaryPauseStep, BlueGreenPause, InconclusiveAnalysis, user pause). */
  pauseReasons?: string[];
  /** When the current pause ends on its own (a pause step with a duration). */
  pauseEndsAt?: string;
  strategy: 'Canary' | 'BlueGreen' | 'Flagger';
  /** Canary steps: current index (0-based; = count when done) and count. Flagger: iterations. */
  step?: { index: number; count: number };
  /** Argo canary: the steps as written; `step.index` points into them. */
  steps?: StepView[];
  /** The weight the current step sets and the router's actual canary weight (0..100). */
  setWeight?: number;
  actualWeight?: number;
  /** Images in use and the roles of the versions running them. */
  images: { image: string; roles: VersionRole[] }[];
  replicas: { desired: number; current: number; updated: number; ready: number; available: number };
  revision: number;
  createdAt?: string;
  /** The containers of the current pod template (what `set image CONTAINER=IMAGE` names). */
  containers?: { name: string; image: string }[];
  /** Newest revision first. */
  versions: VersionView[];
  /** Newest first. */
  analysisRuns: AnalysisRunView[];
  /** Oldest first; the platform keeps a bounded number. */
  events: ReleaseEventView[];
}
