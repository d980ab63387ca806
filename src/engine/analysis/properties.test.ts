import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AnalysisRun, Metric } from '../../api/argo/analysis.js';
import { isCompleted, isWorse, metricConfig, type Observation, reconcileAnalysisRun } from './engine.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const provider = { web: { url: 'http://x' } } as unknown as Metric['provider'];

const metricArb = (name: string) =>
  fc.record({
    name: fc.constant(name),
    count: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
    interval: fc.option(fc.constantFrom('1s', '5s'), { nil: undefined }),
    failureLimit: fc.integer({ min: -1, max: 2 }),
    inconclusiveLimit: fc.integer({ min: 0, max: 2 }),
    consecutiveErrorLimit: fc.integer({ min: 0, max: 4 }),
    consecutiveSuccessLimit: fc.integer({ min: 0, max: 3 }),
  });

const scenario = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 2 }))
  .chain(([n, terminateLate, dryIndex]) => {
    const names = ['a', 'b', 'c'].slice(0, n);
    return fc.record({
      metrics: fc.tuple(...names.map(metricArb)),
      dry: fc.boolean().map((d) => (d && dryIndex < n ? [{ metricName: names[dryIndex] as string }] : [])),
      terminateAt: fc.constant(terminateLate ? 25 : -1),
      steps: fc.array(
        fc.record({
          advance: fc.integer({ min: 0, max: 12_000 }),
          obs: fc.array(
            fc.record({
              metric: fc.constantFrom(...names),
              phase: fc.constantFrom('Successful', 'Failed', 'Inconclusive', 'Error' as const),
            }),
            { maxLength: 3 },
          ),
        }),
        { maxLength: 30 },
      ),
    });
  });

describe('AnalysisRun engine properties', () => {
  it('counts stay within the effective count, completed runs stay completed, run phase = worst metric phase', () => {
    fc.assert(
      fc.property(scenario, ({ metrics, dry, terminateAt, steps }) => {
        const specMetrics = metrics.map((m) => {
          const out: Record<string, unknown> = { ...m, provider };
          for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
          return out as Metric;
        });
        let run: AnalysisRun = {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'AnalysisRun',
          metadata: { name: 'r' },
          spec: { metrics: specMetrics, dryRun: dry },
        };
        const dryNames = new Set(dry.map((d) => d.metricName));
        let now = T0;
        let completedPhase: string | undefined;
        steps.forEach((step, i) => {
          now += step.advance;
          if (i === terminateAt) run = { ...run, spec: { ...run.spec, terminate: true } };
          const res = reconcileAnalysisRun(run, now, step.obs as Observation[]);
          run = { ...run, status: res.status };
          const status = res.status;
          for (const r of status.metricResults ?? []) {
            const cfg = metricConfig(specMetrics.find((m) => m.name === r.name) as Metric);
            if (cfg.count !== undefined) expect(r.count ?? 0).toBeLessThanOrEqual(cfg.count);
          }
          if (completedPhase !== undefined) expect(status.phase).toBe(completedPhase);
          if (isCompleted(status.phase)) {
            completedPhase = status.phase;
            let worst = '';
            for (const r of status.metricResults ?? []) {
              if (dryNames.has(r.name) || !isCompleted(r.phase)) continue;
              if (worst === '' || isWorse(worst, r.phase)) worst = r.phase;
            }
            expect(status.phase).toBe(worst === '' ? 'Successful' : worst);
          }
        });
      }),
      { numRuns: 500 },
    );
  });
});
