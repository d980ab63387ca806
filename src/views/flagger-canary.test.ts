import { describe, expect, it } from 'vitest';
import type { Canary } from '../api/flagger/canary.js';
import {
  flaggerCanaryView,
  flaggerRunPhase,
  flaggerStatusRun,
  metricThresholds,
  releasePhase,
} from './flagger-canary.js';
import type { VersionView } from './release.js';

const canary = (analysis: Record<string, unknown>, status: Canary['status'] = {}): Canary =>
  ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'test', creationTimestamp: '2026-11-22T10:00:00Z' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 80 },
      analysis: { interval: '10s', threshold: 5, ...analysis },
    },
    status,
  }) as Canary;

const version = (o: Partial<VersionView> & Pick<VersionView, 'name' | 'hash' | 'revision'>): VersionView => ({
  roles: [],
  images: [],
  status: 'Healthy',
  desired: 1,
  current: 1,
  ready: 1,
  available: 1,
  pods: [],
  ...o,
});

const MID_RUN = [
  version({
    name: 'podinfo-primary-aaa',
    hash: 'aaa',
    revision: 1,
    roles: ['primary'],
    images: ['podinfo:1'],
    desired: 2,
    current: 2,
    ready: 2,
    available: 2,
  }),
  version({
    name: 'podinfo-bbb',
    hash: 'bbb',
    revision: 2,
    roles: ['canary'],
    images: ['podinfo:2'],
    ready: 0,
    available: 0,
    status: 'Progressing',
  }),
];

describe('flaggerCanaryView', () => {
  it('a progressive canary mid-run: weight, roles per image, replicas, the Promoted message', () => {
    const v = flaggerCanaryView({
      canary: canary(
        { stepWeight: 10, maxWeight: 50 },
        {
          phase: 'Progressing',
          canaryWeight: 20,
          iterations: 0,
          conditions: [
            {
              type: 'Promoted',
              status: 'Unknown',
              reason: 'Progressing',
              message: 'New revision detected, progressing canary analysis.',
            },
          ],
        },
      ),
      namespace: 'test',
      name: 'podinfo',
      versions: MID_RUN,
      targetHash: 'bbb',
      revision: 2,
      desired: 2,
      actualWeight: 20,
      analysisRuns: [],
      events: [],
    });
    expect(v).toEqual({
      dialect: 'flagger',
      kind: 'Canary',
      namespace: 'test',
      name: 'podinfo',
      phase: 'Progressing',
      message: 'New revision detected, progressing canary analysis.',
      strategy: 'Flagger',
      setWeight: 20,
      actualWeight: 20,
      images: [
        { image: 'podinfo:2', roles: ['canary'] },
        { image: 'podinfo:1', roles: ['primary'] },
      ],
      replicas: { desired: 2, current: 3, updated: 1, ready: 2, available: 2 },
      revision: 2,
      createdAt: '2026-11-22T10:00:00Z',
      // Newest revision first.
      versions: [MID_RUN[1], MID_RUN[0]],
      analysisRuns: [],
      events: [],
    });
  });

  it('blue/green counts iterations (capped), waiting phases are pauses, one image serving two roles is one entry', () => {
    const both = [
      version({
        name: 'podinfo-primary-bbb',
        hash: 'ccc',
        revision: 2,
        roles: ['primary'],
        images: ['podinfo:2'],
      }),
      version({ name: 'podinfo-bbb', hash: 'bbb', revision: 2, roles: ['canary'], images: ['podinfo:2'] }),
      version({ name: 'podinfo-old', hash: 'old', revision: 1, roles: [], images: ['podinfo:1'] }),
    ];
    const v = flaggerCanaryView({
      canary: canary({ iterations: 4 }, { phase: 'WaitingPromotion', iterations: 6 }),
      namespace: 'test',
      name: 'podinfo',
      versions: both,
      targetHash: 'bbb',
      revision: 2,
      desired: 1,
      actualWeight: 100,
      analysisRuns: [],
      events: [],
    });
    expect(v.phase).toBe('Paused');
    expect(v.pauseReasons).toEqual(['WaitingPromotion']);
    expect(v.step).toEqual({ index: 4, count: 4 });
    expect(v.images).toEqual([{ image: 'podinfo:2', roles: ['canary', 'primary'] }]);
    expect(v.message).toBeUndefined();
    expect(v.setWeight).toBe(0);
  });
});

describe('Flagger analysis helpers', () => {
  it.each([
    ['', 'Progressing'],
    ['Initialized', 'Healthy'],
    ['WaitingPromotion', 'Paused'],
    ['Failed', 'Degraded'],
    ['Terminated', 'Unknown'],
  ])('phase %j is %s', (phase, want) => {
    expect(releasePhase(phase)).toBe(want);
  });

  it.each([
    [undefined, 'Running'],
    ['Progressing', 'Running'],
    ['WaitingPromotion', 'Running'],
    ['Promoting', 'Successful'],
    ['Finalising', 'Successful'],
    ['Succeeded', 'Successful'],
    ['Failed', 'Failed'],
  ])('a run in Canary phase %j is %s', (phase, want) => {
    expect(flaggerRunPhase(phase)).toBe(want);
  });

  it('metric thresholds as conditions', () => {
    const c = canary({
      metrics: [
        { name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' },
        { name: 'request-duration', thresholdRange: { max: 500 } },
        { name: 'both', thresholdRange: { min: 1, max: 9 } },
        { name: 'none', templateRef: { name: 'x' } },
      ],
    });
    expect(Object.fromEntries(metricThresholds(c))).toEqual({
      'request-success-rate': { min: 99, condition: 'min 99' },
      'request-duration': { max: 500, condition: 'max 500' },
      both: { min: 1, max: 9, condition: 'min 1, max 9' },
      none: { condition: '' },
    });
  });

  it('the status run: none before a run; failed checks against the threshold; metrics without measurements', () => {
    const metrics = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];
    expect(flaggerStatusRun(canary({ metrics }, { phase: 'Initialized', lastAppliedSpec: 'x' }), 1)).toBe(
      undefined,
    );
    expect(flaggerStatusRun(canary({ metrics }, { phase: 'Progressing' }), 1)).toBe(undefined);
    expect(
      flaggerStatusRun(
        canary(
          { metrics },
          {
            phase: 'Progressing',
            failedChecks: 1,
            lastAppliedSpec: '5d8f',
            lastTransitionTime: '2026-11-22T10:05:00Z',
          },
        ),
        3,
      ),
    ).toEqual({
      name: 'podinfo-5d8f',
      revision: 3,
      kind: 'canary analysis',
      phase: 'Running',
      message:
        '1 failed check (rolls back at 5); status last changed 2026-11-22T10:05:00Z; Flagger keeps no measurements in the Canary',
      metrics: [
        {
          name: 'request-success-rate',
          phase: 'Unknown',
          condition: 'min 99',
          successful: 0,
          failed: 0,
          inconclusive: 0,
          errors: 0,
          measurements: [],
        },
      ],
    });
    const failed = flaggerStatusRun(
      canary({ threshold: undefined }, { phase: 'Failed', failedChecks: 0, lastAppliedSpec: 'x' }),
      1,
    );
    expect(failed).toMatchObject({
      phase: 'Failed',
      message: '0 failed checks (rolls back at 1); Flagger keeps no measurements in the Canary',
      metrics: [],
    });
  });
});
