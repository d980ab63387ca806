/**
 * `npm run bench`: a 24-hour release through the simulator (goal: well under a second). Reference
 * measured in the same run: generating the same 24 hours of traffic alone, the part every simulated
 * second must pay; the ratio shows what the engines and the metric provider add on top.
 */
import type { ManifestObject } from '../src/api/kind.js';
import { seededRandom } from '../src/sim/random.js';
import { simulate } from '../src/sim/simulate.js';
import { Traffic } from '../src/sim/traffic.js';

const DAY_MS = 24 * 3_600_000;

const rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'day-long' },
  spec: {
    replicas: 4,
    selector: { matchLabels: { app: 'day-long' } },
    template: {
      metadata: { labels: { app: 'day-long' } },
      spec: { containers: [{ name: 'app', image: 'app:2' }] },
    },
    strategy: {
      canary: {
        canaryService: 'day-long-canary',
        stableService: 'day-long',
        trafficRouting: { nginx: { stableIngress: 'day-long' } },
        analysis: { templates: [{ templateName: 'success-rate' }], startingStep: 1 },
        steps: [
          { setWeight: 5 },
          { pause: { duration: '6h' } },
          { setWeight: 25 },
          { pause: { duration: '6h' } },
          { setWeight: 50 },
          { pause: { duration: '6h' } },
          { setWeight: 75 },
          { pause: { duration: '6h' } },
        ],
      },
    },
  },
} as unknown as ManifestObject;
const template = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name: 'success-rate' },
  spec: {
    metrics: [
      {
        name: 'success-rate',
        interval: '1m',
        failureLimit: 3,
        successCondition: 'result[0] > 0.95',
        provider: {
          prometheus: {
            address: 'http://prometheus:9090',
            query: 'sum(rate(http_requests_total{status!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))',
          },
        },
      },
    ],
  },
} as unknown as ManifestObject;

function time(label: string, runs: number, fn: () => unknown): number {
  fn(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / runs;
  console.log(`${label.padEnd(60)} ${ms.toFixed(1).padStart(8)} ms`);
  return ms;
}

const reference = time('reference: 24 h of traffic alone (86,400 simulated seconds)', 5, () => {
  const t = new Traffic(
    {
      rps: 20,
      diurnalAmplitude: 0.3,
      startMs: 0,
      health: () => ({ errorRate: 0.002, latency: { medianMs: 40, p99Ms: 160 } }),
    },
    seededRandom(0),
  );
  t.advanceTo(DAY_MS + 3 * 60_000, { newShare: 0.3, newDown: 0, oldDown: 0 });
});
let outcome = '';
const full = time('24 h canary release, analysis every minute (simulate)', 5, () => {
  const r = simulate(rollout, [rollout, template], {
    scenario: 'good-canary',
    seed: 0,
    maxMs: DAY_MS + 3_600_000,
  });
  outcome = `${r.outcome} after ${(r.decidedAfterMs ?? 0) / 3_600_000} h, ${r.timeline.length} timeline entries`;
});
console.log(`  ${outcome}`);
console.log(
  `  ratio simulate/traffic-only ${(full / reference).toFixed(1)}x; speed-up over real time ${(DAY_MS / full).toFixed(0)}x`,
);
console.log(`  goal: under 1000 ms for 24 h -> ${full < 1000 ? 'met' : 'NOT MET'}`);
