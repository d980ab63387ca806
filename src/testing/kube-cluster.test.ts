/**
 * The test control plane works end to end: real etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok. A Deployment's pods are created by the controllers, bound by the scheduler
 * and marked Running and Ready by kwok; the upstream Argo Rollouts CRDs pass server-side apply; helm
 * renders a chart the apiserver accepts; `stop()` leaves no process behind.
 *
 * The first run on a machine builds the binaries (about 18 minutes on 2 CPUs: see
 * docs/adr/0011-test-control-plane.md; `scripts/cluster build` does it ahead), hence the long
 * beforeAll limit; with the cache warm the cluster is usable in 3-5 seconds.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from './cluster/control-plane.js';
import { procStat } from './cluster/util.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from './kube-cluster.js';
import { hasShared, sharedDir } from './upstream.js';

let cluster: KubeCluster | undefined;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};

interface ObjectList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}

const DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.k8s.io/pause:3.10
        ports: [{containerPort: 8080}]
`;

describe('a real Kubernetes control plane for tests', () => {
  beforeAll(async () => {
    await ensureBinaries(); // the first time: ~18 min of Go builds
    cluster = await startKubeCluster({ nodes: 2 });
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('answers /readyz with the pinned versions and two Ready kwok nodes', async () => {
    expect((await k().kubectl(['get', '--raw', '/readyz'])).trim()).toBe('ok');
    const version = JSON.parse(await k().kubectl(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe(k().info.versions.kubernetes);
    const nodes = JSON.parse(await k().kubectl(['get', 'nodes', '-o', 'json'])) as ObjectList;
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['kwok-node-0', 'kwok-node-1']);
    for (const n of nodes.items)
      expect(n.status.conditions?.find((c) => c.type === 'Ready')?.status, n.metadata.name).toBe('True');
  }, 30_000);

  it('runs a Deployment with 2 replicas until both pods are Running and Ready', async () => {
    await k().kubectl(['apply', '-f', '-'], { input: DEPLOYMENT });
    // ReplicaSet controller creates the pods, the scheduler binds them, kwok runs them.
    await k().kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s'], { timeoutMs: 100_000 });
    await k().kubectl(['wait', '--for=condition=Ready', 'pod', '-l', 'app=web', '--timeout=30s'], {
      timeoutMs: 40_000,
    });
    const pods = JSON.parse(await k().kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as ObjectList;
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.status.phase, p.metadata.name).toBe('Running');
      expect(p.status.conditions?.find((c) => c.type === 'Ready')?.status, p.metadata.name).toBe('True');
      expect(p.spec.nodeName, p.metadata.name).toMatch(/^kwok-node-[01]$/);
    }
    const deploy = JSON.parse(await k().kubectl(['get', 'deployment', 'web', '-o', 'json'])) as {
      status: { readyReplicas?: number; availableReplicas?: number };
    };
    expect(deploy.status.readyReplicas).toBe(2);
    expect(deploy.status.availableReplicas).toBe(2);
  }, 150_000);

  it.skipIf(!hasShared)(
    'accepts the upstream Argo Rollouts CRDs with server-side apply (dry run)',
    async () => {
      const file = join(sharedDir, 'crds', 'argo-rollouts-crds.yaml');
      const out = await k().kubectl(['apply', '--server-side', '--dry-run=server', '-f', file], {
        timeoutMs: 60_000,
      });
      for (const crd of [
        'rollouts',
        'analysistemplates',
        'clusteranalysistemplates',
        'analysisruns',
        'experiments',
      ])
        expect(out).toContain(
          `customresourcedefinition.apiextensions.k8s.io/${crd}.argoproj.io serverside-applied`,
        );
      // A dry run stores nothing.
      expect(await k().kubectl(['get', 'crd', '-o', 'name'])).not.toContain('argoproj.io');
    },
    90_000,
  );

  it('renders a chart with helm that the apiserver accepts', async () => {
    const chart = mkdtempSync(join(tmpdir(), 'vireo-chart-'));
    try {
      mkdirSync(join(chart, 'templates'));
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.1.0\n');
      writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
      writeFileSync(
        join(chart, 'templates', 'configmap.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-probe\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n',
      );
      const rendered = await new Promise<string>((resolve, reject) =>
        execFile(
          k().binaries.helm,
          ['template', 'demo', chart, '--set', 'greeting=hi'],
          { timeout: 30_000, env: { ...process.env, HELM_CACHE_HOME: chart, HELM_CONFIG_HOME: chart } },
          (err, stdout, stderr) =>
            err ? reject(new Error(`helm template failed: ${stderr}`)) : resolve(stdout),
        ),
      );
      expect(rendered).toContain('name: demo-probe');
      expect(rendered).toContain('greeting: "hi"');
      // helm is built to assume the cluster's release (ldflags in binaries.ts).
      expect(rendered).toContain(
        `kube: "v${k().info.versions.kubernetes.replace(/^v/, '').split('.').slice(0, 2).join('.')}.0"`,
      );
      const out = await k().kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered });
      expect(out).toContain('configmap/demo-probe created (server dry run)');
    } finally {
      rmSync(chart, { recursive: true, force: true });
    }
  }, 60_000);

  it('stop() ends every process of the cluster', async () => {
    const s = await status(k().dir);
    const pids = s.components.filter((c) => c.running).map((c) => c.pid);
    expect(s.components.map((c) => c.name).sort()).toEqual(
      ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'watchdog'].sort(),
    );
    expect(pids).toHaveLength(6);
    await k().stop();
    cluster = undefined;
    for (const pid of pids) {
      const st = procStat(pid);
      expect(st === undefined || st.state === 'Z', `pid ${pid} still runs`).toBe(true);
    }
  }, 60_000);
});
