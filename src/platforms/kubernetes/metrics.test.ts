import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient, type KubeJson, RESOURCES } from './client.js';
import { createLogger } from './log.js';
import {
  type AnalysisRunJson,
  ControllerMetrics,
  metricProviderType,
  type RolloutJson,
  rolloutMetricPhase,
  rolloutStrategy,
} from './metrics.js';
import { WorkQueue } from './workqueue.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition text (comments skipped). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1');
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name`, as `labels → value` with the labels in a stable text form. */
async function samples(metrics: ControllerMetrics, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of parse(await metrics.metrics()).filter((x) => x.name === name)) {
    const key = Object.entries(s.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    out[key] = s.value;
  }
  return out;
}

const rollout = (over: Partial<RolloutJson> & { name?: string } = {}): RolloutJson => ({
  metadata: { name: over.name ?? 'guestbook', namespace: 'default' },
  spec: over.spec ?? {
    replicas: 5,
    strategy: { canary: { trafficRouting: { nginx: { stableIngress: 'g' } } } },
  },
  status: over.status ?? {
    replicas: 6,
    availableReplicas: 4,
    updatedReplicas: 1,
    conditions: [{ type: 'Progressing', reason: 'RolloutPaused' }],
  },
});

describe('rollout labels as Argo computes them', () => {
  it.each([
    [{ blueGreen: { activeService: 'a' } }, 'blueGreen', ''],
    [{ canary: {} }, 'canary', ''],
    [{ canary: { trafficRouting: { nginx: {} } } }, 'canary', 'Nginx'],
    [{ canary: { trafficRouting: { smi: {} } } }, 'canary', 'SMI'],
    [{ canary: { trafficRouting: { istio: {}, alb: {} } } }, 'canary', 'Istio'], // the later one wins
    [{ canary: { trafficRouting: { appMesh: {}, nginx: {} } } }, 'canary', 'AppMesh'],
    [{ canary: { trafficRouting: { traefik: {} } } }, 'canary', ''], // not named by Argo
    [{ canary: { trafficRouting: { plugins: { 'argoproj-labs/gatewayAPI': {} } } } }, 'canary', ''],
    [{}, 'none', ''],
  ])('%j → strategy %s, traffic_router %j', (strategy, want, router) => {
    expect(rolloutStrategy({ metadata: { name: 'r' }, spec: { strategy } })).toEqual({
      strategy: want,
      trafficRouter: router,
    });
  });

  it.each([
    [[], 'Progressing'],
    [[{ type: 'Progressing', reason: 'ReplicaSetUpdated' }], 'Progressing'],
    [[{ type: 'Progressing', reason: 'NewReplicaSetAvailable' }], 'Completed'],
    [[{ type: 'Progressing', reason: 'RolloutPaused' }], 'Paused'],
    [[{ type: 'Progressing', reason: 'ReplicaSetCreateError' }], 'Error'],
    [[{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }], 'Timeout'],
    [[{ type: 'Progressing', reason: 'RolloutAborted' }], 'Abort'],
    [
      [
        { type: 'Progressing', reason: 'RolloutAborted' },
        { type: 'InvalidSpec', reason: 'InvalidSpec' },
      ],
      'InvalidSpec',
    ],
  ])('conditions %j → phase %s', (conditions, phase) => {
    expect(rolloutMetricPhase({ metadata: { name: 'r' }, status: { conditions } })).toBe(phase);
  });

  it.each([
    [{ prometheus: {} }, 'Prometheus'],
    [{ web: {} }, 'Web'],
    [{ job: {} }, 'Job'],
    [{ newRelic: {} }, 'NewRelic'],
    [{ cloudWatch: {} }, 'CloudWatch'],
    [{ skywalking: {} }, 'skywalking'],
    [{ plugin: { 'argoproj-labs/x': {} } }, 'RPCPlugin'],
    [{}, 'Unknown Provider'],
  ])('provider %j → type %s', (provider, type) => {
    expect(metricProviderType(provider)).toBe(type);
  });
});

describe('ControllerMetrics', () => {
  it('has its own registry with process metrics and the version', async () => {
    const a = new ControllerMetrics({ version: '0.1.0' });
    const b = new ControllerMetrics({ version: '0.2.0', defaultMetrics: false });
    const text = await a.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(await samples(a, 'vireo_controller_info')).toEqual({ 'version=0.1.0': 1 });
    expect(await samples(b, 'vireo_controller_info')).toEqual({ 'version=0.2.0': 1 });
    expect(await b.metrics()).not.toContain('process_cpu_user_seconds_total');
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('reports rollouts at scrape time, as they are then', async () => {
    let list: RolloutJson[] = [
      rollout(),
      rollout({
        name: 'bg',
        spec: { strategy: { blueGreen: {} } },
        status: { conditions: [{ type: 'Progressing', reason: 'NewReplicaSetAvailable' }] },
      }),
    ];
    const m = new ControllerMetrics({ version: 'v', rollouts: () => list, defaultMetrics: false });
    expect(await samples(m, 'rollout_info')).toEqual({
      'namespace=default,name=guestbook,strategy=canary,traffic_router=Nginx,phase=Paused': 1,
      'namespace=default,name=bg,strategy=blueGreen,traffic_router=,phase=Completed': 1,
    });
    expect(await samples(m, 'rollout_info_replicas_available')).toEqual({
      'namespace=default,name=guestbook': 4,
      'namespace=default,name=bg': 0,
    });
    expect(await samples(m, 'rollout_info_replicas_unavailable')).toEqual({
      'namespace=default,name=guestbook': 2,
      'namespace=default,name=bg': 0,
    });
    expect(await samples(m, 'rollout_info_replicas_desired')).toEqual({
      'namespace=default,name=guestbook': 5,
      'namespace=default,name=bg': 1, // spec.replicas defaults to 1
    });
    expect(await samples(m, 'rollout_info_replicas_updated')).toEqual({
      'namespace=default,name=guestbook': 1,
      'namespace=default,name=bg': 0,
    });
    const phases = await samples(m, 'rollout_phase');
    expect(Object.keys(phases)).toHaveLength(12);
    expect(phases['namespace=default,name=guestbook,strategy=canary,phase=Paused']).toBe(1);
    expect(phases['namespace=default,name=guestbook,strategy=canary,phase=Progressing']).toBe(0);

    // A deleted rollout disappears from the next scrape; a changed one shows its new state.
    list = [rollout({ status: { conditions: [{ type: 'Progressing', reason: 'RolloutAborted' }] } })];
    expect(await samples(m, 'rollout_info')).toEqual({
      'namespace=default,name=guestbook,strategy=canary,traffic_router=Nginx,phase=Abort': 1,
    });
  });

  it('a failing callback leaves its objects out and is logged', async () => {
    const lines: string[] = [];
    const m = new ControllerMetrics({
      version: 'v',
      defaultMetrics: false,
      rollouts: () => {
        throw new Error('cache not synced');
      },
      log: createLogger({ write: (l) => lines.push(l) }),
    });
    expect(await samples(m, 'rollout_info')).toEqual({});
    expect(await samples(m, 'vireo_controller_info')).toEqual({ 'version=v': 1 });
    expect(
      lines.some((l) => l.includes('Failed to collect rollouts') && l.includes('cache not synced')),
    ).toBe(true);
  });

  it('reports analysis runs and their metrics', async () => {
    const run: AnalysisRunJson = {
      metadata: { name: 'guestbook-7c6f9d8b5-2', namespace: 'default' },
      spec: {
        metrics: [
          { name: 'success-rate', provider: { prometheus: { query: 'q' } } },
          { name: 'latency-p99', provider: { web: { url: 'http://x' } } },
        ],
        dryRun: [{ metricName: 'latency.*' }],
      },
      status: { phase: 'Running', metricResults: [{ name: 'success-rate', phase: 'Failed' }] },
    };
    const pending: AnalysisRunJson = { metadata: { name: 'new', namespace: 'ns2' } };
    const m = new ControllerMetrics({
      version: 'v',
      defaultMetrics: false,
      analysisRuns: () => [run, pending],
    });
    expect(await samples(m, 'analysis_run_info')).toEqual({
      'namespace=default,name=guestbook-7c6f9d8b5-2,phase=Running': 1,
      'namespace=ns2,name=new,phase=': 1,
    });
    const phase = await samples(m, 'analysis_run_phase');
    expect(Object.keys(phase)).toHaveLength(12);
    expect(phase['namespace=default,name=guestbook-7c6f9d8b5-2,phase=Running']).toBe(1);
    expect(phase['namespace=default,name=guestbook-7c6f9d8b5-2,phase=Pending']).toBe(0);
    expect(phase['namespace=ns2,name=new,phase=Pending']).toBe(1); // no phase yet counts as Pending
    expect(await samples(m, 'analysis_run_metric_type')).toEqual({
      'namespace=default,name=guestbook-7c6f9d8b5-2,metric=success-rate,type=Prometheus': 1,
      'namespace=default,name=guestbook-7c6f9d8b5-2,metric=latency-p99,type=Web': 1,
    });
    const metricPhase = await samples(m, 'analysis_run_metric_phase');
    expect(Object.keys(metricPhase)).toHaveLength(12);
    const base = 'namespace=default,name=guestbook-7c6f9d8b5-2';
    expect(metricPhase[`${base},metric=success-rate,type=Prometheus,dry_run=false,phase=Failed`]).toBe(1);
    expect(metricPhase[`${base},metric=success-rate,type=Prometheus,dry_run=false,phase=Running`]).toBe(0);
    expect(metricPhase[`${base},metric=latency-p99,type=Web,dry_run=true,phase=Pending`]).toBe(1);
  });

  it('records reconciles, errors and events with Argo’s buckets', async () => {
    const m = new ControllerMetrics({ version: 'v', defaultMetrics: false });
    m.rolloutReconciled('default', 'guestbook', 0.12);
    m.rolloutReconciled('default', 'guestbook', 2);
    m.rolloutReconcileError('default', 'guestbook');
    m.analysisRunReconciled('default', 'run-1', 0.005);
    m.analysisRunReconcileError('default', 'run-1');
    m.analysisRunReconcileError('default', 'run-1');
    m.rolloutEvent('default', 'guestbook', 'Warning', 'RolloutAborted');
    m.rolloutEvent('default', 'guestbook', 'Warning', 'RolloutAborted');
    m.rolloutEvent('default', 'guestbook', 'Normal', 'RolloutStepCompleted');
    expect(await samples(m, 'rollout_reconcile_bucket')).toEqual({
      'le=0.01,namespace=default,name=guestbook': 0,
      'le=0.15,namespace=default,name=guestbook': 1,
      'le=0.25,namespace=default,name=guestbook': 1,
      'le=0.5,namespace=default,name=guestbook': 1,
      'le=1,namespace=default,name=guestbook': 1,
      'le=+Inf,namespace=default,name=guestbook': 2,
    });
    expect(await samples(m, 'rollout_reconcile_sum')).toEqual({ 'namespace=default,name=guestbook': 2.12 });
    expect(await samples(m, 'rollout_reconcile_count')).toEqual({ 'namespace=default,name=guestbook': 2 });
    expect(await samples(m, 'rollout_reconcile_error')).toEqual({ 'namespace=default,name=guestbook': 1 });
    expect(await samples(m, 'analysis_run_reconcile_count')).toEqual({ 'namespace=default,name=run-1': 1 });
    expect((await samples(m, 'analysis_run_reconcile_bucket'))['le=0.01,namespace=default,name=run-1']).toBe(
      1,
    );
    expect(await samples(m, 'analysis_run_reconcile_error')).toEqual({ 'namespace=default,name=run-1': 2 });
    expect(await samples(m, 'rollout_events_total')).toEqual({
      'namespace=default,name=guestbook,type=Warning,reason=RolloutAborted': 2,
      'namespace=default,name=guestbook,type=Normal,reason=RolloutStepCompleted': 1,
    });
    const text = await m.metrics();
    expect(text).toContain('# TYPE rollout_reconcile histogram');
    expect(text).toContain('# TYPE rollout_reconcile_error counter');
  });

  it('counts API requests as Argo labels them', async () => {
    const m = new ControllerMetrics({ version: 'v', defaultMetrics: false });
    m.k8sRequest({
      kind: 'rollouts',
      namespace: 'default',
      name: 'guestbook',
      verb: 'Update',
      statusCode: 200,
    });
    m.k8sRequest({
      kind: 'rollouts',
      namespace: 'default',
      name: 'guestbook',
      verb: 'Update',
      statusCode: 409,
    });
    m.k8sRequest({
      kind: 'replicasets',
      namespace: 'default',
      name: 'guestbook-abc',
      verb: 'Create',
      statusCode: 201,
    });
    m.k8sRequest({ kind: 'rollouts', namespace: 'default', verb: 'List', statusCode: 200 });
    m.k8sRequest({ kind: 'x', namespace: 'y', name: 'z', verb: 'Unknown', statusCode: 0 });
    expect(await samples(m, 'controller_clientset_k8s_request_total')).toEqual({
      'kind=rollouts,namespace=default,name=guestbook,verb=Update,status_code=200': 1,
      'kind=rollouts,namespace=default,name=guestbook,verb=Update,status_code=409': 1,
      'kind=replicasets,namespace=default,name=N/A,verb=Create,status_code=201': 1,
      'kind=rollouts,namespace=default,name=N/A,verb=List,status_code=200': 1,
      'kind=Unknown,namespace=Unknown,name=Unknown,verb=Unknown,status_code=0': 1,
    });
  });

  it('instrumentClient counts each call of a client with its outcome', async () => {
    const lease: KubeJson = { metadata: { name: 'lock', namespace: 'ns' } };
    const fake = {
      get: async (_t: unknown, _ns: unknown, name: string) => (name === 'lock' ? lease : undefined),
      list: async () => ({ items: [], resourceVersion: '1' }),
      create: async () => lease,
      replace: async () => {
        throw new KubeApiError(409, 'Conflict', 'conflict');
      },
      patch: async () => {
        throw new Error('socket hang up');
      },
      delete: async () => {},
      watch: async () => ({ abort: () => {} }),
    } as unknown as KubeClient;
    const m = new ControllerMetrics({ version: 'v', defaultMetrics: false });
    const c = m.instrumentClient(fake);
    const L = RESOURCES.leases;
    expect(await c.get(L, 'ns', 'lock')).toBe(lease);
    expect(await c.get(L, 'ns', 'gone')).toBeUndefined();
    await c.list(L, 'ns');
    await c.create(L, lease);
    await expect(c.replace(L, lease)).rejects.toThrow('conflict');
    await expect(c.patch(L, 'ns', 'lock', {})).rejects.toThrow('socket hang up');
    await c.delete(L, 'ns', 'lock');
    await c.watch(
      L,
      'ns',
      {},
      () => {},
      () => {},
    );
    expect(await samples(m, 'controller_clientset_k8s_request_total')).toEqual({
      'kind=leases,namespace=ns,name=lock,verb=Get,status_code=200': 1,
      'kind=leases,namespace=ns,name=gone,verb=Get,status_code=404': 1,
      'kind=leases,namespace=ns,name=N/A,verb=List,status_code=200': 1,
      'kind=leases,namespace=ns,name=lock,verb=Create,status_code=201': 1,
      'kind=leases,namespace=ns,name=lock,verb=Update,status_code=409': 1,
      'kind=leases,namespace=ns,name=lock,verb=Patch,status_code=0': 1,
      'kind=leases,namespace=ns,name=lock,verb=Delete,status_code=200': 1,
      'kind=leases,namespace=ns,name=N/A,verb=Watch,status_code=200': 1,
    });
  });

  it('feeds the workqueue_* metrics from a queue’s hooks', async () => {
    let now = 0;
    const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
    const m = new ControllerMetrics({ version: 'v', defaultMetrics: false });
    const q = new WorkQueue<string>({ clock, hooks: m.workQueueHooks('rollouts') });
    m.workQueueHooks('analysis'); // a second queue gets its own series
    q.add('default/a');
    q.add('default/b');
    q.add('default/a');
    now = 2_000;
    await q.get();
    now = 2_050;
    q.done('default/a');
    q.addRateLimited('default/a');
    expect(await samples(m, 'workqueue_adds_total')).toEqual({ 'name=rollouts': 2 });
    expect(await samples(m, 'workqueue_depth')).toEqual({ 'name=rollouts': 1, 'name=analysis': 0 });
    expect(await samples(m, 'workqueue_retries_total')).toEqual({ 'name=rollouts': 1 });
    expect(await samples(m, 'workqueue_queue_duration_seconds_sum')).toEqual({ 'name=rollouts': 2 });
    expect(await samples(m, 'workqueue_work_duration_seconds_sum')).toEqual({ 'name=rollouts': 0.05 });
    const buckets = await samples(m, 'workqueue_work_duration_seconds_bucket');
    expect(Object.keys(buckets)).toEqual([
      'le=1e-8,name=rollouts',
      'le=1e-7,name=rollouts',
      'le=0.000001,name=rollouts',
      'le=0.00001,name=rollouts',
      'le=0.0001,name=rollouts',
      'le=0.001,name=rollouts',
      'le=0.01,name=rollouts',
      'le=0.1,name=rollouts',
      'le=1,name=rollouts',
      'le=10,name=rollouts',
      'le=+Inf,name=rollouts',
    ]);
    expect(buckets['le=0.01,name=rollouts']).toBe(0);
    expect(buckets['le=0.1,name=rollouts']).toBe(1);
  });
});
