/**
 * The CLI's release verbs and `vireo dashboard` against a Kubernetes cluster, end to end through the
 * real entry point (`run` in main.ts) on a real control plane (scripts/cluster, upstream Argo CRDs;
 * no controller: the test writes the Rollout and its objects as the controller would). Also: the local
 * target still talks to the runtime's API and now names who acts; local-only commands refuse a cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podTemplateHash } from '../../api/argo/pod-template-hash.js';
import type { Rollout } from '../../api/argo/rollout.js';
import {
  KubeApiClient,
  type KubeJson,
  loadKubeConfig,
  RESOURCES,
} from '../../platforms/kubernetes/client.js';
import { replicaSetFor } from '../../platforms/kubernetes/objects.js';
import { KubeReleases } from '../../platforms/kubernetes/releases.js';
import { runCli } from '../../testing/cli.js';
import { json, startRecorder } from '../../testing/http-recorder.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import type { ReleaseView } from '../../views/release.js';
import type { Io } from '../io.js';
import { cliActor } from './cluster-target.js';
import { registerDashboard } from './dashboard.js';

describe('cliActor', () => {
  it('is cli: and the login name, printable', () => {
    expect(cliActor()).toMatch(/^cli:[\x21-\x7e]{1,64}$/);
  });
});

describe('the local target', () => {
  it('verbs still go to the runtime API, and now name who acts', async () => {
    const rec = await startRecorder((r) =>
      r.method === 'POST'
        ? { body: { message: "rollout 'web' aborted" } }
        : { status: 404, body: { error: 'x' } },
    );
    try {
      const r = await runCli(['abort', 'web', '--server', rec.url, '-n', 'shop']);
      expect(r).toEqual({ code: 0, out: "rollout 'web' aborted\n", err: '' });
      expect(rec.requests[0]?.path).toBe('/api/v1/releases/shop/web/abort');
      expect(json(rec.requests[0]!)).toEqual({ actor: cliActor() });
      const img = await runCli(['set', 'image', 'web', 'web=web:2', '--server', rec.url, '-o', 'json']);
      expect(rec.requests[1]?.path).toBe('/api/v1/releases/default/web/set-image');
      expect(json(rec.requests[1]!)).toEqual({ container: 'web', image: 'web:2', actor: cliActor() });
      expect(JSON.parse(img.out)).toEqual({
        namespace: 'default',
        name: 'web',
        action: 'set image web=web:2',
        actor: cliActor(),
        message: "rollout 'web' aborted",
      });
    } finally {
      await rec.close();
    }
  });

  it('refuses a cluster flag mixed with the local runtime flags', async () => {
    const r = await runCli(['promote', 'web', '--cluster', '--server', 'http://127.0.0.1:9']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--server and --state-dir name the local runtime/);
  });
});

// ---------------------------------------------------------------------------------------------------

let cluster: KubeCluster | undefined;
let client: KubeApiClient;
let dir: string;
/** The test cluster's kubeconfig, and a copy whose context names namespace `shop`. */
let kubeconfig: string;
let shopKubeconfig: string;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};

type RolloutJson = Rollout & KubeJson;

const getRollout = async (name: string, ns = 'default') => {
  const r = await client.get<RolloutJson>(RESOURCES.rollouts, ns, name);
  if (!r) throw new Error(`no rollout ${ns}/${name}`);
  return r;
};

/** A canary paused at its step 1 as the controller leaves it: revision 1 stable, revision 2 canary. */
async function pausedCanary(name: string, ns: string): Promise<void> {
  await client.create(RESOURCES.rollouts, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: `${name}:blue` }] },
      },
      strategy: { canary: { steps: [{ setWeight: 50 }, { pause: {} }] } },
    },
  });
  const v1 = await getRollout(name, ns);
  const stable = podTemplateHash(v1.spec.template);
  await client.create(RESOURCES.replicaSets, replicaSetFor(v1, stable, 1, 1) as KubeJson);
  const v2 = await client.patch<RolloutJson>(RESOURCES.rollouts, ns, name, {
    spec: { template: { spec: { containers: [{ name: 'app', image: `${name}:green` }] } } },
  });
  const canary = podTemplateHash(v2.spec.template);
  await client.create(RESOURCES.replicaSets, replicaSetFor(v2, canary, 2, 1) as KubeJson);
  await client.patch(
    RESOURCES.rollouts,
    ns,
    name,
    {
      status: {
        phase: 'Paused',
        message: 'CanaryPauseStep',
        currentStepIndex: 1,
        stableRS: stable,
        currentPodHash: canary,
        pauseConditions: [{ reason: 'CanaryPauseStep', startTime: '2026-11-22T10:00:00Z' }],
        controllerPause: true,
        replicas: 2,
        updatedReplicas: 1,
        readyReplicas: 2,
        availableReplicas: 2,
      },
    },
    { subresource: 'status' },
  );
}

const setPhase = (name: string, ns: string, phase: string) =>
  client.patch(
    RESOURCES.rollouts,
    ns,
    name,
    { status: { phase, message: null, pauseConditions: null } },
    { subresource: 'status' },
  );

describe.skipIf(!hasShared)('the CLI against a real cluster', () => {
  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds([join(sharedDir, 'crds', 'argo-rollouts-crds.yaml')]);
    kubeconfig = k().kubeconfigPath;
    const kc = loadKubeConfig({ kubeconfig });
    client = new KubeApiClient(kc);
    dir = mkdtempSync(join(tmpdir(), 'vireo-cluster-target-'));
    kc.contexts = kc.contexts.map((c) => ({ ...c, namespace: 'shop' }));
    shopKubeconfig = join(dir, 'shop.kubeconfig');
    writeFileSync(shopKubeconfig, kc.exportConfig());
    await client.create(RESOURCES.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
    });
    await pausedCanary('web', 'default');
    await pausedCanary('api', 'shop');
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('get rollout: the tree, and -o json the view KubeReleases builds', async () => {
    const r = await runCli(['get', 'rollout', 'web', '--kubeconfig', kubeconfig]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Name:\s+web$/m);
    expect(r.out).toMatch(/^Status:\s+॥ Paused$/m);
    expect(r.out).toMatch(/web:green \(canary\)/);
    expect(r.out).toMatch(/web:blue \(stable\)/);
    const j = await runCli(['get', 'rollout', 'web', '--kubeconfig', kubeconfig, '-o', 'json']);
    const view = JSON.parse(j.out) as ReleaseView;
    expect(view).toMatchObject({ name: 'web', phase: 'Paused', step: { index: 1, count: 2 }, revision: 2 });
    const direct = await new KubeReleases({ client }).get('default', 'web');
    expect({ ...view, versions: undefined }).toEqual({ ...direct, versions: undefined });
    expect(view.versions.map((v) => [v.revision, v.roles])).toEqual([
      [2, ['canary']],
      [1, ['stable']],
    ]);
  });

  it('list rollouts: the context namespace by default, -n, -A', async () => {
    const r = await runCli(['list', 'rollouts', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^NAME\s+KIND\s+STRATEGY\s+STATUS/);
    expect(r.out).toMatch(/^web\s+Rollout\s+Canary\s+Paused\s+1\/2\s+50\s+-\s+2\/2\s+2\s/m);
    expect(r.out).not.toMatch(/api/);
    const shop = await runCli(['list', 'rollouts', '--kubeconfig', shopKubeconfig]);
    expect(shop.out).toMatch(/^api\s+Rollout/m);
    expect(shop.out).not.toMatch(/^web/m);
    const n = await runCli(['list', 'rollouts', '--kubeconfig', shopKubeconfig, '-n', 'default']);
    expect(n.out).toMatch(/^web\s+Rollout/m);
    const all = await runCli(['list', 'rollouts', '--kubeconfig', kubeconfig, '-A', '-o', 'json']);
    expect((JSON.parse(all.out) as ReleaseView[]).map((v) => `${v.namespace}/${v.name}`)).toEqual([
      'default/web',
      'shop/api',
    ]);
  });

  it('promote, then abort -o json: written to the Rollout, recorded with the CLI user', async () => {
    const p = await runCli(['promote', 'web', '--kubeconfig', kubeconfig]);
    expect(p).toEqual({ code: 0, out: "rollout 'web' promoted\n", err: '' });
    let r = await getRollout('web');
    expect(r.status?.pauseConditions).toBeUndefined();
    expect(r.status?.currentStepIndex).toBe(1);

    const a = await runCli(['abort', 'web', '--kubeconfig', kubeconfig, '-o', 'json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out)).toEqual({
      namespace: 'default',
      name: 'web',
      action: 'abort',
      actor: cliActor(),
      message: "rollout 'web' aborted",
    });
    r = await getRollout('web');
    expect(r.status?.abort).toBe(true);

    const events = await client.list<KubeJson & { reason?: string; message?: string; source?: unknown }>(
      RESOURCES.events,
      'default',
      { fieldSelector: `involvedObject.uid=${r.metadata.uid}` },
    );
    expect(events.items.filter((e) => e.reason === 'UserAction').map((e) => e.message)).toEqual([
      `promote by ${cliActor()}`,
      `abort by ${cliActor()}`,
    ]);
    expect(events.items[0]?.source).toEqual({ component: 'vireo-cli' });
    // The tree shows them among the events.
    const tree = await runCli(['get', 'rollout', 'web', '--kubeconfig', kubeconfig]);
    expect(tree.out).toMatch(new RegExp(`UserAction\\s+abort by ${cliActor()}`));
  });

  it('the other verbs, in the context namespace', async () => {
    const run = (...a: string[]) => runCli([...a, '--kubeconfig', shopKubeconfig]);
    expect((await run('pause', 'api')).out).toBe("rollout 'api' paused\n");
    expect((await getRollout('api', 'shop')).spec.paused).toBe(true);
    expect((await run('resume', 'api')).out).toBe("rollout 'api' resumed\n");
    expect((await run('set', 'image', 'api', 'app=api:yellow')).out).toBe('rollout "api" image updated\n');
    expect((await getRollout('api', 'shop')).spec.template?.spec?.containers?.[0]?.image).toBe('api:yellow');
    expect((await run('undo', 'api', '--to-revision', '1')).out).toBe("rollout 'api' undo\n");
    expect((await getRollout('api', 'shop')).spec.template?.spec?.containers?.[0]?.image).toBe('api:blue');
    expect((await run('restart', 'api')).out).toBe("rollout 'api' restarts\n");
    expect((await getRollout('api', 'shop')).spec.restartAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await run('retry', 'api')).out).toBe("rollout 'api' retried\n");
    expect((await run('promote', 'api', '--full')).out).toBe("rollout 'api' fully promoted\n");
    expect((await getRollout('api', 'shop')).status?.promoteFull).toBe(true);
    const bad = await run('set', 'image', 'api', 'nope=x');
    expect(bad).toMatchObject({ code: 1, err: 'error: unable to find container named "nope"\n' });
  });

  it('status polls the cluster until Healthy (0) or Degraded (1)', async () => {
    await setPhase('api', 'shop', 'Progressing');
    const waiting = runCli(['status', 'api', '--kubeconfig', shopKubeconfig, '--timeout', '60s']);
    await new Promise((r) => setTimeout(r, 1500));
    await setPhase('api', 'shop', 'Healthy');
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter(Boolean)).toEqual(['Progressing', 'Healthy']);
    await setPhase('api', 'shop', 'Degraded');
    const d = await runCli(['status', 'api', '-n', 'shop', '--kubeconfig', kubeconfig]);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/degraded state/);
  });

  it('as kubectl vireo: always the cluster ($KUBECONFIG); apply, delete and logs say what to use', async () => {
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = kubeconfig;
    try {
      const g = await runCli(['get', 'rollout', 'web', '-o', 'json'], '', 'kubectl-vireo');
      expect(g.code).toBe(0);
      expect((JSON.parse(g.out) as ReleaseView).name).toBe('web');
      const a = await runCli(['apply', '-f', '-'], '{}', 'kubectl-vireo');
      expect(a).toEqual({
        code: 1,
        out: '',
        err: 'error: vireo apply works on the local runtime only; on a Kubernetes cluster, use kubectl apply -f FILE\n',
      });
      const d = await runCli(['delete', 'rollout', 'web'], '', 'kubectl-vireo');
      expect(d.err).toMatch(/use kubectl delete rollout web/);
      const l = await runCli(['logs', 'web', '--cluster']);
      expect(l.err).toMatch(
        /vireo logs works on the local runtime only; on a Kubernetes cluster, use kubectl logs/,
      );
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('errors: a missing rollout, an unknown context, an unreachable server', async () => {
    const missing = await runCli(['get', 'rollout', 'nope', '--kubeconfig', kubeconfig]);
    expect(missing).toEqual({ code: 1, out: '', err: 'error: rollout default/nope not found\n' });
    const ctx = await runCli(['list', 'rollouts', '--kubeconfig', kubeconfig, '--context', 'nope']);
    expect(ctx.code).toBe(1);
    expect(ctx.err).toMatch(/^error: cannot use the kubeconfig .*: no context nope in the kubeconfig/);
    const kc = loadKubeConfig({ kubeconfig });
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: 'https://127.0.0.1:9' }));
    const dead = join(dir, 'dead.kubeconfig');
    writeFileSync(dead, kc.exportConfig());
    const down = await runCli(['promote', 'web', '--kubeconfig', dead]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/^error: cannot reach the cluster's API server at https:\/\/127\.0\.0\.1:9: /);
    const file = await runCli(['list', 'rollouts', '--kubeconfig', join(dir, 'missing')]);
    expect(file.code).toBe(1);
    expect(file.err).toMatch(/^error: cannot use the kubeconfig .*missing: /);
  });

  it('vireo dashboard --kubeconfig -n: the JSON API over the cluster', async () => {
    let out = '';
    let err = '';
    let code = -1;
    const ac = new AbortController();
    let started: () => void = () => {};
    const ready = new Promise<void>((r) => {
      started = r;
    });
    const io: Io = {
      out: (t) => {
        out += t;
        if (/dashboard on/.test(out)) started();
      },
      err: (t) => {
        err += t;
      },
      stdin: () => '',
    };
    const program = new Command().exitOverride();
    registerDashboard(program, io, (n) => (code = n), { signal: ac.signal });
    const running = program.parseAsync(
      ['dashboard', '--kubeconfig', kubeconfig, '-n', 'shop', '--port', '0'],
      { from: 'user' },
    );
    await Promise.race([ready, running]);
    const url = /dashboard on (http:\/\/\S+)/.exec(out)?.[1];
    expect(url, err).toBeDefined();
    const list = (await (await fetch(`${url}/api/v1/releases`)).json()) as { key: string }[];
    expect(list.map((s) => s.key)).toEqual(['shop/api']);
    const one = (await (await fetch(`${url}/api/v1/releases/shop/api`)).json()) as ReleaseView;
    expect(one.versions).toHaveLength(2);
    expect(err).toMatch(/dashboard over the cluster at https:\/\/127\.0\.0\.1:\d+, namespace shop/);
    ac.abort();
    await running;
    expect(code).toBe(0);
  });
});
