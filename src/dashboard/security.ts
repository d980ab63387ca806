/**
 * The dashboard's access rules, as pure functions of a request's facts (tested as a table):
 *
 * - Reads (GET) are open, but when the dashboard listens on loopback only requests naming a loopback
 *   Host are served, so a web page cannot read it through DNS rebinding.
 * - Actions are POST with a JSON body; `--read-only` refuses them all.
 * - Cross-site requests are refused: an `Origin` must be the dashboard's own, a `Sec-Fetch-Site` must
 *   be `same-origin` or `none`.
 * - An action carries either `Authorization: Bearer TOKEN` (scripts; a custom header a page on another
 *   site cannot send without a CORS preflight, which the dashboard never grants), or the session
 *   cookie with the session's CSRF token in `X-Vireo-CSRF` (the browser).
 * - When a token is in force (always when not on loopback, or given with `--token`), a browser session
 *   must have logged in with it first (`POST /api/v1/login`), or the request must carry it as a bearer.
 *
 * Tokens are compared in constant time and never logged; sessions are in memory (a restart logs
 * everyone out) and bounded.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'vireo_dashboard_session';
export const CSRF_HEADER = 'x-vireo-csrf';

export interface SecurityConfig {
  /** The dashboard listens on a loopback address only. */
  loopback: boolean;
  /** Required for actions (and login) when set. */
  token?: string;
  readOnly: boolean;
}

export interface Session {
  id: string;
  csrf: string;
  /** Logged in with the token. */
  authenticated: boolean;
  createdAt: number;
}

/** What a request is asking for. */
export type RequestKind = 'read' | 'action' | 'login';

export interface RequestFacts {
  kind: RequestKind;
  method: string;
  host?: string;
  origin?: string;
  secFetchSite?: string;
  contentType?: string;
  /** The bearer token of an `Authorization` header. */
  bearer?: string;
  /** The session of the request's cookie, if it names a live one. */
  session?: Session;
  /** The `X-Vireo-CSRF` header. */
  csrf?: string;
}

export type Decision =
  | { ok: true; via: 'open' | 'token' | 'session' }
  | { ok: false; status: 400 | 401 | 403 | 405 | 415 | 421; reason: string };

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether a listen address is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return LOOPBACK_NAMES.has(h) || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The host name of a `Host` header (`127.0.0.1:3100` -> `127.0.0.1`, `[::1]:80` -> `::1`). */
export function hostName(hostHeader: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (m) return (m[1] ?? '').toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

export function sameToken(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function decide(cfg: SecurityConfig, f: RequestFacts): Decision {
  if (cfg.loopback) {
    // DNS rebinding: a page of evil.example resolving to 127.0.0.1 still sends Host: evil.example.
    if (!f.host || !isLoopbackAddress(hostName(f.host)))
      return { ok: false, status: 421, reason: 'this dashboard only answers to a loopback Host' };
  }
  if (f.kind === 'read') {
    if (f.method !== 'GET' && f.method !== 'HEAD')
      return { ok: false, status: 405, reason: `${f.method}: reads are GET` };
    return { ok: true, via: 'open' };
  }
  if (f.method !== 'POST') return { ok: false, status: 405, reason: `${f.method}: actions are POST` };
  if (f.kind === 'action' && cfg.readOnly)
    return { ok: false, status: 403, reason: 'this dashboard is read-only (--read-only)' };
  if (!/^application\/json\b/i.test(f.contentType ?? ''))
    return { ok: false, status: 415, reason: 'actions take a JSON body (Content-Type: application/json)' };
  if (f.origin !== undefined && (f.host === undefined || !sameOrigin(f.origin, f.host)))
    return { ok: false, status: 403, reason: 'cross-site request refused (Origin is not this dashboard)' };
  if (f.secFetchSite !== undefined && f.secFetchSite !== 'same-origin' && f.secFetchSite !== 'none')
    return {
      ok: false,
      status: 403,
      reason: `cross-site request refused (Sec-Fetch-Site: ${f.secFetchSite})`,
    };
  if (f.kind === 'action' && f.bearer !== undefined && cfg.token !== undefined) {
    if (sameToken(f.bearer, cfg.token)) return { ok: true, via: 'token' };
    return { ok: false, status: 401, reason: 'wrong token' };
  }
  if (!f.session) return { ok: false, status: 403, reason: 'no session: load the dashboard first' };
  if (f.csrf === undefined || !sameToken(f.csrf, f.session.csrf))
    return { ok: false, status: 403, reason: 'missing or wrong CSRF token (X-Vireo-CSRF)' };
  if (f.kind === 'action' && cfg.token !== undefined && !f.session.authenticated)
    return { ok: false, status: 401, reason: 'this dashboard needs its token for actions: log in first' };
  return { ok: true, via: 'session' };
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

/** A generated token: 24 random bytes, base64url. */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** A short, stable, non-secret name of a session for logs and the event timeline. */
export function sessionTag(s: Session): string {
  return createHash('sha256').update(s.id).digest('hex').slice(0, 8);
}

/** In-memory sessions, the oldest dropped beyond `max`, each expiring after `ttlMs`. */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly max = 1000,
    private readonly ttlMs = 12 * 3_600_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (this.now() - s.createdAt > this.ttlMs) {
      this.byId.delete(id);
      return undefined;
    }
    return s;
  }

  create(): Session {
    const s: Session = {
      id: randomBytes(24).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      authenticated: false,
      createdAt: this.now(),
    };
    this.byId.set(s.id, s);
    while (this.byId.size > this.max) {
      const oldest = this.byId.keys().next().value;
      if (oldest === undefined) break;
      this.byId.delete(oldest);
    }
    return s;
  }

  get size(): number {
    return this.byId.size;
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k && !(k in out)) out[k] = v;
  }
  return out;
}

export function bearerOf(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}
