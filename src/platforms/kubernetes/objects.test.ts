import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import {
  analysisRunFor,
  HASH_LABEL,
  MANAGED_BY_ANNOTATION,
  nextRevision,
  observeReplicaSet,
  replicaSetFor,
  serviceSelectorPatch,
} from './objects.js';

const rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: {
    name: 'rollouts-demo',
    namespace: 'demo',
    uid: 'u-1',
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': '{...}',
      'rollout.argoproj.io/revision': '3',
      'team.example/owner': 'web',
    },
  },
  spec: {
    replicas: 5,
    minReadySeconds: 10,
    selector: { matchLabels: { app: 'rollouts-demo' } },
    template: {
      metadata: { labels: { app: 'rollouts-demo' } },
      spec: { containers: [{ name: 'rollouts-demo', image: 'argoproj/rollouts-demo:blue' }] },
    },
    strategy: { canary: { steps: [{ setWeight: 20 }] } },
  },
} as unknown as Rollout;

describe('ReplicaSet as Argo makes it', () => {
  const rs = replicaSetFor(rollout, '6cf78c66c5', 4, 2);

  it('is named <rollout>-<hash>, labelled and selected by the hash, owned by the Rollout', () => {
    expect(rs.metadata.name).toBe('rollouts-demo-6cf78c66c5');
    expect(rs.metadata.namespace).toBe('demo');
    expect(rs.metadata.labels).toEqual({ app: 'rollouts-demo', [HASH_LABEL]: '6cf78c66c5' });
    expect(rs.spec).toMatchObject({
      replicas: 2,
      minReadySeconds: 10,
      selector: { matchLabels: { app: 'rollouts-demo', [HASH_LABEL]: '6cf78c66c5' } },
      template: { metadata: { labels: { app: 'rollouts-demo', [HASH_LABEL]: '6cf78c66c5' } } },
    });
    expect(rs.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Rollout',
        name: 'rollouts-demo',
        uid: 'u-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("carries revision and desired replicas, and the Rollout's annotations except the ones Argo skips", () => {
    expect(rs.metadata.annotations).toEqual({
      'team.example/owner': 'web',
      'rollout.argoproj.io/revision': '4',
      'rollout.argoproj.io/desired-replicas': '5',
    });
  });

  it('leaves the Rollout untouched', () => {
    expect((rollout.spec.template as { metadata: { labels: object } }).metadata.labels).toEqual({
      app: 'rollouts-demo',
    });
  });

  it('refuses a Rollout without a uid (an owner reference needs it)', () => {
    const noUid = { ...rollout, metadata: { name: 'x' } } as unknown as Rollout;
    expect(() => replicaSetFor(noUid, 'h', 1, 1)).toThrow('Rollout x has no metadata.uid');
  });
});

describe('observeReplicaSet', () => {
  it.each([
    [
      'a running one',
      {
        metadata: {
          labels: { [HASH_LABEL]: 'abc' },
          annotations: { 'rollout.argoproj.io/revision': '2' },
          creationTimestamp: '2026-11-22T10:00:00Z',
        },
        spec: { replicas: 3 },
        status: { replicas: 3, readyReplicas: 2, availableReplicas: 1 },
      },
      {
        hash: 'abc',
        replicas: 3,
        availableReplicas: 1,
        currentReplicas: 3,
        readyReplicas: 2,
        createdAt: '2026-11-22T10:00:00Z',
        revision: 2,
      },
    ],
    [
      'a new one without status',
      { metadata: { labels: { [HASH_LABEL]: 'abc' } }, spec: { replicas: 0 } },
      { hash: 'abc', replicas: 0, availableReplicas: 0, currentReplicas: 0, readyReplicas: 0 },
    ],
    ['not a Rollout one', { metadata: { labels: { app: 'x' } } }, undefined],
  ])('%s', (_name, rs, want) => {
    expect(observeReplicaSet(rs)).toEqual(want);
  });
});

describe('serviceSelectorPatch', () => {
  it('adds the hash to the selector and names the managing Rollout; nothing when already so', () => {
    const svc = { metadata: {}, spec: { selector: { app: 'rollouts-demo' } } };
    expect(serviceSelectorPatch(svc, 'rollouts-demo', 'h2')).toEqual({
      metadata: { annotations: { [MANAGED_BY_ANNOTATION]: 'rollouts-demo' } },
      spec: { selector: { [HASH_LABEL]: 'h2' } },
    });
    const done = {
      metadata: { annotations: { [MANAGED_BY_ANNOTATION]: 'rollouts-demo' } },
      spec: { selector: { app: 'rollouts-demo', [HASH_LABEL]: 'h2' } },
    };
    expect(serviceSelectorPatch(done, 'rollouts-demo', 'h2')).toBeUndefined();
    expect(serviceSelectorPatch(done, 'rollouts-demo', 'h3')).toBeDefined();
  });
});

describe('nextRevision', () => {
  it.each([
    [[], 1],
    [[{ revision: 1 }, { revision: 4 }, {}], 5],
  ])('%j -> %i', (rss, want) => {
    expect(nextRevision(rss)).toBe(want);
  });
});

describe('analysisRunFor', () => {
  const spec = { metrics: [{ name: 'success-rate', successCondition: 'result[0] > 0.90' }], args: [] };
  it.each([
    ['step', 2, { 'rollout-type': 'Step', [HASH_LABEL]: 'h2', 'step-index': '2' }],
    ['background', undefined, { 'rollout-type': 'Background', [HASH_LABEL]: 'h2' }],
    ['prePromotion', undefined, { 'rollout-type': 'PrePromotion', [HASH_LABEL]: 'h2' }],
  ] as const)('%s run: labelled as Argo labels it, owned, with its revision', (kind, stepIndex, labels) => {
    const run = analysisRunFor(rollout, spec, {
      name: 'rollouts-demo-h2-4',
      kind,
      hash: 'h2',
      revision: 4,
      ...(stepIndex !== undefined ? { stepIndex } : {}),
    });
    expect(run.metadata).toMatchObject({
      name: 'rollouts-demo-h2-4',
      namespace: 'demo',
      labels,
      annotations: { 'rollout.argoproj.io/revision': '4' },
    });
    expect(run.metadata.labels).toEqual(labels);
    expect(run.metadata.ownerReferences?.[0]?.uid).toBe('u-1');
    expect(run.spec).toEqual(spec);
    expect(run.spec).not.toBe(spec);
  });
});
