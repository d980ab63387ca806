/**
 * OAuth2 client-credentials tokens for Argo's `authentication.oauth2 {tokenUrl, clientId,
 * clientSecret, scopes}` (prometheus and web providers), as golang.org/x/oauth2/clientcredentials
 * gets them: POST `grant_type=client_credentials` (and `scope`, space-separated) as a form to the
 * token URL, the client id and secret as HTTP basic auth; the answer's `access_token` is sent as
 * `Authorization: Bearer`.
 *
 * - A token is kept per (token URL, client, secret, scopes) until `expires_in` minus a margin
 *   (10 s, x/oauth2's expiryDelta); without `expires_in` it is kept 5 minutes. Concurrent requests
 *   share one token request.
 * - `withBearer`: when the server answers 401 to a token, it is dropped and the request is sent once
 *   more with a fresh one (a token revoked before its expiry); x/oauth2 would fail until expiry.
 * - Answers in JSON or form encoding (some providers answer `application/x-www-form-urlencoded`).
 * - Every failure is an `OAuth2Error` whose message names the token URL without credentials or
 *   query values; the client secret, its basic-auth form and tokens are added to the caller's
 *   `Scrubber` so no later message shows them either.
 */
import { createHash } from 'node:crypto';
import { excerpt, HttpError, type HttpResponse, httpRequest, redactUrl, Scrubber } from '../../gates/http.js';

export interface OAuth2Config {
  tokenUrl: string;
  clientId?: string;
  clientSecret?: string;
  scopes?: readonly string[];
}

export interface TokenRequestOptions {
  timeoutMs: number;
  insecure?: boolean;
  signal?: AbortSignal;
}

export class OAuth2Error extends Error {
  override name = 'OAuth2Error';
}

/** x/oauth2's expiryDelta: a token is renewed this long before it expires. */
export const TOKEN_EXPIRY_MARGIN_MS = 10_000;
/** How long a token without `expires_in` is kept. */
export const TOKEN_DEFAULT_LIFETIME_MS = 300_000;

interface Entry {
  token: string;
  expiresAt: number;
}

export interface OAuth2TokenCacheOptions {
  /** Epoch ms (tests move it). */
  now?: () => number;
  marginMs?: number;
  defaultLifetimeMs?: number;
}

/** Tokens by client; one instance per provider, so measurements reuse them. */
export class OAuth2TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private readonly now: () => number;

  constructor(private readonly options: OAuth2TokenCacheOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** A valid token for `cfg`: the cached one, or a new one from the token URL. Throws OAuth2Error. */
  async token(
    cfg: OAuth2Config,
    req: TokenRequestOptions,
    scrubber: Scrubber = new Scrubber(),
  ): Promise<string> {
    addSecrets(cfg, scrubber);
    const key = cacheKey(cfg);
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > this.now()) {
      scrubber.add(cached.token);
      return cached.token;
    }
    let p = this.pending.get(key);
    if (!p) {
      p = this.fetch(cfg, req, scrubber).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    const entry = await p;
    scrubber.add(entry.token);
    this.entries.set(key, entry);
    return entry.token;
  }

  /** Forget `token` (a server refused it) so the next `token` call asks for a new one. */
  invalidate(cfg: OAuth2Config, token: string): void {
    const key = cacheKey(cfg);
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }

  private async fetch(cfg: OAuth2Config, req: TokenRequestOptions, scrubber: Scrubber): Promise<Entry> {
    const where = `OAuth2 token request POST ${redactUrl(cfg.tokenUrl)}`;
    const basic = Buffer.from(
      `${encodeURIComponent(cfg.clientId ?? '')}:${encodeURIComponent(cfg.clientSecret ?? '')}`,
    ).toString('base64');
    scrubber.add(basic);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (cfg.scopes?.length) form.set('scope', cfg.scopes.join(' '));
    let res: HttpResponse;
    try {
      res = await httpRequest({
        method: 'POST',
        url: cfg.tokenUrl,
        headers: [
          ['Content-Type', 'application/x-www-form-urlencoded'],
          ['Accept', 'application/json'],
          ['Authorization', `Basic ${basic}`],
        ],
        body: form.toString(),
        timeoutMs: req.timeoutMs,
        insecure: req.insecure === true,
        ...(req.signal ? { signal: req.signal } : {}),
      });
    } catch (e) {
      throw new OAuth2Error(
        scrubber.scrub(e instanceof HttpError ? `OAuth2 token request failed: ${e.message}` : String(e)),
      );
    }
    const { token, expiresIn } = readTokenAnswer(res);
    if (token) scrubber.add(token);
    const ok = res.status >= 200 && res.status < 300;
    if (!ok || !token)
      throw new OAuth2Error(
        `${where}: ${ok ? 'no access_token in the answer' : `HTTP ${res.status}`}${res.body ? ` (${scrubber.scrub(excerpt(res.body, 200))})` : ''}`,
      );
    const margin = this.options.marginMs ?? TOKEN_EXPIRY_MARGIN_MS;
    const lifetime =
      expiresIn !== undefined
        ? expiresIn * 1000
        : (this.options.defaultLifetimeMs ?? TOKEN_DEFAULT_LIFETIME_MS);
    return { token, expiresAt: this.now() + Math.max(lifetime - margin, 0) };
  }
}

/** access_token and expires_in of a JSON or form-encoded answer (undefined when absent). */
function readTokenAnswer(res: HttpResponse): { token?: string; expiresIn?: number } {
  let fields: Record<string, unknown> = {};
  const type = String(res.headers['content-type'] ?? '');
  try {
    if (/x-www-form-urlencoded|text\/plain/i.test(type))
      fields = Object.fromEntries(new URLSearchParams(res.body));
    else {
      const j: unknown = JSON.parse(res.body);
      if (typeof j === 'object' && j !== null) fields = j as Record<string, unknown>;
    }
  } catch {
    return {};
  }
  const token =
    typeof fields.access_token === 'string' && fields.access_token !== '' ? fields.access_token : undefined;
  const raw = fields.expires_in;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  return { ...(token ? { token } : {}), ...(Number.isFinite(n) && n > 0 ? { expiresIn: n } : {}) };
}

function addSecrets(cfg: OAuth2Config, scrubber: Scrubber): void {
  scrubber.add(cfg.clientSecret).addUrl(cfg.tokenUrl);
}

/** The secret enters the key as a digest, so a rotated secret gets a new token. */
function cacheKey(cfg: OAuth2Config): string {
  const secret = createHash('sha256')
    .update(cfg.clientSecret ?? '')
    .digest('hex');
  return [cfg.tokenUrl, cfg.clientId ?? '', secret, (cfg.scopes ?? []).join(' ')].join('\u0000');
}

/**
 * Sends with `Authorization: Bearer <token>`; on HTTP 401 drops that token and sends once more with
 * a new one. `send` gets the header value.
 */
export async function withBearer<T extends { status: number }>(
  cache: OAuth2TokenCache,
  cfg: OAuth2Config,
  req: TokenRequestOptions,
  scrubber: Scrubber,
  send: (authorization: string) => Promise<T>,
): Promise<T> {
  const first = await cache.token(cfg, req, scrubber);
  const res = await send(`Bearer ${first}`);
  if (res.status !== 401) return res;
  cache.invalidate(cfg, first);
  const second = await cache.token(cfg, req, scrubber);
  return send(`Bearer ${second}`);
}
