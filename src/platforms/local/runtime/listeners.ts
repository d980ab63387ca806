/**
 * From a release's state to the router's listeners: pure, so the table is tested without sockets.
 *
 * - A Service belongs to a Rollout when the Rollout names it (stable/canary, active/preview) or its
 *   selector picks the Rollout's pods (a plain Service). It selects the versions whose template labels
 *   (plus `rollouts-pod-template-hash` when the controller switched its selector) match its selector,
 *   and spreads requests over their ready replicas, as kube-proxy does.
 * - With `trafficRouting`, the stable Service's listener is the entry point that carries the weights
 *   (as the Ingress, TraefikService or VirtualService would): `stable` and `canary` backends, the
 *   canary weight from the engine, setHeaderRoute rules and setMirrorRoute mirrors ahead of the weights.
 *   The canary Service's listener reaches only the canary, as the real Service would.
 * - The port is the Service's first `port`, or the annotation `vireo.dev/port` (for ports below 1024,
 *   which need root); the host is `vireo.dev/host` or the runtime's host.
 */
import type { Rollout } from '../../../api/argo/rollout.js';
import type {
  Backend,
  MirrorRule,
  RequestMatch,
  RouteRule,
  StringMatch,
  Upstream,
} from '../proxy/routing.js';
import type { Listener } from '../router/router.js';
import type { RouterRecord } from './record.js';

export const HASH_LABEL = 'rollouts-pod-template-hash';
export const PORT_ANNOTATION = 'vireo.dev/port';
export const HOST_ANNOTATION = 'vireo.dev/host';

export interface ServiceObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { selector?: Record<string, string>; ports?: { port?: number; name?: string }[] };
}

export interface VersionEndpoints {
  hash: string;
  /** The pod template's labels. */
  labels: Record<string, string>;
  /** Ready replicas. */
  upstreams: Upstream[];
}

export interface ReleaseRouting {
  rollout: Rollout;
  router: RouterRecord;
  versions: readonly VersionEndpoints[];
  /** The Services of the Rollout's namespace. */
  services: readonly ServiceObject[];
  defaultHost: string;
}

export interface ListenerPlan {
  listeners: Listener[];
  /** Services named by the Rollout that are missing or unusable, in words. */
  problems: string[];
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Which Services a Rollout uses, by name. */
export function namedServices(rollout: Rollout): string[] {
  const c = rollout.spec.strategy?.canary;
  const b = rollout.spec.strategy?.blueGreen;
  return [c?.stableService, c?.canaryService, b?.activeService, b?.previewService].filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
}

export function servicePort(svc: ServiceObject): { port: number; problem?: string } {
  const annotated = svc.metadata?.annotations?.[PORT_ANNOTATION];
  const port = annotated !== undefined ? Number(annotated) : svc.spec?.ports?.[0]?.port;
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
    return {
      port: 0,
      problem: `Service ${svc.metadata?.name}: ${annotated !== undefined ? `annotation ${PORT_ANNOTATION}: ${JSON.stringify(annotated)}` : 'spec.ports[0].port'} must be a port number 0..65535 (0 picks a free one)`,
    };
  return { port };
}

function selectedVersions(
  svc: ServiceObject,
  router: RouterRecord,
  versions: readonly VersionEndpoints[],
): VersionEndpoints[] {
  const name = svc.metadata?.name ?? '';
  const selector = { ...(svc.spec?.selector ?? {}) };
  const hash = router.selectors[name];
  if (hash) selector[HASH_LABEL] = hash;
  return versions.filter((v) => matches(selector, { ...v.labels, [HASH_LABEL]: v.hash }));
}

/** Argo's setHeaderRoute match (`[{headerName, headerValue: {exact|prefix|regex}}]`): all must hold. */
export function headerRouteMatch(match: readonly unknown[]): RequestMatch[] {
  const headers: Record<string, StringMatch> = {};
  for (const m of match as { headerName?: string; headerValue?: Record<string, string> }[]) {
    if (!m.headerName || !m.headerValue) continue;
    const sm = stringMatch(m.headerValue);
    if (sm) headers[m.headerName.toLowerCase()] = sm;
  }
  return [{ headers }];
}

/** Argo's setMirrorRoute match (`[{method, path, headers}]`): any entry; all of its parts. */
export function mirrorRouteMatch(match: readonly unknown[]): RequestMatch[] {
  const out: RequestMatch[] = [];
  for (const m of match as {
    method?: Record<string, string>;
    path?: Record<string, string>;
    headers?: Record<string, Record<string, string>>;
  }[]) {
    const rm: RequestMatch = {};
    const method = m.method && stringMatch(m.method);
    if (method) rm.method = method;
    const path = m.path && stringMatch(m.path);
    if (path) rm.path = path;
    for (const [h, v] of Object.entries(m.headers ?? {})) {
      const sm = stringMatch(v);
      if (sm) rm.headers = { ...rm.headers, [h.toLowerCase()]: sm };
    }
    out.push(rm);
  }
  return out;
}

function stringMatch(v: Record<string, string>): StringMatch | undefined {
  if (typeof v.exact === 'string') return { exact: v.exact };
  if (typeof v.prefix === 'string') return { prefix: v.prefix };
  if (typeof v.regex === 'string') return { regex: v.regex };
  return undefined;
}

export function releaseListeners(r: ReleaseRouting): ListenerPlan {
  const { rollout, router } = r;
  const rolloutName = rollout.metadata?.name ?? 'rollout';
  const canary = rollout.spec.strategy?.canary;
  const labels = (rollout.spec.template?.metadata?.labels ?? {}) as Record<string, string>;
  const named = new Set(namedServices(rollout));
  const problems: string[] = [];
  const byName = new Map(r.services.map((s) => [s.metadata?.name ?? '', s]));
  for (const n of named)
    if (!byName.has(n)) problems.push(`Service "${n}" not found: apply it with the Rollout`);
  const mine = r.services.filter((s) => {
    const n = s.metadata?.name ?? '';
    if (named.has(n)) return true;
    const sel = s.spec?.selector;
    return sel !== undefined && Object.keys(sel).length > 0 && matches(sel, labels);
  });
  const listeners: Listener[] = [];
  for (const svc of mine) {
    const name = svc.metadata?.name ?? '';
    const { port, problem } = servicePort(svc);
    if (problem) {
      problems.push(problem);
      continue;
    }
    const host = svc.metadata?.annotations?.[HOST_ANNOTATION] ?? r.defaultHost;
    const perVersion = (vs: readonly VersionEndpoints[], backendName: (v: VersionEndpoints) => string) =>
      vs.map((v): Backend => ({ name: backendName(v), version: versionLabel(v), upstreams: v.upstreams }));
    if (canary?.trafficRouting && name === canary.stableService && canary.canaryService) {
      const stableVs = selectedVersions(svc, router, r.versions);
      const canarySvc = byName.get(canary.canaryService);
      const canaryVs = canarySvc ? selectedVersions(canarySvc, router, r.versions) : [];
      const max = canary.trafficRouting.maxTrafficWeight ?? 100;
      const backends: Backend[] = [
        ...merged('stable', stableVs),
        ...(canaryVs.length > 0 ? merged('canary', canaryVs) : []),
      ];
      const hasCanary = backends.some((b) => b.name === 'canary');
      const weights: Record<string, number> = {
        stable: Math.max(0, max - (hasCanary ? router.weight : 0)),
        ...(hasCanary ? { canary: Math.max(0, router.weight) } : {}),
      };
      const routes: RouteRule[] = hasCanary
        ? router.headerRoutes.map((h) => ({
            name: h.name,
            match: headerRouteMatch(h.match),
            backend: 'canary',
          }))
        : [];
      const mirrors: MirrorRule[] = hasCanary
        ? router.mirrorRoutes.map((m) => ({
            name: m.name,
            backend: 'canary',
            percentage: m.percentage ?? 100,
            ...(m.match.length > 0 ? { match: mirrorRouteMatch(m.match) } : {}),
          }))
        : [];
      listeners.push({ service: name, host, port, routes: { backends, weights, routes, mirrors } });
      continue;
    }
    const vs = selectedVersions(svc, router, r.versions);
    const backends = perVersion(vs, (v) => `${rolloutName}-${v.hash}`);
    const weights = Object.fromEntries(backends.map((b) => [b.name, b.upstreams.length]));
    listeners.push({ service: name, host, port, routes: { backends, weights } });
  }
  return { listeners, problems };
}

/**
 * One backend for a role. When a Service selects several versions (before its selector was switched),
 * their replicas are pooled; the version label is the newest one's, since a backend has one label.
 */
function merged(role: string, vs: readonly VersionEndpoints[]): Backend[] {
  const ready = vs.filter((v) => v.upstreams.length > 0);
  return [
    { name: role, version: ready.map((v) => v.hash).join('+'), upstreams: vs.flatMap((v) => v.upstreams) },
  ];
}

/**
 * The metrics label of a version's backend: its hash, or empty while it has no ready replica, so the
 * proxy's own "no upstream" answers (while replicas start, e.g. after a runtime restart) are not
 * counted as the version's errors.
 */
const versionLabel = (v: VersionEndpoints): string => (v.upstreams.length > 0 ? v.hash : '');
