import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alertSeverity,
  analysisField,
  analysisInterval,
  analysisIterations,
  analysisThreshold,
  applyCanaryDefaults,
  canaryReadyThreshold,
  cookieMaxAge,
  deploymentStrategy,
  getAnalysis,
  maxWeight,
  metricInterval,
  nextStepWeight,
  primaryReadyThreshold,
  progressDeadlineSeconds,
  serviceNames,
  servicePortName,
  serviceTargetPort,
  skipAnalysis,
  webhookTimeoutSeconds,
  webhookType,
} from './canary-defaults.js';

/** A Canary whose analysis block is `analysis` (plus optional spec fields). */
const withAnalysis = (
  analysis: Record<string, unknown> | undefined,
  spec: Record<string, unknown> = {},
): { spec: Record<string, unknown> } => ({
  spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' }, ...spec, analysis },
});

describe('getAnalysis / analysisField', () => {
  it('prefers analysis over the deprecated canaryAnalysis', () => {
    const c = { spec: { analysis: { interval: '1m' }, canaryAnalysis: { interval: '2m' } } };
    expect(analysisField(c)).toBe('analysis');
    expect(getAnalysis(c)).toEqual({ interval: '1m' });
  });
  it('falls back to canaryAnalysis', () => {
    const c = { spec: { canaryAnalysis: { interval: '2m' } } };
    expect(analysisField(c)).toBe('canaryAnalysis');
    expect(analysisInterval(c)).toBe(120);
  });
  it('is undefined without either', () => {
    expect(analysisField({ spec: {} })).toBeUndefined();
    expect(getAnalysis({ spec: { analysis: 'x' } })).toBeUndefined();
    expect(getAnalysis(null)).toBeUndefined();
  });
});

describe('skipAnalysis', () => {
  it.each([
    [{ spec: {} }, true],
    [withAnalysis({ interval: '1m' }), false],
    [withAnalysis({ interval: '1m' }, { skipAnalysis: true }), true],
    [{ spec: { skipAnalysis: false, canaryAnalysis: {} } }, false],
  ])('%j → %s', (c, expected) => {
    expect(skipAnalysis(c)).toBe(expected);
  });
});

describe('analysisInterval (seconds)', () => {
  it.each([
    [undefined, 60],
    ['', 60],
    ['30s', 30],
    ['1m', 60],
    ['1m30s', 90],
    ['1h', 3600],
    ['10s', 10],
    ['5s', 10],
    ['0', 10],
    ['-1m', 10],
    ['soon', 60],
    [42, 60],
  ])('interval %j → %d', (interval, seconds) => {
    expect(analysisInterval(withAnalysis({ interval }))).toBe(seconds);
  });
  it('is 60 without analysis', () => {
    expect(analysisInterval({ spec: {} })).toBe(60);
  });
});

describe('analysisThreshold', () => {
  it.each([
    [undefined, 1],
    [0, 1],
    [-2, 1],
    [1, 1],
    [5, 5],
    ['5', 1],
  ])('threshold %j → %d', (threshold, expected) => {
    expect(analysisThreshold(withAnalysis({ threshold }))).toBe(expected);
  });
});

describe('maxWeight', () => {
  it.each([
    [{}, 100],
    [{ maxWeight: 50 }, 50],
    [{ maxWeight: 0 }, 100],
    [{ maxWeight: -5 }, 100],
    [{ stepWeights: [1, 2, 10, 80] }, 80],
    [{ stepWeights: [1, 2, 10, 80], maxWeight: 30 }, 80],
    [{ stepWeights: [10, 120] }, 100],
    [{ stepWeights: [] as number[], maxWeight: 40 }, 40],
  ])('%j → %d', (analysis, expected) => {
    expect(maxWeight(withAnalysis(analysis))).toBe(expected);
  });
  it('is 100 without analysis', () => {
    expect(maxWeight({})).toBe(100);
  });
});

describe('nextStepWeight', () => {
  const ladder = withAnalysis({ stepWeights: [1, 2, 10, 80] });
  it.each([
    ['stepWeight 10 at 0', withAnalysis({ stepWeight: 10 }), 0, 10],
    ['stepWeight 10 at 40', withAnalysis({ stepWeight: 10 }), 40, 10],
    ['no step at all stalls', withAnalysis({}), 0, 0],
    ['stepWeight 0 stalls', withAnalysis({ stepWeight: 0 }), 20, 0],
    ['stepWeight wins over stepWeights', withAnalysis({ stepWeight: 5, stepWeights: [10, 50] }), 0, 5],
    ['ladder from 0: first entry', ladder, 0, 1],
    ['ladder from 1: gap to 2', ladder, 1, 1],
    ['ladder from 2: gap to 10', ladder, 2, 8],
    ['ladder from 10: gap to 80', ladder, 10, 70],
    ['ladder from the last entry: rest to 100', ladder, 80, 20],
    ['ladder off the ladder: rest to 100', ladder, 5, 95],
    ['ladder at 100: 1, to promote', ladder, 100, 1],
    ['ladder first entry capped at 100', withAnalysis({ stepWeights: [150] }), 0, 100],
  ])('%s', (_name, canary, current, expected) => {
    expect(nextStepWeight(canary, current)).toBe(expected);
  });
});

describe('deploymentStrategy', () => {
  const match = [{ headers: { 'x-canary': { exact: 'insider' } } }];
  it.each([
    ['stepWeight only', withAnalysis({ stepWeight: 10 }), undefined, 'canary'],
    ['no analysis', { spec: {} }, undefined, 'canary'],
    ['iterations', withAnalysis({ iterations: 10 }), undefined, 'blue-green'],
    ['iterations + match', withAnalysis({ iterations: 10, match }), undefined, 'ab-testing'],
    ['match without iterations', withAnalysis({ stepWeight: 10, match }), undefined, 'canary'],
    ['iterations 0 + match', withAnalysis({ iterations: 0, match }), undefined, 'canary'],
    [
      'kubernetes provider, stepWeight',
      withAnalysis({ stepWeight: 10 }, { provider: 'kubernetes' }),
      undefined,
      'blue-green',
    ],
    [
      'kubernetes provider, A/B',
      withAnalysis({ iterations: 5, match }, { provider: 'kubernetes' }),
      undefined,
      'blue-green',
    ],
    ['kubernetes as the controller default', withAnalysis({ stepWeight: 10 }), 'kubernetes', 'blue-green'],
    [
      'spec.provider beats the default',
      withAnalysis({ stepWeight: 10 }, { provider: 'istio' }),
      'kubernetes',
      'canary',
    ],
  ])('%s', (_name, canary, meshProvider, expected) => {
    expect(deploymentStrategy(canary, meshProvider)).toBe(expected);
  });
});

describe('analysisIterations', () => {
  it.each([
    [withAnalysis({ iterations: 3 }), 3],
    [withAnalysis({}), 0],
    [withAnalysis({}, { provider: 'kubernetes' }), 10],
    [withAnalysis({ iterations: 0 }, { provider: 'kubernetes' }), 10],
    [withAnalysis({ iterations: 4 }, { provider: 'kubernetes' }), 4],
  ])('%j → %d', (canary, expected) => {
    expect(analysisIterations(canary)).toBe(expected);
  });
});

describe('other defaults', () => {
  it('metricInterval: 1m unless set', () => {
    expect(metricInterval({ name: 'x' })).toBe('1m');
    expect(metricInterval({ name: 'x', interval: '' })).toBe('1m');
    expect(metricInterval({ name: 'x', interval: '30s' })).toBe('30s');
    expect(metricInterval(undefined)).toBe('1m');
  });
  it('progressDeadlineSeconds: 600 unless set', () => {
    expect(progressDeadlineSeconds({ spec: {} })).toBe(600);
    expect(progressDeadlineSeconds({ spec: { progressDeadlineSeconds: 60 } })).toBe(60);
  });
  it('ready thresholds: 100 unless set', () => {
    expect(primaryReadyThreshold(withAnalysis({}))).toBe(100);
    expect(canaryReadyThreshold(withAnalysis({}))).toBe(100);
    expect(primaryReadyThreshold(withAnalysis({ primaryReadyThreshold: 50 }))).toBe(50);
    expect(canaryReadyThreshold(withAnalysis({ canaryReadyThreshold: 0 }))).toBe(0);
  });
  it('serviceNames: service.name, else targetRef.name', () => {
    expect(serviceNames(withAnalysis({}))).toEqual({
      apex: 'podinfo',
      primary: 'podinfo-primary',
      canary: 'podinfo-canary',
    });
    expect(serviceNames(withAnalysis({}, { service: { name: 'web', port: 80 } })).primary).toBe(
      'web-primary',
    );
  });
  it('service port name and target port', () => {
    expect(servicePortName(withAnalysis({}, { service: { port: 80 } }))).toBe('http');
    expect(servicePortName(withAnalysis({}, { service: { port: 80, portName: 'grpc' } }))).toBe('grpc');
    expect(serviceTargetPort(withAnalysis({}, { service: { port: 80 } }))).toBe(80);
    expect(serviceTargetPort(withAnalysis({}, { service: { port: 80, targetPort: 'http' } }))).toBe('http');
    expect(serviceTargetPort(withAnalysis({}, { service: { port: 80, targetPort: 9898 } }))).toBe(9898);
  });
  it.each([
    [{}, 10],
    [{ timeout: '' }, 10],
    [{ timeout: '5' }, 10],
    [{ timeout: '30s' }, 30],
    [{ timeout: '1m' }, 60],
    [{ timeout: 'never' }, 10],
  ])('webhookTimeoutSeconds %j → %d', (w, expected) => {
    expect(webhookTimeoutSeconds(w)).toBe(expected);
  });
  it('webhookType: empty means rollout', () => {
    expect(webhookType({})).toBe('rollout');
    expect(webhookType({ type: '' })).toBe('rollout');
    expect(webhookType({ type: 'pre-rollout' })).toBe('pre-rollout');
  });
  it('alertSeverity: empty means info', () => {
    expect(alertSeverity({})).toBe('info');
    expect(alertSeverity({ severity: '' })).toBe('info');
    expect(alertSeverity({ severity: 'error' })).toBe('error');
  });
  it('cookieMaxAge: 86400 unless set', () => {
    expect(cookieMaxAge({ cookieName: 'c' })).toBe(86400);
    expect(cookieMaxAge({ cookieName: 'c', maxAge: 0 })).toBe(86400);
    expect(cookieMaxAge({ cookieName: 'c', maxAge: 60 })).toBe(60);
  });
});

describe('applyCanaryDefaults', () => {
  it('writes out every default and leaves the input alone', () => {
    const input = {
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'podinfo' },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
        service: { port: 9898 },
        analysis: {
          threshold: 0,
          stepWeights: [5, 20, 60],
          metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
          webhooks: [{ name: 'load', url: 'http://lt/', timeout: '5' }],
          alerts: [{ name: 'chat', providerRef: { name: 'slack' } }],
          sessionAffinity: { cookieName: 'c' },
        },
      },
    };
    const before = structuredClone(input);
    const out = applyCanaryDefaults(input);
    expect(input).toEqual(before);
    expect(out.spec).toEqual({
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      progressDeadlineSeconds: 600,
      service: { port: 9898, portName: 'http', targetPort: 9898 },
      analysis: {
        interval: '60s',
        threshold: 1,
        primaryReadyThreshold: 100,
        canaryReadyThreshold: 100,
        maxWeight: 60,
        stepWeights: [5, 20, 60],
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' }],
        webhooks: [{ name: 'load', url: 'http://lt/', type: 'rollout', timeout: '10s' }],
        alerts: [{ name: 'chat', severity: 'info', providerRef: { name: 'slack' } }],
        sessionAffinity: { cookieName: 'c', maxAge: 86400 },
      },
    });
  });

  it('keeps values that are set', () => {
    const out = applyCanaryDefaults(
      withAnalysis(
        { interval: '30s', threshold: 5, maxWeight: 50, stepWeight: 10, primaryReadyThreshold: 80 },
        { progressDeadlineSeconds: 120, service: { port: 80, portName: 'grpc', targetPort: 'grpc' } },
      ),
    );
    expect(out.spec.progressDeadlineSeconds).toBe(120);
    expect(out.spec.service).toEqual({ port: 80, portName: 'grpc', targetPort: 'grpc' });
    expect(out.spec.analysis).toMatchObject({
      interval: '30s',
      threshold: 5,
      maxWeight: 50,
      primaryReadyThreshold: 80,
    });
  });

  it('forces blue/green for the kubernetes provider', () => {
    const out = applyCanaryDefaults(
      withAnalysis(
        { interval: '1m', threshold: 2, stepWeight: 10, match: [{ headers: { x: { exact: 'y' } } }] },
        { provider: 'kubernetes', service: { port: 80 } },
      ),
    );
    expect(out.spec.analysis).toMatchObject({ iterations: 10 });
    expect(out.spec.analysis).not.toHaveProperty('match');
  });

  it('defaults the deprecated canaryAnalysis when it is the only block', () => {
    const out = applyCanaryDefaults({ spec: { canaryAnalysis: { stepWeight: 10 } } });
    expect(out.spec.canaryAnalysis).toMatchObject({ interval: '60s', threshold: 1, maxWeight: 100 });
  });

  it('never throws', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (spec, weight) => {
        const c = { spec };
        applyCanaryDefaults(c);
        analysisInterval(c);
        maxWeight(c);
        nextStepWeight(c, typeof weight === 'number' ? weight : 0);
        deploymentStrategy(c);
        serviceNames(c);
      }),
      { numRuns: 300 },
    );
  });
});
