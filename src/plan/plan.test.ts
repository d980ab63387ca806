import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../api/kind.js';
import { loadManifests } from '../api/load.js';
import { hasShared, sharedDir } from '../testing/upstream.js';
import {
  earliestAbortText,
  metricTiming,
  type Plan,
  planFor,
  settledReplicas,
  weightLadder,
} from './plan.js';

const fromYaml = (text: string): ManifestObject[] =>
  loadManifests(text, 't.yaml').objects.map((o) => o.object);
const planOf = (text: string) => {
  const objs = fromYaml(text);
  const target = objs.find((o) => o.kind === 'Rollout' || o.kind === 'Canary')!;
  return planFor(target, objs);
};

describe.skipIf(!hasShared)('plan on the seed examples', () => {
  const read = (f: string) => readFileSync(path.join(sharedDir, 'examples', f), 'utf8');

  it('seed-000: 20/40/60/80 with 2m pauses, 480 s to promotion, abort 30 s after step 2 starts', () => {
    const p = planOf(read('seed-000-rollout-with-analysis.yaml'));
    expect(p.steps.map((s) => s.weight)).toEqual([20, 20, 40, 40, 60, 60, 80, 80]);
    expect(p.steps.filter((s) => s.action === 'pause').map((s) => s.seconds)).toEqual([120, 120, 120, 120]);
    expect(p.minTotalSeconds).toBe(480);
    // Background analysis starts at step 2 (t = 120 s); failureLimit 3 every 10 s: 4th failure at +30 s.
    expect(p.earliestAbortSeconds).toBe(150);
    // Traefik routes traffic, so the stable keeps its replica and the canary gets ceil(1 * w / 100).
    expect(p.steps[0]!.replicas).toEqual({ canary: 1, stable: 1 });
  });

  it('seed-002: Flagger 10,20,30,40,50 with 1 m intervals, rollback after 5 failed checks', () => {
    const p = planOf(read('seed-002-podinfo-canary.yaml'));
    expect(p.dialect).toBe('flagger');
    expect(p.steps.map((s) => s.weight)).toEqual([10, 20, 30, 40, 50]);
    expect(p.steps.every((s) => s.seconds === 60)).toBe(true);
    expect(p.minTotalSeconds).toBe(300);
    expect(p.earliestAbortSeconds).toBe(300);
  });

  it('seed-003: blue/green waits for a manual promotion', () => {
    const p = planOf(read('seed-003-bluegreen-rollout.yaml'));
    expect(p.strategy).toBe('blueGreen');
    expect(p.manualGates).toBe(1);
    expect(p.steps.map((s) => s.action)).toEqual(['preview', 'promotionGate', 'switch']);
    expect(p.steps.at(-1)!.weight).toBe(100);
    expect(p.earliestAbortSeconds).toBeNull();
  });
});

describe('metricTiming (Argo measurement schedule)', () => {
  it.each([
    // [metric, successSeconds, failSeconds]
    [{ name: 'm', interval: '10s', failureLimit: 3 }, null, 30],
    [{ name: 'm', interval: '10s', count: 5 }, 40, 0],
    [{ name: 'm', interval: '1m', count: 3, failureLimit: 1 }, 120, 60],
    [{ name: 'm' }, 0, 0],
    [{ name: 'm', initialDelay: '30s' }, 30, 30],
    [{ name: 'm', interval: '10s', count: 2, failureLimit: 2 }, 10, null],
    [{ name: 'm', interval: '10s', failureLimit: -1 }, null, null],
    [{ name: 'm', interval: '5s', count: 10, consecutiveSuccessLimit: 3 }, 10, 0],
    [{ name: 'm', interval: '10s', count: '{{args.n}}' }, 20, 0],
  ] as const)('%j', (metric, success, fail) => {
    const t = metricTiming(metric as Record<string, unknown>, { n: '3' });
    expect(t.successSeconds).toBe(success);
    expect(t.failSeconds).toBe(fail);
  });
});

describe('settledReplicas', () => {
  it.each([
    // n, weight, router, dynamic, surge -> canary, stable
    [10, 20, true, false, true, 2, 10],
    [10, 20, true, true, true, 2, 8],
    [1, 20, true, false, true, 1, 1],
    [10, 20, false, false, true, 2, 8],
    [1, 20, false, false, true, 1, 1],
    [1, 49, false, false, false, 0, 1],
    [4, 0, false, false, true, 0, 4],
    [4, 100, false, false, true, 4, 0],
    [3, 50, false, false, true, 2, 2],
  ])('n=%d w=%d router=%s dynamic=%s surge=%s -> %d/%d', (n, w, router, dyn, surge, c, s) => {
    expect(settledReplicas(n, w, 100, { router, dynamicStableScale: dyn, surge })).toEqual({
      canary: c,
      stable: s,
    });
  });
});

describe('weightLadder (Flagger)', () => {
  it.each([
    [{ stepWeight: 10, maxWeight: 50 }, [10, 20, 30, 40, 50]],
    [{ stepWeight: 20, maxWeight: 50 }, [20, 40, 60]],
    [{ stepWeight: 30 }, [30, 60, 90, 100]],
    [{ stepWeights: [1, 2, 10, 80] }, [1, 2, 10, 80]],
    [{ stepWeights: [5, 10], maxWeight: 100 }, [5, 10]],
    [{ stepWeight: 0 }, []],
    [{}, []],
  ])('%j -> %j', (analysis, ladder) => {
    expect(weightLadder({ spec: { analysis } })).toEqual(ladder);
  });
});

describe('plan details', () => {
  it('counts an indefinite pause as a manual gate', () => {
    const p = planOf(`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  replicas: 4
  selector: {matchLabels: {app: r}}
  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: x}]}}
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {}
      - setWeight: 50
      - pause: {duration: 30}
`);
    expect(p.manualGates).toBe(1);
    expect(p.steps.map((s) => s.seconds)).toEqual([0, null, 0, 30]);
    expect(p.minTotalSeconds).toBe(30);
    expect(p.steps[0]!.replicas).toEqual({ canary: 1, stable: 3 });
    expect(p.earliestAbortSeconds).toBeNull();
  });

  it('times a step analysis from its template and its abort from failureLimit', () => {
    const p = planOf(`
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  selector: {matchLabels: {app: r}}
  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: x}]}}
  strategy:
    canary:
      steps:
      - setWeight: 10
      - pause: {duration: 1m}
      - analysis: {templates: [{templateName: t}]}
      - setWeight: 50
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  metrics:
  - name: ok
    interval: 30s
    count: 4
    failureLimit: 1
    successCondition: result[0] > 0.9
    provider: {prometheus: {address: http://p:9090, query: up}}
`);
    expect(p.steps[2]!.seconds).toBe(90);
    expect(p.minTotalSeconds).toBe(150);
    expect(p.earliestAbortSeconds).toBe(60 + 30);
  });

  it('uses the Deployment replicas for a Flagger canary and A/B iterations', () => {
    const p = planOf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: x}]}}}
---
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: web, namespace: prod}
spec:
  provider: istio
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  service: {port: 80}
  analysis:
    interval: 30s
    threshold: 3
    iterations: 4
    match: [{headers: {x-canary: {exact: insider}}}]
    metrics: [{name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}]
`);
    expect(p.strategy).toBe('ab-testing');
    expect(p.replicas).toBe(3);
    expect(p.steps).toHaveLength(4);
    expect(p.minTotalSeconds).toBe(120);
    // The first analysis tick (t = 0) runs only pre-rollout webhooks; metrics first fail on tick 1
    // (t = 30 s), the 3rd failure is on tick 3 and the rollback at the start of tick 4.
    expect(p.earliestAbortSeconds).toBe(120);
  });
});

// Builders for the review rows below.
type O = Record<string, unknown>;
const ro = (canary: O, replicas = 10): ManifestObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'r' },
  spec: { replicas, strategy: { canary } },
});
const bgRollout = (blueGreen: O, replicas = 3): ManifestObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'bg' },
  spec: { replicas, strategy: { blueGreen } },
});
const at = (name: string, metrics: O[], extra: O = {}): ManifestObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name },
  spec: {
    metrics: metrics.map((m) => ({ successCondition: 'result[0] > 0', provider: {}, ...m })),
    ...extra,
  },
});
const fc = (analysis: O, provider = 'istio'): ManifestObject => ({
  apiVersion: 'flagger.app/v1beta1',
  kind: 'Canary',
  metadata: { name: 'c' },
  spec: { provider, targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'c' }, analysis },
});
const nginx = (extra: O = {}) => ({ nginx: { stableIngress: 'ing' }, ...extra });
const expStep = (experiment: O) => ({
  experiment: { templates: [{ name: 'c', specRef: 'canary' }], ...experiment },
});
const plan = (objs: ManifestObject[]) => planFor(objs[0]!, objs);
const paths = (p: Plan) => p.abortPaths.map((a) => `${a.atSeconds} ${a.source}`);
const bench = at('bench', [{ name: 'errors', interval: '30s', count: 4 }]); // success at 90 s, fails at 0 s

describe('plan: review defects', () => {
  it.each<[string, ManifestObject[], (p: Plan) => unknown, unknown]>([
    // 1. Flagger steps beyond MAX_ITEMIZED_STEPS are folded into one step.
    [
      '1. 1000 iterations: 100 steps and one for iterations 101–1000',
      [fc({ interval: '1m', iterations: 1000 }, 'kubernetes')],
      (p) => [p.steps.length, p.steps.at(-1)!.description, p.steps.at(-1)!.seconds, p.minTotalSeconds],
      [101, 'iterations 101–1000: test the canary (no live traffic)', 900 * 60, 1000 * 60],
    ],
    [
      '1. iterations: 100000000 plans without running out of memory',
      [fc({ interval: '1m', threshold: 5, iterations: 100_000_000 }, 'kubernetes')],
      (p) => [p.steps.length, p.minTotalSeconds],
      [101, 100_000_000 * 60],
    ],
    [
      '1. stepWeight 0.5: 200 weights folded after the 100th',
      [fc({ interval: '1m', stepWeight: 0.5 })],
      (p) => [p.steps.length, p.steps.at(-1)!.weight, p.steps.at(-1)!.seconds, p.minTotalSeconds],
      [101, 100, 100 * 60, 200 * 60],
    ],
    // 2. Experiment steps end with their requiredForCompletion analyses, which can abort.
    [
      '2. experiment without duration ends when its required analysis succeeds',
      [
        ro({
          steps: [
            { setWeight: 10 },
            expStep({ analyses: [{ name: 'b', templateName: 'bench', requiredForCompletion: true }] }),
          ],
        }),
        bench,
      ],
      (p) => [p.steps[1]!.seconds, p.manualGates, paths(p)],
      [90, 0, ['0 step 1 experiment analysis b / errors']],
    ],
    [
      '2. experiment with duration and a required analysis lasts the longer of both',
      [
        ro({
          steps: [
            expStep({
              duration: '1m',
              analyses: [{ name: 'b', templateName: 'bench', requiredForCompletion: true }],
            }),
          ],
        }),
        bench,
      ],
      (p) => p.steps[0]!.seconds,
      90,
    ],
    [
      '2. experiment without duration or required analysis runs until terminated',
      [ro({ steps: [expStep({ analyses: [{ name: 'b', templateName: 'bench' }] })] }), bench],
      (p) => [p.steps[0]!.seconds, p.manualGates, p.steps[0]!.description, paths(p)],
      [
        null,
        1,
        'experiment until terminated (no duration, no requiredForCompletion analysis)',
        ['0 step 0 experiment analysis b / errors'],
      ],
    ],
    [
      '2. an experiment analysis that cannot fail before the duration ends cannot abort',
      [
        ro({
          steps: [
            expStep({
              duration: '1m',
              analyses: [{ name: 'b', templateName: 'slow', args: [{ name: 'n', value: '5' }] }],
            }),
          ],
        }),
        at('slow', [{ name: 'm', interval: '1m', count: '{{args.n}}', failureLimit: 2 }]),
      ],
      (p) => [p.steps[0]!.seconds, p.earliestAbortSeconds],
      [60, null],
    ],
    // 3. Dry-run metrics never abort.
    [
      '3. Rollout-side dryRun metricName',
      [
        ro({
          steps: [
            { analysis: { templates: [{ templateName: 't' }], dryRun: [{ metricName: 'success-rate' }] } },
          ],
        }),
        at('t', [{ name: 'success-rate', interval: '1m', count: 5 }]),
      ],
      (p) => [p.earliestAbortSeconds, p.steps[0]!.seconds, p.notes.some((n) => n.includes('dry-run'))],
      [null, 240, true],
    ],
    [
      '3. template-side spec.dryRun matched as a regular expression',
      [
        ro({ steps: [{ analysis: { templates: [{ templateName: 't' }] } }] }),
        at(
          't',
          [
            { name: 'success-rate', interval: '10s', count: 5 },
            { name: 'latency', interval: '10s', count: 5, failureLimit: 2 },
          ],
          { dryRun: [{ metricName: '.*-rate' }] },
        ),
      ],
      (p) => paths(p),
      ['20 step 0 analysis / latency'],
    ],
    // 4. minPodsPerReplicaSet raises non-zero counts, capped at replicas.
    [
      '4. minPodsPerReplicaSet 2 with dynamicStableScale',
      [
        ro({
          minPodsPerReplicaSet: 2,
          dynamicStableScale: true,
          trafficRouting: nginx(),
          steps: [{ setWeight: 5 }, { setWeight: 95 }, { setWeight: 100 }],
        }),
      ],
      (p) => p.steps.map((s) => s.replicas),
      [
        { canary: 2, stable: 10 },
        { canary: 10, stable: 2 },
        { canary: 10, stable: 0 },
      ],
    ],
    [
      '4. minPodsPerReplicaSet is capped at replicas and raises only the canary without dynamicStableScale',
      [ro({ minPodsPerReplicaSet: 5, trafficRouting: nginx(), steps: [{ setWeight: 5 }] }, 3)],
      (p) => p.steps[0]!.replicas,
      { canary: 3, stable: 3 },
    ],
    // 5. maxTrafficWeight: weight is a percentage, weightUnits the value as written.
    [
      '5. maxTrafficWeight 1000',
      [
        ro({
          trafficRouting: nginx({ maxTrafficWeight: 1000 }),
          steps: [{ setWeight: 50 }, { setWeight: 500 }, { setCanaryScale: { weight: 300 } }],
        }),
      ],
      (p) => [
        p.steps.map((s) => [s.weight, s.weightUnits, s.replicas.canary]),
        p.promotion.weight,
        p.steps[0]!.description,
      ],
      [
        [
          [5, 50, 1],
          [50, 500, 5],
          [50, 500, 3],
        ],
        100,
        'set canary weight to 50/1000 (5%)',
      ],
    ],
    // 6. count: 0 and string counts (Argo EffectiveCount).
    [
      '6. count 0 with an interval is unbounded',
      [
        ro({ steps: [{ analysis: { templates: [{ templateName: 't' }] } }] }),
        at('t', [{ name: 'm', interval: '1m', count: 0 }]),
      ],
      (p) => [p.steps[0]!.seconds, p.manualGates, p.earliestAbortSeconds],
      [null, 1, 0],
    ],
    [
      '6. count 0 without an interval is one measurement',
      [
        ro({ steps: [{ analysis: { templates: [{ templateName: 't' }] } }] }),
        at('t', [{ name: 'm', count: 0 }]),
      ],
      (p) => [p.steps[0]!.seconds, p.earliestAbortSeconds],
      [0, 0],
    ],
    [
      '6. count "60" and a count from the Rollout args over the template default',
      [
        ro({
          steps: [{ analysis: { templates: [{ templateName: 't' }], args: [{ name: 'n', value: '3' }] } }],
        }),
        at(
          't',
          [
            { name: 'a', interval: '1m', count: '60' },
            { name: 'b', interval: '1m', count: '{{args.n}}', failureLimit: 2 },
          ],
          { args: [{ name: 'n', value: '100' }] },
        ),
      ],
      (p) => [p.steps[0]!.seconds, paths(p)],
      [59 * 60, ['0 step 0 analysis / a', '120 step 0 analysis / b']],
    ],
    // 7. Flagger webhooks: pre-rollout and rollout webhooks are checks; rollback webhooks abort at 0.
    [
      '7. pre-rollout and rollback webhooks, no metrics',
      [
        fc({
          interval: '1m',
          threshold: 2,
          stepWeight: 20,
          maxWeight: 50,
          webhooks: [
            { name: 'smoke', type: 'pre-rollout', url: 'http://x' },
            { name: 'rb', type: 'rollback', url: 'http://x' },
          ],
        }),
      ],
      (p) => [p.earliestAbortSeconds, paths(p), p.steps[0]!.analyses],
      [0, ['0 rollback webhook rb', '120 pre-rollout webhook smoke'], ['pre-rollout webhook smoke']],
    ],
    [
      '7. a rollout webhook alone is a check',
      [fc({ interval: '1m', threshold: 2, stepWeight: 50, webhooks: [{ name: 'load', url: 'http://x' }] })],
      (p) => [p.earliestAbortSeconds, p.steps[0]!.analyses],
      [180, ['webhook load']],
    ],
    [
      '7. no metrics and no failing webhooks: nothing aborts',
      [
        fc({
          interval: '1m',
          stepWeight: 50,
          webhooks: [
            { name: 'gate', type: 'confirm-rollout', url: 'http://x' },
            { name: 'done', type: 'post-rollout', url: 'http://x' },
          ],
        }),
      ],
      (p) => [p.earliestAbortSeconds, p.manualGates],
      [null, 1],
    ],
    // 8. Blue/green: the preview keeps previewReplicaCount until promotion; replicas 0 is 0 everywhere.
    [
      '8. blue/green promotion gate keeps previewReplicaCount',
      [bgRollout({ activeService: 'a', previewReplicaCount: 1, autoPromotionEnabled: false })],
      (p) => p.steps.map((s) => s.replicas),
      [
        { active: 3, preview: 1 },
        { active: 3, preview: 1 },
        { active: 3, previous: 3 },
      ],
    ],
    [
      '8. replicas: 0 gives 0 replicas everywhere',
      [ro({ steps: [{ setWeight: 10 }, { setWeight: 50 }] }, 0)],
      (p) => p.steps.map((s) => s.replicas),
      [
        { canary: 0, stable: 0 },
        { canary: 0, stable: 0 },
      ],
    ],
    // 9. Step plugins wait for the plugin, not for a person.
    [
      '9. a step plugin is not a manual gate',
      [ro({ steps: [{ setWeight: 10 }, { plugin: { name: 'my/plugin', config: {} } }] })],
      (p) => [p.steps[1]!.seconds, p.manualGates, p.notes.some((n) => n.includes('my/plugin'))],
      [0, 0, true],
    ],
    // 10. Missing templates: the earliest abort is unknown, not never.
    [
      '10. missing templates make the earliest abort unknown',
      [ro({ steps: [{ analysis: { templates: [{ templateName: 'nope' }] } }] })],
      (p) => [p.earliestAbortSeconds, p.missingTemplates, earliestAbortText(p)],
      [null, ['AnalysisTemplate/nope'], 'unknown (templates not in the given files: AnalysisTemplate/nope)'],
    ],
  ])('%s', (_name, objs, project, expected) => {
    expect(project(plan(objs))).toEqual(expected);
  });
});
