import { describe, expect, it } from 'vitest';
import type { AnalysisTemplateSpec } from '../../api/argo/analysis.js';
import { buildAnalysisRun, fieldValue, type TemplateKind } from './templates.js';

const metric = (name: string) => ({
  name,
  provider: { prometheus: { address: 'http://p:9090', query: 'q' } },
});

const TEMPLATES: Record<string, AnalysisTemplateSpec> = {
  'AnalysisTemplate/success': {
    args: [{ name: 'service' }, { name: 'threshold', value: '0.9' }],
    metrics: [metric('success-rate')],
  },
  'AnalysisTemplate/latency': { args: [{ name: 'service' }], metrics: [metric('p99')] },
  'AnalysisTemplate/parent': {
    templates: [{ templateName: 'success' }, { templateName: 'shared', clusterScope: true }],
    dryRun: [{ metricName: 'p9.*' }],
  },
  'ClusterAnalysisTemplate/shared': {
    metrics: [metric('p99')],
    measurementRetention: [{ metricName: 'p99', limit: 20 }],
  },
  'AnalysisTemplate/dup': { metrics: [metric('success-rate')] },
  'AnalysisTemplate/other-threshold': { args: [{ name: 'threshold', value: '0.5' }], metrics: [metric('x')] },
  'AnalysisTemplate/loop-a': { templates: [{ templateName: 'loop-b' }] },
  'AnalysisTemplate/loop-b': { templates: [{ templateName: 'loop-a' }], metrics: [metric('y')] },
  'AnalysisTemplate/hash': {
    args: [{ name: 'canary-hash' }, { name: 'app' }, { name: 'token' }],
    metrics: [metric('z')],
  },
  'AnalysisTemplate/empty': {},
};
const lookup = (kind: TemplateKind, name: string) => {
  const spec = TEMPLATES[`${kind}/${name}`];
  return spec ? { spec } : undefined;
};

describe('buildAnalysisRun', () => {
  it('merges templates and applies the rollout args', () => {
    const r = buildAnalysisRun(
      {
        name: 'ro-abc-2',
        templates: [{ templateName: 'success' }, { templateName: 'latency' }],
        args: [
          { name: 'service', value: 'web' },
          { name: 'unused', value: 'x' },
        ],
      },
      lookup,
    );
    expect(r).toEqual({
      ok: true,
      valueFrom: [],
      run: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisRun',
        metadata: { name: 'ro-abc-2' },
        spec: {
          metrics: [metric('success-rate'), metric('p99')],
          args: [
            { name: 'service', value: 'web' },
            { name: 'threshold', value: '0.9' },
          ],
        },
      },
    });
  });

  it('flattens nested templates (cluster-scoped too) with their dryRun and measurementRetention rules', () => {
    const r = buildAnalysisRun(
      {
        name: 'n',
        templates: [{ templateName: 'parent' }],
        args: [{ name: 'service', value: 's' }],
        dryRun: [{ metricName: 'success-rate' }],
      },
      lookup,
    );
    expect(r.ok && r.run.spec).toEqual({
      metrics: [metric('success-rate'), metric('p99')],
      args: [
        { name: 'service', value: 's' },
        { name: 'threshold', value: '0.9' },
      ],
      dryRun: [{ metricName: 'p9.*' }, { metricName: 'success-rate' }],
      measurementRetention: [{ metricName: 'p99', limit: 20 }],
    });
  });

  it('resolves podTemplateHashValue and fieldRef when the run is created; secrets stay references', () => {
    const r = buildAnalysisRun(
      {
        name: 'h',
        templates: [{ templateName: 'hash' }],
        args: [
          { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
          { name: 'app', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'token', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
        ],
        podTemplateHashes: { Stable: 'aaa', Latest: 'bbb' },
        owner: { metadata: { labels: { app: 'shop' } } },
      },
      lookup,
    );
    expect(r.ok && r.run.spec.args).toEqual([
      { name: 'canary-hash', value: 'bbb' },
      { name: 'app', value: 'shop' },
      { name: 'token', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
    ]);
    expect(r.ok && r.valueFrom.map((a) => a.name)).toEqual(['token']);
  });

  it.each([
    [{ templates: [{ templateName: 'nope' }] }, 'AnalysisTemplate "nope" not found'],
    [{ templates: [{ templateName: 'shared' }] }, 'AnalysisTemplate "shared" not found'],
    [{ templates: [{}] }, 'a template reference needs a templateName'],
    [{ templates: [] }, 'no templates'],
    [{ templates: [{ templateName: 'empty' }] }, 'the templates define no metrics'],
    [
      { templates: [{ templateName: 'success' }, { templateName: 'dup' }] },
      'AnalysisTemplate/dup: two metrics have the same name "success-rate"',
    ],
    [
      {
        templates: [{ templateName: 'success' }, { templateName: 'other-threshold' }],
        args: [{ name: 'service', value: 's' }],
      },
      'AnalysisTemplate/other-threshold: arg "threshold" has two different values ("0.9", "0.5")',
    ],
    [
      { templates: [{ templateName: 'loop-a' }] },
      'AnalysisTemplate/loop-a -> AnalysisTemplate/loop-b -> AnalysisTemplate/loop-a: templates refer to each other in a cycle',
    ],
    [{ templates: [{ templateName: 'success' }] }, 'args.service was not resolved'],
    [
      {
        templates: [{ templateName: 'latency' }],
        args: [{ name: 'service', value: 's' }],
        dryRun: [{ metricName: 'a' }, { metricName: 'a' }],
      },
      'the rollout: two dryRun rules for metricName "a"',
    ],
    [
      {
        templates: [{ templateName: 'hash' }],
        args: [
          { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
          { name: 'app', value: 'a' },
          { name: 'token', value: 't' },
        ],
      },
      'arg "canary-hash": no Stable pod-template hash yet',
    ],
    [
      {
        templates: [{ templateName: 'hash' }],
        args: [
          { name: 'canary-hash', value: 'h' },
          { name: 'app', valueFrom: { fieldRef: { fieldPath: 'metadata.nope' } } },
          { name: 'token', value: 't' },
        ],
        owner: {},
      },
      'arg "app": fieldPath "metadata.nope" not found',
    ],
  ])('%j is refused: %s', (input, message) => {
    expect(
      buildAnalysisRun({ name: 'x', ...input } as Parameters<typeof buildAnalysisRun>[0], lookup),
    ).toEqual({ ok: false, message });
  });
});

describe('fieldValue', () => {
  it.each([
    ['metadata.name', 'ro'],
    ["metadata.labels['app']", 'shop'],
    ['metadata.annotations["team"]', 'a'],
    ['spec.replicas', '3'],
    ['spec', undefined],
    ['spec.missing.deeper', undefined],
  ])('%s', (path, want) => {
    const o = {
      metadata: { name: 'ro', labels: { app: 'shop' }, annotations: { team: 'a' } },
      spec: { replicas: 3 },
    };
    expect(fieldValue(o, path)).toBe(want);
  });
});
