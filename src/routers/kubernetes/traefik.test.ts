import { describe, expect, it } from 'vitest';
import type { KubeObject, ObjectRef, RouterRollout } from './router.js';
import { traefikRouter } from './traefik.js';

const rollout: RouterRollout = {
  name: 'guestbook',
  namespace: 'default',
  uid: 'uid-1',
  stableService: 'guestbook-stable',
  canaryService: 'guestbook-canary',
  trafficRouting: { traefik: { weightedTraefikServiceName: 'guestbook-weighted' } },
};

const weighted = (stable: number, canary: number): KubeObject => ({
  apiVersion: 'traefik.io/v1alpha1',
  kind: 'TraefikService',
  metadata: { name: 'guestbook-weighted', namespace: 'default', resourceVersion: '7' },
  spec: {
    weighted: {
      services: [
        { name: 'guestbook-stable', port: 80, weight: stable },
        { name: 'guestbook-canary', port: 80, weight: canary },
        { name: 'static', port: 80, weight: 5 },
      ],
    },
  },
});

const world = (o?: KubeObject) => (ref: ObjectRef) => (o && ref.name === o.metadata.name ? o : undefined);

describe('traefik router', () => {
  it.each([20, 40, 60, 80, 100, 0])('weight %i: canary w, stable 100 - w, other services untouched', (w) => {
    const plan = traefikRouter.plan(rollout, { canaryWeight: w, headerRoutes: [] }, world(weighted(100, 0)));
    if (w === 0) {
      expect(plan.upsert).toEqual([]);
      return;
    }
    expect(plan.upsert).toEqual([weighted(100 - w, w)]);
    expect(plan.events[0]?.reason).toBe('TraefikServiceUpdated');
  });

  it('writes nothing when the weights are already right', () => {
    expect(
      traefikRouter.plan(rollout, { canaryWeight: 40, headerRoutes: [] }, world(weighted(60, 40))),
    ).toEqual({
      upsert: [],
      events: [],
    });
  });

  it.each([
    ['a missing TraefikService', undefined, 'TraefikService `guestbook-weighted` not found'],
    [
      'no spec.weighted.services',
      { ...weighted(1, 1), spec: { mirroring: {} } },
      'spec.weighted.services was not found in traefik service manifest',
    ],
    [
      'the canary Service not listed',
      {
        ...weighted(1, 1),
        spec: { weighted: { services: [{ name: 'guestbook-stable', weight: 100 }] } },
      },
      'the canary service guestbook-canary is not in spec.weighted.services',
    ],
  ])('%s is a clear error', (_name, object, message) => {
    expect(() =>
      traefikRouter.plan(
        rollout,
        { canaryWeight: 10, headerRoutes: [] },
        world(object as KubeObject | undefined),
      ),
    ).toThrow(message);
  });

  it('a header route gets a Warning, not a silent no-op', () => {
    const plan = traefikRouter.plan(
      rollout,
      {
        canaryWeight: 0,
        headerRoutes: [{ name: 'beta', match: [{ headerName: 'X', headerValue: { exact: '1' } }] }],
      },
      world(weighted(100, 0)),
    );
    expect(plan.events).toEqual([
      {
        type: 'Warning',
        reason: 'HeaderRouteUnsupported',
        message: 'Traefik has no header routes; header route beta is not set',
      },
    ]);
  });
});

describe('traefik router: reading the traffic back', () => {
  it.each([0, 35, 100])('the canary Service weight %i reads back, with no header routes', (w) => {
    expect(traefikRouter.current(rollout, world(weighted(100 - w, w)))).toEqual({
      canaryWeight: w,
      headerRoutes: [],
    });
  });

  it('a missing TraefikService, or one without weighted services: nothing to read', () => {
    expect(traefikRouter.current(rollout, world())).toBeUndefined();
    const plain = { ...weighted(100, 0), spec: {} };
    expect(traefikRouter.current(rollout, world(plain))).toBeUndefined();
  });
});
