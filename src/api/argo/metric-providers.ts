/**
 * Metric providers of Argo Rollouts analysis (`Metric.provider`), one schema per provider, with the
 * field names and types of the upstream CRD (argo-rollouts v1.9.1 `analysis_types.go`). A metric sets
 * exactly one of them (checked in analysis-rules.ts, not here: the CRD cannot express it).
 *
 * Durations inside providers are plain strings, not `duration()`, because any string of a metric may
 * hold an `{{args.x}}` placeholder that is only resolved when the AnalysisRun runs; the rules check
 * them as Go durations once no placeholder is left.
 */
import { labelSelector, podTemplateSpec } from '../kube.js';
import { enumOf, freeform, intOrString, openObject, stringMap, Type, templateMeta } from '../schema.js';

const str = (description?: string) => Type.Optional(Type.String(description ? { description } : {}));

/** `{key, value}` HTTP header, as the prometheus and web providers take them. */
const header = () => Type.Object({ key: Type.String(), value: Type.String() });

const sigv4 = () =>
  Type.Object(
    {
      region: str('AWS region of the managed Prometheus workspace.'),
      profile: str('AWS profile to take credentials from.'),
      roleArn: str('Role to assume for the request.'),
    },
    { description: 'AWS Signature Version 4 request signing.' },
  );

const oauth2 = () =>
  Type.Object(
    {
      tokenUrl: str('Token endpoint of the OAuth2 client-credentials flow.'),
      clientId: Type.Optional(Type.String()),
      clientSecret: str('Usually an `{{args.x}}` placeholder filled from a Secret.'),
      scopes: Type.Optional(Type.Array(Type.String())),
    },
    { description: 'OAuth2 client-credentials authentication.' },
  );

/**
 * Authentication of the prometheus and web providers. Open: newer Argo releases add methods here
 * (`basicAuth` on master), and a field written for them is kept rather than rejected.
 */
const authentication = () =>
  openObject(
    {
      sigv4: Type.Optional(sigv4()),
      oauth2: Type.Optional(oauth2()),
      basicAuth: Type.Optional(
        openObject(
          { username: Type.Optional(Type.String()), password: Type.Optional(Type.String()) },
          { description: 'HTTP basic authentication (Argo Rollouts master, unreleased in v1.9).' },
        ),
      ),
    },
    { description: 'How to authenticate to the metric source; set one method.' },
  );

export const prometheusMetric = () =>
  Type.Object(
    {
      address: str(
        'HTTP address of the Prometheus server. When empty, the ARGO_ROLLOUTS_PROMETHEUS_ADDRESS environment variable of the controller is used.',
      ),
      query: str('PromQL query. `result` is a float for a scalar, a list of floats for a vector or matrix.'),
      timeout: Type.Optional(Type.Integer({ format: 'int64', description: 'Query timeout in seconds.' })),
      insecure: Type.Optional(Type.Boolean({ description: 'Skip TLS certificate verification.' })),
      headers: Type.Optional(
        Type.Array(header(), { description: 'Extra HTTP headers sent with the query.' }),
      ),
      authentication: Type.Optional(authentication()),
      rangeQuery: Type.Optional(
        Type.Object(
          {
            start: str('Expression for the range start, e.g. `now() - duration("1h")`.'),
            end: str('Expression for the range end, e.g. `now()`.'),
            step: str('Resolution step, a Go duration such as `1m`.'),
          },
          { description: 'Run a range query instead of an instant query.' },
        ),
      ),
    },
    { description: 'Prometheus query.' },
  );

export const datadogMetric = () =>
  Type.Object(
    {
      interval: Type.Optional(
        Type.String({ default: '5m', description: 'Time window the v1 query covers, a Go duration.' }),
      ),
      query: str('Query for API v1 (or a single v2 query).'),
      queries: Type.Optional(stringMap({ description: 'Named queries for API v2, combined by `formula`.' })),
      formula: str('Formula over the named `queries` (API v2).'),
      apiVersion: Type.Optional(enumOf(['v1', 'v2'], { default: 'v1', description: 'Datadog API version.' })),
      aggregator: Type.Optional(
        enumOf(['avg', 'min', 'max', 'sum', 'last', 'percentile', 'mean', 'l2norm', 'area'], {
          description: 'How API v2 aggregates the series into one value.',
        }),
      ),
      secretRef: Type.Optional(
        Type.Object(
          {
            name: str('Secret holding `api-key`, `app-key` and `address`.'),
            namespaced: Type.Optional(
              Type.Boolean({
                description: "Read the Secret from the AnalysisRun's namespace instead of the controller's.",
              }),
            ),
          },
          { description: 'Secret with the Datadog credentials.' },
        ),
      ),
    },
    { description: 'Datadog query.' },
  );

export const newRelicMetric = () =>
  Type.Object(
    {
      profile: str('Name of the Secret holding the New Relic account settings.'),
      query: Type.String({ description: 'NRQL query.' }),
      timeout: Type.Optional(Type.Integer({ format: 'int64', description: 'Query timeout in seconds.' })),
    },
    { description: 'New Relic NRQL query.' },
  );

export const wavefrontMetric = () =>
  Type.Object(
    { address: str('Wavefront server address.'), query: str('Wavefront query.') },
    { description: 'Wavefront query.' },
  );

const scopeDetail = () =>
  Type.Object({
    scope: Type.String(),
    region: Type.String(),
    step: Type.Integer({ format: 'int64', description: 'Step in seconds.' }),
    start: str('Start time (RFC 3339); defaults to the start of the analysis or now minus the interval.'),
    end: str('End time (RFC 3339); defaults to now.'),
  });

export const kayentaMetric = () =>
  Type.Object(
    {
      address: Type.String(),
      application: Type.String(),
      canaryConfigName: Type.String(),
      metricsAccountName: Type.String(),
      configurationAccountName: Type.String(),
      storageAccountName: Type.String(),
      threshold: Type.Object(
        {
          pass: Type.Integer({
            format: 'int64',
            description: 'Score at or above which the measurement is Successful.',
          }),
          marginal: Type.Integer({
            format: 'int64',
            description: 'Score at or above which the measurement is Inconclusive.',
          }),
        },
        { description: 'Score thresholds; below `marginal` the measurement is Failed.' },
      ),
      scopes: Type.Array(
        Type.Object({ name: Type.String(), controlScope: scopeDetail(), experimentScope: scopeDetail() }),
      ),
      lookback: Type.Optional(
        Type.Boolean({
          description: 'Start every scope at the start of the analysis instead of now minus the interval.',
        }),
      ),
    },
    { description: 'Kayenta (Spinnaker) canary judgement.' },
  );

export const webMetric = () =>
  Type.Object(
    {
      // A plain string as upstream: Argo passes the method to Go's http.NewRequest as written.
      method: Type.Optional(
        Type.String({ default: 'GET', description: 'HTTP method (GET, POST, PUT, ...).' }),
      ),
      url: Type.String({ description: 'URL to request.' }),
      headers: Type.Optional(Type.Array(header(), { description: 'HTTP headers.' })),
      body: str('Request body as text (POST or PUT only).'),
      jsonBody: Type.Optional(
        freeform({ description: 'Request body as JSON (POST or PUT only); not with `body`.' }),
      ),
      timeoutSeconds: Type.Optional(
        Type.Integer({ format: 'int64', default: 10, description: 'Request timeout in seconds.' }),
      ),
      jsonPath: Type.Optional(
        Type.String({
          default: '{$}',
          description: 'JSONPath selecting the value given to the conditions as `result`.',
        }),
      ),
      insecure: Type.Optional(Type.Boolean({ description: 'Skip TLS certificate verification.' })),
      authentication: Type.Optional(authentication()),
    },
    { description: 'Generic HTTP request.' },
  );

/**
 * A batch/v1 JobSpec. The fields Vireo reads are modelled; the rest (podFailurePolicy, successPolicy…)
 * is kept as written.
 */
const jobSpec = () =>
  openObject(
    {
      template: podTemplateSpec(),
      backoffLimit: Type.Optional(Type.Integer({ description: 'Retries before the Job is Failed.' })),
      backoffLimitPerIndex: Type.Optional(Type.Integer()),
      maxFailedIndexes: Type.Optional(Type.Integer()),
      activeDeadlineSeconds: Type.Optional(
        Type.Integer({ format: 'int64', description: 'Time limit of the Job in seconds.' }),
      ),
      ttlSecondsAfterFinished: Type.Optional(Type.Integer()),
      parallelism: Type.Optional(Type.Integer()),
      completions: Type.Optional(Type.Integer()),
      completionMode: Type.Optional(Type.String()),
      suspend: Type.Optional(Type.Boolean()),
      selector: Type.Optional(labelSelector()),
      manualSelector: Type.Optional(Type.Boolean()),
      podFailurePolicy: Type.Optional(freeform()),
      successPolicy: Type.Optional(freeform()),
      podReplacementPolicy: Type.Optional(Type.String()),
      managedBy: Type.Optional(Type.String()),
    },
    { description: 'batch/v1 JobSpec.' },
  );

export const jobMetric = () =>
  Type.Object(
    {
      metadata: Type.Optional(templateMeta()),
      spec: jobSpec(),
    },
    { description: 'Kubernetes Job: Successful when it completes, Failed when it fails.' },
  );

const cloudWatchMetricDataQuery = () =>
  Type.Object({
    id: Type.Optional(Type.String()),
    expression: Type.Optional(Type.String()),
    label: Type.Optional(Type.String()),
    metricStat: Type.Optional(
      Type.Object({
        metric: Type.Optional(
          Type.Object({
            dimensions: Type.Optional(
              Type.Array(
                Type.Object({ name: Type.Optional(Type.String()), value: Type.Optional(Type.String()) }),
              ),
            ),
            metricName: Type.Optional(Type.String()),
            namespace: Type.Optional(Type.String()),
          }),
        ),
        period: Type.Optional(intOrString({ description: 'Period in seconds.' })),
        stat: Type.Optional(Type.String()),
        unit: Type.Optional(Type.String()),
      }),
    ),
    period: Type.Optional(intOrString({ description: 'Period in seconds.' })),
    returnData: Type.Optional(Type.Boolean()),
  });

export const cloudWatchMetric = () =>
  Type.Object(
    {
      interval: str('Time window queried, a Go duration (default 5m).'),
      metricDataQueries: Type.Array(cloudWatchMetricDataQuery(), { description: 'GetMetricData queries.' }),
    },
    { description: 'Amazon CloudWatch GetMetricData query.' },
  );

export const graphiteMetric = () =>
  Type.Object(
    { address: str('Graphite server address.'), query: str('Graphite query.') },
    { description: 'Graphite query.' },
  );

export const influxdbMetric = () =>
  Type.Object(
    {
      profile: str('Name of the Secret holding the InfluxDB address, token and org.'),
      query: str('Flux query.'),
    },
    { description: 'InfluxDB Flux query.' },
  );

export const skywalkingMetric = () =>
  Type.Object(
    {
      address: str('SkyWalking OAP server address.'),
      query: str('GraphQL query.'),
      interval: str('Time window queried, a Go duration.'),
    },
    { description: 'Apache SkyWalking GraphQL query.' },
  );

/** The providers of `Metric.provider`; exactly one must be set. */
export const providerNames = [
  'prometheus',
  'datadog',
  'newRelic',
  'wavefront',
  'kayenta',
  'web',
  'job',
  'cloudWatch',
  'graphite',
  'influxdb',
  'skywalking',
  'plugin',
] as const;
export type ProviderName = (typeof providerNames)[number];

export const metricProvider = () =>
  Type.Object(
    {
      prometheus: Type.Optional(prometheusMetric()),
      datadog: Type.Optional(datadogMetric()),
      newRelic: Type.Optional(newRelicMetric()),
      wavefront: Type.Optional(wavefrontMetric()),
      kayenta: Type.Optional(kayentaMetric()),
      web: Type.Optional(webMetric()),
      job: Type.Optional(jobMetric()),
      cloudWatch: Type.Optional(cloudWatchMetric()),
      graphite: Type.Optional(graphiteMetric()),
      influxdb: Type.Optional(influxdbMetric()),
      skywalking: Type.Optional(skywalkingMetric()),
      plugin: Type.Optional(
        freeform({
          description:
            'A metric plugin: one key, the plugin name (e.g. `argoproj-labs/sample-prometheus`), with its config.',
        }),
      ),
    },
    { description: 'Where the measurement comes from; set exactly one provider.' },
  );
