/**
 * An Argo Rollout as the CLI and the dashboard show it (`ReleaseView`), built from plain data every
 * platform has: the Rollout (spec and status), its versions (ReplicaSets on Kubernetes, versions of
 * replica processes on the local runtime) with what their pods do, its AnalysisRuns and its events.
 * Pure; the local runtime (platforms/local/runtime/view.ts) and Kubernetes
 * (platforms/kubernetes/releases.ts) only gather the inputs, so both show a rollout the same way.
 */
import type { AnalysisRun } from '../api/argo/analysis.js';
import type { Rollout } from '../api/argo/rollout.js';
import { parseIntOrDuration } from '../api/duration.js';
import type {
  AnalysisRunView,
  PodView,
  ReleaseEventView,
  ReleasePhase,
  ReleaseView,
  StepView,
  VersionRole,
  VersionView,
} from './release.js';

type PodTemplate = NonNullable<Rollout['spec']['template']>;

/** What a version's pods do right now (a ReplicaSet's status, or the local supervisor's). */
export interface VersionObservation {
  currentReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** Only `reason` is read here (CrashLoopBackOff makes a version Degraded). */
  pods: readonly { reason?: string }[];
}

/** One version (ReplicaSet) of the Rollout. */
export interface ArgoVersionInput {
  /** Default `<rollout>-<hash>`, the name Argo gives its ReplicaSets. */
  name?: string;
  hash: string;
  /** rollout.argoproj.io/revision. */
  revision: number;
  /** Its pod template (the images come from it). */
  template: PodTemplate | undefined;
  /** Desired replicas (spec.replicas). */
  replicas: number;
  createdAt?: string;
  /** Undefined when nothing runs or was observed yet. */
  observed?: VersionObservation;
  pods: PodView[];
}

/** One AnalysisRun of the Rollout. */
export interface ArgoRunInput {
  name: string;
  run: AnalysisRun;
  /** step, background, prePromotion, postPromotion. */
  kind: string;
  revision: number;
}

export interface ArgoRolloutInput {
  rollout: Rollout;
  /** The pod-template hash of the current template (its version is the canary/preview). */
  podHash: string;
  versions: readonly ArgoVersionInput[];
  runs: readonly ArgoRunInput[];
  /** Oldest first. */
  events: ReleaseEventView[];
  /** The router's actual canary weight; shown when the Rollout uses trafficRouting. */
  routerWeight?: number;
}

const PHASES = new Set(['Progressing', 'Paused', 'Healthy', 'Degraded']);

export function argoRolloutView(o: ArgoRolloutInput): ReleaseView {
  const r = o.rollout;
  const podHash = o.podHash;
  const st = r.status ?? {};
  const canary = r.spec.strategy?.canary;
  const bg = r.spec.strategy?.blueGreen;
  const rolesOf = (hash: string): VersionRole[] => {
    const roles: VersionRole[] = [];
    if (bg) {
      if (st.blueGreen?.activeSelector === hash) roles.push('active');
      if (st.blueGreen?.previewSelector === hash && st.blueGreen?.activeSelector !== hash)
        roles.push('preview');
      if (st.stableRS === hash && !roles.includes('active')) roles.push('stable');
    } else {
      if (st.stableRS === hash) roles.push('stable');
      if (hash === podHash && st.stableRS !== hash) roles.push('canary');
    }
    return roles;
  };
  const versions: VersionView[] = [...o.versions]
    .sort((a, b) => b.revision - a.revision)
    .map((v) => {
      const s = v.observed;
      const containers = (v.template?.spec?.containers ?? []) as { image?: string }[];
      return {
        name: v.name ?? `${r.metadata?.name}-${v.hash}`,
        hash: v.hash,
        revision: v.revision,
        roles: rolesOf(v.hash),
        images: containers.map((c) => c.image ?? ''),
        status: versionStatus(v.replicas, s),
        desired: v.replicas,
        current: s?.currentReplicas ?? 0,
        ready: s?.readyReplicas ?? 0,
        available: s?.availableReplicas ?? 0,
        ...(v.createdAt !== undefined ? { createdAt: v.createdAt } : {}),
        pods: v.pods,
      };
    });
  const images: ReleaseView['images'] = [];
  for (const v of versions) {
    if (v.roles.length === 0) continue;
    for (const image of v.images) {
      const found = images.find((i) => i.image === image);
      if (found) found.roles.push(...v.roles.filter((x) => !found.roles.includes(x)));
      else images.push({ image, roles: [...v.roles] });
    }
  }
  const runs = o.runs
    .map(runView)
    .sort((a, b) => b.revision - a.revision || (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
  const steps = canary?.steps ?? [];
  const pause = st.pauseConditions ?? [];
  const phase = (PHASES.has(st.phase ?? '') ? st.phase : 'Unknown') as ReleasePhase;
  const stepIndex = st.currentStepIndex ?? 0;
  const setWeight = canary ? currentSetWeight(steps, stepIndex, st.stableRS === podHash) : undefined;
  const pauseStep = steps[stepIndex]?.pause;
  const pauseStart = pause.find((p) => p.reason === 'CanaryPauseStep')?.startTime;
  const pauseEndsAt =
    pauseStep?.duration !== undefined && pauseStart
      ? new Date(Date.parse(String(pauseStart)) + durationMs(pauseStep.duration)).toISOString()
      : undefined;
  return {
    dialect: 'argo',
    kind: 'Rollout',
    namespace: r.metadata?.namespace ?? 'default',
    name: r.metadata?.name ?? '',
    phase,
    ...(st.message ? { message: st.message } : {}),
    ...(pause.length > 0 || r.spec.paused
      ? {
          pauseReasons: [
            ...pause.map((p) => p.reason),
            ...(r.spec.paused && pause.length === 0 ? ['Paused'] : []),
          ],
        }
      : {}),
    ...(pauseEndsAt ? { pauseEndsAt } : {}),
    strategy: bg ? 'BlueGreen' : 'Canary',
    ...(canary && steps.length > 0
      ? { step: { index: Math.min(stepIndex, steps.length), count: steps.length } }
      : {}),
    ...(canary && steps.length > 0 ? { steps: steps.map(stepView) } : {}),
    ...(setWeight !== undefined ? { setWeight } : {}),
    ...(canary?.trafficRouting ? { actualWeight: o.routerWeight ?? 0 } : {}),
    images,
    replicas: {
      desired: r.spec.replicas ?? 1,
      current: st.replicas ?? 0,
      updated: st.updatedReplicas ?? 0,
      ready: st.readyReplicas ?? 0,
      available: st.availableReplicas ?? 0,
    },
    revision: o.versions.find((v) => v.hash === podHash)?.revision ?? 0,
    ...(r.metadata?.creationTimestamp ? { createdAt: String(r.metadata.creationTimestamp) } : {}),
    containers: ((r.spec.template?.spec?.containers ?? []) as { name?: string; image?: string }[]).map(
      (c) => ({ name: c.name ?? '', image: c.image ?? '' }),
    ),
    versions,
    analysisRuns: runs,
    events: o.events,
  };
}

/** An AnalysisRun with its metrics and measurements. */
function runView(rr: ArgoRunInput): AnalysisRunView {
  const st = rr.run.status;
  return {
    name: rr.name,
    revision: rr.revision,
    kind: rr.kind,
    phase: st?.phase || 'Pending',
    ...(st?.message ? { message: st.message } : {}),
    ...(st?.startedAt ? { startedAt: String(st.startedAt) } : {}),
    metrics: (st?.metricResults ?? []).map((m) => {
      const spec = rr.run.spec.metrics.find((x) => x.name === m.name);
      return {
        name: m.name,
        phase: m.phase,
        ...(spec?.successCondition
          ? { condition: spec.successCondition }
          : spec?.failureCondition
            ? { condition: `not (${spec.failureCondition})` }
            : {}),
        successful: m.successful ?? 0,
        failed: m.failed ?? 0,
        inconclusive: m.inconclusive ?? 0,
        errors: m.error ?? 0,
        measurements: (m.measurements ?? []).map((x) => ({
          phase: x.phase,
          ...(x.value !== undefined ? { value: x.value } : {}),
          ...(x.message ? { message: x.message } : {}),
          ...(x.startedAt ? { startedAt: String(x.startedAt) } : {}),
          ...(x.finishedAt ? { finishedAt: String(x.finishedAt) } : {}),
        })),
      };
    }),
  };
}

/** A version's status from its desired replicas and what its pods do (every platform and dialect). */
export function versionStatus(desired: number, s: VersionObservation | undefined): VersionView['status'] {
  if (desired === 0 && (s?.currentReplicas ?? 0) === 0) return 'ScaledDown';
  if (s?.pods.some((p) => p.reason === 'CrashLoopBackOff')) return 'Degraded';
  return (s?.availableReplicas ?? 0) >= desired ? 'Healthy' : 'Progressing';
}

/** A canary step as the progress line shows it. */
export function stepView(step: {
  setWeight?: number;
  pause?: { duration?: string | number };
  analysis?: { templates?: { templateName?: string }[] };
  experiment?: { duration?: string };
  setCanaryScale?: { weight?: number; replicas?: number; matchTrafficWeight?: boolean };
  setHeaderRoute?: { name?: string };
  setMirrorRoute?: { name?: string; percentage?: number };
  plugin?: { name?: string };
}): StepView {
  if (step.setWeight !== undefined) return { kind: 'setWeight', label: `weight ${step.setWeight} %` };
  if (step.pause)
    return {
      kind: 'pause',
      label:
        step.pause.duration === undefined ? 'pause until promoted' : `pause ${String(step.pause.duration)}`,
    };
  if (step.analysis)
    return {
      kind: 'analysis',
      label: `analysis ${(step.analysis.templates ?? []).map((t) => t.templateName ?? '').join(', ')}`.trim(),
    };
  if (step.experiment)
    return {
      kind: 'experiment',
      label: `experiment${step.experiment.duration ? ` ${step.experiment.duration}` : ''}`,
    };
  if (step.setCanaryScale) {
    const s = step.setCanaryScale;
    const what =
      s.replicas !== undefined
        ? `${s.replicas} replica(s)`
        : s.weight !== undefined
          ? `${s.weight} %`
          : 'match traffic weight';
    return { kind: 'setCanaryScale', label: `canary scale ${what}` };
  }
  if (step.setHeaderRoute)
    return { kind: 'setHeaderRoute', label: `header route ${step.setHeaderRoute.name ?? ''}`.trim() };
  if (step.setMirrorRoute)
    return {
      kind: 'setMirrorRoute',
      label: `mirror route ${step.setMirrorRoute.name ?? ''}${step.setMirrorRoute.percentage !== undefined ? ` ${step.setMirrorRoute.percentage} %` : ''}`,
    };
  if (step.plugin) return { kind: 'plugin', label: `plugin ${step.plugin.name ?? ''}`.trim() };
  return { kind: 'unknown', label: 'step' };
}

/** The weight the steps so far ask for (Argo's `GetCurrentSetWeight`); 100 when promoted. */
function currentSetWeight(
  steps: readonly { setWeight?: number }[],
  index: number,
  promoted: boolean,
): number {
  if (promoted || index >= steps.length) return 100;
  for (let i = Math.min(index, steps.length - 1); i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

function durationMs(d: string | number): number {
  return parseIntOrDuration(d) ?? 0;
}
