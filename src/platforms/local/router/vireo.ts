/** The default local router: one Vireo proxy per listener, all counting into one metrics registry. */
import { ProxyMetrics } from '../proxy/metrics.js';
import { startProxy, type VireoProxy } from '../proxy/proxy.js';
import type { Listener, LocalRouter } from './router.js';

export interface VireoRouterOptions {
  /** Drain allowed to a listener that is removed or moved (default 5 s). */
  drainMs?: number;
  timeoutMs?: number;
}

export function startVireoRouter(options: VireoRouterOptions = {}): LocalRouter {
  const metrics = new ProxyMetrics();
  const proxies = new Map<string, { proxy: VireoProxy; host: string; port: number }>();
  const drainMs = options.drainMs ?? 5_000;
  return {
    kind: 'vireo',
    metrics: () => metrics,
    addresses: () => Object.fromEntries([...proxies].map(([s, p]) => [s, p.proxy.url])),
    async apply(listeners: readonly Listener[]): Promise<void> {
      const wanted = new Map(listeners.map((l) => [l.service, l]));
      const errors: string[] = [];
      for (const [service, p] of proxies) {
        const l = wanted.get(service);
        if (!l || l.host !== p.host || (l.port !== 0 && l.port !== p.port)) {
          proxies.delete(service);
          void p.proxy.close({ drainMs });
        }
      }
      for (const l of listeners) {
        const p = proxies.get(l.service);
        try {
          if (p) p.proxy.setRoutes(l.routes);
          else {
            const proxy = await startProxy({
              listen: { host: l.host, port: l.port },
              service: l.service,
              routes: l.routes,
              metrics,
              ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
            });
            proxies.set(l.service, { proxy, host: l.host, port: proxy.port });
          }
        } catch (e) {
          errors.push(`Service ${l.service} on ${l.host}:${l.port}: ${(e as Error).message}`);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('; '));
    },
    async close(o = {}): Promise<void> {
      const all = [...proxies.values()];
      proxies.clear();
      await Promise.all(all.map((p) => p.proxy.close({ drainMs: o.drainMs ?? drainMs })));
    },
  };
}
