/**
 * The local demo: seed 000's release (Argo Rollouts, canary 20/40/60/80 with a success-rate analysis
 * from step 2) played on the local runtime with real processes, the demo service and live traffic.
 *
 * - `demoManifests` writes the YAML a user could apply themselves: the Rollout runs this package's
 *   demo service; the analysis uses the web provider against the runtime's own stats endpoint (Argo's
 *   web provider works the same against any JSON endpoint), so the demo needs no Prometheus.
 * - `runDemoScript` plays the story: blue running, green promoted step by step, then yellow with 50 %
 *   errors aborted by the analysis with all traffic back on green. It reports the time to promote,
 *   the time to abort and the bad responses yellow served, and whether the story went as it should.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runLoad } from '../loadtester/load.js';
import { type ApiServer, startApi } from '../platforms/local/runtime/api.js';
import { LocalRuntime, type LogFn } from '../platforms/local/runtime/runtime.js';
import type { ReleaseView } from '../views/release.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** How to start the demo service: the built file with node, or the source through tsx (tests). */
export function demoServerCommand(): string[] {
  const built = path.join(here, 'server.js');
  if (existsSync(built)) return [process.execPath, built];
  return [process.execPath, '--import', 'tsx', path.join(here, 'server.ts')];
}

export interface DemoManifestOptions {
  /** The runtime's API URL (the analysis reads its stats). */
  apiUrl: string;
  /** Port of the stable Service (where users send requests); 0 picks a free one. */
  port: number;
  image: string;
  errorRate?: number;
  replicas?: number;
  /** Pause between weight steps, seconds. */
  pauseSeconds?: number;
  command?: string[];
}

export const DEMO_NAME = 'rollouts-demo';

export function demoManifests(o: DemoManifestOptions): string {
  const [program, ...args] = o.command ?? demoServerCommand();
  const pause = { pause: { duration: `${o.pauseSeconds ?? 5}s` } };
  const rollout = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: DEMO_NAME },
    spec: {
      replicas: o.replicas ?? 3,
      revisionHistoryLimit: 3,
      selector: { matchLabels: { app: DEMO_NAME } },
      template: {
        metadata: { labels: { app: DEMO_NAME } },
        spec: {
          containers: [
            {
              name: DEMO_NAME,
              image: o.image,
              command: [program],
              args,
              // Without ERROR_RATE the demo service takes it from the tag (`bad-yellow` fails half).
              ...(o.errorRate !== undefined
                ? { env: [{ name: 'ERROR_RATE', value: String(o.errorRate) }] }
                : {}),
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
      strategy: {
        canary: {
          stableService: DEMO_NAME,
          canaryService: `${DEMO_NAME}-canary`,
          trafficRouting: { traefik: { weightedTraefikServiceName: `${DEMO_NAME}-traefik` } },
          analysis: {
            templates: [{ templateName: 'success-rate' }],
            startingStep: 2,
            args: [
              { name: 'service', value: DEMO_NAME },
              { name: 'version', valueFrom: { podTemplateHashValue: 'Latest' } },
            ],
          },
          steps: [
            { setWeight: 20 },
            pause,
            { setWeight: 40 },
            pause,
            { setWeight: 60 },
            pause,
            { setWeight: 80 },
            pause,
          ],
        },
      },
    },
  };
  const template = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: 'success-rate' },
    spec: {
      args: [{ name: 'service' }, { name: 'version' }],
      metrics: [
        {
          name: 'success-rate',
          interval: '1s',
          failureLimit: 3,
          successCondition: 'result > 0.90',
          provider: {
            web: {
              url: `${o.apiUrl}/api/v1/stats?service={{args.service}}&version={{args.version}}&window=5`,
              jsonPath: '{$.successRate}',
            },
          },
        },
      ],
    },
  };
  const service = (name: string, port: number) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, annotations: { 'vireo.dev/port': String(port) } },
    spec: { selector: { app: DEMO_NAME }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  return [rollout, template, service(DEMO_NAME, o.port), service(`${DEMO_NAME}-canary`, 0)]
    .map((d) => stringify(d))
    .join('---\n');
}

export interface DemoStart {
  runtime: LocalRuntime;
  api: ApiServer;
  stateDir: string;
  /** Where users send requests (the stable Service). */
  appUrl: string;
  close(): Promise<void>;
}

/** Starts a runtime with its API, applies the demo at `image` and waits until it is Healthy. */
export async function startDemo(o: {
  stateDir?: string;
  apiPort?: number;
  port?: number;
  pauseSeconds?: number;
  log?: LogFn;
}): Promise<DemoStart> {
  const temp = o.stateDir === undefined;
  const stateDir = o.stateDir ?? mkdtempSync(path.join(tmpdir(), 'vireo-demo-'));
  const runtime = await LocalRuntime.start({ stateDir, ...(o.log ? { log: o.log } : {}) });
  const api = await startApi(runtime, { host: '127.0.0.1', port: o.apiPort ?? 0 });
  const close = async () => {
    await api.close();
    await runtime.close();
    if (temp) rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const r = await runtime.apply([
      {
        name: 'demo.yaml',
        text: demoManifests({
          apiUrl: api.url,
          port: o.port ?? 0,
          image: 'argoproj/rollouts-demo:blue',
          ...(o.pauseSeconds !== undefined ? { pauseSeconds: o.pauseSeconds } : {}),
        }),
      },
    ]);
    if (!r.ok) throw new Error(`demo manifests rejected: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    await waitFor(
      runtime,
      (v) => v.phase === 'Healthy' && v.versions.some((x) => x.available > 0),
      60_000,
      'blue to be Healthy',
    );
    await waitForAddress(runtime);
  } catch (e) {
    await close();
    throw e;
  }
  const appUrl = runtime.addresses()[DEMO_NAME] as string;
  return { runtime, api, stateDir, appUrl, close };
}

async function waitForAddress(rt: LocalRuntime): Promise<void> {
  for (let i = 0; i < 200 && !rt.addresses()[DEMO_NAME]; i++) await sleep(25);
  await rt.flush();
  if (!rt.addresses()[DEMO_NAME]) throw new Error(`the ${DEMO_NAME} Service has no listener`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(
  rt: LocalRuntime,
  done: (v: ReleaseView) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ReleaseView> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = rt.view('default', DEMO_NAME);
    if (done(v)) return v;
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what} (phase ${v.phase}${v.message ? `: ${v.message}` : ''})`,
      );
    await sleep(100);
  }
}

export interface DemoScriptResult {
  ok: boolean;
  promoteSeconds?: number;
  abortSeconds?: number;
  /** 5xx answers served by yellow, and all its answers. */
  yellowBad?: number;
  yellowServed?: number;
  /** Requests the load generator sent and how many failed at the connection level (never answered). */
  sent: number;
  unanswered: number;
  problems: string[];
}

/** `vireo demo --script`: the seed 000 story, end to end, in about a minute. */
export async function runDemoScript(o: {
  say: (line: string) => void;
  log?: LogFn;
  pauseSeconds?: number;
  rate?: number;
  stateDir?: string;
}): Promise<DemoScriptResult> {
  const say = o.say;
  const problems: string[] = [];
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  say(`${stamp()} starting the local runtime and ${DEMO_NAME} at blue`);
  const demo = await startDemo({
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.log ? { log: o.log } : {}),
    pauseSeconds: o.pauseSeconds ?? 3,
  });
  const { runtime, api } = demo;
  const abort = new AbortController();
  const load = runLoad({
    url: `${demo.appUrl}/color`,
    concurrency: 8,
    rate: o.rate ?? 50,
    durationMs: 30 * 60_000,
    timeoutMs: 10_000,
    signal: abort.signal,
  });
  const result: DemoScriptResult = { ok: false, sent: 0, unanswered: 0, problems };
  try {
    say(
      `${stamp()} blue is Healthy; users reach it at ${demo.appUrl} (steady load of ${o.rate ?? 50} req/s)`,
    );
    const manifest = (image: string, errorRate: number) => [
      {
        name: 'demo.yaml',
        text: demoManifests({
          apiUrl: api.url,
          port: 0,
          image,
          errorRate,
          pauseSeconds: o.pauseSeconds ?? 3,
        }),
      },
    ];
    // Release 1: green, healthy.
    await sleep(1500);
    const greenAt = Date.now();
    say(`${stamp()} release green (set image argoproj/rollouts-demo:green)`);
    await runtime.act('default', DEMO_NAME, 'set-image', {
      container: DEMO_NAME,
      image: 'argoproj/rollouts-demo:green',
    });
    const seen = new Set<number>();
    const promoted = await waitFor(
      runtime,
      (v) => {
        if (v.actualWeight !== undefined && !seen.has(v.actualWeight) && v.actualWeight > 0) {
          seen.add(v.actualWeight);
          say(`${stamp()}   green weight ${v.actualWeight} %`);
        }
        return (
          (v.phase === 'Healthy' &&
            v.images.some((i) => i.image.endsWith(':green') && i.roles.includes('stable'))) ||
          v.phase === 'Degraded'
        );
      },
      120_000,
      'green to be promoted',
    );
    if (promoted.phase !== 'Healthy')
      problems.push(`green was not promoted: ${promoted.phase} ${promoted.message ?? ''}`);
    result.promoteSeconds = (Date.now() - greenAt) / 1000;
    say(`${stamp()} green promoted in ${result.promoteSeconds.toFixed(1)} s (steps ${[...seen].join(', ')})`);
    // Release 2: yellow answers half its requests with 500.
    await sleep(1500);
    const yellowAt = Date.now();
    say(`${stamp()} release yellow with 50 % errors`);
    const applied = await runtime.apply(manifest('argoproj/rollouts-demo:yellow', 0.5));
    if (!applied.ok) throw new Error(applied.diagnostics.map((d) => d.message).join('; '));
    const yellowHash = (
      await waitFor(
        runtime,
        (v) => v.versions.some((x) => x.images.some((i) => i.endsWith(':yellow'))),
        30_000,
        'yellow to start',
      )
    ).versions.find((x) => x.images.some((i) => i.endsWith(':yellow')))!.hash;
    const aborted = await waitFor(
      runtime,
      (v) =>
        (v.phase === 'Degraded' && (v.actualWeight ?? 0) === 0) ||
        (v.phase === 'Healthy' &&
          v.images.some((i) => i.image.endsWith(':yellow') && i.roles.includes('stable'))),
      120_000,
      'yellow to be aborted',
    );
    result.abortSeconds = (Date.now() - yellowAt) / 1000;
    const stableImage = aborted.images.find((i) => i.roles.includes('stable'))?.image ?? '';
    if (aborted.phase !== 'Degraded') problems.push(`yellow was not aborted (phase ${aborted.phase})`);
    if (!stableImage.endsWith(':green')) problems.push(`the stable version is ${stableImage}, not green`);
    const failed = aborted.analysisRuns.find((r) => r.phase === 'Failed');
    say(`${stamp()} yellow aborted in ${result.abortSeconds.toFixed(1)} s: ${aborted.message ?? ''}`);
    if (failed)
      for (const m of failed.metrics)
        say(
          `${stamp()}   ${m.name}: ${m.measurements.map((x) => x.value ?? x.phase).join(', ')} (condition ${m.condition ?? ''})`,
        );
    // All traffic back on green: a few more seconds of load must see green only.
    await sleep(1000);
    const stats = runtime.router
      .metrics()
      .snapshot({ windowSeconds: 600 })
      .filter((s) => s.version === yellowHash);
    result.yellowServed = stats.reduce((n, s) => n + s.requests, 0);
    result.yellowBad = stats.reduce((n, s) => n + s.errors, 0);
    const recent = runtime.router
      .metrics()
      .snapshot({ windowSeconds: 1 })
      .filter((s) => s.service === DEMO_NAME && s.version === yellowHash && s.requests > 0);
    if (recent.length > 0) problems.push('yellow still receives traffic after the abort');
    say(
      `${stamp()} yellow served ${result.yellowServed} responses, ${result.yellowBad} of them errors; all traffic is back on green`,
    );
  } finally {
    abort.abort();
    const report = await load.catch(() => undefined);
    if (report) {
      // Requests cut off by stopping the load generator itself are not the proxy's doing.
      const lost = Object.entries(report.errors).filter(([message]) => !/abort/i.test(message));
      result.sent = report.requests;
      result.unanswered = lost.reduce((n, [, count]) => n + count, 0);
      if (lost.length > 0)
        problems.push(`requests failed: ${lost.map(([m, n]) => `${n} x ${m}`).join('; ')}`);
    }
    await demo.close();
  }
  result.ok = problems.length === 0;
  say(
    result.ok
      ? `${stamp()} done: green promoted in ${result.promoteSeconds?.toFixed(1)} s, yellow aborted in ${result.abortSeconds?.toFixed(1)} s after ${result.yellowBad} bad responses; ${result.sent} requests sent, none lost`
      : `${stamp()} the demo did not go as expected: ${problems.join('; ')}`,
  );
  return result;
}
