import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../api/kind.js';
import { findTraps } from './traps.js';

const rollout = (canary: Record<string, unknown>): ManifestObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'r' },
  spec: { replicas: 4, strategy: { canary } },
});

const template = (metric: Record<string, unknown>): ManifestObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name: 't' },
  spec: {
    metrics: [
      {
        name: 'm',
        successCondition: 'result[0] > 0.9',
        provider: { prometheus: { query: 'up' } },
        ...metric,
      },
    ],
  },
});

const withArgs = (t: ManifestObject, args: Record<string, unknown>[]): ManifestObject => ({
  ...t,
  spec: { ...(t.spec as Record<string, unknown>), args },
});

const canary = (analysis: Record<string, unknown>, provider = 'istio'): ManifestObject => ({
  apiVersion: 'flagger.app/v1beta1',
  kind: 'Canary',
  metadata: { name: 'c' },
  spec: { provider, targetRef: { kind: 'Deployment', name: 'c' }, service: { port: 80 }, analysis },
});

const codes = (objs: ManifestObject[], scrape?: number) =>
  findTraps([objs[0]!], scrape ? { scrapeIntervalSeconds: scrape } : {}, objs).map(
    (d) => `${d.code} ${d.path.join('.')}`,
  );

describe('findTraps', () => {
  it.each<[string, ManifestObject[], string[]]>([
    [
      'a good canary has no traps',
      [rollout({ steps: [{ setWeight: 5 }, { pause: { duration: '15m' } }] })],
      [],
    ],
    [
      'a pause without duration',
      [rollout({ steps: [{ setWeight: 10 }, { pause: {} }] })],
      ['lint/indefinite-pause spec.strategy.canary.steps.1.pause'],
    ],
    [
      'a first weight of 20 %',
      [rollout({ steps: [{ setWeight: 20 }] })],
      ['lint/first-weight spec.strategy.canary.steps.0.setWeight'],
    ],
    [
      'a first weight of 1 %',
      [rollout({ steps: [{ setWeight: 0 }, { setWeight: 1 }] })],
      ['lint/first-weight spec.strategy.canary.steps.1.setWeight'],
    ],
    [
      'background analysis with too few measurements per weight',
      [
        rollout({
          analysis: { templates: [{ templateName: 't' }] },
          steps: [{ setWeight: 10 }, { pause: { duration: '2m' } }],
        }),
        template({ interval: '10s' }),
      ],
      ['lint/few-data-points spec.strategy.canary.analysis'],
    ],
    [
      'background analysis with enough measurements',
      [
        rollout({
          analysis: { templates: [{ templateName: 't' }] },
          steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }],
        }),
        template({ interval: '10s' }),
      ],
      [],
    ],
    [
      'a step analysis that never ends',
      [
        rollout({ steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }] }),
        template({ interval: '1m' }),
      ],
      ['lint/endless-step-analysis spec.strategy.canary.steps.1.analysis'],
    ],
    [
      'a step analysis with a small count',
      [
        rollout({ steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }] }),
        template({ interval: '1m', count: 5 }),
      ],
      ['lint/few-data-points spec.strategy.canary.steps.1.analysis'],
    ],
    [
      'a Flagger canary starting at 20 %',
      [
        canary({
          interval: '15m',
          stepWeight: 20,
          maxWeight: 60,
          metrics: [{ name: 'request-success-rate' }],
        }),
      ],
      ['lint/first-weight spec.analysis.stepWeight'],
    ],
    [
      'a Flagger ladder starting at 1 %',
      [canary({ interval: '15m', stepWeights: [1, 5, 50], metrics: [{ name: 'request-success-rate' }] })],
      ['lint/first-weight spec.analysis.stepWeights.0'],
    ],
    [
      'a Flagger interval too short for 50 samples',
      [canary({ interval: '1m', stepWeight: 10, metrics: [{ name: 'request-success-rate' }] })],
      ['lint/few-data-points spec.analysis.interval'],
    ],
    // Review rows: maxTrafficWeight, count resolution (Argo EffectiveCount with args).
    [
      'setWeight 50 of maxTrafficWeight 1000 is 5 %',
      [
        rollout({
          trafficRouting: { nginx: { stableIngress: 'i' }, maxTrafficWeight: 1000 },
          steps: [{ setWeight: 50 }],
        }),
      ],
      [],
    ],
    [
      'setWeight 200 of maxTrafficWeight 1000 is 20 %',
      [
        rollout({
          trafficRouting: { nginx: { stableIngress: 'i' }, maxTrafficWeight: 1000 },
          steps: [{ setWeight: 200 }],
        }),
      ],
      ['lint/first-weight spec.strategy.canary.steps.0.setWeight'],
    ],
    [
      'a step analysis with count "60" (a string)',
      [
        rollout({ steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }] }),
        template({ interval: '1m', count: '60' }),
      ],
      [],
    ],
    [
      'a step analysis with count {{args.count}} from the template default 60',
      [
        rollout({ steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }] }),
        withArgs(template({ interval: '1m', count: '{{args.count}}' }), [{ name: 'count', value: '60' }]),
      ],
      [],
    ],
    [
      'a step analysis with count {{args.count}} set to 5 by the Rollout',
      [
        rollout({
          steps: [
            { setWeight: 10 },
            { analysis: { templates: [{ templateName: 't' }], args: [{ name: 'count', value: '5' }] } },
          ],
        }),
        withArgs(template({ interval: '1m', count: '{{args.count}}' }), [{ name: 'count', value: '60' }]),
      ],
      ['lint/few-data-points spec.strategy.canary.steps.1.analysis'],
    ],
    [
      'a step analysis with count 0 and an interval never ends',
      [
        rollout({ steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 't' }] } }] }),
        template({ interval: '1m', count: 0 }),
      ],
      ['lint/endless-step-analysis spec.strategy.canary.steps.1.analysis'],
    ],
    [
      'blue/green iterations have no weight ladder',
      [canary({ interval: '15m', iterations: 5, metrics: [{ name: 'x' }] })],
      [],
    ],
  ])('%s', (_name, objs, expected) => {
    expect(codes(objs).sort()).toEqual(expected.sort());
  });

  it.each<[string, ManifestObject[], string, string]>([
    [
      'an indefinite pause names the real promote command',
      [rollout({ steps: [{ setWeight: 10 }, { pause: {} }] })],
      'lint/indefinite-pause',
      'waits until someone promotes the rollout (`kubectl argo rollouts promote`)',
    ],
    [
      'the first weight is judged and shown as a share of maxTrafficWeight',
      [
        rollout({
          trafficRouting: { nginx: { stableIngress: 'i' }, maxTrafficWeight: 1000 },
          steps: [{ setWeight: 200 }],
        }),
      ],
      'lint/first-weight',
      'sends 200/1000 (20%) of traffic',
    ],
    [
      'a count from the Rollout args is the count judged',
      [
        rollout({
          steps: [
            { setWeight: 10 },
            { analysis: { templates: [{ templateName: 't' }], args: [{ name: 'count', value: '5' }] } },
          ],
        }),
        withArgs(template({ interval: '1m', count: '{{args.count}}' }), [{ name: 'count', value: '60' }]),
      ],
      'lint/few-data-points',
      'takes 5 measurement(s)',
    ],
  ])('message: %s', (_name, objs, code, text) => {
    const found = findTraps([objs[0]!], {}, objs).filter((d) => d.code === code);
    expect(found.map((d) => d.message).join('\n')).toContain(text);
  });

  it('honours the scrape interval', () => {
    const c = canary({ interval: '5m', stepWeight: 10, metrics: [{ name: 'request-success-rate' }] });
    expect(codes([c], 15)).toContain('lint/few-data-points spec.analysis.interval');
    expect(codes([c], 5)).toEqual([]);
  });

  it('never throws on odd shapes', () => {
    for (const spec of [
      null,
      1,
      'x',
      { strategy: 1 },
      { strategy: { canary: { steps: 'x' } } },
      { analysis: [] },
    ])
      expect(() =>
        findTraps([{ ...rollout({}), spec } as ManifestObject, { ...canary({}), spec } as ManifestObject]),
      ).not.toThrow();
  });
});
