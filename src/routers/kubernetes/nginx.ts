/**
 * ingress-nginx, as Argo Rollouts drives it: for each stable Ingress a canary Ingress named
 * `<rollout>-<stableIngress>-canary` (cut to 253 characters), owned by the Rollout, with the stable
 * Ingress's rules that route to the stable Service (pointed at the canary Service), its TLS and
 * ingress class, and the annotations `canary: "true"`, `canary-weight` (and `canary-weight-total` when
 * maxTrafficWeight is set), after `additionalIngressAnnotations` and `canaryIngressAnnotations`.
 *
 * Beyond Argo (issue #2830, which has no header routing for nginx): a setHeaderRoute becomes
 * `canary-by-header` with `canary-by-header-value` (exact) or `canary-by-header-pattern` (regex,
 * prefix). ingress-nginx matches one header per canary Ingress, so only the first match of the
 * first route is used, and a Warning says so.
 */
import { canonicalJson } from '../../api/argo/pod-template-hash.js';
import { rolloutDefaults } from '../../api/argo/rollout.js';
import {
  type DesiredTraffic,
  type HeaderRoute,
  isControlledBy,
  type KubeObject,
  type KubeTrafficRouter,
  type ObjectRef,
  RouterError,
  type RouterPlan,
  type RouterRollout,
  rolloutOwner,
} from './router.js';

const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' } as const;
const SUFFIX = '-canary';

export function canaryIngressName(rollout: string, stableIngress: string): string {
  const prefix = `${rollout}-${stableIngress}`;
  return `${prefix.slice(0, 253 - SUFFIX.length)}${SUFFIX}`;
}

const stableIngresses = (r: RouterRollout): string[] => {
  const n = r.trafficRouting.nginx;
  if (n?.stableIngresses && n.stableIngresses.length > 0) return n.stableIngresses;
  return n?.stableIngress ? [n.stableIngress] : [];
};

/**
 * Vireo's own annotation on the canary Ingress: the name of the header route its canary-by-header
 * annotations carry, so the route can be read back (and removed by name) after a restart.
 */
export const HEADER_ROUTE_ANNOTATION = 'rollouts.vireo.dev/header-route';

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface IngressPath {
  backend?: { service?: { name?: string } };
  [k: string]: unknown;
}
interface IngressRule {
  http?: { paths?: IngressPath[] };
  [k: string]: unknown;
}

/** The canary Ingress wanted for one stable Ingress, and any warnings. */
export function desiredCanaryIngress(
  r: RouterRollout,
  stable: KubeObject,
  want: DesiredTraffic,
): { ingress: KubeObject; warnings: string[] } {
  const nginx = r.trafficRouting.nginx ?? {};
  const prefix = nginx.annotationPrefix ?? rolloutDefaults.nginxAnnotationPrefix;
  const warnings: string[] = [];
  const stableSpec = (stable.spec ?? {}) as {
    rules?: IngressRule[];
    tls?: unknown[];
    ingressClassName?: string;
  };
  const rules: IngressRule[] = [];
  for (const rule of stableSpec.rules ?? []) {
    const copy = structuredClone(rule);
    let routesStable = false;
    for (const p of copy.http?.paths ?? []) {
      if (p.backend?.service?.name === r.stableService) {
        routesStable = true;
        p.backend.service.name = r.canaryService;
      }
    }
    if (routesStable) rules.push(copy);
  }
  if (rules.length === 0)
    throw new RouterError(
      'IngressRulesMissing',
      `ingress \`${stable.metadata.name}\` has no rules using service ${r.stableService} backend`,
    );
  const annotations: Record<string, string> = {};
  const classAnnotation = stable.metadata.annotations?.['kubernetes.io/ingress.class'];
  if (classAnnotation !== undefined) annotations['kubernetes.io/ingress.class'] = classAnnotation;
  const prefixed = (k: string) => (k.startsWith(prefix) ? k : `${prefix}/${k}`);
  for (const [k, v] of Object.entries(nginx.additionalIngressAnnotations ?? {})) annotations[prefixed(k)] = v;
  for (const [k, v] of Object.entries(nginx.canaryIngressAnnotations ?? {})) annotations[prefixed(k)] = v;
  annotations[`${prefix}/canary`] = 'true';
  annotations[`${prefix}/canary-weight`] = String(want.canaryWeight);
  const total = r.trafficRouting.maxTrafficWeight;
  if (total !== undefined) annotations[`${prefix}/canary-weight-total`] = String(total);

  const route = want.headerRoutes[0];
  const match = route?.match[0];
  if (route && match) {
    if (want.headerRoutes.length > 1 || route.match.length > 1)
      warnings.push(
        `nginx routes a canary Ingress on one header: only ${match.headerName} of header route ${route.name} is used`,
      );
    for (const k of ['canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern'])
      delete annotations[`${prefix}/${k}`];
    annotations[`${prefix}/canary-by-header`] = match.headerName;
    annotations[HEADER_ROUTE_ANNOTATION] = route.name;
    const v = match.headerValue;
    if (v.exact !== undefined) annotations[`${prefix}/canary-by-header-value`] = v.exact;
    else if (v.regex !== undefined) annotations[`${prefix}/canary-by-header-pattern`] = v.regex;
    else if (v.prefix !== undefined)
      annotations[`${prefix}/canary-by-header-pattern`] = `^${escapeRegex(v.prefix)}.*`;
  }

  const spec: Record<string, unknown> = { rules };
  if (stableSpec.tls !== undefined) spec.tls = structuredClone(stableSpec.tls);
  if (stableSpec.ingressClassName !== undefined) spec.ingressClassName = stableSpec.ingressClassName;
  return {
    ingress: {
      ...INGRESS,
      metadata: {
        name: canaryIngressName(r.name, stable.metadata.name),
        namespace: r.namespace,
        annotations,
        ownerReferences: [rolloutOwner(r)],
      },
      spec,
    },
    warnings,
  };
}

/**
 * The canary Ingress differs from the wanted one in what the router owns: the spec, the wanted
 * annotations, and any annotation under the controller's prefix that is no longer wanted (a header
 * route that ended). Annotations other tools add (kubectl's last-applied-configuration) are theirs.
 */
function differs(observed: KubeObject, wanted: KubeObject, prefix: string): boolean {
  const a = observed.metadata.annotations ?? {};
  const b = wanted.metadata.annotations ?? {};
  for (const [k, v] of Object.entries(b)) if (a[k] !== v) return true;
  for (const k of Object.keys(a))
    if ((k.startsWith(`${prefix}/`) || k === HEADER_ROUTE_ANNOTATION) && !(k in b)) return true;
  return canonicalJson(observed.spec ?? {}) !== canonicalJson(wanted.spec ?? {});
}

export const nginxRouter: KubeTrafficRouter = {
  type: 'Nginx',

  reads(r: RouterRollout): ObjectRef[] {
    return stableIngresses(r).flatMap((name) => [
      { ...INGRESS, name },
      { ...INGRESS, name: canaryIngressName(r.name, name) },
    ]);
  },

  current(r, observed) {
    const first = stableIngresses(r)[0];
    if (!first) return undefined;
    const canary = observed({ ...INGRESS, name: canaryIngressName(r.name, first) });
    if (!canary || !isControlledBy(canary, r.uid)) return undefined;
    const prefix = r.trafficRouting.nginx?.annotationPrefix ?? rolloutDefaults.nginxAnnotationPrefix;
    const a = canary.metadata.annotations ?? {};
    const weight = Number(a[`${prefix}/canary-weight`] ?? 0);
    const header = a[`${prefix}/canary-by-header`];
    const exact = a[`${prefix}/canary-by-header-value`];
    const regex = a[`${prefix}/canary-by-header-pattern`];
    const headerRoutes: HeaderRoute[] = header
      ? [
          {
            name: a[HEADER_ROUTE_ANNOTATION] ?? header,
            match: [
              {
                headerName: header,
                headerValue: exact !== undefined ? { exact } : { regex: regex ?? '.*' },
              },
            ],
          },
        ]
      : [];
    return { canaryWeight: Number.isFinite(weight) ? weight : 0, headerRoutes };
  },

  plan(r, want, observed): RouterPlan {
    const plan: RouterPlan = { upsert: [], events: [] };
    const names = stableIngresses(r);
    if (names.length === 0)
      throw new RouterError('InvalidSpec', 'trafficRouting.nginx needs stableIngress or stableIngresses');
    for (const name of names) {
      const stable = observed({ ...INGRESS, name });
      if (!stable)
        throw new RouterError('IngressNotFound', `error retrieving stableIngress \`${name}\`: not found`);
      const { ingress, warnings } = desiredCanaryIngress(r, stable, want);
      for (const w of warnings)
        plan.events.push({ type: 'Warning', reason: 'HeaderRouteLimited', message: w });
      const canaryName = ingress.metadata.name;
      const current = observed({ ...INGRESS, name: canaryName });
      if (!current) {
        plan.upsert.push(ingress);
        plan.events.push({
          type: 'Normal',
          reason: 'CreatingCanaryIngress',
          message: `Creating canary ingress \`${canaryName}\` with weight \`${want.canaryWeight}\``,
        });
        continue;
      }
      if (!isControlledBy(current, r.uid))
        throw new RouterError(
          'CanaryIngressNotOwned',
          `canary ingress \`${canaryName}\` controlled by different object`,
        );
      if (
        !differs(
          current,
          ingress,
          r.trafficRouting.nginx?.annotationPrefix ?? rolloutDefaults.nginxAnnotationPrefix,
        )
      )
        continue;
      // The whole object, to be replaced as read (resourceVersion kept, so a concurrent change is a
      // conflict): other tools' annotations stay, ours are exactly the wanted ones.
      const prefix = r.trafficRouting.nginx?.annotationPrefix ?? rolloutDefaults.nginxAnnotationPrefix;
      const kept = Object.entries(current.metadata.annotations ?? {}).filter(
        ([k]) => !k.startsWith(`${prefix}/`) && k !== HEADER_ROUTE_ANNOTATION,
      );
      plan.upsert.push({
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...Object.fromEntries(kept), ...ingress.metadata.annotations },
        },
        spec: ingress.spec,
      });
      plan.events.push({
        type: 'Normal',
        reason: 'PatchingCanaryIngress',
        message: `Updating Ingress \`${canaryName}\` to desiredWeight '${want.canaryWeight}'`,
      });
    }
    return plan;
  },
};
