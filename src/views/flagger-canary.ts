/**
 * A Flagger Canary as the CLI and the dashboard show it (`ReleaseView`), built from plain data every
 * platform has: the Canary (spec, and status as Flagger writes it), the versions of its two workloads
 * (`<target>` and `<target>-primary`) with their roles, its analysis runs and its events. Pure; the
 * local runtime (platforms/local/runtime/flagger-release.ts) and Kubernetes
 * (platforms/kubernetes/releases.ts) only gather the inputs, so both show a Canary the same way.
 */
import type { Canary } from '../api/flagger/canary.js';
import {
  analysisIterations,
  analysisThreshold,
  deploymentStrategy,
  getAnalysis,
} from '../api/flagger/canary-defaults.js';
import { arr, isObj, num, obj, str } from '../api/flagger/loose.js';
import type { AnalysisRunView, ReleaseEventView, ReleasePhase, ReleaseView, VersionView } from './release.js';

export interface FlaggerCanaryInput {
  /** The Canary, status included. */
  canary: Canary;
  namespace: string;
  name: string;
  /** Both workloads' versions, each with its role (`primary`, `canary`) while it serves. */
  versions: readonly VersionView[];
  /** The pod-template hash of the target's current template (its pods are the "updated" ones). */
  targetHash: string;
  /** The revision of the target's current template. */
  revision: number;
  /** The replicas the release runs at rest (the primary's, before initialisation the target's). */
  desired: number;
  /** The canary's share of the traffic as routed now (0..100). */
  actualWeight: number;
  /** Newest first. */
  analysisRuns: AnalysisRunView[];
  /** Oldest first. */
  events: ReleaseEventView[];
}

export function flaggerCanaryView(o: FlaggerCanaryInput): ReleaseView {
  const canary = o.canary;
  const st = canary.status ?? {};
  const phase = st.phase ?? '';
  const versions = [...o.versions].sort((a, b) => b.revision - a.revision || a.name.localeCompare(b.name));
  // One entry per image, with every role that runs it (primary and canary share one after a promotion).
  const images: ReleaseView['images'] = [];
  for (const v of versions) {
    if (v.roles.length === 0) continue;
    for (const image of v.images) {
      const found = images.find((i) => i.image === image);
      if (found) found.roles.push(...v.roles.filter((x) => !found.roles.includes(x)));
      else images.push({ image, roles: [...v.roles] });
    }
  }
  const sum = (f: (v: VersionView) => number, only?: (v: VersionView) => boolean) =>
    versions.filter((v) => only?.(v) ?? true).reduce((n, v) => n + f(v), 0);
  const condition = (st.conditions ?? []).find((c) => c.type === 'Promoted');
  const strategy = deploymentStrategy(canary);
  const iterations = analysisIterations(canary);
  const created = canary.metadata?.creationTimestamp;
  return {
    dialect: 'flagger',
    kind: 'Canary',
    namespace: o.namespace,
    name: o.name,
    phase: releasePhase(phase),
    ...(condition?.message ? { message: condition.message } : {}),
    ...(phase === 'Waiting' || phase === 'WaitingPromotion' ? { pauseReasons: [phase] } : {}),
    strategy: 'Flagger',
    // Blue/green and A/B testing count iterations; a progressive canary has its weight instead.
    ...(strategy !== 'canary' && iterations > 0
      ? { step: { index: Math.min(st.iterations ?? 0, iterations), count: iterations } }
      : {}),
    setWeight: st.canaryWeight ?? 0,
    actualWeight: o.actualWeight,
    images,
    replicas: {
      desired: o.desired,
      current: sum((v) => v.current),
      updated: sum(
        (v) => v.current,
        (v) => v.hash === o.targetHash,
      ),
      ready: sum((v) => v.ready),
      available: sum((v) => v.available),
    },
    revision: o.revision,
    ...(created ? { createdAt: String(created) } : {}),
    versions,
    analysisRuns: o.analysisRuns,
    events: o.events,
  };
}

/** Flagger's phase as a release phase (views/release.ts). */
export function releasePhase(phase: string): ReleasePhase {
  switch (phase) {
    case '':
    case 'Initializing':
    case 'Progressing':
    case 'Promoting':
    case 'Finalising':
      return 'Progressing';
    case 'Initialized':
    case 'Succeeded':
      return 'Healthy';
    case 'Failed':
      return 'Degraded';
    case 'Waiting':
    case 'WaitingPromotion':
      return 'Paused';
    default:
      return 'Unknown';
  }
}

/** The phase of the Canary's current analysis run: its verdict once Flagger reached one. */
export function flaggerRunPhase(canaryPhase: string | undefined): 'Failed' | 'Successful' | 'Running' {
  if (canaryPhase === 'Failed') return 'Failed';
  if (canaryPhase === 'Promoting' || canaryPhase === 'Finalising' || canaryPhase === 'Succeeded')
    return 'Successful';
  return 'Running';
}

/** A metric's threshold range, and the condition the views write for it: `min 99`, `min 1, max 9`. */
export interface MetricThreshold {
  min?: number;
  max?: number;
  condition: string;
}

/** Each metric's threshold range (`thresholdRange`), by metric name. */
export function metricThresholds(canary: unknown): Map<string, MetricThreshold> {
  const out = new Map<string, MetricThreshold>();
  for (const m of arr(getAnalysis(canary), 'metrics')) {
    if (!isObj(m)) continue;
    const range = obj(m, 'thresholdRange');
    const min = num(range, 'min');
    const max = num(range, 'max');
    const condition = [min !== undefined ? `min ${min}` : '', max !== undefined ? `max ${max}` : '']
      .filter(Boolean)
      .join(', ');
    out.set(str(m, 'name') ?? '', {
      ...(min !== undefined ? { min } : {}),
      ...(max !== undefined ? { max } : {}),
      condition,
    });
  }
  return out;
}

/** Canary phases in which an analysis run has started for `status.lastAppliedSpec`. */
const RUN_PHASES = new Set([
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
]);

/**
 * The current run as far as the Canary's status tells it, for a platform that did not take the
 * measurements itself (Flagger keeps none in the Canary): the metrics with their conditions, the
 * failed checks against the threshold and when the status last changed. Undefined before a run.
 */
export function flaggerStatusRun(canary: Canary, revision: number): AnalysisRunView | undefined {
  const st = canary.status ?? {};
  if (!RUN_PHASES.has(st.phase ?? '') || !st.lastAppliedSpec) return undefined;
  const failed = st.failedChecks ?? 0;
  const facts = [
    `${failed} failed check${failed === 1 ? '' : 's'} (rolls back at ${analysisThreshold(canary)})`,
    ...(st.lastTransitionTime ? [`status last changed ${st.lastTransitionTime}`] : []),
    'Flagger keeps no measurements in the Canary',
  ];
  return {
    name: `${canary.metadata?.name ?? ''}-${st.lastAppliedSpec}`,
    revision,
    kind: 'canary analysis',
    phase: flaggerRunPhase(st.phase),
    message: facts.join('; '),
    metrics: [...metricThresholds(canary)].map(([name, { condition }]) => ({
      name,
      phase: 'Unknown',
      ...(condition ? { condition } : {}),
      successful: 0,
      failed: 0,
      inconclusive: 0,
      errors: 0,
      measurements: [],
    })),
  };
}
