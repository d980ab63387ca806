/**
 * Vireo's own weighted HTTP/1.1 reverse proxy for the local runtime (issue 5), on node:http only: the
 * features needed (weighted split, match rules, mirroring, drain, per-version metrics) are a few hundred
 * lines, and no proxy library does per-request weights with per-version metrics without the same glue.
 *
 * Behaviour:
 * - Each request is decided once, on arrival, against the routing table current at that moment
 *   (`routing.ts`: match rules first, then the weights). `setRoutes` swaps the table for new requests
 *   only; a request in flight finishes (and retries) on the backend it was given.
 * - Round-robin over a backend's upstreams; keep-alive agent to the upstreams.
 * - Upstream connection error before an answer -> one more try on the backend's next upstream when the
 *   request has no body or its body was buffered (bodies up to `maxBufferedBody` with a
 *   Content-Length are buffered); otherwise, or when the retry fails too, 502.
 * - No answer head within `timeoutMs` of the request's arrival -> 504 (the upstream request is dropped).
 * - Mirrors: a fire-and-forget copy (same method, target, headers, body) to each mirror backend chosen;
 *   its answer is read and discarded. Streamed bodies (no length or above the buffer limit) are not mirrored.
 * - `close({drainMs})` stops accepting connections at once, closes idle keep-alive connections,
 *   answers in-flight requests with `Connection: close`, and waits up to `drainMs` for them.
 * Not handled yet: Upgrade/WebSocket, HTTP/2, TLS.
 */
import http from 'node:http';
import { hostForUrl, ProxyMetrics, type SeriesLabels } from './metrics.js';
import {
  type CompiledBackend,
  type CompiledRoutes,
  compileRoutes,
  decide,
  type RouteConfig,
  type Upstream,
} from './routing.js';

export interface ProxyOptions {
  listen: { host: string; port: number };
  /** The `service` metrics label (e.g. the Service this listener stands for). Default `proxy`. */
  service?: string;
  /** Time allowed for the upstream's answer head, from the request's arrival. Default 60 s. */
  timeoutMs?: number;
  routes?: RouteConfig;
  /** Shared registry (one per runtime); a new one when absent. */
  metrics?: ProxyMetrics;
  /** Uniform in [0, 1); default Math.random. Tests inject a seeded one. */
  random?: () => number;
  /** Request bodies up to this size (with Content-Length) are buffered, so they can be retried and mirrored. */
  maxBufferedBody?: number;
}

export interface CloseResult {
  /** True when every in-flight request finished within drainMs. */
  drained: boolean;
  /** Requests cut off when drainMs ran out. */
  aborted: number;
}

export interface VireoProxy {
  url: string;
  port: number;
  /** Validates (throws on an invalid config, keeping the old one) and applies to new requests. */
  setRoutes(config: RouteConfig): void;
  metrics(): ProxyMetrics;
  /** Requests being answered now. */
  inFlight(): number;
  close(options?: { drainMs?: number }): Promise<CloseResult>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const listed = headers.connection
    ? new Set(
        String(headers.connection)
          .split(',')
          .map((s) => s.trim().toLowerCase()),
      )
    : undefined;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

export async function startProxy(options: ProxyOptions): Promise<VireoProxy> {
  const service = options.service ?? 'proxy';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxBuffered = options.maxBufferedBody ?? 1024 * 1024;
  const random = options.random ?? Math.random;
  const registry = options.metrics ?? new ProxyMetrics();
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  const rr = new Map<string, number>();
  let routes: CompiledRoutes | undefined = options.routes ? compileRoutes(options.routes) : undefined;
  let inFlight = 0;
  let closing = false;
  const idleWaiters: (() => void)[] = [];
  const mirrorRequests = new Set<http.ClientRequest>();

  /** Round-robin index into the backend's upstreams (-1 when it has none). */
  const nextIndex = (b: CompiledBackend): number => {
    if (b.upstreams.length === 0) return -1;
    const n = rr.get(b.name) ?? 0;
    rr.set(b.name, (n + 1) % 1_000_000_007);
    return n % b.upstreams.length;
  };
  const nextUpstream = (b: CompiledBackend): Upstream | undefined => b.upstreams[nextIndex(b)];

  const sendMirror = (b: CompiledBackend, req: http.IncomingMessage, body: Buffer | undefined) => {
    const u = nextUpstream(b);
    if (!u) return;
    registry.observeMirror({ service, backend: b.name, version: b.version });
    const m = http.request({
      host: u.host,
      port: u.port,
      method: req.method,
      path: req.url,
      headers: stripHopByHop(req.headers),
      agent,
    });
    mirrorRequests.add(m);
    const timer = setTimeout(() => m.destroy(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      mirrorRequests.delete(m);
    };
    m.on('response', (r) => {
      r.resume();
      r.on('end', done);
      r.on('error', done);
    });
    m.on('error', done);
    m.on('close', done);
    m.end(body);
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const start = performance.now();
    inFlight++;
    let labels: SeriesLabels = { service, backend: '', version: '' };
    let counted = false;
    res.on('close', () => {
      if (counted) return;
      counted = true;
      const code = res.headersSent ? res.statusCode : 499;
      registry.observe(labels, code, (performance.now() - start) / 1000);
      inFlight--;
      if (closing) server.closeIdleConnections();
      if (inFlight === 0) for (const w of idleWaiters.splice(0)) w();
    });

    const reply = (code: number, text: string) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'text/plain',
        'content-length': text.length,
      };
      if (closing) headers.connection = 'close';
      res.writeHead(code, headers);
      res.end(text);
    };

    const table = routes;
    const decision = table
      ? decide(table, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, random)
      : undefined;
    const backend = decision?.backend;
    if (!backend) {
      req.resume();
      reply(503, 'no backend\n');
      return;
    }
    labels = { service, backend: backend.name, version: backend.version };

    // 'upstream': an answer head arrived and is being relayed; 'self': the proxy answered (502/503/504).
    let state: 'waiting' | 'upstream' | 'self' = 'waiting';
    let current: http.ClientRequest | undefined;
    const timer = setTimeout(() => {
      if (state !== 'waiting') return;
      state = 'self';
      current?.destroy();
      reply(504, 'upstream timeout\n');
    }, timeoutMs);
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) current?.destroy();
    });

    /** `after`: the index of the upstream that failed; the retry goes to the one after it. */
    const attempt = (body: Buffer | 'stream' | undefined, after?: number) => {
      const index = after === undefined ? nextIndex(backend) : (after + 1) % backend.upstreams.length;
      const u = backend.upstreams[index];
      if (!u) {
        state = 'self';
        clearTimeout(timer);
        req.resume();
        reply(503, 'no upstream\n');
        return;
      }
      const headers = stripHopByHop(req.headers);
      const remote = req.socket.remoteAddress;
      if (remote) {
        const prior = req.headers['x-forwarded-for'];
        headers['x-forwarded-for'] = prior ? `${prior}, ${remote}` : remote;
      }
      const up = http.request({
        host: u.host,
        port: u.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      });
      current = up;
      up.on('response', (upRes) => {
        if (state !== 'waiting' || res.destroyed) {
          upRes.resume();
          return;
        }
        state = 'upstream';
        clearTimeout(timer);
        const out = stripHopByHop(upRes.headers);
        if (closing) out.connection = 'close';
        res.writeHead(upRes.statusCode ?? 502, out);
        upRes.pipe(res);
        upRes.on('error', () => res.destroy());
        upRes.on('aborted', () => res.destroy());
      });
      up.on('error', (err: NodeJS.ErrnoException) => {
        if (state === 'upstream') {
          if (!res.writableFinished) res.destroy();
          return;
        }
        if (state === 'self' || res.destroyed) return;
        if (after === undefined && body !== 'stream' && RETRYABLE.has(err.code ?? '')) {
          attempt(body, index);
          return;
        }
        state = 'self';
        clearTimeout(timer);
        reply(502, 'bad gateway\n');
      });
      if (body === 'stream') req.pipe(up);
      else up.end(body);
    };

    const mirror = (body: Buffer | undefined) => {
      for (const m of decision.mirrors) sendMirror(m, req, body);
    };

    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const size = length === undefined ? undefined : Number(length);
    if (!chunked && (size === undefined || size === 0)) {
      mirror(undefined);
      attempt(undefined);
    } else if (!chunked && size !== undefined && Number.isFinite(size) && size <= maxBuffered) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        mirror(body);
        attempt(body);
      });
    } else {
      attempt('stream');
    }
  };

  const server = http.createServer(handle);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.listen.port;

  return {
    url: `http://${hostForUrl(options.listen.host)}:${port}`,
    port,
    setRoutes(config) {
      routes = compileRoutes(config);
    },
    metrics: () => registry,
    inFlight: () => inFlight,
    async close({ drainMs = 10_000 } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let drained = inFlight === 0;
      if (!drained) {
        drained = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), drainMs);
          idleWaiters.push(() => {
            clearTimeout(t);
            resolve(true);
          });
        });
      }
      const aborted = inFlight;
      server.closeAllConnections();
      for (const m of mirrorRequests) m.destroy();
      agent.destroy();
      await closed;
      return { drained, aborted };
    },
  };
}
