/**
 * The proxy's routing table and the pure decision "which backend serves this request, which backends
 * get a mirrored copy". No I/O, no clock; randomness is a parameter (ADR 6), so tables can test it.
 *
 * Shape, chosen to carry both dialects without translation loss:
 * - Argo `setHeaderRoute` ({headerName, headerValue: {exact|prefix|regex}}[]): one `RouteRule` whose
 *   single `match` entry lists the headers (all must hold).
 * - Flagger `analysis.match` (HTTPMatchRequest[]: OR of entries, each an AND of headers / uri / method):
 *   one `RouteRule` with one `match` entry per HTTPMatchRequest. Cookie routes (Flagger's
 *   `cookie: regex: "^(.*?;)?(canary=always)(;.*)?$"`) can be written as a header regex or, cleaner, as
 *   `cookies: { canary: { exact: 'always' } }`.
 * - Argo `setMirrorRoute` ({name, match: [{method, path, headers}], percentage}) and Flagger `mirror` +
 *   `mirrorWeight`: one `MirrorRule` each.
 */

export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

/** All given conditions must hold (AND). Header and cookie names are case-insensitive / exact. */
export interface RequestMatch {
  headers?: Record<string, StringMatch>;
  cookies?: Record<string, StringMatch>;
  method?: StringMatch;
  /** Matched against the request target's path (without the query string). */
  path?: StringMatch;
}

export interface Upstream {
  host: string;
  port: number;
}

export interface Backend {
  /** Route name, e.g. the Service it stands for (`guestbook-canary`). A metrics label. */
  name: string;
  /** Version label, e.g. the pod-template hash or image. A metrics label. */
  version: string;
  upstreams: Upstream[];
}

/** A request matching any entry of `match` (OR) goes to `backend`, ahead of the weights. */
export interface RouteRule {
  name: string;
  match: RequestMatch[];
  backend: string;
}

/** A copy of `percentage` % of the requests matching `match` (all when absent or empty) goes to `backend`. */
export interface MirrorRule {
  name: string;
  backend: string;
  percentage: number;
  match?: RequestMatch[];
}

export interface RouteConfig {
  backends: Backend[];
  /** Relative weights by backend name (20/80 or 1/4 are the same split). Missing names weigh 0. */
  weights: Record<string, number>;
  /** Tried in order; the first matching rule wins. */
  routes?: RouteRule[];
  mirrors?: MirrorRule[];
}

export interface RequestView {
  method: string;
  /** The request target as received (`/path?query`). */
  url: string;
  /** Lower-case names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
}

type Matcher = (value: string | undefined) => boolean;

interface CompiledMatch {
  headers: [string, Matcher][];
  cookies: [string, Matcher][];
  method?: Matcher;
  path?: Matcher;
}

export interface CompiledBackend extends Backend {
  index: number;
}

export interface CompiledRoutes {
  config: RouteConfig;
  backends: Map<string, CompiledBackend>;
  weighted: { backend: CompiledBackend; cumulative: number }[];
  totalWeight: number;
  routes: { backend: CompiledBackend; match: CompiledMatch[] }[];
  mirrors: { backend: CompiledBackend; fraction: number; match: CompiledMatch[] }[];
}

export interface Decision {
  /** Undefined when no rule matched and every weight is 0 (the proxy answers 503). */
  backend?: CompiledBackend;
  mirrors: CompiledBackend[];
}

function compileString(m: StringMatch, where: string): Matcher {
  if ('exact' in m && typeof m.exact === 'string') {
    const e = m.exact;
    return (v) => v === e;
  }
  if ('prefix' in m && typeof m.prefix === 'string') {
    const p = m.prefix;
    return (v) => v?.startsWith(p) === true;
  }
  if ('regex' in m && typeof m.regex === 'string') {
    let re: RegExp;
    try {
      re = new RegExp(m.regex);
    } catch (e) {
      throw new Error(`${where}: invalid regex ${JSON.stringify(m.regex)}: ${(e as Error).message}`);
    }
    return (v) => v !== undefined && re.test(v);
  }
  throw new Error(`${where}: a match needs one of exact, prefix, regex`);
}

function compileMatch(m: RequestMatch, where: string): CompiledMatch {
  const out: CompiledMatch = {
    headers: Object.entries(m.headers ?? {}).map(([k, v]) => [
      k.toLowerCase(),
      compileString(v, `${where}.headers.${k}`),
    ]),
    cookies: Object.entries(m.cookies ?? {}).map(([k, v]) => [k, compileString(v, `${where}.cookies.${k}`)]),
  };
  if (m.method) out.method = compileString(m.method, `${where}.method`);
  if (m.path) out.path = compileString(m.path, `${where}.path`);
  return out;
}

/** Validates and compiles a config; throws an Error naming the bad field. */
export function compileRoutes(config: RouteConfig): CompiledRoutes {
  const backends = new Map<string, CompiledBackend>();
  config.backends.forEach((b, index) => {
    if (!b.name) throw new Error(`backends[${index}]: name is required`);
    if (backends.has(b.name)) throw new Error(`backends[${index}]: duplicate backend name ${b.name}`);
    for (const [i, u] of b.upstreams.entries()) {
      if (!u.host || !Number.isInteger(u.port) || u.port <= 0 || u.port > 65535) {
        throw new Error(`backends[${index}].upstreams[${i}]: invalid upstream ${JSON.stringify(u)}`);
      }
    }
    backends.set(b.name, { ...b, index });
  });
  const lookup = (name: string, where: string) => {
    const b = backends.get(name);
    if (!b) throw new Error(`${where}: unknown backend ${JSON.stringify(name)}`);
    return b;
  };
  const weighted: CompiledRoutes['weighted'] = [];
  let totalWeight = 0;
  for (const [name, w] of Object.entries(config.weights)) {
    if (!Number.isFinite(w) || w < 0) throw new Error(`weights.${name}: must be a number >= 0, got ${w}`);
    const backend = lookup(name, `weights.${name}`);
    if (w === 0) continue;
    totalWeight += w;
    weighted.push({ backend, cumulative: totalWeight });
  }
  const routes = (config.routes ?? []).map((r, i) => ({
    backend: lookup(r.backend, `routes[${i}].backend`),
    match: r.match.map((m, j) => compileMatch(m, `routes[${i}].match[${j}]`)),
  }));
  const mirrors = (config.mirrors ?? []).map((m, i) => {
    if (!Number.isFinite(m.percentage) || m.percentage < 0 || m.percentage > 100) {
      throw new Error(`mirrors[${i}].percentage: must be within 0..100, got ${m.percentage}`);
    }
    return {
      backend: lookup(m.backend, `mirrors[${i}].backend`),
      fraction: m.percentage / 100,
      match: (m.match ?? []).map((x, j) => compileMatch(x, `mirrors[${i}].match[${j}]`)),
    };
  });
  return { config, backends, weighted, totalWeight, routes, mirrors };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    if (k && !out.has(k)) out.set(k, part.slice(eq + 1).trim());
  }
  return out;
}

class View {
  private cookies?: Map<string, string>;
  private pathname?: string;
  constructor(readonly req: RequestView) {}
  cookie(name: string): string | undefined {
    this.cookies ??= parseCookies(headerValue(this.req.headers.cookie));
    return this.cookies.get(name);
  }
  path(): string {
    if (this.pathname === undefined) {
      const q = this.req.url.indexOf('?');
      this.pathname = q < 0 ? this.req.url : this.req.url.slice(0, q);
    }
    return this.pathname;
  }
}

function matches(m: CompiledMatch, v: View): boolean {
  if (m.method && !m.method(v.req.method)) return false;
  if (m.path && !m.path(v.path())) return false;
  for (const [name, f] of m.headers) if (!f(headerValue(v.req.headers[name]))) return false;
  for (const [name, f] of m.cookies) if (!f(v.cookie(name))) return false;
  return true;
}

/** The backend the uniform draw `r` in [0, 1) falls on in the weighted split. */
function pickWeighted(routes: CompiledRoutes, r: number): CompiledBackend | undefined {
  const x = r * routes.totalWeight;
  const weighted = routes.weighted;
  for (let i = 0; i < weighted.length; i++) {
    const w = weighted[i]!;
    if (x < w.cumulative) return w.backend;
  }
  return weighted[weighted.length - 1]?.backend;
}

/**
 * Rules first (first match wins), then the weighted split. Each mirror draws its own number, so
 * `random` is called once for the split (only if no rule matched) and once per matching mirror.
 */
export function decide(routes: CompiledRoutes, req: RequestView, random: () => number): Decision {
  // The common table (weights only): no request view, no rule walk.
  if (routes.routes.length === 0 && routes.mirrors.length === 0) {
    const backend = routes.totalWeight > 0 ? pickWeighted(routes, random()) : undefined;
    return backend ? { backend, mirrors: [] } : { mirrors: [] };
  }
  const view = new View(req);
  let backend: CompiledBackend | undefined;
  for (const r of routes.routes) {
    if (r.match.some((m) => matches(m, view))) {
      backend = r.backend;
      break;
    }
  }
  if (!backend && routes.totalWeight > 0) backend = pickWeighted(routes, random());
  const mirrors: CompiledBackend[] = [];
  for (const m of routes.mirrors) {
    if (m.fraction <= 0) continue;
    if (m.match.length > 0 && !m.match.some((x) => matches(x, view))) continue;
    if (random() < m.fraction) mirrors.push(m.backend);
  }
  return backend ? { backend, mirrors } : { mirrors };
}
