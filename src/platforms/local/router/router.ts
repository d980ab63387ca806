/**
 * The local router: what carries out the engine's traffic actions on one machine. Each of the
 * runtime's Services is a listener (a loopback host:port) with a routing table (`RouteConfig`:
 * backends = versions with their replica endpoints, weights, header/cookie routes, mirrors).
 *
 * Implementations, one file each: `vireo.ts` (Vireo's own proxy, the default) and `nginx.ts`
 * (Debian's nginx, `vireo up --router nginx`). The runtime computes the tables; a router only makes
 * the listeners match them and counts what it served (the builtin provider and `/metrics` read it).
 */
import type { ProxyMetrics } from '../proxy/metrics.js';
import type { RouteConfig } from '../proxy/routing.js';

export interface Listener {
  /** The Service this listener stands for (`namespace/name` or `name`); the `service` metrics label. */
  service: string;
  host: string;
  port: number;
  routes: RouteConfig;
}

export interface LocalRouter {
  readonly kind: string;
  /**
   * Make the listeners exactly `listeners` (keyed by `service`): start new ones, stop removed ones
   * (draining), update the routes of the others without dropping requests. Rejects on an invalid
   * table or a port it cannot bind, keeping what was applied before.
   */
  apply(listeners: readonly Listener[]): Promise<void>;
  /** Requests, codes and latencies per service, backend and version. */
  metrics(): ProxyMetrics;
  /** The URL each listener answers on (by service), e.g. when it was asked for port 0. */
  addresses?(): Record<string, string>;
  /** Stop every listener, letting in-flight requests finish for up to drainMs. */
  close(options?: { drainMs?: number }): Promise<void>;
}
