/**
 * Argo's `web` metric provider (`metricproviders/webmetric/webmetric.go`): one HTTP request per
 * measurement; the value at `jsonPath` of the JSON answer is `result` for the metric's conditions.
 *
 * Fields (`metric.provider.web`), with Argo's defaults and checks:
 *   - `method`: GET (default), POST, PUT, …; `body` or `jsonBody` only with a method other than GET,
 *     and not both. `jsonBody` is sent as JSON with `Content-Type: application/json` (set after the
 *     headers, as Argo does); `body` is sent as written.
 *   - `url`, `headers[{key, value}]` (a later key wins, case-insensitively: Go's `Header.Set`).
 *   - `timeoutSeconds`: default 10 (also when ≤ 0).
 *   - `jsonPath`: default `{$}` (the whole body); Kubernetes JSONPath, see `jsonpath.ts`. Argo takes
 *     the first value it selects; none is an error "result of web metric produced no value".
 *   - `insecure`: skip TLS certificate verification.
 *   - `authentication.basicAuth {username, password}` and `authentication.oauth2 {tokenUrl, clientId,
 *     clientSecret, scopes}` (client-credentials grant, oauth2.ts: the token is cached until it
 *     expires; a 401 answer fetches a new one once).
 * Outcomes: a 2xx JSON answer → `value` (the engine evaluates the conditions); a 2xx answer that is
 * not JSON → the body as a string when no jsonPath is set. Everything else is an Error measurement:
 * no answer, timeout, non-2xx ("received non 2xx response code: 503"), a body that is not JSON
 * although a jsonPath is set, a path that selects nothing.
 *
 * Secrets: header values, basic-auth and OAuth2 credentials, the token, every value of the URL's
 * query and user info, and the secret args the adapter resolved (`ctx.argValues`) are scrubbed from
 * every message and log line; URLs are shown without user info and query values.
 *
 * Differences from Argo, on purpose:
 *   - a non-JSON body while a `jsonPath` is set is an Error (Argo: the body becomes the value and the
 *     measurement is Successful without evaluating the conditions); without a jsonPath the string
 *     goes through the conditions like any value (Argo skips them);
 *   - a jsonPath that is not one `{…}` expression is an Error (Argo returns the text itself);
 *   - the measurement's value text is a string result itself, not its JSON (`ok`, not `"ok"`);
 *   - a non-2xx message adds up to 200 characters of the answer's body to Argo's text;
 *   - the response body is read up to `maxBodyBytes` (default 4 MiB); larger answers are Errors.
 */
import type { Measurement, Metric } from '../../api/argo/analysis.js';
import type { Observation } from '../../engine/analysis/engine.js';
import {
  excerpt,
  HttpError,
  type HttpResponse,
  httpRequest,
  type Logger,
  redactUrl,
  Scrubber,
  silentLogger,
} from '../../gates/http.js';
import type { MeasureContext, MetricProvider } from '../provider.js';
import { compileJsonPath, JsonPathError } from './jsonpath.js';
import { type OAuth2Config, OAuth2Error, OAuth2TokenCache, withBearer } from './oauth2.js';

export const WEB_DEFAULT_TIMEOUT_SECONDS = 10;
export const WEB_DEFAULT_JSON_PATH = '{$}';
const DEFAULT_MAX_BODY = 4 << 20;

type WebMetric = NonNullable<NonNullable<Metric['provider']>['web']>;

export interface WebProviderOptions {
  log?: Logger;
  /** Largest response body read (default 4 MiB). */
  maxBodyBytes?: number;
}

/** A fixed Authorization value (basic auth), none, or OAuth2 tokens. */
type Auth = { header?: string } | { oauth2: OAuth2Config };

/** The `web` provider; one instance keeps OAuth2 tokens between measurements. */
export function webProvider(options: WebProviderOptions = {}): MetricProvider {
  const log = options.log ?? silentLogger;
  const tokens = new OAuth2TokenCache();

  async function measure(metric: Metric, ctx: MeasureContext): Promise<Observation> {
    const t0 = performance.now();
    const at = (): number => ctx.now + Math.round(performance.now() - t0);
    const web = metric.provider?.web;
    const scrubber = new Scrubber(Object.values(ctx.argValues ?? {}));
    const error = (message: string): Observation => {
      const clean = scrubber.scrub(message);
      log.warn(
        { metric: metric.name, run: ctx.run.name, url: web ? redactUrl(web.url) : undefined, error: clean },
        'web measurement failed',
      );
      return { metric: metric.name, phase: 'Error', message: clean, startedAt: ctx.now, finishedAt: at() };
    };
    if (!web) return error('the metric has no web provider');
    scrubber.addUrl(web.url);
    for (const h of web.headers ?? []) scrubber.add(h.value);

    const method = (web.method ?? '').trim().toUpperCase() || 'GET';
    const hasBody = web.body !== undefined && web.body !== '';
    const hasJson = web.jsonBody !== undefined && web.jsonBody !== null;
    if (hasBody && hasJson)
      return error('use either body or jsonBody; both cannot exist for a web metric payload');
    if ((hasBody || hasJson) && method === 'GET')
      return error('body/jsonBody can only be used with POST or PUT web metric methods');

    const timeoutSeconds = Number(web.timeoutSeconds);
    const timeoutMs =
      (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : WEB_DEFAULT_TIMEOUT_SECONDS) *
      1000;
    const pathSource = web.jsonPath === undefined || web.jsonPath === '' ? undefined : web.jsonPath;
    let path: ReturnType<typeof compileJsonPath>;
    try {
      path = compileJsonPath(pathSource ?? WEB_DEFAULT_JSON_PATH);
    } catch (e) {
      return error((e as Error).message);
    }

    const userHeaders: [string, string][] = (web.headers ?? []).map((h) => [h.key, h.value]);
    let auth: Auth;
    try {
      auth = authentication(web, scrubber);
    } catch (e) {
      return error((e as Error).message);
    }
    // Authorization after the user's headers (it wins); Content-Type of jsonBody last, as Argo sets it.
    const send = (authorization: string | undefined) =>
      httpRequest({
        method,
        url: web.url,
        headers: [
          ...userHeaders,
          ...(authorization ? [['Authorization', authorization] as [string, string]] : []),
          ...(hasJson ? [['Content-Type', 'application/json'] as [string, string]] : []),
        ],
        ...(hasBody ? { body: web.body as string } : hasJson ? { body: JSON.stringify(web.jsonBody) } : {}),
        timeoutMs,
        insecure: web.insecure === true,
        maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });

    let res: HttpResponse;
    try {
      res =
        'oauth2' in auth
          ? await withBearer(
              tokens,
              auth.oauth2,
              { timeoutMs, insecure: web.insecure === true, ...(ctx.signal ? { signal: ctx.signal } : {}) },
              scrubber,
              send,
            )
          : await send(auth.header);
    } catch (e) {
      if (e instanceof OAuth2Error || e instanceof HttpError) return error(e.message);
      return error(`${method} ${redactUrl(web.url)}: ${String(e)}`);
    }
    const where = `${method} ${redactUrl(web.url)}`;
    if (res.status < 200 || res.status >= 300) {
      const body = excerpt(res.body, 200);
      return error(`${where}: received non 2xx response code: ${res.status}${body ? ` (${body})` : ''}`);
    }

    let data: unknown;
    try {
      data = JSON.parse(res.body);
    } catch (e) {
      if (pathSource === undefined) {
        log.debug(
          { metric: metric.name, url: redactUrl(web.url), status: res.status },
          'web measurement (text)',
        );
        return { metric: metric.name, value: res.body, startedAt: ctx.now, finishedAt: at() };
      }
      return error(
        `${where}: the answer is not JSON, so jsonPath ${pathSource} cannot apply (${(e as Error).message}; body: ${excerpt(res.body, 120) || 'empty'})`,
      );
    }
    let found: unknown[];
    try {
      found = path.find(data);
    } catch (e) {
      if (e instanceof JsonPathError)
        return error(`${where}: could not find JSONPath ${path.source} in body: ${e.message}`);
      throw e;
    }
    if (found.length === 0)
      return error(`${where}: result of web metric produced no value (jsonPath ${path.source})`);
    log.debug({ metric: metric.name, url: redactUrl(web.url), status: res.status }, 'web measurement');
    return { metric: metric.name, value: found[0], startedAt: ctx.now, finishedAt: at() };
  }

  /** How `authentication` authorizes the request; throws with a clean message. */
  function authentication(web: WebMetric, scrubber: Scrubber): Auth {
    const a = web.authentication as
      | {
          basicAuth?: { username?: string; password?: string };
          oauth2?: { tokenUrl?: string; clientId?: string; clientSecret?: string; scopes?: string[] };
          sigv4?: unknown;
        }
      | undefined;
    if (!a) return {};
    if (a.sigv4)
      throw new Error('authentication.sigv4 is not supported by the web provider (Argo: prometheus only)');
    if (a.basicAuth) {
      const { username = '', password = '' } = a.basicAuth;
      scrubber.add(password);
      const header = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      scrubber.add(header);
      return { header };
    }
    const o = a.oauth2;
    if (!o?.tokenUrl) return {};
    return { oauth2: { ...o, tokenUrl: o.tokenUrl } };
  }

  return {
    type: 'web',
    run: (metric, ctx) =>
      measure(metric, ctx).catch((e: unknown) => ({
        metric: metric.name,
        phase: 'Error' as const,
        message: `web provider failed: ${e instanceof Error ? e.name : 'error'}`,
      })),
    // A web measurement is never Running, so there is nothing to resume (Argo only logs a warning).
    resume: (metric: Metric, _m: Measurement): Observation => ({
      metric: metric.name,
      phase: 'Error',
      message: 'the web provider has no long-running measurement to resume',
    }),
    terminate: () => undefined,
  };
}
