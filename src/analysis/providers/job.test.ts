import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AnalysisRun, Measurement, Metric } from '../../api/argo/analysis.js';
import { type Observation, reconcileAnalysisRun } from '../../engine/analysis/engine.js';
import { carryOutMeasurements, type MeasureContext, ProviderRegistry } from '../provider.js';
import { expandKubernetesVars, JOB_NAME_KEY, LocalJobProvider, OutputTail } from './job.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vireo-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface JobOpts {
  args?: string[];
  env?: Record<string, unknown>[];
  backoffLimit?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  terminationGracePeriodSeconds?: number;
  container?: Record<string, unknown>;
}
const jobMetric = (name: string, command: string[] | undefined, o: JobOpts = {}): Metric =>
  ({
    name,
    provider: {
      job: {
        spec: {
          ...(o.backoffLimit !== undefined ? { backoffLimit: o.backoffLimit } : {}),
          ...(o.completions !== undefined ? { completions: o.completions } : {}),
          ...(o.activeDeadlineSeconds !== undefined
            ? { activeDeadlineSeconds: o.activeDeadlineSeconds }
            : {}),
          template: {
            spec: {
              restartPolicy: 'Never',
              ...(o.terminationGracePeriodSeconds !== undefined
                ? { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds }
                : {}),
              containers: [
                {
                  name: 'check',
                  image: 'busybox',
                  ...(command ? { command } : {}),
                  ...(o.args ? { args: o.args } : {}),
                  ...(o.env ? { env: o.env } : {}),
                  ...o.container,
                },
              ],
            },
          },
        },
      },
    },
  }) as unknown as Metric;

const ctx = (extra: Partial<MeasureContext> = {}): MeasureContext => ({
  now: Date.now(),
  run: { name: 'run-1', namespace: 'test' },
  ...extra,
});

const providers: LocalJobProvider[] = [];
const provider = (o: ConstructorParameters<typeof LocalJobProvider>[0] = {}) => {
  const p = new LocalJobProvider({ pollMs: 10, maxPollMs: 20, backoffBaseMs: 20, ...o });
  providers.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the metric and resume it until it has a verdict (as the engine would, on a fast clock). */
async function measure(p: LocalJobProvider, metric: Metric, c = ctx(), limitMs = 8000) {
  const first = await p.run(metric, c);
  if (first.phase !== 'Running') return { first, last: first };
  const measurement: Measurement = {
    phase: 'Running',
    startedAt: new Date().toISOString(),
    ...(first.metadata ? { metadata: first.metadata } : {}),
  };
  const until = Date.now() + limitMs;
  for (;;) {
    const o = p.resume(metric, measurement, { ...c, now: Date.now() });
    if (o.phase !== 'Running') return { first, last: o };
    expect(o.resumeAt).toBeGreaterThan(Date.now() - 5);
    if (Date.now() > until) throw new Error(`still running after ${limitMs} ms`);
    await sleep(10);
  }
}

const alive = (pid: number): boolean => {
  try {
    // A zombie (killed, not yet reaped by its new parent) counts as gone.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('local job provider: verdicts', () => {
  it('`true` runs to completion: Running with resumeAt and the job name, then Successful', async () => {
    const c = ctx();
    const { first, last } = await measure(provider(), jobMetric('ok', ['true']), c);
    expect(first).toEqual({
      metric: 'ok',
      phase: 'Running',
      resumeAt: c.now + 10,
      metadata: { [JOB_NAME_KEY]: 'run-1.ok.1' },
    });
    expect(last).toEqual({ metric: 'ok', phase: 'Successful' });
  });

  it('`false` fails the Job: Failed, saying how', async () => {
    const { last } = await measure(provider(), jobMetric('bad', ['false']));
    expect(last.phase).toBe('Failed');
    expect(last.message).toBe('BackoffLimitExceeded: exit code 1 (1 failed of 1 attempt, backoffLimit 0)');
  });

  it('the message carries the tail of the output, with secrets masked', async () => {
    const m = jobMetric('out', ['sh', '-c', 'echo "token $TOKEN"; echo to-stderr >&2; exit 3'], {
      env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
    });
    const p = provider({
      resolveValueFrom: async ({ name }) => (name === 'TOKEN' ? 's3cr3t-value' : undefined),
    });
    const { last } = await measure(p, m);
    expect(last.phase).toBe('Failed');
    expect(last.message).toMatch(/^BackoffLimitExceeded: exit code 3 .*: token \*\*\*\nto-stderr$/);
    expect(last.message).not.toContain('s3cr3t');
  });

  it('keeps only a bounded tail of a large output', async () => {
    const p = provider({ outputBytes: 1000, messageChars: 100 });
    const { last } = await measure(p, jobMetric('big', ['sh', '-c', 'seq 1 100000; echo END; exit 1']));
    expect(last.phase).toBe('Failed');
    const tail = (last.message ?? '').slice((last.message ?? '').indexOf('): ') + 3);
    expect(tail.startsWith('…')).toBe(true);
    expect(tail.length).toBeLessThanOrEqual(101);
    expect(tail.endsWith('99999\n100000\nEND')).toBe(true);
  });

  it('argv goes to the program as is: no shell, no word splitting, no globbing', async () => {
    const out = path.join(dir, 'argv.txt');
    const m = jobMetric(
      'argv',
      ['node', '-e', 'require("fs").writeFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)))'],
      {
        args: [out, 'a b', '*', '$(HOME)x', '; rm -rf /', '$$(LITERAL)', '$(UNDEFINED)'],
        env: [{ name: 'HOME', value: '/h' }],
      },
    );
    const { last } = await measure(provider(), m);
    expect(last.phase).toBe('Successful');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([
      'a b',
      '*',
      '/hx',
      '; rm -rf /',
      '$(LITERAL)',
      '$(UNDEFINED)',
    ]);
  });

  it('env: values (expanded against earlier ones) over a small base environment', async () => {
    const m = jobMetric(
      'env',
      ['sh', '-c', 'test "$GREETING" = "hello world" && test -n "$PATH" && test -z "$VIREO_PARENT_ONLY"'],
      {
        env: [
          { name: 'WHO', value: 'world' },
          { name: 'GREETING', value: 'hello $(WHO)' },
        ],
      },
    );
    process.env.VIREO_PARENT_ONLY = 'leak';
    try {
      const { last } = await measure(provider(), m);
      expect(last).toEqual({ metric: 'env', phase: 'Successful' });
    } finally {
      delete process.env.VIREO_PARENT_ONLY;
    }
  });

  it('backoffLimit: failed attempts are retried; completions: that many successes are needed', async () => {
    const counter = path.join(dir, 'attempts');
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; test $n -ge 3`;
    const { last } = await measure(provider(), jobMetric('retry', ['sh', '-c', script], { backoffLimit: 2 }));
    expect(last.phase).toBe('Successful');
    expect(readFileSync(counter, 'utf8').trim()).toBe('3');

    const runs = path.join(dir, 'completions');
    const { last: l2 } = await measure(
      provider(),
      jobMetric('many', ['sh', '-c', `echo x >> ${runs}`], { completions: 3 }),
    );
    expect(l2.phase).toBe('Successful');
    expect(readFileSync(runs, 'utf8')).toBe('x\nx\nx\n');

    const { last: l3 } = await measure(provider(), jobMetric('exhausted', ['false'], { backoffLimit: 2 }));
    expect(l3.message).toBe('BackoffLimitExceeded: exit code 1 (3 failed of 3 attempts, backoffLimit 2)');
  });

  it('activeDeadlineSeconds: the Job fails at the deadline and its processes are killed', async () => {
    const pidFile = path.join(dir, 'deadline.pid');
    const started = Date.now();
    const { last } = await measure(
      provider(),
      jobMetric('slow', ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], { activeDeadlineSeconds: 1 }),
    );
    const took = Date.now() - started;
    expect(last.phase).toBe('Failed');
    expect(last.message).toMatch(/^DeadlineExceeded: Job was active longer than specified deadline \(1s\)/);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(5000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(20);
    expect(alive(pid)).toBe(false);
  });
});

describe('local job provider: escaping processes', () => {
  it('a child that left the process group (setsid) does not hold back the verdict', async () => {
    const pidFile = path.join(dir, 'setsid.pid');
    const t0 = Date.now();
    const { last } = await measure(
      provider(),
      jobMetric('escape', ['sh', '-c', `setsid sleep 3 & echo $! > ${pidFile}; echo started`]),
    );
    expect(last).toEqual({ metric: 'escape', phase: 'Successful' });
    expect(Date.now() - t0).toBeLessThan(2500);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
});

describe('local job provider: terminate', () => {
  it('kills the whole process group (`sh -c "sleep 5"` and what it started)', async () => {
    const p = provider();
    const pidFile = path.join(dir, 'term.pid');
    const m = jobMetric('long', ['sh', '-c', `sleep 5 & echo $! > ${pidFile}; sleep 5; wait`]);
    const c = ctx();
    const first = await p.run(m, c);
    expect(first.phase).toBe('Running');
    const measurement: Measurement = { phase: 'Running', metadata: first.metadata ?? {} };
    for (let i = 0; i < 100; i++) {
      try {
        if (readFileSync(pidFile, 'utf8').trim()) break;
      } catch {}
      await sleep(10);
    }
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(grandchild)).toBe(true);
    expect(p.running()).toEqual(['run-1.long.1']);
    const t0 = Date.now();
    await p.terminate(m, measurement, c);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(p.running()).toEqual([]);
    for (let i = 0; i < 50 && alive(grandchild); i++) await sleep(20);
    expect(alive(grandchild)).toBe(false);
    // The record is gone with the Job, as Argo's deleted Job.
    expect(p.resume(m, measurement, c).phase).toBe('Error');
  });

  it('a process that ignores SIGTERM is killed after terminationGracePeriodSeconds', async () => {
    const p = provider();
    const m = jobMetric('stubborn', ['sh', '-c', "trap '' TERM; echo ready; sleep 5 & wait; sleep 5"], {
      terminationGracePeriodSeconds: 1,
    });
    const c = ctx();
    const first = await p.run(m, c);
    await sleep(200);
    const t0 = Date.now();
    await p.terminate(m, { phase: 'Running', metadata: first.metadata ?? {} }, c);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3000);
  });
});

describe('local job provider: Errors (the measurement could not be taken)', () => {
  const cases: [string, Metric, RegExp][] = [
    [
      'no command',
      jobMetric('m', undefined, { args: ['x'] }),
      /has no command; the local platform runs command and args/,
    ],
    [
      'envFrom',
      jobMetric('m', ['true'], { container: { envFrom: [{ secretRef: { name: 's' } }] } }),
      /envFrom is not supported/,
    ],
    [
      'unresolved valueFrom',
      jobMetric('m', ['true'], {
        env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      }),
      /env X uses valueFrom, which the adapter did not resolve/,
    ],
    [
      'no containers',
      {
        name: 'm',
        provider: { job: { spec: { template: { spec: { containers: [] } } } } },
      } as unknown as Metric,
      /no containers/,
    ],
    [
      'bad backoffLimit',
      jobMetric('m', ['true'], { backoffLimit: -1 }),
      /backoffLimit must be an integer >= 0, got -1/,
    ],
  ];
  it.each(cases)('%s', async (_, metric, message) => {
    const o = await provider().run(metric, ctx());
    expect(o.phase).toBe('Error');
    expect(o.message).toMatch(message);
  });

  it('a command that is not there is an Error, not a failed Job', async () => {
    const { last } = await measure(provider(), jobMetric('m', ['vireo-no-such-command']));
    expect(last).toEqual({
      metric: 'm',
      phase: 'Error',
      message: 'cannot run "vireo-no-such-command": not found',
    });
  });

  it('resume without a job name or of an unknown job is an Error', () => {
    const p = provider();
    const m = jobMetric('m', ['true']);
    expect(p.resume(m, { phase: 'Running' }, ctx()).message).toBe('job metadata reference missing');
    expect(p.resume(m, { phase: 'Running', metadata: { [JOB_NAME_KEY]: 'x.m.9' } }, ctx()).message).toMatch(
      /^job x\.m\.9 not found/,
    );
  });
});

describe('with the AnalysisRun engine', () => {
  const mkRun = (metrics: Metric[]): AnalysisRun => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    metadata: { name: 'smoke', namespace: 'test' },
    spec: { metrics },
  });

  /** The adapter's loop on the real clock: reconcile, carry out the actions, sleep until the requeue. */
  async function drive(run: AnalysisRun, p: LocalJobProvider) {
    const registry = new ProviderRegistry([p]);
    let r = run;
    let obs: Observation[] = [];
    for (let i = 0; i < 500; i++) {
      const res = reconcileAnalysisRun(r, Date.now(), obs);
      r = { ...r, status: res.status };
      if (['Successful', 'Failed', 'Error', 'Inconclusive'].includes(res.status.phase ?? '')) return r;
      obs = await carryOutMeasurements(res.actions, registry, {
        now: Date.now(),
        run: { name: 'smoke', namespace: 'test' },
      });
      const requeue = res.actions.find((a) => a.type === 'requeue');
      if (obs.length === 0) await sleep(Math.min(requeue && 'afterMs' in requeue ? requeue.afterMs : 10, 50));
    }
    throw new Error('the run did not finish');
  }

  it('a passing and a failing job metric give the run its phase', async () => {
    const p = provider();
    const ok = await drive(mkRun([jobMetric('smoke', ['sh', '-c', 'exit 0'])]), p);
    expect(ok.status?.phase).toBe('Successful');
    expect(ok.status?.metricResults?.[0]?.measurements?.[0]).toMatchObject({
      phase: 'Successful',
      metadata: { [JOB_NAME_KEY]: 'smoke.smoke.1' },
    });
    const bad = await drive(mkRun([jobMetric('smoke', ['sh', '-c', 'echo nope; exit 2'])]), p);
    expect(bad.status?.phase).toBe('Failed');
    expect(bad.status?.metricResults?.[0]?.measurements?.[0]?.message).toMatch(/exit code 2 .*: nope$/);
  });
});

describe('helpers', () => {
  it('expandKubernetesVars follows Kubernetes: $(X), $$ escapes, unknown and unclosed stay', () => {
    const env: Record<string, string> = { A: 'x', B: 'y' };
    const e = (s: string) => expandKubernetesVars(s, (n) => env[n]);
    expect(e('$(A)-$(B)')).toBe('x-y');
    expect(e('$$(A)')).toBe('$(A)');
    expect(e('$(C)')).toBe('$(C)');
    expect(e('$(A')).toBe('$(A');
    expect(e('$A $')).toBe('$A $');
    expect(e('a$$b')).toBe('a$b');
  });

  it('OutputTail keeps the last bytes', () => {
    const t = new OutputTail(5);
    t.push(Buffer.from('abc'));
    t.push(Buffer.from('defgh'));
    expect(t.text()).toEqual({ text: 'defgh', truncated: true });
    const u = new OutputTail(5);
    u.push(Buffer.from('ab'));
    expect(u.text()).toEqual({ text: 'ab', truncated: false });
  });
});
