import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../api/kind.js';
import { loadManifests } from '../api/load.js';
import { hasShared, sharedDir } from '../testing/upstream.js';
import { metricTiming, planFor, settledReplicas, weightLadder } from './plan.js';

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
    expect(p.earliestAbortSeconds).toBe(90);
  });
});
