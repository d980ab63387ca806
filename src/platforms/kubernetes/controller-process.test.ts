/**
 * `vireo controller` as real processes against a real control plane (issue 6): seed-003's blue/green
 * Rollout promoted with `vireo promote`; a controller killed with SIGKILL mid-step and started again
 * resumes from the Rollout's status; two controllers with leader election, the leader killed
 * mid-rollout: the other takes the Lease and finishes, and it did nothing before it led.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../testing/cli.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { hasShared, repoDir, sharedDir } from '../../testing/upstream.js';
import { pollUntil } from '../../testing/wait.js';
import { KubeApiClient, type KubeJson, loadKubeConfig, RESOURCES } from './client.js';
import { HASH_LABEL } from './objects.js';

let cluster: KubeCluster | undefined;
let client: KubeApiClient;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
const apply = (o: unknown) => k().kubectl(['apply', '-f', '-'], { input: JSON.stringify(o) });

interface Proc {
  name: string;
  child: ChildProcess;
  lines: { at: number; line: Record<string, unknown> }[];
  exited: Promise<void>;
}
const procs: Proc[] = [];

/** Starts `vireo controller` (JSON logs) with short leader-election times. */
function startController(name: string, extra: string[] = []): Proc {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'controller',
      '--kubeconfig',
      k().kubeconfigPath,
      '--leader-election-namespace',
      'default',
      '--lease-duration',
      '4s',
      '--renew-deadline',
      '3s',
      '--retry-period',
      '0.5s',
      '--metrics-port',
      '0',
      '--healthz-port',
      '0',
      '--log-level',
      'debug',
      ...extra,
    ],
    { cwd: repoDir, env: { ...process.env, POD_NAME: name }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const p: Proc = {
    name,
    child,
    lines: [],
    exited: new Promise((r) => child.once('exit', () => r())),
  };
  let buf = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const text = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        p.lines.push({ at: Date.now(), line: JSON.parse(text) as Record<string, unknown> });
      } catch {
        p.lines.push({ at: Date.now(), line: { msg: text } });
      }
    }
  });
  procs.push(p);
  return p;
}

const logOf = (p: Proc) => p.lines.map((l) => JSON.stringify(l.line)).join('\n');

const until = <T>(what: string, get: () => Promise<T | undefined | false>, ms = 90_000): Promise<T> =>
  pollUntil(what, get, ms, () => procs.map((p) => `--- ${p.name}\n${logOf(p).slice(-4000)}`).join('\n'));

interface RolloutJson extends KubeJson {
  spec: { template: { spec: { containers: { name: string; image: string }[] } } };
  status?: {
    phase?: string;
    stableRS?: string;
    currentPodHash?: string;
    currentStepIndex?: number;
    message?: string;
  };
}
const getRollout = (name: string) => client.get<RolloutJson>(RESOURCES.rollouts, 'default', name);
const selector = async (svc: string) =>
  (
    await client.get<KubeJson & { spec: { selector?: Record<string, string> } }>(
      RESOURCES.services,
      'default',
      svc,
    )
  )?.spec.selector?.[HASH_LABEL];
const setImage = (name: string, container: string, image: string) =>
  client.patch(RESOURCES.rollouts, 'default', name, {
    spec: { template: { spec: { containers: [{ name: container, image }] } } },
  });
/** Healthy on `hash` (default: on whatever its template is). */
const healthy = (name: string, hash?: string) =>
  until(`${name} Healthy${hash ? ` on ${hash}` : ''}`, async () => {
    const r = await getRollout(name);
    const s = r?.status;
    return s?.phase === 'Healthy' && s.stableRS === s.currentPodHash && (!hash || s.stableRS === hash)
      ? r
      : undefined;
  });

/** A canary without a router (weights by replica count) with short pauses, for the crash tests. */
const stepped = (name: string) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas: 4,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name, image: 'nginx:1.27' }] },
    },
    strategy: {
      canary: {
        steps: [
          { setWeight: 25 },
          { pause: { duration: '6s' } },
          { setWeight: 50 },
          { pause: { duration: '6s' } },
          { setWeight: 75 },
          { pause: { duration: '6s' } },
        ],
      },
    },
  },
});

describe.skipIf(!hasShared)('vireo controller processes on a real control plane', () => {
  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds([join(sharedDir, 'crds', 'argo-rollouts-crds.yaml')]);
    client = new KubeApiClient(loadKubeConfig({ kubeconfig: k().kubeconfigPath }));
  }, 75 * 60_000);

  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await cluster?.stop();
  }, 60_000);

  it('seed-003 blue/green: the preview comes up, the Rollout pauses, `vireo promote` switches the active Service', async () => {
    const one = startController('solo');
    const text = readFileSync(join(sharedDir, 'examples', 'seed-003-bluegreen-rollout.yaml'), 'utf8');
    for (const d of parseAllDocuments(text)) {
      const o = d.toJS() as KubeJson;
      o.metadata.namespace = 'default';
      await apply(o);
    }
    const first = await healthy('app-backend');
    expect(await selector('app-backend-stable')).toBe(first.status?.stableRS);

    await setImage('app-backend', 'app-backend', 'luciferstut/app-backend-for-ithome2024:day-22');
    const paused = await until('the preview up and the pause', async () => {
      const r = await getRollout('app-backend');
      return r?.status?.phase === 'Paused' && r.status.currentPodHash !== first.status?.stableRS
        ? r
        : undefined;
    });
    const next = paused.status?.currentPodHash;
    expect(await selector('app-backend-preview')).toBe(next);
    expect(await selector('app-backend-stable')).toBe(first.status?.stableRS);

    const r = await runCli(['promote', 'app-backend', '--kubeconfig', k().kubeconfigPath, '-n', 'default']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    await until(
      'the active Service on the new hash',
      async () => (await selector('app-backend-stable')) === next,
    );
    const done = await healthy('app-backend');
    expect(done.status?.stableRS).toBe(next);

    // What it serves beside: readiness, and Argo's metric names at /metrics.
    const started = one.lines.find((l) => l.line.msg === 'controller starting')?.line as
      | { healthz?: string; metrics?: string }
      | undefined;
    const readyz = String(started?.healthz).replace('/healthz', '/readyz');
    await until('/readyz 200 ok', async () => {
      const r = await fetch(readyz);
      return `${r.status} ${await r.text()}` === '200 ok';
    });
    const metrics = await (await fetch(String(started?.metrics))).text();
    expect(metrics).toMatch(/^rollout_info\{[^}]*name="app-backend"[^}]*strategy="blueGreen"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^rollout_reconcile_count\{namespace="default",name="app-backend"\} [1-9]/m);
    expect(metrics).toMatch(/^workqueue_adds_total\{name="rollout"\} [1-9]/m);

    one.child.kill('SIGTERM');
    await one.exited;
    // SIGTERM is a clean stop: it says so and gives the Lease back.
    expect(one.lines.some((l) => String(l.line.msg).startsWith('stopping'))).toBe(true);
  }, 180_000);

  it('kill -9 mid-step: started again, the controller resumes from status and finishes', async () => {
    const a = startController('crash-a', ['--no-leader-elect']);
    await apply(stepped('resume'));
    const before = await healthy('resume');
    await setImage('resume', 'resume', 'nginx:1.28');
    const mid = await until('the new revision at step 2 (50 %)', async () => {
      const r = await getRollout('resume');
      const s = r?.status;
      return s?.currentPodHash !== before.status?.stableRS && (s?.currentStepIndex ?? 0) >= 2 ? r : undefined;
    });
    a.child.kill('SIGKILL');
    await a.exited;
    const stepAtKill = mid.status?.currentStepIndex ?? 0;
    const b = startController('crash-b', ['--no-leader-elect']);
    const done = await healthy('resume', mid.status?.currentPodHash);
    expect(done.status?.stableRS).toBe(mid.status?.currentPodHash);
    // It went on from where the status said, never back to step 0 (its log shows no step below).
    const steps = b.lines
      .map((l) => l.line.step)
      .filter((s): s is number => typeof s === 'number' && Number.isInteger(s));
    expect(steps.length).toBeGreaterThan(0);
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(stepAtKill);
    b.child.kill('SIGTERM');
    await b.exited;
  }, 180_000);

  it('two controllers with leader election: the leader killed mid-rollout, the other takes over and finishes', async () => {
    // Only these two may run (an earlier failed test could have left one holding the Lease).
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    const x = startController('leader-x');
    const y = startController('leader-y');
    const lease = () =>
      client.get<KubeJson & { spec?: { holderIdentity?: string } }>(
        RESOURCES.leases,
        'default',
        'vireo-controller-lock',
      );
    const first = await until('one of them to lead', async () => {
      const holder = (await lease())?.spec?.holderIdentity;
      return holder === 'leader-x' || holder === 'leader-y' ? holder : undefined;
    });
    const [leader, standby] = first === 'leader-x' ? [x, y] : [y, x];
    await apply(stepped('failover'));
    const before = await healthy('failover');
    await setImage('failover', 'failover', 'nginx:1.28');
    const mid = await until('the new revision at step 1', async () => {
      const r = await getRollout('failover');
      const s = r?.status;
      return s?.currentPodHash !== before.status?.stableRS && (s?.currentStepIndex ?? 0) >= 1 ? r : undefined;
    });
    leader.child.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    await until(
      'the standby to hold the Lease',
      async () => (await lease())?.spec?.holderIdentity === standby.name,
    );
    const done = await healthy('failover', mid.status?.currentPodHash);
    expect(done.status?.stableRS).toBe(mid.status?.currentPodHash);
    // The standby did no work before it led: its first reconcile line comes after its "leading" line,
    // which comes after the kill.
    const leadingAt = standby.lines.find((l) => String(l.line.msg).startsWith('leading'))?.at ?? Number.NaN;
    expect(leadingAt).toBeGreaterThan(killedAt);
    const worked = standby.lines.filter((l) => typeof l.line.rollout === 'string');
    expect(worked.length).toBeGreaterThan(0);
    expect(Math.min(...worked.map((l) => l.at))).toBeGreaterThanOrEqual(leadingAt);
  }, 180_000);
});
