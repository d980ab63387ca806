import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../kind.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { ExperimentSchema, experimentKind, kinds } from './experiment.js';

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are edited freely
type Json = Record<string, any>;

const schema = ExperimentSchema as unknown as SchemaNode;

const experiment = (): Json => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Experiment',
  metadata: { name: 'compare' },
  spec: {
    duration: '20m',
    progressDeadlineSeconds: 300,
    scaleDownDelaySeconds: 10,
    terminate: false,
    templates: [
      {
        name: 'baseline',
        replicas: 1,
        minReadySeconds: 5,
        selector: { matchLabels: { app: 'demo', variant: 'baseline' } },
        template: {
          metadata: { labels: { app: 'demo', variant: 'baseline' } },
          spec: { containers: [{ name: 'app', image: 'demo:1' }] },
        },
        service: { name: 'baseline' },
      },
      {
        name: 'candidate',
        selector: { matchLabels: { app: 'demo', variant: 'candidate' } },
        template: {
          metadata: { labels: { app: 'demo', variant: 'candidate' } },
          spec: { containers: [{ name: 'app', image: 'demo:2' }] },
        },
      },
    ],
    analyses: [
      {
        name: 'compare',
        templateName: 'mann-whitney',
        clusterScope: true,
        requiredForCompletion: true,
        args: [
          { name: 'baseline-hash', value: '{{templates.baseline.podTemplateHash}}' },
          { name: 'token', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
          { name: 'ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        ],
      },
    ],
    dryRun: [{ metricName: 'latency' }],
    measurementRetention: [{ metricName: '*', limit: 5 }],
    analysisRunMetadata: { labels: { team: 'a' } },
  },
  status: {
    phase: 'Running',
    availableAt: '2026-01-01T00:00:00Z',
    templateStatuses: [
      {
        name: 'baseline',
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        status: 'Running',
        podTemplateHash: 'abc',
      },
    ],
    analysisRuns: [{ name: 'compare', analysisRun: 'compare-abc', phase: 'Running' }],
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: 'x',
        lastUpdateTime: '2026-01-01T00:00:00Z',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ],
  },
});

const run = (o: Json) => (experimentKind.rules ?? []).flatMap((r) => r(o as ManifestObject, { objects: [] }));

describe('Experiment kind', () => {
  it('is defined as upstream, without a status subresource', () => {
    expect(kinds).toEqual([experimentKind]);
    expect(experimentKind).toMatchObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      plural: 'experiments',
      singular: 'experiment',
      shortNames: ['exp'],
      scope: 'Namespaced',
    });
    expect(experimentKind.subresources).toBeUndefined();
    expect(experimentKind.printerColumns?.map((c) => c.name)).toEqual(['Status', 'Age']);
  });

  it('accepts every kind of field', () => {
    expect(validateValue(schema, experiment())).toEqual([]);
  });

  it('requires templates, each with a selector and a template', () => {
    const e = experiment();
    delete e.spec.templates[1].selector;
    delete e.spec.templates[1].template;
    const paths = validateValue(schema, e).map((d) => `${d.code} ${d.path.join('.')}`);
    expect(paths.sort()).toEqual([
      'required spec.templates.1.selector',
      'required spec.templates.1.template',
    ]);
    const none = experiment();
    delete none.spec.templates;
    expect(validateValue(schema, none).map((d) => d.path.join('.'))).toEqual(['spec.templates']);
  });

  it('rejects a duration that is not a Go duration', () => {
    const e = experiment();
    e.spec.duration = '20 minutes';
    expect(validateValue(schema, e).map((d) => d.code)).toEqual(['format']);
  });
});

describe('Experiment rules', () => {
  it('finds nothing in a valid experiment', () => {
    expect(run(experiment())).toEqual([]);
  });

  const rows: [string, (e: Json) => void, string, (string | number)[]][] = [
    [
      'duplicate template name',
      (e) => (e.spec.templates[1].name = 'baseline'),
      'argo/experiment-template-name-duplicate',
      ['spec', 'templates', 1, 'name'],
    ],
    [
      'duplicate analysis name',
      (e) => e.spec.analyses.push({ name: 'compare', templateName: 'other' }),
      'argo/experiment-analysis-name-duplicate',
      ['spec', 'analyses', 1, 'name'],
    ],
    [
      'selector does not match the template labels',
      (e) => (e.spec.templates[0].template.metadata.labels.variant = 'candidate'),
      'argo/selector-mismatch',
      ['spec', 'templates', 0, 'template', 'metadata', 'labels'],
    ],
    [
      'empty selector',
      (e) => (e.spec.templates[1].selector = {}),
      'argo/selector-empty',
      ['spec', 'templates', 1, 'selector'],
    ],
  ];

  it.each(rows)('%s', (_, edit, code, path) => {
    const e = experiment();
    edit(e);
    expect(run(e).map((d) => [d.code, d.path])).toEqual([[code, path]]);
  });

  it('never throws', () => {
    for (const spec of [
      null,
      1,
      'x',
      [],
      { templates: 'x' },
      { templates: [null, 1, { selector: [] }] },
      { analyses: [{}] },
    ])
      expect(() => run({ ...experiment(), spec })).not.toThrow();
  });
});
