import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  closedPort,
  type Exporter,
  type PrometheusServer,
  startExporter,
  startPrometheus,
  waitForData,
} from '../../testing/prometheus.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { ExitCode, type Io, UsageError } from '../io.js';
import { registerAnalyze } from './analyze.js';

/** `vireo analyze ...` in-process, on a program with only this command (main.ts wires it later). */
async function analyze(args: string[]) {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdin: () => '',
  };
  let code: number = ExitCode.ok;
  const program = new Command('vireo').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  registerAnalyze(program, io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(['analyze', ...args], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    else if (e instanceof UsageError) {
      err += `error: ${e.message}\n`;
      code = ExitCode.usage;
    } else throw e;
  }
  return { code, out, err };
}

const SEED000 = path.join(sharedDir, 'examples', 'seed-000-rollout-with-analysis.yaml');
const SEED002 = path.join(sharedDir, 'examples', 'seed-002-podinfo-canary.yaml');
const TOTAL = 'traefik_service_requests_total';
const ISTIO = {
  reporter: 'destination',
  destination_workload_namespace: 'test',
  destination_workload: 'podinfo',
};

describe('vireo analyze against a real Prometheus', () => {
  let exporter: Exporter;
  let prom: PrometheusServer;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vireo-analyze-'));
    exporter = await startExporter();
    exporter.rate(TOTAL, { traefik: 'good', status: '200' }, 95);
    exporter.rate(TOTAL, { traefik: 'good', status: '500' }, 5);
    exporter.rate(TOTAL, { traefik: 'bad', status: '200' }, 80);
    exporter.rate(TOTAL, { traefik: 'bad', status: '500' }, 20);
    exporter.rate('istio_requests_total', { ...ISTIO, response_code: '200' }, 98);
    exporter.rate('istio_requests_total', { ...ISTIO, response_code: '404' }, 2);
    prom = await startPrometheus({ targets: [exporter.target] });
  });
  // The first scrape comes ~5 s after Prometheus starts: tests that need data wait for it (bounded),
  // the others run meanwhile.
  let ready: Promise<unknown> | undefined;
  const scraped = () =>
    (ready ??= waitForData(
      prom.url,
      `sum(rate(${TOTAL}{traefik="good"}[60s])) and sum(rate(${TOTAL}{traefik="bad"}[60s])) and sum(rate(istio_requests_total[10s]))`,
    ));
  afterAll(async () => {
    await prom?.close();
    await exporter?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('files without a template, or with several: exit 2', async () => {
    const none = file('none.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
    expect((await analyze(['-f', none])).err).toMatch(
      /no AnalysisTemplate, ClusterAnalysisTemplate or MetricTemplate/,
    );
    const two = file(
      'two.yaml',
      ['a', 'b']
        .map(
          (n) => `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: ${n}
spec:
  metrics:
  - name: m
    provider:
      prometheus: {address: 'http://x:9090', query: up}
`,
        )
        .join('---\n'),
    );
    const r = await analyze(['-f', two]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /the files hold 2 templates \(AnalysisTemplate\/a, AnalysisTemplate\/b\); pick one with --name/,
    );
  });

  it('a template with lint errors: exit 1 with the findings', async () => {
    const broken = file(
      'broken.yaml',
      `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: broken
spec:
  metrics:
  - name: m
    provider:
      prometheus: {address: 'http://x:9090'}
`,
    );
    const r = await analyze(['-f', broken, '--once']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a Prometheus metric needs a query/);
    expect(r.err).toMatch(/cannot analyze: 1 error\(s\)/);
  });

  it('--duration terminates a metric without count (Argo terminate: not failed is Successful)', async () => {
    const tpl = file(
      'endless.yaml',
      `apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: endless
spec:
  metrics:
  - name: up
    interval: 400ms
    successCondition: result[0] == 1
    provider:
      prometheus:
        address: http://127.0.0.1:1
        query: vector(1)
`,
    );
    const r = await analyze(['-f', tpl, '--address', prom.url, '--duration', '1s', '-o', 'json']);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out);
    expect(data).toMatchObject({
      kind: 'ClusterAnalysisTemplate',
      phase: 'Successful',
      message: 'Run Terminated',
    });
    expect(
      data.measurements.filter((m: { message?: string }) => m.message !== 'Metric Terminated').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('a job metric runs as a local process; the driver resumes it until it finishes', async () => {
    const tpl = file(
      'job.yaml',
      `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: smoke
spec:
  args:
  - name: code
  metrics:
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: check
                image: busybox
                command: [sh, -c, 'sleep 0.2; exit {{args.code}}']
`,
    );
    const ok = await analyze(['-f', tpl, '--arg', 'code=0']);
    expect(ok.out).toMatch(/ {2}smoke {2}Successful/);
    expect(ok.code).toBe(0);
    const bad = await analyze(['-f', tpl, '--arg', 'code=3']);
    expect(bad.out).toMatch(/ {2}smoke {2}Failed/);
    expect(bad.code).toBe(1);
  });

  describe.skipIf(!hasShared)("seed-000's AnalysisTemplate, as written", () => {
    it('Prometheus unreachable: Error, exit 1, the reason printed', async () => {
      const port = await closedPort();
      const r = await analyze([
        '-f',
        SEED000,
        '--address',
        `http://127.0.0.1:${port}`,
        '--arg',
        'traefik=good',
        '--once',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `success-rate  Error  (Prometheus at http://127.0.0.1:${port}: connection refused by 127.0.0.1:${port})`,
      );
      expect(r.out).toMatch(
        /phase: Error\nmessage: Metric "success-rate" assessed Error due to consecutiveErrors \(1\) > consecutiveErrorLimit \(0\)/,
      );
    });

    it.each([
      [
        [],
        /error: metric success-rate measures every 10s without a count and would run until stopped: give --duration \(e\.g\. --duration 1m\) or --once/,
      ],
      [['--once', '--duration', '1m'], /--once and --duration do not go together/],
      [['--once', '--arg', 'nope=1'], /--arg nope: the template has no such arg \(args: traefik\)/],
      [['--once', '--arg', 'traefik'], /--arg traefik: expected NAME=VALUE/],
      [['--once', '--threshold-max', '3'], /--threshold-min\/--threshold-max are for MetricTemplates/],
      [['--once', '--duration', 'soon'], /--duration soon: must be a positive Go duration/],
      [['--once', '--target', 'x'], /--var, --target, --namespace and --interval are for MetricTemplates/],
    ])('usage: %j -> exit 2', async (extra, expected) => {
      const args = extra.includes('--arg') ? extra : [...extra, '--arg', 'traefik=good'];
      const r = await analyze(['-f', SEED000, '--address', prom.url, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(expected);
    });

    it('a missing arg says how to give it', async () => {
      const r = await analyze(['-f', SEED000, '--address', prom.url, '--once']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/the template needs arg traefik: give it with --arg traefik=VALUE/);
    });

    it('95 % success: Successful, exit 0', async () => {
      await scraped();
      const r = await analyze(['-f', SEED000, '--address', prom.url, '--arg', 'traefik=good', '--once']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(
        /^AnalysisTemplate\/success-rate: 1 metric\(s\), one measurement each \(--once\)\n/,
      );
      expect(r.out).toContain(
        `  success-rate: prometheus ${prom.url}, once; success when result[0] > 0.90\n`,
      );
      expect(r.out).toContain(
        '    query: sum( rate(traefik_service_requests_total{traefik="good",status!~"[4-5].*"}[60s])) /',
      );
      expect(r.out).toMatch(/\n {2}\+\d+\.\ds {2}success-rate {2}Successful {2}\[0\.9[45]\d*\]\n/);
      expect(r.out).toMatch(/\nphase: Successful\n$/);
    });

    it('80 % success: Failed, exit 1', async () => {
      await scraped();
      const r = await analyze(['-f', SEED000, '--address', prom.url, '--arg', 'traefik=bad', '--once']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/ {2}success-rate {2}Failed {2}\[0\.[78]\d*\]\n/);
      expect(r.out).toContain(
        'phase: Failed\nmessage: Metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)\n',
      );
    });

    it('-o json', async () => {
      await scraped();
      const r = await analyze([
        '-f',
        SEED000,
        '--address',
        prom.url,
        '--arg',
        'traefik=good',
        '--once',
        '-o',
        'json',
      ]);
      expect(r.code).toBe(0);
      const data = JSON.parse(r.out);
      expect(data).toMatchObject({ kind: 'AnalysisTemplate', name: 'success-rate', phase: 'Successful' });
      expect(data.measurements).toHaveLength(1);
      expect(data.measurements[0]).toMatchObject({ metric: 'success-rate', phase: 'Successful' });
      expect(JSON.parse(data.measurements[0].value)[0]).toBeCloseTo(0.95, 6);
      expect(data.metricResults[0]).toMatchObject({ name: 'success-rate', phase: 'Successful', count: 1 });
    });
  });

  it('measures every interval with real timers until count, then decides', async () => {
    await scraped();
    const tpl = file(
      'three.yaml',
      `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: three
spec:
  args:
  - name: service
  - name: token
    valueFrom:
      secretKeyRef: {name: prom-auth, key: token}
  metrics:
  - name: rate
    interval: 500ms
    count: 3
    successCondition: result[0] > 0.9
    provider:
      prometheus:
        address: ${prom.url}
        headers:
        - key: Authorization
          value: Bearer {{args.token}}
        query: sum(rate(${TOTAL}{traefik="{{args.service}}",status="200"}[10s])) / sum(rate(${TOTAL}{traefik="{{args.service}}"}[10s]))
`,
    );
    const noSecret = await analyze(['-f', tpl, '--arg', 'service=good']);
    expect(noSecret.code).toBe(2);
    expect(noSecret.err).toMatch(
      /arg token comes from Secret prom-auth\/token: give its value with --arg token=VALUE/,
    );

    const t0 = Date.now();
    const r = await analyze(['-f', tpl, '--arg', 'service=good', '--arg', 'token=s3cr3t-t0ken']);
    const took = Date.now() - t0;
    expect(r.code).toBe(0);
    const lines = r.out.split('\n').filter((l) => / {2}rate {2}/.test(l));
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/Successful {2}\[0\.9[45]\d*\]$/);
    expect(took).toBeGreaterThanOrEqual(1000); // two intervals of 500 ms
    expect(r.out + r.err).not.toContain('s3cr3t-t0ken');
  });

  describe.skipIf(!hasShared)("seed-002's MetricTemplate", () => {
    const base = () => [
      '-f',
      SEED002,
      '--name',
      'not-found-percentage',
      '--address',
      prom.url,
      '--namespace',
      'test',
      '--target',
      'podinfo',
      '--interval',
      '10s',
    ];

    it('within --threshold-max: Successful, exit 0', async () => {
      await scraped();
      const r = await analyze([...base(), '--threshold-max', '5']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(
        new RegExp(
          `^MetricTemplate/not-found-percentage: prometheus ${prom.url.replace(/\./g, '\\.')}, interval 10s\n`,
        ),
      );
      expect(r.out).toContain('destination_workload_namespace="test", destination_workload="podinfo"');
      expect(r.out).toContain('}[10s]');
      expect(r.out).toMatch(/ {2}not-found-percentage {2}Successful {2}(2|1\.99+\d*|2\.00+\d*)\n/);
      expect(r.out).toMatch(/phase: Successful\nthresholdRange: max 5\n$/);
    });

    it('above --threshold-max: Failed, exit 1 (-o json)', async () => {
      await scraped();
      const r = await analyze([...base(), '--threshold-max', '1', '-o', 'json']);
      expect(r.code).toBe(1);
      const data = JSON.parse(r.out);
      expect(data).toMatchObject({ kind: 'MetricTemplate', phase: 'Failed', thresholdRange: { max: 1 } });
      expect(data.value).toBeCloseTo(2, 6);
    });

    it('no traffic for the target: no values found, exit 1', async () => {
      const r = await analyze([
        ...base().slice(0, -4),
        '--target',
        'idle',
        '--interval',
        '10s',
        '--threshold-max',
        '5',
      ]);
      expect(r.code).toBe(1);
      expect(r.out).toContain('not-found-percentage  Error  (no values found)');
    });

    it.each([
      [['--threshold-max', 'lots'], /--threshold-max lots: must be a number/],
      [
        ['--arg', 'apikey=x'],
        /--arg apikey: a MetricTemplate takes only its Secret's token, username and password/,
      ],
      [['--duration', '1m'], /--duration is for AnalysisTemplates/],
    ])('usage: %j -> exit 2', async (extra, expected) => {
      const r = await analyze([...base(), ...extra]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(expected);
    });
  });
});
