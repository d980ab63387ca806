/**
 * End to end on a real control plane (issue 6): spec.workloadRef (the template and selector from a
 * Deployment, status.workloadObservedGeneration, scaleDown onsuccess and progressively, Argo's
 * InvalidSpec for a missing or unsupported workload), the scale subresource (`kubectl scale`, the
 * Scale object, an HPA driving the Rollout) and `vireo undo` scaling the old ReplicaSet back up. The
 * controller runs in this process; virtual time runs 10x faster than the wall clock.
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMetricProviders } from '../../analysis/providers/index.js';
import { podTemplateHash } from '../../api/argo/pod-template-hash.js';
import { runCli } from '../../testing/cli.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { pollUntil } from '../../testing/wait.js';
import { KubeApiClient, type KubeClient, type KubeJson, loadKubeConfig, RESOURCES } from './client.js';
import { Controller } from './controller.js';
import { HASH_LABEL, REVISION_ANNOTATION } from './objects.js';
import { WORKLOAD_GENERATION_ANNOTATION } from './workload.js';

const SPEED = 10;
const NS = 'default';

let cluster: KubeCluster | undefined;
let client: KubeApiClient;
let controller: Controller | undefined;
const leading = new AbortController();
let workers: Promise<void> | undefined;
const logs: string[] = [];
/** The names (generateName) of the server-side dry-run ReplicaSet creates the controller made. */
const dryRuns: string[] = [];

const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
const apply = (o: unknown) => k().kubectl(['apply', '-f', '-'], { input: JSON.stringify(o) });

const until = <T>(what: string, get: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> =>
  pollUntil(what, get, ms, () => logs.slice(-30).join('\n'));

interface Condition {
  type: string;
  message?: string;
}
interface RolloutJson extends KubeJson {
  spec: { template?: unknown; selector?: unknown; replicas?: number };
  status?: {
    phase?: string;
    message?: string;
    stableRS?: string;
    currentPodHash?: string;
    availableReplicas?: number;
    HPAReplicas?: number;
    selector?: string;
    workloadObservedGeneration?: string;
    conditions?: Condition[];
  };
}
interface ReplicaSetJson extends KubeJson {
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: { containers?: { image?: string }[] };
    };
  };
}
interface DeploymentJson extends KubeJson {
  spec: { replicas?: number };
  status?: { availableReplicas?: number };
}

const getRollout = async (name: string) =>
  (await client.get<RolloutJson>(RESOURCES.rollouts, NS, name)) as RolloutJson;
const getDeployment = async (name: string) =>
  (await client.get<DeploymentJson>(RESOURCES.deployments, NS, name)) as DeploymentJson;
const replicaSetsOf = async (rollout: RolloutJson) =>
  (await client.list<ReplicaSetJson>(RESOURCES.replicaSets, NS)).items.filter((rs) =>
    rs.metadata.ownerReferences?.some((o) => o.uid === rollout.metadata.uid),
  );
const promoted = (name: string) =>
  until(`${name} Healthy and fully promoted`, async () => {
    const r = await getRollout(name);
    return r?.status?.phase === 'Healthy' && r.status.stableRS === r.status.currentPodHash ? r : undefined;
  });
const events = async (name: string) =>
  (
    await client.list<KubeJson & { reason?: string; message?: string }>(RESOURCES.events, NS, {
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=Rollout`,
    })
  ).items;

const deployment = (name: string, replicas: number, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image }] },
    },
  },
});
const referring = (name: string, deploymentName: string, scaleDown: string, extra: object = {}) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 2,
    workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName, scaleDown },
    strategy: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: 20 } }] } },
    ...extra,
  },
});
/** A Rollout with its own template, no steps (a new template is promoted at once). */
const plain = (name: string, replicas: number) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name, namespace: NS },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
    },
    strategy: { canary: {} },
  },
});

describe.skipIf(!hasShared)('workloadRef, the scale subresource and undo on a real control plane', () => {
  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds([join(sharedDir, 'crds', 'argo-rollouts-crds.yaml')]);
    client = new KubeApiClient(loadKubeConfig({ kubeconfig: k().kubeconfigPath }));
    // The real client, with the dry runs it is asked for noted (the undo test counts them).
    const counting: KubeClient = Object.assign(Object.create(client) as KubeApiClient, {
      create: ((type, obj, opts) => {
        if (opts?.dryRun) dryRuns.push(String(obj.metadata.generateName ?? obj.metadata.name));
        return client.create(type, obj, opts);
      }) as KubeClient['create'],
    });
    const t0 = Date.now();
    controller = new Controller({
      client: counting,
      providers: realMetricProviders(),
      now: () => t0 + (Date.now() - t0) * SPEED,
      speed: SPEED,
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
    await cluster?.stop();
  }, 60_000);

  describe('workloadRef', () => {
    it('takes the template and selector from the Deployment, reports its generation, then scales it to 0 (onsuccess)', async () => {
      await apply(deployment('legacy', 2, 'nginx:1.27'));
      await until(
        'the Deployment available',
        async () => (await getDeployment('legacy'))?.status?.availableReplicas === 2,
      );
      await apply(referring('legacy', 'legacy', 'onsuccess'));
      const r = await promoted('legacy');

      // The Rollout on the server is not rewritten: no template, no selector of its own.
      expect(r.spec.template).toBeUndefined();
      expect(r.spec.selector).toBeUndefined();
      const [rs, ...more] = await replicaSetsOf(r);
      expect(more).toEqual([]);
      expect(rs?.metadata.name).toBe(`legacy-${r.status?.currentPodHash}`);
      expect(rs?.spec.replicas).toBe(2);
      expect(rs?.spec.template?.spec?.containers?.[0]?.image).toBe('nginx:1.27');
      expect(rs?.spec.template?.metadata?.labels).toEqual({
        app: 'legacy',
        [HASH_LABEL]: r.status?.currentPodHash,
      });
      expect(rs?.spec.selector?.matchLabels).toEqual({
        app: 'legacy',
        [HASH_LABEL]: r.status?.currentPodHash,
      });
      // The scale subresource's selector, from the Deployment's selector.
      expect(r.status?.selector).toBe('app=legacy');

      // Healthy on its first template: the Deployment goes to 0 (a new generation of it, which the
      // Rollout then reports as observed).
      const dep = await until('the Deployment scaled to 0', async () => {
        const d = await getDeployment('legacy');
        return d.spec.replicas === 0 ? d : undefined;
      });
      const seen = await until('the Rollout to report the Deployment generation', async () => {
        const x = await getRollout('legacy');
        return x.status?.workloadObservedGeneration === String(dep.metadata.generation) ? x : undefined;
      });
      expect(seen.metadata.annotations?.[WORKLOAD_GENERATION_ANNOTATION]).toBe(
        String(dep.metadata.generation),
      );
      expect((await events('legacy')).map((e) => e.message)).toContain(
        'Scaled down Deployment legacy from 2 to 0 (workloadRef scaleDown onsuccess)',
      );
    }, 150_000);

    it('a new template in the Deployment is a new revision of the Rollout, through its steps', async () => {
      const before = await getRollout('legacy');
      await client.patch(RESOURCES.deployments, NS, 'legacy', {
        spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28' }] } } },
      });
      const phases = new Set<string>();
      const r = await until('the new template promoted', async () => {
        const x = await getRollout('legacy');
        if (x.status?.phase) phases.add(x.status.phase);
        return x.status?.phase === 'Healthy' &&
          x.status.stableRS !== before.status?.stableRS &&
          x.status.stableRS === x.status.currentPodHash
          ? x
          : undefined;
      });
      // The canary paused at its pause step on the way (the steps ran, it was not a new first deploy).
      expect(phases).toContain('Paused');
      const dep = await getDeployment('legacy');
      expect(r.status?.workloadObservedGeneration).toBe(String(dep.metadata.generation));
      expect(dep.spec.replicas).toBe(0);
      const sets = await replicaSetsOf(r);
      const current = sets.find((rs) => rs.metadata.labels?.[HASH_LABEL] === r.status?.currentPodHash);
      expect(current?.spec.template?.spec?.containers?.[0]?.image).toBe('nginx:1.28');
      expect(sets).toHaveLength(2);
    }, 150_000);

    it('progressively: the Deployment gives up a pod for each available Rollout pod, down to 0, never up', async () => {
      await apply(deployment('gradual', 3, 'nginx:1.27'));
      await until(
        'the Deployment available',
        async () => (await getDeployment('gradual'))?.status?.availableReplicas === 3,
      );
      await apply(referring('gradual', 'gradual', 'progressively', { replicas: 3 }));
      const samples: { deployment: number; available: number }[] = [];
      await until('the Deployment at 0 and the Rollout promoted', async () => {
        // The Deployment first: the controller scales it only after writing the status it follows.
        const d = await getDeployment('gradual');
        const r = await getRollout('gradual');
        samples.push({ deployment: d.spec.replicas ?? 1, available: r?.status?.availableReplicas ?? 0 });
        return d.spec.replicas === 0 && r?.status?.phase === 'Healthy';
      });
      const counts = samples.map((s) => s.deployment);
      expect(counts[0]).toBe(3);
      expect(counts.at(-1)).toBe(0);
      // Never up, and never fewer pods between the two than the Rollout wants.
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeLessThanOrEqual(counts[i - 1] ?? 0);
      for (const s of samples) expect(s.deployment + s.available).toBeGreaterThanOrEqual(3);
    }, 150_000);

    it("is InvalidSpec with Argo's message while the Deployment is missing, and starts when it appears", async () => {
      await apply(referring('ghost', 'ghost', 'never'));
      const r = await until('InvalidSpec', async () => {
        const x = await getRollout('ghost');
        return x?.status?.conditions?.some((c) => c.type === 'InvalidSpec') ? x : undefined;
      });
      const message = 'The Rollout "ghost" is invalid: deployments.apps "default/ghost" not found';
      expect(r.status?.conditions?.find((c) => c.type === 'InvalidSpec')?.message).toBe(message);
      expect(r.status?.phase).toBe('Degraded');
      expect(r.status?.message).toBe(`InvalidSpec: ${message}`);
      expect(await replicaSetsOf(r)).toEqual([]);

      // Only the Deployment's creation wakes it (nothing requeues an InvalidSpec Rollout sooner than
      // the 5-minute resync): the Deployments informer is wired to the Rollouts that name them.
      await apply(deployment('ghost', 1, 'nginx:1.27'));
      const ok = await promoted('ghost');
      expect(ok.status?.conditions?.some((c) => c.type === 'InvalidSpec')).toBe(false);
      expect(await replicaSetsOf(ok)).toHaveLength(1);
      // never: the Deployment is left alone.
      expect((await getDeployment('ghost')).spec.replicas).toBe(1);
    }, 150_000);

    it('is InvalidSpec for a workload kind Vireo does not take templates from', async () => {
      await apply({
        ...referring('odd', 'legacy', 'never'),
        spec: {
          replicas: 1,
          workloadRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'legacy' },
          strategy: { canary: {} },
        },
      });
      const r = await until('InvalidSpec', async () => {
        const x = await getRollout('odd');
        return x?.status?.conditions?.some((c) => c.type === 'InvalidSpec') ? x : undefined;
      });
      expect(r.status?.message).toBe(
        'InvalidSpec: The Rollout "odd" is invalid: workload of type apps/v1 StatefulSet is not supported (Vireo takes the template from an apps/v1 Deployment)',
      );
    }, 60_000);
  });

  describe('the scale subresource', () => {
    it('kubectl scale and an HPA set spec.replicas through it; the Scale shows status.HPAReplicas and the selector', async () => {
      await apply(plain('scaled', 2));
      await promoted('scaled');
      expect(await k().kubectl(['scale', 'rollout', 'scaled', '--replicas=5', '-n', NS])).toMatch(/scaled/);
      const r = await until('5 replicas', async () => {
        const x = await getRollout('scaled');
        return x.status?.HPAReplicas === 5 && x.status.phase === 'Healthy' ? x : undefined;
      });
      const [rs] = await replicaSetsOf(r);
      expect(rs?.spec.replicas).toBe(5);
      const scale = JSON.parse(
        await k().kubectl(['get', 'rollout', 'scaled', '-n', NS, '--subresource=scale', '-o', 'json']),
      ) as { kind: string; spec: { replicas: number }; status: { replicas: number; selector: string } };
      expect(scale).toMatchObject({
        kind: 'Scale',
        spec: { replicas: 5 },
        status: { replicas: 5, selector: 'app=scaled' },
      });

      // An HPA aimed at the Rollout is accepted. Its controller cannot compute CPU utilisation here
      // (no metrics server), so it will never scale on the metric; but it first brings the target
      // within [minReplicas, maxReplicas] through the scale subresource, metrics or not, which shows
      // it reads and writes the Rollout's Scale.
      await apply({
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'scaled', namespace: NS },
        spec: {
          scaleTargetRef: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'scaled' },
          minReplicas: 6,
          maxReplicas: 8,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
        },
      });
      const six = await until('the HPA minimum applied', async () => {
        const x = await getRollout('scaled');
        return x.spec.replicas === 6 && x.status?.HPAReplicas === 6 ? x : undefined;
      });
      const [rs6] = await replicaSetsOf(six);
      expect(rs6?.spec.replicas).toBe(6);
    }, 150_000);
  });

  describe('undo', () => {
    it('scales the old ReplicaSet back up (no third one), with the next revision', async () => {
      await apply(plain('back', 2));
      const first = await promoted('back');
      const a = first.status?.currentPodHash ?? '';
      await client.patch(RESOURCES.rollouts, NS, 'back', {
        spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28' }] } } },
      });
      const second = await until('the second template promoted', async () => {
        const x = await getRollout('back');
        return x.status?.phase === 'Healthy' &&
          x.status.stableRS !== a &&
          x.status.stableRS === x.status.currentPodHash
          ? x
          : undefined;
      });
      const b = second.status?.currentPodHash ?? '';

      const undo = await runCli(['undo', 'back', '--kubeconfig', k().kubeconfigPath]);
      expect(undo).toMatchObject({ code: 0, out: "rollout 'back' undo\n" });
      // What makes this a test of template matching: the template undo wrote carries the API
      // server's defaults, so it does not hash to the old ReplicaSet's hash.
      const undone = await getRollout('back');
      expect(podTemplateHash(undone.spec.template as never, 0)).not.toBe(a);

      const r = await until('the first ReplicaSet stable again', async () => {
        const x = await getRollout('back');
        return x.status?.phase === 'Healthy' && x.status.stableRS === a && x.status.currentPodHash === a
          ? x
          : undefined;
      });
      const sets = await replicaSetsOf(r);
      expect(sets.map((rs) => rs.metadata.labels?.[HASH_LABEL]).sort()).toEqual([a, b].sort());
      const old = sets.find((rs) => rs.metadata.labels?.[HASH_LABEL] === a);
      expect(old?.spec.replicas).toBe(2);
      expect(old?.metadata.annotations?.[REVISION_ANNOTATION]).toBe('3');
      await until('the second ReplicaSet scaled down', async () => {
        const x = (await replicaSetsOf(r)).find((rs) => rs.metadata.labels?.[HASH_LABEL] === b);
        return x?.spec.replicas === 0;
      });
      // One dry run per revision that had no ReplicaSet of its hash (the second template, the undo),
      // however often the Rollout was reconciled.
      expect(dryRuns.filter((n) => n.startsWith('back-'))).toHaveLength(2);
    }, 150_000);
  });
});
