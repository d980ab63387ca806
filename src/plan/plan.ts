/**
 * `vireo plan`: a release as a timeline, computed from the manifests alone (pure; no clock, no I/O).
 * For each step: the canary's traffic weight, replica counts per version, how long the step lasts at
 * least, which analyses run; then the minimum time to full promotion and the earliest time a failing
 * analysis can abort the release.
 *
 * Times assume every version becomes ready at once and every check passes (or, for the abort time,
 * fails) at its first chance; real releases add pod start-up and router latency.
 */
import { effectiveCount, type Metric, metricDefaults } from '../api/argo/analysis.js';
import { metricNameMatches, readIntField } from '../api/argo/analysis-rules.js';
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
  webhookType,
} from '../api/flagger/canary-defaults.js';
import type { ManifestObject } from '../api/kind.js';
import { approximateWeightedCounts, trafficWeightToReplicas } from '../engine/replicas.js';

/**
 * Flagger iterations and weight steps are listed one by one up to this many; the rest are folded into
 * one step (so `iterations: 100000000` neither exhausts memory nor loses time in minTotalSeconds).
 */
export const MAX_ITEMIZED_STEPS = 100;

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
  /** The weight as written: Argo's setWeight in units of `trafficRouting.maxTrafficWeight` (default
   * 100). Equal to `weight` wherever the scale is 100 (Flagger, blue/green, no maxTrafficWeight). */
  weightUnits: number;
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
  /** What happens after the last step; `weight` in percent. */
  promotion: { description: string; weight: number };
  /** Sum of the steps' least durations; steps that wait for a person count 0 (see manualGates). */
  minTotalSeconds: number;
  /** Steps that wait for `promote` (or an approval) before the release can go on. */
  manualGates: number;
  /** The earliest moment a failing analysis aborts the release, or null when nothing known can abort it
   * (see missingTemplates: null with missing templates means unknown, not never). */
  earliestAbortSeconds: number | null;
  abortPaths: AbortPath[];
  /** Analysis templates the release refers to that are not in the given files (`Kind/name`): their
   * timing and abort paths are unknown. */
  missingTemplates: string[];
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

export interface MetricTiming {
  name: string;
  /** Least seconds until the metric can succeed; null when it never ends by itself. */
  successSeconds: number | null;
  /** Seconds after the analysis starts at which enough failures fail it; null if it cannot fail. */
  failSeconds: number | null;
  failRule: string;
  /** Measurements the metric takes (Argo `EffectiveCount`); null when unbounded (an interval and no
   * count, or count 0) or when the count is not known (countKnown false). */
  count: number | null;
  /** False when count holds a placeholder no arg resolves, or is not an integer. */
  countKnown: boolean;
  /** Seconds between two measurements, when an interval is set. */
  intervalSeconds: number | undefined;
  /** Why the timing is only a lower bound: a `{{args.x}}` no arg resolves, a value that is not an integer. */
  unknown?: string;
  /** A dry-run metric (Rollout `dryRun` or template `spec.dryRun`): measured, but it never fails the
   * analysis, so it never aborts the release. */
  dryRun: boolean;
}

const ARG_PLACEHOLDER = /\{\{\s*args\.([^\s{}]+)\s*\}\}/g;

/**
 * Timing of one metric of an AnalysisTemplate, from interval, count, initialDelay and limits, after
 * substituting `{{args.x}}` from `args`. The count is Argo's `EffectiveCount`: count 0 or unset is one
 * measurement without an interval and unbounded with one; a string count ("60") is read as an integer.
 */
export function metricTiming(metric: Obj, args: Record<string, string> = {}): MetricTiming {
  const name = str(metric.name) ?? '(metric)';
  const problems: string[] = [];
  const resolve = (field: string, v: unknown): unknown => {
    if (typeof v !== 'string' || !v.includes('{{')) return v;
    const s = v.replace(ARG_PLACEHOLDER, (all, a: string) => args[a] ?? all);
    if (!s.includes('{{')) return s;
    problems.push(`${field} ${JSON.stringify(v)} is not resolved by the given args`);
    return undefined;
  };
  const withDefaults = metricDefaults(metric as unknown as Metric) as unknown as Obj;
  const intInField = (field: string): number | undefined => {
    const f = readIntField(resolve(field, withDefaults[field]));
    if (f.kind === 'int') return f.value;
    if (f.kind === 'invalid')
      problems.push(`${field} ${JSON.stringify(withDefaults[field])} is not an integer`);
    return undefined;
  };
  const intervalText = resolve('interval', metric.interval);
  const interval = goSeconds(intervalText);
  const initialDelay = goSeconds(resolve('initialDelay', metric.initialDelay)) ?? 0;
  const before = problems.length;
  const written = intInField('count');
  const countKnown = problems.length === before;
  // Argo EffectiveCount; an unresolved interval still counts as "has an interval".
  const count = countKnown
    ? effectiveCount({ count: written, interval: str(intervalText) ?? str(metric.interval) })
    : undefined;
  const failureLimit = intInField('failureLimit') ?? 0;
  const successLimit = intInField('consecutiveSuccessLimit') ?? 0;
  const at = (k: number) => initialDelay + k * (interval ?? 0); // time of the (k+1)-th measurement

  let successSeconds: number | null;
  if (!countKnown)
    successSeconds = at(Math.max(0, successLimit - 1)); // at least one measurement
  else if (count === undefined) successSeconds = successLimit > 0 ? at(successLimit - 1) : null;
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
  return {
    name,
    successSeconds,
    failSeconds,
    failRule,
    count: count ?? null,
    countKnown,
    intervalSeconds: interval,
    ...(problems.length > 0 ? { unknown: problems.join('; ') } : {}),
    dryRun: false,
  };
}

export interface AnalysisMetrics {
  metrics: MetricTiming[];
  /** Templates that were not found in the files (`Kind/name`). */
  missing: string[];
}

/**
 * The metrics an analysis runs (a Rollout's step, background or blue/green analysis, or an experiment's
 * analysis written as `{templates, args, dryRun}`), timed with the args Argo would pass: the analysis's
 * own `value` args first, then the templates' arg defaults. Nested templates are flattened as Argo
 * does, and a metric is a dry run when any `dryRun[].metricName` of the analysis or of a template
 * matches its name (`metricNameMatches`, Argo's regular-expression match).
 */
export function analysisMetrics(analysis: unknown, others: readonly ManifestObject[]): AnalysisMetrics {
  const a = obj(analysis);
  const args: Record<string, string> = {};
  for (const arg of arr(a.args)) {
    const ao = obj(arg);
    const n = str(ao.name);
    const v = str(ao.value);
    if (n && v !== undefined) args[n] = v;
  }
  const metricObjs: Obj[] = [];
  const dryRun: unknown[] = [...arr(a.dryRun)];
  const missing: string[] = [];
  const seen = new Set<string>();
  const addTemplate = (name: string, cluster: boolean, depth: number) => {
    const kind = cluster ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
    if (seen.has(`${kind}/${name}`) || depth > 10) return;
    seen.add(`${kind}/${name}`);
    const t = others.find((o) => o.kind === kind && o.metadata?.name === name);
    if (!t) {
      missing.push(`${kind}/${name}`);
      return;
    }
    const spec = obj(t.spec);
    for (const arg of arr(spec.args)) {
      const ao = obj(arg);
      const n = str(ao.name);
      const v = str(ao.value);
      if (n && args[n] === undefined && v !== undefined) args[n] = v;
    }
    metricObjs.push(...arr(spec.metrics).map(obj));
    dryRun.push(...arr(spec.dryRun));
    for (const nested of arr(spec.templates)) {
      const no = obj(nested);
      const tn = str(no.templateName);
      if (tn) addTemplate(tn, no.clusterScope === true, depth + 1);
    }
  };
  for (const t of arr(a.templates)) {
    const to = obj(t);
    const tn = str(to.templateName);
    if (tn) addTemplate(tn, to.clusterScope === true, 0);
  }
  const patterns = dryRun.map((d) => str(obj(d).metricName)).filter((p): p is string => !!p);
  const metrics = metricObjs.map((m) => {
    const timing = metricTiming(m, args);
    timing.dryRun = patterns.some((p) => metricNameMatches(p, timing.name));
    return timing;
  });
  return { metrics, missing };
}

interface AnalysisRef extends AnalysisMetrics {
  label: string;
}

function resolveAnalysis(analysis: unknown, others: readonly ManifestObject[], label: string): AnalysisRef {
  return { label, ...analysisMetrics(analysis, others) };
}

/** Notes on an analysis: missing templates, dry-run metrics, metrics timed as a lower bound. */
function analysisNotes(a: AnalysisRef): string[] {
  return [
    ...a.missing.map(
      (m) => `${m} (${a.label}) is not in the given files; its timing and abort paths are unknown`,
    ),
    ...a.metrics
      .filter((m) => m.dryRun)
      .map((m) => `${a.label} / ${m.name} runs in dry-run mode: it is measured but never aborts the release`),
    ...a.metrics
      .filter((m) => m.unknown)
      .map((m) => `${a.label} / ${m.name}: ${m.unknown}; its timing is a lower bound`),
  ];
}

/** How long an analysis takes at least to succeed: its slowest metric (dry runs included: the run
 * waits for them too). */
function analysisSeconds(a: AnalysisRef): number | null {
  let max = 0;
  for (const m of a.metrics) {
    if (m.successSeconds === null) return null;
    max = Math.max(max, m.successSeconds);
  }
  return max;
}

/** Abort paths of an analysis that starts at `startsAt`; with `until`, only failures that can come
 * within that many seconds (an experiment that completes terminates its analyses). */
function abortPathsOf(a: AnalysisRef, startsAt: number, until: number | null = null): AbortPath[] {
  return a.metrics
    .filter((m) => m.failSeconds !== null && !m.dryRun && (until === null || m.failSeconds <= until))
    .map((m) => ({
      source: `${a.label} / ${m.name}`,
      atSeconds: startsAt + (m.failSeconds as number),
      rule: m.failRule,
    }));
}

/**
 * Replica counts once a step has settled (surge spent, old pods gone). With a traffic router the
 * canary gets ceil(N·w/max) and the stable keeps N (or shrinks with dynamicStableScale), and
 * `minPodsPerReplicaSet` raises every non-zero count to itself, capped at N (Argo
 * `CheckMinPodsPerReplicaSet`; on the stable only with dynamicStableScale). Without a router, traffic
 * follows pod counts, so the split is the closest to w that Argo's
 * approximateWeightedCanaryStableReplicaCounts can make, using one extra pod when maxSurge allows.
 * `weight` and `maxWeight` are in the same units (`trafficRouting.maxTrafficWeight`, default 100).
 */
export function settledReplicas(
  n: number,
  weight: number,
  maxWeight: number,
  opts: {
    router: boolean;
    dynamicStableScale: boolean;
    surge: boolean;
    canaryScale?: number;
    minPodsPerReplicaSet?: number;
  },
): { canary: number; stable: number } {
  if (n <= 0) return { canary: 0, stable: 0 };
  if (opts.router) {
    const minPods = (c: number) =>
      c === 0 || opts.minPodsPerReplicaSet === undefined
        ? c
        : Math.max(c, Math.min(opts.minPodsPerReplicaSet, n));
    // Argo applies the floor to an explicit setCanaryScale.replicas only with dynamicStableScale.
    const canary = Math.min(opts.canaryScale ?? minPods(trafficWeightToReplicas(n, weight, maxWeight)), n);
    if (!opts.dynamicStableScale) return { canary, stable: n };
    return {
      canary: Math.min(minPods(canary), n),
      stable: minPods(trafficWeightToReplicas(n, maxWeight - weight, maxWeight)),
    };
  }
  return approximateWeightedCounts(n, weight, maxWeight, opts.surge ? 1 : 0);
}

function isZeroIntOrPercent(v: unknown): boolean {
  return v === 0 || v === '0' || v === '0%';
}

function planRollout(ro: ManifestObject, others: readonly ManifestObject[]): Plan {
  const spec = obj(ro.spec);
  const n = Math.max(0, num(spec.replicas) ?? 1);
  const strategy = obj(spec.strategy);
  const name = `Rollout/${ro.metadata?.name ?? ''}`;
  const notes: string[] = [];
  if (strategy.blueGreen) return planBlueGreen(name, n, obj(strategy.blueGreen), others);

  const canary = obj(strategy.canary);
  const tr = obj(canary.trafficRouting);
  const router = Object.keys(tr).length > 0;
  // setWeight and setCanaryScale.weight are in units of maxTrafficWeight; PlanStep.weight is percent.
  const maxTrafficWeight =
    router && (num(tr.maxTrafficWeight) ?? 0) > 0 ? (num(tr.maxTrafficWeight) as number) : 100;
  const percent = (units: number) => Math.round((units * 100_000) / maxTrafficWeight) / 1000;
  const dynamicStableScale = canary.dynamicStableScale === true;
  const minPodsPerReplicaSet = num(canary.minPodsPerReplicaSet);
  // Defaults are 25% each; only an explicit 0 for maxSurge turns surge off.
  const surge = !isZeroIntOrPercent(canary.maxSurge ?? '25%');
  const steps = arr(canary.steps).map(obj);
  const missing = new Set<string>();
  const background = canary.analysis
    ? resolveAnalysis(obj(canary.analysis), others, 'background analysis')
    : undefined;
  const bgStart = num(obj(canary.analysis).startingStep) ?? 0;
  if (background) {
    notes.push(...analysisNotes(background));
    for (const m of background.missing) missing.add(m);
  }
  if (maxTrafficWeight !== 100)
    notes.push(
      `maxTrafficWeight ${maxTrafficWeight}: setWeight N sends N/${maxTrafficWeight} of the traffic`,
    );

  const out: PlanStep[] = [];
  const abortPaths: AbortPath[] = [];
  let weight = 0; // in units of maxTrafficWeight
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
      description =
        maxTrafficWeight === 100
          ? `set canary weight to ${weight}%`
          : `set canary weight to ${weight}/${maxTrafficWeight} (${percent(weight)}%)`;
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
      notes.push(...analysisNotes(a));
      for (const m of a.missing) missing.add(m);
      seconds = analysisSeconds(a);
      if (seconds === null) {
        notes.push(
          `step ${index}: an analysis metric has an interval and no count (or count 0), so the step never completes by itself`,
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
      const ex = obj(step.experiment);
      const duration = goSeconds(ex.duration);
      // Each experiment analysis is its own AnalysisRun of one template; the step's dryRun applies to all.
      const runs = arr(ex.analyses)
        .map(obj)
        .map((ea, k) => {
          const ref = resolveAnalysis(
            {
              templates: [{ templateName: ea.templateName, clusterScope: ea.clusterScope }],
              args: ea.args,
              dryRun: ex.dryRun,
            },
            others,
            `step ${index} experiment analysis ${str(ea.name) ?? k}`,
          );
          return { ref, name: str(ea.name) ?? String(k), required: ea.requiredForCompletion === true };
        });
      // Argo (docs/features/experiment.md, "Experiment Lifecycle"): the experiment completes after
      // `duration`, but not before every requiredForCompletion analysis has completed; with neither it
      // runs until it is terminated. A failed or errored analysis ends it as Failed, and the rollout
      // aborts.
      const required = runs.filter((r) => r.required);
      let ends: number | null = duration ?? null;
      if (required.length > 0) {
        const times = required.map((r) => analysisSeconds(r.ref));
        ends = times.includes(null) ? null : Math.max(duration ?? 0, ...(times as number[]));
      }
      seconds = ends;
      const requiredNames = required.map((r) => r.name).join(', ');
      if (ends === null) {
        manualGates++;
        notes.push(
          required.length > 0
            ? `step ${index}: a requiredForCompletion analysis has a metric with an interval and no count, so the experiment never completes by itself`
            : `step ${index}: the experiment has no duration and no requiredForCompletion analysis, so it runs until it is terminated or the rollout is promoted`,
        );
        description =
          required.length > 0
            ? `experiment until ${requiredNames} complete(s) (never by itself)`
            : 'experiment until terminated (no duration, no requiredForCompletion analysis)';
      } else if (required.length > 0) {
        description = `experiment until ${requiredNames} complete(s)${duration !== undefined ? `, at least ${formatSeconds(duration)}` : ''}`;
      } else {
        description = `experiment for ${formatSeconds(ends)}`;
      }
      for (const r of runs) {
        notes.push(...analysisNotes(r.ref));
        for (const m of r.ref.missing) missing.add(m);
        analyses.push(r.ref.label);
        abortPaths.push(...abortPathsOf(r.ref, t, ends));
      }
    } else if (step.setCanaryScale !== undefined) {
      action = 'setCanaryScale';
      const cs = obj(step.setCanaryScale);
      if (cs.matchTrafficWeight === true) canaryScale = undefined;
      else if (num(cs.replicas) !== undefined) canaryScale = num(cs.replicas);
      else if (num(cs.weight) !== undefined)
        canaryScale = Math.ceil((n * (num(cs.weight) as number)) / maxTrafficWeight);
      description = `set canary scale ${JSON.stringify(cs)}`;
    } else if (step.setHeaderRoute !== undefined) {
      action = 'setHeaderRoute';
      description = `header route ${str(obj(step.setHeaderRoute).name) ?? ''}`;
    } else if (step.setMirrorRoute !== undefined) {
      action = 'setMirrorRoute';
      description = `mirror route ${str(obj(step.setMirrorRoute).name) ?? ''}`;
    } else if (step.plugin !== undefined) {
      // The step waits for the plugin to report Successful (or Failed, which aborts), not for a person.
      action = 'plugin';
      const plugin = str(obj(step.plugin).name) ?? '';
      description = `step plugin ${plugin} (waits for the plugin)`;
      notes.push(
        `step ${index}: step plugin ${plugin} decides how long it runs, counted as 0s; if it fails, the release aborts`,
      );
    }
    if (background && bgStartsAt !== undefined) analyses.unshift(background.label);
    const r = settledReplicas(n, weight, maxTrafficWeight, {
      router,
      dynamicStableScale,
      surge,
      ...(router && canaryScale !== undefined ? { canaryScale } : {}),
      ...(minPodsPerReplicaSet !== undefined ? { minPodsPerReplicaSet } : {}),
    });
    out.push({
      index,
      action,
      description,
      weight: percent(weight),
      weightUnits: weight,
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
      weight: 100,
    },
    manualGates,
    abortPaths,
    missingTemplates: [...missing],
    notes,
  });
}

function planBlueGreen(name: string, n: number, bg: Obj, others: readonly ManifestObject[]): Plan {
  const steps: PlanStep[] = [];
  const abortPaths: AbortPath[] = [];
  const notes: string[] = [];
  const missing = new Set<string>();
  let t = 0;
  let manualGates = 0;
  // The preview keeps previewReplicaCount until promotion; promoting scales it to full, then switches.
  const preview = Math.max(0, num(bg.previewReplicaCount) ?? n);
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
      weightUnits: weight,
      seconds,
      startsAt: t,
      replicas,
      analyses,
    });
    t += seconds ?? 0;
  };
  const analysis = (field: 'prePromotionAnalysis' | 'postPromotionAnalysis') => {
    const a = resolveAnalysis(obj(bg[field]), others, field);
    notes.push(...analysisNotes(a));
    for (const m of a.missing) missing.add(m);
    abortPaths.push(...abortPathsOf(a, t));
    return a;
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
    const a = analysis('prePromotionAnalysis');
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
    push('promotionGate', 'wait for promote (autoPromotionEnabled: false)', 0, null, { active: n, preview });
  } else if (autoSeconds !== undefined) {
    push('promotionGate', `wait ${formatSeconds(autoSeconds)} (autoPromotionSeconds)`, 0, autoSeconds, {
      active: n,
      preview,
    });
  }
  push(
    'switch',
    `scale the new version to ${n} and point ${str(bg.activeService) ?? 'the active service'} at it`,
    100,
    0,
    {
      active: n,
      previous: n,
    },
  );
  if (bg.postPromotionAnalysis) {
    const a = analysis('postPromotionAnalysis');
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
    missingTemplates: [...missing],
    notes,
  });
}

// ---------------------------------------------------------------------------------------------
// Flagger

/**
 * A Flagger canary as a timeline. t = 0 is the first analysis tick: the tick after the one on which
 * Flagger detected the new revision and switched to Progressing (that detection tick is not counted;
 * see the note). On every tick Flagger first calls the `rollback` webhooks, then checks
 * `failedChecks >= threshold`, then runs this tick's checks (flagger.md §2, steps 19, 22, 23):
 * - the first analysis tick (weight 0, no iteration yet) runs only the `pre-rollout` webhooks; if they
 *   pass it sets the first weight (or iteration) without running metrics or `rollout` webhooks;
 * - every later tick runs the `rollout` webhooks and the metrics on the weight set one tick earlier;
 * - each failing tick adds one failed check and ends the tick without advancing.
 * So a pre-rollout webhook that always fails fails on ticks 0 … threshold−1 and the canary is rolled
 * back at the start of tick `threshold`, t = interval × threshold; a failing metric or rollout webhook
 * first fails on tick 1, so the rollback comes at t = interval × (threshold + 1); a rollback webhook
 * that answers 2xx rolls back on tick 0.
 */
function planCanary(cd: ManifestObject, others: readonly ManifestObject[]): Plan {
  const spec = obj(cd.spec);
  const name = `Canary/${cd.metadata?.name ?? ''}`;
  const analysis = obj(getAnalysis(cd));
  const notes: string[] = [];
  const interval = analysisInterval(cd);
  const threshold = analysisThreshold(cd);
  const iterations = Math.floor(analysisIterations(cd));
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

  const webhooks = arr(analysis.webhooks).map(obj);
  const hooks = (type: string) =>
    webhooks.filter((w) => webhookType(w) === type).map((w) => str(w.name) ?? '');
  const preRollout = hooks('pre-rollout');
  const rollbackHooks = hooks('rollback');
  // Checks of every tick after the first: rollout webhooks, then metrics.
  const checks = [
    ...hooks('rollout').map((w) => `webhook ${w}`),
    ...arr(analysis.metrics).map((m) => `metric ${str(obj(m).name) ?? ''}`),
  ];
  const steps: PlanStep[] = [];
  let t = 0;
  const push = (
    action: string,
    description: string,
    weight: number,
    replicas: Record<string, number>,
    seconds = interval,
  ) => {
    steps.push({
      index: steps.length,
      action,
      description,
      weight,
      weightUnits: weight,
      seconds,
      startsAt: t,
      replicas,
      // The first step starts on the first analysis tick, which runs the pre-rollout webhooks.
      analyses:
        steps.length === 0 ? [...preRollout.map((w) => `pre-rollout webhook ${w}`), ...checks] : checks,
    });
    t += seconds;
  };
  if (skipAnalysis(cd)) {
    notes.push('analysis is skipped: the new version is promoted at once');
  } else if (strategy === 'canary') {
    const ladder = weightSteps(cd, MAX_ITEMIZED_STEPS);
    if (ladder.weights.length === 0) notes.push('stepWeight is 0 or missing: the canary never advances');
    else if (analysis.mirror === true)
      push('mirror', 'mirror traffic to the canary (weight 0)', 0, { primary: n, canary: n });
    for (const w of ladder.weights) push('weight', `canary weight ${w}%`, w, { primary: n, canary: n });
    if (ladder.rest) {
      const { count, to } = ladder.rest;
      const first = ladder.weights.length + 1;
      push(
        'weight',
        `weights ${first}–${first + count - 1}: the canary weight keeps rising each interval, up to ${to}%`,
        to,
        { primary: n, canary: n },
        interval * count,
      );
    }
    if (ladder.stalls) notes.push(`maxWeight ${maxWeight(cd)} is above 100: the canary never reaches it`);
  } else {
    const shown = Math.min(iterations, MAX_ITEMIZED_STEPS);
    const what =
      strategy === 'ab-testing' ? 'matching requests go to the canary' : 'test the canary (no live traffic)';
    for (let i = 1; i <= shown; i++)
      push('iteration', `iteration ${i}: ${what}`, 0, { primary: n, canary: n });
    if (iterations > shown)
      push(
        'iteration',
        `iterations ${shown + 1}–${iterations}: ${what}`,
        0,
        { primary: n, canary: n },
        interval * (iterations - shown),
      );
    if (strategy === 'blue-green' && iterations > 0 && provider !== 'kubernetes')
      notes.push('after the iterations, live traffic moves to the canary for one interval before promotion');
  }
  const abortPaths: AbortPath[] = [];
  if (!skipAnalysis(cd)) {
    const every = formatSeconds(interval);
    if (rollbackHooks.length > 0)
      abortPaths.push({
        source: `rollback webhook ${rollbackHooks.join(', ')}`,
        atSeconds: 0,
        rule: 'a rollback webhook answers 2xx (Flagger calls them at the start of every tick while Progressing)',
      });
    if (preRollout.length > 0)
      abortPaths.push({
        source: `pre-rollout webhook ${preRollout.join(', ')}`,
        atSeconds: interval * threshold,
        rule: `${threshold} failed check(s) (threshold ${threshold}): the pre-rollout webhooks are called from the first tick on, one call per ${every} interval, until they pass`,
      });
    // Metrics and rollout webhooks run only once the first tick has set a weight or iteration.
    if (checks.length > 0 && steps.length > 0)
      abortPaths.push({
        source: 'failed checks',
        atSeconds: interval * (threshold + 1),
        rule: `${threshold} failed check(s) (threshold ${threshold}, one check per ${every} interval from the second tick on)`,
      });
  }
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
    manualGates: webhooks.filter((w) => webhookType(w).startsWith('confirm-')).length,
    abortPaths,
    missingTemplates: [],
    notes,
  });
}

export interface WeightSteps {
  /** The first weights, one per interval (at most the limit asked for). */
  weights: number[];
  /** The steps after those: how many, and the weight they end at. */
  rest?: { count: number; to: number };
  /** maxWeight is above 100: the weight stops at 100 and never reaches it. */
  stalls?: boolean;
}

/**
 * The weights a Flagger canary passes through: Flagger adds nextStepWeight while the weight is below
 * maxWeight, clamping only at 100, so the last step may overshoot (stepWeight 20, maxWeight 50: 20, 40, 60).
 * Lists at most `limit` weights; the rest is counted (in closed form for a fixed stepWeight).
 */
export function weightSteps(canary: unknown, limit = MAX_ITEMIZED_STEPS): WeightSteps {
  const max = maxWeight(canary);
  const weights: number[] = [];
  let w = 0;
  let step = 0;
  while (w < max && weights.length < limit) {
    step = nextStepWeight(canary, w);
    if (step <= 0) return { weights }; // a zero step stalls the canary
    if (w >= 100) return { weights, stalls: true };
    w = Math.min(100, w + step);
    weights.push(w);
  }
  if (w >= max) return { weights };
  if (w >= 100) return { weights, stalls: true };
  const fixed = num(obj(getAnalysis(canary)).stepWeight) ?? 0;
  if (fixed > 0) {
    // Closed form: the first k with w + k·step >= max (the tolerance absorbs floating-point drift).
    const count = Math.max(1, Math.ceil((max - w) / fixed - 1e-9));
    const to = Math.min(100, w + count * fixed);
    return { weights, rest: { count, to }, ...(max > 100 ? { stalls: true } : {}) };
  }
  // A stepWeights ladder: at most one step per entry, then one to 100.
  let count = 0;
  while (w < max) {
    step = nextStepWeight(canary, w);
    if (step <= 0 || w >= 100) break;
    w = Math.min(100, w + step);
    count++;
  }
  return count > 0 ? { weights, rest: { count, to: w } } : { weights };
}

/** The weights a Flagger canary passes through (the first 1000; see weightSteps). */
export function weightLadder(canary: unknown): number[] {
  return weightSteps(canary, 1000).weights;
}

function finish(p: Omit<Plan, 'minTotalSeconds' | 'earliestAbortSeconds'>): Plan {
  const minTotalSeconds = p.steps.reduce((s, x) => s + (x.seconds ?? 0), 0);
  const sorted = [...p.abortPaths].sort((a, b) => a.atSeconds - b.atSeconds);
  const notes = [...new Set(p.notes)];
  if (p.missingTemplates.length > 0)
    notes.push(
      sorted.length === 0
        ? `the earliest automatic abort is unknown: templates not in the given files: ${p.missingTemplates.join(', ')}`
        : `an abort may come earlier than computed: templates not in the given files: ${p.missingTemplates.join(', ')}`,
    );
  return {
    ...p,
    notes,
    abortPaths: sorted,
    minTotalSeconds,
    earliestAbortSeconds: sorted[0]?.atSeconds ?? null,
  };
}

/**
 * The "earliest automatic abort" line of a plan: a time, "never" when nothing can abort the release,
 * or "unknown" when nothing known can but templates are missing from the files.
 */
export function earliestAbortText(p: Plan): string {
  if (p.earliestAbortSeconds !== null)
    return `${formatSeconds(p.earliestAbortSeconds)} after the release starts`;
  if (p.missingTemplates.length > 0)
    return `unknown (templates not in the given files: ${p.missingTemplates.join(', ')})`;
  return 'never (no analysis can fail it)';
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${+s.toFixed(3)}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = +(s % 60).toFixed(3);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
}
