/**
 * The Kubernetes `job` provider: the pure parts (verdict from a Job's conditions, names, the Job it
 * writes, the poll back-off), then real Jobs on the test control plane (src/testing/kube-cluster.ts):
 * kube-controller-manager's Job controller runs them, kwok completes their pods (Succeeded, or Failed /
 * kept Running by the annotation KWOK_POD_PHASE_ANNOTATION), the upstream AnalysisRun CRD owns them.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Measurement, Metric } from '../../api/argo/analysis.js';
import type { Observation } from '../../engine/analysis/engine.js';
import {
  KubeApiClient,
  type KubeClient,
  type KubeJson,
  loadKubeConfig,
  RESOURCES,
} from '../../platforms/kubernetes/client.js';
import { KWOK_POD_PHASE_ANNOTATION } from '../../testing/cluster/control-plane.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { closedPort } from '../../testing/net.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import type { MeasureContext } from '../provider.js';
import {
  JOB_NAME_KEY,
  jobVerdict,
  KubeJobProvider,
  kubeJobName,
  METRIC_NAME_ANNOTATION,
  RUN_NAME_ANNOTATION,
  RUN_UID_LABEL,
} from './kube-job.js';

const UID = '990a01d4-ff15-402b-8516-0914c420e2b2';

const jobMetric = (name: string, extra: { podAnnotations?: Record<string, string>; spec?: object } = {}) =>
  ({
    name,
    provider: {
      job: {
        metadata: { labels: { team: 'checks' }, annotations: { note: 'from the template' } },
        spec: {
          backoffLimit: 0,
          template: {
            ...(extra.podAnnotations ? { metadata: { annotations: extra.podAnnotations } } : {}),
            spec: { restartPolicy: 'Never', containers: [{ name: 'check', image: 'busybox' }] },
          },
          ...extra.spec,
        },
      },
    },
  }) as unknown as Metric;

const ctxOf = (
  run: Partial<MeasureContext['run']> = {},
  extra: Partial<MeasureContext> = {},
): MeasureContext => ({
  now: Date.now(),
  run: { name: 'run-1', namespace: 'default', uid: UID, metricResults: [], ...run },
  ...extra,
});

/** A client that must not be called (pure tests) unless `get` is given. */
const fakeClient = (get?: (name: string) => KubeJson | undefined): KubeClient =>
  new Proxy({} as KubeClient, {
    get: (_t, verb) => {
      if (verb === 'get' && get) return async (_type: unknown, _ns: unknown, name: string) => get(name);
      return () => {
        throw new Error(`unexpected ${String(verb)}`);
      };
    },
  });

describe('jobVerdict: a Job status -> the measurement', () => {
  const c = (type: string, status = 'True', reason?: string, message?: string) => ({
    type,
    status,
    ...(reason ? { reason } : {}),
    ...(message ? { message } : {}),
  });
  it.each([
    ['no status', undefined, { phase: 'Running' }],
    ['no conditions', { active: 1 }, { phase: 'Running' }],
    [
      'SuccessCriteriaMet only (pods still finishing)',
      { conditions: [c('SuccessCriteriaMet')] },
      { phase: 'Running' },
    ],
    [
      'Complete=True',
      { conditions: [c('SuccessCriteriaMet'), c('Complete', 'True', 'CompletionsReached')] },
      { phase: 'Successful' },
    ],
    ['Complete=False', { conditions: [c('Complete', 'False')] }, { phase: 'Running' }],
    [
      'FailureTarget only',
      { conditions: [c('FailureTarget', 'True', 'BackoffLimitExceeded')] },
      { phase: 'Running' },
    ],
    [
      'Failed=True (backoff limit)',
      {
        conditions: [
          c('FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
          c('Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'),
        ],
      },
      { phase: 'Failed', message: 'BackoffLimitExceeded: Job has reached the specified backoff limit' },
    ],
    [
      'Failed=True (deadline)',
      {
        conditions: [
          c('Failed', 'True', 'DeadlineExceeded', 'Job was active longer than specified deadline'),
        ],
      },
      { phase: 'Failed', message: 'DeadlineExceeded: Job was active longer than specified deadline' },
    ],
    [
      'Failed=True without reason or message',
      { conditions: [c('Failed')] },
      { phase: 'Failed', message: 'the Job failed' },
    ],
    ['Failed=False', { conditions: [c('Failed', 'False')] }, { phase: 'Running' }],
    ['Suspended', { conditions: [c('Suspended', 'True', 'JobSuspended')] }, { phase: 'Running' }],
    [
      'Complete and Failed both True: Failed wins',
      { conditions: [c('Complete'), c('Failed', 'True', 'X', 'y')] },
      { phase: 'Failed', message: 'X: y' },
    ],
    ['garbage conditions', { conditions: [null, 'x', { status: 'True' }] }, { phase: 'Running' }],
  ])('%s', (_what, status, verdict) => {
    expect(jobVerdict(status === undefined ? {} : { status })).toEqual(verdict);
  });
});

describe('kubeJobName', () => {
  it('is <uid>.<metric>.<n> when that fits in 63 characters', () => {
    expect(kubeJobName(UID, 'ok', 1)).toBe(`${UID}.ok.1`);
    expect(kubeJobName(UID, 'a'.repeat(24), 1)).toHaveLength(63);
    expect(kubeJobName(UID, 'a'.repeat(24), 1)).toBe(`${UID}.${'a'.repeat(24)}.1`);
  });

  it('shortens a long metric name to a prefix and a hash, keeping uid and number', () => {
    const a = kubeJobName(UID, 'service-endpoint-reachable', 5);
    const b = kubeJobName(UID, 'service-endpoint-reachable-too', 5);
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(new RegExp(`^${UID}\\.service-endpoi[a-z-]*-[0-9a-f]{8}\\.5$`));
    }
    expect(a).not.toBe(b);
    expect(kubeJobName(UID, 'service-endpoint-reachable', 5)).toBe(a); // deterministic
    // A prefix never ends in '-' or '.' (name segments end alphanumeric).
    expect(kubeJobName(UID, `${'x'.repeat(13)}--------------------`, 12345)).toMatch(/x-[0-9a-f]{8}\.12345$/);
  });
});

describe('the Job it writes (pure)', () => {
  const p = new KubeJobProvider({ client: fakeClient() });

  it('has Argo’s name, labels, annotations and the AnalysisRun as controller', () => {
    const metric = jobMetric('ok');
    (metric.provider as { job: { metadata: { labels: Record<string, string> } } }).job.metadata.labels[
      RUN_UID_LABEL
    ] = 'spoofed';
    const job = p.jobFor(metric, ctxOf({ metricResults: [{ name: 'ok', count: 2, error: 1 }] }));
    expect(job).toMatchObject({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `${UID}.ok.4`,
        namespace: 'default',
        labels: { team: 'checks', [RUN_UID_LABEL]: UID },
        annotations: {
          note: 'from the template',
          [RUN_NAME_ANNOTATION]: 'run-1',
          [METRIC_NAME_ANNOTATION]: 'ok',
        },
        ownerReferences: [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'AnalysisRun',
            name: 'run-1',
            uid: UID,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { backoffLimit: 0 },
    });
    // Other metrics' counts do not matter; a metric without a result yet is number 1.
    expect(
      p.jobFor(jobMetric('other'), ctxOf({ metricResults: [{ name: 'ok', count: 7 }] })).metadata.name,
    ).toBe(`${UID}.other.1`);
  });

  it('leaves the owner out when the owner option says none', () => {
    const noOwner = new KubeJobProvider({ client: fakeClient(), owner: () => undefined });
    expect(noOwner.jobFor(jobMetric('ok'), ctxOf()).metadata.ownerReferences).toBeUndefined();
  });

  it.each([
    [{ uid: undefined }, 'AnalysisRun run-1 has no uid'],
    [{ namespace: undefined }, 'AnalysisRun run-1 has no namespace'],
    [{ metricResults: undefined }, 'no metric results of AnalysisRun run-1'],
  ])('refuses to run without %j', async (run, message) => {
    const o = await p.run(jobMetric('ok'), ctxOf(run));
    expect(o).toMatchObject({ metric: 'ok', phase: 'Error' });
    expect(o.message).toContain(message);
  });

  it('refuses a metric without a job spec', async () => {
    const o = await p.run({ name: 'ok', provider: { job: {} } } as unknown as Metric, ctxOf());
    expect(o).toEqual({ metric: 'ok', phase: 'Error', message: 'job: metric.provider.job.spec is missing' });
  });
});

describe('resume polls with a square-root back-off', () => {
  const running: KubeJson = { metadata: { name: 'j' }, status: { active: 1 } };
  const p = new KubeJobProvider({ client: fakeClient(() => running), pollMs: 1000, maxPollMs: 10_000 });
  const now = Date.parse('2026-11-22T10:00:00Z');
  const at = (ageS: number): Measurement =>
    ({
      phase: 'Running',
      startedAt: new Date(now - ageS * 1000).toISOString(),
      metadata: { [JOB_NAME_KEY]: 'j' },
    }) as Measurement;

  it.each([
    [0, 1000],
    [1, 1000],
    [4, 2000],
    [25, 5000],
    [100, 10_000],
    [3600, 10_000],
  ])('a measurement %i s old is looked at again in %i ms', async (age, delay) => {
    const o = await p.resume(jobMetric('ok'), at(age), ctxOf({}, { now }));
    expect(o).toEqual({ metric: 'ok', phase: 'Running', resumeAt: now + delay });
  });

  it('a measurement without the Job name is an Error, as in Argo', async () => {
    const o = await p.resume(jobMetric('ok'), { phase: 'Running' } as Measurement, ctxOf());
    expect(o).toEqual({ metric: 'ok', phase: 'Error', message: 'job metadata reference missing' });
  });
});

// -------------------------------------------------------------------------------------------------

let cluster: KubeCluster | undefined;
let client: KubeClient;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

interface RunRef {
  name: string;
  uid: string;
}

async function createRun(name: string): Promise<RunRef> {
  const run = await client.create(RESOURCES.analysisRuns, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    metadata: { name, namespace: 'default' },
    spec: { metrics: [{ name: 'placeholder', provider: { web: { url: 'http://127.0.0.1:1/' } } }] },
  });
  return { name, uid: run.metadata.uid ?? '' };
}

const ctxFor = (run: RunRef, metricResults: MeasureContext['run']['metricResults'] = []): MeasureContext => ({
  now: Date.now(),
  run: { name: run.name, namespace: 'default', uid: run.uid, metricResults },
});

/** The in-flight measurement the engine records for a Running observation. */
const measurementOf = (o: Observation): Measurement =>
  ({ phase: 'Running', startedAt: new Date().toISOString(), metadata: o.metadata }) as Measurement;

/** Resumes until the measurement leaves Running (or `ms` passed). */
async function settle(
  p: KubeJobProvider,
  metric: Metric,
  m: Measurement,
  ctx: MeasureContext,
  ms = 30_000,
): Promise<Observation> {
  const deadline = Date.now() + ms;
  for (;;) {
    const o = await p.resume(metric, m, { ...ctx, now: Date.now() });
    if (o.phase !== 'Running' || Date.now() > deadline) return o;
    await sleep(200);
  }
}

const podsOf = async (job: string) =>
  (await client.list(RESOURCES.pods, 'default', { labelSelector: `batch.kubernetes.io/job-name=${job}` }))
    .items;

describe.skipIf(!hasShared)('the job provider on a real control plane', () => {
  let run: RunRef;
  let p: KubeJobProvider;

  beforeAll(async () => {
    await ensureBinaries(); // the first time on a machine: ~18 min of Go builds
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds([join(sharedDir, 'crds', 'argo-rollouts-crds.yaml')]);
    client = new KubeApiClient(loadKubeConfig({ kubeconfig: k().kubeconfigPath }));
    p = new KubeJobProvider({ client, pollMs: 500 });
    run = await createRun('checks');
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('a Job whose pod succeeds: Running, then Successful; it carries Argo’s metadata and owner', async () => {
    const metric = jobMetric('ok');
    const ctx = ctxFor(run);
    const o = await p.run(metric, ctx);
    const name = `${run.uid}.ok.1`;
    expect(o).toEqual({
      metric: 'ok',
      phase: 'Running',
      resumeAt: ctx.now + 500,
      metadata: { [JOB_NAME_KEY]: name },
    });
    const job = await client.get(RESOURCES.jobs, 'default', name);
    expect(job?.metadata).toMatchObject({
      labels: { team: 'checks', [RUN_UID_LABEL]: run.uid },
      annotations: {
        note: 'from the template',
        [RUN_NAME_ANNOTATION]: 'checks',
        [METRIC_NAME_ANNOTATION]: 'ok',
      },
      ownerReferences: [{ kind: 'AnalysisRun', name: 'checks', uid: run.uid, controller: true }],
    });
    const m = measurementOf(o);
    // The pods take a moment (controller, scheduler, kwok's 300 ms): not done at once.
    expect((await p.resume(metric, m, { ...ctx, now: Date.now() })).phase).toBe('Running');
    expect(await settle(p, metric, m, ctx)).toEqual({ metric: 'ok', phase: 'Successful' });
  }, 60_000);

  it('a failing Job with backoffLimit 0 is Failed with the condition’s reason and message', async () => {
    const metric = jobMetric('fails', { podAnnotations: { [KWOK_POD_PHASE_ANNOTATION]: 'Failed' } });
    const ctx = ctxFor(run);
    const o = await p.run(metric, ctx);
    expect(o.phase).toBe('Running');
    expect(await settle(p, metric, measurementOf(o), ctx)).toEqual({
      metric: 'fails',
      phase: 'Failed',
      message: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
    });
  }, 60_000);

  it('terminate deletes a running Job and its pods; resuming it then is an Error', async () => {
    const metric = jobMetric('endless', { podAnnotations: { [KWOK_POD_PHASE_ANNOTATION]: 'Running' } });
    const ctx = ctxFor(run, [{ name: 'endless', count: 3 }]);
    const o = await p.run(metric, ctx);
    const name = `${run.uid}.endless.4`;
    expect(o.metadata).toEqual({ [JOB_NAME_KEY]: name });
    await until('its pod to run', async () =>
      (await podsOf(name)).some((x) => (x.status as { phase?: string })?.phase === 'Running'),
    );
    const m = measurementOf(o);
    expect((await p.resume(metric, m, { ...ctx, now: Date.now() })).phase).toBe('Running');
    await p.terminate(metric, m, ctx);
    await until(
      'the Job to go',
      async () => (await client.get(RESOURCES.jobs, 'default', name)) === undefined,
    );
    await until('its pods to go', async () => (await podsOf(name)).length === 0);
    const after = await p.resume(metric, m, { ...ctx, now: Date.now() });
    expect(after).toEqual({
      metric: 'endless',
      phase: 'Error',
      message: `job default/${name} not found (deleted before it finished?)`,
    });
    // Terminating what is gone is fine.
    await p.terminate(metric, m, ctx);
  }, 60_000);

  it('creating the same measurement twice (a restart before the status write) adopts the Job', async () => {
    const metric = jobMetric('twice');
    const ctx = ctxFor(run);
    const first = await p.run(metric, ctx);
    const second = await p.run(metric, { ...ctx, now: Date.now() });
    expect(second.phase).toBe('Running');
    expect(second.metadata).toEqual(first.metadata);
    const { items } = await client.list(RESOURCES.jobs, 'default', {
      labelSelector: `${RUN_UID_LABEL}=${run.uid}`,
    });
    expect(items.filter((j) => j.metadata.annotations?.[METRIC_NAME_ANNOTATION] === 'twice')).toHaveLength(1);
    expect((await settle(p, metric, measurementOf(second), ctx)).phase).toBe('Successful');
  }, 60_000);

  it('a Job of that name that is not this run’s is not adopted', async () => {
    const name = `${run.uid}.foreign.1`;
    const spec = (jobMetric('foreign').provider as { job: { spec: object } }).job.spec;
    await client.create(RESOURCES.jobs, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: 'default' },
      spec,
    });
    const o = await p.run(jobMetric('foreign'), ctxFor(run));
    expect(o).toEqual({
      metric: 'foreign',
      phase: 'Error',
      message: `job default/${name} already exists and belongs to no AnalysisRun, not to AnalysisRun checks`,
    });
  }, 30_000);

  it('an invalid Job spec is an Error naming the Job and the field from the API’s 422', async () => {
    const metric = jobMetric('invalid', {
      spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } },
    });
    const o = await p.run(metric, ctxFor(run));
    expect(o.phase).toBe('Error');
    expect(o.message).toContain(`job default/${run.uid}.invalid.1: create failed (422 Invalid): Job.batch`);
    expect(o.message).toContain('spec.template.spec.containers: Required value');
  }, 30_000);

  it('secret values in an API error are masked', async () => {
    const metric = jobMetric('leaky', {
      spec: {
        template: {
          spec: { restartPolicy: 'Sometimes-s3cr3t-value', containers: [{ name: 'c', image: 'x' }] },
        },
      },
    });
    const o = await p.run(metric, { ...ctxFor(run), argValues: { token: 's3cr3t-value' } });
    expect(o.phase).toBe('Error');
    expect(o.message).toContain('422 Invalid');
    expect(o.message).toContain('Sometimes-***');
    expect(o.message).not.toContain('s3cr3t');
  }, 30_000);

  it('a metric name too long for Argo’s naming still makes a valid Job', async () => {
    const metric = jobMetric('service-endpoint-reachable-with-a-long-name');
    const ctx = ctxFor(run);
    const o = await p.run(metric, ctx);
    expect(o.phase).toBe('Running');
    const name = o.metadata?.[JOB_NAME_KEY] ?? '';
    expect(name.length).toBeLessThanOrEqual(63);
    expect(await settle(p, metric, measurementOf(o), ctx)).toEqual({
      metric: 'service-endpoint-reachable-with-a-long-name',
      phase: 'Successful',
    });
  }, 60_000);

  it('without RBAC rights (403) run and resume are Errors naming the Job and the reason', async () => {
    await k().kubectl(['create', 'serviceaccount', 'nobody', '-n', 'default']);
    const token = (await k().kubectl(['create', 'token', 'nobody', '-n', 'default'])).trim();
    const admin = loadKubeConfig({ kubeconfig: k().kubeconfigPath });
    const kc = loadKubeConfig({ kubeconfig: k().kubeconfigPath });
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: k().server, caData: admin.getCurrentCluster()?.caData }],
      users: [{ name: 'nobody', token }],
      contexts: [{ name: 'nobody', cluster: 'c', user: 'nobody' }],
      currentContext: 'nobody',
    });
    const weak = new KubeJobProvider({ client: new KubeApiClient(kc) });
    const metric = jobMetric('forbidden');
    const o = await weak.run(metric, ctxFor(run));
    expect(o.phase).toBe('Error');
    expect(o.message).toContain(`job default/${run.uid}.forbidden.1: create failed (403 Forbidden): `);
    expect(o.message).toContain('cannot create resource "jobs" in API group "batch"');
    const m = { phase: 'Running', metadata: { [JOB_NAME_KEY]: 'some-job' } } as Measurement;
    const r = await weak.resume(metric, m, ctxFor(run));
    expect(r.message).toContain('job default/some-job: read failed (403 Forbidden): ');
    await expect(weak.terminate(metric, m, ctxFor(run))).rejects.toThrow(/delete failed \(403 Forbidden\)/);
  }, 30_000);

  it('an unreachable API server is an Error naming the Job', async () => {
    const kc = loadKubeConfig({ kubeconfig: k().kubeconfigPath });
    const cur = kc.getCurrentCluster();
    kc.loadFromOptions({
      clusters: [{ name: 'gone', server: `https://127.0.0.1:${await closedPort()}`, caData: cur?.caData }],
      users: kc.getUsers(),
      contexts: [{ name: 'gone', cluster: 'gone', user: kc.getCurrentUser()?.name }],
      currentContext: 'gone',
    });
    const offline = new KubeJobProvider({ client: new KubeApiClient(kc) });
    const o = await offline.run(jobMetric('offline'), ctxFor(run));
    expect(o.phase).toBe('Error');
    expect(o.message).toMatch(
      new RegExp(
        `^job default/${run.uid}\\.offline\\.1: create failed \\(API server unreachable\\): .*ECONNREFUSED`,
      ),
    );
  }, 30_000);

  it('garbageCollect deletes the metric’s oldest Jobs beyond the limit, and only that metric’s', async () => {
    const metric = jobMetric('many');
    for (const count of [0, 1, 2]) await p.run(metric, ctxFor(run, [{ name: 'many', count }]));
    await p.run(jobMetric('other'), ctxFor(run));
    const deleted = await p.garbageCollect('many', 1, ctxFor(run));
    expect(deleted).toEqual([`${run.uid}.many.1`, `${run.uid}.many.2`]);
    await until('the old Jobs to go', async () => {
      const { items } = await client.list(RESOURCES.jobs, 'default', {
        labelSelector: `${RUN_UID_LABEL}=${run.uid}`,
      });
      const names = items.map((j) => j.metadata.name);
      return !names.includes(`${run.uid}.many.1`) && !names.includes(`${run.uid}.many.2`);
    });
    expect(await client.get(RESOURCES.jobs, 'default', `${run.uid}.many.3`)).toBeDefined();
    expect(await client.get(RESOURCES.jobs, 'default', `${run.uid}.other.1`)).toBeDefined();
  }, 60_000);

  it('deleting the AnalysisRun makes the garbage collector delete its Jobs and their pods', async () => {
    const owner = await createRun('short-lived');
    const o = await p.run(
      jobMetric('owned', { podAnnotations: { [KWOK_POD_PHASE_ANNOTATION]: 'Running' } }),
      ctxFor(owner),
    );
    const name = o.metadata?.[JOB_NAME_KEY] ?? '';
    expect(name).toBe(`${owner.uid}.owned.1`);
    await until('its pod', async () => (await podsOf(name)).length > 0);
    await client.delete(RESOURCES.analysisRuns, 'default', 'short-lived');
    // The garbage collector watches a CRD installed after it started only from its next discovery
    // resync (every 30 s), so this can take that long.
    await until(
      'the Job to be garbage-collected',
      async () => (await client.get(RESOURCES.jobs, 'default', name)) === undefined,
      45_000,
    );
    await until('its pods to go', async () => (await podsOf(name)).length === 0);
  }, 60_000);
});
