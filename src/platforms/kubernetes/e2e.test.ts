/**
 * End to end on a real control plane (issue 6): the controller, run in this process against the
 * API server, takes ../shared/examples/seed-000 (changed only in the Prometheus address) through a
 * canary with Traefik weights and a Prometheus analysis fed by an exporter the test controls, then
 * aborts a version whose metrics show 50 % errors. Virtual time runs 12x faster than the wall clock
 * (2-minute pauses take 10 s); measurements still come from a real Prometheus.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { realMetricProviders } from '../../analysis/providers/index.js';
import { kubeJobProvider } from '../../analysis/providers/kube-job.js';
import { KWOK_POD_PHASE_ANNOTATION } from '../../testing/cluster/control-plane.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import {
  type Exporter,
  type PrometheusServer,
  startExporter,
  startPrometheus,
  waitForData,
} from '../../testing/prometheus.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { pollUntil } from '../../testing/wait.js';
import { KubeApiClient, type KubeJson, loadKubeConfig, RESOURCES } from './client.js';
import { Controller } from './controller.js';
import { HASH_LABEL } from './objects.js';

const SPEED = 12;
const TOTAL = 'traefik_service_requests_total';

let cluster: KubeCluster | undefined;
let client: KubeApiClient;
let exporter: Exporter | undefined;
let prom: PrometheusServer | undefined;
let controller: Controller | undefined;
const leading = new AbortController();
let workers: Promise<void> | undefined;
const logs: string[] = [];

const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
const apply = (o: unknown) => k().kubectl(['apply', '-f', '-'], { input: JSON.stringify(o) });

const until = <T>(what: string, get: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> =>
  pollUntil(what, get, ms, () => logs.slice(-30).join('\n'));

interface RolloutJson extends KubeJson {
  status?: {
    phase?: string;
    stableRS?: string;
    currentPodHash?: string;
    abort?: boolean;
    message?: string;
    currentStepIndex?: number;
    canary?: { currentBackgroundAnalysisRunStatus?: { name?: string; status?: string } };
  };
}
const rollout = async () =>
  (await client.get<RolloutJson>(RESOURCES.rollouts, 'default', 'canary-demo')) as RolloutJson;
const canaryWeight = async (): Promise<number | undefined> => {
  const ts = await client.get<
    KubeJson & { spec: { weighted: { services: { name: string; weight: number }[] } } }
  >(RESOURCES.traefikServices, 'default', 'traefik-service');
  return ts?.spec.weighted.services.find((s) => s.name === 'canary-demo-canary')?.weight;
};
const selector = async (svc: string) =>
  (
    await client.get<KubeJson & { spec: { selector?: Record<string, string> } }>(
      RESOURCES.services,
      'default',
      svc,
    )
  )?.spec.selector?.[HASH_LABEL];

/** Watches the TraefikService weight through a change, recording every value it takes. */
function recordWeights(): { stop(): number[] } {
  const seen: number[] = [];
  let on = true;
  void (async () => {
    while (on) {
      const w = await canaryWeight().catch(() => undefined);
      if (w !== undefined && seen.at(-1) !== w) seen.push(w);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: () => {
      on = false;
      return seen;
    },
  };
}

const setImage = (image: string) =>
  client.patch(RESOURCES.rollouts, 'default', 'canary-demo', {
    spec: { template: { spec: { containers: [{ name: 'canary-demo', image }] } } },
  });

describe.skipIf(!hasShared)('the controller on a real control plane', () => {
  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds(
      ['argo-rollouts-crds.yaml', 'traefik.io_traefikservices.yaml'].map((f) => join(sharedDir, 'crds', f)),
    );
    client = new KubeApiClient(loadKubeConfig({ kubeconfig: k().kubeconfigPath }));

    exporter = await startExporter();
    exporter.rate(TOTAL, { traefik: 'traefik-service', status: '200' }, 95);
    exporter.rate(TOTAL, { traefik: 'traefik-service', status: '500' }, 5);
    prom = await startPrometheus({ targets: [exporter.target] });
    await waitForData(prom.url, TOTAL, 20_000);

    const text = readFileSync(join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml'), 'utf8');
    const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeJson);
    for (const d of docs) {
      const metrics = (d.spec as { metrics?: { provider?: { prometheus?: { address?: string } } }[] })
        .metrics;
      for (const m of metrics ?? []) if (m.provider?.prometheus) m.provider.prometheus.address = prom.url;
      d.metadata.namespace = 'default';
      await apply(d);
    }
    await apply({
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'TraefikService',
      metadata: { name: 'traefik-service', namespace: 'default' },
      spec: {
        weighted: {
          services: [
            { name: 'canary-demo', port: 80, weight: 100 },
            { name: 'canary-demo-canary', port: 80, weight: 0 },
          ],
        },
      },
    });

    const t0 = Date.now();
    controller = new Controller({
      client,
      providers: realMetricProviders({ job: kubeJobProvider({ client }) }),
      now: () => t0 + (Date.now() - t0) * SPEED,
      speed: SPEED,
      measureNow: Date.now,
      log: (level, msg, fields) => logs.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ''}`),
    });
    controller.start();
    await until('the caches to sync', async () => controller?.synced());
    workers = controller.lead(leading.signal);
  }, 75 * 60_000);

  afterAll(async () => {
    leading.abort();
    await workers;
    controller?.stop();
    await prom?.close();
    await exporter?.close();
    await cluster?.stop();
  }, 60_000);

  it('deploys the first revision at full scale: Healthy, both Services on its hash', async () => {
    const r = await until('Healthy', async () => {
      const r = await rollout();
      return r.status?.phase === 'Healthy' && r.status.stableRS ? r : undefined;
    });
    expect(r.status?.currentPodHash).toBe(r.status?.stableRS);
    expect(await selector('canary-demo')).toBe(r.status?.stableRS);
    expect(await selector('canary-demo-canary')).toBe(r.status?.stableRS);
    expect(await canaryWeight()).toBe(0);
  }, 120_000);

  it('promotes a good version step by step: weights 20/40/60/80, then the stable Service on the new hash', async () => {
    const before = (await rollout()).status?.stableRS;
    const weights = recordWeights();
    await setImage('argoproj/rollouts-demo:green');
    const r = await until(
      'the new version to be promoted',
      async () => {
        const r = await rollout();
        return r.status?.phase === 'Healthy' && r.status.stableRS !== before ? r : undefined;
      },
      150_000,
    );
    // Weight 0 and Healthy are written in one pass; the weight poll may not have seen the 0 yet.
    await until('the weight back to 0 after the promotion', async () => (await canaryWeight()) === 0);
    await new Promise((r) => setTimeout(r, 250));
    const seen = weights.stop();
    expect(seen.slice(0, 5)).toEqual([0, 20, 40, 60, 80]);
    expect(seen.at(-1)).toBe(0);
    expect(await selector('canary-demo')).toBe(r.status?.stableRS);
    const runs = await client.list(RESOURCES.analysisRuns, 'default');
    expect(runs.items.map((x) => (x as { status?: { phase?: string } }).status?.phase)).toContain(
      'Successful',
    );
  }, 180_000);

  it('aborts a version whose metrics show 50 % errors: traffic back to stable, phase Degraded', async () => {
    const stable = (await rollout()).status?.stableRS;
    exporter?.rate(TOTAL, { traefik: 'traefik-service', status: '200' }, 50);
    exporter?.rate(TOTAL, { traefik: 'traefik-service', status: '500' }, 50);
    await setImage('argoproj/rollouts-demo:red');
    const r = await until(
      'the abort',
      async () => {
        const r = await rollout();
        return r.status?.abort && r.status.phase === 'Degraded' ? r : undefined;
      },
      150_000,
    );
    expect(r.status?.stableRS).toBe(stable);
    await until('weight back to 0', async () => (await canaryWeight()) === 0);
    expect(await selector('canary-demo')).toBe(stable);
    const run = r.status?.canary?.currentBackgroundAnalysisRunStatus;
    expect(run?.status).toBe('Failed');
  }, 180_000);

  describe('nginx: a canary Ingress with a header route', () => {
    const NAME = 'web';
    const ingress = (name: string) =>
      client.get<KubeJson>(RESOURCES.ingresses, 'default', name) as Promise<KubeJson | undefined>;

    beforeAll(async () => {
      for (const svc of [`${NAME}-stable`, `${NAME}-canary`])
        await apply({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: svc, namespace: 'default' },
          spec: { selector: { app: NAME }, ports: [{ port: 80, targetPort: 8080 }] },
        });
      await apply({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: NAME, namespace: 'default' },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: 'web.example.com',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: `${NAME}-stable`, port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      });
      await apply({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: NAME, namespace: 'default' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: NAME } },
          template: {
            metadata: { labels: { app: NAME } },
            spec: { containers: [{ name: NAME, image: 'nginx:1.27' }] },
          },
          strategy: {
            canary: {
              stableService: `${NAME}-stable`,
              canaryService: `${NAME}-canary`,
              trafficRouting: {
                nginx: { stableIngress: NAME },
                managedRoutes: [{ name: 'beta-testers' }],
              },
              steps: [
                { setWeight: 10 },
                {
                  setHeaderRoute: {
                    name: 'beta-testers',
                    match: [{ headerName: 'X-Beta', headerValue: { exact: 'yes' } }],
                  },
                },
                { pause: {} },
              ],
            },
          },
        },
      });
      await until('the first revision Healthy', async () => {
        const r = await client.get<RolloutJson>(RESOURCES.rollouts, 'default', NAME);
        return r?.status?.phase === 'Healthy';
      });
    }, 120_000);

    it('routes 10 % and the X-Beta header to the canary, then removes the route on abort', async () => {
      await client.patch(RESOURCES.rollouts, 'default', NAME, {
        spec: { template: { spec: { containers: [{ name: NAME, image: 'nginx:1.28' }] } } },
      });
      const canary = await until('the canary Ingress with the header route', async () => {
        const i = await ingress(`${NAME}-${NAME}-canary`);
        return i?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-by-header'] ? i : undefined;
      });
      const a = canary.metadata.annotations ?? {};
      expect(a['nginx.ingress.kubernetes.io/canary']).toBe('true');
      expect(a['nginx.ingress.kubernetes.io/canary-weight']).toBe('10');
      expect(a['nginx.ingress.kubernetes.io/canary-by-header']).toBe('X-Beta');
      // "yes" stays a string: the object went to the API server as JSON.
      expect(a['nginx.ingress.kubernetes.io/canary-by-header-value']).toBe('yes');
      const spec = canary.spec as {
        rules: { http: { paths: { backend: { service: { name: string } } }[] } }[];
      };
      expect(spec.rules[0]?.http.paths[0]?.backend.service.name).toBe(`${NAME}-canary`);
      const paused = await until('the pause', async () => {
        const r = await client.get<RolloutJson>(RESOURCES.rollouts, 'default', NAME);
        return r?.status?.phase === 'Paused' ? r : undefined;
      });
      expect(paused.status?.currentStepIndex).toBe(2);

      await client.patch(
        RESOURCES.rollouts,
        'default',
        NAME,
        { status: { abort: true } },
        { subresource: 'status' },
      );
      const after = await until('weight 0 and no header route', async () => {
        const i = await ingress(`${NAME}-${NAME}-canary`);
        const x = i?.metadata.annotations ?? {};
        return x['nginx.ingress.kubernetes.io/canary-weight'] === '0' &&
          !x['nginx.ingress.kubernetes.io/canary-by-header']
          ? i
          : undefined;
      });
      expect(after.metadata.annotations?.['rollouts.vireo.dev/header-route']).toBeUndefined();
    }, 120_000);
  });

  describe('an invalid Rollout', () => {
    it('gets the InvalidSpec condition and phase Degraded, and the other Rollouts keep progressing', async () => {
      await apply({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'broken', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'broken' } },
          template: {
            metadata: { labels: { app: 'broken' } },
            spec: { containers: [{ name: 'broken', image: 'nginx' }] },
          },
          strategy: { canary: { steps: [{ setWeight: 150 }] } },
        },
      });
      const r = await until('InvalidSpec', async () => {
        const r = await client.get<
          RolloutJson & { status?: { conditions?: { type: string; message?: string }[] } }
        >(RESOURCES.rollouts, 'default', 'broken');
        return r?.status?.conditions?.some((c) => c.type === 'InvalidSpec') ? r : undefined;
      });
      expect(r.status?.phase).toBe('Degraded');
      // Argo's wording: `The Rollout "<name>" is invalid: <field error>`, in the condition and the message.
      expect(r.status?.message).toMatch(/^InvalidSpec: The Rollout "broken" is invalid: .*setWeight/);
      const rs = await client.list(RESOURCES.replicaSets, 'default', { labelSelector: 'app=broken' });
      expect(rs.items).toHaveLength(0);
      const events = await client.list(RESOURCES.events, 'default', {
        fieldSelector: 'involvedObject.name=broken',
      });
      expect(events.items.map((e) => (e as { reason?: string }).reason)).toContain('InvalidSpec');
      // The controller still works on the others: a fresh Rollout next to it becomes Healthy.
      await apply({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name: 'neighbour', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'neighbour' } },
          template: {
            metadata: { labels: { app: 'neighbour' } },
            spec: { containers: [{ name: 'neighbour', image: 'nginx' }] },
          },
          strategy: { canary: { steps: [{ setWeight: 50 }] } },
        },
      });
      await until('the neighbour Healthy', async () => {
        const n = await client.get<RolloutJson>(RESOURCES.rollouts, 'default', 'neighbour');
        return n?.status?.phase === 'Healthy';
      });
      // Fixed, it leaves InvalidSpec behind.
      await client.patch(RESOURCES.rollouts, 'default', 'broken', {
        spec: { strategy: { canary: { steps: [{ setWeight: 50 }] } } },
      });
      await until('the fixed Rollout Healthy without InvalidSpec', async () => {
        const f = await client.get<RolloutJson & { status?: { conditions?: { type: string }[] } }>(
          RESOURCES.rollouts,
          'default',
          'broken',
        );
        return f?.status?.phase === 'Healthy' && !f.status.conditions?.some((c) => c.type === 'InvalidSpec');
      });
    }, 120_000);
  });

  describe('a step analysis with the job provider', () => {
    const release = (name: string, podPhase?: string) => [
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: `${name}-smoke`, namespace: 'default' },
        spec: {
          metrics: [
            {
              name: 'smoke',
              provider: {
                job: {
                  spec: {
                    backoffLimit: 0,
                    template: {
                      ...(podPhase
                        ? { metadata: { annotations: { [KWOK_POD_PHASE_ANNOTATION]: podPhase } } }
                        : {}),
                      spec: {
                        restartPolicy: 'Never',
                        containers: [
                          { name: 'smoke', image: 'busybox', command: ['sh', '-c', 'wget -qO- http://web'] },
                        ],
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        metadata: { name, namespace: 'default' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name, image: 'nginx:1.27' }] },
          },
          strategy: {
            canary: {
              steps: [{ setWeight: 50 }, { analysis: { templates: [{ templateName: `${name}-smoke` }] } }],
            },
          },
        },
      },
    ];
    const phaseOf = async (name: string) =>
      (await client.get<RolloutJson>(RESOURCES.rollouts, 'default', name))?.status;

    it.each([
      ['a Job that completes promotes the version', 'job-ok', undefined, 'Healthy'],
      ['a Job that fails aborts it', 'job-bad', 'Failed', 'Degraded'],
    ])(
      '%s',
      async (_what, name, podPhase, outcome) => {
        for (const o of release(name, podPhase)) await apply(o);
        const first = await until(`${name} Healthy`, async () => {
          const s = await phaseOf(name);
          return s?.phase === 'Healthy' ? s : undefined;
        });
        await client.patch(RESOURCES.rollouts, 'default', name, {
          spec: { template: { spec: { containers: [{ name, image: 'nginx:1.28' }] } } },
        });
        const end = await until(
          `${name} ${outcome}`,
          async () => {
            const s = await phaseOf(name);
            return s?.currentPodHash !== first.stableRS && s?.phase === outcome ? s : undefined;
          },
          60_000,
        );
        const jobs = await client.list(RESOURCES.jobs, 'default');
        const mine = jobs.items.filter((j) =>
          j.metadata.ownerReferences?.some((r) => r.kind === 'AnalysisRun' && r.name.startsWith(name)),
        );
        expect(mine.length).toBe(1);
        if (outcome === 'Healthy') expect(end.stableRS).toBe(end.currentPodHash);
        else expect(end.abort).toBe(true);
      },
      120_000,
    );
  });
});
