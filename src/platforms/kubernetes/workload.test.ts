import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import {
  type DeploymentJson,
  deploymentReplicasWanted,
  refersToDeployment,
  resolveWorkloadRef,
} from './workload.js';

const template = {
  metadata: { labels: { app: 'legacy' } },
  spec: { containers: [{ name: 'web', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent' }] },
};
const deployment: DeploymentJson = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'legacy', namespace: 'shop', generation: 4, resourceVersion: '77' },
  spec: { replicas: 3, selector: { matchLabels: { app: 'legacy' } }, template },
};
const rolloutWith = (workloadRef: unknown, extra: Record<string, unknown> = {}) =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { replicas: 3, workloadRef, strategy: { canary: { steps: [{ setWeight: 50 }] } }, ...extra },
  }) as unknown as Rollout;
const lookup = (ns: string, name: string) => (ns === 'shop' && name === 'legacy' ? deployment : undefined);

describe('resolveWorkloadRef', () => {
  it('gives the engine the Deployment template and selector, and the generation it saw', () => {
    const r = rolloutWith({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy' });
    const res = resolveWorkloadRef(r, lookup);
    if (res.kind !== 'resolved') throw new Error(`expected resolved, got ${JSON.stringify(res)}`);
    expect(res.rollout.spec.template).toEqual(template);
    expect(res.rollout.spec.selector).toEqual({ matchLabels: { app: 'legacy' } });
    expect(res.generation).toBe('4');
    expect(res.deployment).toBe(deployment);
    // A copy: the engine's Rollout does not share the cached Deployment's objects, and the
    // Rollout itself (the cache's) is not rewritten.
    expect(res.rollout.spec.template).not.toBe(template);
    expect(r.spec.template).toBeUndefined();
    expect(res.rollout.spec.workloadRef).toEqual(r.spec.workloadRef);
  });

  it("keeps the Rollout's own selector when it has one (Argo takes the Deployment's only when absent)", () => {
    const own = { matchLabels: { app: 'legacy', tier: 'web' } };
    const res = resolveWorkloadRef(
      rolloutWith({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy' }, { selector: own }),
      lookup,
    );
    expect(res.kind === 'resolved' && res.rollout.spec.selector).toEqual(own);
  });

  it.each([
    [
      'a missing Deployment, named namespace/name as its lister says',
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'gone' },
      'The Rollout "web" is invalid: deployments.apps "shop/gone" not found',
    ],
    [
      'a reference without a name',
      { apiVersion: 'apps/v1', kind: 'Deployment' },
      'The Rollout "web" is invalid: deployments.apps "shop/" not found',
    ],
    [
      'a ReplicaSet (Argo takes those; Vireo does not yet)',
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'legacy' },
      'The Rollout "web" is invalid: workload of type apps/v1 ReplicaSet is not supported (Vireo takes the template from an apps/v1 Deployment)',
    ],
    [
      'an old API version of Deployment',
      { apiVersion: 'apps/v1beta1', kind: 'Deployment', name: 'legacy' },
      'The Rollout "web" is invalid: workload of type apps/v1beta1 Deployment is not supported (Vireo takes the template from an apps/v1 Deployment)',
    ],
    [
      'no apiVersion or kind',
      { name: 'legacy' },
      'The Rollout "web" is invalid: workload of type (no apiVersion) (no kind) is not supported (Vireo takes the template from an apps/v1 Deployment)',
    ],
  ])('is InvalidSpec for %s', (_what, ref, message) => {
    expect(resolveWorkloadRef(rolloutWith(ref), lookup)).toEqual({ kind: 'invalid', message });
  });

  it('leaves a Rollout without workloadRef as it is', () => {
    const r = rolloutWith(undefined, { template });
    const res = resolveWorkloadRef(r, () => {
      throw new Error('no lookup without a reference');
    });
    expect(res).toEqual({ kind: 'none', rollout: r });
  });
});

describe('refersToDeployment', () => {
  it.each([
    [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy' }, 'legacy', true],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy' }, 'other', false],
    [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'legacy' }, 'legacy', false],
    [undefined, 'legacy', false],
  ])('%j names %s: %s', (ref, name, want) => {
    expect(refersToDeployment(rolloutWith(ref), name)).toBe(want);
  });
});

describe('deploymentReplicasWanted', () => {
  const healthy = { phase: 'Healthy', stableRS: 'abc', currentPodHash: 'abc', availableReplicas: 3 };
  const progressing = { phase: 'Progressing', stableRS: 'abc', currentPodHash: 'abc', availableReplicas: 1 };
  it.each([
    // scaleDown, Deployment replicas, Rollout replicas, status, wanted
    ['never', 3, 3, healthy, undefined],
    [undefined, 3, 3, healthy, undefined],
    ['onsuccess', 3, 3, healthy, 0],
    ['onsuccess', undefined, 3, healthy, 0], // the Deployment's default of 1
    ['onsuccess', 0, 3, healthy, undefined], // already there
    ['onsuccess', 3, 3, progressing, undefined],
    ['onsuccess', 3, 3, { ...healthy, phase: 'Paused' }, undefined],
    ['onsuccess', 3, 3, { ...healthy, phase: 'Degraded' }, undefined],
    // Healthy on the old template while the new one is not promoted: not yet.
    ['onsuccess', 3, 3, { ...healthy, currentPodHash: 'def' }, undefined],
    ['onsuccess', 3, 3, { ...healthy, stableRS: undefined }, undefined],
    ['progressively', 3, 3, { ...progressing, availableReplicas: 0 }, undefined],
    ['progressively', 3, 3, progressing, 2],
    ['progressively', 3, 3, { ...progressing, availableReplicas: 2 }, 1],
    ['progressively', 3, 3, healthy, 0],
    ['progressively', 3, undefined, { ...progressing, availableReplicas: 1 }, 0], // Rollout default 1
    ['progressively', 2, 3, progressing, undefined], // never up: 3-1 = 2 is what it has
    ['progressively', 2, 5, { ...progressing, availableReplicas: 4 }, 1],
    ['progressively', 0, 3, { ...progressing, availableReplicas: 0 }, undefined], // a lost pod does not bring it back
    ['progressively', 3, 3, { ...healthy, availableReplicas: 4 }, 0], // surge: still 0, not negative
  ])('%s with Deployment %s, Rollout %s, status %j: %s', (scaleDown, dep, ro, status, want) => {
    expect(
      deploymentReplicasWanted({
        scaleDown,
        deploymentReplicas: dep,
        rolloutReplicas: ro,
        status,
      }),
    ).toBe(want);
  });
});
