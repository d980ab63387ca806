import { describe, expect, it } from 'vitest';
import { HASH_LABEL } from './objects.js';
import { matchingReplicaSetHash, templateKey } from './template-match.js';

/** A template as the API server stores it in a ReplicaSet (its defaults filled in). */
const stored = (image: string, hash?: string) => ({
  metadata: {
    creationTimestamp: null,
    labels: { app: 'web', ...(hash ? { [HASH_LABEL]: hash } : {}) },
  },
  spec: {
    containers: [
      {
        name: 'web',
        image,
        imagePullPolicy: 'IfNotPresent',
        resources: {},
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    securityContext: {},
    terminationGracePeriodSeconds: 30,
  },
});
const rs = (hash: string, image: string, created: string) => ({
  metadata: { name: `web-${hash}`, labels: { app: 'web', [HASH_LABEL]: hash }, creationTimestamp: created },
  spec: { replicas: 0, template: stored(image, hash) },
});

describe('templateKey', () => {
  it.each([
    ['the hash label differs', stored('nginx:1.27', 'aaa'), stored('nginx:1.27', 'bbb'), true],
    ['only one has the hash label', stored('nginx:1.27', 'aaa'), stored('nginx:1.27'), true],
    [
      'key order differs',
      stored('nginx:1.27'),
      { spec: stored('nginx:1.27').spec, metadata: stored('nginx:1.27').metadata },
      true,
    ],
    ['the image differs', stored('nginx:1.27'), stored('nginx:1.28'), false],
    [
      'one lacks a default (what a hash of the undone template sees)',
      stored('nginx:1.27'),
      {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
      },
      false,
    ],
    [
      'another label differs',
      stored('nginx:1.27'),
      { ...stored('nginx:1.27'), metadata: { labels: { app: 'web', tier: 'x' } } },
      false,
    ],
  ])('equal when %s: %s', (_what, a, b, equal) => {
    expect(templateKey(a) === templateKey(b)).toBe(equal);
  });

  it('does not change the template it reads', () => {
    const t = stored('nginx:1.27', 'aaa');
    templateKey(t);
    expect(t.metadata.labels[HASH_LABEL]).toBe('aaa');
  });

  it('a template with only the hash label equals one without labels', () => {
    expect(templateKey({ metadata: { labels: { [HASH_LABEL]: 'x' } }, spec: {} })).toBe(
      templateKey({ metadata: {}, spec: {} }),
    );
  });
});

describe('matchingReplicaSetHash', () => {
  const owned = [
    rs('new222', 'nginx:1.28', '2026-01-01T00:02:00Z'),
    rs('old111', 'nginx:1.27', '2026-01-01T00:01:00Z'),
  ];

  it.each([
    ['the old template (undo)', stored('nginx:1.27'), 'old111'],
    ['the new template', stored('nginx:1.28'), 'new222'],
    ['a template no ReplicaSet has', stored('nginx:1.29'), undefined],
    ['nothing', undefined, undefined],
  ])('finds the ReplicaSet of %s', (_what, defaulted, hash) => {
    expect(matchingReplicaSetHash(defaulted, owned)).toBe(hash);
  });

  it('takes the oldest of two equal templates, as Argo looks through them', () => {
    const twins = [
      rs('young', 'nginx:1.27', '2026-01-01T00:05:00Z'),
      rs('elder', 'nginx:1.27', '2026-01-01T00:03:00Z'),
    ];
    expect(matchingReplicaSetHash(stored('nginx:1.27'), twins)).toBe('elder');
  });

  it('skips ReplicaSets without a hash label or a template', () => {
    const odd = [
      { metadata: { labels: { app: 'web' } }, spec: { template: stored('nginx:1.27') } },
      { metadata: { labels: { [HASH_LABEL]: 'bare' } }, spec: {} },
    ];
    expect(matchingReplicaSetHash(stored('nginx:1.27'), odd)).toBeUndefined();
  });
});
