/**
 * Flagger's Prometheus checks (flagger.md §1.5-1.6; upstream `pkg/metrics/providers/prometheus.go`,
 * `pkg/metrics/observers/*.go`), as two `CheckProvider`s:
 *
 * - `FlaggerPrometheusCheckProvider` (type `prometheus`): a MetricTemplate with `provider.type:
 *   prometheus` (or a metric's deprecated inline `query`). The query is rendered with Flagger's model
 *   (`{{ namespace }}`, `{{ target }}`, `{{ interval }}`, `{{ variables.x }}`…, promql-template.ts),
 *   whitespace collapsed, and sent as Flagger sends it: GET `/api/v1/query`, 5 s timeout, bearer
 *   `token` or `username`/`password` from the template's Secret, `headers`, `insecureSkipVerify`.
 *   That is all the TLS and credentials Flagger has: the MetricTemplate CRD has no CA or client
 *   certificate field and its Prometheus client reads no other Secret key, so neither does Vireo.
 * - `FlaggerBuiltinCheckProvider` (type `builtin`): `request-success-rate` (percent of non-5xx) and
 *   `request-duration` (milliseconds) with the PromQL Flagger uses for the Canary's mesh provider
 *   (`BUILTIN_QUERIES`: every observer Flagger has, Skipper, APISIX and Knative included), against
 *   the Canary's `metricsServer` or the controller's default.
 *
 * The value of a check is one sample of the answer; an empty answer or NaN is `no values found`, the
 * error Flagger halts advancement on. Everything else that fails (connection, HTTP, JSON, a range
 * result) is an error with Prometheus' message, never a value.
 *
 * The adapter resolves the MetricTemplate (query, provider block) and the Secret (ADR 8): Secret data
 * comes in `ctx.argValues` (`token`, or `username` and `password`). What the templates refer to (the
 * Canary's namespace, target, service…) comes from `ctx.scope` or the provider's `scope` option.
 *
 * Differences from Flagger, on purpose:
 *   - of several series Vireo takes the first sample (Flagger's loop keeps the last one; for the usual
 *     single-series query they are the same);
 *   - a scalar answer is its value (Flagger fails to decode it); a matrix is an error as in Flagger;
 *   - template variables or model fields without a value are errors that name them (promql-template.ts).
 */
import { BUILTIN_METRICS } from '../../api/flagger/canary-defaults.js';
import type { MetricResult } from '../../engine/flagger/types.js';
import type { CheckProvider, MeasureContext, ResolvedCheck } from '../provider.js';
import {
  type PromData,
  PrometheusError,
  type PromTarget,
  parseSampleValue,
  queryPrometheus,
} from './prometheus.js';
import { collapseWhitespace, renderTemplate, TemplateError, type TemplateModel } from './promql-template.js';

/** Flagger's `ErrNoValuesFound` text; the Flagger machine halts advancement on it. */
export const NO_VALUES_FOUND = 'no values found';
/** Flagger's Prometheus client timeout. */
export const FLAGGER_PROMETHEUS_TIMEOUT_MS = 5_000;
/** Flagger's `-metrics-server` default. */
export const DEFAULT_METRICS_SERVER = 'http://prometheus:9090';

/** What the queries of one Canary refer to (Flagger's MetricTemplateModel without the interval). */
export interface CanaryScope {
  namespace?: string;
  /** `spec.targetRef.name`. */
  target?: string;
  /** `spec.service.name` (default: the target). */
  service?: string;
  /** `spec.ingressRef.name` (default: the target). */
  ingress?: string;
  /** `spec.routeRef.name` (default: the target); for Knative the latest created revision. */
  route?: string;
  /** `spec.provider` or the controller's mesh provider (builtin metrics; default istio). */
  meshProvider?: string;
  /** `spec.metricsServer` or the controller's `-metrics-server` (builtin metrics). */
  metricsServer?: string;
}

/** The context a Flagger check gets, with the optional scope of the Canary it runs for. */
export type FlaggerCheckContext = Omit<MeasureContext, 'run'> & { canary: string; scope?: CanaryScope };

export interface FlaggerCheckOptions {
  /** Scope used when the context brings none (a provider made for one Canary). */
  scope?: CanaryScope;
  /** Query this address instead of the template's (`vireo analyze --address`). */
  addressOverride?: string;
}

/** Flagger's template model for one check. */
export function templateModel(
  request: ResolvedCheck,
  canary: string,
  scope: CanaryScope = {},
): TemplateModel {
  const target = scope.target;
  return {
    name: canary,
    ...(scope.namespace !== undefined ? { namespace: scope.namespace } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(scope.service || target ? { service: scope.service || target } : {}),
    ...(scope.ingress || target ? { ingress: scope.ingress || target } : {}),
    ...(scope.route || target ? { route: scope.route || target } : {}),
    interval: request.interval,
    variables: request.templateVariables ?? {},
  };
}

class CheckError extends Error {}

/**
 * The value Flagger reads from an answer: the first sample of a vector (or the scalar); empty or NaN
 * -> `no values found`; a matrix -> an error, as Flagger refuses several values per series.
 */
export function flaggerValue(data: PromData): number {
  let value: number | undefined;
  if (data.resultType === 'scalar') value = parseSampleValue(data.result[1]);
  else if (data.resultType === 'vector') {
    const first = data.result.find((s) => Array.isArray(s?.value));
    if (first?.value) value = parseSampleValue(first.value[1]);
  } else if (data.resultType === 'matrix') {
    if (data.result.length > 0)
      throw new CheckError('the query returned a range (matrix) result; a check needs one value');
  } else throw new CheckError(`Prometheus answered a ${data.resultType} result; a check needs a number`);
  if (value === undefined || Number.isNaN(value)) throw new CheckError(NO_VALUES_FOUND);
  return value;
}

/** The Prometheus target of a MetricTemplate provider block, with the Secret's data. */
export function templateTarget(
  provider: Record<string, unknown>,
  credentials: Readonly<Record<string, string>> | undefined,
  addressOverride?: string,
): Omit<PromTarget, 'signal'> {
  const type = String(provider.type ?? 'prometheus');
  const address = addressOverride || (typeof provider.address === 'string' ? provider.address : '');
  if (address === '') throw new CheckError(`${type} address is not set`);
  const target: Omit<PromTarget, 'signal'> = {
    address,
    timeoutMs: FLAGGER_PROMETHEUS_TIMEOUT_MS,
    insecure: provider.insecureSkipVerify === true,
    insecureHint: 'insecureSkipVerify: true',
    method: 'GET',
    headers: headerList(provider.headers),
  };
  if (provider.secretRef !== undefined && provider.secretRef !== null) {
    const c = credentials ?? {};
    if (c.token !== undefined) target.bearerToken = c.token;
    else {
      if (c.username === undefined) throw new CheckError(`${type} credentials does not contain a username`);
      if (c.password === undefined) throw new CheckError(`${type} credentials does not contain a password`);
      target.basicAuth = { username: c.username, password: c.password };
    }
  }
  return target;
}

/** MetricTemplate `headers` (`map[string][]string`) as a list. */
function headerList(headers: unknown): { key: string; value: string }[] {
  if (typeof headers !== 'object' || headers === null) return [];
  const out: { key: string; value: string }[] = [];
  for (const [key, values] of Object.entries(headers)) {
    const list = Array.isArray(values) ? values.map(String) : [String(values)];
    if (list.length > 0) out.push({ key, value: list.join(', ') });
  }
  return out;
}

async function runCheck(target: PromTarget, query: string): Promise<MetricResult> {
  try {
    const answer = await queryPrometheus(target, { query: collapseWhitespace(query) });
    return { value: flaggerValue(answer.data) };
  } catch (e) {
    if (e instanceof PrometheusError || e instanceof CheckError) return { error: e.message };
    throw e;
  }
}

export class FlaggerPrometheusCheckProvider implements CheckProvider {
  readonly type = 'prometheus';

  constructor(private readonly options: FlaggerCheckOptions = {}) {}

  async check(request: ResolvedCheck, ctx: FlaggerCheckContext): Promise<MetricResult> {
    const scope = ctx.scope ?? this.options.scope ?? {};
    try {
      const query = request.query ?? '';
      if (query.trim() === '') throw new CheckError(`metric ${request.name} has no query`);
      const rendered = renderTemplate(query, templateModel(request, ctx.canary, scope));
      // A metric's inline query (no template) goes to the Canary's metrics server, as in Flagger.
      const provider = request.provider ?? {
        type: 'prometheus',
        address: scope.metricsServer ?? DEFAULT_METRICS_SERVER,
      };
      const target = templateTarget(provider, ctx.argValues, this.options.addressOverride);
      return await runCheck({ ...target, ...(ctx.signal ? { signal: ctx.signal } : {}) }, rendered);
    } catch (e) {
      if (e instanceof CheckError || e instanceof TemplateError) return { error: e.message };
      throw e;
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Builtin metrics
// -------------------------------------------------------------------------------------------------

/** Flagger's metrics observers (`pkg/metrics/observers`), by the series they read. */
export type Observer =
  | 'istio'
  | 'linkerd'
  | 'nginx'
  | 'traefik'
  | 'contour'
  | 'gloo'
  | 'appmesh'
  | 'kuma'
  | 'osm'
  | 'skipper'
  | 'apisix'
  | 'knative'
  | 'http';

export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

/** Builds `sum(rate(<series>{<good>}[interval])) / sum(rate(<series>{<all>}[interval])) * 100`. */
const ratio = (series: string, all: string, good: string) =>
  `sum(rate(${series}{${all},${good}}[{{ interval }}])) / sum(rate(${series}{${all}}[{{ interval }}])) * 100`;
const p99 = (bucket: string, sel: string) =>
  `histogram_quantile(0.99, sum(rate(${bucket}{${sel}}[{{ interval }}])) by (le))`;

const ISTIO =
  'reporter="destination",destination_workload_namespace="{{ namespace }}",destination_workload=~"{{ target }}"';
const LINKERD = 'namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"';
const NGINX = 'namespace="{{ namespace }}",ingress="{{ ingress }}",canary!=""';
const TRAEFIK = 'service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd"';
const CONTOUR = 'envoy_cluster_name=~"{{ namespace }}_{{ service }}-canary_[0-9a-zA-Z-]+"';
const GLOO = 'envoy_cluster_name=~"{{ namespace }}-{{ target }}-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"';
const POD =
  'kubernetes_namespace="{{ namespace }}",kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"';
const KUMA = 'service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+"';
const OSM =
  'destination_namespace="{{ namespace }}",destination_kind="Deployment",destination_name="{{ target }}"';
// Flagger builds Skipper's route with {{- $route := printf "kube(ew)?_%s__%s_canary__.*__%s_canary(_[0-9]+)?"
// namespace ingress service }}; the same text with the fields inline (Vireo's templates have no printf).
const SKIPPER =
  'route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?"';
const APISIX = 'route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"';
const KNATIVE = 'envoy_cluster_name=~"{{ namespace }}/{{ route }}"';

/** Skipper route ids have every non-word character as `_` (Flagger's encodeModelForSkipper). */
const skipperModel = (m: TemplateModel): TemplateModel => {
  const enc = (v: string | undefined) => (v === undefined ? v : v.replace(/\W/g, '_'));
  const out: TemplateModel = { ...m };
  for (const k of ['name', 'namespace', 'target', 'service', 'ingress'] as const) {
    const v = enc(m[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
};

export interface BuiltinQueries {
  'request-success-rate': string;
  'request-duration': string;
  /** Turns the query's value into milliseconds (Flagger then truncates to whole milliseconds). */
  durationScale: number;
  /** Rewrites the model before rendering (Skipper's route-id encoding). */
  model?: (m: TemplateModel) => TemplateModel;
}

/**
 * The builtin queries per observer (flagger.md §1.5; Skipper, APISIX and Knative checked against
 * upstream `pkg/metrics/observers/{skipper,apisix,knative}.go`).
 */
export const BUILTIN_QUERIES: Readonly<Record<Observer, BuiltinQueries>> = {
  istio: {
    'request-success-rate': ratio('istio_requests_total', ISTIO, 'response_code!~"5.*"'),
    'request-duration': p99('istio_request_duration_milliseconds_bucket', ISTIO),
    durationScale: 1,
  },
  linkerd: {
    'request-success-rate': ratio('response_total', LINKERD, 'classification!="failure"'),
    'request-duration': p99('response_latency_ms_bucket', LINKERD),
    durationScale: 1,
  },
  nginx: {
    'request-success-rate': ratio('nginx_ingress_controller_requests', NGINX, 'status!~"5.*"'),
    'request-duration': `sum(rate(nginx_ingress_controller_response_duration_seconds_sum{${NGINX}}[{{ interval }}])) / sum(rate(nginx_ingress_controller_response_duration_seconds_count{${NGINX}}[{{ interval }}])) * 1000`,
    durationScale: 1,
  },
  traefik: {
    'request-success-rate': ratio(
      'traefik_service_request_duration_seconds_bucket',
      `${TRAEFIK},le="+Inf"`,
      'code!~"5.."',
    ),
    'request-duration': `${p99('traefik_service_request_duration_seconds_bucket', TRAEFIK)} * 1000`,
    durationScale: 1,
  },
  contour: {
    'request-success-rate': ratio('envoy_cluster_upstream_rq', CONTOUR, 'envoy_response_code!~"5.*"'),
    'request-duration': p99('envoy_cluster_upstream_rq_time_bucket', CONTOUR),
    durationScale: 1,
  },
  gloo: {
    'request-success-rate': ratio('envoy_cluster_upstream_rq', GLOO, 'envoy_response_code!~"5.*"'),
    'request-duration': p99('envoy_cluster_upstream_rq_time_bucket', GLOO),
    durationScale: 1,
  },
  appmesh: {
    'request-success-rate': ratio('envoy_cluster_upstream_rq', POD, 'envoy_response_code!~"5.*"'),
    'request-duration': p99('envoy_cluster_upstream_rq_time_bucket', POD),
    durationScale: 1,
  },
  kuma: {
    'request-success-rate': ratio('envoy_cluster_upstream_rq', KUMA, 'envoy_response_code!~"5.*"'),
    'request-duration': p99('envoy_cluster_upstream_rq_time_bucket', KUMA),
    durationScale: 1,
  },
  osm: {
    'request-success-rate': ratio('osm_request_total', OSM, 'response_code!~"5.*"'),
    'request-duration': p99('osm_request_duration_ms_bucket', OSM),
    durationScale: 1,
  },
  // Skipper: request-duration is the mean (seconds * 1000), as NGINX.
  skipper: {
    'request-success-rate': ratio(
      'skipper_response_duration_seconds_bucket',
      `${SKIPPER},le="+Inf"`,
      'code!~"5.."',
    ),
    'request-duration': `sum(rate(skipper_serve_route_duration_seconds_sum{${SKIPPER}}[{{ interval }}])) / sum(rate(skipper_serve_route_duration_seconds_count{${SKIPPER}}[{{ interval }}])) * 1000`,
    durationScale: 1,
    model: skipperModel,
  },
  apisix: {
    'request-success-rate': ratio('apisix_http_status', APISIX, 'code!~"5.."'),
    'request-duration': p99('apisix_http_latency_bucket', `type=~"request",${APISIX}`),
    durationScale: 1,
  },
  knative: {
    'request-success-rate': ratio('envoy_cluster_upstream_rq', KNATIVE, 'envoy_response_code!~"5.*"'),
    'request-duration': p99('envoy_cluster_upstream_rq_time_bucket', KNATIVE),
    durationScale: 1,
  },
  // Kubernetes and Gateway API canaries: the app's own http_request_duration_seconds (seconds).
  http: {
    'request-success-rate': ratio('http_request_duration_seconds_count', POD, 'status!~"5.*"'),
    'request-duration': p99('http_request_duration_seconds_bucket', POD),
    durationScale: 1000,
  },
};

/** Observers chosen by the exact mesh-provider name. */
const EXACT: ReadonlySet<string> = new Set<Observer>([
  'linkerd',
  'nginx',
  'traefik',
  'contour',
  'kuma',
  'osm',
  'skipper',
  'apisix',
  'knative',
]);

/**
 * The observer Flagger uses for a mesh provider (`observers/factory.go`): exact names, `appmesh*`,
 * `gloo*`, `gatewayapi*` and `kubernetes` read the app's metrics, anything else falls back to Istio.
 */
export function observerFor(meshProvider: string | undefined): Observer {
  const p = meshProvider ?? '';
  if (p.startsWith('appmesh')) return 'appmesh';
  if (p.startsWith('gloo')) return 'gloo';
  if (p.startsWith('gatewayapi') || p === 'kubernetes') return 'http';
  if (EXACT.has(p)) return p as Observer;
  return 'istio';
}

/** A builtin metric's query for the Canary's mesh provider, rendered (throws CheckError, TemplateError). */
export function renderBuiltinQuery(
  metric: string,
  meshProvider: string | undefined,
  request: ResolvedCheck,
  canary: string,
  scope: CanaryScope = {},
): string {
  const query = builtinQuery(metric, meshProvider);
  const model = templateModel(request, canary, scope);
  const rewrite = BUILTIN_QUERIES[observerFor(meshProvider)].model;
  return renderTemplate(query, rewrite ? rewrite(model) : model);
}

const isBuiltin = (name: string): name is BuiltinMetric =>
  (BUILTIN_METRICS as readonly string[]).includes(name);

/** The builtin query of `metric` for a mesh provider, unrendered. */
export function builtinQuery(metric: string, meshProvider: string | undefined): string {
  if (!isBuiltin(metric))
    throw new CheckError(`${metric} is not a builtin metric (builtin: ${BUILTIN_METRICS.join(', ')})`);
  return BUILTIN_QUERIES[observerFor(meshProvider)][metric];
}

export class FlaggerBuiltinCheckProvider implements CheckProvider {
  readonly type = 'builtin';

  constructor(private readonly options: FlaggerCheckOptions = {}) {}

  async check(request: ResolvedCheck, ctx: FlaggerCheckContext): Promise<MetricResult> {
    const scope = ctx.scope ?? this.options.scope ?? {};
    try {
      const query = renderBuiltinQuery(request.name, scope.meshProvider, request, ctx.canary, scope);
      const address = this.options.addressOverride || scope.metricsServer || DEFAULT_METRICS_SERVER;
      const target: PromTarget = {
        address,
        timeoutMs: FLAGGER_PROMETHEUS_TIMEOUT_MS,
        method: 'GET',
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      };
      const r = await runCheck(target, query);
      if ('error' in r || request.name !== 'request-duration') return r;
      // Flagger: time.Duration(int64(value)) * time.Millisecond, i.e. whole milliseconds.
      const scale = BUILTIN_QUERIES[observerFor(scope.meshProvider)].durationScale;
      return { value: Math.trunc(r.value * scale) };
    } catch (e) {
      if (e instanceof CheckError || e instanceof TemplateError) return { error: e.message };
      throw e;
    }
  }
}
