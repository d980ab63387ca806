import { describe, expect, it } from 'vitest';
import type { Rollout } from '../../../api/argo/rollout.js';
import { headerRouteMatch, mirrorRouteMatch, releaseListeners, type ServiceObject } from './listeners.js';
import type { RouterRecord } from './record.js';

const up = (port: number) => ({ host: '127.0.0.1', port });
const versions = [
  { hash: 'old', labels: { app: 'demo' }, upstreams: [up(1001), up(1002)] },
  { hash: 'new', labels: { app: 'demo' }, upstreams: [up(2001)] },
];
const svc = (
  name: string,
  extra: Partial<ServiceObject['metadata']> = {},
  selector: Record<string, string> = { app: 'demo' },
): ServiceObject => ({
  metadata: { name, ...extra },
  spec: { selector, ports: [{ port: 8080 }] },
});
const router = (r: Partial<RouterRecord> = {}): RouterRecord => ({
  weight: 0,
  headerRoutes: [],
  mirrorRoutes: [],
  selectors: {},
  ...r,
});
const rollout = (strategy: Rollout['spec']['strategy']): Rollout =>
  ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'demo' },
    spec: {
      selector: { matchLabels: { app: 'demo' } },
      template: { metadata: { labels: { app: 'demo' } } },
      strategy,
    },
  }) as Rollout;
const routed = rollout({
  canary: {
    stableService: 'demo',
    canaryService: 'demo-canary',
    trafficRouting: { traefik: { weightedTraefikServiceName: 't' } },
  },
});

describe('releaseListeners', () => {
  it('with trafficRouting, the stable Service carries the weights and the canary Service only the canary', () => {
    const plan = releaseListeners({
      rollout: routed,
      router: router({ weight: 20, selectors: { demo: 'old', 'demo-canary': 'new' } }),
      versions,
      services: [svc('demo'), svc('demo-canary')],
      defaultHost: '127.0.0.1',
    });
    expect(plan.problems).toEqual([]);
    const [stable, canary] = plan.listeners;
    expect(stable?.routes.weights).toEqual({ stable: 80, canary: 20 });
    expect(stable?.routes.backends.map((b) => [b.name, b.version, b.upstreams.length])).toEqual([
      ['stable', 'old', 2],
      ['canary', 'new', 1],
    ]);
    expect(canary?.routes.backends.map((b) => b.version)).toEqual(['new']);
  });

  it.each([
    [
      'weight 0 before the selectors are switched: both Services pool every version',
      router(),
      { stable: 100, canary: 0 },
    ],
    [
      'maxTrafficWeight caps the stable share',
      router({ weight: 3, selectors: { demo: 'old', 'demo-canary': 'new' } }),
      { stable: 97, canary: 3 },
    ],
  ])('%s', (_what, r, weights) => {
    const plan = releaseListeners({
      rollout: routed,
      router: r,
      versions,
      services: [svc('demo'), svc('demo-canary')],
      defaultHost: 'h',
    });
    expect(plan.listeners[0]?.routes.weights).toEqual(weights);
  });

  it("a version without ready replicas gets an empty metrics label (the proxy's 503s are not its errors)", () => {
    const starting = [versions[0]!, { ...versions[1]!, upstreams: [] }];
    const plan = releaseListeners({
      rollout: routed,
      router: router({ weight: 20, selectors: { demo: 'old', 'demo-canary': 'new' } }),
      versions: starting,
      services: [svc('demo'), svc('demo-canary')],
      defaultHost: 'h',
    });
    expect(plan.listeners[0]?.routes.backends.map((b) => [b.name, b.version])).toEqual([
      ['stable', 'old'],
      ['canary', ''],
    ]);
    expect(plan.listeners[1]?.routes.backends.map((b) => b.version)).toEqual(['']);
  });

  it('header and mirror routes go to the canary, ahead of the weights', () => {
    const plan = releaseListeners({
      rollout: routed,
      router: router({
        weight: 0,
        selectors: { demo: 'old', 'demo-canary': 'new' },
        headerRoutes: [{ name: 'h', match: [{ headerName: 'X-Canary', headerValue: { exact: 'yes' } }] }],
        mirrorRoutes: [{ name: 'm', match: [{ method: { exact: 'GET' } }], percentage: 50 }],
      }),
      versions,
      services: [svc('demo'), svc('demo-canary')],
      defaultHost: 'h',
    });
    const routes = plan.listeners[0]?.routes;
    expect(routes?.routes).toEqual([
      { name: 'h', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], backend: 'canary' },
    ]);
    expect(routes?.mirrors).toEqual([
      { name: 'm', backend: 'canary', percentage: 50, match: [{ method: { exact: 'GET' } }] },
    ]);
  });

  it('without trafficRouting a Service spreads over the ready replicas of the versions it selects', () => {
    const plan = releaseListeners({
      rollout: rollout({ canary: { steps: [{ setWeight: 50 }] } }),
      router: router(),
      versions,
      services: [svc('demo'), svc('other', {}, { app: 'other' })],
      defaultHost: 'h',
    });
    expect(plan.listeners.map((l) => l.service)).toEqual(['demo']);
    expect(plan.listeners[0]?.routes.weights).toEqual({ 'demo-old': 2, 'demo-new': 1 });
  });

  it('blue/green: active and preview follow their switched selectors', () => {
    const plan = releaseListeners({
      rollout: rollout({ blueGreen: { activeService: 'active', previewService: 'preview' } }),
      router: router({ selectors: { active: 'old', preview: 'new' } }),
      versions,
      services: [svc('active'), svc('preview')],
      defaultHost: 'h',
    });
    expect(plan.listeners.map((l) => [l.service, l.routes.backends.map((b) => b.version)])).toEqual([
      ['active', ['old']],
      ['preview', ['new']],
    ]);
  });

  it.each([
    ['a missing named Service', [svc('demo')], /Service "demo-canary" not found/],
    [
      'a bad port annotation',
      [svc('demo', { annotations: { 'vireo.dev/port': 'http' } }), svc('demo-canary')],
      /vireo\.dev\/port: "http" must be a port number/,
    ],
  ])('reports %s', (_what, services, problem) => {
    const plan = releaseListeners({
      rollout: routed,
      router: router(),
      versions,
      services,
      defaultHost: 'h',
    });
    expect(plan.problems.join('\n')).toMatch(problem);
  });

  it('host and port annotations win over the Service port', () => {
    const plan = releaseListeners({
      rollout: routed,
      router: router(),
      versions,
      services: [
        svc('demo', { annotations: { 'vireo.dev/port': '18080', 'vireo.dev/host': '::1' } }),
        svc('demo-canary'),
      ],
      defaultHost: '127.0.0.1',
    });
    expect(plan.listeners[0]).toMatchObject({ host: '::1', port: 18080 });
    expect(plan.listeners[1]).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });
});

describe('Argo match conversion', () => {
  it.each([
    [
      [
        { headerName: 'X-A', headerValue: { prefix: 'b' } },
        { headerName: 'X-C', headerValue: { regex: '^d$' } },
      ],
      [{ headers: { 'x-a': { prefix: 'b' }, 'x-c': { regex: '^d$' } } }],
    ],
  ])('setHeaderRoute %j', (match, expected) => {
    expect(headerRouteMatch(match)).toEqual(expected);
  });

  it('setMirrorRoute: each entry is an alternative of method, path and headers', () => {
    expect(
      mirrorRouteMatch([
        { method: { exact: 'POST' }, path: { prefix: '/api' }, headers: { 'X-T': { exact: '1' } } },
        { path: { regex: '^/x' } },
      ]),
    ).toEqual([
      { method: { exact: 'POST' }, path: { prefix: '/api' }, headers: { 'x-t': { exact: '1' } } },
      { path: { regex: '^/x' } },
    ]);
  });
});
