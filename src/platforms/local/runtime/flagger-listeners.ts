/**
 * From a local Flagger release's state to the router's listeners: pure, so the table is tested
 * without sockets. The three Services Flagger generates (flagger.md §1.11, `GetServiceNames`):
 *
 * - `<svc>` (apex): what the mesh object (VirtualService, HTTPRoute, Ingress…) would do: `primary`
 *   and `canary` backends with the router's weights; mirrored requests copied to the canary
 *   (`mirrorWeight` %, 100 when 0). With `analysis.match` the routes are Istio's A/B table: matching
 *   requests go to the canary while it has weight, the others to the primary (Istio splits matching
 *   requests by the weights; a Vireo route rule has one backend, which is exact for A/B testing, where
 *   the weights are 0/100, and for NGINX's canary-by-header). Istio drops the mirror when `match` is set.
 * - `<svc>-primary` and `<svc>-canary`: only the primary's / the canary's replicas.
 *
 * Ports: the apex listens on `spec.service.port`, unless the Canary is annotated `vireo.dev/port`
 * (ports below 1024 need root). `<svc>-primary` / `<svc>-canary` cannot share that port on one
 * machine: they take a free one unless annotated `vireo.dev/primary-port` / `vireo.dev/canary-port`.
 * An applied Service of the same name lends its `vireo.dev/port` / `vireo.dev/host` annotations
 * (Flagger takes such a Service over); the Canary's annotations win. Host: `vireo.dev/host` or the
 * runtime's.
 */
import type { Canary } from '../../../api/flagger/canary.js';
import { serviceNames } from '../../../api/flagger/canary-defaults.js';
import { isObj, num, obj } from '../../../api/flagger/loose.js';
import type {
  Backend,
  MirrorRule,
  RequestMatch,
  RouteConfig,
  RouteRule,
  StringMatch,
  Upstream,
} from '../proxy/routing.js';
import type { Listener } from '../router/router.js';
import { HOST_ANNOTATION, type ListenerPlan, PORT_ANNOTATION, type ServiceObject } from './listeners.js';

export const PRIMARY_PORT_ANNOTATION = 'vireo.dev/primary-port';
export const CANARY_PORT_ANNOTATION = 'vireo.dev/canary-port';

/**
 * What the router was last told: the weights of the last SetRoutes, and the match and mirror settings
 * of the spec as the last tick saw them (Flagger reconciles the mesh object on every tick).
 */
export interface FlaggerRouterRecord {
  primary: number;
  canary: number;
  mirrored: boolean;
  /** `analysis.match` as written (Istio HTTPMatchRequest[]). */
  match?: unknown[];
  /** `analysis.mirrorWeight` (0 or absent: 100 %). */
  mirrorWeight?: number;
}

export interface RoleEndpoints {
  /** The version label: hashes of the versions with ready replicas (`a+b` in a rolling update), or empty. */
  version: string;
  /** Ready replicas. */
  upstreams: Upstream[];
}

export interface FlaggerRouting {
  canary: Canary;
  router: FlaggerRouterRecord;
  primary: RoleEndpoints;
  canaryRole: RoleEndpoints;
  /** The Services applied in the Canary's namespace. */
  services: readonly ServiceObject[];
  defaultHost: string;
}

function stringMatch(v: unknown): StringMatch | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.exact === 'string') return { exact: v.exact };
  if (typeof v.prefix === 'string') return { prefix: v.prefix };
  if (typeof v.regex === 'string') return { regex: v.regex };
  return undefined;
}

const SUPPORTED_MATCH_FIELDS = new Set(['headers', 'uri', 'method', 'name']);

/**
 * `analysis.match` (Istio HTTPMatchRequest[]: any entry; all of its conditions) as route matches.
 * Headers (a cookie is a `cookie` header regex in Flagger's docs), `uri` and `method` are carried
 * out; other fields cannot be judged here and are reported.
 */
export function analysisMatch(match: readonly unknown[]): { match: RequestMatch[]; problems: string[] } {
  const out: RequestMatch[] = [];
  const problems: string[] = [];
  match.forEach((m, i) => {
    if (!isObj(m)) {
      problems.push(`analysis.match[${i}] is not a mapping; ignored`);
      return;
    }
    const rm: RequestMatch = {};
    const headers = obj(m, 'headers');
    for (const [name, v] of Object.entries(headers ?? {})) {
      const sm = stringMatch(v);
      if (sm) rm.headers = { ...rm.headers, [name.toLowerCase()]: sm };
      else problems.push(`analysis.match[${i}].headers.${name} needs exact, prefix or regex; ignored`);
    }
    const uri = stringMatch(m.uri);
    if (uri) rm.path = uri;
    const method = stringMatch(m.method);
    if (method) rm.method = method;
    const other = Object.keys(m).filter((k) => !SUPPORTED_MATCH_FIELDS.has(k));
    if (other.length > 0)
      problems.push(`analysis.match[${i}]: ${other.join(', ')} not carried out by the local router; ignored`);
    out.push(rm);
  });
  return { match: out, problems };
}

type PortPick = { port: number } | { problem: string };

function pickPort(
  candidates: readonly [where: string, value: unknown][],
  fallback: number | undefined,
): PortPick {
  for (const [where, value] of candidates) {
    if (value === undefined || (typeof value === 'string' && value.trim() === '')) continue;
    const port = Number(value);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      return {
        problem: `${where}: ${JSON.stringify(value)} must be a port number 0..65535 (0 picks a free one)`,
      };
    return { port };
  }
  if (fallback === undefined) return { problem: 'spec.service.port is missing' };
  return { port: fallback };
}

export function flaggerListeners(r: FlaggerRouting): ListenerPlan {
  const names = serviceNames(r.canary);
  const annotations = (r.canary.metadata?.annotations ?? {}) as Record<string, string>;
  const applied = new Map(r.services.map((s) => [s.metadata?.name ?? '', s]));
  const svcAnnotation = (name: string, key: string): string | undefined =>
    applied.get(name)?.metadata?.annotations?.[key];
  const hostOf = (name: string) =>
    annotations[HOST_ANNOTATION] ?? svcAnnotation(name, HOST_ANNOTATION) ?? r.defaultHost;
  const problems: string[] = [];
  const listeners: Listener[] = [];

  const primary: Backend = { name: 'primary', version: r.primary.version, upstreams: r.primary.upstreams };
  const canary: Backend = {
    name: 'canary',
    version: r.canaryRole.version,
    upstreams: r.canaryRole.upstreams,
  };

  const add = (service: string, pick: PortPick, routes: RouteConfig) => {
    if ('problem' in pick) problems.push(`Service ${service}: ${pick.problem}`);
    else listeners.push({ service, host: hostOf(service), port: pick.port, routes });
  };

  const servicePort = num(obj(r.canary.spec, 'service'), 'port');
  add(
    names.apex,
    pickPort(
      [
        [`annotation ${PORT_ANNOTATION}`, annotations[PORT_ANNOTATION]],
        [`Service ${names.apex} annotation ${PORT_ANNOTATION}`, svcAnnotation(names.apex, PORT_ANNOTATION)],
      ],
      servicePort,
    ),
    apexRoutes(r.router, primary, canary, problems),
  );
  add(
    names.primary,
    pickPort(
      [
        [`annotation ${PRIMARY_PORT_ANNOTATION}`, annotations[PRIMARY_PORT_ANNOTATION]],
        [
          `Service ${names.primary} annotation ${PORT_ANNOTATION}`,
          svcAnnotation(names.primary, PORT_ANNOTATION),
        ],
      ],
      0,
    ),
    { backends: [primary], weights: { primary: 1 } },
  );
  add(
    names.canary,
    pickPort(
      [
        [`annotation ${CANARY_PORT_ANNOTATION}`, annotations[CANARY_PORT_ANNOTATION]],
        [
          `Service ${names.canary} annotation ${PORT_ANNOTATION}`,
          svcAnnotation(names.canary, PORT_ANNOTATION),
        ],
      ],
      0,
    ),
    { backends: [canary], weights: { canary: 1 } },
  );
  return { listeners, problems };
}

/** The apex table for the router's last SetRoutes. */
export function apexRoutes(
  router: FlaggerRouterRecord,
  primary: Backend,
  canary: Backend,
  problems: string[] = [],
): RouteConfig {
  const weights = { primary: Math.max(0, router.primary), canary: Math.max(0, router.canary) };
  const match = router.match ?? [];
  if (match.length > 0) {
    const m = analysisMatch(match);
    problems.push(...m.problems);
    const routes: RouteRule[] =
      router.canary > 0 ? [{ name: 'analysis-match', match: m.match, backend: 'canary' }] : [];
    // Istio's second route: whatever does not match stays on the primary.
    return { backends: [primary, canary], weights: { primary: 1, canary: 0 }, routes };
  }
  const mirrors: MirrorRule[] = router.mirrored
    ? [
        {
          name: 'mirror',
          backend: 'canary',
          percentage:
            router.mirrorWeight && router.mirrorWeight > 0 ? Math.min(100, router.mirrorWeight) : 100,
        },
      ]
    : [];
  // All weights 0 would answer 503: the router then sends everything to the primary, as a mesh would.
  const w = weights.primary + weights.canary > 0 ? weights : { primary: 1, canary: 0 };
  return { backends: [primary, canary], weights: w, ...(mirrors.length > 0 ? { mirrors } : {}) };
}
