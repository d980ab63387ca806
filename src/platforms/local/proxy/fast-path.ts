/**
 * The proxy's data path on raw sockets (ADR 13). node:http costs about 120 µs of CPU per proxied
 * request here, four times nginx; this path relays the common case, a strict HTTP/1.1 request with at
 * most a small Content-Length body (http1.ts), for about a third of that: it reads the head once, picks
 * the backend, and passes the bytes through both ways over pooled keep-alive upstream connections,
 * parsing only what it must (the answer's status and where its body ends).
 *
 * Everything else (HTTP/1.0, Transfer-Encoding, Upgrade, Expect, large bodies, malformed input) is
 * handed off with its unread bytes to the node:http server of proxy.ts, which owns that connection
 * from then on. Both paths share the routing table, metrics, retry, timeout and drain rules.
 */
import net from 'node:net';
import {
  ChunkedScanner,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  selfAnswer,
  upstreamRequestHead,
} from './http1.js';
import type { CompiledBackend, CompiledRoutes, Decision, Upstream } from './routing.js';

/** What the fast path needs of the proxy around it. */
export interface FastPathHost {
  routes(): CompiledRoutes | undefined;
  decide(routes: CompiledRoutes, head: RequestHead): Decision;
  /** Round-robin index into the backend's upstreams (-1 when none). */
  nextIndex(b: CompiledBackend): number;
  timeoutMs: number;
  maxBufferedBody: number;
  started(): void;
  /** An exchange ended: count it. `code` 499 when the client left before an answer head. */
  finished(backend: CompiledBackend | undefined, code: number, seconds: number): void;
  closing(): boolean;
  mirror(b: CompiledBackend, head: RequestHead, body: Buffer | undefined): void;
  /** The connection leaves the fast path; `pending` are bytes read but not handled. */
  handoff(socket: net.Socket, pending: Buffer | undefined): void;
  /** How long an idle upstream connection is kept (default 3.5 s). */
  upstreamIdleMs?: number | undefined;
}

const MAX_HEAD = 16 * 1024; // node:http's default limit; larger heads go to it for its 431
const MAX_RESPONSE_HEAD = 64 * 1024;
const KEEP_ALIVE_MS = 5_000; // node:http's keepAliveTimeout
/**
 * Told to clients on every answer that keeps the connection, as node:http does: clients such as
 * node's http.Agent then close an idle connection a second before the proxy would. Without it, a
 * request sent on a connection as the proxy closed it for idleness was reset (seen in a test's load).
 */
const KEEP_ALIVE_HINT = `keep-alive: timeout=${KEEP_ALIVE_MS / 1000}\r\n`;
const HEADERS_TIMEOUT_MS = 60_000; // node:http's headersTimeout
/** Below node's 5 s server keep-alive (with the sweep's lag), so idle sockets rarely die under us. */
const UPSTREAM_IDLE_MS = 3_500;

/** `takeBody`: the answer's framing broke. */
const CUT = -1;
/** Heads and bodies up to this size are copied into one buffer for one write; larger ones are corked. */
const COALESCE_MAX = 16 * 1024;

const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

/** One upstream connection; its listeners stay for its whole life and call whoever owns it now. */
class UpstreamConn {
  owner: Exchange | undefined;
  idleSince = 0;
  used = false;

  constructor(
    readonly socket: net.Socket,
    readonly pool: UpstreamPool,
    readonly key: string,
  ) {
    socket.on('data', (c: Buffer) => {
      if (this.owner) this.owner.upstreamData(this, c);
      else socket.destroy(); // bytes nobody asked for: the connection is unusable
    });
    const gone = (err?: NodeJS.ErrnoException) => {
      pool.forget(this);
      const o = this.owner;
      this.owner = undefined;
      o?.upstreamGone(this, err);
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    socket.on('end', () => {
      socket.end();
      gone();
    });
    socket.on('drain', () => this.owner?.upstreamDrained());
  }
}

/**
 * Idle keep-alive connections per upstream address, most recently used first. Idle ones are closed
 * after `idleMs` by one sweep timer, not a timer per socket: two timer changes per request cost more
 * than the sweep.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConn[]>();
  private readonly all = new Set<UpstreamConn>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs = UPSTREAM_IDLE_MS) {}

  acquire(u: Upstream, fresh: boolean): UpstreamConn {
    const key = `${u.host}:${u.port}`;
    if (!fresh) {
      const list = this.idle.get(key);
      const c = list?.pop();
      if (c) return c;
    }
    const socket = net.connect({ host: u.host, port: u.port, noDelay: true });
    const c = new UpstreamConn(socket, this, key);
    this.all.add(c);
    return c;
  }

  release(c: UpstreamConn): void {
    c.owner = undefined;
    if (c.socket.destroyed) return;
    c.used = true;
    c.idleSince = performance.now();
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, this.idleMs / 8)).unref();
    let list = this.idle.get(c.key);
    if (!list) {
      list = [];
      this.idle.set(c.key, list);
    }
    list.push(c);
  }

  forget(c: UpstreamConn): void {
    this.all.delete(c);
    const list = this.idle.get(c.key);
    const i = list?.indexOf(c) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** Closes connections idle for `idleMs` or more (oldest first in each list), and stops when none is idle. */
  private sweep(): void {
    const now = performance.now();
    let idle = 0;
    for (const list of this.idle.values()) {
      while (list.length > 0 && now - (list[0] as UpstreamConn).idleSince >= this.idleMs) {
        (list.shift() as UpstreamConn).socket.destroy();
      }
      idle += list.length;
    }
    if (idle === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  destroyAll(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const c of this.all) c.socket.destroy();
    this.all.clear();
    this.idle.clear();
  }
}

/** One request and its answer on the fast path. */
class Exchange {
  private up: UpstreamConn | undefined;
  /** 'waiting': for the answer head; 'relaying': its body; 'done'. */
  private state: 'waiting' | 'relaying' | 'done' = 'waiting';
  private headBuf: Buffer | undefined;
  private remaining = 0;
  private chunked: ChunkedScanner | undefined;
  private framing: 'none' | 'length' | 'chunked' | 'close' = 'none';
  private reusable = false;
  private status = 0;
  private attempts = 0;
  private readonly start = performance.now();

  constructor(
    private readonly conn: ClientConn,
    private readonly host: FastPathHost,
    private readonly pool: UpstreamPool,
    readonly head: RequestHead,
    private readonly body: Buffer | undefined,
    private readonly backend: CompiledBackend | undefined,
    private readonly upstreamHead: string,
  ) {}

  begin(): void {
    const b = this.backend;
    if (!b) {
      this.answerSelf(503, 'no backend\n');
      return;
    }
    this.conn.armTimeout();
    this.attempt(this.host.nextIndex(b), false);
  }

  private attempt(index: number, fresh: boolean): void {
    const b = this.backend as CompiledBackend;
    const u = index >= 0 ? b.upstreams[index] : undefined;
    if (!u) {
      this.answerSelf(503, 'no upstream\n');
      return;
    }
    this.attempts++;
    this.lastIndex = index;
    const up = this.pool.acquire(u, fresh);
    up.owner = this;
    this.up = up;
    const s = up.socket;
    s.cork();
    s.write(this.upstreamHead, 'latin1');
    if (this.body) s.write(this.body);
    s.uncork();
  }
  private lastIndex = -1;

  upstreamData(up: UpstreamConn, chunk: Buffer): void {
    if (up !== this.up || this.state === 'done') return;
    if (this.state === 'waiting') {
      const buf = this.headBuf ? Buffer.concat([this.headBuf, chunk]) : chunk;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0 || end > MAX_RESPONSE_HEAD) {
        if (buf.length > MAX_RESPONSE_HEAD) this.badAnswer('answer head too large');
        else this.headBuf = buf;
        return;
      }
      this.headBuf = undefined;
      const parsed = parseResponseHead(
        buf.toString('latin1', 0, end),
        this.head.method === 'HEAD',
        this.head.close || this.host.closing(),
        KEEP_ALIVE_HINT,
      );
      if (!parsed.ok) {
        this.badAnswer(parsed.error);
        return;
      }
      const h = parsed.head;
      if (h.status < 200) {
        // Interim answers (100, 103) are not passed on, as node:http's client does not; 101 never
        // comes, since requests asking to upgrade are handed off.
        if (h.status === 101) this.badAnswer('101 without upgrade');
        else if (buf.length > end + 4) this.upstreamData(up, buf.subarray(end + 4));
        return;
      }
      this.state = 'relaying';
      this.status = h.status;
      this.reusable = h.reusable;
      this.framing = h.framing.kind;
      if (h.framing.kind === 'length') this.remaining = h.framing.length;
      if (h.framing.kind === 'chunked') this.chunked = new ChunkedScanner();
      // Head and the first body bytes in one write of one buffer: one syscall (on loopback the write
      // carries most of the cost), and a plain write costs less in node than a corked writev.
      const rest = buf.subarray(end + 4);
      const take = this.takeBody(rest);
      if (take === CUT) return;
      if (!this.conn.writeHeadAndBody(h.clientHead, h.framing.kind === 'close', rest, take)) {
        this.up?.socket.pause();
      }
      if (this.bodyDone) this.endBody(take, rest.length);
      return;
    }
    const take = this.takeBody(chunk);
    if (take === CUT) return;
    if (take > 0 && !this.conn.write(take === chunk.length ? chunk : chunk.subarray(0, take))) {
      this.up?.socket.pause();
    }
    if (this.bodyDone) this.endBody(take, chunk.length);
  }

  /** Set by `takeBody`: the answer's body ends within the chunk it was given. */
  private bodyDone = false;

  /**
   * How many bytes of `chunk` belong to the answer's body (`bodyDone` set when it ends there), or CUT
   * when its framing broke; part of the answer has gone out, so both connections are cut.
   */
  private takeBody(chunk: Buffer): number {
    switch (this.framing) {
      case 'none':
        this.bodyDone = true;
        return 0;
      case 'length': {
        const take = Math.min(chunk.length, this.remaining);
        this.remaining -= take;
        this.bodyDone = this.remaining === 0;
        return take;
      }
      case 'chunked': {
        const end = (this.chunked as ChunkedScanner).feed(chunk);
        if (end === -2) {
          this.conn.destroy();
          this.up?.socket.destroy();
          return CUT;
        }
        this.bodyDone = end >= 0;
        return end >= 0 ? end : chunk.length;
      }
      case 'close':
        return chunk.length;
    }
  }

  private endBody(taken: number, chunkLength: number): void {
    // Bytes past the answer's end: the upstream broke framing, so its connection is not reused.
    if (taken < chunkLength) this.reusable = false;
    this.finish(true);
  }

  upstreamDrained(): void {}

  clientDrained(): void {
    this.up?.socket.resume();
  }

  upstreamGone(up: UpstreamConn, err: NodeJS.ErrnoException | undefined): void {
    if (up !== this.up || this.state === 'done') return;
    this.up = undefined;
    if (this.state === 'relaying') {
      if (this.framing === 'close') this.finish(false);
      else this.conn.destroy(); // the answer was cut short; so must the client's copy be
      return;
    }
    // No answer head yet. A reused connection the upstream closed while idle is the common case: try
    // again on a fresh one; otherwise one more try on the backend's next upstream, as the node:http path.
    const b = this.backend as CompiledBackend;
    const stale = up.used && !err;
    const retryable = stale || (err !== undefined && RETRYABLE.has(err.code ?? '')) || err === undefined;
    if (retryable && this.attempts < 2) {
      this.attempt(stale ? this.lastIndex : (this.lastIndex + 1) % b.upstreams.length, true);
      return;
    }
    this.answerSelf(502, 'bad gateway\n');
  }

  private badAnswer(_why: string): void {
    this.up?.socket.destroy();
    this.up = undefined;
    this.answerSelf(502, 'bad gateway\n');
  }

  /** No answer head within the timeout (the client connection's timer, armed at `begin`). */
  timedOut(): void {
    if (this.state !== 'waiting') return;
    this.up?.socket.destroy();
    this.up = undefined;
    this.answerSelf(504, 'upstream timeout\n');
  }

  private answerSelf(code: number, text: string): void {
    this.status = code;
    this.state = 'relaying';
    const close = this.head.close || this.host.closing();
    this.conn.writeHead(selfAnswer(code, text, close, KEEP_ALIVE_HINT), close);
    this.finish(false);
  }

  /** The answer is complete (or the client left): count it, free the upstream, let the next request go. */
  private finish(upstreamDone: boolean): void {
    if (this.state === 'done') return;
    this.state = 'done';
    const up = this.up;
    this.up = undefined;
    if (up) {
      if (upstreamDone && this.reusable) this.pool.release(up);
      else {
        up.owner = undefined;
        up.socket.destroy();
      }
    }
    this.host.finished(this.backend, this.status, (performance.now() - this.start) / 1000);
    this.conn.exchangeDone();
  }

  /** The client connection closed before the answer was complete. */
  clientGone(): void {
    if (this.state === 'done') return;
    if (this.state === 'waiting') this.status = 499;
    this.state = 'done';
    const up = this.up;
    this.up = undefined;
    if (up) {
      up.owner = undefined;
      up.socket.destroy();
    }
    this.host.finished(this.backend, this.status, (performance.now() - this.start) / 1000);
  }
}

/** One client connection on the fast path: parses requests one at a time, in order. */
class ClientConn {
  private buf: Buffer | undefined;
  private current: Exchange | undefined;
  private closeAfter = false;
  /** The client half-closed: answer the complete requests it sent, then close. */
  private ended = false;
  private headStart = 0;
  private handedOff = false;
  /**
   * The upstream timeout of the exchange in flight: one timer per connection, re-armed (`refresh`,
   * no allocation) as each exchange begins. It may fire after its exchange got its answer; it only
   * acts on an exchange still waiting, which is then the one it was armed for.
   */
  private timer: NodeJS.Timeout | undefined;
  private readonly remote: string | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly host: FastPathHost,
    private readonly pool: UpstreamPool,
    private readonly conns: Set<ClientConn>,
  ) {
    this.remote = socket.remoteAddress;
    socket.setNoDelay(true);
    socket.setTimeout(KEEP_ALIVE_MS);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onClose);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
    conns.add(this);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    if (this.current) {
      // Pipelined requests wait for the answer in flight; stop reading if they pile up.
      if (this.buf.length > MAX_HEAD + this.host.maxBufferedBody) this.socket.pause();
      return;
    }
    this.next();
  };
  private readonly onDrain = (): void => this.current?.clientDrained();
  private readonly onEnd = (): void => {
    this.ended = true;
    if (!this.current) this.next();
  };
  private readonly onTimeout = (): void => {
    if (this.current) return; // the upstream timer guards requests in flight
    if (this.buf && this.buf.length > 0) {
      const waited = performance.now() - this.headStart;
      if (waited < HEADERS_TIMEOUT_MS) {
        this.socket.setTimeout(HEADERS_TIMEOUT_MS - waited);
        return;
      }
    }
    this.socket.destroy();
  };
  private readonly onClose = (): void => {
    this.conns.delete(this);
    clearTimeout(this.timer);
    if (this.handedOff) return;
    const c = this.current;
    this.current = undefined;
    c?.clientGone();
  };

  /** Handles the next complete request in the buffer, if any. */
  private next(): void {
    if (this.current || this.handedOff || this.socket.destroyed) return;
    const buf = this.buf;
    const end = buf ? buf.indexOf('\r\n\r\n') : -1;
    if (!buf || end < 0) {
      if (this.ended)
        this.socket.end(); // nothing complete is left to answer
      else if (buf && buf.length > MAX_HEAD) this.handoff();
      else if (buf && buf.length > 0 && this.headStart === 0) this.headStart = performance.now();
      return;
    }
    if (end > MAX_HEAD) {
      this.handoff();
      return;
    }
    const parsed = parseRequestHead(buf.toString('latin1', 0, end), this.host.maxBufferedBody);
    if (!parsed.ok) {
      this.handoff();
      return;
    }
    const head = parsed.head;
    const total = end + 4 + head.contentLength;
    if (buf.length < total) {
      if (this.ended) this.socket.end();
      else if (this.headStart === 0) this.headStart = performance.now();
      return; // the body is still coming
    }
    this.headStart = 0;
    const body = head.contentLength > 0 ? Buffer.from(buf.subarray(end + 4, total)) : undefined;
    this.buf = buf.length > total ? buf.subarray(total) : undefined;
    if (head.close) this.closeAfter = true;
    this.host.started();
    const routes = this.host.routes();
    const decision = routes ? this.host.decide(routes, head) : undefined;
    const backend = decision?.backend;
    if (decision && backend) for (const m of decision.mirrors) this.host.mirror(m, head, body);
    const ex = new Exchange(
      this,
      this.host,
      this.pool,
      head,
      body,
      backend,
      upstreamRequestHead(head, this.remote),
    );
    this.current = ex;
    ex.begin();
  }

  armTimeout(): void {
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(this.onExchangeTimeout, this.host.timeoutMs).unref();
  }
  private readonly onExchangeTimeout = (): void => this.current?.timedOut();

  writeHead(head: string, closeAfter: boolean): void {
    if (closeAfter || this.host.closing()) this.closeAfter = true;
    if (!this.socket.destroyed) this.socket.write(head, 'latin1');
  }

  /** The answer's head and the first `take` bytes of `body`; false when the socket asks to wait. */
  writeHeadAndBody(head: string, closeAfter: boolean, body: Buffer, take: number): boolean {
    if (closeAfter || this.host.closing()) this.closeAfter = true;
    if (this.socket.destroyed) return true;
    if (take === 0) return this.socket.write(head, 'latin1');
    const piece = take === body.length ? body : body.subarray(0, take);
    if (head.length + take > COALESCE_MAX) {
      this.socket.cork();
      this.socket.write(head, 'latin1');
      const ok = this.socket.write(piece);
      this.socket.uncork();
      return ok;
    }
    const out = Buffer.allocUnsafe(head.length + take);
    out.write(head, 0, 'latin1');
    piece.copy(out, head.length);
    return this.socket.write(out);
  }

  write(chunk: Buffer): boolean {
    return this.socket.destroyed || this.socket.write(chunk);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  destroy(): void {
    this.socket.destroy();
  }

  exchangeDone(): void {
    this.current = undefined;
    if (this.closeAfter || this.host.closing()) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    // A microtask, not a call: answers the proxy gives itself finish at once, and many pipelined
    // requests must not nest that deep.
    if (this.buf || this.ended) queueMicrotask(() => this.next());
  }

  /** Idle (no request in flight): close now. Used when the proxy drains. */
  closeIfIdle(): void {
    if (!this.current && !(this.buf && this.buf.length > 0)) this.socket.end();
  }

  private handoff(): void {
    this.handedOff = true;
    clearTimeout(this.timer);
    this.conns.delete(this);
    const s = this.socket;
    s.setTimeout(0);
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('timeout', this.onTimeout);
    s.off('error', this.onClose);
    s.off('close', this.onClose);
    s.off('end', this.onEnd);
    const pending = this.buf;
    this.buf = undefined;
    this.host.handoff(s, pending);
  }
}

export interface FastPath {
  /** The net.Server 'connection' handler. */
  accept(socket: net.Socket): void;
  /** Close the connections with nothing in flight (drain). */
  closeIdle(): void;
  destroyAll(): void;
}

export function createFastPath(host: FastPathHost): FastPath {
  const pool = new UpstreamPool(host.upstreamIdleMs);
  const conns = new Set<ClientConn>();
  return {
    accept: (socket) => {
      new ClientConn(socket, host, pool, conns);
    },
    closeIdle: () => {
      for (const c of conns) c.closeIfIdle();
    },
    destroyAll: () => {
      for (const c of conns) c.destroy();
      conns.clear();
      pool.destroyAll();
    },
  };
}
