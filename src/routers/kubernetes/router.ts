/**
 * Traffic routers on Kubernetes (issue 6), one file each behind this interface. A router is pure: from
 * the Rollout, the objects it reads (as the informers last saw them) and what the engine asks (the
 * canary weight, the header routes in force), it computes the objects to write. The Kubernetes
 * adapter reads, calls the router, and writes; it never decides, and a router never does I/O.
 */
import type { RolloutTrafficRouting } from '../../api/argo/rollout.js';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
}

/** A Kubernetes object as JSON (only the parts routers touch are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    resourceVersion?: string;
    uid?: string;
  };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** What a router needs of the Rollout. */
export interface RouterRollout {
  name: string;
  namespace: string;
  uid: string;
  stableService: string;
  canaryService: string;
  trafficRouting: RolloutTrafficRouting;
}

/** A header route in force (setHeaderRoute), with its matches as Argo writes them. */
export interface HeaderRoute {
  name: string;
  match: { headerName: string; headerValue: { exact?: string; prefix?: string; regex?: string } }[];
}

export interface DesiredTraffic {
  /** Canary weight, 0..maxTrafficWeight. */
  canaryWeight: number;
  headerRoutes: HeaderRoute[];
}

/**
 * The writes: an `upsert` object without metadata.resourceVersion is created; one with it is the
 * whole object as read and changed, to be replaced (a concurrent change then fails as a conflict and
 * the reconcile runs again). `events` explain what changed, with Argo's reasons where Argo has them.
 */
export interface RouterPlan {
  upsert: KubeObject[];
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

/** A router that cannot do what is asked: the message names the object and field. */
export class RouterError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KubeTrafficRouter {
  /** As Argo's Type(): `Nginx`, `Traefik`. */
  readonly type: string;
  /** The objects to read (watch) for this Rollout. */
  reads(r: RouterRollout): ObjectRef[];
  /**
   * The traffic in force, read back from the objects (the engine's `weights` and `managedRoutes`
   * observations); undefined while the router's objects do not exist yet.
   */
  current(r: RouterRollout, observed: (ref: ObjectRef) => KubeObject | undefined): DesiredTraffic | undefined;
  /** `observed(ref)`: the object as last seen, undefined when missing. Throws RouterError. */
  plan(
    r: RouterRollout,
    want: DesiredTraffic,
    observed: (ref: ObjectRef) => KubeObject | undefined,
  ): RouterPlan;
}

/** The owner reference that makes an object the Rollout's (deleted with it). */
export function rolloutOwner(r: RouterRollout): OwnerReference {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    name: r.name,
    uid: r.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const isControlledBy = (o: KubeObject, uid: string): boolean =>
  (o.metadata.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === uid);
