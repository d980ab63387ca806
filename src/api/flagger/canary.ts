/**
 * Flagger's Canary (flagger.app/v1beta1): the release process of one workload. Modelled on the
 * upstream CRD (`artifacts/flagger/crd.yaml`) and the Go types in `pkg/apis/flagger/v1beta1`
 * (flagger.md §1.2). Embedded Istio / Gateway API types follow the upstream CRD's shape: the
 * properties it lists, nothing more.
 *
 * Conditional defaults live in `canary-defaults.ts`, semantic checks in `canary-rules.ts`; both are
 * re-exported here.
 */
import type { KindDefinition } from '../kind.js';
import {
  duration,
  enumOf,
  intOrString,
  mapOf,
  objectHeader,
  type Static,
  stringMap,
  Type,
} from '../schema.js';
import { canaryRules } from './canary-rules.js';
import {
  ALERT_SEVERITIES,
  CANARY_PHASES,
  CANARY_PROVIDERS,
  FLAGGER_API_VERSION,
  FLAGGER_GROUP,
  FLAGGER_VERSION,
  TARGET_KINDS,
  WEBHOOK_TYPES,
} from './constants.js';

export * from './canary-defaults.js';
export { canaryRules } from './canary-rules.js';
export * from './constants.js';

/** The upstream CRD's interval/timeout pattern (note: no `h` unit, and not anchored at the end). */
const UPSTREAM_DURATION_PATTERN = '^[0-9]+(m|s)';
const UPSTREAM_DURATION_HINT =
  'whole seconds or minutes such as 30s or 5m (the Flagger CRD takes no other unit: write 1h as 60m)';

const DNS_SUBDOMAIN_PATTERN = '^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const KIND_PATTERN = '^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$';
const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const SECTION_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const str = (description?: string) => Type.Optional(Type.String(description ? { description } : {}));
const bool = (description?: string) => Type.Optional(Type.Boolean(description ? { description } : {}));
const int = (description?: string) => Type.Optional(Type.Integer(description ? { description } : {}));
const strList = (description?: string) =>
  Type.Optional(Type.Array(Type.String(), description ? { description } : {}));

/** An object reference with the kind limited to `kinds` (targetRef, ingressRef, routeRef). */
const localRef = (kinds: readonly string[], description: string) =>
  Type.Object(
    {
      apiVersion: Type.String(),
      kind: enumOf(kinds),
      name: Type.String(),
    },
    { description },
  );

/** Labels and annotations added to a generated Service. */
const customMetadata = (description: string) =>
  Type.Object(
    { labels: Type.Optional(stringMap()), annotations: Type.Optional(stringMap()) },
    { description },
  );

/** Istio StringMatch: at most one of exact, prefix, regex. */
const stringMatch = () =>
  Type.Object(
    {
      exact: str(),
      prefix: str(),
      regex: str('RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax).'),
    },
    { 'x-vireo-at-most-one-of': ['exact', 'prefix', 'regex'] },
  );

/** Istio HTTPMatchRequest as the upstream CRD lists it for `service.match`. */
const httpMatchRequest = () =>
  Type.Object({
    authority: Type.Optional(stringMatch()),
    gateways: strList('Names of gateways where the rule should be applied.'),
    headers: Type.Optional(mapOf(stringMatch())),
    ignoreUriCase: bool('Match the URI case-insensitively.'),
    method: Type.Optional(stringMatch()),
    name: str('The name assigned to a match.'),
    port: int('Port on the host being addressed.'),
    queryParams: Type.Optional(mapOf(stringMatch(), { description: 'Query parameters for matching.' })),
    scheme: Type.Optional(stringMatch()),
    sourceLabels: Type.Optional(stringMap()),
    sourceNamespace: str('Only apply to workloads in this namespace.'),
    uri: Type.Optional(stringMatch()),
    withoutHeaders: Type.Optional(
      mapOf(stringMatch(), { description: 'Same syntax as headers, with the opposite meaning.' }),
    ),
  });

/** A/B testing match conditions (`analysis.match`), as the upstream CRD lists them. */
const analysisMatch = () =>
  Type.Object({
    headers: Type.Optional(
      mapOf(
        Type.Object(
          {
            exact: str(),
            prefix: str(),
            suffix: str(),
            regex: str('RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax).'),
          },
          { 'x-vireo-at-most-one-of': ['exact', 'prefix', 'suffix', 'regex'] },
        ),
      ),
    ),
    queryParams: Type.Optional(mapOf(stringMatch(), { description: 'Query parameters for matching.' })),
    sourceLabels: Type.Optional(
      stringMap({ description: "Applicable only when the 'mesh' gateway is included in service.gateways." }),
    ),
  });

const headerOperations = () =>
  Type.Object({ add: Type.Optional(stringMap()), remove: strList(), set: Type.Optional(stringMap()) });

/** Gateway API ParentReference (`service.gatewayRefs`). */
const parentReference = () =>
  Type.Object({
    group: Type.Optional(
      Type.String({ default: 'gateway.networking.k8s.io', maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }),
    ),
    kind: Type.Optional(
      Type.String({ default: 'Gateway', maxLength: 63, minLength: 1, pattern: KIND_PATTERN }),
    ),
    name: Type.String({ maxLength: 253, minLength: 1 }),
    namespace: Type.Optional(Type.String({ maxLength: 63, minLength: 1, pattern: DNS_LABEL_PATTERN })),
    sectionName: Type.Optional(Type.String({ maxLength: 253, minLength: 1, pattern: SECTION_NAME_PATTERN })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  });

/** Gateway API HTTPRequestMirrorFilter (`service.mirror`). */
const requestMirror = () =>
  Type.Object({
    backendRef: Type.Object({
      group: Type.Optional(Type.String({ default: '', maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN })),
      kind: Type.Optional(
        Type.String({ default: 'Service', maxLength: 63, minLength: 1, pattern: KIND_PATTERN }),
      ),
      name: Type.String({ maxLength: 253, minLength: 1 }),
      namespace: Type.Optional(Type.String({ maxLength: 63, minLength: 1, pattern: DNS_LABEL_PATTERN })),
      port: Type.Optional(
        Type.Integer({ minimum: 1, maximum: 65535, description: 'Required for a Service reference.' }),
      ),
    }),
  });

const corsPolicy = () =>
  Type.Object(
    {
      allowCredentials: bool(),
      allowHeaders: strList(),
      allowMethods: strList('HTTP methods allowed to access the resource.'),
      allowOrigin: strList('Origins allowed to perform CORS requests.'),
      allowOrigins: Type.Optional(
        Type.Array(Type.Object({ exact: str(), prefix: str(), regex: str() }), {
          description: 'String patterns that match allowed origins (one of exact, prefix, regex each).',
        }),
      ),
      exposeHeaders: strList(),
      maxAge: str(),
    },
    { description: 'Istio Cross-Origin Resource Sharing policy (CORS).' },
  );

const trafficPolicy = () =>
  Type.Object(
    {
      connectionPool: Type.Optional(
        Type.Object({
          http: Type.Optional(
            Type.Object(
              {
                h2UpgradePolicy: Type.Optional(
                  enumOf(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'], {
                    description: 'Whether HTTP/1.1 connections are upgraded to HTTP/2.',
                  }),
                ),
                http1MaxPendingRequests: int('Maximum number of pending HTTP requests to a destination.'),
                http2MaxRequests: int('Maximum number of requests to a backend.'),
                idleTimeout: str('Idle timeout for upstream connection pool connections.'),
                maxRequestsPerConnection: int('Maximum number of requests per connection to a backend.'),
                maxRetries: int(),
              },
              { description: 'HTTP connection pool settings.' },
            ),
          ),
        }),
      ),
      loadBalancer: Type.Optional(
        Type.Object(
          {
            consistentHash: Type.Optional(
              Type.Object({
                httpCookie: Type.Optional(
                  Type.Object(
                    {
                      name: str('Name of the cookie.'),
                      path: str('Path to set for the cookie.'),
                      ttl: str(),
                    },
                    { description: 'Hash based on an HTTP cookie.' },
                  ),
                ),
                httpHeaderName: str('Hash based on an HTTP header.'),
                httpQueryParameterName: str('Hash based on an HTTP query parameter.'),
                minimumRingSize: int(),
                useSourceIp: bool('Hash based on the source IP address.'),
              }),
            ),
            localityLbSetting: Type.Optional(
              Type.Object({
                distribute: Type.Optional(
                  Type.Array(
                    Type.Object({
                      from: str("Originating locality, '/' separated."),
                      to: Type.Optional(
                        mapOf(Type.Integer(), { description: 'Upstream localities to traffic weights.' }),
                      ),
                    }),
                    { description: 'Only one of distribute or failover can be set.' },
                  ),
                ),
                enabled: bool('Enable locality load balancing for this DestinationRule.'),
                failover: Type.Optional(
                  Type.Array(Type.Object({ from: str('Originating region.'), to: str() }), {
                    description: 'Only one of distribute or failover can be set.',
                  }),
                ),
              }),
            ),
            simple: Type.Optional(
              enumOf(['ROUND_ROBIN', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'LEAST_REQUEST']),
            ),
            warmupDurationSecs: str('Warmup duration of the Service.'),
          },
          { description: 'Load balancer algorithm: simple or consistentHash.' },
        ),
      ),
      outlierDetection: Type.Optional(
        Type.Object(
          {
            baseEjectionTime: str('Minimum ejection duration.'),
            consecutive5xxErrors: int('Number of 5xx errors before a host is ejected.'),
            consecutiveErrors: int(),
            consecutiveGatewayErrors: int('Number of gateway errors before a host is ejected.'),
            consecutiveLocalOriginFailures: int('Locally originated failures before ejection.'),
            interval: str('Time between ejection sweep analyses.'),
            maxEjectionPercent: int(),
            minHealthPercent: int(),
            splitExternalLocalOriginErrors: bool('Distinguish local origin failures from external errors.'),
          },
          { description: 'Eviction of unhealthy hosts from the load balancing pool.' },
        ),
      ),
      tls: Type.Optional(
        Type.Object(
          {
            caCertificates: str(),
            clientCertificate: str('Required when mode is MUTUAL.'),
            mode: Type.Optional(enumOf(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'])),
            privateKey: str('Required when mode is MUTUAL.'),
            sni: str('SNI presented to the server during the TLS handshake.'),
            subjectAltNames: strList(),
          },
          { description: 'TLS settings for connections to the upstream service.' },
        ),
      ),
    },
    { description: 'Istio DestinationRule traffic policy for the generated primary and canary rules.' },
  );

export const CanaryServiceSchema = Type.Object(
  {
    name: str('Name of the apex Service; defaults to targetRef.name. Primary/canary get -primary/-canary.'),
    port: Type.Integer({ description: 'Port of the generated ClusterIP Services (required).' }),
    portName: Type.Optional(
      Type.String({ default: 'http', description: 'Port name of the generated Services (default http).' }),
    ),
    appProtocol: str('Service appProtocol; "tcp" makes Istio write TCP routes.'),
    trafficDistribution: Type.Optional(
      enumOf(['PreferClose', 'PreferSameZone', 'PreferSameNode'], {
        description: 'Traffic distribution of the generated Services.',
      }),
    ),
    targetPort: Type.Optional(
      intOrString({ description: 'Container port number or name; defaults to port.' }),
    ),
    portDiscovery: bool('Add all other container ports to the generated Services.'),
    headless: bool('Generate headless Services (clusterIP: None).'),
    timeout: str('HTTP or gRPC request timeout of the generated route.'),
    backendTimeout: str('Backend request timeout (Gateway API only).'),
    meshName: str('App Mesh mesh name.'),
    backends: strList('App Mesh virtual node backends.'),
    hosts: strList('Host names of the generated VirtualService or HTTPRoute; defaults to the Service name.'),
    delegation: bool('Generate an Istio delegate VirtualService (no hosts or gateways).'),
    match: Type.Optional(Type.Array(httpMatchRequest(), { description: 'URI match conditions.' })),
    retries: Type.Optional(
      Type.Object(
        {
          attempts: int('Number of retries for a request.'),
          perTryTimeout: str('Timeout per retry attempt.'),
          retryOn: str('Conditions under which a retry takes place.'),
        },
        { description: 'Retry policy for HTTP requests.' },
      ),
    ),
    rewrite: Type.Optional(
      Type.Object(
        { uri: str(), authority: str(), type: str('Gateway API rewrite type: full or prefix.') },
        { description: 'Rewrite HTTP URIs.' },
      ),
    ),
    mirror: Type.Optional(
      Type.Array(requestMirror(), { description: 'Gateway API request mirror filters.' }),
    ),
    headers: Type.Optional(
      Type.Object(
        { request: Type.Optional(headerOperations()), response: Type.Optional(headerOperations()) },
        { description: 'Header operations.' },
      ),
    ),
    gateways: strList('Istio gateways of the generated VirtualService (default: the mesh gateway).'),
    gatewayRefs: Type.Optional(
      Type.Array(parentReference(), {
        maxItems: 32,
        description: 'Gateway API parent Gateways of the generated HTTPRoute (required for gatewayapi).',
      }),
    ),
    corsPolicy: Type.Optional(corsPolicy()),
    trafficPolicy: Type.Optional(trafficPolicy()),
    apex: Type.Optional(customMetadata('Metadata to add to the apex Service.')),
    primary: Type.Optional(customMetadata('Metadata to add to the primary Service.')),
    canary: Type.Optional(customMetadata('Metadata to add to the canary Service.')),
    unmanagedMetadata: Type.Optional(
      Type.Object(
        { annotations: strList(), labels: strList() },
        { description: 'Metadata keys Flagger must not touch.' },
      ),
    ),
  },
  { description: 'How the ClusterIP Services and the mesh or ingress routing objects are generated.' },
);

const crossNamespaceRef = (description: string, nameDescription: string, namespaceDescription: string) =>
  Type.Object(
    {
      name: Type.String({ description: nameDescription }),
      namespace: str(namespaceDescription),
    },
    { description },
  );

export const CanaryMetricSchema = Type.Object({
  name: Type.String({
    description: 'Name of the metric; request-success-rate and request-duration are builtin.',
  }),
  interval: Type.Optional(
    duration({
      default: '1m',
      pattern: UPSTREAM_DURATION_PATTERN,
      'x-vireo-pattern-hint': UPSTREAM_DURATION_HINT,
      description: 'Query window (default 1m).',
    }),
  ),
  threshold: Type.Optional(
    Type.Number({
      description: 'Deprecated: a single bound (min for request-success-rate, else max).',
      'x-vireo-deprecated': 'thresholdRange',
    }),
  ),
  thresholdRange: Type.Optional(
    Type.Object(
      {
        min: Type.Optional(Type.Number({ description: 'Minimum value accepted for this metric.' })),
        max: Type.Optional(Type.Number({ description: 'Maximum value accepted for this metric.' })),
      },
      { description: 'Range accepted for this metric (inclusive; request-duration in milliseconds).' },
    ),
  ),
  query: Type.Optional(
    Type.String({
      description: 'Deprecated: inline Prometheus query.',
      'x-vireo-deprecated': 'templateRef (a MetricTemplate)',
    }),
  ),
  templateRef: Type.Optional(
    crossNamespaceRef(
      'Metric template reference.',
      'Name of the MetricTemplate.',
      'Namespace of the MetricTemplate (default: the Canary namespace).',
    ),
  ),
  templateVariables: Type.Optional(
    stringMap({ description: 'Additional variables for the metric query (key-value pairs).' }),
  ),
});

export const CanaryWebhookSchema = Type.Object({
  name: Type.String({ description: 'Name of the webhook.' }),
  type: Type.Optional(
    enumOf(WEBHOOK_TYPES, { description: 'When the webhook is called; empty means rollout.' }),
  ),
  muteAlert: bool('Mute all alerts for this webhook.'),
  url: Type.String({ format: 'url', description: 'URL this webhook POSTs to.' }),
  timeout: Type.Optional(
    duration({
      pattern: UPSTREAM_DURATION_PATTERN,
      'x-vireo-pattern-hint': UPSTREAM_DURATION_HINT,
      description: 'Request timeout (default 10s).',
    }),
  ),
  retries: int('Number of retries for this webhook.'),
  disableTLS: bool('Disable TLS verification for this webhook.'),
  metadata: Type.Optional(stringMap({ description: 'Metadata (key-value pairs) sent with the payload.' })),
});

export const CanaryAlertSchema = Type.Object({
  name: Type.String({ description: 'Name of this alert.' }),
  severity: Type.Optional(
    enumOf(ALERT_SEVERITIES, {
      default: 'info',
      description: 'info receives everything, warn receives warn and error, error only error (default info).',
    }),
  ),
  providerRef: crossNamespaceRef(
    'Alert provider reference.',
    'Name of the AlertProvider.',
    'Namespace of the AlertProvider (default: the Canary namespace).',
  ),
});

export const SessionAffinitySchema = Type.Object(
  {
    cookieName: Type.String({ description: 'Name of the cookie that pins a user to the canary.' }),
    primaryCookieName: str('Name of the cookie that pins a user to the primary for one interval.'),
    domain: str('Host to which the cookie is sent.'),
    httpOnly: bool('Forbid JavaScript access to the cookie.'),
    maxAge: Type.Optional(
      Type.Integer({ default: 86400, description: 'Seconds until the cookie expires (default 86400).' }),
    ),
    partitioned: bool('Store the cookie in partitioned storage.'),
    path: str('Path that must exist in the URL for the browser to send the cookie.'),
    sameSite: Type.Optional(enumOf(['Strict', 'Lax', 'None'], { description: 'SameSite attribute.' })),
    secure: bool('Send the cookie only over https.'),
  },
  { description: 'Session affinity for a canary run (Istio and Gateway API).' },
);

const analysisSchema = (opts: Record<string, unknown>) =>
  Type.Object(
    {
      interval: Type.Optional(
        duration({
          default: '60s',
          pattern: UPSTREAM_DURATION_PATTERN,
          'x-vireo-pattern-hint': UPSTREAM_DURATION_HINT,
          description: 'Schedule interval (default 60s; below 10s counts as 10s).',
        }),
      ),
      iterations: int('Number of checks for A/B testing and blue/green.'),
      threshold: int('Failed checks before rollback (1 when not positive).'),
      maxWeight: int('Weight at which the canary is promoted (default 100; ignored with stepWeights).'),
      stepWeight: int('Linear weight increment per interval.'),
      stepWeights: Type.Optional(
        Type.Array(Type.Integer(), {
          description: 'Explicit increasing weight ladder, e.g. [1, 10, 50, 80].',
        }),
      ),
      stepWeightPromotion: int('Weight step for moving traffic back to the primary (0: all at once).'),
      mirror: bool('Mirror traffic to the canary.'),
      mirrorWeight: int('Percentage of traffic mirrored (0: provider default, 100%).'),
      primaryReadyThreshold: Type.Optional(
        Type.Integer({
          default: 100,
          description: 'Percent of primary pods that must be available (default 100).',
        }),
      ),
      canaryReadyThreshold: Type.Optional(
        Type.Integer({
          default: 100,
          description: 'Percent of canary pods that must be available (default 100).',
        }),
      ),
      match: Type.Optional(Type.Array(analysisMatch(), { description: 'A/B testing match conditions.' })),
      metrics: Type.Optional(Type.Array(CanaryMetricSchema, { description: 'Metric checks.' })),
      alerts: Type.Optional(Type.Array(CanaryAlertSchema, { description: 'Alerts for this canary.' })),
      webhooks: Type.Optional(Type.Array(CanaryWebhookSchema, { description: 'Webhooks for this canary.' })),
      sessionAffinity: Type.Optional(SessionAffinitySchema),
    },
    opts,
  );

export const CanaryAnalysisSchema = analysisSchema({ description: 'How the release is analysed.' });

export const CanarySpecSchema = Type.Object({
  provider: Type.Optional(
    enumOf(CANARY_PROVIDERS, {
      description: 'Traffic management provider; overrides the controller default.',
    }),
  ),
  metricsServer: str('Prometheus URL for the builtin metrics; overrides the controller default.'),
  progressDeadlineSeconds: Type.Optional(
    Type.Integer({
      default: 600,
      description: 'Seconds the rollout may take to progress before it fails (default 600).',
    }),
  ),
  targetRef: localRef(TARGET_KINDS, 'The workload to release: a Deployment, DaemonSet or (Knative) Service.'),
  autoscalerRef: Type.Optional(
    Type.Object(
      {
        apiVersion: Type.String(),
        kind: enumOf(['HorizontalPodAutoscaler', 'ScaledObject']),
        name: Type.String(),
        primaryScalerQueries: Type.Optional(
          stringMap({ description: 'Queries for the primary scaler by trigger id (KEDA).' }),
        ),
        primaryScalerReplicas: Type.Optional(
          Type.Object(
            {
              minReplicas: Type.Optional(Type.Integer({ minimum: 1 })),
              maxReplicas: Type.Optional(Type.Integer({ minimum: 1 })),
            },
            { description: 'Replica overrides for the primary autoscaler.' },
          ),
        ),
      },
      { description: 'The HPA or KEDA ScaledObject to copy for the primary.' },
    ),
  ),
  ingressRef: Type.Optional(localRef(['Ingress'], 'The NGINX Ingress to clone for the canary.')),
  routeRef: Type.Optional(localRef(['ApisixRoute'], 'The APISIX route.')),
  upstreamRef: Type.Optional(
    Type.Object(
      { apiVersion: Type.String(), kind: enumOf(['Upstream']), name: Type.String(), namespace: str() },
      { description: 'Gloo Upstream whose config is copied to the generated upstreams.' },
    ),
  ),
  service: Type.Optional(CanaryServiceSchema),
  analysis: Type.Optional(CanaryAnalysisSchema),
  canaryAnalysis: Type.Optional(
    analysisSchema({
      description: 'Deprecated alias of analysis (used only when analysis is absent).',
      'x-vireo-deprecated': 'spec.analysis',
    }),
  ),
  skipAnalysis: bool('Promote every change without analysis.'),
  revertOnDeletion: bool('On deletion, restore the target, apex Service and mesh objects.'),
  suspend: bool('Pause all canary runs.'),
});

export const CanaryConditionSchema = Type.Object({
  lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastUpdateTime: Type.Optional(Type.String({ format: 'date-time' })),
  message: str(),
  reason: Type.String({ description: 'The phase the condition reflects.' }),
  status: Type.String({ description: 'True, False or Unknown.' }),
  type: Type.String({ description: 'Condition type; Flagger writes Promoted.' }),
});

export const CanaryStatusSchema = Type.Object({
  phase: Type.Optional(enumOf(CANARY_PHASES, { description: 'Analysis phase.' })),
  failedChecks: int('Failed checks in the current run.'),
  canaryWeight: int('Traffic weight routed to the canary.'),
  iterations: int('Iterations done in the current run.'),
  trackedConfigs: Type.Optional(stringMap({ description: 'ConfigMap/Secret name to checksum.' })),
  lastAppliedSpec: str('Hash of the target pod template last seen.'),
  lastPromotedSpec: str('Hash of the target pod template last promoted.'),
  lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
  sessionAffinityCookie: str('Session affinity cookie of the current run.'),
  primarySessionAffinityCookie: str('Primary session affinity cookie of the current run.'),
  previousSessionAffinityCookie: str('Session affinity cookie of the previous run.'),
  conditions: Type.Optional(Type.Array(CanaryConditionSchema)),
});

export const CanarySchema = Type.Object(
  {
    ...objectHeader(FLAGGER_API_VERSION, 'Canary'),
    spec: CanarySpecSchema,
    status: Type.Optional(CanaryStatusSchema),
  },
  { description: 'Canary is the configuration of a progressive release of one workload.' },
);

export type Canary = Static<typeof CanarySchema>;
export type CanarySpec = Static<typeof CanarySpecSchema>;
export type CanaryService = Static<typeof CanaryServiceSchema>;
export type CanaryAnalysis = Static<typeof CanaryAnalysisSchema>;
export type CanaryMetric = Static<typeof CanaryMetricSchema>;
export type CanaryWebhook = Static<typeof CanaryWebhookSchema>;
export type CanaryAlert = Static<typeof CanaryAlertSchema>;
export type SessionAffinity = Static<typeof SessionAffinitySchema>;
export type CanaryStatus = Static<typeof CanaryStatusSchema>;
export type CanaryPhase = (typeof CANARY_PHASES)[number];

export const canaryKind: KindDefinition = {
  group: FLAGGER_GROUP,
  version: FLAGGER_VERSION,
  kind: 'Canary',
  plural: 'canaries',
  singular: 'canary',
  categories: ['all'],
  scope: 'Namespaced',
  schema: CanarySchema,
  subresources: { status: true },
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase' },
    { name: 'Weight', type: 'string', jsonPath: '.status.canaryWeight' },
    { name: 'Suspended', type: 'boolean', jsonPath: '.spec.suspend', priority: 1 },
    { name: 'FailedChecks', type: 'string', jsonPath: '.status.failedChecks', priority: 1 },
    { name: 'Interval', type: 'string', jsonPath: '.spec.analysis.interval', priority: 1 },
    { name: 'Mirror', type: 'boolean', jsonPath: '.spec.analysis.mirror', priority: 1 },
    { name: 'StepWeight', type: 'string', jsonPath: '.spec.analysis.stepWeight', priority: 1 },
    { name: 'StepWeights', type: 'string', jsonPath: '.spec.analysis.stepWeights', priority: 1 },
    { name: 'MaxWeight', type: 'string', jsonPath: '.spec.analysis.maxWeight', priority: 1 },
    { name: 'LastTransitionTime', type: 'string', jsonPath: '.status.lastTransitionTime' },
  ],
  rules: canaryRules,
};

export const kinds: KindDefinition[] = [canaryKind];
