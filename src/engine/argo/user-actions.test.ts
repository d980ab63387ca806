import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../api/argo/rollout.js';
import {
  planUndo,
  type RevisionTemplate,
  restartRollout,
  setImage,
  UserActionError,
  undoRollout,
} from './user-actions.js';

type Template = NonNullable<Rollout['spec']['template']>;

const template = (image: string, hash?: string): Template => ({
  metadata: { labels: { app: 'demo', ...(hash ? { 'rollouts-pod-template-hash': hash } : {}) } },
  spec: { containers: [{ name: 'web', image }] },
});

const ROLLOUT: Rollout = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'demo' } },
    template: {
      metadata: { labels: { app: 'demo' } },
      spec: {
        initContainers: [{ name: 'init', image: 'busybox:1' }],
        containers: [
          { name: 'web', image: 'web:3' },
          { name: 'sidecar', image: 'proxy:1' },
        ],
      },
    },
    strategy: { canary: { steps: [{ setWeight: 20 }] } },
  },
};

/** ReplicaSets of revisions 1..3 (3 is the current template). */
const HISTORY: RevisionTemplate[] = [
  { revision: 2, template: template('web:2', 'h2') },
  { revision: 3, template: template('web:3', 'h3') },
  { revision: 1, template: template('web:1', 'h1') },
];

const current = (image: string): Rollout => ({
  ...ROLLOUT,
  spec: { ...ROLLOUT.spec, template: template(image) },
});

describe('restart (spec.restartAt)', () => {
  it('writes now in RFC 3339 to the second, UTC, and leaves the input alone', () => {
    const copy = structuredClone(ROLLOUT);
    const r = restartRollout(ROLLOUT, new Date('2026-03-04T05:06:07.890Z'));
    expect(r.spec.restartAt).toBe('2026-03-04T05:06:07Z');
    expect(ROLLOUT).toEqual(copy);
    expect(r.status).toEqual(ROLLOUT.status);
  });
  it('--in adds the delay', () => {
    expect(restartRollout(ROLLOUT, new Date('2026-03-04T05:06:07.890Z'), 30_000).spec.restartAt).toBe(
      '2026-03-04T05:06:37Z',
    );
  });
});

describe('set image', () => {
  it('sets the named container only', () => {
    const r = setImage(ROLLOUT, 'web', 'web:4');
    expect(r.spec.template?.spec?.containers.map((c) => c.image)).toEqual(['web:4', 'proxy:1']);
    expect(r.spec.template?.spec?.initContainers?.[0]?.image).toBe('busybox:1');
    expect(ROLLOUT.spec.template?.spec?.containers[0]?.image).toBe('web:3');
  });
  it('finds init containers too', () => {
    expect(setImage(ROLLOUT, 'init', 'busybox:2').spec.template?.spec?.initContainers?.[0]?.image).toBe(
      'busybox:2',
    );
  });
  it('"*" sets every container', () => {
    const r = setImage(ROLLOUT, '*', 'all:1');
    expect(r.spec.template?.spec?.containers.map((c) => c.image)).toEqual(['all:1', 'all:1']);
    expect(r.spec.template?.spec?.initContainers?.[0]?.image).toBe('all:1');
  });
  it('an unknown container is an error, as in the CLI', () => {
    expect(() => setImage(ROLLOUT, 'nope', 'x')).toThrow(
      new UserActionError('unable to find container named "nope"'),
    );
  });
  it('a workloadRef Rollout is set in the referenced workload', () => {
    const ref: Rollout = {
      ...ROLLOUT,
      spec: { ...ROLLOUT.spec, template: undefined, workloadRef: { kind: 'Deployment', name: 'web' } },
    };
    expect(() => setImage(ref, 'web', 'x')).toThrow(UserActionError);
  });
});

describe('undo [--to-revision]', () => {
  it('default: the revision before the latest, without the pod-template-hash label', () => {
    const r = undoRollout(current('web:3'), HISTORY);
    expect(r.spec.template).toEqual({
      metadata: { labels: { app: 'demo' } },
      spec: { containers: [{ name: 'web', image: 'web:2' }] },
    });
    expect(planUndo(current('web:3'), HISTORY)).toMatchObject({
      revision: 2,
      skipped: false,
      message: "rollout 'demo' undo",
    });
  });
  it('--to-revision N restores that revision; the rest of the Rollout is unchanged', () => {
    const ro = current('web:3');
    const r = undoRollout(ro, HISTORY, 1);
    expect(r.spec.template?.spec?.containers[0]?.image).toBe('web:1');
    expect({ ...r, spec: { ...r.spec, template: undefined } }).toEqual({
      ...ro,
      spec: { ...ro.spec, template: undefined },
    });
  });
  it('a missing revision is an error', () => {
    expect(() => undoRollout(current('web:3'), HISTORY, 7)).toThrow(
      new UserActionError('unable to find specified revision 7 in history'),
    );
  });
  it('no previous revision is an error', () => {
    expect(() => undoRollout(current('web:3'), [HISTORY[1] as RevisionTemplate])).toThrow(
      new UserActionError('no revision found for rollout "demo"'),
    );
  });
  it('skipped when the template already matches (fields the ReplicaSet adds do not count)', () => {
    const ro = current('web:2');
    const defaulted: RevisionTemplate = {
      revision: 2,
      template: {
        metadata: { labels: { app: 'demo', 'rollouts-pod-template-hash': 'h2' } },
        spec: {
          containers: [{ name: 'web', image: 'web:2', imagePullPolicy: 'IfNotPresent' }],
          restartPolicy: 'Always',
        },
      },
    };
    const history = [defaulted, HISTORY[1] as RevisionTemplate];
    expect(planUndo(ro, history)).toMatchObject({
      revision: 2,
      skipped: true,
      message: 'skipped rollback (current template already matches revision 2)',
    });
    expect(undoRollout(ro, history)).toEqual(ro);
  });
});
