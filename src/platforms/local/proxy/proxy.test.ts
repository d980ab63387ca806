import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../sim/random.js';
import { startProxy, type VireoProxy } from './proxy.js';
import type { RouteConfig } from './routing.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestBackend {
  name: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real upstream answering `name` (or what `answer` says) after reading the whole body. */
async function backend(
  name: string,
  answer?: (s: Seen) => { status?: number; delayMs?: number; body?: string },
): Promise<TestBackend> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(s);
      const a = answer?.(s) ?? {};
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(a.status ?? 200, { 'content-type': 'text/plain' });
        res.end(a.body ?? name);
      };
      if (a.delayMs) setTimeout(send, a.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const b: TestBackend = {
    name,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
  cleanups.push(b.close);
  return b;
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function proxy(options: Partial<Parameters<typeof startProxy>[0]> = {}): Promise<VireoProxy> {
  const p = await startProxy({ listen: { host: '127.0.0.1', port: 0 }, ...options });
  cleanups.push(() => p.close({ drainMs: 100 }));
  return p;
}

const clientAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  status: number;
  body: string;
}

function request(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string; agent?: http.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? clientAgent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** `n` requests, `concurrency` at a time; answers in order. */
async function load(n: number, concurrency: number, one: (i: number) => Promise<Answer>): Promise<Answer[]> {
  const out: Answer[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

const up = (b: TestBackend) => ({ host: '127.0.0.1', port: b.port });

function twoVersions(stable: TestBackend, canary: TestBackend, weights: [number, number]): RouteConfig {
  return {
    backends: [
      { name: 'stable', version: 'v1', upstreams: [up(stable)] },
      { name: 'canary', version: 'v2', upstreams: [up(canary)] },
    ],
    weights: { stable: weights[0], canary: weights[1] },
  };
}

function count(answers: Answer[], body: string): number {
  return answers.filter((a) => a.body === body).length;
}

describe('weighted split', () => {
  it('sends 20/80 within 2 points over 2000 requests (seeded), as the backends saw it', async () => {
    const stable = await backend('stable');
    const canary = await backend('canary');
    const rnd = seededRandom(42);
    const p = await proxy({ routes: twoVersions(stable, canary, [80, 20]), random: () => rnd.uniform() });
    const answers = await load(2000, 20, () => request(`${p.url}/`));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const share = count(answers, 'canary') / 2000;
    expect(Math.abs(share - 0.2)).toBeLessThan(0.02);
    expect(canary.seen.length).toBe(count(answers, 'canary'));
    expect(stable.seen.length + canary.seen.length).toBe(2000);
  });

  it('round-robins over the upstreams of a backend', async () => {
    const a = await backend('a');
    const b = await backend('b');
    const c = await backend('c');
    const p = await proxy({
      routes: {
        backends: [{ name: 'web', version: 'v1', upstreams: [up(a), up(b), up(c)] }],
        weights: { web: 1 },
      },
    });
    const answers = await load(30, 1, () => request(`${p.url}/`));
    expect([count(answers, 'a'), count(answers, 'b'), count(answers, 'c')]).toEqual([10, 10, 10]);
  });

  it('answers 503 when no backend has weight', async () => {
    const stable = await backend('stable');
    const canary = await backend('canary');
    const p = await proxy({ routes: twoVersions(stable, canary, [0, 0]) });
    expect((await request(`${p.url}/`)).status).toBe(503);
  });

  it('rejects an invalid config and keeps the old one', async () => {
    const stable = await backend('stable');
    const canary = await backend('canary');
    const p = await proxy({ routes: twoVersions(stable, canary, [100, 0]) });
    expect(() => p.setRoutes({ ...twoVersions(stable, canary, [1, 1]), weights: { nope: 1 } })).toThrow(
      /weights.nope: unknown backend/,
    );
    expect((await request(`${p.url}/`)).body).toBe('stable');
  });
});

describe('header and cookie routes', () => {
  it('a matching header or cookie route wins over the weights; others follow the weights', async () => {
    const stable = await backend('stable');
    const canary = await backend('canary');
    const p = await proxy({
      routes: {
        ...twoVersions(stable, canary, [100, 0]),
        routes: [
          { name: 'hdr', backend: 'canary', match: [{ headers: { 'X-Canary': { exact: 'yes' } } }] },
          { name: 'ua', backend: 'canary', match: [{ headers: { 'user-agent': { regex: '.*Firefox.*' } } }] },
          { name: 'ck', backend: 'canary', match: [{ cookies: { canary: { exact: 'always' } } }] },
        ],
      },
    });
    expect((await request(`${p.url}/`, { headers: { 'x-canary': 'yes' } })).body).toBe('canary');
    expect((await request(`${p.url}/`, { headers: { 'x-canary': 'no' } })).body).toBe('stable');
    expect((await request(`${p.url}/`, { headers: { 'user-agent': 'Mozilla Firefox/1' } })).body).toBe(
      'canary',
    );
    expect((await request(`${p.url}/`, { headers: { cookie: 'a=1; canary=always' } })).body).toBe('canary');
    expect((await request(`${p.url}/`, { headers: { cookie: 'canary=never' } })).body).toBe('stable');
    expect((await request(`${p.url}/`)).body).toBe('stable');
  });
});

describe('mirroring', () => {
  it('copies requests (with body) to the mirror backend and ignores its answer', async () => {
    const stable = await backend('stable');
    const mirror = await backend('mirror', () => ({ status: 500, body: 'mirror failed' }));
    const p = await proxy({
      routes: {
        backends: [
          { name: 'stable', version: 'v1', upstreams: [up(stable)] },
          { name: 'canary', version: 'v2', upstreams: [up(mirror)] },
        ],
        weights: { stable: 100 },
        mirrors: [{ name: 'm', backend: 'canary', percentage: 100, match: [{ method: { exact: 'POST' } }] }],
      },
    });
    const answers = await load(20, 4, (i) =>
      request(`${p.url}/orders?i=${i}`, { method: 'POST', body: `order ${i}` }),
    );
    expect(answers.every((a) => a.status === 200 && a.body === 'stable')).toBe(true);
    expect((await request(`${p.url}/not-mirrored`)).body).toBe('stable');
    await waitFor(() => mirror.seen.length === 20);
    expect(mirror.seen.map((s) => s.body).sort()).toEqual(
      stable.seen
        .filter((s) => s.method === 'POST')
        .map((s) => s.body)
        .sort(),
    );
    expect(mirror.seen.every((s) => s.method === 'POST' && s.url.startsWith('/orders?i='))).toBe(true);
    expect(p.metrics().text()).toContain(
      'vireo_proxy_mirrored_requests_total{service="proxy",backend="canary",version="v2"} 20',
    );
  });

  it('mirrors about the given percentage', async () => {
    const stable = await backend('stable');
    const mirror = await backend('mirror');
    const rnd = seededRandom(7);
    const p = await proxy({
      random: () => rnd.uniform(),
      routes: {
        backends: [
          { name: 'stable', version: 'v1', upstreams: [up(stable)] },
          { name: 'shadow', version: 'v2', upstreams: [up(mirror)] },
        ],
        weights: { stable: 1 },
        mirrors: [{ name: 'm', backend: 'shadow', percentage: 30 }],
      },
    });
    await load(1000, 10, () => request(`${p.url}/`));
    await waitFor(() => p.metrics().snapshot({ windowSeconds: 60 }).length > 0);
    const mirrored = Number(/mirrored_requests_total\{[^}]*\} (\d+)/.exec(p.metrics().text())?.[1]);
    await waitFor(() => mirror.seen.length === mirrored);
    expect(Math.abs(mirrored / 1000 - 0.3)).toBeLessThan(0.05);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('errors', () => {
  it('502 when the only upstream refuses connections', async () => {
    const p = await proxy({
      routes: {
        backends: [
          { name: 'web', version: 'v1', upstreams: [{ host: '127.0.0.1', port: await deadPort() }] },
        ],
        weights: { web: 1 },
      },
    });
    expect((await request(`${p.url}/`)).status).toBe(502);
    expect(p.metrics().text()).toContain(
      'vireo_proxy_requests_total{service="proxy",backend="web",version="v1",code="502"} 1',
    );
  });

  it('retries once on another upstream of the same backend (no body, and buffered body)', async () => {
    const alive = await backend('alive');
    const p = await proxy({
      routes: {
        backends: [
          {
            name: 'web',
            version: 'v1',
            upstreams: [{ host: '127.0.0.1', port: await deadPort() }, up(alive)],
          },
        ],
        weights: { web: 1 },
      },
    });
    const gets = await load(10, 2, () => request(`${p.url}/`));
    const posts = await load(10, 2, (i) => request(`${p.url}/`, { method: 'POST', body: `b${i}` }));
    expect([...gets, ...posts].every((a) => a.status === 200 && a.body === 'alive')).toBe(true);
    expect(
      alive.seen
        .filter((s) => s.method === 'POST')
        .map((s) => s.body)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`).sort());
  });

  it('504 when the upstream does not answer within timeoutMs', async () => {
    const slow = await backend('slow', () => ({ delayMs: 2000 }));
    const p = await proxy({
      timeoutMs: 200,
      routes: { backends: [{ name: 'web', version: 'v1', upstreams: [up(slow)] }], weights: { web: 1 } },
    });
    const t0 = Date.now();
    const a = await request(`${p.url}/`);
    expect(a.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('graceful changes', () => {
  it('no request fails while weights change repeatedly under concurrent load', async () => {
    const a = await backend('a', () => ({ delayMs: Math.random() < 0.2 ? 5 : 0 }));
    const b = await backend('b');
    const c = await backend('c');
    const p = await proxy({ routes: twoVersions(a, b, [50, 50]) });
    let changes = 0;
    let stop = false;
    const changer = (async () => {
      while (!stop) {
        const w = changes % 5;
        const cfg =
          changes % 2 === 0
            ? twoVersions(a, b, [w * 25, 100 - w * 25])
            : twoVersions(a, c, [100 - w * 20, w * 20 + 1]);
        p.setRoutes(cfg);
        changes++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const n = 3000;
    const answers = await load(n, 50, (i) =>
      request(`${p.url}/`, i % 3 === 0 ? { method: 'POST', body: 'x' } : {}),
    );
    stop = true;
    await changer;
    expect(changes).toBeGreaterThan(20);
    expect(answers.length).toBe(n);
    expect(answers.filter((x) => x.status !== 200)).toEqual([]);
    expect(a.seen.length + b.seen.length + c.seen.length).toBe(n);
  });

  it('a request in flight finishes on its old upstream after setRoutes', async () => {
    const old = await backend('old', () => ({ delayMs: 300 }));
    const next = await backend('next');
    const p = await proxy({ routes: twoVersions(old, next, [100, 0]) });
    const inflight = request(`${p.url}/`);
    await waitFor(() => old.seen.length === 1);
    p.setRoutes(twoVersions(old, next, [0, 100]));
    expect((await request(`${p.url}/`)).body).toBe('next');
    expect(await inflight).toEqual({ status: 200, body: 'old' });
  });

  it('close drains in-flight requests and stops accepting new ones', async () => {
    const slow = await backend('slow', () => ({ delayMs: 300 }));
    const p = await startProxy({
      listen: { host: '127.0.0.1', port: 0 },
      routes: { backends: [{ name: 'web', version: 'v1', upstreams: [up(slow)] }], weights: { web: 1 } },
    });
    const agent = new http.Agent({ keepAlive: false });
    const inflight = Promise.all([1, 2, 3].map(() => request(`${p.url}/`, { agent })));
    await waitFor(() => slow.seen.length === 3);
    const closing = p.close({ drainMs: 5000 });
    await expect(request(`${p.url}/`, { agent })).rejects.toThrow(/ECONNREFUSED/);
    expect(await inflight).toEqual([1, 2, 3].map(() => ({ status: 200, body: 'slow' })));
    expect(await closing).toEqual({ drained: true, aborted: 0 });
  });

  it('close cuts requests still running after drainMs', async () => {
    const slow = await backend('slow', () => ({ delayMs: 3000 }));
    const p = await startProxy({
      listen: { host: '127.0.0.1', port: 0 },
      routes: { backends: [{ name: 'web', version: 'v1', upstreams: [up(slow)] }], weights: { web: 1 } },
    });
    const inflight = request(`${p.url}/`, { agent: new http.Agent() });
    await waitFor(() => slow.seen.length === 1);
    expect(await p.close({ drainMs: 100 })).toEqual({ drained: false, aborted: 1 });
    await expect(inflight).rejects.toThrow();
  });
});

describe('relaying', () => {
  /** An upstream whose handler is given; closed after the test. */
  async function upstream(handler: http.RequestListener): Promise<number> {
    const server = http.createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    return (server.address() as AddressInfo).port;
  }

  const only = (port: number): RouteConfig => ({
    backends: [{ name: 'web', version: 'v1', upstreams: [{ host: '127.0.0.1', port }] }],
    weights: { web: 1 },
  });

  it('drops hop-by-hop headers and those Connection names, both ways; appends X-Forwarded-For', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const port = await upstream((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, {
        connection: 'x-up-hop',
        'x-up-hop': 'no',
        'x-answer': 'yes',
        'content-length': 2,
      });
      res.end('ok');
    });
    const p = await proxy({ routes: only(port) });
    const send = (connection: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        http
          .get(
            `${p.url}/`,
            {
              agent: clientAgent,
              headers: {
                connection,
                'x-hop': 'no',
                'x-other': 'kept?',
                'x-end': 'yes',
                te: 'trailers',
                'x-forwarded-for': '10.0.0.1',
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res));
            },
          )
          .on('error', reject);
      });
    const first = await send('keep-alive, X-Hop');
    const second = await send('keep-alive, x-other');
    expect(seen[0]).toMatchObject({
      'x-end': 'yes',
      'x-other': 'kept?',
      'x-forwarded-for': '10.0.0.1, 127.0.0.1',
    });
    expect(seen[0]).not.toHaveProperty('x-hop');
    expect(seen[0]).not.toHaveProperty('te');
    // The second request lists another name: the first one's list must not be reused.
    expect(seen[1]).toMatchObject({ 'x-end': 'yes', 'x-hop': 'no' });
    expect(seen[1]).not.toHaveProperty('x-other');
    for (const r of [first, second]) {
      expect(r.headers['x-answer']).toBe('yes');
      expect(r.headers).not.toHaveProperty('x-up-hop');
    }
  });

  it('streams a large answer to a slow reader and a large request body to the upstream, intact', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    let received = 0;
    const port = await upstream((req, res) => {
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-length': big.length });
        // Several writes, so the proxy relays many chunks and meets backpressure.
        for (let off = 0; off < big.length; off += 256 * 1024) res.write(big.subarray(off, off + 256 * 1024));
        res.end();
      });
    });
    const p = await proxy({ routes: only(port), maxBufferedBody: 1024 });
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request(`${p.url}/upload`, { method: 'POST', agent: clientAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          // A slow reader: pause now and then so the proxy's writes back up.
          if (chunks.length % 8 === 0) {
            res.pause();
            setTimeout(() => res.resume(), 5);
          }
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('error', reject);
      for (let i = 0; i < 64; i++) req.write(Buffer.alloc(32 * 1024, i)); // 2 MiB, chunked: streamed
      req.end();
    });
    expect(received).toBe(2 * 1024 * 1024);
    expect(body.equals(big)).toBe(true);
    await waitFor(() => p.inFlight() === 0);
  });

  it('a client hanging up mid-answer stops the upstream request', async () => {
    let upstreamClosedEarly = false;
    const port = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      const t = setInterval(() => res.write('more\n'), 10);
      res.on('close', () => {
        clearInterval(t);
        upstreamClosedEarly = !res.writableFinished;
      });
    });
    const p = await proxy({ routes: only(port) });
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${p.url}/`, { agent: new http.Agent() }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no first chunk')), 2000);
    });
    await waitFor(() => upstreamClosedEarly && p.inFlight() === 0);
    expect(p.metrics().text()).toContain(
      'vireo_proxy_requests_total{service="proxy",backend="web",version="v1",code="200"} 1',
    );
  });
});
