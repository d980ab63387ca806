/** Names and closed value sets of the Flagger dialect, as the upstream CRDs list them. */

export const FLAGGER_GROUP = 'flagger.app';
export const FLAGGER_VERSION = 'v1beta1';
export const FLAGGER_API_VERSION = `${FLAGGER_GROUP}/${FLAGGER_VERSION}`;

/** `spec.provider` values the upstream CRD accepts. */
export const CANARY_PROVIDERS = [
  'apisix',
  'appmesh',
  'appmesh:v1beta2',
  'contour',
  'gatewayapi:v1',
  'gatewayapi:v1beta1',
  'gloo',
  'istio',
  'knative',
  'kubernetes',
  'kuma',
  'linkerd',
  'nginx',
  'osm',
  'skipper',
  'smi:v1alpha1',
  'smi:v1alpha2',
  'smi:v1alpha3',
  'traefik',
] as const;

export const TARGET_KINDS = ['DaemonSet', 'Deployment', 'Service'] as const;

/** Webhook types (`HookType`); empty means `rollout`. */
export const WEBHOOK_TYPES = [
  '',
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-promotion',
  'post-rollout',
  'event',
  'rollback',
  'confirm-traffic-increase',
] as const;

export const ALERT_SEVERITIES = ['', 'info', 'warn', 'error'] as const;

export const CANARY_PHASES = [
  '',
  'Initializing',
  'Initialized',
  'Waiting',
  'Progressing',
  'WaitingPromotion',
  'Promoting',
  'Finalising',
  'Succeeded',
  'Failed',
  'Terminating',
  'Terminated',
] as const;

/** MetricTemplate `spec.provider.type` values the upstream CRD accepts. */
export const METRIC_PROVIDER_TYPES = [
  'prometheus',
  'influxdb',
  'datadog',
  'externalmetrics',
  'stackdriver',
  'cloudwatch',
  'newrelic',
  'graphite',
  'dynatrace',
  'keptn',
  'splunk',
] as const;

/** AlertProvider `spec.type` values the upstream CRD accepts. */
export const ALERT_PROVIDER_TYPES = ['slack', 'msteams', 'discord', 'rocket', 'gchat'] as const;
