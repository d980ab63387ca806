/**
 * End-to-end tests of the local runtime with real replica processes (the demo service), the real
 * proxy and real HTTP traffic, driven through the API and the CLI as a user would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { demoServerCommand, runDemoScript } from '../../../demo/local.js';
import { runLoad } from '../../../loadtester/load.js';
import { runCli } from '../../../testing/cli.js';
import { startRecorder } from '../../../testing/http-recorder.js';
import { freePort } from '../../../testing/net.js';
import { ensureCommand } from '../../../testing/system.js';
import type { ReleaseView } from '../../../views/release.js';
import { startNginxRouter } from '../router/nginx.js';
import type { LocalRouter } from '../router/router.js';
import { type ApiServer, startApi } from './api.js';
import { LocalRuntime, normalKind, UserError } from './runtime.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

async function runtime(router?: (dir: string) => Promise<LocalRouter>): Promise<{
  rt: LocalRuntime;
  api: ApiServer;
  dir: string;
  cli: (...a: string[]) => ReturnType<typeof runCli>;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'vireo-rt-'));
  const rt = await LocalRuntime.start({
    stateDir: dir,
    stopDelayMs: 200,
    gracePeriodMs: 5_000,
    ...(router ? { router: await router(dir) } : {}),
  });
  const api = await startApi(rt, { host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await api.close();
    await rt.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { rt, api, dir, cli: (...a: string[]) => runCli([...a, '--server', api.url, '--state-dir', dir]) };
}

async function until(
  rt: LocalRuntime,
  name: string,
  ok: (v: ReleaseView) => boolean,
  ms = 30_000,
): Promise<ReleaseView> {
  const end = Date.now() + ms;
  for (;;) {
    const v = rt.view('default', name);
    if (ok(v)) return v;
    if (Date.now() > end)
      throw new Error(`timeout: ${JSON.stringify({ phase: v.phase, message: v.message, step: v.step })}`);
    await sleep(50);
  }
}

const [program, ...programArgs] = demoServerCommand();
const container = (image: string) => ({
  name: 'app',
  image,
  command: [program],
  args: programArgs,
  readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
});
const service = (name: string, port = 0) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, annotations: { 'vireo.dev/port': String(port) } },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
});
const rolloutYaml = (strategy: unknown, image: string, services: string[], ports: number[] = []) =>
  [
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container(image)] } },
        strategy,
      },
    },
    ...services.map((name, i) => service(name, ports[i] ?? 0)),
  ]
    .map((d) => stringify(d))
    .join('---\n');

async function color(url: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(`${url}/color`, { headers });
  return ((await r.json()) as { color: string }).color;
}

describe('local runtime, end to end', () => {
  it('plays seed 000: green promoted step by step, yellow with 50 % errors aborted, no request lost', async () => {
    const lines: string[] = [];
    const r = await runDemoScript({ say: (l) => lines.push(l) });
    expect(r.problems, lines.join('\n')).toEqual([]);
    expect(r.ok).toBe(true);
    expect(lines.join('\n')).toMatch(
      /green weight 20 %[\s\S]*green weight 40 %[\s\S]*green weight 60 %[\s\S]*green weight 80 %/,
    );
    expect(r.promoteSeconds).toBeLessThan(30);
    expect(r.abortSeconds).toBeLessThan(30);
    // Yellow failed requests before the abort, but it was stopped after 4 failed measurements.
    expect(r.yellowBad).toBeGreaterThan(0);
    expect(r.yellowBad).toBeLessThan(r.sent / 5);
    expect(r.sent).toBeGreaterThan(500);
    expect(r.unanswered).toBe(0);
  }, 120_000);

  it('blue/green with a manual promote, driven by the CLI', async () => {
    const { rt, dir, cli } = await runtime();
    const file = path.join(dir, 'bg.yaml');
    const strategy = {
      blueGreen: { activeService: 'web', previewService: 'web-preview', autoPromotionEnabled: false },
    };
    writeFileSync(file, rolloutYaml(strategy, 'demo:blue', ['web', 'web-preview']));
    const applied = await cli('apply', '-f', file);
    expect(applied.err).toBe('');
    expect(applied.out).toBe(
      'rollout.argoproj.io/web created\nservice/web created\nservice/web-preview created\n',
    );
    expect((await cli('status', 'web', '--timeout', '30s')).code).toBe(0);
    await rt.flush();
    const active = rt.addresses().web as string;
    const preview = rt.addresses()['web-preview'] as string;
    expect(await color(active)).toBe('blue');

    expect((await cli('set', 'image', 'web', 'app=demo:green')).out).toBe('rollout "web" image updated\n');
    await until(
      rt,
      'web',
      (v) =>
        v.phase === 'Paused' && v.versions.some((x) => x.images[0] === 'demo:green' && x.available === 2),
    );
    await sleep(300);
    expect(await color(preview)).toBe('green');
    expect(await color(active)).toBe('blue');
    const got = await cli('get', 'rollout', 'web', '-o', 'json');
    const view = JSON.parse(got.out) as ReleaseView;
    expect(view).toMatchObject({ phase: 'Paused', strategy: 'BlueGreen', pauseReasons: ['BlueGreenPause'] });
    expect(view.versions.map((v) => v.roles)).toEqual([['preview'], ['active']]);
    const tree = await cli('get', 'rollout', 'web');
    expect(tree.out).toMatch(/Status:\s+॥ Paused/);
    expect((await cli('list', 'rollouts')).out).toMatch(/^web\s/m);

    expect((await cli('promote', 'web')).out).toBe("rollout 'web' promoted\n");
    expect((await cli('status', 'web', '--timeout', '30s')).code).toBe(0);
    await sleep(300);
    expect(await color(active)).toBe('green');

    // A bad release aborted by the user: status exits 1 with Argo's message.
    await cli('set', 'image', 'web', 'app=demo:yellow');
    await until(rt, 'web', (v) => v.phase === 'Paused');
    expect((await cli('abort', 'web')).out).toBe("rollout 'web' aborted\n");
    const status = await cli('status', 'web', '--timeout', '20s');
    expect(status.code).toBe(1);
    expect(status.err).toMatch(/The rollout is in a degraded state with message: RolloutAborted/);
    expect(await color(active)).toBe('green');

    const logs = await cli('logs', 'web', '--only', 'active');
    expect(logs.err).toBe('');
    expect(logs.out).toMatch(/vireo demo green listening on/);
  }, 90_000);

  it('setHeaderRoute and setMirrorRoute: header-matched requests reach the canary, mirrors are counted, both removed on promotion', async () => {
    const { rt, api, dir, cli } = await runtime();
    const file = path.join(dir, 'routes.yaml');
    const strategy = {
      canary: {
        stableService: 'web',
        canaryService: 'web-canary',
        trafficRouting: {
          managedRoutes: [{ name: 'header' }, { name: 'mirror' }],
          istio: { virtualService: { name: 'web-vsvc', routes: ['primary'] } },
        },
        steps: [
          { setCanaryScale: { replicas: 1 } },
          {
            setHeaderRoute: {
              name: 'header',
              match: [{ headerName: 'X-Canary', headerValue: { exact: 'always' } }],
            },
          },
          { setMirrorRoute: { name: 'mirror', percentage: 100, match: [{ method: { exact: 'GET' } }] } },
          { pause: {} },
        ],
      },
    };
    writeFileSync(file, rolloutYaml(strategy, 'demo:blue', ['web', 'web-canary']));
    const applied = await cli('apply', '-f', file);
    expect(applied.err).toBe('');
    await until(rt, 'web', (v) => v.phase === 'Healthy');
    await cli('set', 'image', 'web', 'app=demo:green');
    await until(rt, 'web', (v) => v.phase === 'Paused' && v.step?.index === 3);
    await rt.flush();
    const url = rt.addresses().web as string;
    for (let i = 0; i < 5; i++) {
      expect(await color(url, { 'x-canary': 'always' })).toBe('green');
      expect(await color(url)).toBe('blue');
    }
    // The canary's replica received the mirrored copies of the users' requests (answered by blue).
    const canaryPod = rt.view('default', 'web').versions.find((v) => v.roles.includes('canary'))?.pods[0];
    const received = async () =>
      ((await (await fetch(`http://127.0.0.1:${canaryPod?.port}/requests`)).json()) as { served: number })
        .served;
    const before = await received();
    for (let i = 0; i < 10; i++) expect(await color(url)).toBe('blue');
    await sleep(200);
    expect((await received()) - before).toBe(10);
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(
      /vireo_proxy_mirrored_requests_total\{service="web",backend="canary",version="\w+"\} ([5-9]|\d\d+)/,
    );

    await cli('promote', 'web', '--full');
    await until(
      rt,
      'web',
      (v) =>
        v.phase === 'Healthy' && v.images.some((i) => i.image === 'demo:green' && i.roles.includes('stable')),
    );
    await rt.flush();
    await sleep(200);
    expect(await color(url)).toBe('green');
    expect(rt.view('default', 'web').events.map((e) => e.reason)).toContain('RolloutCompleted');
  }, 90_000);

  it('with nginx as the local router (vireo up --router nginx): weights split real traffic, promotion moves it all', async () => {
    ensureCommand('nginx', 'nginx');
    const { rt, dir, cli } = await runtime((d) => startNginxRouter({ dir: path.join(d, 'nginx') }));
    const [stablePort, canaryPort] = [await freePort(), await freePort()];
    const file = path.join(dir, 'nginx.yaml');
    const strategy = {
      canary: {
        stableService: 'web',
        canaryService: 'web-canary',
        trafficRouting: { nginx: { stableIngress: 'web' } },
        steps: [{ setWeight: 50 }, { pause: {} }],
      },
    };
    writeFileSync(file, rolloutYaml(strategy, 'demo:blue', ['web', 'web-canary'], [stablePort, canaryPort]));
    expect((await cli('apply', '-f', file)).code).toBe(0);
    await until(rt, 'web', (v) => v.phase === 'Healthy');
    await cli('set', 'image', 'web', 'app=demo:green');
    await until(rt, 'web', (v) => v.phase === 'Paused' && v.actualWeight === 50);
    await rt.flush();
    const url = `http://127.0.0.1:${stablePort}`;
    const seen = { blue: 0, green: 0 } as Record<string, number>;
    for (let i = 0; i < 200; i++) {
      const c = await color(url);
      seen[c] = (seen[c] ?? 0) + 1;
    }
    // 200 draws at 50 %: outside 60..140 has probability below 1e-8.
    expect(seen.green).toBeGreaterThan(60);
    expect(seen.green).toBeLessThan(140);
    expect(await color(`http://127.0.0.1:${canaryPort}`)).toBe('green');
    await cli('promote', 'web');
    await until(
      rt,
      'web',
      (v) =>
        v.phase === 'Healthy' && v.images.some((i) => i.image === 'demo:green' && i.roles.includes('stable')),
    );
    await rt.flush();
    await sleep(300);
    for (let i = 0; i < 20; i++) expect(await color(url)).toBe('green');
    // The nginx router counts what it served, per version, for /metrics and the builtin checks.
    await sleep(300);
    expect(rt.router.kind).toBe('nginx');
    const served = rt.router.metrics().snapshot({ windowSeconds: 600, service: 'web' });
    expect(served.reduce((n, x) => n + x.requests, 0)).toBeGreaterThanOrEqual(220);
  }, 90_000);

  it('a Flagger Canary with the builtin success rate, applied with its Deployment: promoted, then a bad version rolled back', async () => {
    const { rt, dir, cli } = await runtime();
    const port = await freePort();
    const file = path.join(dir, 'flagger.yaml');
    // A Slack-compatible endpoint that records the alerts, answering slowly (the release must not wait).
    const slack = await startRecorder({ status: 200, body: 'ok', delayMs: 1500 });
    cleanups.push(() => slack.close());
    const docs = (image: string) =>
      [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'podinfo' },
          spec: {
            replicas: 2,
            selector: { matchLabels: { app: 'podinfo' } },
            template: { metadata: { labels: { app: 'podinfo' } }, spec: { containers: [container(image)] } },
          },
        },
        {
          apiVersion: 'flagger.app/v1beta1',
          kind: 'AlertProvider',
          metadata: { name: 'on-call' },
          spec: { type: 'slack', channel: 'releases', address: `${slack.url}/hooks/T000/B000/XXXX` },
        },
        {
          apiVersion: 'flagger.app/v1beta1',
          kind: 'Canary',
          metadata: { name: 'podinfo', annotations: { 'vireo.dev/port': String(port) } },
          spec: {
            targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
            progressDeadlineSeconds: 60,
            service: { port: 9898 },
            analysis: {
              interval: '1s',
              threshold: 2,
              maxWeight: 60,
              stepWeight: 20,
              metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' }],
              alerts: [{ name: 'on-call', severity: 'error', providerRef: { name: 'on-call' } }],
            },
          },
        },
      ]
        .map((d) => stringify(d))
        .join('---\n');
    writeFileSync(file, docs('demo:blue'));
    const applied = await cli('apply', '-f', file);
    expect(applied.out).toBe(
      'deployment.apps/podinfo created\nalertprovider.flagger.app/on-call created\ncanary.flagger.app/podinfo created\n',
    );
    await until(
      rt,
      'podinfo',
      (v) =>
        v.phase === 'Healthy' && v.versions.some((x) => x.roles.includes('primary') && x.available === 2),
    );
    await rt.flush();
    const url = `http://127.0.0.1:${port}`;
    expect(await color(url)).toBe('blue');
    // Users' traffic, which the builtin request-success-rate reads from the router's counters.
    const stop = new AbortController();
    const load = runLoad({
      url: `${url}/color`,
      concurrency: 4,
      rate: 40,
      durationMs: 120_000,
      signal: stop.signal,
    });
    cleanups.push(async () => {
      stop.abort();
      await load.catch(() => undefined);
    });
    writeFileSync(file, docs('demo:green'));
    expect((await cli('apply', '-f', file)).out).toBe(
      'deployment.apps/podinfo configured\nalertprovider.flagger.app/on-call unchanged\ncanary.flagger.app/podinfo unchanged\n',
    );
    const weights = new Set<number>();
    await until(
      rt,
      'podinfo',
      (v) => {
        if (v.actualWeight) weights.add(v.actualWeight);
        return (
          v.phase === 'Healthy' &&
          v.images.some((i) => i.image === 'demo:green' && i.roles.includes('primary'))
        );
      },
      60_000,
    );
    expect([...weights].sort((a, b) => a - b)).toEqual([20, 40, 60]);
    await sleep(300);
    expect(await color(url)).toBe('green');
    // A bad version (half its answers 500) is rolled back after `threshold` failed checks.
    writeFileSync(file, docs('demo:bad-yellow'));
    await cli('apply', '-f', file);
    const failed = await until(rt, 'podinfo', (v) => v.phase === 'Degraded', 60_000);
    expect(failed.images.find((i) => i.roles.includes('primary'))?.image).toBe('demo:green');
    await sleep(300);
    for (let i = 0; i < 10; i++) expect(await color(url)).toBe('green');
    // Only error alerts reach the provider (severity error): the rollback, naming the canary.
    const [alert] = await slack.waitFor(1, 10_000);
    const body = JSON.parse(alert?.body ?? '{}') as { channel?: string };
    expect(body.channel).toBe('releases');
    expect(JSON.stringify(body)).toMatch(/podinfo/);
    expect(JSON.stringify(body)).toMatch(/aborted: Failed checks threshold reached 2/);
    expect(slack.requests.length).toBe(1);
    const promote = await cli('promote', 'podinfo');
    expect(promote.code).toBe(1);
    expect(promote.err).toMatch(/driven by its analysis and webhook gates/);
    stop.abort();
    const report = await load;
    expect(Object.keys(report.errors).filter((m) => !/abort/i.test(m))).toEqual([]);
  }, 150_000);

  it('the user verbs: pause, resume, promote, abort, retry, undo, restart (canary without a router: weights by replicas)', async () => {
    const { rt, dir, cli } = await runtime();
    const file = path.join(dir, 'verbs.yaml');
    writeFileSync(
      file,
      rolloutYaml({ canary: { steps: [{ setWeight: 50 }, { pause: {} }] } }, 'demo:blue', ['web']),
    );
    expect((await cli('apply', '-f', file)).code).toBe(0);
    await until(rt, 'web', (v) => v.phase === 'Healthy');
    const image = (v: ReleaseView, role: string) =>
      v.images.find((i) => i.roles.includes(role as never))?.image;

    await cli('set', 'image', 'web', 'app=demo:green');
    await until(rt, 'web', (v) => v.phase === 'Paused' && v.step?.index === 1);
    expect((await cli('pause', 'web')).out).toBe("rollout 'web' paused\n");
    expect((await cli('resume', 'web')).out).toBe("rollout 'web' resumed\n");
    // Resuming clears the user's pause, not the step's: it still waits for a promote.
    await sleep(300);
    expect(rt.view('default', 'web')).toMatchObject({ phase: 'Paused', pauseReasons: ['CanaryPauseStep'] });
    await cli('promote', 'web');
    await until(rt, 'web', (v) => v.phase === 'Healthy' && image(v, 'stable') === 'demo:green');

    await cli('set', 'image', 'web', 'app=demo:yellow');
    await until(rt, 'web', (v) => v.phase === 'Paused');
    await cli('abort', 'web');
    await until(rt, 'web', (v) => v.phase === 'Degraded');
    expect((await cli('retry', 'web')).out).toBe("rollout 'web' retried\n");
    await until(rt, 'web', (v) => v.phase === 'Paused' && v.step?.index === 1);
    await cli('promote', 'web', '--full');
    await until(rt, 'web', (v) => v.phase === 'Healthy' && image(v, 'stable') === 'demo:yellow');

    // undo: back to the previous revision's template (green), a new revision, through the steps again.
    expect((await cli('undo', 'web')).out).toBe("rollout 'web' undo\n");
    await until(
      rt,
      'web',
      (v) =>
        v.phase === 'Paused' && v.images.some((i) => i.image === 'demo:green' && i.roles.includes('canary')),
    );
    await cli('promote', 'web', '--full');
    const back = await until(rt, 'web', (v) => v.phase === 'Healthy' && image(v, 'stable') === 'demo:green');
    expect(Math.max(...back.versions.map((v) => v.revision))).toBe(4);

    // restart: every replica replaced by a new process.
    const before = new Set(back.versions.flatMap((v) => v.pods.map((p) => p.pid)));
    expect((await cli('restart', 'web')).out).toBe("rollout 'web' restarts\n");
    const restarted = await until(rt, 'web', (v) => {
      const pods = v.versions.flatMap((x) => x.pods).filter((p) => p.phase === 'Running' && p.ready);
      return v.phase === 'Healthy' && pods.length === 2 && pods.every((p) => !before.has(p.pid));
    });
    expect(restarted.versions.flatMap((v) => v.pods).length).toBe(2);
    for (const pid of before) expect(() => process.kill(pid as number, 0)).toThrow();

    // delete: the release's replicas stop and it is gone; the kind must match.
    const pids = restarted.versions.flatMap((v) => v.pods.map((p) => p.pid as number));
    expect((await cli('delete', 'canary', 'web')).err).toMatch(/canary default\/web not found/);
    expect((await cli('delete', 'rollout', 'web')).out).toBe('rollout.argoproj.io/web deleted\n');
    expect((await cli('list', 'rollouts')).out).toBe('No rollouts found.\n');
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 120_000);

  it('rejects bad manifests with file, line and field, and keeps running', async () => {
    const { dir, cli } = await runtime();
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: x\nspec:\n  replicas: many\n',
    );
    const r = await cli('apply', '-f', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.yaml:6:\d+.*replicas/);
    const unknown = await cli('promote', 'nothing');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/rollout default\/nothing not found/);
    expect((await cli('list', 'rollouts')).out).toBe('No rollouts found.\n');
  });
});

describe('kind names on the command line (normalKind)', () => {
  it.each([
    ['rollouts', 'Rollout'],
    ['ro', 'Rollout'],
    ['canaries', 'Canary'],
    ['svc', 'Service'],
    ['analysistemplates.argoproj.io', 'AnalysisTemplate'],
    ['MetricTemplate', 'MetricTemplate'],
  ])('%s -> %s', (given, want) => {
    expect(normalKind(given)).toBe(want);
  });
  it.each(['pods', 'constructor', '__proto__', 'toString', ''])(
    '%j is refused with the list of kinds',
    (given) => {
      expect(() => normalKind(given)).toThrow(UserError);
      expect(() => normalKind(given)).toThrow(/the local runtime has rollout, canary/);
    },
  );
});
