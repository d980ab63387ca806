import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diagnostics.js';
import type { ManifestObject, Rule, RuleContext } from '../kind.js';
import {
  analysisRunRules,
  analysisTemplateRules,
  metricNameMatches,
  readIntField,
  scanPlaceholders,
} from './analysis-rules.js';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are plain YAML-like data, mutated freely per row
type Obj = Record<string, any>;

/** A template using most providers and features, with no defect. */
const validTemplate = (): Obj => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisTemplate',
  metadata: { name: 'checks' },
  spec: {
    args: [
      { name: 'service' },
      { name: 'api-url', value: 'http://metrics.example' },
      { name: 'token', valueFrom: { secretKeyRef: { name: 'tokens', key: 'api' } } },
      { name: 'count', value: '5' },
    ],
    metrics: [
      {
        name: 'success-rate',
        interval: '1m',
        initialDelay: '30s',
        count: 5,
        failureLimit: 1,
        successCondition: 'result[0] >= 0.95',
        provider: {
          prometheus: {
            address: 'http://prometheus:9090',
            query: 'sum(rate(http_requests_total{service="{{args.service}}",code!~"5.."}[1m]))',
            headers: [{ key: 'Authorization', value: 'Bearer {{ args.token }}' }],
            rangeQuery: { start: 'now() - duration("5m")', end: 'now()', step: '1m' },
          },
        },
      },
      {
        name: 'web-check',
        count: '{{args.count}}',
        interval: '10s',
        successCondition: 'result == true',
        provider: {
          web: {
            method: 'POST',
            url: '{{args.api-url}}/check',
            jsonBody: { service: '{{args.service}}' },
            jsonPath: '{$.ok}',
          },
        },
      },
      {
        name: 'errors',
        failureCondition: 'result > 10',
        provider: {
          datadog: {
            apiVersion: 'v2',
            interval: '5m',
            queries: { a: 'sum:errors{*}', b: 'sum:hits{*}' },
            formula: 'a / b',
          },
        },
      },
      {
        name: 'smoke',
        provider: {
          job: {
            spec: {
              backoffLimit: 0,
              template: {
                spec: {
                  containers: [{ name: 'test', image: 'curl', args: ['{{args.api-url}}'] }],
                  restartPolicy: 'Never',
                },
              },
            },
          },
        },
      },
      {
        name: 'cw',
        provider: { cloudWatch: { interval: '5m', metricDataQueries: [{ id: 'q', expression: 'x' }] } },
      },
    ],
    dryRun: [{ metricName: 'web-check' }, { metricName: 'err.*' }],
    measurementRetention: [{ metricName: 'success-rate', limit: 20 }],
  },
});

const validRun = (): Obj => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisRun',
  metadata: { name: 'checks-abc' },
  spec: {
    args: [{ name: 'service', value: 'web' }],
    metrics: [
      {
        name: 'success-rate',
        successCondition: 'result[0] >= 0.95',
        provider: {
          prometheus: { address: 'http://prometheus:9090', query: 'up{service="{{args.service}}"}' },
        },
      },
    ],
  },
});

const ctxOf = (...objects: Obj[]): RuleContext => ({ objects: objects as ManifestObject[] });

function run(rules: Rule[], obj: Obj, ctx: RuleContext = ctxOf(obj)): Diagnostic[] {
  return rules.flatMap((r) => r(obj as ManifestObject, ctx));
}

const m = (o: Obj, i: number) => o.spec.metrics[i];
const prom = (o: Obj) => m(o, 0).provider.prometheus;
const web = (o: Obj) => m(o, 1).provider.web;
const dd = (o: Obj) => m(o, 2).provider.datadog;

describe('valid objects', () => {
  it('the valid template has no finding', () => {
    expect(run(analysisTemplateRules, validTemplate())).toEqual([]);
  });
  it('the valid run has no finding', () => {
    expect(run(analysisRunRules, validRun())).toEqual([]);
  });
  it('a template with nested templates needs no metrics of its own', () => {
    const t = validTemplate();
    t.spec = { templates: [{ templateName: 'other' }] };
    expect(run(analysisTemplateRules, t)).toEqual([]);
  });
  it('failureLimit -1 is fine with a consecutiveSuccessLimit', () => {
    const t = validTemplate();
    Object.assign(m(t, 0), { failureLimit: -1, consecutiveSuccessLimit: 3 });
    expect(run(analysisTemplateRules, t)).toEqual([]);
  });
  it('a metric with interval and no count (background analysis) is not flagged here', () => {
    const t = validTemplate();
    delete m(t, 0).count;
    expect(run(analysisTemplateRules, t)).toEqual([]);
  });
  it('numeric strings count as integers', () => {
    const t = validTemplate();
    Object.assign(m(t, 0), { count: '5', failureLimit: '2' });
    expect(run(analysisTemplateRules, t)).toEqual([]);
  });
});

type Row = [
  name: string,
  mutate: (o: Obj) => void,
  code: string,
  path: (string | number)[],
  severity?: 'warning',
];

const templateRows: Row[] = [
  [
    'no metrics',
    (o) => {
      o.spec.metrics = [];
    },
    'argo/analysis-no-metrics',
    ['spec', 'metrics'],
  ],
  [
    'metrics absent',
    (o) => {
      delete o.spec.metrics;
      delete o.spec.dryRun;
      delete o.spec.measurementRetention;
    },
    'argo/analysis-no-metrics',
    ['spec', 'metrics'],
  ],
  [
    'duplicate metric name',
    (o) => {
      m(o, 1).name = 'success-rate';
      o.spec.dryRun = [];
    },
    'argo/metric-name-duplicate',
    ['spec', 'metrics', 1, 'name'],
  ],
  [
    'no provider set',
    (o) => {
      m(o, 3).provider = {};
    },
    'argo/metric-provider-missing',
    ['spec', 'metrics', 3, 'provider'],
  ],
  [
    'empty plugin only',
    (o) => {
      m(o, 3).provider = { plugin: {} };
    },
    'argo/metric-provider-missing',
    ['spec', 'metrics', 3, 'provider'],
  ],
  [
    'two providers',
    (o) => {
      m(o, 3).provider.graphite = { address: 'g', query: 'q' };
    },
    'argo/metric-provider-multiple',
    ['spec', 'metrics', 3, 'provider'],
  ],
  [
    'two plugins',
    (o) => {
      m(o, 3).provider = { plugin: { 'a/x': {}, 'b/y': {} } };
    },
    'argo/metric-provider-multiple',
    ['spec', 'metrics', 3, 'provider'],
  ],
  [
    'bad interval',
    (o) => {
      m(o, 0).interval = '5 minutes';
    },
    'argo/invalid-duration',
    ['spec', 'metrics', 0, 'interval'],
  ],
  [
    'bad initialDelay',
    (o) => {
      m(o, 0).initialDelay = '30';
    },
    'argo/invalid-duration',
    ['spec', 'metrics', 0, 'initialDelay'],
  ],
  [
    'count not an integer',
    (o) => {
      m(o, 0).count = 'five';
    },
    'argo/metric-not-integer',
    ['spec', 'metrics', 0, 'count'],
  ],
  [
    'failureLimit a percentage',
    (o) => {
      m(o, 0).failureLimit = '10%';
    },
    'argo/metric-not-integer',
    ['spec', 'metrics', 0, 'failureLimit'],
  ],
  [
    'negative count',
    (o) => {
      m(o, 0).count = -1;
    },
    'argo/metric-count-negative',
    ['spec', 'metrics', 0, 'count'],
  ],
  [
    'failureLimit below -1',
    (o) => {
      m(o, 0).failureLimit = -2;
    },
    'argo/metric-limit-range',
    ['spec', 'metrics', 0, 'failureLimit'],
  ],
  [
    'negative inconclusiveLimit',
    (o) => {
      m(o, 0).inconclusiveLimit = -1;
    },
    'argo/metric-limit-range',
    ['spec', 'metrics', 0, 'inconclusiveLimit'],
  ],
  [
    'negative consecutiveErrorLimit',
    (o) => {
      m(o, 0).consecutiveErrorLimit = -1;
    },
    'argo/metric-limit-range',
    ['spec', 'metrics', 0, 'consecutiveErrorLimit'],
  ],
  [
    'negative consecutiveSuccessLimit',
    (o) => {
      m(o, 0).consecutiveSuccessLimit = '-3';
    },
    'argo/metric-limit-range',
    ['spec', 'metrics', 0, 'consecutiveSuccessLimit'],
  ],
  [
    'failureLimit above count',
    (o) => {
      m(o, 0).failureLimit = 6;
    },
    'argo/metric-limit-exceeds-count',
    ['spec', 'metrics', 0, 'failureLimit'],
  ],
  [
    'inconclusiveLimit above count',
    (o) => {
      m(o, 0).inconclusiveLimit = 9;
    },
    'argo/metric-limit-exceeds-count',
    ['spec', 'metrics', 0, 'inconclusiveLimit'],
  ],
  [
    'consecutiveSuccessLimit above count',
    (o) => {
      m(o, 0).consecutiveSuccessLimit = 6;
    },
    'argo/metric-limit-exceeds-count',
    ['spec', 'metrics', 0, 'consecutiveSuccessLimit'],
  ],
  [
    'count > 1 without interval',
    (o) => {
      delete m(o, 0).interval;
    },
    'argo/metric-count-requires-interval',
    ['spec', 'metrics', 0, 'count'],
  ],
  [
    'failure and success limits both off',
    (o) => {
      m(o, 0).failureLimit = -1;
    },
    'argo/metric-limits-disabled',
    ['spec', 'metrics', 0, 'failureLimit'],
  ],
  [
    'whitespace condition',
    (o) => {
      m(o, 0).successCondition = '  ';
    },
    'argo/metric-condition-empty',
    ['spec', 'metrics', 0, 'successCondition'],
  ],
  [
    'empty condition',
    (o) => {
      m(o, 2).failureCondition = '';
    },
    'argo/metric-condition-empty',
    ['spec', 'metrics', 2, 'failureCondition'],
    'warning',
  ],
  [
    'dryRun matching nothing',
    (o) => {
      o.spec.dryRun[0].metricName = 'latency';
    },
    'argo/dry-run-unmatched',
    ['spec', 'dryRun', 0, 'metricName'],
  ],
  [
    'dryRun repeated',
    (o) => {
      o.spec.dryRun[1].metricName = 'web-check';
    },
    'argo/dry-run-duplicate',
    ['spec', 'dryRun', 1, 'metricName'],
  ],
  [
    'dryRun "*"',
    (o) => {
      o.spec.dryRun = [{ metricName: '*' }];
    },
    'argo/dry-run-wildcard',
    ['spec', 'dryRun', 0, 'metricName'],
    'warning',
  ],
  [
    'retention matching nothing',
    (o) => {
      o.spec.measurementRetention[0].metricName = 'nope';
    },
    'argo/measurement-retention-unmatched',
    ['spec', 'measurementRetention', 0, 'metricName'],
  ],
  [
    'retention repeated',
    (o) => {
      o.spec.measurementRetention.push({ metricName: 'success-rate', limit: 5 });
    },
    'argo/measurement-retention-duplicate',
    ['spec', 'measurementRetention', 1, 'metricName'],
  ],
  [
    'retention limit 0',
    (o) => {
      o.spec.measurementRetention[0].limit = 0;
    },
    'argo/measurement-retention-limit',
    ['spec', 'measurementRetention', 0, 'limit'],
  ],
  [
    'duplicate arg name',
    (o) => {
      o.spec.args.push({ name: 'service', value: 'x' });
    },
    'argo/arg-name-duplicate',
    ['spec', 'args', 4, 'name'],
  ],
  [
    'value and valueFrom',
    (o) => {
      o.spec.args[2].value = 'x';
    },
    'argo/arg-value-and-value-from',
    ['spec', 'args', 2],
  ],
  [
    'valueFrom without a source',
    (o) => {
      o.spec.args[2].valueFrom = {};
    },
    'argo/arg-value-from-one-of',
    ['spec', 'args', 2, 'valueFrom'],
  ],
  [
    'valueFrom with two sources',
    (o) => {
      o.spec.args[2].valueFrom.fieldRef = { fieldPath: 'metadata.name' };
    },
    'argo/arg-value-from-one-of',
    ['spec', 'args', 2, 'valueFrom'],
  ],
  [
    'undeclared arg',
    (o) => {
      prom(o).query = 'up{job="{{args.job}}"}';
    },
    'argo/arg-undeclared',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'query'],
  ],
  [
    'undeclared arg in a header',
    (o) => {
      prom(o).headers[0].value = 'Bearer {{args.tok}}';
    },
    'argo/arg-undeclared',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'headers', 0, 'value'],
  ],
  [
    'undeclared arg in a job',
    (o) => {
      m(o, 3).provider.job.spec.template.spec.containers[0].args = ['{{ args.target }}'];
    },
    'argo/arg-undeclared',
    ['spec', 'metrics', 3, 'provider', 'job', 'spec', 'template', 'spec', 'containers', 0, 'args', 0],
  ],
  [
    'non-arg placeholder',
    (o) => {
      web(o).url = 'http://{{templates.canary.podTemplateHash}}/x';
    },
    'argo/placeholder-unresolvable',
    ['spec', 'metrics', 1, 'provider', 'web', 'url'],
  ],
  [
    'unterminated placeholder',
    (o) => {
      m(o, 0).successCondition = 'result > {{args.count';
    },
    'argo/placeholder-unterminated',
    ['spec', 'metrics', 0, 'successCondition'],
  ],
  [
    'web body and jsonBody',
    (o) => {
      web(o).body = 'raw';
    },
    'argo/web-body-and-json-body',
    ['spec', 'metrics', 1, 'provider', 'web', 'jsonBody'],
  ],
  [
    'web body with GET',
    (o) => {
      delete web(o).method;
    },
    'argo/web-body-requires-post-or-put',
    ['spec', 'metrics', 1, 'provider', 'web', 'method'],
  ],
  [
    'web empty url',
    (o) => {
      web(o).url = '';
    },
    'argo/web-url-empty',
    ['spec', 'metrics', 1, 'provider', 'web', 'url'],
  ],
  [
    'prometheus without query',
    (o) => {
      delete prom(o).query;
    },
    'argo/prometheus-query-missing',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'query'],
  ],
  [
    'prometheus without address',
    (o) => {
      prom(o).address = '';
    },
    'argo/prometheus-address-missing',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'address'],
    'warning',
  ],
  [
    'range query without step',
    (o) => {
      delete prom(o).rangeQuery.step;
    },
    'argo/prometheus-range-step-missing',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'rangeQuery', 'step'],
  ],
  [
    'range query bad step',
    (o) => {
      prom(o).rangeQuery.step = '1 minute';
    },
    'argo/invalid-duration',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'rangeQuery', 'step'],
  ],
  [
    'datadog without query',
    (o) => {
      delete dd(o).queries;
      delete dd(o).formula;
    },
    'argo/datadog-query-missing',
    ['spec', 'metrics', 2, 'provider', 'datadog'],
  ],
  [
    'datadog query and queries',
    (o) => {
      dd(o).query = 'avg:x{*}';
    },
    'argo/datadog-query-and-queries',
    ['spec', 'metrics', 2, 'provider', 'datadog', 'queries'],
  ],
  [
    'datadog queries on v1',
    (o) => {
      delete dd(o).apiVersion;
    },
    'argo/datadog-queries-need-v2',
    ['spec', 'metrics', 2, 'provider', 'datadog', 'apiVersion'],
  ],
  [
    'datadog formula without queries',
    (o) => {
      m(o, 2).provider.datadog = { query: 'avg:x{*}', formula: 'a' };
    },
    'argo/datadog-formula-without-queries',
    ['spec', 'metrics', 2, 'provider', 'datadog', 'formula'],
  ],
  [
    'datadog queries without formula',
    (o) => {
      delete dd(o).formula;
    },
    'argo/datadog-formula-missing',
    ['spec', 'metrics', 2, 'provider', 'datadog', 'queries'],
  ],
  [
    'datadog bad interval',
    (o) => {
      dd(o).interval = 'five minutes';
    },
    'argo/invalid-duration',
    ['spec', 'metrics', 2, 'provider', 'datadog', 'interval'],
  ],
  [
    'cloudWatch bad interval',
    (o) => {
      m(o, 4).provider.cloudWatch.interval = '5';
    },
    'argo/invalid-duration',
    ['spec', 'metrics', 4, 'provider', 'cloudWatch', 'interval'],
  ],
  [
    'nested template without name',
    (o) => {
      o.spec.templates = [{ clusterScope: true }];
    },
    'argo/template-ref-name-missing',
    ['spec', 'templates', 0, 'templateName'],
  ],
];

describe('AnalysisTemplate rules: one defect per row', () => {
  it.each(templateRows)('%s', (_name, mutate, code, path, severity) => {
    const t = validTemplate();
    mutate(t);
    const found = run(analysisTemplateRules, t);
    expect(found.map((d) => ({ code: d.code, path: d.path }))).toEqual([{ code, path }]);
    expect(found[0]?.severity).toBe(severity ?? 'error');
    expect(found[0]?.message).toBeTruthy();
  });

  it('the same rules apply to a ClusterAnalysisTemplate', () => {
    const t = validTemplate();
    t.kind = 'ClusterAnalysisTemplate';
    m(t, 0).count = -1;
    expect(run(analysisTemplateRules, t).map((d) => d.code)).toEqual(['argo/metric-count-negative']);
  });
});

const runRows: Row[] = [
  [
    'no metrics',
    (o) => {
      o.spec.metrics = [];
    },
    'argo/analysis-no-metrics',
    ['spec', 'metrics'],
  ],
  [
    'arg without value',
    (o) => {
      delete o.spec.args[0].value;
    },
    'argo/arg-unresolved',
    ['spec', 'args', 0],
  ],
  [
    'undeclared arg',
    (o) => {
      o.spec.args = [];
    },
    'argo/arg-undeclared',
    ['spec', 'metrics', 0, 'provider', 'prometheus', 'query'],
  ],
  [
    'dryRun matching nothing',
    (o) => {
      o.spec.dryRun = [{ metricName: 'latency' }];
    },
    'argo/dry-run-unmatched',
    ['spec', 'dryRun', 0, 'metricName'],
  ],
  [
    'two providers',
    (o) => {
      m(o, 0).provider.wavefront = { query: 'q' };
    },
    'argo/metric-provider-multiple',
    ['spec', 'metrics', 0, 'provider'],
  ],
];

describe('AnalysisRun rules: one defect per row', () => {
  it.each(runRows)('%s', (_name, mutate, code, path) => {
    const r = validRun();
    mutate(r);
    expect(run(analysisRunRules, r).map((d) => ({ code: d.code, path: d.path }))).toEqual([{ code, path }]);
  });

  it('a run with nested-template-free spec still checks dryRun even when empty of templates', () => {
    const r = validRun();
    r.spec.dryRun = [{ metricName: 'success-.*' }];
    expect(run(analysisRunRules, r)).toEqual([]);
  });
});

describe('args declared by other templates of the same run', () => {
  const user = (): Obj => {
    const t = validRun();
    return {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'user' },
      spec: { metrics: t.spec.metrics },
    };
  };
  const declarer: Obj = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ClusterAnalysisTemplate',
    metadata: { name: 'declarer' },
    spec: { args: [{ name: 'service' }], metrics: [] },
  };
  const rollout = (refs: Obj[]): Obj => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'app' },
    spec: { strategy: { canary: { steps: [{ analysis: { templates: refs } }] } } },
  });

  it('alone, the template uses an undeclared arg', () => {
    const t = user();
    expect(run(analysisTemplateRules, t).map((d) => d.code)).toEqual(['argo/arg-undeclared']);
  });
  it('listed with a template declaring it in a Rollout, the arg is declared', () => {
    const t = user();
    const r = rollout([{ templateName: 'user' }, { templateName: 'declarer', clusterScope: true }]);
    expect(run(analysisTemplateRules, t, ctxOf(t, declarer, r))).toEqual([]);
  });
  it('nested under a template declaring it, the arg is declared', () => {
    const t = user();
    const parent: Obj = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'parent' },
      spec: { args: [{ name: 'service' }], templates: [{ templateName: 'user' }] },
    };
    expect(run(analysisTemplateRules, t, ctxOf(parent, t))).toEqual([]);
  });
  it('listed with a template that was not loaded, the arg cannot be judged', () => {
    const t = user();
    const r = rollout([{ templateName: 'user' }, { templateName: 'elsewhere' }]);
    expect(run(analysisTemplateRules, t, ctxOf(t, r))).toEqual([]);
  });
  it('a template of the other scope does not declare it', () => {
    const t = user();
    const namesake: Obj = { ...declarer, kind: 'AnalysisTemplate', spec: { metrics: [] } };
    // Without clusterScope the reference is to the AnalysisTemplate, which lacks the arg.
    const r = rollout([{ templateName: 'user' }, { templateName: 'declarer' }]);
    expect(run(analysisTemplateRules, t, ctxOf(t, declarer, namesake, r)).map((d) => d.code)).toEqual([
      'argo/arg-undeclared',
    ]);
  });
});

describe('rules never throw', () => {
  it('on arbitrary specs', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (spec, metric) => {
        for (const kind of ['AnalysisTemplate', 'AnalysisRun']) {
          const obj = {
            apiVersion: 'argoproj.io/v1alpha1',
            kind,
            metadata: { name: 'x' },
            spec,
          } as ManifestObject;
          const withMetric = {
            ...obj,
            spec: { metrics: [metric], args: [metric], dryRun: [metric], templates: [metric] },
          };
          for (const o of [obj, withMetric]) {
            run(analysisTemplateRules, o as Obj, ctxOf(o as Obj, withMetric as Obj));
            run(analysisRunRules, o as Obj);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
  it('on a metric with wrong types everywhere', () => {
    const t = validTemplate();
    t.spec.metrics[0] = {
      name: 3,
      interval: 5,
      count: { a: 1 },
      failureLimit: [1],
      successCondition: 7,
      provider: { prometheus: 'x', web: [1], datadog: { queries: 'a' } },
    };
    t.spec.args = 'nope';
    expect(() => run(analysisTemplateRules, t)).not.toThrow();
  });
});

describe('readIntField', () => {
  it.each([
    [undefined, { kind: 'absent' }],
    [null, { kind: 'absent' }],
    [3, { kind: 'int', value: 3 }],
    [-1, { kind: 'int', value: -1 }],
    ['7', { kind: 'int', value: 7 }],
    ['+2', { kind: 'int', value: 2 }],
    ['-1', { kind: 'int', value: -1 }],
    ['{{args.count}}', { kind: 'placeholder' }],
    ['1.5', { kind: 'invalid' }],
    [1.5, { kind: 'invalid' }],
    ['', { kind: 'invalid' }],
    [' 3', { kind: 'invalid' }],
    ['25%', { kind: 'invalid' }],
    [true, { kind: 'invalid' }],
  ])('%j → %j', (value, expected) => {
    expect(readIntField(value)).toEqual(expected);
  });
});

describe('scanPlaceholders', () => {
  it.each([
    ['no placeholder', [], false],
    ['{{args.a}}', ['args.a'], false],
    ['x {{ args.a }} y {{args.b}}', ['args.a', 'args.b'], false],
    ['{{templates.x.podTemplateHash}}', ['templates.x.podTemplateHash'], false],
    ['a {{args.a}} b {{args.b', ['args.a'], true],
    ['{{}}', [''], false],
  ] as const)('%j', (text, tags, unterminated) => {
    expect(scanPlaceholders(text)).toEqual({ tags, unterminated });
  });
});

describe('metricNameMatches', () => {
  it.each([
    ['success-rate', 'success-rate', true],
    ['success', 'success-rate', true], // unanchored, as Go's regexp.MatchString
    ['^success$', 'success-rate', false],
    ['.*', 'anything', true],
    ['*', 'anything', true],
    ['err.*', 'errors', true],
    ['(?i)ERRORS', 'errors', true],
    ['[', 'x', false],
    ['latency', 'errors', false],
  ] as const)('%s ~ %s → %s', (pattern, name, expected) => {
    expect(metricNameMatches(pattern, name)).toBe(expected);
  });
});
