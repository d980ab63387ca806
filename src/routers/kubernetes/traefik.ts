/**
 * Traefik, as Argo Rollouts drives it: the weighted TraefikService (`traefik.io/v1alpha1`) named by
 * `trafficRouting.traefik.weightedTraefikServiceName` lists the stable and canary Services under
 * `spec.weighted.services`; the router sets their weights to 100 - w and w and leaves the rest as is.
 * Traefik has no header routes here (as in Argo): a setHeaderRoute gets a Warning and no route.
 */
import {
  type KubeObject,
  type KubeTrafficRouter,
  type ObjectRef,
  RouterError,
  type RouterPlan,
  type RouterRollout,
} from './router.js';

const TRAEFIK_SERVICE = { apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService' } as const;

const nameOf = (r: RouterRollout): string => {
  const name = r.trafficRouting.traefik?.weightedTraefikServiceName;
  if (!name)
    throw new RouterError('InvalidSpec', 'trafficRouting.traefik.weightedTraefikServiceName is required');
  return name;
};

export const traefikRouter: KubeTrafficRouter = {
  type: 'Traefik',

  reads(r: RouterRollout): ObjectRef[] {
    return [{ ...TRAEFIK_SERVICE, name: nameOf(r) }];
  },

  current(r, observed) {
    const current = observed({ ...TRAEFIK_SERVICE, name: nameOf(r) });
    const services = (current?.spec as { weighted?: { services?: unknown } } | undefined)?.weighted?.services;
    if (!Array.isArray(services)) return undefined;
    const canary = services.find((s) => (s as { name?: unknown })?.name === r.canaryService) as
      | { weight?: unknown }
      | undefined;
    return { canaryWeight: typeof canary?.weight === 'number' ? canary.weight : 0, headerRoutes: [] };
  },

  plan(r, want, observed): RouterPlan {
    const plan: RouterPlan = { upsert: [], events: [] };
    const name = nameOf(r);
    const current = observed({ ...TRAEFIK_SERVICE, name });
    if (!current) throw new RouterError('TraefikServiceNotFound', `TraefikService \`${name}\` not found`);
    const services = (current.spec as { weighted?: { services?: unknown } } | undefined)?.weighted?.services;
    if (!Array.isArray(services))
      throw new RouterError(
        'TraefikServiceUpdateError',
        `TraefikService \`${name}\`: spec.weighted.services was not found in traefik service manifest`,
      );
    const copy = structuredClone(services) as Record<string, unknown>[];
    const find = (service: string, role: string) => {
      const s = copy.find((x) => typeof x === 'object' && x !== null && x.name === service);
      if (!s)
        throw new RouterError(
          'TraefikServiceUpdateError',
          `TraefikService \`${name}\`: the ${role} service ${service} is not in spec.weighted.services`,
        );
      return s;
    };
    const canary = find(r.canaryService, 'canary');
    const stable = find(r.stableService, 'stable');
    if (want.headerRoutes.length > 0)
      plan.events.push({
        type: 'Warning',
        reason: 'HeaderRouteUnsupported',
        message: `Traefik has no header routes; header route ${want.headerRoutes.map((h) => h.name).join(', ')} is not set`,
      });
    const stableWeight = 100 - want.canaryWeight;
    if (canary.weight === want.canaryWeight && stable.weight === stableWeight) return plan;
    canary.weight = want.canaryWeight;
    stable.weight = stableWeight;
    const next: KubeObject = structuredClone(current);
    (next.spec as { weighted: { services: unknown[] } }).weighted.services = copy;
    plan.upsert.push(next);
    plan.events.push({
      type: 'Normal',
      reason: 'TraefikServiceUpdated',
      message: `TraefikService \`${name}\`: weight ${want.canaryWeight} to ${r.canaryService}, ${stableWeight} to ${r.stableService}`,
    });
    return plan;
  },
};
