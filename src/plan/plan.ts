/**
 * `vireo plan`: a release as a timeline, computed from the manifests alone (pure; no clock, no I/O).
 * For each step: the canary's traffic weight, replica counts per version, how long the step lasts at
 * least, which analyses run; then the minimum time to full promotion and the earliest time a failing
 * analysis can abort the release.
 *
 * Times assume every version becomes ready at once and every check passes (or, for the abort time,
 * fails) at its first chance; real releases add pod start-up and router latency.
 */
import { parseGoDuration, parseIntOrDuration } from '../api/duration.js';
import {
  analysisInterval,
  analysisIterations,
  analysisThreshold,
  deploymentStrategy,
  getAnalysis,
  maxWeight,
  nextStepWeight,
  skipAnalysis,
} from '../api/flagger/canary-defaults.js';
import type { ManifestObject } from '../api/kind.js';

export interface PlanStep {
  /** 0-based position in the release (Argo: index into `steps`). */
  index: number;
  /** What happens: setWeight, pause, analysis, experiment, setCanaryScale, setHeaderRoute, setMirrorRoute,
   * plugin (Argo canary); preview, prePromotionAnalysis, promotionGate, switch, postPromotionAnalysis
   * (blue/green); weight, iteration (Flagger). */
  action: string;
  description: string;
  /** Share of live traffic (percent) the new version gets during this step. */
  weight: number;
  /** Least time the step takes, in seconds; null when it waits for a person (`promote`). */
  seconds: number | null;
  /** Seconds from the start of the release at which this step starts (manual waits counted as 0). */
  startsAt: number;
  /** Replica counts during the step, per version. */
  replicas: Record<string, number>;
  /** Analyses or checks running during this step. */
  analyses: string[];
}

export interface AbortPath {
  /** Which analysis and metric (or Flagger check). */
  source: string;
  /** Seconds from the start of the release. */
  atSeconds: number;
  rule: string;
}

export interface Plan {
  object: string;
  dialect: 'argo' | 'flagger';
  strategy: 'canary' | 'blueGreen' | 'ab-testing' | 'blue-green';
  replicas: number;
  steps: PlanStep[];
  /** What happens after the last step. */
  promotion: { description: string; weight: number };
  /** Sum of the steps' least durations; steps that wait for a person count 0 (see manualGates). */
  minTotalSeconds: number;
  /** Steps that wait for `promote` (or an approval) before the release can go on. */
  manualGates: number;
  /** The earliest moment a failing analysis aborts the release, or null when nothing can abort it. */
  earliestAbortSeconds: number | null;
  abortPaths: AbortPath[];
  notes: string[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const secondsOf = (v: unknown): number | undefined => {
  if (typeof v !== 'number' && typeof v !== 'string') return undefined;
  const ms = parseIntOrDuration(v);
  return ms === undefined ? undefined : ms / 1000;
};
const goSeconds = (v: unknown): number | undefined => {
  const s = str(v);
  if (s === undefined) return undefined;
  const ms = parseGoDuration(s);
  return ms === undefined ? undefined : ms / 1000;
};

export function planFor(target: ManifestObject, others: readonly ManifestObject[]): Plan {
  if (target.apiVersion === 'argoproj.io/v1alpha1' && target.kind === 'Rollout')
    return planRollout(target, others);
  if (target.apiVersion === 'flagger.app/v1beta1' && target.kind === 'Canary')
    return planCanary(target, others);
  throw new Error(`cannot plan a ${target.kind}; vireo plan reads Rollouts and Canaries`);
}

// ---------------------------------------------------------------------------------------------
// Argo Rollouts

interface MetricTiming {
  name: string;
  /** Least seconds until the metric can succeed; null when it never ends by itself. */
  successSeconds: number | null;
  /** Seconds after the analysis starts at which enough failures abort; null if it cannot fail. */
  failSeconds: number | null;
  failRule: string;
}

/** Timing of one metric of an AnalysisTemplate, from interval, count, initialDelay and limits. */
export function metricTiming(metric: Obj, args: Record<string, string> = {}): MetricTiming {
  const name = str(metric.name) ?? '(metric)';
  const interval = goSeconds(metric.interval);
  const initialDelay = goSeconds(metric.initialDelay) ?? 0;
  const resolveInt = (v: unknown): number | undefined => {
    if (typeof v === 'number') return v;
    const s = str(v)?.replace(/\{\{\s*args\.([\w-]+)\s*\}\}/g, (_, a: string) => args[a] ?? '');
    return s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined;
  };
  let count = resolveInt(metric.count);
  if (count === undefined && interval === undefined) count = 1; // Argo: one measurement
  const failureLimit = resolveInt(metric.failureLimit) ?? 0;
  const successLimit = resolveInt(metric.consecutiveSuccessLimit) ?? 0;
  const at = (k: number) => initialDelay + k * (interval ?? 0); // time of the (k+1)-th measurement

  let successSeconds: number | null;
  if (count === undefined) successSeconds = successLimit > 0 ? at(successLimit - 1) : null;
  else successSeconds = at(Math.max(0, (successLimit > 0 ? Math.min(successLimit, count) : count) - 1));

  let failSeconds: number | null = null;
  let failRule = 'failureLimit -1: failures never abort';
  if (failureLimit >= 0) {
    const needed = failureLimit + 1; // Argo fails the metric when failed > failureLimit
    if (count === undefined || needed <= count) {
      failSeconds = at(needed - 1);
      failRule = `${needed} failed measurement(s) (failureLimit ${failureLimit}${interval !== undefined ? `, every ${interval}s` : ''}${initialDelay ? `, after initialDelay ${initialDelay}s` : ''})`;
    } else {
      failRule = `count ${count} is below failureLimit+1 = ${needed}: the metric cannot fail`;
    }
  }
  return { name, successSeconds, failSeconds, failRule };
}

interface AnalysisRef {
  label: string;
  metrics: MetricTiming[];
  /** Templates that were not found in the files. */
  missing: string[];
}

function resolveAnalysis(analysis: Obj, others: readonly ManifestObject[], label: string): AnalysisRef {
  const args: Record<string, string> = {};
  for (const a of arr(analysis.args)) {
    const ao = obj(a);
    const n = str(ao.name);
    const v = str(ao.value);
    if (n && v !== undefined) args[n] = v;
  }
  const metrics: MetricTiming[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  const addTemplate = (name: string, cluster: boolean, depth: number) => {
    if (seen.has(name) || depth > 10) return;
    seen.add(name);
    const kind = cluster ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
    const t = others.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!t) {
      missing.push(`${kind}/${name}`);
      return;
    }
    const spec = obj(t.spec);
    for (const a of arr(spec.args)) {
      const ao = obj(a);
      const n = str(ao.name);
      if (n && args[n] === undefined && str(ao.value) !== undefined) args[n] = str(ao.value)!;
    }
    for (const m of arr(spec.metrics)) metrics.push(metricTiming(obj(m), args));
    for (const nested of arr(spec.templates)) {
      const no = obj(nested);
      const tn = str(no.templateName);
      if (tn) addTemplate(tn, no.clusterScope === true, depth + 1);
    }
  };
  for (const t of arr(analysis.templates)) {
    const to = obj(t);
    const tn = str(to.templateName);
    if (tn) addTemplate(tn, to.clusterScope === true, 0);
  }
  return { label, metrics, missing };
}

/** How long an analysis takes at least to succeed: its slowest metric. */
function analysisSeconds(a: AnalysisRef): number | null {
  if (a.missing.length > 0 && a.metrics.length === 0) return 0;
  let max = 0;
  for (const m of a.metrics) {
    if (m.successSeconds === null) return null;
    max = Math.max(max, m.successSeconds);
  }
  return max;
}

function abortPathsOf(a: AnalysisRef, startsAt: number): AbortPath[] {
  return a.metrics
    .filter((m) => m.failSeconds !== null)
    .map((m) => ({
      source: `${a.label} / ${m.name}`,
      atSeconds: startsAt + (m.failSeconds as number),
      rule: m.failRule,
    }));
}

/**
 * Replica counts once a step has settled (surge spent, old pods gone). With a traffic router the
 * canary gets ceil(N·w/max) and the stable keeps N (or shrinks with dynamicStableScale); without one,
 * traffic follows pod counts, so the split is the closest to w that Argo's
 * approximateWeightedCanaryStableReplicaCounts can make, using one extra pod when maxSurge allows.
 */
export function settledReplicas(
  n: number,
  weight: number,
  maxWeight: number,
  opts: { router: boolean; dynamicStableScale: boolean; surge: boolean; canaryScale?: number },
): { canary: number; stable: number } {
  if (opts.router) {
    const canary = opts.canaryScale ?? Math.ceil((n * weight) / maxWeight);
    const stable = opts.dynamicStableScale ? Math.ceil((n * (maxWeight - weight)) / maxWeight) : n;
    return { canary: Math.min(canary, n), stable };
  }
  if (weight <= 0) return { canary: 0, stable: n };
  if (weight >= maxWeight) return { canary: n, stable: 0 };
  const exact = (n * weight) / maxWeight;
  const up = Math.ceil(exact);
  const down = Math.floor(exact);
  const zeroAllowed = n === 1 && !opts.surge;
  const candidates: { canary: number; total: number }[] = [];
  if (up < n || zeroAllowed) candidates.push({ canary: up, total: n });
  if (!Number.isInteger(exact * 2) || Number.isInteger(exact)) {
    if (down !== 0 || zeroAllowed) candidates.push({ canary: down, total: n });
  }
  if (opts.surge) {
    candidates.push({ canary: up, total: n + 1 });
    const exact1 = ((n + 1) * weight) / maxWeight;
    if ((!Number.isInteger(exact1 * 2) || Number.isInteger(exact1)) && down !== 0)
      candidates.push({ canary: down, total: n + 1 });
  }
  if (candidates.length === 0) candidates.push({ canary: up, total: n });
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) {
    if (
      Math.abs((c.canary * maxWeight) / c.total - weight) <
      Math.abs((best.canary * maxWeight) / best.total - weight)
    )
      best = c;
  }
  return { canary: best.canary, stable: best.total - best.canary };
}

function isZeroIntOrPercent(v: unknown): boolean {
  return v === 0 || v === '0' || v === '0%';
}

function planRollout(ro: ManifestObject, others: readonly ManifestObject[]): Plan {
  const spec = obj(ro.spec);
  const n = num(spec.replicas) ?? 1;
  const strategy = obj(spec.strategy);
  const name = `Rollout/${ro.metadata?.name ?? ''}`;
  const notes: string[] = [];
  if (strategy.blueGreen) return planBlueGreen(name, n, obj(strategy.blueGreen), others);

  const canary = obj(strategy.canary);
  const router = Object.keys(obj(canary.trafficRouting)).length > 0;
  const tr = obj(canary.trafficRouting);
  const maxWeight = num(tr.maxTrafficWeight) ?? 100;
  const dynamicStableScale = canary.dynamicStableScale === true;
  // Defaults are 25% each; only an explicit 0 for maxSurge turns surge off.
  const surge = !isZeroIntOrPercent(canary.maxSurge ?? '25%');
  const steps = arr(canary.steps).map(obj);
  const background = canary.analysis
    ? resolveAnalysis(obj(canary.analysis), others, 'background analysis')
    : undefined;
  const bgStart = num(obj(canary.analysis).startingStep) ?? 0;
  for (const a of background ? [background] : [])
    for (const m of a.missing) notes.push(`${m} is not in the given files; its timing is unknown`);

  const out: PlanStep[] = [];
  const abortPaths: AbortPath[] = [];
  let weight = 0;
  let t = 0;
  let canaryScale: number | undefined;
  let manualGates = 0;
  let bgStartsAt: number | undefined;
  steps.forEach((step, index) => {
    if (background && index === bgStart) bgStartsAt = t;
    let action = Object.keys(step)[0] ?? 'unknown';
    let description = action;
    let seconds: number | null = 0;
    const analyses: string[] = [];
    if (step.setWeight !== undefined) {
      action = 'setWeight';
      weight = num(step.setWeight) ?? weight;
      description = `set canary weight to ${weight}%`;
    } else if (step.pause !== undefined) {
      action = 'pause';
      const d = secondsOf(obj(step.pause).duration);
      if (d === undefined) {
        seconds = null;
        manualGates++;
        description = 'pause until promoted (no duration)';
      } else {
        seconds = d;
        description = `pause ${formatSeconds(d)}`;
      }
    } else if (step.analysis !== undefined) {
      action = 'analysis';
      const a = resolveAnalysis(obj(step.analysis), others, `step ${index} analysis`);
      for (const m of a.missing)
        notes.push(`${m} (step ${index}) is not in the given files; its timing is unknown`);
      seconds = analysisSeconds(a);
      if (seconds === null) {
        notes.push(
          `step ${index}: an analysis metric has an interval and no count, so the step never completes by itself`,
        );
        manualGates++;
      }
      analyses.push(a.label);
      abortPaths.push(...abortPathsOf(a, t));
      description = `run analysis ${arr(obj(step.analysis).templates)
        .map((x) => str(obj(x).templateName))
        .join(', ')}`;
    } else if (step.experiment !== undefined) {
      action = 'experiment';
      const d = goSeconds(obj(step.experiment).duration);
      seconds = d ?? null;
      if (d === undefined) manualGates++;
      description =
        d === undefined
          ? 'experiment (runs until its analyses finish)'
          : `experiment for ${formatSeconds(d)}`;
    } else if (step.setCanaryScale !== undefined) {
      action = 'setCanaryScale';
      const cs = obj(step.setCanaryScale);
      if (cs.matchTrafficWeight === true) canaryScale = undefined;
      else if (num(cs.replicas) !== undefined) canaryScale = num(cs.replicas);
      else if (num(cs.weight) !== undefined) canaryScale = Math.ceil((n * (num(cs.weight) as number)) / 100);
      description = `set canary scale ${JSON.stringify(cs)}`;
    } else if (step.setHeaderRoute !== undefined) {
      action = 'setHeaderRoute';
      description = `header route ${str(obj(step.setHeaderRoute).name) ?? ''}`;
    } else if (step.setMirrorRoute !== undefined) {
      action = 'setMirrorRoute';
      description = `mirror route ${str(obj(step.setMirrorRoute).name) ?? ''}`;
    } else if (step.plugin !== undefined) {
      action = 'plugin';
      description = `step plugin ${str(obj(step.plugin).name) ?? ''}`;
      seconds = null;
      manualGates++;
    }
    if (background && bgStartsAt !== undefined) analyses.unshift(background.label);
    const r = settledReplicas(n, weight, maxWeight, {
      router,
      dynamicStableScale,
      surge,
      ...(router && canaryScale !== undefined ? { canaryScale } : {}),
    });
    out.push({
      index,
      action,
      description,
      weight,
      seconds,
      startsAt: t,
      replicas: { canary: r.canary, stable: r.stable },
      analyses,
    });
    t += seconds ?? 0;
  });
  if (background) {
    if (bgStartsAt === undefined)
      notes.push(`background analysis startingStep ${bgStart} is past the last step; it never starts`);
    else abortPaths.push(...abortPathsOf(background, bgStartsAt));
  }
  if (!router)
    notes.push('no trafficRouting: traffic follows pod counts, so weights are approximated by replicas');
  return finish({
    object: name,
    dialect: 'argo',
    strategy: 'canary',
    replicas: n,
    steps: out,
    promotion: {
      description: 'all traffic and replicas to the new version; it becomes stable',
      weight: maxWeight,
    },
    manualGates,
    abortPaths,
    notes,
  });
}

function planBlueGreen(name: string, n: number, bg: Obj, others: readonly ManifestObject[]): Plan {
  const steps: PlanStep[] = [];
  const abortPaths: AbortPath[] = [];
  const notes: string[] = [];
  let t = 0;
  let manualGates = 0;
  const preview = num(bg.previewReplicaCount) ?? n;
  const push = (
    action: string,
    description: string,
    weight: number,
    seconds: number | null,
    replicas: Record<string, number>,
    analyses: string[] = [],
  ) => {
    steps.push({
      index: steps.length,
      action,
      description,
      weight,
      seconds,
      startsAt: t,
      replicas,
      analyses,
    });
    t += seconds ?? 0;
  };
  push(
    'preview',
    `start the new version with ${preview} replica(s) behind ${str(bg.previewService) ?? 'no preview service'}`,
    0,
    0,
    {
      active: n,
      preview,
    },
  );
  if (bg.prePromotionAnalysis) {
    const a = resolveAnalysis(obj(bg.prePromotionAnalysis), others, 'prePromotionAnalysis');
    for (const m of a.missing) notes.push(`${m} is not in the given files; its timing is unknown`);
    abortPaths.push(...abortPathsOf(a, t));
    push(
      'prePromotionAnalysis',
      'analyse the preview before switching',
      0,
      analysisSeconds(a),
      { active: n, preview },
      [a.label],
    );
  }
  const auto = bg.autoPromotionEnabled !== false;
  const autoSeconds = num(bg.autoPromotionSeconds);
  if (!auto) {
    manualGates++;
    push('promotionGate', 'wait for promote (autoPromotionEnabled: false)', 0, null, {
      active: n,
      preview: n,
    });
  } else if (autoSeconds !== undefined) {
    push('promotionGate', `wait ${formatSeconds(autoSeconds)} (autoPromotionSeconds)`, 0, autoSeconds, {
      active: n,
      preview: n,
    });
  }
  push('switch', `point ${str(bg.activeService) ?? 'the active service'} at the new version`, 100, 0, {
    active: n,
    previous: n,
  });
  if (bg.postPromotionAnalysis) {
    const a = resolveAnalysis(obj(bg.postPromotionAnalysis), others, 'postPromotionAnalysis');
    for (const m of a.missing) notes.push(`${m} is not in the given files; its timing is unknown`);
    abortPaths.push(...abortPathsOf(a, t));
    push(
      'postPromotionAnalysis',
      'analyse the new active version',
      100,
      analysisSeconds(a),
      { active: n, previous: n },
      [a.label],
    );
  }
  const delay = num(bg.scaleDownDelaySeconds) ?? 30;
  return finish({
    object: name,
    dialect: 'argo',
    strategy: 'blueGreen',
    replicas: n,
    steps,
    promotion: {
      description: `the previous version is scaled down ${delay}s later (scaleDownDelaySeconds)`,
      weight: 100,
    },
    manualGates,
    abortPaths,
    notes,
  });
}

// ---------------------------------------------------------------------------------------------
// Flagger

function planCanary(cd: ManifestObject, others: readonly ManifestObject[]): Plan {
  const spec = obj(cd.spec);
  const name = `Canary/${cd.metadata?.name ?? ''}`;
  const analysis = obj(getAnalysis(cd));
  const notes: string[] = [];
  const interval = analysisInterval(cd);
  const threshold = analysisThreshold(cd);
  const iterations = analysisIterations(cd);
  const provider = str(spec.provider) ?? '';
  const strategy: Plan['strategy'] = deploymentStrategy(cd);

  const targetRef = obj(spec.targetRef);
  const ns = cd.metadata?.namespace;
  const sameNs = (o: ManifestObject) => !ns || !o.metadata?.namespace || o.metadata.namespace === ns;
  const target = others.find(
    (o) => o.kind === str(targetRef.kind) && o.metadata?.name === str(targetRef.name) && sameNs(o),
  );
  let n = num(obj(target?.spec).replicas) ?? 1;
  const hpaRef = obj(spec.autoscalerRef);
  const hpa = others.find(
    (o) => o.kind === str(hpaRef.kind) && o.metadata?.name === str(hpaRef.name) && sameNs(o),
  );
  if (hpa) n = num(obj(hpa.spec).minReplicas) ?? n;
  if (!target)
    notes.push(
      `${str(targetRef.kind) ?? 'target'}/${str(targetRef.name) ?? ''} is not in the given files; assuming ${n} replica(s)`,
    );
  if (analysis.interval === undefined) notes.push('analysis.interval is not set: Flagger uses 60s');

  const checks = [
    ...arr(analysis.metrics).map((m) => `metric ${str(obj(m).name) ?? ''}`),
    ...arr(analysis.webhooks)
      .map(obj)
      .filter((w) => (str(w.type) ?? 'rollout') === 'rollout')
      .map((w) => `webhook ${str(w.name) ?? ''}`),
  ];
  const steps: PlanStep[] = [];
  let t = 0;
  const push = (action: string, description: string, weight: number, replicas: Record<string, number>) => {
    steps.push({
      index: steps.length,
      action,
      description,
      weight,
      seconds: interval,
      startsAt: t,
      replicas,
      analyses: checks,
    });
    t += interval;
  };
  if (skipAnalysis(cd)) {
    notes.push('analysis is skipped: the new version is promoted at once');
  } else if (strategy === 'canary') {
    const ladder = weightLadder(cd);
    if (ladder.length === 0) notes.push('stepWeight is 0 or missing: the canary never advances');
    if (analysis.mirror === true)
      push('mirror', 'mirror traffic to the canary (weight 0)', 0, { primary: n, canary: n });
    for (const w of ladder) push('weight', `canary weight ${w}%`, w, { primary: n, canary: n });
  } else {
    for (let i = 1; i <= iterations; i++) {
      push(
        'iteration',
        strategy === 'ab-testing'
          ? `iteration ${i}: matching requests go to the canary`
          : `iteration ${i}: test the canary (no live traffic)`,
        0,
        { primary: n, canary: n },
      );
    }
    if (strategy === 'blue-green' && iterations > 0 && provider !== 'kubernetes')
      notes.push('after the iterations, live traffic moves to the canary for one interval before promotion');
  }
  const abortPaths: AbortPath[] =
    steps.length > 0 && checks.length > 0
      ? [
          {
            source: 'failed checks',
            atSeconds: interval * threshold,
            rule: `${threshold} failed check(s) (threshold ${threshold}, one check per ${formatSeconds(interval)} interval)`,
          },
        ]
      : [];
  if (steps.length > 0)
    notes.push(
      `Flagger also spends one interval detecting the change and about two more promoting and finalising; these are not counted`,
    );
  return finish({
    object: name,
    dialect: 'flagger',
    strategy,
    replicas: n,
    steps,
    promotion: {
      description:
        'the canary spec is copied to the primary, traffic returns to the primary, the canary is scaled to 0',
      weight: 100,
    },
    manualGates: arr(analysis.webhooks).filter((w) => str(obj(w).type)?.startsWith('confirm-')).length,
    abortPaths,
    notes,
  });
}

/**
 * The weights a Flagger canary passes through: Flagger adds nextStepWeight while the weight is below
 * maxWeight, clamping only at 100, so the last step may overshoot (stepWeight 20, maxWeight 50: 20, 40, 60).
 */
export function weightLadder(canary: unknown): number[] {
  const max = maxWeight(canary);
  const out: number[] = [];
  let w = 0;
  while (w < max && out.length < 1000) {
    const step = nextStepWeight(canary, w);
    if (step <= 0) break; // a zero step stalls the canary
    w = Math.min(100, w + step);
    out.push(w);
  }
  return out;
}

function finish(p: Omit<Plan, 'minTotalSeconds' | 'earliestAbortSeconds'>): Plan {
  const minTotalSeconds = p.steps.reduce((s, x) => s + (x.seconds ?? 0), 0);
  const sorted = [...p.abortPaths].sort((a, b) => a.atSeconds - b.atSeconds);
  return { ...p, abortPaths: sorted, minTotalSeconds, earliestAbortSeconds: sorted[0]?.atSeconds ?? null };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${+s.toFixed(3)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = +(s % 60).toFixed(3);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
}
