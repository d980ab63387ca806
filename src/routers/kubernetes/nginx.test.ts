import { describe, expect, it } from 'vitest';
import { canaryIngressName, desiredCanaryIngress, nginxRouter } from './nginx.js';
import { type KubeObject, type ObjectRef, RouterError, type RouterRollout } from './router.js';

const rollout = (
  nginx: RouterRollout['trafficRouting']['nginx'],
  extra: Partial<RouterRollout> = {},
): RouterRollout => ({
  name: 'guestbook',
  namespace: 'default',
  uid: 'uid-1',
  stableService: 'guestbook-stable',
  canaryService: 'guestbook-canary',
  trafficRouting: { nginx },
  ...extra,
});

const stableIngress: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name: 'guestbook',
    namespace: 'default',
    annotations: {
      'kubernetes.io/ingress.class': 'nginx',
      'nginx.ingress.kubernetes.io/rewrite-target': '/',
    },
  },
  spec: {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['guestbook.example'], secretName: 'tls' }],
    rules: [
      {
        host: 'guestbook.example',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'guestbook-stable', port: { number: 80 } } },
            },
          ],
        },
      },
      {
        host: 'other.example',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'other', port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
};

const world =
  (...objects: KubeObject[]) =>
  (ref: ObjectRef) =>
    objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);

describe('nginx canary Ingress', () => {
  it('copies the rules that route to the stable Service, pointed at the canary; TLS and class kept; owned by the Rollout', () => {
    const { ingress } = desiredCanaryIngress(rollout({ stableIngress: 'guestbook' }), stableIngress, {
      canaryWeight: 20,
      headerRoutes: [],
    });
    expect(ingress.metadata).toEqual({
      name: 'guestbook-guestbook-canary',
      namespace: 'default',
      annotations: {
        'kubernetes.io/ingress.class': 'nginx',
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '20',
      },
      ownerReferences: [
        {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Rollout',
          name: 'guestbook',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(ingress.spec).toEqual({
      ingressClassName: 'nginx',
      tls: [{ hosts: ['guestbook.example'], secretName: 'tls' }],
      rules: [
        {
          host: 'guestbook.example',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'guestbook-canary', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    });
    // The stable Ingress is never changed.
    expect(
      (stableIngress.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] })
        .rules[0]?.http.paths[0]?.backend.service.name,
    ).toBe('guestbook-stable');
  });

  it.each([
    [
      'additional annotations get the prefix when they lack it',
      { additionalIngressAnnotations: { 'canary-by-cookie': 'beta' } },
      undefined,
      { 'nginx.ingress.kubernetes.io/canary-by-cookie': 'beta' },
    ],
    [
      'a custom annotation prefix',
      { annotationPrefix: 'custom.nginx.org' },
      undefined,
      { 'custom.nginx.org/canary': 'true', 'custom.nginx.org/canary-weight': '20' },
    ],
    [
      'maxTrafficWeight sets canary-weight-total',
      {},
      1000,
      { 'nginx.ingress.kubernetes.io/canary-weight-total': '1000' },
    ],
    [
      'canaryIngressAnnotations land on the canary Ingress',
      { canaryIngressAnnotations: { 'my.org/team': 'web' } },
      undefined,
      { 'nginx.ingress.kubernetes.io/my.org/team': 'web' },
    ],
  ])('%s', (_name, extra, maxTrafficWeight, want) => {
    const r = rollout({ stableIngress: 'guestbook', ...extra });
    if (maxTrafficWeight !== undefined) r.trafficRouting.maxTrafficWeight = maxTrafficWeight;
    const { ingress } = desiredCanaryIngress(r, stableIngress, { canaryWeight: 20, headerRoutes: [] });
    expect(ingress.metadata.annotations).toMatchObject(want);
  });

  it.each([
    ['exact', { exact: 'yes' }, { 'canary-by-header-value': 'yes' }],
    ['regex', { regex: 'a|b' }, { 'canary-by-header-pattern': 'a|b' }],
    ['prefix (as a pattern, escaped)', { prefix: 'v1.2' }, { 'canary-by-header-pattern': '^v1\\.2.*' }],
  ])('a setHeaderRoute (%s) becomes canary-by-header', (_name, headerValue, want) => {
    const { ingress, warnings } = desiredCanaryIngress(
      rollout({ stableIngress: 'guestbook' }),
      stableIngress,
      {
        canaryWeight: 0,
        headerRoutes: [{ name: 'r1', match: [{ headerName: 'X-Canary', headerValue }] }],
      },
    );
    const prefixed = Object.fromEntries(
      Object.entries(want).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v]),
    );
    expect(ingress.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
      ...prefixed,
    });
    expect(warnings).toEqual([]);
  });

  it('a second header match is not silently dropped: a warning says which one is used', () => {
    const { warnings } = desiredCanaryIngress(rollout({ stableIngress: 'guestbook' }), stableIngress, {
      canaryWeight: 0,
      headerRoutes: [
        {
          name: 'r1',
          match: [
            { headerName: 'X-A', headerValue: { exact: '1' } },
            { headerName: 'X-B', headerValue: { exact: '2' } },
          ],
        },
      ],
    });
    expect(warnings).toEqual([
      'nginx routes a canary Ingress on one header: only X-A of header route r1 is used',
    ]);
  });

  it('an Ingress without a rule for the stable Service is an error naming both', () => {
    const r = rollout({ stableIngress: 'guestbook' }, { stableService: 'nope' });
    expect(() => desiredCanaryIngress(r, stableIngress, { canaryWeight: 1, headerRoutes: [] })).toThrow(
      'ingress `guestbook` has no rules using service nope backend',
    );
  });

  it('the canary name is cut to 253 characters with its suffix', () => {
    const n = canaryIngressName('r'.repeat(200), 's'.repeat(100));
    expect(n).toHaveLength(253);
    expect(n.endsWith('-canary')).toBe(true);
  });
});

describe('nginx router plan', () => {
  const r = rollout({ stableIngress: 'guestbook' });

  it('creates the canary Ingress when missing, then patches only when the weight changes', () => {
    const first = nginxRouter.plan(r, { canaryWeight: 20, headerRoutes: [] }, world(stableIngress));
    expect(first.events.map((e) => e.reason)).toEqual(['CreatingCanaryIngress']);
    const created = first.upsert[0] as KubeObject;
    expect(
      nginxRouter.plan(r, { canaryWeight: 20, headerRoutes: [] }, world(stableIngress, created)),
    ).toEqual({ upsert: [], events: [] });
    const moved = nginxRouter.plan(r, { canaryWeight: 40, headerRoutes: [] }, world(stableIngress, created));
    expect(moved.upsert[0]?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-weight']).toBe('40');
    expect(moved.events).toEqual([
      {
        type: 'Normal',
        reason: 'PatchingCanaryIngress',
        message: "Updating Ingress `guestbook-guestbook-canary` to desiredWeight '40'",
      },
    ]);
  });

  it('reads the stable and canary Ingress of each stableIngresses entry', () => {
    expect(nginxRouter.reads(rollout({ stableIngresses: ['a', 'b'] })).map((x) => x.name)).toEqual([
      'a',
      'guestbook-a-canary',
      'b',
      'guestbook-b-canary',
    ]);
  });

  it('refuses a canary Ingress another object controls, and a missing stable Ingress', () => {
    const foreign: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'guestbook-guestbook-canary',
        ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'other', controller: true }],
      },
    };
    expect(() =>
      nginxRouter.plan(r, { canaryWeight: 1, headerRoutes: [] }, world(stableIngress, foreign)),
    ).toThrow('canary ingress `guestbook-guestbook-canary` controlled by different object');
    const missing = () => nginxRouter.plan(r, { canaryWeight: 1, headerRoutes: [] }, world());
    expect(missing).toThrow(RouterError);
    expect(missing).toThrow('stableIngress `guestbook`');
  });
});

describe('nginx router convergence', () => {
  const r = rollout({ stableIngress: 'guestbook' });
  const want = { canaryWeight: 20, headerRoutes: [] };
  const created = () => nginxRouter.plan(r, want, world(stableIngress)).upsert[0] as KubeObject;

  it('ignores annotations other tools add, and key order in the spec', () => {
    const c = created();
    c.metadata.annotations = {
      ...c.metadata.annotations,
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
    };
    c.spec = Object.fromEntries(Object.entries(c.spec ?? {}).reverse());
    expect(nginxRouter.plan(r, want, world(stableIngress, c)).upsert).toEqual([]);
  });

  it('removes a header route that ended (its annotations are the controller prefix)', () => {
    const c = created();
    c.metadata.annotations = {
      ...c.metadata.annotations,
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Beta',
    };
    const plan = nginxRouter.plan(r, want, world(stableIngress, c));
    expect(
      plan.upsert[0]?.metadata.annotations?.['nginx.ingress.kubernetes.io/canary-by-header'],
    ).toBeUndefined();
  });
});

describe('nginx router: reading the traffic back', () => {
  const r = rollout({ stableIngress: 'guestbook' });
  const write = (want: Parameters<typeof desiredCanaryIngress>[2]) => {
    const { ingress } = desiredCanaryIngress(r, stableIngress, want);
    return { ...ingress, metadata: { ...ingress.metadata, resourceVersion: '7', uid: 'c-1' } };
  };

  it.each([
    ['a weight alone', { canaryWeight: 30, headerRoutes: [] }],
    [
      'an exact header route, named',
      {
        canaryWeight: 10,
        headerRoutes: [{ name: 'beta', match: [{ headerName: 'X-Beta', headerValue: { exact: 'yes' } }] }],
      },
    ],
    [
      'a regex header route',
      {
        canaryWeight: 0,
        headerRoutes: [
          { name: 'mobile', match: [{ headerName: 'User-Agent', headerValue: { regex: '.*Mobile.*' } }] },
        ],
      },
    ],
  ])('what it wrote reads back as the same traffic: %s', (_name, want) => {
    expect(nginxRouter.current(r, world(stableIngress, write(want)))).toEqual(want);
  });

  it('a prefix match reads back as the regex it was written as', () => {
    const want = {
      canaryWeight: 5,
      headerRoutes: [{ name: 'p', match: [{ headerName: 'X-Env', headerValue: { prefix: 'qa.' } }] }],
    };
    expect(nginxRouter.current(r, world(stableIngress, write(want)))?.headerRoutes).toEqual([
      { name: 'p', match: [{ headerName: 'X-Env', headerValue: { regex: '^qa\\..*' } }] },
    ]);
  });

  it('no canary Ingress yet, or one the Rollout does not own: nothing to read', () => {
    expect(nginxRouter.current(r, world(stableIngress))).toBeUndefined();
    const foreign = write({ canaryWeight: 50, headerRoutes: [] });
    foreign.metadata.ownerReferences = [];
    expect(nginxRouter.current(r, world(stableIngress, foreign))).toBeUndefined();
  });

  it('an update keeps other tools annotations and drops an ended header route', () => {
    const current = write({
      canaryWeight: 10,
      headerRoutes: [{ name: 'beta', match: [{ headerName: 'X-Beta', headerValue: { exact: 'yes' } }] }],
    });
    current.metadata.annotations = { ...current.metadata.annotations, 'example.com/owner': 'team-a' };
    const plan = nginxRouter.plan(r, { canaryWeight: 20, headerRoutes: [] }, world(stableIngress, current));
    const a = plan.upsert[0]?.metadata.annotations ?? {};
    expect(plan.upsert[0]?.metadata.resourceVersion).toBe('7');
    expect(a['example.com/owner']).toBe('team-a');
    expect(a['nginx.ingress.kubernetes.io/canary-weight']).toBe('20');
    expect(
      Object.keys(a).filter((k) => k.includes('canary-by-header') || k.includes('header-route')),
    ).toEqual([]);
  });
});
