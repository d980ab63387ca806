/**
 * The raw-socket data path, from the wire: requests written byte for byte by a raw client, answers
 * from node:http or from raw upstreams that frame their answers in every way HTTP/1.1 allows (and some
 * it does not). The behaviour both paths share (weights, routes, mirrors, retries, drain) is in
 * proxy.test.ts, which runs through this path too.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type VireoProxy } from './proxy.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw upstream: `onRequest` gets each request head (and body when Content-Length says) and the socket. */
async function rawUpstream(
  onRequest: (req: { head: string; body: string }, socket: net.Socket, nth: number) => void,
): Promise<{ port: number; connections: () => number; open: () => number; requests: string[] }> {
  let connections = 0;
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    let nth = 0;
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.slice(end + 4, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        requests.push(head);
        onRequest({ head, body }, socket, nth++);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    open: () => sockets.size,
    requests,
  };
}

/** A node:http upstream answering `path body-length` with what it received. */
async function echoUpstream(): Promise<{
  port: number;
  seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[];
}> {
  const seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      const text = `${req.method} ${req.url} ${body}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { port: (server.address() as AddressInfo).port, seen };
}

async function proxyTo(
  port: number,
  options: Partial<Parameters<typeof startProxy>[0]> = {},
): Promise<VireoProxy> {
  const p = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    service: 'web',
    routes: {
      backends: [{ name: 'app', version: 'v1', upstreams: [{ host: '127.0.0.1', port }] }],
      weights: { app: 100 },
    },
    ...options,
  });
  cleanups.push(() => p.close({ drainMs: 100 }));
  return p;
}

/** A raw client connection: write bytes, read parsed answers (Content-Length, chunked, or until close). */
class RawClient {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(port: number) {
    this.socket = net.connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => {});
    cleanups.push(() => {
      this.socket.destroy();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(text: string): this {
    this.socket.write(text, 'latin1');
    return this;
  }

  /** The next whole answer: status, lower-cased headers, the body (de-chunked). */
  async answer(
    timeoutMs = 5000,
  ): Promise<{ status: number; headers: Record<string, string>; body: string; raw: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = this.tryParse();
      if (parsed) return parsed;
      if (this.closed)
        throw new Error(
          `connection closed; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `no whole answer in ${timeoutMs} ms: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`,
        );
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Resolves when the proxy closes the connection. */
  async closedByPeer(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  private tryParse() {
    const text = this.buf.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = text.slice(0, end).split('\r\n');
    const status = Number((lines[0] ?? '').slice(9, 12));
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    let rest = text.slice(end + 4);
    let body = '';
    let used: number;
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (rest.length < n) return undefined;
      body = rest.slice(0, n);
      used = end + 4 + n;
    } else if (headers['transfer-encoding']?.includes('chunked')) {
      let at = 0;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n', at);
        if (lineEnd < 0) return undefined;
        const size = Number.parseInt(rest.slice(at, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = rest.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd < 0 && rest.slice(lineEnd, lineEnd + 4) !== '\r\n\r\n') return undefined;
          used = end + 4 + (trailerEnd < 0 ? lineEnd + 4 : trailerEnd + 4);
          break;
        }
        if (rest.length < lineEnd + 2 + size + 2) return undefined;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        at = lineEnd + 2 + size + 2;
      }
    } else if ([204, 304].includes(status) || headers['x-no-body'] !== undefined) {
      used = end + 4;
    } else {
      if (!this.closed) return undefined; // until close
      body = rest;
      used = text.length;
    }
    rest = '';
    this.buf = this.buf.subarray(used);
    return { status, headers, body, raw: text.slice(0, used) };
  }
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

describe('fast path: requests', () => {
  it('answers pipelined requests in order on one connection', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(
      `${get('/1') + get('/2')}POST /3 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody${get('/4')}`,
    );
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await c.answer()).body);
    expect(bodies).toEqual(['GET /1 ', 'GET /2 ', 'POST /3 body', 'GET /4 ']);
  });

  it('waits for a body that comes in pieces', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send('POST /b HTTP/1.1\r\nHost: t\r\nContent-Le');
    await new Promise((r) => setTimeout(r, 30));
    c.send('ngth: 10\r\n\r\n01234');
    await new Promise((r) => setTimeout(r, 30));
    c.send('56789');
    expect((await c.answer()).body).toBe('POST /b 0123456789');
  });

  it('a client that half-closes after its requests gets every answer, then the close', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/a') + get('/b'));
    c.socket.end();
    expect((await c.answer()).body).toBe('GET /a ');
    expect((await c.answer()).body).toBe('GET /b ');
    expect(await c.closedByPeer()).toBe(true);
  });

  it('Connection: close from the client closes after the answer', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/a', 'Connection: close\r\n'));
    const a = await c.answer();
    expect(a.body).toBe('GET /a ');
    expect(a.headers.connection).toBe('close');
    expect(await c.closedByPeer()).toBe(true);
  });

  it('many pipelined requests the proxy answers itself do not nest (no stack overflow)', async () => {
    const p = await startProxy({ listen: { host: '127.0.0.1', port: 0 } }); // no routes: 503 each
    cleanups.push(() => p.close({ drainMs: 100 }));
    const c = new RawClient(p.port).send(get('/x').repeat(20_000));
    for (let i = 0; i < 20_000; i++) expect((await c.answer()).status).toBe(503);
    expect(p.metrics().snapshot({ windowSeconds: 600 })[0]?.requests).toBe(20_000);
  });
});

describe('fast path: answers framed every way', () => {
  it('relays a chunked answer as is and keeps the connection for the next request', async () => {
    const up = await rawUpstream((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => s.write('6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n'), 20);
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/'));
    const a = await c.answer();
    expect(a.body).toBe('hello world');
    expect(a.raw).toContain('0\r\nX-Sum: 11\r\n\r\n');
    c.send(get('/again'));
    expect((await c.answer()).body).toBe('hello world');
    expect(up.connections()).toBe(1);
  });

  it('an answer without length is read until the upstream closes; the client is told to close', async () => {
    const up = await rawUpstream((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setTimeout(() => s.end('close'), 20);
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/'));
    expect(await c.closedByPeer()).toBe(true);
    const a = await c.answer();
    expect(a.body).toBe('until close');
    expect(a.headers.connection).toBe('close');
  });

  it('HEAD, 204 and 304 have no body whatever their headers say', async () => {
    const up = await rawUpstream((r, s) => {
      if (r.head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n');
      else if (r.head.includes('/204')) s.write('HTTP/1.1 204 No Content\r\n\r\n');
      else if (r.head.includes('/304')) s.write('HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port);
    c.send('HEAD / HTTP/1.1\r\nHost: t\r\nX-No-Body: 1\r\n\r\n');
    // The client knows a HEAD answer has no body; RawClient is told by the marker header below.
    const head = await new Promise<string>((resolve) => {
      const check = () => {
        const t = (c as unknown as { buf: Buffer }).buf.toString('latin1');
        if (t.includes('\r\n\r\n')) resolve(t);
        else setTimeout(check, 10);
      };
      check();
    });
    expect(head.startsWith('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n')).toBe(true);
    (c as unknown as { buf: Buffer }).buf = Buffer.alloc(0);
    c.send(get('/204'));
    expect((await c.answer()).status).toBe(204);
    c.send(get('/304'));
    expect((await c.answer()).status).toBe(304);
    c.send(get('/after'));
    expect((await c.answer()).body).toBe('ok');
    expect(up.connections()).toBe(1);
  });

  it('interim answers (103) are not passed on; the final one is', async () => {
    const up = await rawUpstream((_r, s) => {
      s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
      setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal'), 10);
    });
    const p = await proxyTo(up.port);
    const a = await new RawClient(p.port).send(get('/')).answer();
    expect(a.status).toBe(200);
    expect(a.body).toBe('final');
  });

  it.each([
    ['differing Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    [
      'Content-Length with chunked',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['a head over 64 KiB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`],
  ])('%s from the upstream: 502, counted as such', async (_name, answer) => {
    const up = await rawUpstream((_r, s) => s.write(answer));
    const p = await proxyTo(up.port);
    const a = await new RawClient(p.port).send(get('/')).answer();
    expect(a.status).toBe(502);
    expect(p.metrics().snapshot({ windowSeconds: 600 })[0]).toMatchObject({ requests: 1, errors: 1 });
  });

  it('a chunked answer that breaks its framing midway cuts the client connection', async () => {
    const up = await rawUpstream((_r, s) =>
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX'),
    );
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/'));
    expect(await c.closedByPeer()).toBe(true);
  });

  it('bytes past the end of an answer make its upstream connection unusable, not the next answer', async () => {
    let answered = 0;
    const up = await rawUpstream((_r, s) => {
      if (answered++ === 0)
        s.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra',
        );
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond');
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/1'));
    expect((await c.answer()).body).toBe('ok');
    c.send(get('/2'));
    expect((await c.answer()).body).toBe('second');
    expect(up.connections()).toBe(2);
  });

  it('an upstream that closes a kept-alive connection as the next request arrives: retried on a new one', async () => {
    const up = await rawUpstream((_r, s, nth) => {
      if (nth === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst');
      else s.destroy(); // the race every keep-alive pool meets
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/1'));
    expect((await c.answer()).body).toBe('first');
    c.send(get('/2'));
    expect((await c.answer()).body).toBe('first'); // answered on a fresh connection
    expect(up.connections()).toBe(2);
  });

  it('answers the client as fast as it reads: a 20 MB answer to a slow reader arrives whole', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024, 'x');
    const up = await rawUpstream((_r, s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
      s.write(big);
    });
    const p = await proxyTo(up.port);
    const socket = net.connect({ port: p.port, host: '127.0.0.1' });
    cleanups.push(() => {
      socket.destroy();
    });
    socket.write(get('/'));
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (c: Buffer) => {
        received += c.length;
        socket.pause();
        setTimeout(() => socket.resume(), 1);
        if (received >= big.length) resolve();
      });
    });
    expect(received).toBeGreaterThanOrEqual(big.length);
  });
});

describe('fast path: handoff to node:http', () => {
  it('a chunked request body goes through node:http, intact, and the connection keeps working', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(
      'POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
    );
    expect((await c.answer()).body).toBe('POST /c abcde');
    c.send(get('/next'));
    expect((await c.answer()).body).toBe('GET /next ');
  });

  it('HTTP/1.0 is answered (by node:http)', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send('GET /old HTTP/1.0\r\nHost: t\r\n\r\n');
    expect((await c.answer()).body).toBe('GET /old ');
  });

  it('malformed requests get node:http 400s and never reach the upstream', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    for (const bad of [
      'GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost : t\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET /\u0001 HTTP/1.1\r\nHost: t\r\n\r\n',
    ]) {
      const a = await new RawClient(p.port).send(bad).answer();
      expect(a.status, JSON.stringify(bad)).toBe(400);
    }
    expect(up.seen).toEqual([]);
  });

  it('request smuggling (Content-Length with Transfer-Encoding) is refused, the hidden request is never sent', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(
      'POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: t\r\n\r\n',
    );
    expect((await c.answer()).status).toBe(400);
    expect(up.seen.map((s) => s.url)).not.toContain('/admin');
  });

  it('a head over 16 KiB gets node:http 431', async () => {
    const up = await echoUpstream();
    const p = await proxyTo(up.port);
    const a = await new RawClient(p.port)
      .send(`GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
      .answer();
    expect(a.status).toBe(431);
    expect(up.seen).toEqual([]);
  });
});

describe('fast path: connections', () => {
  it('reuses upstream connections across client connections (keep-alive pool)', async () => {
    const up = await rawUpstream((_r, s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const p = await proxyTo(up.port);
    for (let i = 0; i < 5; i++) {
      const c = new RawClient(p.port).send(get('/', 'Connection: close\r\n'));
      expect((await c.answer()).body).toBe('ok');
      await c.closedByPeer();
    }
    expect(up.connections()).toBe(1);
  });

  it("tells clients its keep-alive timeout, as node:http does, and node's http.Agent takes the hint", async () => {
    const up = await rawUpstream((_r, s) =>
      s.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=60\r\nContent-Length: 2\r\n\r\nok'),
    );
    const p = await proxyTo(up.port);
    const raw = await new RawClient(p.port).send(get('/')).answer();
    // The upstream's own hint is hop-by-hop: the client gets the proxy's, whose idle timeout is 5 s.
    expect(raw.raw).toMatch(/\r\nkeep-alive: timeout=5\r\n/i);
    expect(raw.raw).not.toMatch(/timeout=60/);
    // node's Agent uses the hint to lower its own idle timeout (a second before the server's).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 60_000 });
    cleanups.push(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: p.port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => setImmediate(resolve));
        })
        .on('error', reject);
    });
    // It closes its idle socket a second before the proxy would: no request meets a closing socket.
    const [free] = Object.values(agent.freeSockets).flat();
    expect(free?.timeout).toBe(4000);
  });

  it('closes upstream connections idle for upstreamIdleMs (one sweep timer), and opens a new one after', async () => {
    let open = 0;
    const up = await rawUpstream((_r, s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const p = await proxyTo(up.port, { upstreamIdleMs: 150 });
    const c = new RawClient(p.port);
    expect((await c.send(get('/')).answer()).body).toBe('ok');
    open = up.connections();
    expect(open).toBe(1);
    // Still pooled just after the answer: the next request reuses it.
    expect((await c.send(get('/')).answer()).body).toBe('ok');
    expect(up.connections()).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(up.open()).toBe(0);
    expect((await c.send(get('/')).answer()).body).toBe('ok');
    expect(up.connections()).toBe(2);
  });

  it('the upstream timeout counts from each request on a kept-alive connection, not from the first', async () => {
    const up = await rawUpstream((_r, s, nth) => {
      if (nth === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'); // the second gets no answer
    });
    const p = await proxyTo(up.port, { timeoutMs: 300 });
    const c = new RawClient(p.port);
    expect((await c.send(get('/')).answer()).body).toBe('ok');
    await new Promise((r) => setTimeout(r, 200));
    const sent = performance.now();
    const a = await c.send(get('/')).answer();
    const waited = performance.now() - sent;
    expect(a.status).toBe(504);
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(2000);
  });

  it('counts a client that leaves before the answer as 499 and drops the upstream request', async () => {
    let upstreamClosed = false;
    const up = await rawUpstream((_r, s) => {
      s.on('close', () => {
        upstreamClosed = true;
      });
    });
    const p = await proxyTo(up.port);
    const c = new RawClient(p.port).send(get('/'));
    await new Promise((r) => setTimeout(r, 50));
    c.socket.resetAndDestroy(); // RST: gone for good (a FIN alone is a half-close, answered as node:http does)
    for (let i = 0; i < 100 && !upstreamClosed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstreamClosed).toBe(true);
    const text = p.metrics().text();
    expect(text).toMatch(/code="499"[^\n]*\} 1/);
  });
});
