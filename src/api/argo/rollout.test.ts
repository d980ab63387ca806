import { describe, expect, it } from 'vitest';
import { type SchemaNode, validateValue } from '../validate.js';
import { applyRolloutDefaults, kinds, type Rollout, RolloutSchema, rolloutKind } from './rollout.js';

const schema = RolloutSchema as unknown as SchemaNode;

const base = (strategy: Rollout['spec']['strategy'], extra: Partial<Rollout['spec']> = {}): Rollout => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo' },
  spec: {
    selector: { matchLabels: { app: 'demo' } },
    template: {
      metadata: { labels: { app: 'demo' } },
      spec: { containers: [{ name: 'app', image: 'demo:1' }] },
    },
    strategy,
    ...extra,
  },
});

const topDefaults = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  analysis: { successfulRunHistoryLimit: 5, unsuccessfulRunHistoryLimit: 5 },
};

describe('applyRolloutDefaults', () => {
  const rows: { name: string; input: Rollout; spec: Record<string, unknown>; absent?: string[] }[] = [
    {
      name: 'basic canary: surge and unavailable, no scale-down delays',
      input: base({ canary: { steps: [{ setWeight: 20 }] } }),
      spec: {
        ...topDefaults,
        strategy: { canary: { steps: [{ setWeight: 20 }], maxSurge: '25%', maxUnavailable: '25%' } },
      },
      absent: ['scaleDownDelaySeconds', 'abortScaleDownDelaySeconds'],
    },
    {
      name: 'canary with trafficRouting: 30s delays and the nginx annotation prefix',
      input: base({ canary: { trafficRouting: { nginx: { stableIngress: 'demo' } } } }),
      spec: {
        strategy: {
          canary: {
            maxSurge: '25%',
            maxUnavailable: '25%',
            scaleDownDelaySeconds: 30,
            abortScaleDownDelaySeconds: 30,
            trafficRouting: {
              nginx: { stableIngress: 'demo', annotationPrefix: 'nginx.ingress.kubernetes.io' },
            },
          },
        },
      },
    },
    {
      name: 'dynamicStableScale: no scaleDownDelaySeconds',
      input: base({ canary: { dynamicStableScale: true, trafficRouting: { smi: {} } } }),
      spec: { strategy: { canary: { abortScaleDownDelaySeconds: 30, dynamicStableScale: true } } },
      absent: ['scaleDownDelaySeconds'],
    },
    {
      name: 'explicit zero values are kept',
      input: base(
        {
          canary: {
            maxSurge: 0,
            maxUnavailable: 1,
            abortScaleDownDelaySeconds: 0,
            trafficRouting: { istio: {} },
          },
        },
        { replicas: 0, revisionHistoryLimit: 0, analysis: { successfulRunHistoryLimit: 1 } },
      ),
      spec: {
        replicas: 0,
        revisionHistoryLimit: 0,
        analysis: { successfulRunHistoryLimit: 1, unsuccessfulRunHistoryLimit: 5 },
        strategy: {
          canary: {
            maxSurge: 0,
            maxUnavailable: 1,
            abortScaleDownDelaySeconds: 0,
            scaleDownDelaySeconds: 30,
          },
        },
      },
    },
    {
      name: 'blue-green: auto-promotion, unavailable, delays; no maxSurge',
      input: base({ blueGreen: { activeService: 'active' } }),
      spec: {
        ...topDefaults,
        strategy: {
          blueGreen: {
            activeService: 'active',
            autoPromotionEnabled: true,
            maxUnavailable: '25%',
            scaleDownDelaySeconds: 30,
            abortScaleDownDelaySeconds: 30,
          },
        },
      },
      absent: ['maxSurge'],
    },
    {
      name: 'blue-green: autoPromotionEnabled false is kept',
      input: base({
        blueGreen: { activeService: 'active', autoPromotionEnabled: false, scaleDownDelaySeconds: 5 },
      }),
      spec: { strategy: { blueGreen: { autoPromotionEnabled: false, scaleDownDelaySeconds: 5 } } },
    },
    {
      name: 'workloadRef: scaleDown never',
      input: base(
        { canary: {} },
        { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo' } },
      ),
      spec: { workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'demo', scaleDown: 'never' } },
    },
  ];

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_, row) => {
    const before = structuredClone(row.input);
    const out = applyRolloutDefaults(row.input);
    expect(out.spec).toMatchObject(row.spec);
    const strategy = out.spec.strategy?.canary ?? out.spec.strategy?.blueGreen ?? {};
    for (const key of row.absent ?? []) expect(strategy).not.toHaveProperty(key);
    expect(row.input).toEqual(before); // not mutated
    expect(out).not.toBe(row.input);
  });

  it('leaves maxTrafficWeight unset (Argo allows it only with nginx and plugins)', () => {
    const out = applyRolloutDefaults(base({ canary: { trafficRouting: { istio: {} } } }));
    expect(out.spec.strategy?.canary?.trafficRouting).not.toHaveProperty('maxTrafficWeight');
  });
});

describe('Rollout kind', () => {
  it('is defined as upstream', () => {
    expect(kinds).toEqual([rolloutKind]);
    expect(rolloutKind).toMatchObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      kind: 'Rollout',
      plural: 'rollouts',
      singular: 'rollout',
      shortNames: ['ro'],
      scope: 'Namespaced',
      subresources: {
        status: true,
        scale: {
          specReplicasPath: '.spec.replicas',
          statusReplicasPath: '.status.HPAReplicas',
          labelSelectorPath: '.status.selector',
        },
      },
    });
    expect(rolloutKind.printerColumns?.map((c) => [c.name, c.type, c.jsonPath])).toEqual([
      ['Desired', 'integer', '.spec.replicas'],
      ['Current', 'integer', '.status.replicas'],
      ['Up-to-date', 'integer', '.status.updatedReplicas'],
      ['Available', 'integer', '.status.availableReplicas'],
      ['Age', 'date', '.metadata.creationTimestamp'],
    ]);
  });

  it('carries the static defaults in the schema', () => {
    const spec = schema.properties?.spec as SchemaNode;
    const strategy = spec.properties?.strategy as SchemaNode;
    const canary = strategy.properties?.canary as SchemaNode;
    const blueGreen = strategy.properties?.blueGreen as SchemaNode;
    expect(spec.properties?.replicas?.default).toBe(1);
    expect(spec.properties?.revisionHistoryLimit?.default).toBe(10);
    expect(spec.properties?.progressDeadlineSeconds?.default).toBe(600);
    expect(canary.properties?.maxSurge?.default).toBe('25%');
    expect(canary.properties?.maxUnavailable?.default).toBe('25%');
    expect(canary.properties?.scaleDownDelaySeconds?.default).toBeUndefined(); // conditional
    expect(blueGreen.properties?.autoPromotionEnabled?.default).toBe(true);
    expect(blueGreen.required).toEqual(['activeService']);
  });
});

describe('Rollout schema', () => {
  const full = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'demo', namespace: 'prod' },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: 'demo' } },
      template: {
        metadata: { labels: { app: 'demo' } },
        spec: { containers: [{ name: 'app', image: 'demo:1' }] },
      },
      minReadySeconds: 10,
      rollbackWindow: { revisions: 3 },
      revisionHistoryLimit: 5,
      paused: false,
      progressDeadlineSeconds: 300,
      progressDeadlineAbort: true,
      restartAt: '2026-01-01T00:00:00Z',
      analysis: { successfulRunHistoryLimit: 2, unsuccessfulRunHistoryLimit: 3 },
      strategy: {
        canary: {
          canaryService: 'c',
          stableService: 's',
          maxSurge: '50%',
          maxUnavailable: 1,
          scaleDownDelaySeconds: 60,
          scaleDownDelayRevisionLimit: 2,
          abortScaleDownDelaySeconds: 0,
          minPodsPerReplicaSet: 2,
          replicaProgressThreshold: { type: 'Percent', value: 90 },
          canaryMetadata: { labels: { role: 'canary' } },
          stableMetadata: { annotations: { role: 'stable' } },
          antiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: {} },
          analysis: {
            templates: [{ templateName: 'rate', clusterScope: true }],
            startingStep: 1,
            args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Stable' } }],
            dryRun: [{ metricName: '*' }],
            measurementRetention: [{ metricName: 'rate', limit: 20 }],
            analysisRunMetadata: { labels: { team: 'a' } },
          },
          trafficRouting: {
            istio: {
              virtualServices: [
                {
                  name: 'vs',
                  routes: ['r'],
                  tlsRoutes: [{ port: 443, sniHosts: ['a.example'] }],
                  tcpRoutes: [{ port: 9000 }],
                },
              ],
              destinationRule: {
                name: 'dr',
                canarySubsetName: 'c',
                stableSubsetName: 's',
                additionalSubsetNames: ['x'],
              },
            },
            nginx: { stableIngresses: ['i'], additionalIngressAnnotations: { 'canary-by-header': 'x' } },
            alb: {
              ingresses: ['i'],
              servicePort: 80,
              stickinessConfig: { enabled: true, durationSeconds: 60 },
            },
            smi: { rootService: 'r', trafficSplitName: 't' },
            ambassador: { mappings: ['m'] },
            appMesh: {
              virtualService: { name: 'vs', routes: ['r'] },
              virtualNodeGroup: { canaryVirtualNodeRef: { name: 'c' }, stableVirtualNodeRef: { name: 's' } },
            },
            traefik: { weightedTraefikServiceName: 'w' },
            apisix: { route: { name: 'r', rules: ['x'] } },
            plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'demo', anything: [1, 2] } },
            managedRoutes: [{ name: 'h' }],
            maxTrafficWeight: 1000,
          },
          steps: [
            { setWeight: 10 },
            { pause: { duration: 30 } },
            { pause: { duration: '1m' } },
            { setCanaryScale: { matchTrafficWeight: true } },
            { setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { regex: '.*' } }] } },
            { setMirrorRoute: { name: 'h', percentage: 10, match: [{ headers: { a: { exact: 'b' } } }] } },
            {
              experiment: {
                duration: '10m',
                scaleDownDelaySeconds: 10,
                templates: [
                  {
                    name: 'b',
                    specRef: 'stable',
                    replicas: 1,
                    weight: 5,
                    metadata: { labels: { a: 'b' } },
                    selector: { matchLabels: { a: 'b' } },
                    service: { name: 'b-svc' },
                  },
                ],
                analyses: [
                  {
                    name: 'a',
                    templateName: 't',
                    requiredForCompletion: true,
                    clusterScope: false,
                    args: [],
                  },
                ],
                dryRun: [{ metricName: 'x' }],
                analysisRunMetadata: { annotations: { a: 'b' } },
              },
            },
            { plugin: { name: 'p', config: { any: { thing: true } } } },
          ],
        },
      },
    },
    status: {
      phase: 'Paused',
      observedGeneration: '3',
      HPAReplicas: 5,
      selector: 'app=demo',
      stableRS: 'abc',
      currentPodHash: 'def',
      currentStepIndex: 1,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-01-01T00:00:00Z' }],
      conditions: [
        {
          type: 'Progressing',
          status: 'True',
          reason: 'ReplicaSetUpdated',
          message: 'x',
          lastUpdateTime: '2026-01-01T00:00:00Z',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
      canary: {
        weights: {
          canary: { weight: 10, podTemplateHash: 'def', serviceName: 'c' },
          stable: { weight: 90 },
          verified: true,
        },
        currentStepAnalysisRunStatus: { name: 'run', status: 'Running' },
        stepPluginStatuses: [{ index: 7, name: 'p', operation: 'Run', status: { free: 'form' } }],
      },
      alb: { loadBalancer: { name: 'lb', arn: 'arn' } },
    },
  };

  it('accepts every kind of field', () => {
    expect(validateValue(schema, full)).toEqual([]);
  });

  it('rejects what Argo would prune or refuse', () => {
    const bad = structuredClone(full) as typeof full & Record<string, unknown>;
    (bad.spec.strategy.canary as Record<string, unknown>).setWeigth = 5;
    (bad.spec.strategy.canary.steps[0] as Record<string, unknown>).setWieght = 5;
    bad.spec.strategy.canary.analysis.args[0] = {
      name: 'hash',
      valueFrom: { podTemplateHashValue: 'stable' },
    } as never;
    (bad.status as Record<string, unknown>).phase = 'Running';
    const found = validateValue(schema, bad).map((d) => `${d.code} ${d.path.join('.')}`);
    expect(found.sort()).toEqual([
      'enum spec.strategy.canary.analysis.args.0.valueFrom.podTemplateHashValue',
      'enum status.phase',
      'unknown-field spec.strategy.canary.setWeigth',
      'unknown-field spec.strategy.canary.steps.0.setWieght',
    ]);
  });
});
