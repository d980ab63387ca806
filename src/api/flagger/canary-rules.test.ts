import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import type { ManifestObject } from '../kind.js';
import { findKind } from '../registry.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { CanarySchema } from './canary.js';
import { canaryRules, lintCanary } from './canary-rules.js';

/** A valid Canary, shaped like the shared podinfo example (Istio, 10% steps to 50%). */
const validCanary = (): ManifestObject => ({
  apiVersion: 'flagger.app/v1beta1',
  kind: 'Canary',
  metadata: { name: 'podinfo', namespace: 'test' },
  spec: {
    targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
    progressDeadlineSeconds: 60,
    autoscalerRef: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'podinfo' },
    service: {
      port: 9898,
      targetPort: 9898,
      gateways: ['public-gateway.istio-system.svc.cluster.local'],
      hosts: ['*'],
      trafficPolicy: { tls: { mode: 'DISABLE' } },
      retries: { attempts: 3, perTryTimeout: '1s', retryOn: 'gateway-error,connect-failure,refused-stream' },
    },
    analysis: {
      interval: '1m',
      threshold: 5,
      maxWeight: 50,
      stepWeight: 10,
      metrics: [
        { name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' },
        { name: 'request-duration', thresholdRange: { max: 500 }, interval: '30s' },
        {
          name: '404s percentage',
          templateRef: { name: 'not-found-percentage', namespace: 'istio-system' },
          thresholdRange: { max: 5 },
          interval: '1m',
        },
      ],
      webhooks: [
        {
          name: 'acceptance-test',
          type: 'pre-rollout',
          url: 'http://flagger-loadtester.test/',
          timeout: '30s',
          metadata: { type: 'bash', cmd: "curl -sd 'test' http://podinfo-canary:9898/token | grep token" },
        },
        {
          name: 'load-test',
          url: 'http://flagger-loadtester.test/',
          timeout: '5s',
          metadata: { cmd: 'hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/' },
        },
      ],
    },
  },
});

type O = Record<string, unknown>;
/** The nested object at `keys` (test data only: assumes it exists). */
const at = (o: unknown, ...keys: (string | number)[]): O =>
  keys.reduce<unknown>((x, k) => (x as O)[k], o) as O;

interface Row {
  name: string;
  mutate: (c: ManifestObject) => void;
  code: string;
  path: (string | number)[];
  severity?: 'error' | 'warning';
}

const rows: Row[] = [
  {
    name: 'target kind Flagger cannot release',
    mutate: (c) => {
      at(c, 'spec', 'targetRef').kind = 'StatefulSet';
    },
    code: 'flagger/target-kind',
    path: ['spec', 'targetRef', 'kind'],
  },
  {
    name: 'empty target name',
    mutate: (c) => {
      at(c, 'spec', 'targetRef').name = '';
    },
    code: 'flagger/target-name',
    path: ['spec', 'targetRef', 'name'],
  },
  {
    name: 'service without port',
    mutate: (c) => {
      delete at(c, 'spec', 'service').port;
    },
    code: 'flagger/service-port',
    path: ['spec', 'service', 'port'],
  },
  {
    name: 'service port out of range',
    mutate: (c) => {
      at(c, 'spec', 'service').port = 70000;
    },
    code: 'flagger/service-port',
    path: ['spec', 'service', 'port'],
  },
  {
    name: 'no analysis block',
    mutate: (c) => {
      delete at(c, 'spec').analysis;
    },
    code: 'flagger/analysis-missing',
    path: ['spec', 'analysis'],
    severity: 'warning',
  },
  {
    name: 'interval not a duration',
    mutate: (c) => {
      at(c, 'spec', 'analysis').interval = 'soon';
    },
    code: 'flagger/analysis-interval',
    path: ['spec', 'analysis', 'interval'],
  },
  {
    name: 'interval below 10s',
    mutate: (c) => {
      at(c, 'spec', 'analysis').interval = '5s';
    },
    code: 'flagger/analysis-interval-min',
    path: ['spec', 'analysis', 'interval'],
    severity: 'warning',
  },
  {
    name: 'interval missing (upstream CRD requires it)',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').interval;
    },
    code: 'flagger/analysis-upstream-required',
    path: ['spec', 'analysis', 'interval'],
    severity: 'warning',
  },
  {
    name: 'threshold missing (upstream CRD requires it)',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').threshold;
    },
    code: 'flagger/analysis-upstream-required',
    path: ['spec', 'analysis', 'threshold'],
    severity: 'warning',
  },
  {
    name: 'threshold 0 counts as 1',
    mutate: (c) => {
      at(c, 'spec', 'analysis').threshold = 0;
    },
    code: 'flagger/threshold-min',
    path: ['spec', 'analysis', 'threshold'],
    severity: 'warning',
  },
  {
    name: 'stepWeight and stepWeights together',
    mutate: (c) => {
      at(c, 'spec', 'analysis').stepWeights = [10, 20];
      delete at(c, 'spec', 'analysis').maxWeight;
    },
    code: 'flagger/step-weights-conflict',
    path: ['spec', 'analysis', 'stepWeights'],
  },
  {
    name: 'stepWeights not increasing',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').stepWeight;
      delete at(c, 'spec', 'analysis').maxWeight;
      at(c, 'spec', 'analysis').stepWeights = [10, 5, 50];
    },
    code: 'flagger/step-weights-order',
    path: ['spec', 'analysis', 'stepWeights', 1],
  },
  {
    name: 'stepWeights entry above 100',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').stepWeight;
      delete at(c, 'spec', 'analysis').maxWeight;
      at(c, 'spec', 'analysis').stepWeights = [10, 150];
    },
    code: 'flagger/step-weights-range',
    path: ['spec', 'analysis', 'stepWeights', 1],
  },
  {
    name: 'maxWeight above 100 is never reached',
    mutate: (c) => {
      at(c, 'spec', 'analysis').maxWeight = 150;
    },
    code: 'flagger/max-weight-range',
    path: ['spec', 'analysis', 'maxWeight'],
  },
  {
    name: 'maxWeight next to stepWeights is ignored',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').stepWeight;
      at(c, 'spec', 'analysis').stepWeights = [5, 10];
    },
    code: 'flagger/max-weight-ignored',
    path: ['spec', 'analysis', 'maxWeight'],
    severity: 'warning',
  },
  {
    name: 'stepWeight 0 stalls the canary',
    mutate: (c) => {
      at(c, 'spec', 'analysis').stepWeight = 0;
    },
    code: 'flagger/step-weight-zero',
    path: ['spec', 'analysis', 'stepWeight'],
  },
  {
    name: 'iterations not a whole number',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis').stepWeight;
      delete at(c, 'spec', 'analysis').maxWeight;
      at(c, 'spec', 'analysis').iterations = 1.5;
    },
    code: 'flagger/iterations-range',
    path: ['spec', 'analysis', 'iterations'],
  },
  {
    name: 'iterations next to stepWeight (stepWeight ignored)',
    mutate: (c) => {
      at(c, 'spec', 'analysis').iterations = 10;
    },
    code: 'flagger/analysis-mode',
    path: ['spec', 'analysis', 'stepWeight'],
    severity: 'warning',
  },
  {
    name: 'none of iterations, stepWeight, stepWeights (skipAnalysis)',
    mutate: (c) => {
      at(c, 'spec').skipAnalysis = true;
      delete at(c, 'spec', 'analysis').stepWeight;
      delete at(c, 'spec', 'analysis').maxWeight;
    },
    code: 'flagger/analysis-mode',
    path: ['spec', 'analysis'],
    severity: 'warning',
  },
  {
    name: 'match without iterations',
    mutate: (c) => {
      at(c, 'spec', 'analysis').match = [{ headers: { 'x-canary': { exact: 'insider' } } }];
    },
    code: 'flagger/match-without-iterations',
    path: ['spec', 'analysis', 'match'],
    severity: 'warning',
  },
  {
    name: 'kubernetes provider without iterations',
    mutate: (c) => {
      at(c, 'spec').provider = 'kubernetes';
    },
    code: 'flagger/kubernetes-iterations',
    path: ['spec', 'analysis', 'iterations'],
    severity: 'warning',
  },
  {
    name: 'kubernetes provider with A/B match',
    mutate: (c) => {
      at(c, 'spec').provider = 'kubernetes';
      delete at(c, 'spec', 'analysis').stepWeight;
      delete at(c, 'spec', 'analysis').maxWeight;
      at(c, 'spec', 'analysis').iterations = 10;
      at(c, 'spec', 'analysis').match = [{ headers: { 'x-canary': { exact: 'insider' } } }];
    },
    code: 'flagger/match-unsupported',
    path: ['spec', 'analysis', 'match'],
    severity: 'warning',
  },
  {
    name: 'mirroring with a provider that cannot mirror',
    mutate: (c) => {
      at(c, 'spec').provider = 'linkerd';
      at(c, 'spec', 'analysis').mirror = true;
    },
    code: 'flagger/mirror-unsupported',
    path: ['spec', 'analysis', 'mirror'],
    severity: 'warning',
  },
  {
    name: 'mirrorWeight above 100',
    mutate: (c) => {
      at(c, 'spec', 'analysis').mirrorWeight = 150;
    },
    code: 'flagger/mirror-weight-range',
    path: ['spec', 'analysis', 'mirrorWeight'],
  },
  {
    name: 'primaryReadyThreshold above 100',
    mutate: (c) => {
      at(c, 'spec', 'analysis').primaryReadyThreshold = 120;
    },
    code: 'flagger/ready-threshold-range',
    path: ['spec', 'analysis', 'primaryReadyThreshold'],
  },
  {
    name: 'negative stepWeightPromotion',
    mutate: (c) => {
      at(c, 'spec', 'analysis').stepWeightPromotion = -10;
    },
    code: 'flagger/step-weight-promotion-range',
    path: ['spec', 'analysis', 'stepWeightPromotion'],
  },
  {
    name: 'primary cookie named like the canary cookie',
    mutate: (c) => {
      at(c, 'spec', 'analysis').sessionAffinity = {
        cookieName: 'flagger-cookie',
        primaryCookieName: 'flagger-cookie',
      };
    },
    code: 'flagger/session-affinity-cookie',
    path: ['spec', 'analysis', 'sessionAffinity', 'primaryCookieName'],
  },
  {
    name: 'empty session cookie name',
    mutate: (c) => {
      at(c, 'spec', 'analysis').sessionAffinity = { cookieName: '' };
    },
    code: 'flagger/session-affinity-cookie-name',
    path: ['spec', 'analysis', 'sessionAffinity', 'cookieName'],
  },
  {
    name: 'session affinity with a provider that has none',
    mutate: (c) => {
      at(c, 'spec').provider = 'linkerd';
      at(c, 'spec', 'analysis').sessionAffinity = { cookieName: 'flagger-cookie' };
    },
    code: 'flagger/session-affinity-unsupported',
    path: ['spec', 'analysis', 'sessionAffinity'],
    severity: 'warning',
  },
  {
    name: 'metric without a source',
    mutate: (c) => {
      (at(c, 'spec', 'analysis').metrics as unknown[]).push({
        name: 'error-rate',
        thresholdRange: { max: 1 },
      });
    },
    code: 'flagger/metric-source',
    path: ['spec', 'analysis', 'metrics', 3, 'name'],
  },
  {
    name: 'builtin metric name with a templateRef',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'metrics', 0).templateRef = { name: 'success-rate' };
    },
    code: 'flagger/metric-source',
    path: ['spec', 'analysis', 'metrics', 0, 'templateRef'],
  },
  {
    name: 'templateRef and query together',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'metrics', 2).query = 'sum(rate(x[1m]))';
    },
    code: 'flagger/metric-source',
    path: ['spec', 'analysis', 'metrics', 2, 'query'],
  },
  {
    name: 'templateRef without a name',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'metrics', 2, 'templateRef').name = '';
    },
    code: 'flagger/template-ref-name',
    path: ['spec', 'analysis', 'metrics', 2, 'templateRef', 'name'],
  },
  {
    name: 'thresholdRange min above max',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'metrics', 1).thresholdRange = { min: 600, max: 500 };
    },
    code: 'flagger/metric-threshold-range',
    path: ['spec', 'analysis', 'metrics', 1, 'thresholdRange'],
  },
  {
    name: 'metric without any threshold',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis', 'metrics', 1).thresholdRange;
    },
    code: 'flagger/metric-no-threshold',
    path: ['spec', 'analysis', 'metrics', 1],
    severity: 'warning',
  },
  {
    name: 'metric interval not a duration',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'metrics', 0).interval = '1 minute';
    },
    code: 'flagger/metric-interval',
    path: ['spec', 'analysis', 'metrics', 0, 'interval'],
  },
  {
    name: 'webhook URL without scheme',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'webhooks', 1).url = 'flagger-loadtester.test/';
    },
    code: 'flagger/webhook-url',
    path: ['spec', 'analysis', 'webhooks', 1, 'url'],
  },
  {
    name: 'webhook without URL',
    mutate: (c) => {
      delete at(c, 'spec', 'analysis', 'webhooks', 0).url;
    },
    code: 'flagger/webhook-url',
    path: ['spec', 'analysis', 'webhooks', 0, 'url'],
  },
  {
    name: 'unknown webhook type',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'webhooks', 0).type = 'pre-promotion';
    },
    code: 'flagger/webhook-type',
    path: ['spec', 'analysis', 'webhooks', 0, 'type'],
  },
  {
    name: 'webhook timeout not a duration',
    mutate: (c) => {
      at(c, 'spec', 'analysis', 'webhooks', 1).timeout = '5 seconds';
    },
    code: 'flagger/webhook-timeout',
    path: ['spec', 'analysis', 'webhooks', 1, 'timeout'],
  },
  {
    name: 'alert without provider name',
    mutate: (c) => {
      at(c, 'spec', 'analysis').alerts = [{ name: 'on-call', severity: 'error', providerRef: { name: '' } }];
    },
    code: 'flagger/alert-provider-ref',
    path: ['spec', 'analysis', 'alerts', 0, 'providerRef', 'name'],
  },
  {
    name: 'progress deadline 0',
    mutate: (c) => {
      at(c, 'spec').progressDeadlineSeconds = 0;
    },
    code: 'flagger/progress-deadline',
    path: ['spec', 'progressDeadlineSeconds'],
  },
  {
    name: 'primary scaler min above max',
    mutate: (c) => {
      at(c, 'spec', 'autoscalerRef').primaryScalerReplicas = { minReplicas: 5, maxReplicas: 2 };
    },
    code: 'flagger/primary-scaler-replicas',
    path: ['spec', 'autoscalerRef', 'primaryScalerReplicas'],
  },
  {
    name: 'nginx provider without ingressRef',
    mutate: (c) => {
      at(c, 'spec').provider = 'nginx';
    },
    code: 'flagger/provider-ref-required',
    path: ['spec', 'ingressRef'],
  },
  {
    name: 'Gateway API provider without gatewayRefs',
    mutate: (c) => {
      at(c, 'spec').provider = 'gatewayapi:v1';
    },
    code: 'flagger/provider-ref-required',
    path: ['spec', 'service', 'gatewayRefs'],
  },
  {
    name: 'deprecated canaryAnalysis is checked under its own path',
    mutate: (c) => {
      at(c, 'spec').canaryAnalysis = at(c, 'spec').analysis;
      delete at(c, 'spec').analysis;
      at(c, 'spec', 'canaryAnalysis').stepWeight = 0;
    },
    code: 'flagger/step-weight-zero',
    path: ['spec', 'canaryAnalysis', 'stepWeight'],
  },
];

describe('Canary rules', () => {
  it('report nothing for the valid Canary', () => {
    expect(lintCanary(validCanary())).toEqual([]);
  });

  it('the valid Canary passes the schema', () => {
    expect(validateValue(CanarySchema as unknown as SchemaNode, validCanary())).toEqual([]);
  });

  it('are the rules of the registered Canary kind', () => {
    expect(findKind('flagger.app/v1beta1', 'Canary')?.rules).toBe(canaryRules);
  });

  it.each(rows)('$name → $code', ({ mutate, code, path, severity }) => {
    const c = validCanary();
    mutate(c);
    const found = lintCanary(c);
    expect(found.map((d) => ({ code: d.code, path: d.path }))).toEqual([{ code, path }]);
    expect(found[0]?.severity).toBe(severity ?? 'error');
    expect(found[0]?.message).toBeTruthy();
  });

  it('covers at least 25 defects', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  it('never throw, whatever the input', () => {
    const objects = fc.record({
      apiVersion: fc.constant('flagger.app/v1beta1'),
      kind: fc.constant('Canary'),
      metadata: fc.constant({ name: 'x' }),
      spec: fc.oneof(
        fc.anything(),
        fc.record({
          provider: fc.oneof(fc.constantFrom('istio', 'kubernetes', 'nginx', 'gatewayapi:v1'), fc.anything()),
          targetRef: fc.anything(),
          service: fc.anything(),
          analysis: fc.oneof(
            fc.anything(),
            fc.dictionary(
              fc.constantFrom(
                'interval',
                'threshold',
                'stepWeight',
                'stepWeights',
                'maxWeight',
                'iterations',
                'match',
                'mirror',
                'metrics',
                'webhooks',
                'alerts',
                'sessionAffinity',
              ),
              fc.anything(),
            ),
          ),
        }),
      ),
    });
    fc.assert(
      fc.property(objects, (o) => {
        lintCanary(o as ManifestObject);
      }),
      { numRuns: 500 },
    );
  });
});

describe.skipIf(!hasShared)('the shared podinfo example', () => {
  const text = hasShared
    ? readFileSync(path.join(sharedDir, 'examples', 'seed-002-podinfo-canary.yaml'), 'utf8')
    : '';
  const docs = parseAllDocuments(text).map((d) => d.toJS() as ManifestObject);

  it.each(docs.map((d) => [d.kind, d] as const))('%s passes schema and rules', (_kind, doc) => {
    const kind = findKind(doc.apiVersion, doc.kind);
    expect(kind).toBeDefined();
    expect(validateValue(kind!.schema as unknown as SchemaNode, doc)).toEqual([]);
    expect(kind!.rules!.flatMap((r) => r(doc, { objects: docs }))).toEqual([]);
  });
});
