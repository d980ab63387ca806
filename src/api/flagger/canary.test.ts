/**
 * The Flagger kinds as a whole: names, scope, subresources and printer columns as upstream, schemas
 * that are structural (as the CRD generator needs), and schema validation of typical mistakes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { hasShared, sharedDir } from '../../testing/upstream.js';
import type { KindDefinition } from '../kind.js';
import { type SchemaNode, validateValue } from '../validate.js';
import { CanarySchema } from './canary.js';
import { flaggerKinds } from './index.js';

type O = Record<string, unknown>;
/** The nested object at `keys` (test data only: assumes it exists). */
const at = (o: unknown, ...keys: (string | number)[]): O =>
  keys.reduce<unknown>((x, k) => (x as O)[k], o) as O;

const FORBIDDEN = ['$ref', 'const', 'patternProperties', 'oneOf', 'allOf', 'not', '$id'];

/** Problems that would make a CRD schema non-structural (or break the compat walker). */
function structuralProblems(node: SchemaNode, at = '(root)'): string[] {
  const out: string[] = [];
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === undefined && !intOrString && !preserve) out.push(`${at}: no type`);
  for (const k of FORBIDDEN) if (k in node) out.push(`${at}: has ${k}`);
  if ('anyOf' in node && !intOrString) out.push(`${at}: anyOf outside int-or-string`);
  if (node.properties && node.additionalProperties !== undefined)
    out.push(`${at}: properties and additionalProperties`);
  if (node.type === 'array' && !node.items) out.push(`${at}: array without items`);
  for (const [k, child] of Object.entries(node.properties ?? {}))
    out.push(...structuralProblems(child, `${at}.${k}`));
  if (node.items) out.push(...structuralProblems(node.items, `${at}[]`));
  if (typeof node.additionalProperties === 'object')
    out.push(...structuralProblems(node.additionalProperties, `${at}{}`));
  return out;
}

describe.each(flaggerKinds.map((k) => [k.kind, k] as const))('%s kind', (_name, kind: KindDefinition) => {
  it('is flagger.app/v1beta1, namespaced, with a status subresource', () => {
    expect(kind.group).toBe('flagger.app');
    expect(kind.version).toBe('v1beta1');
    expect(kind.scope).toBe('Namespaced');
    expect(kind.subresources).toEqual({ status: true });
    expect(kind.categories).toEqual(['all']);
    expect(kind.rules?.length).toBeGreaterThan(0);
  });

  it('has a structural schema', () => {
    expect(structuralProblems(kind.schema as unknown as SchemaNode)).toEqual([]);
  });

  it.skipIf(!hasShared)('has the names and printer columns of the upstream CRD', () => {
    const text = readFileSync(path.join(sharedDir, 'crds', 'flagger-crds.yaml'), 'utf8');
    const crds = parseAllDocuments(text).map(
      (d) =>
        d.toJS() as {
          spec: {
            names: {
              kind: string;
              plural: string;
              singular: string;
              shortNames?: string[];
              categories?: string[];
            };
            scope: string;
            versions: {
              name: string;
              additionalPrinterColumns?: unknown[];
              subresources?: Record<string, unknown>;
            }[];
          };
        },
    );
    const crd = crds.find((c) => c.spec.names.kind === kind.kind);
    expect(crd).toBeDefined();
    const { names, scope, versions } = crd!.spec;
    expect(kind.plural).toBe(names.plural);
    expect(kind.singular).toBe(names.singular);
    expect(kind.shortNames).toEqual(names.shortNames);
    expect(kind.categories).toEqual(names.categories);
    expect(kind.scope).toBe(scope);
    const version = versions.find((v) => v.name === kind.version)!;
    expect(kind.printerColumns).toEqual(version.additionalPrinterColumns);
    expect(Object.keys(version.subresources ?? {})).toEqual(Object.keys(kind.subresources ?? {}));
  });
});

describe('Canary schema', () => {
  const minimal = () => ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 9898 },
      analysis: { interval: '1m', threshold: 5, stepWeight: 10 },
    },
  });
  const check = (o: unknown) =>
    validateValue(CanarySchema as unknown as SchemaNode, o).map((d) => ({
      code: d.code,
      path: d.path,
      severity: d.severity,
    }));

  it('accepts a minimal Canary', () => {
    expect(check(minimal())).toEqual([]);
  });

  it('accepts the embedded Istio and Gateway API shapes', () => {
    const c = minimal();
    Object.assign(c.spec.service, {
      targetPort: 'http',
      gatewayRefs: [{ name: 'gateway', namespace: 'istio-ingress' }],
      match: [{ uri: { prefix: '/api' }, headers: { 'x-user': { exact: 'a' } }, port: 80 }],
      corsPolicy: { allowOrigins: [{ exact: 'https://example.com' }], allowMethods: ['GET'], maxAge: '24h' },
      trafficPolicy: {
        connectionPool: { http: { h2UpgradePolicy: 'UPGRADE', http2MaxRequests: 100 } },
        loadBalancer: {
          consistentHash: { httpCookie: { name: 'user', ttl: '0s' } },
          localityLbSetting: {
            distribute: [{ from: 'us-west/*', to: { 'us-west/*': 80, 'us-east/*': 20 } }],
          },
        },
        outlierDetection: { consecutive5xxErrors: 5, interval: '10s' },
      },
      headers: { request: { add: { 'x-a': 'b' }, remove: ['x-c'] } },
      mirror: [{ backendRef: { name: 'shadow', port: 80 } }],
      unmanagedMetadata: { annotations: ['a'], labels: ['b'] },
    });
    Object.assign(c.spec.analysis, {
      sessionAffinity: { cookieName: 'c', maxAge: 3600, sameSite: 'Lax' },
      alerts: [{ name: 'chat', severity: 'warn', providerRef: { name: 'slack', namespace: 'flagger' } }],
    });
    expect(check(c)).toEqual([]);
  });

  it.each([
    [
      'provider not in the upstream enum',
      (c: O) => (at(c, 'spec').provider = 'smi:v1alpha3:linkerd'),
      'enum',
      ['spec', 'provider'],
    ],
    [
      'target kind not in the enum',
      (c: O) => (at(c, 'spec', 'targetRef').kind = 'StatefulSet'),
      'enum',
      ['spec', 'targetRef', 'kind'],
    ],
    [
      'targetRef without apiVersion',
      (c: O) => delete at(c, 'spec', 'targetRef').apiVersion,
      'required',
      ['spec', 'targetRef', 'apiVersion'],
    ],
    [
      'service without port',
      (c: O) => delete at(c, 'spec', 'service').port,
      'required',
      ['spec', 'service', 'port'],
    ],
    ['port as text', (c: O) => (at(c, 'spec', 'service').port = '9898'), 'type', ['spec', 'service', 'port']],
    [
      'interval in hours (upstream pattern)',
      (c: O) => (at(c, 'spec', 'analysis').interval = '1h'),
      'pattern',
      ['spec', 'analysis', 'interval'],
    ],
    [
      'stepWeight as a fraction',
      (c: O) => (at(c, 'spec', 'analysis').stepWeight = 2.5),
      'type',
      ['spec', 'analysis', 'stepWeight'],
    ],
    [
      'unknown analysis field',
      (c: O) => (at(c, 'spec', 'analysis').stepweight = 5),
      'unknown-field',
      ['spec', 'analysis', 'stepweight'],
    ],
    [
      'alert severity not in the enum',
      (c: O) =>
        (at(c, 'spec', 'analysis').alerts = [
          { name: 'a', severity: 'critical', providerRef: { name: 'p' } },
        ]),
      'enum',
      ['spec', 'analysis', 'alerts', 0, 'severity'],
    ],
    [
      'webhook type not in the enum',
      (c: O) => (at(c, 'spec', 'analysis').webhooks = [{ name: 'w', url: 'http://x/', type: 'pre' }]),
      'enum',
      ['spec', 'analysis', 'webhooks', 0, 'type'],
    ],
    [
      'status phase not in the enum',
      (c: O) => (c.status = { phase: 'Running' }),
      'enum',
      ['status', 'phase'],
    ],
  ])('rejects %s', (_name, mutate, code, path) => {
    const c = minimal();
    mutate(c);
    expect(check(c)).toContainEqual({ code, path, severity: 'error' });
  });

  it.each([
    [
      'canaryAnalysis',
      (c: O) => {
        at(c, 'spec').canaryAnalysis = at(c, 'spec').analysis;
        delete at(c, 'spec').analysis;
      },
      ['spec', 'canaryAnalysis'],
    ],
    [
      'metric threshold',
      (c: O) => (at(c, 'spec', 'analysis').metrics = [{ name: 'request-success-rate', threshold: 99 }]),
      ['spec', 'analysis', 'metrics', 0, 'threshold'],
    ],
    [
      'metric query',
      (c: O) =>
        (at(c, 'spec', 'analysis').metrics = [{ name: 'x', query: 'up', thresholdRange: { min: 1 } }]),
      ['spec', 'analysis', 'metrics', 0, 'query'],
    ],
  ])('warns that %s is deprecated', (_name, mutate, path) => {
    const c = minimal();
    mutate(c);
    expect(check(c)).toEqual([{ code: 'deprecated', path, severity: 'warning' }]);
  });

  it('documents the static defaults', () => {
    const schema = CanarySchema as unknown as SchemaNode;
    const spec = schema.properties!.spec!;
    const analysis = spec.properties!.analysis!;
    expect(spec.properties!.progressDeadlineSeconds!.default).toBe(600);
    expect(spec.properties!.service!.properties!.portName!.default).toBe('http');
    expect(analysis.properties!.interval!.default).toBe('60s');
    expect(analysis.properties!.primaryReadyThreshold!.default).toBe(100);
    expect(analysis.properties!.canaryReadyThreshold!.default).toBe(100);
    expect(analysis.properties!.metrics!.items!.properties!.interval!.default).toBe('1m');
    expect(analysis.properties!.alerts!.items!.properties!.severity!.default).toBe('info');
    expect(analysis.properties!.sessionAffinity!.properties!.maxAge!.default).toBe(86400);
  });
});
