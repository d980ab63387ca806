/**
 * A Flagger Canary on the local runtime with real processes and real HTTP on 127.0.0.1: the demo
 * service as the workload, the Vireo router, a steady load on the apex Service, the builtin
 * request-success-rate from the router's counters, webhooks to a recording server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CheckProvider, type MetricProvider, ProviderRegistry } from '../../../analysis/provider.js';
import { podTemplateHash } from '../../../api/argo/pod-template-hash.js';
import type { Canary } from '../../../api/flagger/canary.js';
import { demoServerCommand } from '../../../demo/local.js';
import { runLoad } from '../../../loadtester/load.js';
import { json, recordersClosedAfterEach } from '../../../testing/http-recorder.js';
import { Supervisor } from '../processes/supervisor.js';
import type { LocalRouter } from '../router/router.js';
import { startVireoRouter } from '../router/vireo.js';
import { LocalBuiltinCheckProvider } from './builtin-checks.js';
import {
  type DeploymentObject,
  FlaggerRelease,
  type FlaggerReleaseHost,
  type FlaggerReleaseRecord,
  localIntervalMs,
  newFlaggerRecord,
  releasePhase,
  requeueMs,
} from './flagger-release.js';

const startRecorder = recordersClosedAfterEach();
const [program, ...programArgs] = demoServerCommand();

function deployment(image: string): DeploymentObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'podinfo', namespace: 'test' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'podinfo' } },
      template: {
        metadata: { labels: { app: 'podinfo' } },
        spec: {
          containers: [
            {
              name: 'podinfo',
              image,
              command: [program!],
              args: programArgs,
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 0.1 },
            },
          ],
        },
      },
    },
  };
}

/** seed-002, faster: 1 s ticks, threshold 2, 20 % steps to 60 %, builtin success rate only. */
function canary(analysis: Record<string, unknown> = {}): Canary {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'test', annotations: { 'vireo.dev/port': '0' } },
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
        ...analysis,
      },
    },
  } as Canary;
}

let dir: string;
let sup: Supervisor;
let router: LocalRouter;
let release: FlaggerRelease | undefined;
let routing: Promise<void>;
let weights: number[];
let logs: string[];
let loads: AbortController[];

function supervisor(): Supervisor {
  return new Supervisor({
    logDir: path.join(dir, 'logs'),
    backoffBaseMs: 100,
    gracePeriodMs: 2_000,
    stopDelayMs: 200,
    // What the runtime does with the supervisor's events.
    onEvent: (e) => {
      if (e.type !== 'Ready' && e.type !== 'NotReady' && e.type !== 'Exited' && e.type !== 'Started') return;
      if (release?.ownsVersion(e.version)) release.wake(0);
      if (e.type === 'Ready' || e.type === 'NotReady') routesChanged();
    },
  });
}

function routesChanged(): void {
  routing = routing.then(async () => {
    if (!release) return;
    const plan = release.listeners([], '127.0.0.1');
    if (plan.problems.length > 0) logs.push(`problems: ${plan.problems.join('; ')}`);
    await router.apply(plan.listeners).catch((e: Error) => logs.push(`router: ${e.message}`));
  });
}

function host(): FlaggerReleaseHost {
  return {
    now: Date.now,
    supervisor: sup,
    providers: new ProviderRegistry<MetricProvider>(),
    checks: new ProviderRegistry<CheckProvider>([new LocalBuiltinCheckProvider(() => router.metrics())]),
    template: () => undefined,
    secret: () => undefined,
    save: () => {
      const w = release?.record.router.canary;
      if (w !== undefined && w !== weights[weights.length - 1]) weights.push(w);
    },
    routesChanged,
    log: (level, message) => logs.push(`${level} ${message}`),
  };
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}; phase ${release?.record.canary.status?.phase}, log:\n${logs.slice(-25).join('\n')}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

const phase = () => release?.record.canary.status?.phase;

async function initialized(c: Canary): Promise<string> {
  release = new FlaggerRelease(newFlaggerRecord(c, deployment('vireo-demo:blue')), host());
  weights = [release.record.router.canary];
  await release.start();
  await until('Initialized', () => phase() === 'Initialized');
  await routing;
  const url = router.addresses?.().podinfo;
  if (!url) throw new Error('no apex listener');
  return url;
}

/** A steady load on the apex; returns the report promise. */
function load(url: string, headers: Record<string, string> = {}) {
  const stop = new AbortController();
  loads.push(stop);
  const report = runLoad({
    url: `${url}/color`,
    concurrency: 4,
    rate: 80,
    durationMs: 60_000,
    timeoutMs: 5_000,
    headers,
    signal: stop.signal,
  });
  return { stop: () => stop.abort(), report };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; color: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/color`, { headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => {
          let color = '';
          try {
            color = (JSON.parse(body) as { color?: string }).color ?? '';
          } catch {}
          resolve({ status: res.statusCode ?? 0, color });
        });
      })
      .on('error', reject);
  });
}

const templateHash = (image: string) => podTemplateHash(deployment(image).spec?.template);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vireo-flagger-'));
  sup = supervisor();
  router = startVireoRouter({ drainMs: 200 });
  routing = Promise.resolve();
  release = undefined;
  weights = [];
  logs = [];
  loads = [];
});

afterEach(async () => {
  for (const l of loads) l.abort();
  release?.close();
  release = undefined;
  await routing;
  await router.close({ drainMs: 0 });
  await sup.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('FlaggerRelease on real processes', () => {
  it('promotes a good version: weights 20/40/60, primary on the new template, canary scaled to 0', async () => {
    const hooks = await startRecorder({ status: 200 });
    const c = canary({
      webhooks: [
        { name: 'load-test', url: `${hooks.url}/rollout`, timeout: '5s', metadata: { cmd: 'hey -z 1m' } },
        { name: 'notify', type: 'post-rollout', url: `${hooks.url}/post` },
      ],
    });
    const url = await initialized(c);
    const traffic = load(url);
    release!.updateSpec(c, deployment('vireo-demo:green'));
    await until('Succeeded', () => phase() === 'Succeeded', 30_000);
    traffic.stop();
    const report = await traffic.report;

    expect(weights).toEqual([0, 20, 40, 60, 0]);
    const rec = release!.record;
    expect(rec.primary?.hash).toBe(templateHash('vireo-demo:green'));
    expect(Object.keys(rec.primary?.versions ?? {})).toEqual([templateHash('vireo-demo:green')]);
    expect(rec.target.replicas).toBe(0);
    expect(rec.router).toMatchObject({ primary: 100, canary: 0, mirrored: false });
    await until(
      'canary stopped',
      () => sup.endpoints(release!.versionName('canary', rec.target.hash)).length === 0,
    );
    expect((await get(url)).color).toBe('green');
    // No request failed while versions came and went (the router drops a replica before SIGTERM).
    expect(Object.keys(report.statusCodes).filter((code) => Number(code) >= 500)).toEqual([]);
    expect(report.responses).toBeGreaterThan(100);

    // The rollout hook was called once per analysis round; post-rollout once with Succeeded.
    const rollout = hooks.requests.filter((r) => r.path === '/rollout');
    expect(rollout.length).toBeGreaterThanOrEqual(3);
    expect(json(rollout[0]!)).toMatchObject({ name: 'podinfo', namespace: 'test', phase: 'Progressing' });
    await hooks.waitFor(rollout.length + 1);
    const post = hooks.requests.filter((r) => r.path === '/post');
    expect(post.map((r) => json(r).phase)).toEqual(['Succeeded']);

    const view = release!.view();
    expect(view).toMatchObject({ dialect: 'flagger', kind: 'Canary', phase: 'Healthy', strategy: 'Flagger' });
    expect(view.images).toEqual([{ image: 'vireo-demo:green', roles: ['primary'] }]);
    const run = view.analysisRuns[0];
    expect(run?.phase).toBe('Successful');
    expect(run?.metrics.find((m) => m.name === 'request-success-rate')).toMatchObject({
      condition: 'min 99',
      failed: 0,
    });
  }, 45_000);

  it('rolls back a bad version after `threshold` failed checks: primary unchanged, canary at 0', async () => {
    const url = await initialized(canary());
    const traffic = load(url);
    release!.updateSpec(canary(), deployment('vireo-demo:bad-yellow'));
    await until('Failed', () => phase() === 'Failed', 30_000);
    traffic.stop();

    const rec = release!.record;
    expect(rec.primary?.hash).toBe(templateHash('vireo-demo:blue'));
    expect(rec.target.replicas).toBe(0);
    expect(rec.router).toMatchObject({ primary: 100, canary: 0 });
    expect(weights).toEqual([0, 20, 0]);
    const messages = rec.events.map((e) => e.message);
    expect(messages).toContain('Rolling back podinfo.test failed checks threshold reached 2');
    expect(
      messages.filter((m) => m.startsWith('Halt podinfo.test advancement request-success-rate')),
    ).toHaveLength(2);
    await until(
      'canary stopped',
      () => sup.endpoints(release!.versionName('canary', rec.target.hash)).length === 0,
    );
    expect((await get(url)).color).toBe('blue');
    expect(release!.view().phase).toBe('Degraded');
  }, 45_000);

  it('routes requests matching analysis.match (header or cookie) to the canary, the others to the primary', async () => {
    const c = canary({
      iterations: 10,
      match: [
        { headers: { 'x-canary': { exact: 'insider' } } },
        { headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } },
      ],
    });
    const url = await initialized(c);
    // Only matching requests reach the canary (A/B testing): the checks need them.
    load(url, { 'x-canary': 'insider' });
    release!.updateSpec(c, deployment('vireo-demo:green'));
    await until('A/B routes', () => release!.record.router.canary === 100, 20_000);
    await routing;
    for (let i = 0; i < 5; i++) {
      expect(await get(url, { 'X-Canary': 'insider' })).toEqual({ status: 200, color: 'green' });
      expect(await get(url, { cookie: 'canary=always; theme=dark' })).toEqual({
        status: 200,
        color: 'green',
      });
      expect(await get(url)).toEqual({ status: 200, color: 'blue' });
      expect(await get(url, { 'x-canary': 'outsider' })).toEqual({ status: 200, color: 'blue' });
    }
    expect(release!.view()).toMatchObject({ phase: 'Progressing', step: { count: 10 } });
  }, 45_000);

  it('fails a canary that cannot be started at its progress deadline, the primary untouched', async () => {
    const c = canary();
    await initialized(c);
    const broken = deployment('vireo-demo:green');
    delete broken.spec?.template?.spec?.containers?.[0]?.command;
    delete broken.spec?.template?.spec?.containers?.[0]?.args;
    release!.updateSpec({ ...c, spec: { ...c.spec, progressDeadlineSeconds: 2 } } as Canary, broken);
    await until('Failed', () => phase() === 'Failed', 20_000);
    const rec = release!.record;
    expect(rec.primary?.hash).toBe(templateHash('vireo-demo:blue'));
    const warnings = rec.events.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`);
    expect(warnings).toContainEqual(expect.stringMatching(/^FailedCreate: .*neither command nor args$/));
    expect(warnings).toContain(
      'Synced: podinfo.test not ready: deployment "podinfo" exceeded its progress deadline',
    );
    expect(weights).toEqual([0]);
  }, 45_000);

  it('continues from the same weight after a restart from the saved record', async () => {
    const url = await initialized(canary());
    let traffic = load(url);
    release!.updateSpec(canary(), deployment('vireo-demo:green'));
    await until('weight 40', () => release!.record.router.canary === 40, 20_000);

    // A restart: the release and every process stop; only the saved record survives.
    traffic.stop();
    release!.close();
    const saved = JSON.stringify(release!.record);
    await routing;
    await sup.close();
    sup = supervisor();
    const record = JSON.parse(saved) as FlaggerReleaseRecord;
    expect(record.router.canary).toBe(40);
    release = new FlaggerRelease(record, host());
    weights = [40];
    await release.start();
    traffic = load(url);

    await until('Succeeded', () => phase() === 'Succeeded', 30_000);
    traffic.stop();
    expect(weights).toEqual([40, 60, 0]);
    // Requests the router could not give to a replica while the processes came back are not the
    // canary's: the restart cost no failed check.
    expect(release.record.events.filter((e) => e.message.startsWith('Halt'))).toEqual([]);
    expect(release.record.primary?.hash).toBe(templateHash('vireo-demo:green'));
    expect((await get(url)).color).toBe('green');
  }, 45_000);
});

describe('tick timing and phases', () => {
  it.each([
    ['1s', 1_000],
    ['250ms', 1_000],
    ['30s', 30_000],
    ['2m', 120_000],
    ['', 60_000],
    ['soon', 60_000],
  ])('analysis.interval %j ticks every %i ms', (interval, ms) => {
    expect(localIntervalMs(canary({ interval }))).toBe(ms);
  });

  it("maps the engine's interval requeue (Flagger's, at least 10 s) to the local interval", () => {
    const c = canary({ interval: '1s' });
    expect(requeueMs(c, 10)).toBe(1_000);
    expect(requeueMs(c, 0)).toBe(0);
    expect(requeueMs(c, 30)).toBe(30_000);
  });

  it.each([
    ['', 'Progressing'],
    ['Initializing', 'Progressing'],
    ['Initialized', 'Healthy'],
    ['Waiting', 'Paused'],
    ['Progressing', 'Progressing'],
    ['WaitingPromotion', 'Paused'],
    ['Promoting', 'Progressing'],
    ['Finalising', 'Progressing'],
    ['Succeeded', 'Healthy'],
    ['Failed', 'Degraded'],
    ['Terminating', 'Unknown'],
  ])('phase %j shows as %s', (phase, want) => {
    expect(releasePhase(phase)).toBe(want);
  });
});
