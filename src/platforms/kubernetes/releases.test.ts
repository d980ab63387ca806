/**
 * KubeReleases on a real control plane (scripts/cluster: kube-apiserver with the upstream Argo and
 * Flagger CRDs, kube-controller-manager making the ReplicaSets' pods, kwok making them Ready). No
 * release controller runs: the test writes the Rollout, its ReplicaSets, AnalysisRun and Events as
 * Argo's controller writes them, and a Canary's status and Events as Flagger writes them (its two
 * Deployments are real: the Deployment controller makes their ReplicaSets), then checks the views,
 * each action's result on the server against the pure user actions, the conflict retry, the
 * UserAction events, the Canary's read-only rule, the errors, and the dashboard's JSON API over this
 * source.
 */

import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podTemplateHash } from '../../api/argo/pod-template-hash.js';
import type { Rollout } from '../../api/argo/rollout.js';
import { type Dashboard, startDashboard } from '../../dashboard/server.js';
import { ACTIONS, summarize } from '../../dashboard/source.js';
import {
  abortRollout,
  pauseRollout,
  promoteFullRollout,
  promoteRollout,
  retryRollout,
} from '../../engine/argo/user-actions.js';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import { pollUntil } from '../../testing/wait.js';
import type { ReleaseView } from '../../views/release.js';
import { UserError } from '../local/runtime/runtime.js';
import {
  isConflict,
  KubeApiClient,
  KubeApiError,
  type KubeClient,
  type KubeJson,
  loadKubeConfig,
  RESOURCES,
} from './client.js';
import { analysisRunFor, HASH_LABEL, replicaSetFor } from './objects.js';
import { CANARIES, canaryView, KubeReleases, MAX_ACTION_ATTEMPTS, mergePatch, podView } from './releases.js';

// ---------------------------------------------------------------------------------------------------
// Pure parts

describe('mergePatch', () => {
  it.each([
    ['equal objects', { a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }, undefined],
    ['a changed scalar', { a: 1, b: 2 }, { a: 1, b: 3 }, { b: 3 }],
    ['a removed key is null', { a: 1, b: 2 }, { a: 1 }, { b: null }],
    ['an undefined key is removed too', { a: 1, b: 2 }, { a: 1, b: undefined }, { b: null }],
    ['nested', { s: { p: true, q: [{ r: 1 }] } }, { s: { p: false, q: [{ r: 1 }] } }, { s: { p: false } }],
    ['lists are replaced whole', { l: [1, 2, 3] }, { l: [1, 3] }, { l: [1, 3] }],
    ['a new object', { a: 1 }, { a: 1, o: { x: 'y' } }, { o: { x: 'y' } }],
    ['object to scalar', { o: { x: 1 } }, { o: 'x' }, { o: 'x' }],
    ['key order does not matter', { o: { x: 1, y: 2 } }, { o: { y: 2, x: 1 } }, undefined],
  ])('%s', (_name, before, after, want) => {
    expect(mergePatch(before, after)).toEqual(want);
  });
});

describe('podView', () => {
  const pod = (status: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
    podView({ metadata: { name: 'p', ...meta }, status } as Parameters<typeof podView>[0]);
  it.each([
    [
      'running and ready',
      pod({
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ restartCount: 1, state: { running: { startedAt: '2026-11-22T10:00:00Z' } } }],
      }),
      { name: 'p', phase: 'Running', ready: true, restarts: 1, startedAt: '2026-11-22T10:00:00Z' },
    ],
    [
      'crash looping (kubectl shows the waiting reason)',
      pod({
        phase: 'Running',
        containerStatuses: [{ restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
      }),
      { name: 'p', phase: 'Waiting', reason: 'CrashLoopBackOff', ready: false, restarts: 4 },
    ],
    [
      'being created',
      pod({ phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }] }),
      { name: 'p', phase: 'Waiting', reason: 'ContainerCreating', ready: false, restarts: 0 },
    ],
    [
      'deleted',
      pod({ phase: 'Running' }, { deletionTimestamp: '2026-11-22T10:00:00Z' }),
      { name: 'p', phase: 'Terminating', ready: false, restarts: 0 },
    ],
    [
      'failed',
      pod({ phase: 'Failed', containerStatuses: [{ state: { terminated: { reason: 'OOMKilled' } } }] }),
      { name: 'p', phase: 'Failed', reason: 'OOMKilled', ready: false, restarts: 0 },
    ],
  ])('%s', (_name, got, want) => {
    expect(got).toEqual(want);
  });
});

describe('canaryView', () => {
  const canary = (kind: string) =>
    ({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'web', namespace: 'ns', uid: 'c1' },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind, name: 'web' },
        service: { port: 80 },
        analysis: { interval: '1m', threshold: 2 },
      },
      status: { phase: 'Succeeded', canaryWeight: 0, failedChecks: 0, lastAppliedSpec: 'x' },
    }) as Parameters<typeof canaryView>[0];
  const deployment = (name: string, uid: string, replicas: number) => ({
    metadata: { name, namespace: 'ns', uid },
    spec: { replicas },
  });
  const rs = (
    name: string,
    owner: string,
    revision: number,
    spec: Record<string, unknown>,
    replicas: number,
  ) => ({
    metadata: {
      name,
      namespace: 'ns',
      uid: `${name}-uid`,
      labels: { 'pod-template-hash': name.slice(name.lastIndexOf('-') + 1) },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: `${owner}-uid` }],
    },
    spec: { replicas, template: { spec } },
    status: { replicas, readyReplicas: replicas, availableReplicas: replicas },
  });
  const green = {
    containers: [{ name: 'web', image: 'web:green' }],
    volumes: [{ name: 'c', configMap: { name: 'cfg' } }],
  };
  const related = {
    deployments: [deployment('web', 'web-uid', 0), deployment('web-primary', 'web-primary-uid', 2)],
    replicaSets: [
      rs('web-aaa', 'web', 1, { containers: [{ name: 'web', image: 'web:blue' }] }, 0),
      rs('web-bbb', 'web', 2, green, 0),
      // Flagger's copy renames the tracked ConfigMap: only the images match the target's revision 2.
      rs(
        'web-primary-ccc',
        'web-primary',
        5,
        { ...green, volumes: [{ name: 'c', configMap: { name: 'cfg-primary' } }] },
        2,
      ),
    ],
    pods: [],
    events: [],
  } as unknown as Parameters<typeof canaryView>[1];

  it("the primary's revision is the target's with the same images; old templates scaled away are left out", () => {
    const v = canaryView(canary('Deployment'), related);
    expect(v.versions.map((x) => [x.name, x.revision, x.roles, x.status])).toEqual([
      ['web-bbb', 2, [], 'ScaledDown'],
      ['web-primary-ccc', 2, ['primary'], 'Healthy'],
    ]);
    expect(v).toMatchObject({
      phase: 'Healthy',
      revision: 2,
      images: [{ image: 'web:green', roles: ['primary'] }],
    });
    expect(v.replicas).toEqual({ desired: 2, current: 2, updated: 0, ready: 2, available: 2 });
  });

  it('a DaemonSet target has no ReplicaSets: the status alone', () => {
    const v = canaryView(canary('DaemonSet'), related);
    expect(v).toMatchObject({ dialect: 'flagger', phase: 'Healthy', versions: [], images: [], revision: 0 });
    expect(v.replicas.desired).toBe(1);
  });
});

describe('KubeReleases errors without a cluster', () => {
  /** A client whose calls answer from `answers`, or fail as the API server would. */
  const stub = (over: Partial<KubeClient>): KubeClient => {
    const no = () => Promise.reject(new Error('not expected'));
    return { get: no, list: no, create: no, replace: no, patch: no, delete: no, watch: no, ...over };
  };

  const notFound = (path: string) =>
    new KubeApiError(
      404,
      'NotFound',
      `GET ${path}: 404 NotFound the server could not find the requested resource`,
    );

  it('a cluster without the Rollout and the Canary CRD says so', async () => {
    const r = new KubeReleases({
      server: 'https://k8s.example:6443',
      client: stub({
        list: (type) => Promise.reject(notFound(`/apis/${type.group}/${type.version}/${type.plural}`)),
      }),
    });
    await expect(r.list('default')).rejects.toThrow(
      new UserError(
        'the cluster at https://k8s.example:6443 has neither Rollouts (argoproj.io/v1alpha1) nor Canaries (flagger.app/v1beta1): are the Argo Rollouts or Flagger CRDs installed?',
      ),
    );
  });

  it.each([
    ['Argo Rollouts only', 'canaries'],
    ['Flagger only', 'rollouts'],
  ])('a cluster with %s lists what it has (the other kind is no releases)', async (_name, missing) => {
    const asked: string[] = [];
    const r = new KubeReleases({
      client: stub({
        list: ((type: { plural: string; group: string; version: string }) => {
          asked.push(type.plural);
          return type.plural === missing
            ? Promise.reject(notFound(`/apis/${type.group}/${type.version}/${type.plural}`))
            : Promise.resolve({ items: [] });
        }) as KubeClient['list'],
      }),
    });
    expect(await r.list()).toEqual([]);
    // Nothing else is read when there is no release at all.
    expect(asked.sort()).toEqual(['canaries', 'rollouts']);
  });

  it('any other failure to list Canaries is an error, not an empty list', async () => {
    const r = new KubeReleases({
      client: stub({
        list: ((type: { plural: string }) =>
          type.plural === 'canaries'
            ? Promise.reject(new KubeApiError(403, 'Forbidden', 'canaries.flagger.app is forbidden'))
            : Promise.resolve({ items: [] })) as KubeClient['list'],
      }),
    });
    await expect(r.list()).rejects.toThrow(new UserError('canaries.flagger.app is forbidden'));
  });

  it('an action whose UserAction event is refused is still done, with a warning', async () => {
    const warnings: string[] = [];
    const patches: unknown[] = [];
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '7' },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
      status: { phase: 'Paused' },
    };
    const r = new KubeReleases({
      warn: (m) => warnings.push(m),
      client: stub({
        get: (async () => rollout) as KubeClient['get'],
        patch: (async (_t: unknown, _ns: unknown, _n: unknown, p: unknown) => {
          patches.push(p);
          return { ...rollout, metadata: { ...rollout.metadata, resourceVersion: '8' } };
        }) as KubeClient['patch'],
        create: () =>
          Promise.reject(new KubeApiError(403, 'Forbidden', 'events is forbidden: User "x" cannot create')),
      }),
    });
    expect(await r.act({ namespace: 'default', name: 'web', verb: 'abort', args: {}, actor: 'cli:x' })).toBe(
      "rollout 'web' aborted",
    );
    expect(patches).toEqual([{ status: { abort: true }, metadata: { resourceVersion: '7' } }]);
    expect(warnings).toEqual([
      'the action was carried out, but its UserAction event was not recorded: events is forbidden: User "x" cannot create',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// On a real API server

let cluster: KubeCluster | undefined;
let client: KubeApiClient;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};

type RolloutJson = Rollout & KubeJson;

const until = <T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> =>
  pollUntil(what, check, ms);

const template = (image: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image }] },
});

const STEPS = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '1h' } }];

function rolloutObject(name: string, namespace = 'default'): KubeJson {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: { ...template('web:blue'), metadata: { labels: { app: name } } },
      strategy: {
        canary: {
          stableService: `${name}-stable`,
          canaryService: `${name}-canary`,
          trafficRouting: { nginx: { stableIngress: name } },
          steps: STEPS,
        },
      },
    },
  };
}

const getRollout = async (name: string, ns = 'default') => {
  const r = await client.get<RolloutJson>(RESOURCES.rollouts, ns, name);
  if (!r) throw new Error(`no rollout ${ns}/${name}`);
  return r;
};

/**
 * A Rollout in mid-canary as the controller leaves it: revision 1 (blue) stable with 2 replicas,
 * revision 2 (green) the canary with 1, paused at step 1, the router at 20 %, a running step
 * analysis and a few events. Returns the hashes.
 */
async function midCanary(name: string, ns = 'default'): Promise<{ stable: string; canary: string }> {
  await client.create(RESOURCES.rollouts, rolloutObject(name, ns));
  const v1 = await getRollout(name, ns);
  const stable = podTemplateHash(v1.spec.template);
  await client.create(RESOURCES.replicaSets, replicaSetFor(v1, stable, 1, 2) as KubeJson);
  const v2 = await client.patch<RolloutJson>(RESOURCES.rollouts, ns, name, {
    spec: { template: { spec: { containers: [{ name: 'web', image: 'web:green' }] } } },
  });
  const canary = podTemplateHash(v2.spec.template);
  await client.create(RESOURCES.replicaSets, replicaSetFor(v2, canary, 2, 1) as KubeJson);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
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
        pauseConditions: [{ reason: 'CanaryPauseStep', startTime: now }],
        controllerPause: true,
        replicas: 3,
        updatedReplicas: 1,
        readyReplicas: 3,
        availableReplicas: 3,
        canary: {
          weights: {
            canary: { weight: 20, serviceName: `${name}-canary`, podTemplateHash: canary },
            stable: { weight: 80, serviceName: `${name}-stable`, podTemplateHash: stable },
          },
        },
      },
    },
    { subresource: 'status' },
  );
  const run = analysisRunFor(
    v2,
    {
      metrics: [
        {
          name: 'success-rate',
          interval: '10s',
          successCondition: 'result[0] >= 0.95',
          provider: { prometheus: { address: 'http://prometheus:9090', query: 'up' } },
        },
      ],
    },
    { name: `${name}-${canary}-2-1`, kind: 'step', hash: canary, revision: 2, stepIndex: 1 },
  );
  await client.create(RESOURCES.analysisRuns, {
    ...(run as KubeJson),
    status: {
      phase: 'Running',
      startedAt: now,
      metricResults: [
        {
          name: 'success-rate',
          phase: 'Running',
          count: 2,
          successful: 2,
          measurements: [
            { phase: 'Successful', value: '[0.99]', startedAt: now, finishedAt: now },
            { phase: 'Successful', value: '[0.97]', startedAt: now, finishedAt: now },
          ],
        },
      ],
    },
  });
  for (const [i, [reason, message]] of [
    ['RolloutUpdated', 'Rollout updated to revision 2'],
    ['RolloutPaused', 'Rollout is paused (CanaryPauseStep)'],
  ].entries())
    await client.create(RESOURCES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.test${i}`, namespace: ns },
      involvedObject: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        name,
        namespace: ns,
        uid: v2.metadata.uid,
      },
      reason,
      message,
      type: 'Normal',
      source: { component: 'rollouts-controller' },
      firstTimestamp: new Date(Date.now() - (2 - i) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: new Date(Date.now() - (2 - i) * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      count: 1,
    });
  return { stable, canary };
}

/** UserAction events about a Rollout, as the API server has them. */
async function userActions(name: string, ns = 'default') {
  const r = await getRollout(name, ns);
  const events = await client.list<KubeJson & { reason?: string; message?: string; type?: string }>(
    RESOURCES.events,
    ns,
    { fieldSelector: `involvedObject.uid=${r.metadata.uid}` },
  );
  return events.items.filter((e) => e.reason === 'UserAction');
}

/** A Deployment as `kubectl apply` would create it; the Deployment controller makes its ReplicaSets. */
function deploymentObject(name: string, image: string, replicas: number): KubeJson {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'podinfo', image }] } },
    },
  };
}

const CANARY_SPEC = 'd8f9c7b6';
const rfc3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The Canary shop/podinfo, its status written as Flagger writes it. */
async function canaryStatus(status: Record<string, unknown>): Promise<void> {
  await client.patch(CANARIES, 'shop', 'podinfo', { status }, { subresource: 'status' });
}

/**
 * A Flagger Canary in mid-run as Flagger leaves it: `podinfo-primary` (2 replicas) runs blue, the
 * target `podinfo` (scaled up to 1 for the run) green, the canary at 20 %, one failed check, and the
 * Events Flagger records. Returns when the status was written.
 */
async function flaggerMidRun(): Promise<string> {
  await client.create(RESOURCES.deployments, deploymentObject('podinfo', 'podinfo:blue', 1));
  await client.create(RESOURCES.deployments, deploymentObject('podinfo-primary', 'podinfo:blue', 2));
  // A new template for the target (revision 2): what starts a Flagger run.
  await client.patch(RESOURCES.deployments, 'shop', 'podinfo', {
    spec: { template: { spec: { containers: [{ name: 'podinfo', image: 'podinfo:green' }] } } },
  });
  const created = await client.create<KubeJson>(CANARIES, {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'shop' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 9898 },
      analysis: {
        interval: '1m',
        threshold: 5,
        stepWeight: 10,
        maxWeight: 50,
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 }, interval: '1m' }],
      },
    },
  });
  const at = rfc3339();
  await canaryStatus({
    phase: 'Progressing',
    canaryWeight: 20,
    iterations: 0,
    failedChecks: 1,
    lastAppliedSpec: CANARY_SPEC,
    lastPromotedSpec: '6c5b4a39',
    lastTransitionTime: at,
    conditions: [
      {
        type: 'Promoted',
        status: 'Unknown',
        reason: 'Progressing',
        message: 'New revision detected, progressing canary analysis.',
        lastUpdateTime: at,
        lastTransitionTime: at,
      },
    ],
  });
  for (const [i, [type, message]] of [
    ['Normal', 'New revision detected! Scaling up podinfo.shop'],
    ['Normal', 'Advance podinfo.shop canary weight 10'],
    ['Warning', 'Halt advancement podinfo.shop request-success-rate 95.00 < 99'],
    ['Normal', 'Advance podinfo.shop canary weight 20'],
  ].entries())
    await client.create(RESOURCES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `podinfo.flagger${i}`, namespace: 'shop' },
      involvedObject: {
        apiVersion: 'flagger.app/v1beta1',
        kind: 'Canary',
        name: 'podinfo',
        namespace: 'shop',
        uid: created.metadata.uid,
      },
      reason: 'Synced',
      message,
      type,
      source: { component: 'flagger' },
      firstTimestamp: rfc3339(Date.now() - (4 - i) * 1000),
      lastTimestamp: rfc3339(Date.now() - (4 - i) * 1000),
      count: 1,
    });
  return at;
}

const NOW = new Date('2026-11-22T10:11:12.345Z');

describe.skipIf(!hasShared)('KubeReleases on a real API server', () => {
  let releases: KubeReleases;
  let hashes: { stable: string; canary: string };
  let canaryStartedAt: string;

  beforeAll(async () => {
    await ensureBinaries();
    cluster = await startKubeCluster({ nodes: 1 });
    await k().applyCrds([
      join(sharedDir, 'crds', 'argo-rollouts-crds.yaml'),
      join(sharedDir, 'crds', 'flagger-crds.yaml'),
    ]);
    client = new KubeApiClient(loadKubeConfig({ kubeconfig: k().kubeconfigPath }));
    releases = new KubeReleases({ client, server: k().server, now: () => NOW });
    await client.create(RESOURCES.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
    });
    hashes = await midCanary('web');
    await midCanary('api', 'shop');
    canaryStartedAt = await flaggerMidRun();
    // An event about something else, which no view may show.
    await client.create(RESOURCES.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'other.1', namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'other', namespace: 'default', uid: 'x' },
      reason: 'Other',
      message: 'not about the rollout',
      type: 'Warning',
      source: { component: 'kubelet' },
    });
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it('get: the rollout mid-canary, with versions, Ready pods, the analysis run and its events', async () => {
    const v = await until('3 ready pods', async () => {
      const x = await releases.get('default', 'web');
      return x.versions.flatMap((y) => y.pods).filter((p) => p.ready).length === 3 && x;
    });
    expect(v).toMatchObject({
      dialect: 'argo',
      kind: 'Rollout',
      namespace: 'default',
      name: 'web',
      phase: 'Paused',
      message: 'CanaryPauseStep',
      pauseReasons: ['CanaryPauseStep'],
      strategy: 'Canary',
      step: { index: 1, count: 4 },
      steps: [
        { kind: 'setWeight', label: 'weight 20 %' },
        { kind: 'pause', label: 'pause until promoted' },
        { kind: 'setWeight', label: 'weight 50 %' },
        { kind: 'pause', label: 'pause 1h' },
      ],
      setWeight: 20,
      actualWeight: 20,
      revision: 2,
      replicas: { desired: 3, current: 3, updated: 1, ready: 3, available: 3 },
      containers: [{ name: 'web', image: 'web:green' }],
      images: [
        { image: 'web:green', roles: ['canary'] },
        { image: 'web:blue', roles: ['stable'] },
      ],
    });
    expect(v.versions.map((x) => [x.name, x.revision, x.roles, x.images, x.desired, x.status])).toEqual([
      [`web-${hashes.canary}`, 2, ['canary'], ['web:green'], 1, 'Healthy'],
      [`web-${hashes.stable}`, 1, ['stable'], ['web:blue'], 2, 'Healthy'],
    ]);
    for (const x of v.versions) {
      expect(x.pods).toHaveLength(x.desired);
      for (const p of x.pods) {
        expect(p.name.startsWith(`web-${x.hash}-`)).toBe(true);
        expect(p).toMatchObject({ phase: 'Running', ready: true, restarts: 0 });
      }
    }
    expect(v.analysisRuns).toEqual([
      {
        name: `web-${hashes.canary}-2-1`,
        revision: 2,
        kind: 'step',
        phase: 'Running',
        startedAt: expect.any(String),
        metrics: [
          {
            name: 'success-rate',
            phase: 'Running',
            condition: 'result[0] >= 0.95',
            successful: 2,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            measurements: [
              expect.objectContaining({ phase: 'Successful', value: '[0.99]' }),
              expect.objectContaining({ phase: 'Successful', value: '[0.97]' }),
            ],
          },
        ],
      },
    ]);
    expect(v.events.map((e) => [e.type, e.reason, e.message])).toEqual([
      ['Normal', 'RolloutUpdated', 'Rollout updated to revision 2'],
      ['Normal', 'RolloutPaused', 'Rollout is paused (CanaryPauseStep)'],
    ]);
  }, 90_000);

  it('list: one namespace, or every one, the same views as get', async () => {
    const web = await releases.get('default', 'web');
    const inDefault = await releases.list('default');
    expect(inDefault.map((x) => `${x.namespace}/${x.name}`)).toEqual(['default/web']);
    expect(inDefault[0]).toEqual(web);
    const all = await releases.list();
    expect(all.map((x) => `${x.namespace}/${x.name}`)).toEqual(['default/web', 'shop/api', 'shop/podinfo']);
    expect(all.find((x) => x.name === 'api')).toEqual(await releases.get('shop', 'api'));
    // The Canary from the lists of every kind is the Canary read on its own, once its pods have
    // settled (kwok may still be making them Ready between the two reads).
    await until('the listed Canary to equal the one read on its own', async () =>
      isDeepStrictEqual(
        (await releases.list('shop')).find((x) => x.name === 'podinfo'),
        await releases.get('shop', 'podinfo'),
      ),
    );
    // A source scoped to a namespace lists only it when given none.
    const scoped = new KubeReleases({ client, namespace: 'shop' });
    expect((await scoped.list()).map((x) => `${x.dialect} ${x.name}`)).toEqual([
      'argo api',
      'flagger podinfo',
    ]);
  });

  it('get: a Flagger Canary mid-run, with both workloads, their Ready pods, the run and its events', async () => {
    const v = await until('the Canary with 3 ready pods', async () => {
      const x = await releases.get('shop', 'podinfo');
      return x.versions.length === 2 && x.replicas.ready === 3 && x;
    });
    expect(v).toMatchObject({
      dialect: 'flagger',
      kind: 'Canary',
      namespace: 'shop',
      name: 'podinfo',
      phase: 'Progressing',
      message: 'New revision detected, progressing canary analysis.',
      strategy: 'Flagger',
      setWeight: 20,
      actualWeight: 20,
      revision: 2,
      replicas: { desired: 2, current: 3, updated: 1, ready: 3, available: 3 },
      images: [
        { image: 'podinfo:green', roles: ['canary'] },
        { image: 'podinfo:blue', roles: ['primary'] },
      ],
      createdAt: expect.any(String),
    });
    expect(v.step).toBeUndefined();
    expect(v.pauseReasons).toBeUndefined();
    // The target's first ReplicaSet, scaled away by the Deployment controller, is history: not shown.
    expect(v.versions.map((x) => [x.revision, x.roles, x.images, x.desired, x.ready, x.status])).toEqual([
      [2, ['canary'], ['podinfo:green'], 1, 1, 'Healthy'],
      // The primary runs the target's revision 1 (the same pod spec).
      [1, ['primary'], ['podinfo:blue'], 2, 2, 'Healthy'],
    ]);
    expect(v.versions[0]?.name).toMatch(/^podinfo-[a-z0-9]+$/);
    expect(v.versions[1]?.name).toMatch(/^podinfo-primary-[a-z0-9]+$/);
    for (const x of v.versions) {
      expect(x.pods).toHaveLength(x.desired);
      for (const p of x.pods) {
        expect(p.name.startsWith(`${x.name}-`)).toBe(true);
        expect(p).toMatchObject({ phase: 'Running', ready: true });
      }
    }
    expect(v.analysisRuns).toEqual([
      {
        name: `podinfo-${CANARY_SPEC}`,
        revision: 2,
        kind: 'canary analysis',
        phase: 'Running',
        message: `1 failed check (rolls back at 5); status last changed ${canaryStartedAt}; Flagger keeps no measurements in the Canary`,
        metrics: [
          {
            name: 'request-success-rate',
            phase: 'Unknown',
            condition: 'min 99',
            successful: 0,
            failed: 0,
            inconclusive: 0,
            errors: 0,
            measurements: [],
          },
        ],
      },
    ]);
    expect(v.events.map((e) => [e.type, e.message])).toEqual([
      ['Normal', 'New revision detected! Scaling up podinfo.shop'],
      ['Normal', 'Advance podinfo.shop canary weight 10'],
      ['Warning', 'Halt advancement podinfo.shop request-success-rate 95.00 < 99'],
      ['Normal', 'Advance podinfo.shop canary weight 20'],
    ]);
  }, 90_000);

  it('a Canary is read-only on a cluster: every action says why and writes nothing', async () => {
    const before = await client.get<KubeJson>(CANARIES, 'shop', 'podinfo');
    for (const verb of ACTIONS) {
      const args = verb === 'set-image' ? { container: 'podinfo', image: 'podinfo:red' } : {};
      const e = await releases
        .act({ namespace: 'shop', name: 'podinfo', verb, args, actor: 'cli:tester' })
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toBe(
        `${verb === 'set-image' ? 'set image podinfo=podinfo:red' : verb}: shop/podinfo is a Flagger Canary, read-only on a Kubernetes cluster (Vireo runs no Flagger controller there yet); Flagger moves a Canary by its analysis and its webhook gates (confirm-rollout, confirm-promotion, rollback)`,
      );
    }
    const after = await client.get<KubeJson>(CANARIES, 'shop', 'podinfo');
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    const events = await client.list<KubeJson & { reason?: string }>(RESOURCES.events, 'shop', {
      fieldSelector: `involvedObject.uid=${before?.metadata.uid}`,
    });
    expect(events.items.filter((x) => x.reason === 'UserAction')).toEqual([]);
    // A name that is neither: the message every platform gives.
    await expect(
      releases.act({ namespace: 'shop', name: 'nope', verb: 'promote', args: {}, actor: 'x' }),
    ).rejects.toThrow(new UserError('rollout shop/nope not found'));
  });

  it('a Canary promoted, then failed: phases, roles and the run follow the status', async () => {
    // Flagger's promotion: the primary gets the green template, the target is scaled to zero.
    await client.patch(RESOURCES.deployments, 'shop', 'podinfo-primary', {
      spec: { template: { spec: { containers: [{ name: 'podinfo', image: 'podinfo:green' }] } } },
    });
    await client.patch(RESOURCES.deployments, 'shop', 'podinfo', { spec: { replicas: 0 } });
    const at = rfc3339();
    await canaryStatus({
      phase: 'Succeeded',
      canaryWeight: 0,
      failedChecks: 0,
      lastPromotedSpec: CANARY_SPEC,
      lastTransitionTime: at,
      conditions: [
        {
          type: 'Promoted',
          status: 'True',
          reason: 'Succeeded',
          message: 'Canary analysis completed successfully, promotion finished.',
          lastUpdateTime: at,
          lastTransitionTime: at,
        },
      ],
    });
    const v = await until('the promoted Canary at rest', async () => {
      const x = await releases.get('shop', 'podinfo');
      return x.versions.length === 2 && x.replicas.current === 2 && x.replicas.ready === 2 && x;
    });
    expect(v).toMatchObject({
      phase: 'Healthy',
      message: 'Canary analysis completed successfully, promotion finished.',
      setWeight: 0,
      actualWeight: 0,
      revision: 2,
      images: [{ image: 'podinfo:green', roles: ['primary'] }],
      replicas: { desired: 2, current: 2, updated: 0, ready: 2, available: 2 },
    });
    // The primary's new ReplicaSet runs revision 2; the target's current one is scaled down, no role.
    expect(
      v.versions.map((x) => [x.name.startsWith('podinfo-primary-'), x.revision, x.roles, x.status]),
    ).toEqual([
      [false, 2, [], 'ScaledDown'],
      [true, 2, ['primary'], 'Healthy'],
    ]);
    expect(v.analysisRuns[0]).toMatchObject({
      phase: 'Successful',
      message: `0 failed checks (rolls back at 5); status last changed ${at}; Flagger keeps no measurements in the Canary`,
    });

    await canaryStatus({ phase: 'Failed', failedChecks: 5 });
    const failed = await releases.get('shop', 'podinfo');
    expect(failed.phase).toBe('Degraded');
    expect(failed.analysisRuns[0]).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(/^5 failed checks /),
    });
    // The summary the list streams.
    expect(summarize(failed)).toMatchObject({
      key: 'shop/podinfo',
      dialect: 'flagger',
      kind: 'Canary',
      phase: 'Degraded',
      strategy: 'Flagger',
      stableImage: 'podinfo:green',
      revision: 2,
    });
  }, 90_000);

  it('each action writes what the pure user action says, and records who acted', async () => {
    const act = (verb: Parameters<KubeReleases['act']>[0]['verb'], args = {}) =>
      releases.act({ namespace: 'default', name: 'web', verb, args, actor: 'cli:tester' });
    const stripped = (r: RolloutJson) => ({ spec: r.spec, status: r.status });

    // promote while paused by a pause step: the pause conditions go, the step stays (the controller moves on).
    let before = await getRollout('web');
    expect(await act('promote')).toBe("rollout 'web' promoted");
    let after = await getRollout('web');
    expect(stripped(after)).toEqual(stripped(promoteRollout(before) as RolloutJson));
    expect(after.status?.pauseConditions).toBeUndefined();
    expect(after.status?.currentStepIndex).toBe(1);
    expect(after.status?.controllerPause).toBe(true);

    // promote with nothing paused: the step index moves on.
    before = after;
    await act('promote');
    after = await getRollout('web');
    expect(stripped(after)).toEqual(stripped(promoteRollout(before) as RolloutJson));
    expect(after.status?.currentStepIndex).toBe(2);

    before = after;
    expect(await act('abort')).toBe("rollout 'web' aborted");
    after = await getRollout('web');
    expect(after.status?.abort).toBe(true);
    expect(stripped(after)).toEqual(stripped(abortRollout(before) as RolloutJson));

    before = after;
    expect(await act('retry')).toBe("rollout 'web' retried");
    after = await getRollout('web');
    expect(after.status?.abort).toBe(false);
    expect(stripped(after)).toEqual(stripped(retryRollout(before) as RolloutJson));

    before = after;
    expect(await act('pause')).toBe("rollout 'web' paused");
    after = await getRollout('web');
    expect(after.spec.paused).toBe(true);
    expect(stripped(after)).toEqual(stripped(pauseRollout(before) as RolloutJson));
    expect((await releases.get('default', 'web')).pauseReasons).toEqual(['Paused']);

    expect(await act('resume')).toBe("rollout 'web' resumed");
    expect((await getRollout('web')).spec.paused).toBe(false);

    await act('pause');
    before = await getRollout('web');
    expect(await act('promote', { full: true })).toBe("rollout 'web' fully promoted");
    after = await getRollout('web');
    expect(after.spec.paused).toBe(false);
    expect(after.status?.promoteFull).toBe(true);
    expect(stripped(after)).toEqual(stripped(promoteFullRollout(before) as RolloutJson));

    expect(await act('restart')).toBe("rollout 'web' restarts");
    expect((await getRollout('web')).spec.restartAt).toBe('2026-11-22T10:11:12Z');

    expect(await act('set-image', { container: 'web', image: 'web:yellow' })).toBe(
      'rollout "web" image updated',
    );
    expect((await getRollout('web')).spec.template?.spec?.containers).toEqual([
      { name: 'web', image: 'web:yellow' },
    ]);

    // undo: the revision before the latest ReplicaSet's (1, blue), or the one named.
    expect(await act('undo')).toBe("rollout 'web' undo");
    after = await getRollout('web');
    // The ReplicaSet's template as the API server keeps it (defaults filled in), without the hash label.
    expect(after.spec.template?.metadata?.labels).toEqual({ app: 'web' });
    expect(after.spec.template?.spec?.containers?.map((c) => c.image)).toEqual(['web:blue']);
    const rs1 = await client.get<KubeJson & { spec: { template: { spec: unknown } } }>(
      RESOURCES.replicaSets,
      'default',
      `web-${hashes.stable}`,
    );
    expect(after.spec.template?.spec).toEqual(rs1?.spec.template.spec);
    expect(rs1?.metadata.labels?.[HASH_LABEL]).toBe(hashes.stable);
    await act('undo', { toRevision: 2 });
    expect((await getRollout('web')).spec.template?.spec?.containers?.map((c) => c.image)).toEqual([
      'web:green',
    ]);
    expect(await act('undo', { toRevision: 2 })).toBe(
      'skipped rollback (current template already matches revision 2)',
    );

    // Every action is a UserAction event on the Rollout, as the local runtime words it.
    const events = await userActions('web');
    expect(events.map((e) => e.message)).toEqual([
      'promote by cli:tester',
      'promote by cli:tester',
      'abort by cli:tester',
      'retry by cli:tester',
      'pause by cli:tester',
      'resume by cli:tester',
      'pause by cli:tester',
      'promote --full by cli:tester',
      'restart by cli:tester',
      'set image web=web:yellow by cli:tester',
      'undo by cli:tester',
      'undo --to-revision 2 by cli:tester',
      'undo --to-revision 2 by cli:tester',
    ]);
    expect(events[0]).toMatchObject({
      type: 'Normal',
      source: { component: 'vireo-cli' },
      involvedObject: { kind: 'Rollout', name: 'web', namespace: 'default' },
    });
    // ... and the views show them in the timeline.
    const v = await releases.get('default', 'web');
    expect(v.events.filter((e) => e.reason === 'UserAction').map((e) => e.message)).toContain(
      'abort by cli:tester',
    );
  }, 60_000);

  it('a concurrent change between read and write is a conflict: the action reads again, both survive', async () => {
    await midCanary('race');
    const racing = new RacingClient(client, 1);
    const r = new KubeReleases({ client: racing, server: k().server });
    expect(
      await r.act({ namespace: 'default', name: 'race', verb: 'promote', args: {}, actor: 'cli:tester' }),
    ).toBe("rollout 'race' promoted");
    expect(racing.conflicts).toBe(1);
    const after = await getRollout('race');
    // The other writer's change ...
    expect(after.metadata.annotations?.['example.com/touched']).toBe(String(RacingClient.writes));
    // ... and the action's: pause conditions cleared, the step unchanged.
    expect(after.status?.pauseConditions).toBeUndefined();
    expect(after.status?.currentStepIndex).toBe(1);
    expect((await userActions('race')).map((e) => e.message)).toEqual(['promote by cli:tester']);
  });

  it('gives up after repeated conflicts, with a message', async () => {
    const racing = new RacingClient(client, Number.POSITIVE_INFINITY);
    const r = new KubeReleases({ client: racing, server: k().server });
    const e = await r
      .act({ namespace: 'default', name: 'race', verb: 'abort', args: {}, actor: 'cli:tester' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toBe(
      `rollout default/race kept changing while abort was written (${MAX_ACTION_ATTEMPTS} attempts); try again`,
    );
    expect(racing.conflicts).toBe(MAX_ACTION_ATTEMPTS);
    expect((await getRollout('race')).status?.abort).toBeUndefined();
  });

  it('errors name the rollout, the refused change or the server', async () => {
    const err = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    let e = await err(releases.get('default', 'nope'));
    expect(e).toBeInstanceOf(UserError);
    expect(e?.message).toBe('rollout default/nope not found');
    e = await err(releases.act({ namespace: 'shop', name: 'nope', verb: 'abort', args: {}, actor: 'x' }));
    expect(e?.message).toBe('rollout shop/nope not found');
    e = await err(
      releases.act({
        namespace: 'shop',
        name: 'api',
        verb: 'set-image',
        args: { container: 'nope', image: 'x' },
        actor: 'x',
      }),
    );
    expect(e).toBeInstanceOf(UserError);
    expect(e?.message).toBe('unable to find container named "nope"');
    e = await err(
      releases.act({ namespace: 'shop', name: 'api', verb: 'undo', args: { toRevision: 7 }, actor: 'x' }),
    );
    expect(e?.message).toBe('unable to find specified revision 7 in history');

    // A server nobody listens on: the message names it.
    const kc = loadKubeConfig({ kubeconfig: k().kubeconfigPath });
    const dead = 'https://127.0.0.1:9';
    kc.clusters = kc.clusters.map((c) => ({ ...c, server: dead }));
    const down = new KubeReleases({ client: new KubeApiClient(kc), server: dead });
    e = await err(down.list());
    expect(e).toBeInstanceOf(UserError);
    expect(e?.message).toMatch(
      /^cannot reach the cluster's API server at https:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/,
    );
  });

  it('the dashboard serves this source: list, one release, and an action by a session', async () => {
    const source = new KubeReleases({ client, server: k().server, component: 'vireo-dashboard' });
    const d: Dashboard = await startDashboard({
      source,
      listen: { host: '127.0.0.1', port: 0 },
      traffic: false,
      pollMs: 200,
    });
    try {
      const base = `http://127.0.0.1:${d.port}`;
      const list = (await (await fetch(`${base}/api/v1/releases?namespace=shop`)).json()) as unknown[];
      expect(list).toEqual([
        summarize(await source.get('shop', 'api')),
        summarize(await source.get('shop', 'podinfo')),
      ]);
      expect(list[0]).toMatchObject({ key: 'shop/api', phase: 'Paused', step: { index: 1, count: 4 } });
      expect(list[1]).toMatchObject({ key: 'shop/podinfo', dialect: 'flagger', kind: 'Canary' });
      const canary = (await (await fetch(`${base}/api/v1/releases/shop/podinfo`)).json()) as ReleaseView;
      expect(canary).toMatchObject({ dialect: 'flagger', name: 'podinfo' });
      const one = (await (await fetch(`${base}/api/v1/releases/shop/api`)).json()) as ReleaseView;
      expect(one.versions).toHaveLength(2);
      expect(one.analysisRuns[0]?.kind).toBe('step');
      const missing = await fetch(`${base}/api/v1/releases/shop/nope`);
      expect(missing.status).toBe(502);
      expect(await missing.json()).toEqual({ error: 'rollout shop/nope not found' });

      const session = await fetch(`${base}/api/v1/session`);
      const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const { csrfToken } = (await session.json()) as { csrfToken: string };
      const res = await fetch(`${base}/api/v1/releases/shop/api/abort`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'application/json',
          'x-vireo-csrf': csrfToken,
          origin: base,
          'sec-fetch-site': 'same-origin',
        },
        body: '{}',
      });
      expect(await res.json()).toEqual({ message: "rollout 'api' aborted" });
      // A Canary's action is refused with the reason, as a conflict the page shows.
      const refused = await fetch(`${base}/api/v1/releases/shop/podinfo/promote`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'application/json',
          'x-vireo-csrf': csrfToken,
          origin: base,
          'sec-fetch-site': 'same-origin',
        },
        body: '{}',
      });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /^promote: shop\/podinfo is a Flagger Canary, read-only on a Kubernetes cluster/,
      );
      expect((await getRollout('api', 'shop')).status?.abort).toBe(true);
      const events = await userActions('api', 'shop');
      expect(events).toHaveLength(1);
      expect(events[0]?.message).toMatch(/^abort by dashboard session [0-9a-f]{8} from 127\.0\.0\.1$/);
      expect(events[0]).toMatchObject({ source: { component: 'vireo-dashboard' } });
    } finally {
      await d.close();
    }
  });
});

/**
 * A client that, before each of the first `times` Rollout patches, changes the Rollout itself (an
 * annotation), as another writer would between the action's read and its write.
 */
class RacingClient implements KubeClient {
  static writes = 0;
  conflicts = 0;
  private raced = 0;

  constructor(
    private readonly inner: KubeClient,
    private readonly times: number,
  ) {}

  get: KubeClient['get'] = (...a) => this.inner.get(...a);
  list: KubeClient['list'] = (...a) => this.inner.list(...a);
  create: KubeClient['create'] = (...a) => this.inner.create(...a);
  replace: KubeClient['replace'] = (...a) => this.inner.replace(...a);
  delete: KubeClient['delete'] = (...a) => this.inner.delete(...a);
  watch: KubeClient['watch'] = (...a) => this.inner.watch(...a);

  patch: KubeClient['patch'] = async (type, ns, name, patch, opts) => {
    if (type === RESOURCES.rollouts && this.raced < this.times) {
      this.raced++;
      // A new value each time: a patch that changes nothing leaves the resourceVersion as it is.
      RacingClient.writes++;
      await this.inner.patch(type, ns, name, {
        metadata: { annotations: { 'example.com/touched': String(RacingClient.writes) } },
      });
    }
    try {
      return await this.inner.patch(type, ns, name, patch, opts);
    } catch (e) {
      if (isConflict(e)) this.conflicts++;
      throw e;
    }
  };
}
