/**
 * Vireo's own weighted HTTP/1.1 reverse proxy for the local runtime (issue 5). Two data paths share
 * one routing table, metrics registry and rule set: the fast path on raw sockets (fast-path.ts,
 * ADR 13) takes every connection first and relays strict HTTP/1.1 requests with small bodies; it hands
 * anything else (HTTP/1.0, chunked or large request bodies, Upgrade, Expect, malformed input) to the
 * node:http server below, which owns that connection from then on. No proxy library does per-request
 * weights with per-version metrics without the same glue.
 *
 * Behaviour (both paths):
 * - Each request is decided once, on arrival, against the routing table current at that moment
 *   (`routing.ts`: match rules first, then the weights). `setRoutes` swaps the table for new requests
 *   only; a request in flight finishes (and retries) on the backend it was given.
 * - Round-robin over a backend's upstreams; keep-alive connections to the upstreams.
 * - Upstream connection error before an answer -> one more try on the backend's next upstream when the
 *   request has no body or its body was buffered (bodies up to `maxBufferedBody` with a
 *   Content-Length are buffered); otherwise, or when the retry fails too, 502.
 * - No answer head within `timeoutMs` of the request's arrival -> 504 (the upstream request is dropped).
 * - Mirrors: a fire-and-forget copy (same method, target, headers, body) to each mirror backend chosen;
 *   its answer is read and discarded. Streamed bodies (no length or above the buffer limit) are not mirrored.
 * - `close({drainMs})` stops accepting connections at once, closes idle keep-alive connections,
 *   answers in-flight requests with `Connection: close`, and waits up to `drainMs` for them.
 * Not handled yet: Upgrade/WebSocket (node:http answers it as a plain request), HTTP/2, TLS.
 */
import http from 'node:http';
import net from 'node:net';
import { createFastPath } from './fast-path.js';
import { HOP_BY_HOP, type RequestHead } from './http1.js';
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
  /** How long an idle keep-alive connection to an upstream is kept (fast path). Default 3.5 s. */
  upstreamIdleMs?: number;
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

/** The names a `Connection` header lists beyond the fixed set; undefined when none (the usual `keep-alive`). */
function listedTokens(connection: string | string[]): Set<string> | undefined {
  const text = String(connection);
  if (text === lastConnection) return lastListed;
  let listed: Set<string> | undefined;
  for (const part of text.split(',')) {
    const token = part.trim().toLowerCase();
    if (HOP_BY_HOP.has(token)) continue;
    listed ??= new Set();
    listed.add(token);
  }
  lastConnection = text;
  lastListed = listed;
  return listed;
}
// Clients send the same Connection value on every request; one entry saves the split per request.
let lastConnection: string | undefined;
let lastListed: Set<string> | undefined;

function stripHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const listed = headers.connection ? listedTokens(headers.connection) : undefined;
  // for-in over node's plain header object: no entries array per call.
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || listed?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * `src.pipe(dst)` without pipe's per-call listener set (about ten listeners on both streams): data
 * with backpressure, then end. A destroyed `dst` destroys the upstream request (the 'close' handler),
 * which stops `src`.
 */
function relay(src: http.IncomingMessage, dst: http.ServerResponse): void {
  src.on('data', (chunk: Buffer) => {
    if (dst.destroyed) return;
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', () => src.resume());
    }
  });
  src.on('end', () => dst.end());
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
  // lifo: the most recently used socket is warm (and idle ones can time out); no Nagle on the
  // request head (Node's default too, stated so it stays so).
  const agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', noDelay: true });
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

  const sendMirror = (
    b: CompiledBackend,
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer | undefined,
  ) => {
    const u = nextUpstream(b);
    if (!u) return;
    registry.observeMirror({ service, backend: b.name, version: b.version });
    const m = http.request({ host: u.host, port: u.port, method, path, headers, agent });
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

  // One labels object per backend and per table: no allocation per request, and the registry's
  // per-object cache hits.
  const noBackend: SeriesLabels = { service, backend: '', version: '' };
  const labelsByBackend = new WeakMap<CompiledBackend, SeriesLabels>();
  const labelsOf = (b: CompiledBackend): SeriesLabels => {
    let l = labelsByBackend.get(b);
    if (!l) {
      l = { service, backend: b.name, version: b.version };
      labelsByBackend.set(b, l);
    }
    return l;
  };

  /**
   * One request's life. A class rather than a set of closures per request: its methods exist once, and
   * the per-request listeners are small anonymous arrows calling them.
   */
  class Exchange {
    // 'upstream': an answer head arrived and is being relayed; 'self': the proxy answered (502/503/504).
    state: 'waiting' | 'upstream' | 'self' = 'waiting';
    current: http.ClientRequest | undefined = undefined;
    timer: NodeJS.Timeout | undefined = undefined;
    counted = false;

    constructor(
      readonly req: http.IncomingMessage,
      readonly res: http.ServerResponse,
      readonly start: number,
      readonly backend: CompiledBackend | undefined,
    ) {}

    /** The answer is done or the client went away: count it, then drop what is still running. */
    closed(): void {
      if (this.counted) return;
      this.counted = true;
      const res = this.res;
      const code = res.headersSent ? res.statusCode : 499;
      const labels = this.backend ? labelsOf(this.backend) : noBackend;
      ended(labels, code, (performance.now() - this.start) / 1000);
      if (this.timer !== undefined) clearTimeout(this.timer);
      if (this.current !== undefined && !res.writableFinished) this.current.destroy();
    }

    reply(code: number, text: string): void {
      const res = this.res;
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
    }

    timedOut(): void {
      if (this.state !== 'waiting') return;
      this.state = 'self';
      this.current?.destroy();
      this.reply(504, 'upstream timeout\n');
    }

    /** `after`: the index of the upstream that failed; the retry goes to the one after it. */
    attempt(backend: CompiledBackend, body: Buffer | 'stream' | undefined, after?: number): void {
      const req = this.req;
      const index = after === undefined ? nextIndex(backend) : (after + 1) % backend.upstreams.length;
      const u = backend.upstreams[index];
      if (!u) {
        this.state = 'self';
        clearTimeout(this.timer);
        req.resume();
        this.reply(503, 'no upstream\n');
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
      this.current = up;
      up.on('response', (upRes) => this.answered(upRes));
      up.on('error', (err: NodeJS.ErrnoException) => this.failed(err, backend, body, index, after));
      if (body === 'stream') req.pipe(up);
      else up.end(body);
    }

    answered(upRes: http.IncomingMessage): void {
      const res = this.res;
      if (this.state !== 'waiting' || res.destroyed) {
        upRes.resume();
        return;
      }
      this.state = 'upstream';
      clearTimeout(this.timer);
      const out = stripHopByHop(upRes.headers);
      if (closing) out.connection = 'close';
      res.writeHead(upRes.statusCode ?? 502, out);
      relay(upRes, res);
      upRes.on('error', () => res.destroy());
      upRes.on('aborted', () => res.destroy());
    }

    failed(
      err: NodeJS.ErrnoException,
      backend: CompiledBackend,
      body: Buffer | 'stream' | undefined,
      index: number,
      after: number | undefined,
    ): void {
      const res = this.res;
      if (this.state === 'upstream') {
        if (!res.writableFinished) res.destroy();
        return;
      }
      if (this.state === 'self' || res.destroyed) return;
      if (after === undefined && body !== 'stream' && RETRYABLE.has(err.code ?? '')) {
        this.attempt(backend, body, index);
        return;
      }
      this.state = 'self';
      clearTimeout(this.timer);
      this.reply(502, 'bad gateway\n');
    }
  }

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const start = performance.now();
    inFlight++;
    const table = routes;
    const decision = table
      ? decide(table, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, random)
      : undefined;
    const backend = decision?.backend;
    const ex = new Exchange(req, res, start, backend);
    res.on('close', () => ex.closed());
    if (!backend) {
      req.resume();
      ex.reply(503, 'no backend\n');
      return;
    }
    ex.timer = setTimeout(() => ex.timedOut(), timeoutMs);

    const mirrors = decision.mirrors;
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const size = length === undefined ? undefined : Number(length);
    if (!chunked && (size === undefined || size === 0)) {
      for (const m of mirrors)
        sendMirror(m, req.method ?? 'GET', req.url ?? '/', stripHopByHop(req.headers), undefined);
      ex.attempt(backend, undefined);
    } else if (!chunked && size !== undefined && Number.isFinite(size) && size <= maxBuffered) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        for (const m of mirrors)
          sendMirror(m, req.method ?? 'GET', req.url ?? '/', stripHopByHop(req.headers), body);
        ex.attempt(backend, body);
      });
    } else {
      ex.attempt(backend, 'stream');
    }
  };

  /** Counts an exchange that ended, on either path, and wakes a waiting drain. */
  const ended = (labels: SeriesLabels, code: number, seconds: number) => {
    registry.observe(labels, code, seconds);
    inFlight--;
    if (closing) {
      server.closeIdleConnections();
      fast.closeIdle();
    }
    if (inFlight === 0 && idleWaiters.length > 0) for (const w of idleWaiters.splice(0)) w();
  };

  // node:http never listens itself: it gets the connections the fast path hands off. (So its
  // headersTimeout check, which starts with listen, does not run; the fast path has read the
  // connection's first bytes by then.)
  const server = http.createServer(handle);
  server.keepAliveTimeout = 5_000;
  const fast = createFastPath({
    routes: () => routes,
    decide: (table, head: RequestHead) =>
      decide(table, { method: head.method, url: head.target, headers: head.headers }, random),
    nextIndex,
    timeoutMs,
    maxBufferedBody: maxBuffered,
    started: () => {
      inFlight++;
    },
    finished: (b, code, seconds) => ended(b ? labelsOf(b) : noBackend, code, seconds),
    closing: () => closing,
    mirror: (b, head, body) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const line of head.lines) {
        if (HOP_BY_HOP.has(line.name) || head.listed?.has(line.name)) continue;
        const prior = headers[line.name];
        headers[line.name] = prior === undefined ? line.value : [prior as string, line.value].flat();
      }
      sendMirror(b, head.method, head.target, headers, body);
    },
    handoff: (socket, pending) => {
      if (pending) socket.unshift(pending);
      server.emit('connection', socket);
    },
    upstreamIdleMs: options.upstreamIdleMs,
  });
  const listener = net.createServer(
    // allowHalfOpen: a client that half-closes after its requests still gets its answers.
    { noDelay: true, allowHalfOpen: true },
    (socket) => fast.accept(socket),
  );
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.listen.port, options.listen.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  const addr = listener.address();
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
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      server.closeIdleConnections();
      fast.closeIdle();
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
      fast.destroyAll();
      for (const m of mirrorRequests) m.destroy();
      agent.destroy();
      await closed;
      return { drained, aborted };
    },
  };
}
