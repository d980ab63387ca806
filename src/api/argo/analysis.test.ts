import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { toCrd } from '../crd.js';
import { checkObjects, loadManifests } from '../load.js';
import { structuralViolations } from '../structural.js';
import { type SchemaNode, validateValue } from '../validate.js';
import {
  type ArgInput,
  effectiveCount,
  kinds,
  type Metric,
  MetricIntError,
  metricDefaults,
  metricInt,
  resolveArgs,
} from './analysis.js';

const kind = (k: string) => {
  const def = kinds.find((d) => d.kind === k);
  if (!def) throw new Error(`no kind ${k}`);
  return def;
};
const validate = (k: string, obj: unknown) => validateValue(kind(k).schema as unknown as SchemaNode, obj);
const errorsOf = (k: string, obj: unknown) => validate(k, obj).filter((d) => d.severity === 'error');

describe('kind definitions', () => {
  it.each([
    ['AnalysisTemplate', 'analysistemplates', 'analysistemplate', ['at'], 'Namespaced'],
    ['ClusterAnalysisTemplate', 'clusteranalysistemplates', 'clusteranalysistemplate', ['cat'], 'Cluster'],
    ['AnalysisRun', 'analysisruns', 'analysisrun', ['ar'], 'Namespaced'],
  ])('%s names and scope match upstream', (k, plural, singular, shortNames, scope) => {
    const def = kind(k);
    expect(def).toMatchObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      plural,
      singular,
      shortNames,
      scope,
    });
    expect(def.rules?.length).toBeGreaterThan(0);
  });

  it('printer columns match upstream', () => {
    const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
    expect(kind('AnalysisTemplate').printerColumns).toMatchObject([age]);
    expect(kind('ClusterAnalysisTemplate').printerColumns).toMatchObject([age]);
    expect(kind('AnalysisRun').printerColumns).toMatchObject([
      { name: 'Status', type: 'string', jsonPath: '.status.phase' },
      age,
    ]);
  });

  it('no analysis kind has a status subresource, as upstream', () => {
    expect(kind('AnalysisRun').subresources).toBeUndefined();
    expect(kind('AnalysisTemplate').subresources).toBeUndefined();
    expect(kind('ClusterAnalysisTemplate').subresources).toBeUndefined();
  });

  it.each(kinds.map((k) => [k.kind, k] as const))('%s CRD is structural', (_name, def) => {
    const crd = toCrd(def) as {
      spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    expect(structuralViolations(crd.spec.versions[0]!.schema.openAPIV3Schema)).toEqual([]);
  });
});

const template = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name: 'success-rate', namespace: 'default' },
  spec: {
    args: [
      { name: 'service-name' },
      { name: 'env', valueFrom: { fieldRef: { fieldPath: "metadata.labels['env']" } } },
      { name: 'token', valueFrom: { secretKeyRef: { name: 'tok', key: 'api' } } },
    ],
    metrics: [
      {
        name: 'success-rate',
        interval: '5m',
        count: '{{args.count}}',
        failureLimit: -1,
        consecutiveSuccessLimit: 2,
        successCondition: 'result[0] >= 0.95',
        provider: {
          prometheus: {
            address: 'http://prometheus:9090',
            query: 'sum(rate(x{svc="{{args.service-name}}"}[5m]))',
            timeout: 30,
            authentication: {
              oauth2: { tokenUrl: 'https://t', clientId: 'c', clientSecret: '{{args.token}}', scopes: ['s'] },
            },
          },
        },
      },
    ],
    dryRun: [{ metricName: '.*' }],
    measurementRetention: [{ metricName: 'success-rate', limit: 20 }],
    templates: [{ templateName: 'base', clusterScope: true }],
  },
};

const runObject = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisRun',
  metadata: { name: 'app-6c5-2', namespace: 'default' },
  spec: {
    args: [{ name: 'service-name', value: 'web' }],
    metrics: [
      {
        name: 'job',
        provider: {
          job: {
            metadata: { labels: { a: 'b' } },
            spec: {
              backoffLimit: 1,
              activeDeadlineSeconds: 300,
              ttlSecondsAfterFinished: 60,
              podFailurePolicy: {
                rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }],
              },
              template: { spec: { containers: [{ name: 't', image: 'busybox' }], restartPolicy: 'Never' } },
            },
          },
        },
      },
    ],
    terminate: false,
    ttlStrategy: { secondsAfterCompletion: 3600, secondsAfterFailure: 86400, secondsAfterSuccess: 60 },
  },
  status: {
    phase: 'Running',
    message: '',
    startedAt: '2025-01-01T00:00:00Z',
    metricResults: [
      {
        name: 'job',
        phase: 'Running',
        count: 1,
        successful: 1,
        failed: 0,
        inconclusive: 0,
        error: 0,
        consecutiveError: 0,
        consecutiveSuccess: 1,
        dryRun: false,
        metadata: { 'job-name': 'x' },
        measurements: [
          {
            phase: 'Successful',
            startedAt: '2025-01-01T00:00:00Z',
            finishedAt: '2025-01-01T00:01:00Z',
            value: '1',
            metadata: { 'job-name': 'x' },
          },
          { phase: 'Running', startedAt: '2025-01-01T00:05:00Z', resumeAt: '2025-01-01T00:05:10Z' },
        ],
      },
    ],
    runSummary: { count: 1, successful: 1 },
    dryRunSummary: { count: 0 },
  },
};

describe('schemas', () => {
  it('accept a full AnalysisTemplate', () => {
    expect(validate('AnalysisTemplate', template)).toEqual([]);
  });
  it('accept the same spec as a ClusterAnalysisTemplate', () => {
    expect(validate('ClusterAnalysisTemplate', { ...template, kind: 'ClusterAnalysisTemplate' })).toEqual([]);
  });
  it('accept a full AnalysisRun with status', () => {
    expect(validate('AnalysisRun', runObject)).toEqual([]);
  });
  it('accept the empty phase Argo writes when it creates a run', () => {
    expect(errorsOf('AnalysisRun', { ...runObject, status: { phase: '' } })).toEqual([]);
  });
  it('reject an unknown run phase', () => {
    expect(errorsOf('AnalysisRun', { ...runObject, status: { phase: 'Done' } }).map((d) => d.path)).toEqual([
      ['status', 'phase'],
    ]);
  });
  it('require metrics in an AnalysisRun but not in a template', () => {
    expect(errorsOf('AnalysisRun', { ...runObject, spec: {} }).map((d) => [d.code, d.path])).toEqual([
      ['required', ['spec', 'metrics']],
    ]);
    expect(
      errorsOf('AnalysisTemplate', { ...template, spec: { templates: [{ templateName: 'x' }] } }),
    ).toEqual([]);
  });
  it('require name and provider of a metric', () => {
    const bad = { ...template, spec: { metrics: [{ interval: '1m' }] } };
    expect(errorsOf('AnalysisTemplate', bad).map((d) => d.path)).toEqual([
      ['spec', 'metrics', 0, 'name'],
      ['spec', 'metrics', 0, 'provider'],
    ]);
  });
  it('take count and limits as integers or strings', () => {
    const metric = {
      name: 'm',
      count: 3,
      failureLimit: '2',
      inconclusiveLimit: '{{args.x}}',
      provider: { graphite: {} },
    };
    expect(errorsOf('AnalysisTemplate', { ...template, spec: { metrics: [metric] } })).toEqual([]);
    const bad = { ...metric, count: 1.5 };
    expect(
      errorsOf('AnalysisTemplate', { ...template, spec: { metrics: [bad] } }).map((d) => d.path),
    ).toEqual([['spec', 'metrics', 0, 'count']]);
  });
  it('leave templated intervals to the rules', () => {
    const metric = { name: 'm', interval: '{{args.interval}}', provider: { graphite: {} } };
    expect(errorsOf('AnalysisTemplate', { ...template, spec: { metrics: [metric] } })).toEqual([]);
  });
  it('reject an unknown metric field with a suggestion', () => {
    const metric = { name: 'm', failureLimt: 1, provider: { graphite: {} } };
    const [d] = errorsOf('AnalysisTemplate', { ...template, spec: { metrics: [metric] } });
    expect(d).toMatchObject({ code: 'unknown-field', path: ['spec', 'metrics', 0, 'failureLimt'] });
    expect(d?.message).toContain('failureLimit');
  });
  it('document the limit defaults', () => {
    const metric = (kind('AnalysisTemplate').schema.properties.spec as unknown as SchemaNode).properties
      ?.metrics?.items;
    expect(metric?.properties?.failureLimit?.default).toBe(0);
    expect(metric?.properties?.inconclusiveLimit?.default).toBe(0);
    expect(metric?.properties?.consecutiveErrorLimit?.default).toBe(4);
    expect(metric?.properties?.consecutiveSuccessLimit?.default).toBe(0);
  });
});

describe.skipIf(!hasShared)('the shared example', () => {
  it('seed-000 AnalysisTemplate passes schema and rules', () => {
    const file = path.join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml');
    const { objects, diagnostics } = loadManifests(readFileSync(file, 'utf8'), file);
    expect(diagnostics).toEqual([]);
    const mine = objects.filter((o) => o.object.kind === 'AnalysisTemplate');
    expect(mine).toHaveLength(1);
    // The Rollout is loaded too, so the rules see it in their context.
    const found = checkObjects(objects).filter((d) => d.object?.startsWith('AnalysisTemplate/'));
    expect(found).toEqual([]);
  });
});

const metric = (fields: Partial<Metric>): Metric => ({ name: 'm', provider: { graphite: {} }, ...fields });

describe('effectiveCount', () => {
  it.each([
    ['neither count nor interval: one measurement', {}, 1],
    ['interval only: unbounded', { interval: '1m' }, undefined],
    ['count 0 is as absent (no interval)', { count: 0 }, 1],
    ['count 0 is as absent (interval)', { count: 0, interval: '1m' }, undefined],
    ['count', { count: 5, interval: '1m' }, 5],
    ['count without interval', { count: 1 }, 1],
    ['count as a string', { count: '3', interval: '1m' }, 3],
    ['resolved string zero', { count: '0' }, 1],
    ['empty interval is no interval', { interval: '' }, 1],
  ] as [string, Partial<Metric>, number | undefined][])('%s', (_name, fields, expected) => {
    expect(effectiveCount(metric(fields))).toBe(expected);
  });

  it.each([['{{args.count}}'], ['five'], ['2.5']])('throws on an unresolved or bad count %j', (count) => {
    expect(() => effectiveCount(metric({ count }))).toThrow(MetricIntError);
  });
  it('names the placeholder in the error', () => {
    expect(() => effectiveCount(metric({ count: '{{args.count}}' }))).toThrow(
      /resolve the \{\{args\}\} placeholders/,
    );
  });
});

describe('metricInt', () => {
  it.each([
    [{}, 'failureLimit', undefined],
    [{ failureLimit: 2 }, 'failureLimit', 2],
    [{ failureLimit: '-1' }, 'failureLimit', -1],
  ] as [Record<string, unknown>, string, number | undefined][])('%j %s → %s', (m, field, expected) => {
    expect(metricInt(m, field)).toBe(expected);
  });
});

describe('metricDefaults', () => {
  it.each([
    [
      'fills every absent limit',
      {},
      { failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, consecutiveSuccessLimit: 0 },
    ],
    [
      'keeps set values, placeholders included',
      { failureLimit: 3, consecutiveErrorLimit: '{{args.e}}' },
      {
        failureLimit: 3,
        inconclusiveLimit: 0,
        consecutiveErrorLimit: '{{args.e}}',
        consecutiveSuccessLimit: 0,
      },
    ],
    [
      'keeps an explicit 0 and -1',
      { consecutiveErrorLimit: 0, failureLimit: -1, consecutiveSuccessLimit: 2 },
      { failureLimit: -1, inconclusiveLimit: 0, consecutiveErrorLimit: 0, consecutiveSuccessLimit: 2 },
    ],
  ] as [string, Partial<Metric>, Record<string, unknown>][])('%s', (_name, fields, expected) => {
    const input = metric({ interval: '1m', ...fields });
    const out = metricDefaults(input);
    expect(out).toEqual({ ...input, ...expected });
    expect(out).not.toBe(input);
    expect(input.failureLimit).toBe(fields.failureLimit);
  });
});

describe('resolveArgs', () => {
  const t = (...args: ArgInput[]) => args;
  it.each([
    [
      'a required arg supplied by the rollout',
      t({ name: 'svc' }),
      t({ name: 'svc', value: 'web' }),
      { args: [{ name: 'svc', value: 'web' }], missing: [], unused: [], conflicting: [] },
    ],
    [
      'a required arg not supplied',
      t({ name: 'svc' }, { name: 'url', value: 'http://x' }),
      t(),
      {
        args: [{ name: 'svc' }, { name: 'url', value: 'http://x' }],
        missing: ['svc'],
        unused: [],
        conflicting: [],
      },
    ],
    [
      'the rollout overrides a default',
      t({ name: 'url', value: 'http://x' }),
      t({ name: 'url', value: 'http://y' }),
      { args: [{ name: 'url', value: 'http://y' }], missing: [], unused: [], conflicting: [] },
    ],
    [
      'an undeclared rollout arg is ignored',
      t({ name: 'svc', value: 'a' }),
      t({ name: 'other', value: 'b' }),
      { args: [{ name: 'svc', value: 'a' }], missing: [], unused: ['other'], conflicting: [] },
    ],
    [
      'valueFrom fills a required arg',
      t({ name: 'hash' }),
      t({ name: 'hash', valueFrom: { podTemplateHashValue: 'Stable' } }),
      {
        args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Stable' } }],
        missing: [],
        unused: [],
        conflicting: [],
      },
    ],
    [
      'a secret arg of the template needs nothing',
      t({ name: 'tok', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }),
      t(),
      {
        args: [{ name: 'tok', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        missing: [],
        unused: [],
        conflicting: [],
      },
    ],
    [
      'value wins over valueFrom in the incoming arg',
      t({ name: 'a' }),
      t({ name: 'a', value: 'v', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }),
      { args: [{ name: 'a', value: 'v' }], missing: [], unused: [], conflicting: [] },
    ],
    [
      'a default value plus an incoming valueFrom conflict',
      t({ name: 'a', value: 'd' }),
      t({ name: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }),
      {
        args: [{ name: 'a', value: 'd', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        missing: [],
        unused: [],
        conflicting: ['a'],
      },
    ],
  ] as [string, ArgInput[], ArgInput[], unknown][])('%s', (_name, templateArgs, rolloutArgs, expected) => {
    expect(resolveArgs(templateArgs, rolloutArgs)).toEqual(expected);
  });

  it('does not change its inputs', () => {
    const templateArgs = [{ name: 'svc' }];
    resolveArgs(templateArgs, [{ name: 'svc', value: 'x' }]);
    expect(templateArgs).toEqual([{ name: 'svc' }]);
  });
  it('takes no args at all', () => {
    expect(resolveArgs()).toEqual({ args: [], missing: [], unused: [], conflicting: [] });
  });
});
