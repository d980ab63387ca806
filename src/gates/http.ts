/**
 * Outbound HTTP for gates, notifications and the web metric provider: one small client on
 * `node:http`/`node:https` (no dependency, and `insecure` / `disableTLS` need a TLS option the global
 * `fetch` of Node 20 does not expose), plus the redaction every caller needs.
 *
 * - `httpRequest` makes one request and follows redirects as Go's client does (at most 10; 301/302/303
 *   turn a POST into a GET without body, 307/308 repeat method and body). One deadline covers the
 *   whole exchange, redirects and body included (Go's `Client.Timeout`). Credentials headers are
 *   dropped when a redirect leaves the origin. The response body is read up to a bound.
 * - Every failure is an `HttpError` whose message names the method and the URL with credentials and
 *   query values removed (`redactUrl`), never a header value.
 * - `Scrubber` removes known secret strings (header values, tokens, resolved secret args) from any
 *   text before it is logged or put into a measurement or webhook message.
 * - `Logger` is the object-first shape pino uses (`log.warn({ fields }, 'message')`), so a pino logger
 *   can be passed as is.
 * - `proxy` (Flagger's AlertProvider `proxy`, Go's `http.ProxyURL`): an http:// target is requested
 *   from the proxy in absolute form; an https:// target goes through a CONNECT tunnel, TLS end to end.
 *   User info in the proxy URL is sent as Proxy-Authorization and never shown.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

// -------------------------------------------------------------------------------------------------
// Logging

export type LogFields = Record<string, unknown>;
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

const nop = (): void => {};
/** A logger that drops everything (the default where no logger is given). */
export const silentLogger: Logger = { debug: nop, info: nop, warn: nop, error: nop };

// -------------------------------------------------------------------------------------------------
// Redaction

/**
 * A URL safe to show: no user info, query values replaced by `…`.
 * - `path` (default): scheme, host, port and path, e.g. `http://loadtester.test/gate/check?token=…`;
 * - `origin`: scheme, host and port only, for URLs whose path is the secret (Slack, Discord, Teams).
 * A URL that does not parse is shown as `(invalid URL)`, never echoed.
 */
export function redactUrl(url: string | URL, keep: 'path' | 'origin' = 'path'): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(invalid URL)';
  }
  const base = `${u.protocol}//${u.host}`;
  if (keep === 'origin') return u.pathname === '/' && !u.search ? `${base}/` : `${base}/…`;
  const keys = [...u.searchParams.keys()];
  const query = keys.length ? `?${keys.map((k) => `${encodeURIComponent(k)}=…`).join('&')}` : '';
  return `${base}${u.pathname}${query}`;
}

/** Header names whose values are always secret, whatever the caller says. */
const SENSITIVE_HEADER = /authorization|cookie|token|secret|key|password|passwd|session|credential|auth/i;

export const isSensitiveHeader = (name: string): boolean => SENSITIVE_HEADER.test(name);

/** Shortest string treated as a secret to scrub; shorter ones would mangle ordinary text. */
const MIN_SECRET_LENGTH = 4;

/**
 * Replaces known secret strings (and their URL-encoded and base64 forms) by `***` in any text.
 * Add every header value, token and resolved secret before sending a request.
 */
export class Scrubber {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | undefined): this {
    if (secret === undefined) return this;
    const s = secret.trim();
    if (s.length < MIN_SECRET_LENGTH) return this;
    this.secrets.add(s);
    const encoded = encodeURIComponent(s);
    if (encoded !== s) this.secrets.add(encoded);
    // "Bearer abc": the token alone may also show up.
    const parts = s.split(/\s+/);
    if (parts.length === 2 && (parts[1] ?? '').length >= MIN_SECRET_LENGTH)
      this.secrets.add(parts[1] as string);
    return this;
  }

  /** Adds every value of a URL's user info and query (they may be keys or signatures). */
  addUrl(url: string | undefined): this {
    if (url === undefined) return this;
    try {
      const u = new URL(url);
      this.add(decodeURIComponent(u.password));
      this.add(decodeURIComponent(u.username));
      for (const v of u.searchParams.values()) this.add(v);
    } catch {
      // an invalid URL is never echoed anyway
    }
    return this;
  }

  /**
   * Adds a URL's path and its long segments: Slack, Discord and Teams webhook URLs carry their tokens
   * there, so an answer that echoes the path (or the token alone) loses it.
   */
  addUrlPath(url: string | undefined): this {
    if (url === undefined) return this;
    try {
      const path = new URL(url).pathname;
      if (path !== '/') this.add(path);
      for (const seg of path.split('/')) if (seg.length >= 12) this.add(decodeURIComponent(seg));
    } catch {
      // an invalid URL is never echoed anyway
    }
    return this;
  }

  scrub(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
    return out;
  }
}

/** Collapses whitespace and cuts `text` to `max` characters (with an ellipsis). */
export function excerpt(text: string, max = 512): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// -------------------------------------------------------------------------------------------------
// Errors

export type HttpErrorCode =
  | 'invalid-url'
  | 'timeout'
  | 'aborted'
  | 'refused'
  | 'dns'
  | 'tls'
  | 'reset'
  | 'too-large'
  | 'redirects'
  | 'proxy'
  | 'network';

/** A request that produced no usable response; `reason` is the text without method and URL. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: HttpErrorCode,
    readonly reason: string,
    where: string,
  ) {
    super(where ? `${where}: ${reason}` : reason);
  }

  /** Go's retryablehttp does not retry these (bad URL, scheme, certificate, redirect loop). */
  get permanent(): boolean {
    return this.code === 'invalid-url' || this.code === 'tls' || this.code === 'redirects';
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH|DEPTH_ZERO/;

function networkError(e: NodeJS.ErrnoException, url: URL, timeoutMs: number, where: string): HttpError {
  const code = e.code ?? '';
  const hostPort = url.host;
  if (code === 'ECONNREFUSED') return new HttpError('refused', `connection refused by ${hostPort}`, where);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new HttpError('dns', `host ${url.hostname} not found (${code})`, where);
  if (TLS_CODES.test(code) || /certificate/i.test(e.message))
    return new HttpError('tls', `TLS: ${e.message} (${code || 'TLS error'})`, where);
  if (code === 'ECONNRESET' || code === 'EPIPE')
    return new HttpError('reset', `connection reset by ${hostPort} (${code})`, where);
  if (code === 'ETIMEDOUT')
    return new HttpError('timeout', `no answer within ${seconds(timeoutMs)} (${code})`, where);
  return new HttpError(
    'network',
    `${e.message}${code && !e.message.includes(code) ? ` (${code})` : ''}`,
    where,
  );
}

export const seconds = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000}s` : `${Number((ms / 1000).toFixed(3))}s`;

// -------------------------------------------------------------------------------------------------
// The request

export interface HttpRequestOptions {
  method?: string;
  url: string;
  /** Header name -> value; later duplicates (case-insensitive) win, as Go's `Header.Set`. */
  headers?: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** One deadline for the whole exchange, redirects and body included. */
  timeoutMs: number;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** Bytes of response body kept (default 1 MiB). */
  maxBodyBytes?: number;
  /** Beyond `maxBodyBytes`: fail (`error`, default) or keep the first bytes (`truncate`). */
  tooLarge?: 'error' | 'truncate';
  /** Redirects followed (default 10, as Go); 0 returns the 3xx response itself. */
  maxRedirects?: number;
  /** An http(s) forward proxy for every hop, e.g. `http://user:pass@squid:3128`. */
  proxy?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body was cut at `maxBodyBytes` (`tooLarge: 'truncate'`). */
  truncated: boolean;
  /** Redirects followed. */
  redirects: number;
}

const DEFAULT_MAX_BODY = 1 << 20;
const USER_AGENT = 'vireo';
/** Dropped when a redirect leaves the origin (Go drops Authorization, Www-Authenticate and Cookie). */
const dropOnCrossOrigin = (name: string): boolean =>
  /^(authorization|proxy-authorization|cookie|cookie2|www-authenticate)$/i.test(name) ||
  isSensitiveHeader(name);

function normaliseHeaders(h: HttpRequestOptions['headers']): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  const entries = h === undefined ? [] : Array.isArray(h) ? h : Object.entries(h);
  for (const [k, v] of entries as [string, string][]) out.set(k.toLowerCase(), [k, v]);
  return out;
}

/**
 * One HTTP exchange (with redirects). Resolves with any status (the caller judges it); rejects with
 * an `HttpError` only when there is no response: bad URL, connection refused, timeout, TLS, body
 * too large, too many redirects, aborted.
 */
export async function httpRequest(opts: HttpRequestOptions): Promise<HttpResponse> {
  const method0 = (opts.method ?? 'GET').toUpperCase();
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch {
    throw new HttpError('invalid-url', 'the URL does not parse', method0);
  }
  const deadline = Date.now() + opts.timeoutMs;
  let method = method0;
  let body = opts.body;
  let headers = normaliseHeaders(opts.headers);
  const maxRedirects = opts.maxRedirects ?? 10;
  const proxy = parseProxy(opts.proxy, `${method0} ${redactUrl(url)}`);
  for (let hop = 0; ; hop++) {
    const where = `${method} ${redactUrl(url)}`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new HttpError('invalid-url', `unsupported URL scheme "${url.protocol.replace(/:$/, '')}"`, where);
    const res = await exchange(url, method, headers, body, opts, deadline, where, proxy);
    const location = res.headers.location;
    const follow = [301, 302, 303, 307, 308].includes(res.status) && typeof location === 'string';
    if (!follow || maxRedirects === 0) return { ...res, redirects: hop };
    if (hop + 1 > maxRedirects)
      throw new HttpError(
        'redirects',
        `stopped after ${maxRedirects} redirects`,
        `${method0} ${redactUrl(opts.url)}`,
      );
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new HttpError('invalid-url', 'the redirect Location does not parse', where);
    }
    if (next.origin !== url.origin)
      headers = new Map([...headers].filter(([lower]) => !dropOnCrossOrigin(lower)));
    // Go's redirectBehavior: 301/302/303 drop the body and turn any method but GET/HEAD into GET.
    if (res.status === 301 || res.status === 302 || res.status === 303) {
      if (method !== 'GET' && method !== 'HEAD') method = 'GET';
      body = undefined;
      headers.delete('content-type');
    }
    url = next;
  }
}

interface Proxy {
  url: URL;
  /** scheme://host:port, safe to show. */
  shown: string;
  authorization?: string;
}

function parseProxy(proxy: string | undefined, where: string): Proxy | undefined {
  if (proxy === undefined || proxy.trim() === '') return undefined;
  let u: URL;
  try {
    u = new URL(proxy.trim());
  } catch {
    throw new HttpError('invalid-url', 'the proxy URL does not parse', where);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '')
    throw new HttpError(
      'invalid-url',
      `unsupported proxy URL scheme "${u.protocol.replace(/:$/, '')}"`,
      where,
    );
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  return {
    url: u,
    shown: `${u.protocol}//${u.host}`,
    ...(user || pass ? { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } : {}),
  };
}

/** `[::1]` -> `::1`, as sockets and TLS take it. */
const bareHost = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

/** Where to connect for the proxy itself. */
function proxyTarget(p: Proxy): { lib: typeof http | typeof https; hostname: string; port: number } {
  const https_ = p.url.protocol === 'https:';
  return {
    lib: https_ ? https : http,
    hostname: bareHost(p.url.hostname),
    port: Number(p.url.port || (https_ ? 443 : 80)),
  };
}

function exchange(
  url: URL,
  method: string,
  headers: Map<string, [string, string]>,
  body: string | Uint8Array | undefined,
  opts: HttpRequestOptions,
  deadline: number,
  where: string,
  proxy?: Proxy,
): Promise<Omit<HttpResponse, 'redirects'>> {
  return new Promise((resolve, reject) => {
    const remaining = deadline - Date.now();
    const timeoutError = () => new HttpError('timeout', `no answer within ${seconds(opts.timeoutMs)}`, where);
    if (remaining <= 0) {
      reject(timeoutError());
      return;
    }
    if (opts.signal?.aborted) {
      reject(new HttpError('aborted', 'aborted', where));
      return;
    }
    const out: Record<string, string> = {};
    for (const [, [k, v]] of headers) out[k] = v;
    if (!headers.has('user-agent')) out['User-Agent'] = USER_AGENT;
    const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    if (payload !== undefined) out['Content-Length'] = String(payload.byteLength);
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      f();
    };
    // A failure on the way to the proxy names the proxy (never its credentials), not the target.
    const viaProxy = (e: NodeJS.ErrnoException, p: Proxy): HttpError => {
      const err = networkError(e, p.url, opts.timeoutMs, where);
      return new HttpError(
        err.code === 'network' ? 'proxy' : err.code,
        `proxy ${p.shown}: ${err.reason}`,
        where,
      );
    };
    let tunnel: http.ClientRequest | undefined;
    let req: http.ClientRequest;
    try {
      if (proxy && url.protocol === 'http:') {
        // Absolute-form request to the proxy (RFC 9112 §3.2.2), as Go's transport sends it.
        const p = proxyTarget(proxy);
        const target = new URL(url.href);
        target.hash = '';
        req = p.lib.request({
          hostname: p.hostname,
          port: p.port,
          method,
          path: target.href,
          headers: {
            ...out,
            Host: url.host,
            ...(proxy.authorization ? { 'Proxy-Authorization': proxy.authorization } : {}),
          },
          agent: false,
        });
      } else if (proxy) {
        // https:// target: a CONNECT tunnel, then TLS with the target through it.
        const p = proxyTarget(proxy);
        const host = bareHost(url.hostname);
        const authority = `${url.hostname}:${url.port || 443}`;
        req = https.request(url, {
          method,
          headers: out,
          rejectUnauthorized: !opts.insecure,
          createConnection: (_o, oncreate) => {
            tunnel = p.lib.request({
              hostname: p.hostname,
              port: p.port,
              method: 'CONNECT',
              path: authority,
              headers: {
                Host: authority,
                ...(proxy.authorization ? { 'Proxy-Authorization': proxy.authorization } : {}),
              },
              agent: false,
            });
            tunnel.on('connect', (res, socket) => {
              if (res.statusCode !== 200) {
                socket.destroy();
                const status = `${res.statusCode ?? 0}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
                oncreate(
                  new HttpError('proxy', `proxy ${proxy.shown} refused the tunnel: HTTP ${status}`, where),
                  socket,
                );
                return;
              }
              oncreate(
                null,
                tls.connect({
                  socket,
                  host,
                  ...(net.isIP(host) ? {} : { servername: host }),
                  rejectUnauthorized: !opts.insecure,
                }),
              );
            });
            // Node ignores the socket argument when an error is given.
            tunnel.on('error', (e: NodeJS.ErrnoException) =>
              oncreate(viaProxy(e, proxy), undefined as unknown as net.Socket),
            );
            tunnel.end();
            return undefined;
          },
        });
      } else
        req = lib.request(url, {
          method,
          headers: out,
          agent: false,
          ...(url.protocol === 'https:' ? { rejectUnauthorized: !opts.insecure } : {}),
        });
    } catch (e) {
      // Invalid header names or values, an invalid method…: never echo the value.
      const code = (e as NodeJS.ErrnoException).code ?? 'invalid request';
      reject(new HttpError('invalid-url', `the request cannot be sent (${code})`, where));
      return;
    }
    const fail = (err: HttpError) =>
      finish(() => {
        req.destroy();
        tunnel?.destroy();
        reject(err);
      });
    const timer = setTimeout(() => fail(timeoutError()), remaining);
    const onAbort = () => fail(new HttpError('aborted', 'aborted', where));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof HttpError) fail(e);
      else if (proxy && url.protocol === 'http:') fail(viaProxy(e, proxy));
      else fail(networkError(e, url, opts.timeoutMs, where));
    });
    req.on('response', (res) => {
      const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      const done = () =>
        finish(() =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            truncated,
          }),
        );
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (size + chunk.length > max) {
          if (opts.tooLarge === 'truncate') {
            chunks.push(chunk.subarray(0, max - size));
            size = max;
            truncated = true;
            done();
            res.destroy();
            return;
          }
          fail(new HttpError('too-large', `response body larger than ${max} bytes`, where));
          res.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', done);
      res.on('error', (e: NodeJS.ErrnoException) => fail(networkError(e, url, opts.timeoutMs, where)));
      res.on('close', () => {
        if (!res.complete) fail(new HttpError('reset', `connection closed by ${url.host} mid-body`, where));
      });
    });
    req.end(payload);
  });
}

// -------------------------------------------------------------------------------------------------
// Retries

/** go-retryablehttp's defaults, which Flagger's webhooks use: waits 1s, 2s, 4s… up to 30s. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}
export const RETRYABLEHTTP_BACKOFF: Backoff = { minMs: 1000, maxMs: 30_000 };

/**
 * The wait before retry number `attempt` (0-based): `min * 2^attempt` capped at `max`; on 429 or 503 a
 * `Retry-After` header (seconds or an HTTP date) wins, capped at `max` too.
 */
export function backoffDelay(
  b: Backoff,
  attempt: number,
  res?: Pick<HttpResponse, 'status' | 'headers'>,
): number {
  if (res && (res.status === 429 || res.status === 503)) {
    const ra = res.headers['retry-after'];
    const v = Array.isArray(ra) ? ra[0] : ra;
    if (v !== undefined && v !== '') {
      const secs = /^\d+$/.test(v.trim()) ? Number(v.trim()) * 1000 : Date.parse(v) - Date.now();
      if (Number.isFinite(secs)) return Math.min(Math.max(secs, 0), b.maxMs);
    }
  }
  return Math.min(b.minMs * 2 ** attempt, b.maxMs);
}

/** go-retryablehttp's `DefaultRetryPolicy`: retry on errors (not permanent ones), 429 and 5xx but 501. */
export function shouldRetry(outcome: { error: HttpError } | { status: number }): boolean {
  if ('error' in outcome) return !outcome.error.permanent && outcome.error.code !== 'aborted';
  const s = outcome.status;
  return s === 429 || (s >= 500 && s !== 501);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
