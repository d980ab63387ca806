/**
 * Warnings for traps users of Argo Rollouts and Flagger fall into: valid manifests that will not do
 * what their authors most likely meant. Pure: objects in, diagnostics out.
 */
import { type Diagnostic, warning } from '../api/diagnostics.js';
import { analysisInterval } from '../api/flagger/canary-defaults.js';
import type { ManifestObject } from '../api/kind.js';
import { analysisMetrics, formatSeconds, planFor, weightLadder } from '../plan/plan.js';

/** Seed 004: a statistical judgement needs at least 50 data points per metric per step. */
export const MIN_DATA_POINTS = 50;
/** Seed 004 recommends a first canary step of 5-10 % of traffic. */
export const FIRST_WEIGHT_RANGE = { min: 5, max: 10 } as const;

export interface TrapOptions {
  /** Seconds between two samples of the monitoring system (Prometheus scrape interval), for Flagger. */
  scrapeIntervalSeconds?: number;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Traps in `targets`; `context` holds the objects they may refer to (templates, Deployments). */
export function findTraps(
  targets: readonly ManifestObject[],
  opts: TrapOptions = {},
  context: readonly ManifestObject[] = targets,
): Diagnostic[] {
  const objects = context;
  const out: Diagnostic[] = [];
  for (const o of targets) {
    try {
      if (o.apiVersion === 'argoproj.io/v1alpha1' && o.kind === 'Rollout')
        out.push(...rolloutTraps(o, objects));
      if (o.apiVersion === 'flagger.app/v1beta1' && o.kind === 'Canary') out.push(...canaryTraps(o, opts));
    } catch {
      // Traps are advice; a shape the schema already reported must not stop the others.
    }
  }
  return out;
}

/**
 * The first weight, judged as a share of traffic: `weight` is as written, in units of `scale` (Argo's
 * `trafficRouting.maxTrafficWeight`, default 100).
 */
function firstWeightTrap(weight: number, path: (string | number)[], scale = 100): Diagnostic[] {
  const percent = Math.round((weight * 100_000) / scale) / 1000;
  if (percent >= FIRST_WEIGHT_RANGE.min && percent <= FIRST_WEIGHT_RANGE.max) return [];
  const why =
    percent < FIRST_WEIGHT_RANGE.min
      ? 'so little traffic reaches the canary that a bad version takes long to show'
      : 'a bad version reaches many users before the first check';
  const share = scale === 100 ? `${percent}%` : `${weight}/${scale} (${percent}%)`;
  return [
    warning('lint/first-weight', path, `the first canary step sends ${share} of traffic: ${why}`, {
      value: weight,
      allowed:
        scale === 100
          ? `${FIRST_WEIGHT_RANGE.min}% to ${FIRST_WEIGHT_RANGE.max}% for the first step`
          : `${(FIRST_WEIGHT_RANGE.min * scale) / 100} to ${(FIRST_WEIGHT_RANGE.max * scale) / 100} (of maxTrafficWeight ${scale}) for the first step`,
    }),
  ];
}

function rolloutTraps(ro: ManifestObject, objects: readonly ManifestObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const canary = obj(obj(obj(ro.spec).strategy).canary);
  const steps = arr(canary.steps).map(obj);
  const base = ['spec', 'strategy', 'canary', 'steps'];
  steps.forEach((step, i) => {
    if (step.pause !== undefined && obj(step.pause).duration === undefined) {
      out.push(
        warning(
          'lint/indefinite-pause',
          [...base, i, 'pause'],
          'a pause without a duration waits until someone promotes the rollout (`kubectl argo rollouts promote`)',
          {
            allowed: 'pause: {duration: 10m} to continue by itself',
          },
        ),
      );
    }
  });
  const firstWeight = steps.findIndex((s) => typeof s.setWeight === 'number' && (s.setWeight as number) > 0);
  const trafficRouting = obj(canary.trafficRouting);
  const scale =
    Object.keys(trafficRouting).length > 0 && (num(trafficRouting.maxTrafficWeight) ?? 0) > 0
      ? (num(trafficRouting.maxTrafficWeight) as number)
      : 100;
  if (firstWeight >= 0)
    out.push(
      ...firstWeightTrap(steps[firstWeight]!.setWeight as number, [...base, firstWeight, 'setWeight'], scale),
    );

  // Data points: how many measurements each analysis metric takes while the canary holds one weight.
  const plan = planFor(ro, objects);
  const holds = new Map<number, { weight: number; seconds: number; from: number }>(); // keyed by setWeight step
  let current: { weight: number; seconds: number; from: number } | undefined;
  for (const s of plan.steps) {
    if (s.action === 'setWeight') {
      current = { weight: s.weight, seconds: 0, from: s.index };
      holds.set(s.index, current);
    } else if (current && s.seconds !== null) current.seconds += s.seconds;
  }
  const bg = obj(canary.analysis);
  if (Object.keys(bg).length > 0) {
    const startingStep = typeof bg.startingStep === 'number' ? bg.startingStep : 0;
    // Timed as plan times them: args from the Rollout, then the templates' defaults.
    const { metrics } = analysisMetrics(bg, objects);
    const measured = [...holds.values()].filter(
      (h) => h.from >= startingStep && h.weight > 0 && h.seconds > 0,
    );
    for (const m of metrics) {
      const interval = m.intervalSeconds;
      if (!interval || measured.length === 0) continue;
      const shortest = measured.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const points = Math.floor(shortest.seconds / interval);
      if (points < MIN_DATA_POINTS)
        out.push(
          warning(
            'lint/few-data-points',
            ['spec', 'strategy', 'canary', 'analysis'],
            `metric ${m.name} is measured at most ${points} time(s) at weight ${shortest.weight}% (${formatSeconds(shortest.seconds)} every ${formatSeconds(interval)}); a reliable judgement needs ${MIN_DATA_POINTS}`,
            {
              allowed: `hold each weight for at least ${formatSeconds(MIN_DATA_POINTS * interval)}, or measure more often`,
            },
          ),
        );
    }
  }
  steps.forEach((step, i) => {
    if (step.analysis === undefined) return;
    // Argo's EffectiveCount after resolving {{args.x}} (Rollout args, then template defaults): count
    // "60" is 60; count 0 or unset is 1 without an interval and unbounded with one.
    for (const t of analysisMetrics(step.analysis, objects).metrics) {
      if (!t.countKnown) continue; // a count no arg resolves: plan notes it; nothing to judge here
      if (t.count === null && t.successSeconds !== null) continue; // ends by consecutiveSuccessLimit
      const count = t.count ?? undefined;
      if (count === undefined) {
        out.push(
          warning(
            'lint/endless-step-analysis',
            [...base, i, 'analysis'],
            `metric ${t.name} has an interval and no count (or count 0), so this step never completes by itself`,
            {
              allowed: 'set count, or use it as a background analysis',
            },
          ),
        );
      } else if (count < MIN_DATA_POINTS) {
        out.push(
          warning(
            'lint/few-data-points',
            [...base, i, 'analysis'],
            `metric ${t.name} takes ${count} measurement(s); a reliable judgement needs ${MIN_DATA_POINTS}`,
            {
              value: count,
              allowed: `count of ${MIN_DATA_POINTS} or more`,
            },
          ),
        );
      }
    }
  });
  return out;
}

function canaryTraps(cd: ManifestObject, opts: TrapOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  const spec = obj(cd.spec);
  const key = spec.analysis !== undefined ? 'analysis' : 'canaryAnalysis';
  const analysis = obj(spec[key]);
  if (Object.keys(analysis).length === 0 || spec.skipAnalysis === true) return out;
  const iterations = typeof analysis.iterations === 'number' ? analysis.iterations : 0;
  const provider = str(spec.provider);
  if (iterations === 0 && provider !== 'kubernetes') {
    const ladder = weightLadder(cd);
    const path = Array.isArray(analysis.stepWeights)
      ? ['spec', key, 'stepWeights', 0]
      : ['spec', key, 'stepWeight'];
    if (ladder.length > 0) out.push(...firstWeightTrap(ladder[0]!, path));
  }
  // Each check covers one interval of samples; seed 004 wants 50 per step.
  const scrape = opts.scrapeIntervalSeconds ?? 15;
  const stepSeconds = analysisInterval(cd);
  const points = Math.floor(stepSeconds / scrape);
  if (points < MIN_DATA_POINTS && arr(analysis.metrics).length > 0)
    out.push(
      warning(
        'lint/few-data-points',
        ['spec', key, 'interval'],
        `each step lasts one interval (${formatSeconds(stepSeconds)}), about ${points} sample(s) at a ${scrape}s scrape interval; a reliable judgement needs ${MIN_DATA_POINTS}`,
        {
          value: str(analysis.interval) ?? '60s (default)',
          allowed: `an interval of at least ${formatSeconds(MIN_DATA_POINTS * scrape)}`,
        },
      ),
    );
  return out;
}
