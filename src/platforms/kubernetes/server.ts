/**
 * The controller's HTTP endpoints, on Argo Rollouts' ports: `/healthz` and `/readyz` on the healthz
 * port (8080) for the kubelet's probes, `/metrics` on the metrics port (8090) for Prometheus.
 *
 * A probe answers 200 `ok`, or 503 with the reason its callback gave (a callback that throws is a
 * 503 with its message). Only GET and HEAD are served (405 otherwise); other paths are 404. When both
 * ports are the same non-zero number, one server serves all three paths.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ControllerMetrics } from './metrics.js';

/** `true` when fine, or the reason it is not. */
export type Probe = () => true | string;

export interface ControllerServerOptions {
  /** Default `0.0.0.0`: the kubelet and Prometheus reach the pod on its address. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  healthzPort?: number;
  /** Default 8090; 0 picks a free port. */
  metricsPort?: number;
  /** Liveness: false restarts the pod. */
  healthy: Probe;
  /** Readiness, e.g. caches synced. */
  ready: Probe;
  metrics: ControllerMetrics;
}

export interface ControllerServer {
  /** e.g. `http://127.0.0.1:8080/healthz` (loopback when listening on every address). */
  healthzUrl: string;
  readyzUrl: string;
  metricsUrl: string;
  healthzPort: number;
  metricsPort: number;
  close(): Promise<void>;
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;

function send(
  res: http.ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
) {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  // HEAD: the same headers, no body.
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const probeRoute =
  (probe: Probe): Route =>
  (_req, res) => {
    let result: true | string;
    try {
      result = probe();
    } catch (e) {
      result = e instanceof Error ? e.message : String(e);
    }
    if (result === true) send(res, 200, 'ok');
    else send(res, 503, result || 'not ok');
  };

const metricsRoute =
  (metrics: ControllerMetrics): Route =>
  async (_req, res) => {
    try {
      send(res, 200, await metrics.metrics(), metrics.contentType);
    } catch (e) {
      send(res, 500, `collecting metrics failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

function handler(routes: Record<string, Route>): http.RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    if (!route) return send(res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed');
    }
    Promise.resolve(route(req, res)).catch((e) => {
      if (!res.headersSent) send(res, 500, String(e));
      else res.destroy();
    });
  };
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${e.message}`));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Keep-alive connections (Prometheus keeps one) would hold close() open.
    server.closeAllConnections();
  });
}

export async function startControllerServer(opts: ControllerServerOptions): Promise<ControllerServer> {
  const host = opts.host ?? '0.0.0.0';
  const healthzPort = opts.healthzPort ?? 8080;
  const metricsPort = opts.metricsPort ?? 8090;
  const probes: Record<string, Route> = {
    '/healthz': probeRoute(opts.healthy),
    '/readyz': probeRoute(opts.ready),
  };
  const metrics: Record<string, Route> = { '/metrics': metricsRoute(opts.metrics) };

  const shared = healthzPort === metricsPort && healthzPort !== 0;
  const servers = shared
    ? [http.createServer(handler({ ...probes, ...metrics }))]
    : [http.createServer(handler(probes)), http.createServer(handler(metrics))];
  const closeAll = () => Promise.all(servers.map(closeServer)).then(() => {});

  let ports: number[];
  try {
    ports = [];
    ports.push(await listen(servers[0] as http.Server, host, healthzPort));
    if (!shared) ports.push(await listen(servers[1] as http.Server, host, metricsPort));
  } catch (e) {
    await closeAll();
    throw e;
  }
  const [hp = 0, mp = hp] = ports;
  // A wildcard address is not one to connect to; loopback reaches it.
  const shown = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  const base = (port: number) => `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  return {
    healthzUrl: `${base(hp)}/healthz`,
    readyzUrl: `${base(hp)}/readyz`,
    metricsUrl: `${base(mp)}/metrics`,
    healthzPort: hp,
    metricsPort: mp,
    close: closeAll,
  };
}
