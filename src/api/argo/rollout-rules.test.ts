import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../diagnostics.js';
import type { ManifestObject } from '../kind.js';
import { checkSelector, rolloutRules } from './rollout-rules.js';

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are edited freely
type Json = Record<string, any>;

const ctx = { objects: [] };
const run = (o: Json): Diagnostic[] => rolloutRules.flatMap((r) => r(o as ManifestObject, ctx));

const podTemplate = () => ({
  metadata: { labels: { app: 'demo' } },
  spec: { containers: [{ name: 'app', image: 'demo:1' }] },
});

const rollout = (spec: Json): Json => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo' },
  spec: { replicas: 4, selector: { matchLabels: { app: 'demo' } }, template: podTemplate(), ...spec },
});

/** Istio canary that uses every step type, background analysis and anti-affinity. */
const istio = () =>
  rollout({
    strategy: {
      canary: {
        canaryService: 'demo-canary',
        stableService: 'demo-stable',
        trafficRouting: {
          istio: { virtualService: { name: 'demo', routes: ['primary'] } },
          managedRoutes: [{ name: 'header' }, { name: 'mirror' }],
        },
        analysis: {
          templates: [{ templateName: 'success-rate' }],
          startingStep: 1,
          args: [{ name: 'app', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }],
        },
        antiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { weight: 50 } },
        steps: [
          { setWeight: 10 },
          { pause: { duration: '30s' } },
          { setCanaryScale: { replicas: 2 } },
          {
            setHeaderRoute: {
              name: 'header',
              match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }],
            },
          },
          {
            setMirrorRoute: {
              name: 'mirror',
              percentage: 50,
              match: [
                { method: { exact: 'GET' }, path: { prefix: '/api' }, headers: { 'x-a': { regex: '.*' } } },
              ],
            },
          },
          {
            analysis: {
              templates: [{ templateName: 'success-rate' }],
              args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' } }],
            },
          },
          {
            experiment: {
              duration: '5m',
              templates: [
                { name: 'baseline', specRef: 'stable', weight: 5 },
                { name: 'canary', specRef: 'canary', weight: 5 },
              ],
              analyses: [
                {
                  name: 'compare',
                  templateName: 'compare',
                  args: [{ name: 'ns', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
                },
              ],
            },
          },
          { plugin: { name: 'argoproj-labs/notify', config: { channel: 'releases' } } },
          { pause: {} },
        ],
      },
    },
  });

/** Canary without a traffic router (weights by pod count). */
const basic = () =>
  rollout({
    strategy: {
      canary: {
        maxSurge: 1,
        maxUnavailable: 0,
        steps: [{ setWeight: 20 }, { pause: { duration: 60 } }, { setWeight: 50 }],
      },
    },
  });

/** nginx canary with a larger total weight. */
const nginx = () =>
  rollout({
    strategy: {
      canary: {
        canaryService: 'demo-canary',
        stableService: 'demo-stable',
        trafficRouting: {
          nginx: { stableIngress: 'demo' },
          maxTrafficWeight: 1000,
          managedRoutes: [{ name: 'header' }],
        },
        steps: [{ setWeight: 500 }, { pause: {} }],
      },
    },
  });

/** ALB canary with ping-pong Services. */
const alb = () =>
  rollout({
    strategy: {
      canary: {
        pingPong: { pingService: 'demo-ping', pongService: 'demo-pong' },
        trafficRouting: {
          alb: { ingress: 'demo', servicePort: 80, rootService: 'demo-root' },
          managedRoutes: [{ name: 'header' }, { name: 'mirror' }],
        },
        steps: [
          { setWeight: 10 },
          {
            setHeaderRoute: {
              name: 'header',
              match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }],
            },
          },
        ],
      },
    },
  });

const blueGreen = () =>
  rollout({
    revisionHistoryLimit: 3,
    strategy: {
      blueGreen: {
        activeService: 'demo-active',
        previewService: 'demo-preview',
        autoPromotionEnabled: false,
        scaleDownDelayRevisionLimit: 2,
        antiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} },
        prePromotionAnalysis: {
          templates: [{ templateName: 'smoke' }],
          args: [{ name: 'svc', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        },
      },
    },
  });

/** Pod template taken from a Deployment. */
const workloadRef = (): Json => {
  const r = rollout({
    workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo', scaleDown: 'progressively' },
    strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
  });
  delete r.spec.selector;
  delete r.spec.template;
  return r;
};

const bases = { istio, basic, nginx, alb, blueGreen, workloadRef };

describe('valid Rollouts', () => {
  it.each(Object.entries(bases))('%s has no findings', (_, make) => {
    expect(run(make())).toEqual([]);
  });
});

const C = ['spec', 'strategy', 'canary'];
const BG = ['spec', 'strategy', 'blueGreen'];
const step = (i: number, ...rest: (string | number)[]) => [...C, 'steps', i, ...rest];

interface Row {
  name: string;
  base: () => Json;
  edit: (r: Json) => void;
  /** [code, path] of every expected finding; severity is error unless `warning`. */
  want: [string, (string | number)[]][];
  warning?: boolean;
}

const rows: Row[] = [
  // spec
  {
    name: 'negative replicas',
    base: istio,
    edit: (r) => (r.spec.replicas = -1),
    want: [['argo/negative', ['spec', 'replicas']]],
  },
  {
    name: 'negative minReadySeconds',
    base: istio,
    edit: (r) => (r.spec.minReadySeconds = -5),
    want: [['argo/negative', ['spec', 'minReadySeconds']]],
  },
  {
    name: 'progressDeadlineSeconds not above minReadySeconds (default 600)',
    base: istio,
    edit: (r) => (r.spec.minReadySeconds = 600),
    want: [['argo/progress-deadline', ['spec', 'progressDeadlineSeconds']]],
  },
  {
    name: 'progressDeadlineSeconds below minReadySeconds',
    base: basic,
    edit: (r) => Object.assign(r.spec, { minReadySeconds: 30, progressDeadlineSeconds: 20 }),
    want: [['argo/progress-deadline', ['spec', 'progressDeadlineSeconds']]],
  },
  // selector and template
  {
    name: 'no selector',
    base: istio,
    edit: (r) => delete r.spec.selector,
    want: [['argo/selector-missing', ['spec', 'selector']]],
  },
  {
    name: 'empty selector',
    base: istio,
    edit: (r) => (r.spec.selector = {}),
    want: [['argo/selector-empty', ['spec', 'selector']]],
  },
  {
    name: 'selector does not match labels',
    base: istio,
    edit: (r) => (r.spec.template.metadata.labels = { app: 'other' }),
    want: [['argo/selector-mismatch', ['spec', 'template', 'metadata', 'labels']]],
  },
  {
    name: 'selector expression not matching',
    base: basic,
    edit: (r) => (r.spec.selector.matchExpressions = [{ key: 'tier', operator: 'Exists' }]),
    want: [['argo/selector-mismatch', ['spec', 'template', 'metadata', 'labels']]],
  },
  {
    name: 'unknown selector operator',
    base: istio,
    edit: (r) => (r.spec.selector.matchExpressions = [{ key: 'app', operator: 'Equals', values: ['demo'] }]),
    want: [['argo/selector-invalid', ['spec', 'selector', 'matchExpressions', 0, 'operator']]],
  },
  {
    name: 'template and workloadRef',
    base: istio,
    edit: (r) => (r.spec.workloadRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo' }),
    want: [['argo/template-with-workload-ref', ['spec', 'template']]],
  },
  {
    name: 'no containers',
    base: istio,
    edit: (r) => (r.spec.template.spec.containers = []),
    want: [['argo/template-containers', ['spec', 'template', 'spec', 'containers']]],
  },
  {
    name: 'restartPolicy other than Always',
    base: basic,
    edit: (r) => (r.spec.template.spec.restartPolicy = 'OnFailure'),
    want: [['argo/template-restart-policy', ['spec', 'template', 'spec', 'restartPolicy']]],
  },
  // strategy
  {
    name: 'both strategies',
    base: istio,
    edit: (r) => (r.spec.strategy.blueGreen = { activeService: 'demo-active' }),
    want: [['argo/strategy-multiple', ['spec', 'strategy']]],
  },
  {
    name: 'no strategy',
    base: istio,
    edit: (r) => delete r.spec.strategy,
    want: [['argo/strategy-missing', ['spec', 'strategy']]],
  },
  {
    name: 'empty (null) canary',
    base: istio,
    edit: (r) => (r.spec.strategy.canary = null),
    want: [['argo/strategy-missing', ['spec', 'strategy']]],
  },
  // canary
  {
    name: 'maxSurge and maxUnavailable both zero',
    base: basic,
    edit: (r) => Object.assign(r.spec.strategy.canary, { maxSurge: '0%', maxUnavailable: 0 }),
    want: [['argo/max-surge-unavailable-zero', [...C, 'maxSurge']]],
  },
  {
    name: 'same canary and stable Service',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.stableService = 'demo-canary'),
    want: [['argo/canary-services-same', [...C, 'canaryService']]],
  },
  {
    name: 'trafficRouting without canaryService',
    base: istio,
    edit: (r) => delete r.spec.strategy.canary.canaryService,
    want: [['argo/traffic-routing-services', [...C, 'canaryService']]],
  },
  {
    name: 'scaleDownDelaySeconds without trafficRouting',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.scaleDownDelaySeconds = 30),
    want: [['argo/scale-down-delay-needs-traffic-routing', [...C, 'scaleDownDelaySeconds']]],
  },
  {
    name: 'dynamicStableScale without trafficRouting',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.dynamicStableScale = true),
    want: [['argo/dynamic-stable-scale-needs-traffic-routing', [...C, 'dynamicStableScale']]],
  },
  {
    name: 'dynamicStableScale with scaleDownDelaySeconds',
    base: istio,
    edit: (r) =>
      Object.assign(r.spec.strategy.canary, { dynamicStableScale: true, scaleDownDelaySeconds: 10 }),
    want: [['argo/dynamic-stable-scale-with-scale-down-delay', [...C, 'dynamicStableScale']]],
  },
  {
    name: 'maxTrafficWeight with Istio',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.trafficRouting.maxTrafficWeight = 1000),
    want: [['argo/max-traffic-weight-router', [...C, 'trafficRouting', 'maxTrafficWeight']]],
  },
  {
    name: 'same ping and pong Service',
    base: alb,
    edit: (r) => (r.spec.strategy.canary.pingPong.pongService = 'demo-ping'),
    want: [['argo/ping-pong-services-same', [...C, 'pingPong', 'pongService']]],
  },
  {
    name: 'empty pingService',
    base: alb,
    edit: (r) => (r.spec.strategy.canary.pingPong.pingService = ''),
    want: [['argo/ping-pong-services', [...C, 'pingPong', 'pingService']]],
  },
  {
    name: 'pingPong with nginx',
    base: nginx,
    edit: (r) => (r.spec.strategy.canary.pingPong = { pingService: 'ping', pongService: 'pong' }),
    want: [['argo/ping-pong-router', [...C, 'trafficRouting']]],
  },
  {
    name: 'ALB pingPong without rootService',
    base: alb,
    edit: (r) => delete r.spec.strategy.canary.trafficRouting.alb.rootService,
    want: [['argo/ping-pong-alb-root-service', [...C, 'trafficRouting', 'alb', 'rootService']]],
  },
  {
    name: 'both kinds of anti-affinity',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.antiAffinity.requiredDuringSchedulingIgnoredDuringExecution = {}),
    want: [['argo/anti-affinity-one-kind', [...C, 'antiAffinity']]],
  },
  {
    name: 'anti-affinity weight 0',
    base: istio,
    edit: (r) =>
      (r.spec.strategy.canary.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight = 0),
    want: [
      [
        'argo/anti-affinity-weight',
        [...C, 'antiAffinity', 'preferredDuringSchedulingIgnoredDuringExecution', 'weight'],
      ],
    ],
  },
  {
    name: 'background analysis starts after the last step',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.analysis.startingStep = 9),
    want: [['argo/starting-step-range', [...C, 'analysis', 'startingStep']]],
  },
  {
    name: 'fieldRef to an unsupported metadata field',
    base: istio,
    edit: (r) =>
      (r.spec.strategy.canary.analysis.args[0].valueFrom.fieldRef.fieldPath = 'metadata.labels.app'),
    want: [
      ['argo/analysis-arg-field-ref', [...C, 'analysis', 'args', 0, 'valueFrom', 'fieldRef', 'fieldPath']],
    ],
  },
  {
    name: 'canary scaleDownDelayRevisionLimit above revisionHistoryLimit',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.scaleDownDelayRevisionLimit = 11),
    want: [['argo/scale-down-revision-limit', [...C, 'scaleDownDelayRevisionLimit']]],
    warning: true,
  },
  {
    name: 'abortScaleDownDelaySeconds without trafficRouting',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.abortScaleDownDelaySeconds = 0),
    want: [['argo/ignored-without-traffic-routing', [...C, 'abortScaleDownDelaySeconds']]],
    warning: true,
  },
  // steps
  {
    name: 'setWeight above 100',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[0].setWeight = 110),
    want: [['argo/set-weight-range', step(0, 'setWeight')]],
  },
  {
    name: 'negative setWeight',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.steps[0].setWeight = -1),
    want: [['argo/set-weight-range', step(0, 'setWeight')]],
  },
  {
    name: 'setWeight above maxTrafficWeight',
    base: nginx,
    edit: (r) => (r.spec.strategy.canary.steps[0].setWeight = 1001),
    want: [['argo/set-weight-range', step(0, 'setWeight')]],
  },
  {
    name: 'negative pause duration',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[1].pause.duration = '-5s'),
    want: [['argo/pause-duration', step(1, 'pause', 'duration')]],
  },
  {
    name: 'unparseable pause duration',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.steps[1].pause.duration = '1 hour'),
    want: [['argo/pause-duration', step(1, 'pause', 'duration')]],
  },
  {
    name: 'empty step',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[1] = {}),
    want: [['argo/step-empty', step(1)]],
  },
  {
    name: 'null pause',
    base: basic,
    edit: (r) => (r.spec.strategy.canary.steps[1] = { pause: null }),
    want: [['argo/step-empty', step(1)]],
  },
  {
    name: 'setWeight and pause in one step',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[0].pause = {}),
    want: [['argo/step-multiple-types', step(0)]],
  },
  {
    name: 'setWeight and plugin in one step',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[7].setWeight = 20),
    want: [['argo/step-combined-types', step(7)]],
    warning: true,
  },
  {
    name: 'setCanaryScale without trafficRouting',
    base: basic,
    edit: (r) => r.spec.strategy.canary.steps.push({ setCanaryScale: { weight: 10 } }),
    want: [['argo/set-canary-scale-needs-traffic-routing', step(3, 'setCanaryScale')]],
  },
  {
    name: 'setHeaderRoute with nginx: Vireo routes it with canary-by-header',
    base: nginx,
    edit: (r) =>
      r.spec.strategy.canary.steps.push({
        setHeaderRoute: { name: 'header', match: [{ headerName: 'x', headerValue: { exact: 'y' } }] },
      }),
    want: [],
  },
  {
    name: 'setHeaderRoute with Traefik',
    base: nginx,
    edit: (r) => {
      // Traefik has no maxTrafficWeight either: back to plain percentages.
      r.spec.strategy.canary.trafficRouting = {
        traefik: { weightedTraefikServiceName: 'ts' },
        managedRoutes: [{ name: 'header' }],
      };
      r.spec.strategy.canary.steps[0] = { setWeight: 50 };
      r.spec.strategy.canary.steps.push({
        setHeaderRoute: { name: 'header', match: [{ headerName: 'x', headerValue: { exact: 'y' } }] },
      });
    },
    want: [['argo/header-route-router', step(2, 'setHeaderRoute')]],
  },
  {
    name: 'ALB header route with a prefix match',
    base: alb,
    edit: (r) => (r.spec.strategy.canary.steps[1].setHeaderRoute.match[0].headerValue = { prefix: 'y' }),
    want: [['argo/header-route-alb-exact', step(1, 'setHeaderRoute', 'match', 0, 'headerValue')]],
  },
  {
    name: 'header match with two values',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[3].setHeaderRoute.match[0].headerValue.prefix = 'y'),
    want: [['argo/string-match', step(3, 'setHeaderRoute', 'match', 0, 'headerValue')]],
  },
  {
    name: 'mirror path match with no value',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[4].setMirrorRoute.match[0].path = {}),
    want: [['argo/string-match', step(4, 'setMirrorRoute', 'match', 0, 'path')]],
  },
  {
    name: 'mirror header match with two values',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[4].setMirrorRoute.match[0].headers['x-a'].exact = 'a'),
    want: [['argo/string-match', step(4, 'setMirrorRoute', 'match', 0, 'headers', 'x-a')]],
  },
  {
    name: 'setMirrorRoute with ALB',
    base: alb,
    edit: (r) => r.spec.strategy.canary.steps.push({ setMirrorRoute: { name: 'mirror' } }),
    want: [['argo/mirror-route-router', step(2, 'setMirrorRoute')]],
  },
  {
    name: 'header route not in managedRoutes',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[3].setHeaderRoute.name = 'other'),
    want: [['argo/route-not-managed', step(3, 'setHeaderRoute', 'name')]],
  },
  {
    name: 'no managedRoutes',
    base: istio,
    edit: (r) => delete r.spec.strategy.canary.trafficRouting.managedRoutes,
    want: [
      ['argo/route-not-managed', step(3, 'setHeaderRoute', 'name')],
      ['argo/route-not-managed', step(4, 'setMirrorRoute', 'name')],
    ],
  },
  {
    name: 'experiment weight without trafficRouting',
    base: basic,
    edit: (r) =>
      r.spec.strategy.canary.steps.push({
        experiment: { templates: [{ name: 'c', specRef: 'canary', weight: 10 }] },
      }),
    want: [['argo/experiment-weight-needs-traffic-routing', step(3, 'experiment', 'templates', 0, 'weight')]],
  },
  {
    name: 'experiment weight with nginx',
    base: nginx,
    edit: (r) =>
      r.spec.strategy.canary.steps.push({
        experiment: { templates: [{ name: 'c', specRef: 'canary', weight: 10 }] },
      }),
    want: [['argo/experiment-weight-router', step(2, 'experiment', 'templates', 0, 'weight')]],
  },
  {
    name: 'duplicate experiment template names',
    base: istio,
    edit: (r) => (r.spec.strategy.canary.steps[6].experiment.templates[1].name = 'baseline'),
    want: [['argo/experiment-template-name-duplicate', step(6, 'experiment', 'templates', 1, 'name')]],
  },
  {
    name: 'experiment analysis arg with an unsupported fieldRef',
    base: istio,
    edit: (r) =>
      (r.spec.strategy.canary.steps[6].experiment.analyses[0].args[0].valueFrom.fieldRef.fieldPath =
        'metadata.foo'),
    want: [
      [
        'argo/analysis-arg-field-ref',
        step(6, 'experiment', 'analyses', 0, 'args', 0, 'valueFrom', 'fieldRef', 'fieldPath'),
      ],
    ],
  },
  {
    name: 'analysis arg with two sources',
    base: istio,
    edit: (r) =>
      (r.spec.strategy.canary.steps[5].analysis.args[0].valueFrom.fieldRef = { fieldPath: 'metadata.name' }),
    want: [['argo/analysis-arg-value-from', step(5, 'analysis', 'args', 0, 'valueFrom')]],
  },
  // blue-green
  {
    name: 'same active and preview Service',
    base: blueGreen,
    edit: (r) => (r.spec.strategy.blueGreen.previewService = 'demo-active'),
    want: [['argo/bluegreen-services-same', [...BG, 'previewService']]],
  },
  {
    name: 'blue-green scaleDownDelayRevisionLimit above revisionHistoryLimit',
    base: blueGreen,
    edit: (r) => (r.spec.strategy.blueGreen.scaleDownDelayRevisionLimit = 4),
    want: [['argo/scale-down-revision-limit', [...BG, 'scaleDownDelayRevisionLimit']]],
  },
  {
    name: 'blue-green anti-affinity with no kind',
    base: blueGreen,
    edit: (r) => (r.spec.strategy.blueGreen.antiAffinity = {}),
    want: [['argo/anti-affinity-one-kind', [...BG, 'antiAffinity']]],
  },
  {
    name: 'pre-promotion analysis arg with no source',
    base: blueGreen,
    edit: (r) => (r.spec.strategy.blueGreen.prePromotionAnalysis.args[0].valueFrom = {}),
    want: [['argo/analysis-arg-value-from', [...BG, 'prePromotionAnalysis', 'args', 0, 'valueFrom']]],
  },
  {
    name: 'autoPromotionSeconds with autoPromotionEnabled false',
    base: blueGreen,
    edit: (r) => (r.spec.strategy.blueGreen.autoPromotionSeconds = 30),
    want: [['argo/auto-promotion-seconds-ignored', [...BG, 'autoPromotionSeconds']]],
    warning: true,
  },
];

describe('Rollout rules: one defect per row', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_, row) => {
    const r = row.base();
    row.edit(r);
    const found = run(r);
    expect(found.map((d) => [d.code, d.path])).toEqual(row.want);
    for (const d of found) {
      expect(d.severity).toBe(row.warning ? 'warning' : 'error');
      expect(d.message.length).toBeGreaterThan(5);
    }
  });

  it('has a row for at least 30 defects', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
  });
});

describe('details', () => {
  it('says `pause: {}` when a pause step is null', () => {
    const r = basic();
    r.spec.strategy.canary.steps[1] = { pause: null };
    expect(run(r)[0]?.message).toContain('pause: {}');
  });

  it('reports the bad value and what is allowed', () => {
    const r = nginx();
    r.spec.strategy.canary.steps[0].setWeight = 1001;
    expect(run(r)[0]).toMatchObject({
      value: 1001,
      allowed: 'an integer from 0 to 1000 (trafficRouting.maxTrafficWeight)',
    });
  });

  it('accepts the downward-API metadata paths Argo accepts', () => {
    const ok = [
      'metadata.name',
      'metadata.uid',
      'metadata.labels',
      "metadata.annotations['example.com/team']",
    ];
    const bad = ['metadata.generation', "metadata.name['x']", "metadata.labels['bad key']"];
    const check = (fieldPath: string) => {
      const r = istio();
      r.spec.strategy.canary.analysis.args[0].valueFrom.fieldRef.fieldPath = fieldPath;
      return run(r).length;
    };
    for (const p of ok) expect(check(p), p).toBe(0);
    for (const p of bad) expect(check(p), p).toBe(1);
  });

  it('accepts a zero pause, digits as seconds, and a Go duration', () => {
    for (const duration of [0, '0', '10', '1m30s', '1.5h']) {
      const r = basic();
      r.spec.strategy.canary.steps[1].pause.duration = duration;
      expect(run(r), String(duration)).toEqual([]);
    }
  });

  it('does not require canary and stable Services for Istio subset routing or plugins', () => {
    const r = istio();
    const canary = r.spec.strategy.canary;
    delete canary.canaryService;
    delete canary.stableService;
    canary.trafficRouting.istio.destinationRule = {
      name: 'demo',
      canarySubsetName: 'canary',
      stableSubsetName: 'stable',
    };
    expect(run(r)).toEqual([]);
    canary.trafficRouting = {
      plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'demo' } },
      managedRoutes: canary.trafficRouting.managedRoutes,
    };
    expect(run(r)).toEqual([]);
  });

  it('checks selector expressions', () => {
    const sel = {
      matchLabels: { app: 'a' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }],
    };
    expect(checkSelector(sel, { app: 'a', tier: 'api' }, ['s'], ['l'])).toEqual([]);
    expect(checkSelector(sel, { app: 'a', tier: 'db' }, ['s'], ['l']).map((d) => d.code)).toEqual([
      'argo/selector-mismatch',
    ]);
    const notIn = {
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'x', operator: 'DoesNotExist' },
      ],
    };
    expect(checkSelector(notIn, { tier: 'web' }, ['s'], ['l'])).toEqual([]);
    expect(checkSelector(notIn, { tier: 'web', x: '1' }, ['s'], ['l'])).toHaveLength(1);
    const noValues = { matchExpressions: [{ key: 'tier', operator: 'In' }] };
    expect(checkSelector(noValues, {}, ['s'], ['l'])[0]).toMatchObject({
      code: 'argo/selector-invalid',
      path: ['s', 'matchExpressions', 0, 'values'],
    });
  });
});

describe('rules never throw', () => {
  const garbage = [null, 1, 'x', [], [null], {}, { steps: 'x' }, { canary: [] }];
  it.each(garbage.map((g) => [JSON.stringify(g), g] as const))('spec parts set to %s', (_, g) => {
    for (const make of Object.values(bases)) {
      const r = make();
      expect(() => run({ ...r, spec: g })).not.toThrow();
      expect(() => run({ ...r, spec: { ...r.spec, strategy: g } })).not.toThrow();
      expect(() => run({ ...r, spec: { ...r.spec, strategy: { canary: g } } })).not.toThrow();
      const canary = r.spec.strategy.canary ?? {};
      expect(() =>
        run({
          ...r,
          spec: {
            ...r.spec,
            strategy: {
              canary: { ...canary, steps: [g, { setHeaderRoute: g, setMirrorRoute: { match: [g] } }] },
            },
          },
        }),
      ).not.toThrow();
      expect(() =>
        run({
          ...r,
          spec: {
            ...r.spec,
            strategy: { canary: { ...canary, trafficRouting: g, analysis: g, antiAffinity: g, pingPong: g } },
          },
        }),
      ).not.toThrow();
    }
  });

  it('on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (spec, canary) => {
        run(rollout({ strategy: { canary } }));
        run({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: {}, spec });
      }),
      { numRuns: 300 },
    );
  });
});
