import { describe, expect, it } from 'vitest';
import type { Canary } from '../../../api/flagger/canary.js';
import { compileRoutes, decide, type RequestView, type RouteConfig } from '../proxy/routing.js';
import {
  analysisMatch,
  apexRoutes,
  type FlaggerRouterRecord,
  type FlaggerRouting,
  flaggerListeners,
} from './flagger-listeners.js';

const primary = { name: 'primary', version: 'h1', upstreams: [{ host: '127.0.0.1', port: 1001 }] };
const canaryBackend = { name: 'canary', version: 'h2', upstreams: [{ host: '127.0.0.1', port: 1002 }] };

function canary(
  annotations: Record<string, string> = {},
  service: Record<string, unknown> = { port: 9898 },
): Canary {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'test', annotations },
    spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' }, service },
  } as Canary;
}

function routing(over: Partial<FlaggerRouting> = {}): FlaggerRouting {
  return {
    canary: canary(),
    router: { primary: 80, canary: 20, mirrored: false },
    primary: { version: 'h1', upstreams: primary.upstreams },
    canaryRole: { version: 'h2', upstreams: canaryBackend.upstreams },
    services: [],
    defaultHost: '127.0.0.1',
    ...over,
  };
}

/** Where one request goes, with the weighted draw fixed at `r`. */
function route(config: RouteConfig, req: Partial<RequestView>, r = 0.5): { to?: string; mirrors: string[] } {
  const d = decide(compileRoutes(config), { method: 'GET', url: '/', headers: {}, ...req }, () => r);
  return { ...(d.backend ? { to: d.backend.name } : {}), mirrors: d.mirrors.map((m) => m.name) };
}

describe('analysisMatch', () => {
  it.each([
    [
      'header exact, name lower-cased',
      [{ headers: { 'X-Canary': { exact: 'insider' } } }],
      [{ headers: { 'x-canary': { exact: 'insider' } } }],
      [],
    ],
    [
      'cookie as a header regex (Flagger docs)',
      [{ headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } }],
      [{ headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } }],
      [],
    ],
    [
      'uri and method',
      [{ uri: { prefix: '/api' }, method: { exact: 'POST' } }],
      [{ path: { prefix: '/api' }, method: { exact: 'POST' } }],
      [],
    ],
    [
      'entries are alternatives',
      [{ headers: { a: { exact: '1' } } }, { headers: { b: { prefix: '2' } } }],
      [{ headers: { a: { exact: '1' } } }, { headers: { b: { prefix: '2' } } }],
      [],
    ],
    [
      'unsupported fields are reported, the rest kept',
      [{ headers: { a: { exact: '1' } }, sourceLabels: { app: 'x' }, queryParams: { q: { exact: '1' } } }],
      [{ headers: { a: { exact: '1' } } }],
      ['analysis.match[0]: sourceLabels, queryParams not carried out by the local router; ignored'],
    ],
    [
      'a header without exact/prefix/regex',
      [{ headers: { a: { suffix: '1' } } }],
      [{}],
      ['analysis.match[0].headers.a needs exact, prefix or regex; ignored'],
    ],
    ['not a mapping', ['x'], [], ['analysis.match[0] is not a mapping; ignored']],
  ])('%s', (_name, input, match, problems) => {
    expect(analysisMatch(input)).toEqual({ match, problems });
  });
});

describe('apexRoutes', () => {
  const table = (router: FlaggerRouterRecord) => apexRoutes(router, primary, canaryBackend);

  it('weights primary/canary as SetRoutes set them', () => {
    const t = table({ primary: 80, canary: 20, mirrored: false });
    expect(t.weights).toEqual({ primary: 80, canary: 20 });
    expect(t.mirrors).toBeUndefined();
    expect(route(t, {}, 0.79).to).toBe('primary');
    expect(route(t, {}, 0.81).to).toBe('canary');
  });

  it('mirrors to the canary when mirrored, at mirrorWeight % (100 when unset)', () => {
    expect(table({ primary: 100, canary: 0, mirrored: true }).mirrors).toEqual([
      { name: 'mirror', backend: 'canary', percentage: 100 },
    ]);
    const t = table({ primary: 100, canary: 0, mirrored: true, mirrorWeight: 30 });
    expect(t.mirrors).toEqual([{ name: 'mirror', backend: 'canary', percentage: 30 }]);
    expect(route(t, {}, 0.2)).toEqual({ to: 'primary', mirrors: ['canary'] });
    expect(route(t, {}, 0.5)).toEqual({ to: 'primary', mirrors: [] });
  });

  it('with analysis.match: matching requests to the canary while it has weight, the rest to the primary', () => {
    const match = [{ headers: { 'x-canary': { exact: 'insider' } } }];
    const ab = table({ primary: 0, canary: 100, mirrored: true, match });
    expect(ab.mirrors).toBeUndefined(); // Istio drops the mirror when match is set
    expect(route(ab, { headers: { 'x-canary': 'insider' } }).to).toBe('canary');
    expect(route(ab, { headers: { 'x-canary': 'other' } }, 0.99).to).toBe('primary');
    expect(route(ab, {}, 0.99).to).toBe('primary');
    const idle = table({ primary: 100, canary: 0, mirrored: false, match });
    expect(route(idle, { headers: { 'x-canary': 'insider' } }).to).toBe('primary');
  });

  it('weights of 0/0 send everything to the primary', () => {
    expect(table({ primary: 0, canary: 0, mirrored: false }).weights).toEqual({ primary: 1, canary: 0 });
  });
});

describe('flaggerListeners', () => {
  const ports = (r: FlaggerRouting) => {
    const plan = flaggerListeners(r);
    return {
      listeners: Object.fromEntries(plan.listeners.map((l) => [l.service, `${l.host}:${l.port}`])),
      problems: plan.problems,
    };
  };

  it.each([
    [
      'apex on spec.service.port, primary and canary on free ports',
      routing(),
      { podinfo: '127.0.0.1:9898', 'podinfo-primary': '127.0.0.1:0', 'podinfo-canary': '127.0.0.1:0' },
      [],
    ],
    [
      'spec.service.name names the Services',
      routing({ canary: canary({}, { name: 'web', port: 80 }) }),
      { web: '127.0.0.1:80', 'web-primary': '127.0.0.1:0', 'web-canary': '127.0.0.1:0' },
      [],
    ],
    [
      'Canary annotations for ports and host',
      routing({
        canary: canary({
          'vireo.dev/port': '8080',
          'vireo.dev/primary-port': '8081',
          'vireo.dev/canary-port': '8082',
          'vireo.dev/host': '0.0.0.0',
        }),
      }),
      { podinfo: '0.0.0.0:8080', 'podinfo-primary': '0.0.0.0:8081', 'podinfo-canary': '0.0.0.0:8082' },
      [],
    ],
    [
      'an applied Service lends its annotations; the Canary wins',
      routing({
        canary: canary({ 'vireo.dev/port': '7000' }),
        services: [
          { metadata: { name: 'podinfo', annotations: { 'vireo.dev/port': '7001' } } },
          {
            metadata: {
              name: 'podinfo-canary',
              annotations: { 'vireo.dev/port': '7002', 'vireo.dev/host': '::1' },
            },
          },
        ],
      }),
      { podinfo: '127.0.0.1:7000', 'podinfo-primary': '127.0.0.1:0', 'podinfo-canary': '::1:7002' },
      [],
    ],
    [
      'an invalid port annotation is a problem, the other listeners stay',
      routing({ canary: canary({ 'vireo.dev/port': 'http' }) }),
      { 'podinfo-primary': '127.0.0.1:0', 'podinfo-canary': '127.0.0.1:0' },
      [
        'Service podinfo: annotation vireo.dev/port: "http" must be a port number 0..65535 (0 picks a free one)',
      ],
    ],
    [
      'no port at all',
      routing({ canary: canary({}, {}) }),
      { 'podinfo-primary': '127.0.0.1:0', 'podinfo-canary': '127.0.0.1:0' },
      ['Service podinfo: spec.service.port is missing'],
    ],
  ])('%s', (_name, r, listeners, problems) => {
    expect(ports(r)).toEqual({ listeners, problems });
  });

  it('primary and canary Services reach only their role', () => {
    const plan = flaggerListeners(routing());
    const byName = Object.fromEntries(plan.listeners.map((l) => [l.service, l.routes]));
    expect(byName['podinfo-primary']).toEqual({ backends: [primary], weights: { primary: 1 } });
    expect(byName['podinfo-canary']).toEqual({ backends: [canaryBackend], weights: { canary: 1 } });
    expect(byName.podinfo?.weights).toEqual({ primary: 80, canary: 20 });
  });

  it('reports match fields the router cannot judge', () => {
    const r = routing({
      router: { primary: 0, canary: 100, mirrored: false, match: [{ sourceLabels: { a: 'b' } }] },
    });
    expect(flaggerListeners(r).problems).toEqual([
      'analysis.match[0]: sourceLabels not carried out by the local router; ignored',
    ]);
  });
});
