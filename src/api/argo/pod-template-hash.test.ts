import { describe, expect, it } from 'vitest';
import { canonicalJson, podTemplateHash, safeEncode } from './pod-template-hash.js';

const template = (image: string, extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app: 'demo' } },
  spec: { containers: [{ name: 'app', image, ...extra }] },
});

describe('podTemplateHash', () => {
  it('is stable, Argo-looking and independent of key order', () => {
    const a = podTemplateHash(template('demo:blue'));
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(podTemplateHash(template('demo:blue'))).toBe(a);
    const reordered = {
      spec: { containers: [{ image: 'demo:blue', name: 'app' }] },
      metadata: { labels: { app: 'demo' } },
    };
    expect(podTemplateHash(reordered)).toBe(a);
  });

  it.each([
    ['another image', template('demo:green')],
    ['an env change', template('demo:blue', { env: [{ name: 'ERROR_RATE', value: '0.5' }] })],
    ['a label change', { ...template('demo:blue'), metadata: { labels: { app: 'other' } } }],
  ])('changes with %s', (_what, t) => {
    expect(podTemplateHash(t)).not.toBe(podTemplateHash(template('demo:blue')));
  });

  it('changes with the collision count', () => {
    expect(podTemplateHash(template('x'), 1)).not.toBe(podTemplateHash(template('x')));
  });

  it('encodes as Kubernetes SafeEncodeString does', () => {
    // '0' is 48, 48 % 27 = 21 -> '4'; '9' is 57, 57 % 27 = 3 -> 'f'.
    expect(safeEncode('09')).toBe('4f');
  });

  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
    );
  });
});
