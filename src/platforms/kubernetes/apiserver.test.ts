/**
 * The objects Vireo writes, checked by a real API server (scripts/cluster: kube-apiserver with the
 * upstream Argo Rollouts and Traefik CRDs installed, kube-controller-manager, kwok nodes): they are
 * accepted as written, the ReplicaSet's pods become Ready and read back as the engine expects, and the
 * owner references make the garbage collector delete them with their Rollout.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import { nginxRouter } from '../../routers/kubernetes/nginx.js';
import type { KubeObject, ObjectRef, RouterRollout } from '../../routers/kubernetes/router.js';
import { traefikRouter } from '../../routers/kubernetes/traefik.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import {
  analysisRunFor,
  HASH_LABEL,
  observeReplicaSet,
  replicaSetFor,
  serviceSelectorPatch,
} from './objects.js';

let cluster: KubeCluster | undefined;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
// JSON, not YAML: kubectl reads YAML 1.1, where an unquoted `yes` (a header value here) is a bool.
const apply = (o: unknown) => k().kubectl(['apply', '-f', '-'], { input: JSON.stringify(o) });
const getJson = async <T>(kind: string, name: string): Promise<T> =>
  JSON.parse(await k().kubectl(['get', kind, name, '-n', 'default', '-o', 'json'])) as T;
const exists = async (kind: string, name: string) =>
  (await k().kubectl(['get', kind, '-n', 'default', '--ignore-not-found', '-o', 'name'])).includes(
    `/${name}\n`,
  );

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ROLLOUT = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'rollouts-demo', namespace: 'default' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'rollouts-demo' } },
    template: {
      metadata: { labels: { app: 'rollouts-demo' } },
      spec: { containers: [{ name: 'rollouts-demo', image: 'argoproj/rollouts-demo:blue' }] },
    },
    strategy: {
      canary: {
        stableService: 'rollouts-demo-stable',
        canaryService: 'rollouts-demo-canary',
        trafficRouting: { nginx: { stableIngress: 'rollouts-demo' } },
        steps: [{ setWeight: 20 }, { pause: {} }],
      },
    },
  },
};

describe.skipIf(!hasShared)('objects Vireo writes, on a real API server', () => {
  let rollout: Rollout;
  let routerRollout: RouterRollout;

  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds(
      ['argo-rollouts-crds.yaml', 'traefik.io_traefikservices.yaml'].map((f) => join(sharedDir, 'crds', f)),
    );
    await apply(ROLLOUT);
    rollout = await getJson<Rollout>('rollout', 'rollouts-demo');
    const uid = (rollout.metadata as { uid?: string }).uid ?? '';
    routerRollout = {
      name: 'rollouts-demo',
      namespace: 'default',
      uid,
      stableService: 'rollouts-demo-stable',
      canaryService: 'rollouts-demo-canary',
      trafficRouting: ROLLOUT.spec.strategy.canary.trafficRouting,
    };
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('a ReplicaSet as Argo makes it is accepted, its pods become Ready, and it reads back for the engine', async () => {
    await apply(replicaSetFor(rollout, '5cb694c445', 1, 2));
    await until('2 available replicas', async () => {
      const rs = await getJson<Parameters<typeof observeReplicaSet>[0]>(
        'replicaset',
        'rollouts-demo-5cb694c445',
      );
      return observeReplicaSet(rs)?.availableReplicas === 2;
    });
    const seen = observeReplicaSet(await getJson('replicaset', 'rollouts-demo-5cb694c445'));
    expect(seen).toMatchObject({
      hash: '5cb694c445',
      replicas: 2,
      availableReplicas: 2,
      readyReplicas: 2,
      revision: 1,
    });
    const pods = JSON.parse(
      await k().kubectl(['get', 'pods', '-n', 'default', '-l', `${HASH_LABEL}=5cb694c445`, '-o', 'json']),
    ) as { items: unknown[] };
    expect(pods.items).toHaveLength(2);
  }, 120_000);

  it('a Service selector patch selects the version and names the Rollout', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rollouts-demo-stable', namespace: 'default' },
      spec: { selector: { app: 'rollouts-demo' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    const svc = await getJson<Parameters<typeof serviceSelectorPatch>[0]>('service', 'rollouts-demo-stable');
    const patch = serviceSelectorPatch(svc, 'rollouts-demo', '5cb694c445');
    await k().kubectl([
      'patch',
      'service',
      'rollouts-demo-stable',
      '-n',
      'default',
      '--type',
      'merge',
      '-p',
      JSON.stringify(patch),
    ]);
    const after = await getJson<Parameters<typeof serviceSelectorPatch>[0]>(
      'service',
      'rollouts-demo-stable',
    );
    expect(after.spec?.selector).toEqual({ app: 'rollouts-demo', [HASH_LABEL]: '5cb694c445' });
    expect(serviceSelectorPatch(after, 'rollouts-demo', '5cb694c445')).toBeUndefined();
  }, 60_000);

  it('the nginx canary Ingress and the Traefik weights are accepted as the routers write them', async () => {
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'rollouts-demo',
        namespace: 'default',
        annotations: { 'kubernetes.io/ingress.class': 'nginx' },
      },
      spec: {
        rules: [
          {
            host: 'demo.example',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'rollouts-demo-stable', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    const observe = async (ref: ObjectRef): Promise<KubeObject | undefined> =>
      (await exists(ref.kind.toLowerCase(), ref.name))
        ? getJson<KubeObject>(ref.kind.toLowerCase(), ref.name)
        : undefined;
    const world = new Map<string, KubeObject | undefined>();
    for (const ref of nginxRouter.reads(routerRollout)) world.set(ref.name, await observe(ref));
    const plan = nginxRouter.plan(
      routerRollout,
      {
        canaryWeight: 20,
        headerRoutes: [{ name: 'beta', match: [{ headerName: 'X-Beta', headerValue: { exact: 'yes' } }] }],
      },
      (ref) => world.get(ref.name),
    );
    expect(plan.events.map((e) => e.reason)).toEqual(['CreatingCanaryIngress']);
    for (const o of plan.upsert) await apply(o);
    const canary = await getJson<KubeObject>('ingress', 'rollouts-demo-rollouts-demo-canary');
    expect(canary.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary': 'true',
      'nginx.ingress.kubernetes.io/canary-weight': '20',
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Beta',
      'nginx.ingress.kubernetes.io/canary-by-header-value': 'yes',
    });
    // Read back, the router sees nothing left to do.
    expect(
      nginxRouter.plan(
        routerRollout,
        {
          canaryWeight: 20,
          headerRoutes: [{ name: 'beta', match: [{ headerName: 'X-Beta', headerValue: { exact: 'yes' } }] }],
        },
        (ref) => (ref.name === canary.metadata.name ? canary : world.get(ref.name)),
      ).upsert,
    ).toEqual([]);

    await apply({
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'TraefikService',
      metadata: { name: 'rollouts-demo-weighted', namespace: 'default' },
      spec: {
        weighted: {
          services: [
            { name: 'rollouts-demo-stable', port: 80, weight: 100 },
            { name: 'rollouts-demo-canary', port: 80, weight: 0 },
          ],
        },
      },
    });
    const traefikRollout = {
      ...routerRollout,
      trafficRouting: { traefik: { weightedTraefikServiceName: 'rollouts-demo-weighted' } },
    };
    const ts = await getJson<KubeObject>('traefikservice', 'rollouts-demo-weighted');
    const tplan = traefikRouter.plan(traefikRollout, { canaryWeight: 40, headerRoutes: [] }, () => ts);
    await k().kubectl(['replace', '-f', '-'], { input: JSON.stringify(tplan.upsert[0]) });
    const after = await getJson<{ spec: { weighted: { services: { name: string; weight: number }[] } } }>(
      'traefikservice',
      'rollouts-demo-weighted',
    );
    expect(after.spec.weighted.services.map((s) => [s.name, s.weight])).toEqual([
      ['rollouts-demo-stable', 60],
      ['rollouts-demo-canary', 40],
    ]);
  }, 90_000);

  it('an AnalysisRun is accepted by the upstream CRD schema, and owned objects go with their Rollout', async () => {
    const run = analysisRunFor(
      rollout,
      {
        metrics: [
          {
            name: 'success-rate',
            successCondition: 'result[0] > 0.90',
            provider: { prometheus: { address: 'http://127.0.0.1:9090', query: 'vector(1)' } },
          },
        ],
        args: [],
      },
      { name: 'rollouts-demo-5cb694c445-1', kind: 'background', hash: '5cb694c445', revision: 1 },
    );
    await apply(run);
    expect(
      (await getJson<KubeObject>('analysisrun', 'rollouts-demo-5cb694c445-1')).metadata.labels,
    ).toMatchObject({
      'rollout-type': 'Background',
    });
    await k().kubectl(['delete', 'rollout', 'rollouts-demo', '-n', 'default', '--wait=true']);
    for (const [kind, name] of [
      ['replicaset', 'rollouts-demo-5cb694c445'],
      ['ingress', 'rollouts-demo-rollouts-demo-canary'],
      ['analysisrun', 'rollouts-demo-5cb694c445-1'],
    ] as const)
      await until(`${kind}/${name} to be garbage-collected`, async () => !(await exists(kind, name)));
  }, 120_000);
});
