/**
 * Flagger's MetricTemplate (flagger.app/v1beta1): a query against a metrics provider that a Canary
 * metric references by `templateRef` (flagger.md §1.6; upstream `pkg/apis/flagger/v1beta1/metric.go`,
 * `pkg/metrics/providers`).
 */
import { type Diagnostic, error, warning } from '../diagnostics.js';
import type { KindDefinition, Rule } from '../kind.js';
import { enumOf, mapOf, objectHeader, type Static, Type } from '../schema.js';
import { FLAGGER_API_VERSION, FLAGGER_GROUP, FLAGGER_VERSION, METRIC_PROVIDER_TYPES } from './constants.js';
import { has, isHttpUrl, isObj, nonEmpty, obj, str } from './loose.js';

/** Provider types whose client refuses to start without `address` ("address is not a valid URL"). */
export const ADDRESS_REQUIRED_PROVIDERS = ['prometheus', 'graphite', 'influxdb'] as const;

export const MetricTemplateProviderSchema = Type.Object(
  {
    type: enumOf(METRIC_PROVIDER_TYPES, { description: 'Type of the metrics provider.' }),
    address: Type.Optional(
      Type.String({
        description: 'API address of the provider (required for prometheus, graphite and influxdb).',
      }),
    ),
    headers: Type.Optional(
      mapOf(Type.Array(Type.String()), { description: 'Headers added to the HTTP(S) requests.' }),
    ),
    secretRef: Type.Optional(
      Type.Object(
        { name: Type.String({ description: 'Name of the Kubernetes Secret.' }) },
        { description: 'Secret in the template namespace holding the provider credentials.' },
      ),
    ),
    region: Type.Optional(Type.String({ description: 'Region of the provider (required for cloudwatch).' })),
    insecureSkipVerify: Type.Optional(
      Type.Boolean({ description: 'Disable TLS certificate validation for the provider address.' }),
    ),
  },
  { description: 'Provider of this metric template.' },
);

export const MetricTemplateSpecSchema = Type.Object({
  provider: MetricTemplateProviderSchema,
  query: Type.String({
    description:
      'Query template, rendered with {{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ ingress }}, {{ interval }} and {{ variables.<key> }}.',
  }),
});

const conditionSchema = () =>
  Type.Object({
    type: Type.String(),
    status: Type.String({ description: 'True, False or Unknown.' }),
    lastUpdateTime: Type.Optional(Type.String({ format: 'date-time' })),
    lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  });

export const MetricTemplateStatusSchema = Type.Object({
  conditions: Type.Optional(Type.Array(conditionSchema())),
});

export const MetricTemplateSchema = Type.Object(
  {
    ...objectHeader(FLAGGER_API_VERSION, 'MetricTemplate'),
    spec: MetricTemplateSpecSchema,
    status: Type.Optional(MetricTemplateStatusSchema),
  },
  { description: 'MetricTemplate is a metric query that Canary analyses reference.' },
);

export type MetricTemplate = Static<typeof MetricTemplateSchema>;
export type MetricTemplateSpec = Static<typeof MetricTemplateSpecSchema>;
export type MetricTemplateProvider = Static<typeof MetricTemplateProviderSchema>;

/** `provider.type` must be one Flagger has a client for (unknown types silently fall back to prometheus). */
export const checkMetricProviderType: Rule = (o) => {
  const provider = obj(o.spec, 'provider');
  const type = provider?.type;
  if (typeof type === 'string' && (METRIC_PROVIDER_TYPES as readonly string[]).includes(type)) return [];
  return [
    error(
      'flagger/metric-provider-type',
      ['spec', 'provider', 'type'],
      type === undefined || type === null
        ? 'the provider type is required'
        : 'is not a metrics provider Flagger supports',
      { value: type ?? undefined, allowed: METRIC_PROVIDER_TYPES.join(', ') },
    ),
  ];
};

/** `query` is required and must not be blank. */
export const checkMetricQuery: Rule = (o) => {
  const query = isObj(o.spec) ? o.spec.query : undefined;
  if (typeof query === 'string' && query.trim() !== '') return [];
  return [
    error('flagger/metric-template-query', ['spec', 'query'], 'the query is required', {
      value: query ?? undefined,
      allowed: 'a query for the provider, e.g. PromQL for prometheus',
    }),
  ];
};

/** Address (prometheus, graphite, influxdb) and region (cloudwatch) the provider client needs. */
export const checkMetricProviderConnection: Rule = (o) => {
  const provider = obj(o.spec, 'provider');
  if (!provider) return [];
  const out: Diagnostic[] = [];
  const type = str(provider, 'type');
  const address = str(provider, 'address');
  if (
    type !== undefined &&
    (ADDRESS_REQUIRED_PROVIDERS as readonly string[]).includes(type) &&
    !nonEmpty(address)
  )
    out.push(
      error(
        'flagger/metric-provider-address',
        ['spec', 'provider', 'address'],
        `the ${type} provider needs an address`,
        {
          allowed: type === 'prometheus' ? 'e.g. http://prometheus.istio-system:9090' : 'an http(s) URL',
        },
      ),
    );
  else if (nonEmpty(address) && !isHttpUrl(address))
    out.push(
      warning(
        'flagger/metric-provider-address-url',
        ['spec', 'provider', 'address'],
        'is not an absolute http(s) URL',
        {
          value: address,
          allowed: 'e.g. http://prometheus.istio-system:9090',
        },
      ),
    );
  if (type === 'cloudwatch' && !nonEmpty(str(provider, 'region')))
    out.push(
      error(
        'flagger/metric-provider-region',
        ['spec', 'provider', 'region'],
        'the cloudwatch provider needs a region',
        {
          value: has(provider, 'region') ? provider.region : undefined,
          allowed: 'an AWS region, e.g. us-east-1',
        },
      ),
    );
  return out;
};

export const metricTemplateRules: Rule[] = [
  checkMetricProviderType,
  checkMetricQuery,
  checkMetricProviderConnection,
];

export const metricTemplateKind: KindDefinition = {
  group: FLAGGER_GROUP,
  version: FLAGGER_VERSION,
  kind: 'MetricTemplate',
  plural: 'metrictemplates',
  singular: 'metrictemplate',
  categories: ['all'],
  scope: 'Namespaced',
  schema: MetricTemplateSchema,
  subresources: { status: true },
  printerColumns: [{ name: 'Provider', type: 'string', jsonPath: '.spec.provider.type' }],
  rules: metricTemplateRules,
};

export const kinds: KindDefinition[] = [metricTemplateKind];
