/**
 * Prometheus: a small client of its HTTP API (`/api/v1/query`, `/api/v1/query_range`) and Argo
 * Rollouts' `prometheus` metric provider on top of it (argo-rollouts.md §1.7; upstream
 * `metricproviders/prometheus/prometheus.go`).
 *
 * Results reach conditions exactly as Argo gives them: a scalar is a number, a vector a list of
 * numbers, a matrix (a range query, or an instant query of a range vector) the list of every sample
 * of every series, an empty result an empty list. Prometheus writes sample values as strings; "NaN",
 * "+Inf" and "-Inf" become NaN and ±Infinity, so `isNaN(result[0])` works as in Argo.
 *
 * Every failure (connection refused, timeout, TLS, HTTP 4xx/5xx with Prometheus' error JSON, an
 * answer that is not JSON, a result type conditions cannot use) is an Error measurement whose message
 * names the address without credentials and says what went wrong. Credentials (basic auth, header
 * values, user info in the address) are never logged and are blanked out of any text that echoes them.
 *
 * Transport: `httpRequest` (src/gates/http.ts, node:http / node:https) rather than the global fetch,
 * because `insecure: true` needs a per-request `rejectUnauthorized: false`, which Node 20's fetch only
 * offers through the undici package (not a dependency). It follows redirects as Go's client does and
 * bounds the answer; its `Scrubber` blanks credentials out of every message.
 *
 * Authentication (`authentication`, one method): `basicAuth`; `oauth2` (client credentials,
 * oauth2.ts: token cached per provider until it expires, a 401 fetches a new one once); `sigv4`
 * (sigv4.ts: every request signed for service `aps` with the credentials of AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; region from `sigv4.region`, else AWS_REGION or
 * AWS_DEFAULT_REGION). As Argo, an address containing `aps-workspaces` is signed even without a
 * `sigv4` block, when no other method is set.
 *
 * Differences from Argo, on purpose:
 *   - `timeout: 0` means the default (30 s); Argo would time every query out at once;
 *   - `sigv4.profile` and `sigv4.roleArn` are Error measurements (they need the AWS SDK's shared
 *     config and STS), instead of being honoured;
 *   - `sigv4` signs whatever the address (Argo: only `aps-workspaces` addresses);
 *   - setting two authentication methods is an Error measurement;
 *   - native-histogram samples are an error instead of reading as 0.
 */
import type { Measurement, Metric } from '../../api/argo/analysis.js';
import { parseGoDuration } from '../../api/duration.js';
import type { Observation } from '../../engine/analysis/engine.js';
import { ExprError, ExprTime, evaluate } from '../../expr/index.js';
import { HttpError, type HttpResponse, httpRequest, Scrubber } from '../../gates/http.js';
import type { MeasureContext, MetricProvider } from '../provider.js';
import { type OAuth2Config, OAuth2Error, OAuth2TokenCache, withBearer } from './oauth2.js';
import { type AwsCredentials, awsCredentialsFromEnv, awsRegionFromEnv, signV4 } from './sigv4.js';

// -------------------------------------------------------------------------------------------------
// Answers
// -------------------------------------------------------------------------------------------------

type SamplePair = [number, string];

/** The `data` of a successful Prometheus answer. */
export type PromData =
  | { resultType: 'scalar' | 'string'; result: SamplePair }
  | { resultType: 'vector'; result: { metric?: Record<string, string>; value?: SamplePair }[] }
  | { resultType: 'matrix'; result: { metric?: Record<string, string>; values?: SamplePair[] }[] };

export interface PromAnswer {
  data: PromData;
  /** Prometheus' `warnings` (and `infos`), as it wrote them. */
  warnings: string[];
}

/** A failed query; the message is safe to show (no credentials). */
export class PrometheusError extends Error {
  override name = 'PrometheusError';
}

/** A sample value as Prometheus writes it ("0.95", "1e-05", "NaN", "+Inf", "-Inf") as a number. */
export function parseSampleValue(text: unknown): number {
  if (typeof text !== 'string')
    throw new PrometheusError(`sample value ${JSON.stringify(text)} is not a string`);
  const t = text.trim();
  if (/^[+]?inf(inity)?$/i.test(t)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(t)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(t)) return Number.NaN;
  const n = t === '' ? Number.NaN : Number(t);
  if (Number.isNaN(n)) throw new PrometheusError(`sample value ${JSON.stringify(text)} is not a number`);
  return n;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function pairValue(pair: unknown, what: string): number {
  if (!Array.isArray(pair) || pair.length !== 2)
    throw new PrometheusError(`${what} is not a [time, value] pair`);
  return parseSampleValue(pair[1]);
}

/**
 * The result as Argo hands it to conditions: scalar -> number; vector -> numbers; matrix -> every
 * sample of every series in order (flattened); empty -> []. String results and native-histogram
 * samples cannot be compared with numbers and are errors.
 */
export function argoResult(data: PromData): number | number[] {
  switch (data.resultType) {
    case 'scalar':
      return pairValue(data.result, 'the scalar');
    case 'vector':
      return data.result.map((s, i) => {
        if (!isObj(s) || s.value === undefined)
          throw new PrometheusError(
            isObj(s) && 'histogram' in s
              ? 'the result holds native-histogram samples, which conditions cannot compare'
              : `vector sample ${i} has no value`,
          );
        return pairValue(s.value, `vector sample ${i}`);
      });
    case 'matrix': {
      const out: number[] = [];
      data.result.forEach((s, i) => {
        if (!isObj(s) || (!Array.isArray(s.values) && 'histograms' in s))
          throw new PrometheusError(
            'the result holds native-histogram samples, which conditions cannot compare',
          );
        for (const pair of s.values ?? []) out.push(pairValue(pair, `matrix series ${i}`));
      });
      return out;
    }
    default:
      throw new PrometheusError(
        `Prometheus answered a ${String((data as { resultType?: unknown }).resultType)} result; conditions need a scalar, vector or matrix`,
      );
  }
}

/** Checks the shape of a decoded answer body and returns its data, or throws saying what is wrong. */
export function readAnswer(body: unknown): PromAnswer {
  if (!isObj(body)) throw new PrometheusError('the answer is not a JSON object');
  if (body.status === 'error')
    throw new PrometheusError(
      `${String(body.errorType ?? 'error')}: ${String(body.error ?? '(no message)')}`,
    );
  if (body.status !== 'success')
    throw new PrometheusError(`the answer has status ${JSON.stringify(body.status)}`);
  const data = body.data;
  if (!isObj(data)) throw new PrometheusError('the answer has no data');
  const type = data.resultType;
  const result = data.result;
  const ok =
    ((type === 'scalar' || type === 'string') && Array.isArray(result)) ||
    ((type === 'vector' || type === 'matrix') && Array.isArray(result));
  if (!ok) throw new PrometheusError(`the answer has an unknown result type ${JSON.stringify(type)}`);
  const notes = [body.warnings, body.infos].flatMap((w) => (Array.isArray(w) ? w.map(String) : []));
  return { data: data as unknown as PromData, warnings: notes };
}

// -------------------------------------------------------------------------------------------------
// Transport
// -------------------------------------------------------------------------------------------------

export interface PromTarget {
  /** Base URL as configured: may hold a path prefix and user info (used as basic auth, never shown). */
  address: string;
  timeoutMs: number;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  headers?: readonly { key: string; value: string }[];
  basicAuth?: { username: string; password: string };
  bearerToken?: string;
  /** POST (Prometheus' Go client; GET on 405) or GET with the query in the URL (Flagger). */
  method?: 'POST' | 'GET';
  /** The setting named when a certificate is refused (default `insecure: true`, Argo's). */
  insecureHint?: string;
  /** Bearer tokens from an OAuth2 client-credentials grant, kept in `cache`. */
  oauth2?: { config: OAuth2Config; cache: OAuth2TokenCache };
  /** Sign every request with AWS SigV4. */
  sigv4?: { region: string; service: string; credentials: AwsCredentials };
  signal?: AbortSignal;
}

/** The AWS service of Amazon Managed Prometheus, which Argo signs for. */
export const AMP_SERVICE = 'aps';

/** An instant query at `time`, or a range query; times in epoch ms (no `time`: the server's now). */
export type PromQuery =
  | { query: string; time?: number }
  | { query: string; start: number; end: number; stepSeconds: number };

/** The largest answer read, so a runaway query cannot exhaust memory. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** The address as it may be shown: no user info, query or fragment. */
export function safeAddress(address: string): string {
  try {
    const u = new URL(address);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return address.replace(/\/\/[^/@]*@/, '//');
  }
}

/** Epoch ms as the seconds Prometheus takes, to the millisecond. */
const seconds = (ms: number) => (ms / 1000).toFixed(3);

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/**
 * Runs one instant or range query. Throws `PrometheusError` whose message starts with
 * `Prometheus at <address without credentials>:`.
 */
export async function queryPrometheus(target: PromTarget, q: PromQuery): Promise<PromAnswer> {
  const shown = safeAddress(target.address);
  let base: URL;
  try {
    base = new URL(target.address);
  } catch {
    throw new PrometheusError(`Prometheus address ${JSON.stringify(shown)} is not a URL`);
  }
  if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.host === '')
    throw new PrometheusError(`Prometheus address ${JSON.stringify(shown)} is not an http(s) URL`);
  const scrubber = new Scrubber().addUrl(target.address);
  const headers: [string, string][] = [['Accept', 'application/json']];
  const user = decodeURIComponent(base.username);
  const pass = decodeURIComponent(base.password);
  const basic =
    target.basicAuth ?? (user !== '' || pass !== '' ? { username: user, password: pass } : undefined);
  if (basic) {
    const value = `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
    headers.push(['Authorization', value]);
    scrubber.add(basic.password).add(basic.username).add(value);
  }
  if (target.bearerToken !== undefined && target.bearerToken !== '') {
    headers.push(['Authorization', `Bearer ${target.bearerToken}`]);
    scrubber.add(target.bearerToken);
  }
  for (const h of target.headers ?? []) {
    headers.push([h.key, h.value]);
    scrubber.add(h.value);
  }
  base.username = '';
  base.password = '';
  base.search = '';
  base.hash = '';
  const range = 'start' in q;
  const params = new URLSearchParams({ query: q.query });
  if (range) {
    params.set('start', seconds(q.start));
    params.set('end', seconds(q.end));
    params.set('step', String(q.stepSeconds));
  } else if (q.time !== undefined) params.set('time', seconds(q.time));
  const url = new URL(base.href);
  url.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v1/${range ? 'query_range' : 'query'}`;
  const fail = (why: string): never => {
    throw new PrometheusError(scrubber.scrub(`Prometheus at ${shown}: ${why}`));
  };
  const common = {
    timeoutMs: target.timeoutMs,
    insecure: target.insecure === true,
    maxBodyBytes: MAX_ANSWER_BYTES,
    ...(target.signal ? { signal: target.signal } : {}),
  };
  const sigv4 = target.sigv4;
  if (sigv4) scrubber.add(sigv4.credentials.secretAccessKey).add(sigv4.credentials.sessionToken);
  const send = (method: 'GET' | 'POST', authorization: string | undefined) => {
    const u = new URL(url.href);
    let h: [string, string][] = [...headers];
    if (authorization) h.push(['Authorization', authorization]);
    let body: string | undefined;
    if (method === 'GET') u.search = params.toString();
    else {
      body = params.toString();
      h.push(['Content-Type', 'application/x-www-form-urlencoded']);
    }
    if (sigv4) {
      const signed = signV4(
        { method, url: u, headers: h, ...(body !== undefined ? { body } : {}) },
        // The real clock, not the measurement's: AWS refuses more than 5 minutes of skew.
        { ...sigv4, now: new Date() },
      );
      scrubber.add(signed.signature).add(signed.authorization);
      h = signed.headers;
    }
    return httpRequest({
      ...common,
      method,
      url: u.href,
      headers: h,
      ...(body !== undefined ? { body } : {}),
    });
  };
  const exchange = async (authorization?: string): Promise<HttpResponse> => {
    if ((target.method ?? 'POST') === 'GET') return send('GET', authorization);
    const r = await send('POST', authorization);
    // As Prometheus' Go client: a server (or proxy) that refuses POST is asked again with GET.
    return r.status === 405 || r.status === 501 ? send('GET', authorization) : r;
  };

  let raw: HttpResponse;
  try {
    const o = target.oauth2;
    raw = o
      ? await withBearer(
          o.cache,
          o.config,
          {
            timeoutMs: target.timeoutMs,
            insecure: target.insecure === true,
            ...(target.signal ? { signal: target.signal } : {}),
          },
          scrubber,
          exchange,
        )
      : await exchange();
  } catch (e) {
    if (e instanceof OAuth2Error) return fail(e.message);
    if (!(e instanceof HttpError)) throw e;
    if (e.code === 'tls')
      return fail(
        `${e.reason}; set ${target.insecureHint ?? 'insecure: true'} to skip certificate verification`,
      );
    return fail(e.reason);
  }
  let body: unknown;
  let parseError: string | undefined;
  try {
    body = JSON.parse(raw.body);
  } catch (e) {
    parseError = (e as Error).message;
  }
  if (raw.status < 200 || raw.status > 299) {
    const status = `HTTP ${raw.status}${raw.statusText ? ` ${raw.statusText}` : ''}`;
    if (isObj(body) && body.status === 'error')
      return fail(`${status}: ${String(body.errorType ?? 'error')}: ${String(body.error ?? '(no message)')}`);
    return fail(raw.body.trim() === '' ? status : `${status}: ${snippet(raw.body)}`);
  }
  if (parseError !== undefined)
    return fail(`the answer is not JSON (${parseError}): ${snippet(raw.body) || '(empty body)'}`);
  try {
    return readAnswer(body);
  } catch (e) {
    return fail((e as Error).message);
  }
}

// -------------------------------------------------------------------------------------------------
// Argo's prometheus provider
// -------------------------------------------------------------------------------------------------

/** Argo's environment variable for the address of metrics that name none. */
export const PROMETHEUS_ADDRESS_ENV = 'ARGO_ROLLOUTS_PROMETHEUS_ADDRESS';
export const DEFAULT_TIMEOUT_SECONDS = 30;

export interface PrometheusProviderOptions {
  /** The address for metrics without one; default: `$ARGO_ROLLOUTS_PROMETHEUS_ADDRESS`. */
  defaultAddress?: string;
  /** Query this address instead of every metric's own (`vireo analyze --address`). */
  addressOverride?: string;
  /** Where AWS credentials and region come from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

interface PromConfig {
  address?: string;
  query?: string;
  timeout?: number;
  insecure?: boolean;
  headers?: { key: string; value: string }[];
  authentication?: {
    basicAuth?: { username?: string; password?: string };
    sigv4?: { region?: string; profile?: string; roleArn?: string };
    oauth2?: { tokenUrl?: string; clientId?: string; clientSecret?: string; scopes?: string[] };
  };
  rangeQuery?: { start?: string; end?: string; step?: string };
}

class ConfigError extends Error {}

/** Evaluates a rangeQuery start/end expression (Argo EvalTime) at `now`. */
export function evalTime(expression: string | undefined, field: string, now: number): number {
  if (expression === undefined || expression.trim() === '')
    throw new ConfigError(`rangeQuery.${field} is empty`);
  let value: unknown;
  try {
    value = evaluate(expression, {}, { now: new Date(now) });
  } catch (e) {
    throw new ConfigError(
      `rangeQuery.${field} ${JSON.stringify(expression)}: ${e instanceof ExprError ? e.message : String(e)}`,
    );
  }
  if (!(value instanceof ExprTime))
    throw new ConfigError(
      `rangeQuery.${field} ${JSON.stringify(expression)} is not a time (write e.g. now() - duration("5m"))`,
    );
  return value.ms;
}

/** The query an Argo metric asks for at `now`: instant, or range with its evaluated bounds. */
export function argoQuery(cfg: PromConfig, now: number): PromQuery {
  const query = cfg.query ?? '';
  if (query.trim() === '') throw new ConfigError('the metric has no query');
  const r = cfg.rangeQuery;
  if (!r) return { query, time: now };
  const start = evalTime(r.start, 'start', now);
  const end = evalTime(r.end, 'end', now);
  const stepMs = r.step ? parseGoDuration(r.step) : undefined;
  if (stepMs === undefined || stepMs <= 0)
    throw new ConfigError(
      `rangeQuery.step ${JSON.stringify(r.step ?? '')} is not a positive duration such as 1m`,
    );
  if (end < start) throw new ConfigError('rangeQuery.end is before rangeQuery.start');
  return { query, start, end, stepSeconds: stepMs / 1000 };
}

/** Argo's `warnings` measurement metadata: `"w1", "w2"`. */
const warningText = (w: readonly string[]) => w.map((x) => `"${x}"`).join(', ');

/** Checks an oauth2 block as Argo needs it: a token URL, client id and secret. */
function oauth2Config(o: NonNullable<NonNullable<PromConfig['authentication']>['oauth2']>): OAuth2Config {
  const missing = (['tokenUrl', 'clientId', 'clientSecret'] as const).filter((k) => !o[k]);
  if (missing.length > 0) throw new ConfigError(`authentication.oauth2 needs ${missing.join(', ')}`);
  const tokenUrl = o.tokenUrl as string;
  if (!/^https?:\/\/[^/]/i.test(tokenUrl))
    throw new ConfigError('authentication.oauth2.tokenUrl is not an http(s) URL');
  return {
    tokenUrl,
    clientId: o.clientId as string,
    clientSecret: o.clientSecret as string,
    scopes: o.scopes ?? [],
  };
}

export class PrometheusProvider implements MetricProvider {
  readonly type = 'prometheus';
  /** OAuth2 tokens, kept between measurements. */
  private readonly tokens = new OAuth2TokenCache();

  constructor(private readonly options: PrometheusProviderOptions = {}) {}

  /** SigV4 signing from the environment's credentials (profiles and roles need the AWS SDK). */
  private sigv4(
    s: NonNullable<NonNullable<PromConfig['authentication']>['sigv4']>,
  ): NonNullable<PromTarget['sigv4']> {
    for (const [field, what] of [
      ['profile', 'reading a shared-config profile'],
      ['roleArn', 'assuming a role'],
    ] as const)
      if (s[field])
        throw new ConfigError(
          `authentication.sigv4.${field}: ${what} is not supported by Vireo; give credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) instead`,
        );
    const env = this.options.env ?? process.env;
    const region = s.region || awsRegionFromEnv(env);
    if (!region) throw new ConfigError('authentication.sigv4: no region: set sigv4.region (or AWS_REGION)');
    const credentials = awsCredentialsFromEnv(env);
    if (!credentials)
      throw new ConfigError(
        'authentication.sigv4: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      );
    return { region, service: AMP_SERVICE, credentials };
  }

  /** Where a metric's queries go, and how (throws ConfigError). */
  target(metric: Metric, signal?: AbortSignal): PromTarget {
    const cfg = (metric.provider?.prometheus ?? {}) as PromConfig;
    const address =
      this.options.addressOverride ||
      cfg.address ||
      (this.options.defaultAddress ?? process.env[PROMETHEUS_ADDRESS_ENV]) ||
      '';
    if (address === '')
      throw new ConfigError(
        `no Prometheus address: set provider.prometheus.address (or ${PROMETHEUS_ADDRESS_ENV})`,
      );
    const timeout = cfg.timeout ?? 0;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0)
      throw new ConfigError('prometheus timeout must be a non-negative number of seconds');
    const auth = cfg.authentication ?? {};
    const basic =
      auth.basicAuth && (auth.basicAuth.username || auth.basicAuth.password) ? auth.basicAuth : undefined;
    const methods = [basic && 'basicAuth', auth.oauth2 && 'oauth2', auth.sigv4 && 'sigv4'].filter(Boolean);
    if (methods.length > 1)
      throw new ConfigError(`authentication: set one method, not ${methods.join(' and ')}`);
    // Argo signs Amazon Managed Prometheus addresses even without a sigv4 block.
    const sigv4 = auth.sigv4 ?? (methods.length === 0 && address.includes('aps-workspaces') ? {} : undefined);
    return {
      address,
      timeoutMs: (timeout === 0 ? DEFAULT_TIMEOUT_SECONDS : timeout) * 1000,
      insecure: cfg.insecure === true,
      headers: cfg.headers ?? [],
      ...(basic ? { basicAuth: { username: basic.username ?? '', password: basic.password ?? '' } } : {}),
      ...(auth.oauth2 ? { oauth2: { config: oauth2Config(auth.oauth2), cache: this.tokens } } : {}),
      ...(sigv4 ? { sigv4: this.sigv4(sigv4) } : {}),
      method: 'POST',
      ...(signal ? { signal } : {}),
    };
  }

  async run(metric: Metric, ctx: MeasureContext): Promise<Observation> {
    const cfg = (metric.provider?.prometheus ?? {}) as PromConfig;
    try {
      const target = this.target(metric, ctx.signal);
      const answer = await queryPrometheus(target, argoQuery(cfg, ctx.now));
      const value = argoResult(answer.data);
      return {
        metric: metric.name,
        value,
        ...(answer.warnings.length > 0 ? { metadata: { warnings: warningText(answer.warnings) } } : {}),
      };
    } catch (e) {
      if (e instanceof ConfigError || e instanceof PrometheusError)
        return { metric: metric.name, phase: 'Error', message: e.message };
      throw e;
    }
  }

  /** Prometheus measurements finish in `run`; a resume (never asked for) measures again. */
  resume(metric: Metric, _measurement: Measurement, ctx: MeasureContext): Promise<Observation> {
    return this.run(metric, ctx);
  }

  terminate(): void {
    // Nothing runs in the background.
  }
}

export function prometheusProvider(options: PrometheusProviderOptions = {}): PrometheusProvider {
  return new PrometheusProvider(options);
}
