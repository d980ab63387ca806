import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort, recordersClosedAfterEach, selfSignedCert } from '../testing/http-recorder.js';
import { backoffDelay, excerpt, HttpError, httpRequest, redactUrl, Scrubber, shouldRetry } from './http.js';

const serve = recordersClosedAfterEach();

const fail = async (p: Promise<unknown>): Promise<HttpError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected an HttpError');
};

describe('redactUrl', () => {
  const rows: [string, 'path' | 'origin', string][] = [
    ['http://loadtester.test/', 'path', 'http://loadtester.test/'],
    ['http://user:pa55word@host:8080/gate/check', 'path', 'http://host:8080/gate/check'],
    ['https://h/x?token=abc&service=web', 'path', 'https://h/x?token=…&service=…'],
    ['https://hooks.slack.com/services/T0/B0/XYZSECRET', 'origin', 'https://hooks.slack.com/…'],
    ['https://discord.com/', 'origin', 'https://discord.com/'],
    ['not a url with secret', 'path', '(invalid URL)'],
  ];
  it.each(rows)('%s (%s) -> %s', (url, keep, want) => {
    expect(redactUrl(url, keep)).toBe(want);
  });
});

describe('Scrubber and excerpt', () => {
  it('removes secrets, their URL-encoded form, bearer tokens alone and URL parts', () => {
    const s = new Scrubber(['Bearer s3cr3t-token', 'p@ss word'])
      .addUrl('http://u:pw1234@h/?key=k3y-value')
      .addUrlPath('https://hooks.slack.com/services/T000/B000/abcdefghijklmnop');
    const text =
      'auth Bearer s3cr3t-token / s3cr3t-token / p%40ss%20word / p@ss word / pw1234 / k3y-value / abcdefghijklmnop / ok';
    expect(s.scrub(text)).toBe('auth *** / *** / *** / *** / *** / *** / *** / ok');
  });
  it('ignores secrets too short to scrub safely', () => {
    expect(new Scrubber(['ab']).scrub('tab')).toBe('tab');
  });
  it('collapses whitespace and bounds excerpts', () => {
    expect(excerpt('  a\n\n b  ')).toBe('a b');
    expect(excerpt('x'.repeat(20), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('retry policy and back-off (go-retryablehttp DefaultRetryPolicy / DefaultBackoff)', () => {
  const statuses: [number, boolean][] = [
    [200, false],
    [202, false],
    [204, false],
    [301, false],
    [400, false],
    [403, false],
    [404, false],
    [429, true],
    [500, true],
    [501, false],
    [502, true],
    [503, true],
    [504, true],
  ];
  it.each(statuses)('status %i retried: %s', (status, want) => {
    expect(shouldRetry({ status })).toBe(want);
  });
  const errors: [HttpError['code'], boolean][] = [
    ['refused', true],
    ['timeout', true],
    ['reset', true],
    ['dns', true],
    ['tls', false],
    ['invalid-url', false],
    ['redirects', false],
    ['aborted', false],
    ['proxy', true],
  ];
  it.each(errors)('error %s retried: %s', (code, want) => {
    expect(shouldRetry({ error: new HttpError(code, 'x', '') })).toBe(want);
  });
  it('doubles from the minimum, caps at the maximum, honours Retry-After on 429/503 (capped)', () => {
    const b = { minMs: 1000, maxMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(b, a))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffDelay(b, 0, { status: 429, headers: { 'retry-after': '3' } })).toBe(3000);
    expect(backoffDelay(b, 0, { status: 503, headers: { 'retry-after': '3600' } })).toBe(30_000);
    expect(backoffDelay(b, 0, { status: 500, headers: { 'retry-after': '3' } })).toBe(1000);
  });
});

describe('httpRequest against a real server', () => {
  it('sends method, headers (later duplicates win) and body; returns status and body', async () => {
    const s = await serve({ status: 201, body: { ok: 1 } });
    const res = await httpRequest({
      method: 'put',
      url: `${s.url}/p?q=1`,
      headers: [
        ['X-Token', 'first'],
        ['x-token', 'second'],
      ],
      body: 'hello',
      timeoutMs: 2000,
    });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toEqual({ ok: 1 });
    const [r] = s.requests;
    expect(r?.method).toBe('PUT');
    expect(r?.path).toBe('/p?q=1');
    expect(r?.headers['x-token']).toBe('second');
    expect(r?.headers['content-length']).toBe('5');
    expect(r?.body).toBe('hello');
  });

  it('times out on a slow answer, naming the URL without its query values', async () => {
    const s = await serve({ delayMs: 2000, body: 'late' });
    const e = await fail(httpRequest({ url: `${s.url}/slow?key=hunter22`, timeoutMs: 100 }));
    expect(e.code).toBe('timeout');
    expect(e.message).toBe(`GET ${s.url}/slow?key=…: no answer within 0.1s`);
  });

  it('times out when the server never answers', async () => {
    const s = await serve({ hang: true });
    expect((await fail(httpRequest({ url: s.url, timeoutMs: 80 }))).code).toBe('timeout');
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const e = await fail(httpRequest({ url: `http://127.0.0.1:${port}/x`, timeoutMs: 1000 }));
    expect(e.code).toBe('refused');
    expect(e.message).toBe(`GET http://127.0.0.1:${port}/x: connection refused by 127.0.0.1:${port}`);
  });

  it('reports a dropped connection', async () => {
    const s = await serve({ drop: true });
    expect((await fail(httpRequest({ url: s.url, timeoutMs: 1000 }))).code).toBe('reset');
  });

  it('bounds the body: an error by default, or truncated', async () => {
    const s = await serve({ body: 'x'.repeat(5000) });
    expect((await fail(httpRequest({ url: s.url, timeoutMs: 1000, maxBodyBytes: 1000 }))).code).toBe(
      'too-large',
    );
    const t = await httpRequest({ url: s.url, timeoutMs: 1000, maxBodyBytes: 1000, tooLarge: 'truncate' });
    expect(t.body).toHaveLength(1000);
    expect(t.truncated).toBe(true);
  });

  it('refuses invalid URLs and schemes without echoing them', async () => {
    const bad = await fail(httpRequest({ url: 'http//secret-value', timeoutMs: 100 }));
    expect(bad.code).toBe('invalid-url');
    expect(bad.message).not.toContain('secret-value');
    expect((await fail(httpRequest({ url: 'ftp://h/x', timeoutMs: 100 }))).message).toMatch(
      /unsupported URL scheme "ftp"/,
    );
  });

  it('follows redirects as Go: 307 keeps POST and body, 302 and 303 turn it into GET without body', async () => {
    const target = await serve({ body: 'here' });
    for (const [status, method, body] of [
      [307, 'POST', '{"a":1}'],
      [308, 'POST', '{"a":1}'],
      [302, 'GET', ''],
      [303, 'GET', ''],
      [301, 'GET', ''],
    ] as const) {
      const from = await serve({ status, headers: { location: `${target.url}/to` } });
      const res = await httpRequest({
        method: 'POST',
        url: `${from.url}/from`,
        headers: { 'Content-Type': 'application/json' },
        body: '{"a":1}',
        timeoutMs: 2000,
      });
      expect(res.body).toBe('here');
      expect(res.redirects).toBe(1);
      const got = target.requests.at(-1);
      expect([status, got?.method, got?.body]).toEqual([status, method, body]);
    }
  });

  it('drops credentials when a redirect leaves the origin, keeps them on the same origin', async () => {
    const other = await serve({ body: 'other' });
    const same = await serve((r) =>
      r.path === '/start'
        ? { status: 307, headers: { location: '/next' } }
        : { status: 307, headers: { location: `${other.url}/x` } },
    );
    await httpRequest({
      url: `${same.url}/start`,
      headers: { Authorization: 'Bearer tok-123456', 'X-Api-Key': 'k-123456', Accept: 'text/plain' },
      timeoutMs: 2000,
    });
    expect(same.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-123456',
      'Bearer tok-123456',
    ]);
    const [r] = other.requests;
    expect(r?.headers.authorization).toBeUndefined();
    expect(r?.headers['x-api-key']).toBeUndefined();
    expect(r?.headers.accept).toBe('text/plain');
  });

  it('stops after 10 redirects', async () => {
    const loop = await serve({ status: 302, headers: { location: '/again' } });
    const e = await fail(httpRequest({ url: loop.url, timeoutMs: 2000 }));
    expect(e.code).toBe('redirects');
    expect(loop.requests).toHaveLength(11);
  });

  it('verifies TLS certificates unless insecure', async () => {
    const s = await serve({ body: 'secure' }, { tls: selfSignedCert() });
    const e = await fail(httpRequest({ url: s.url, timeoutMs: 2000 }));
    expect(e.code).toBe('tls');
    expect((await httpRequest({ url: s.url, timeoutMs: 2000, insecure: true })).body).toBe('secure');
  });

  it('stops when aborted', async () => {
    const s = await serve({ hang: true });
    const ac = new AbortController();
    const p = httpRequest({ url: s.url, timeoutMs: 5000, signal: ac.signal });
    await s.waitFor(1);
    ac.abort();
    expect((await fail(p)).code).toBe('aborted');
  });
});

describe('httpRequest: a body cut short', () => {
  it('is a reset, not a short success', async () => {
    const http = await import('node:http');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const e = await fail(httpRequest({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 }));
      expect(e.code).toBe('reset');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

// -------------------------------------------------------------------------------------------------
// Through a forward proxy
// -------------------------------------------------------------------------------------------------

interface ProxiedRequest {
  method: string;
  /** Absolute URL (plain forward) or host:port (CONNECT). */
  target: string;
  proxyAuthorization?: string;
}

/**
 * A tiny forward proxy: plain requests in absolute form are forwarded with node:http, CONNECT opens a
 * TCP tunnel (or is refused with `refuseConnect`). It records and counts what it proxied.
 */
async function startForwardProxy(opts: { refuseConnect?: number } = {}) {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const record = (req: http.IncomingMessage) => {
    const auth = req.headers['proxy-authorization'];
    requests.push({
      method: req.method ?? '',
      target: req.url ?? '',
      ...(auth ? { proxyAuthorization: auth } : {}),
    });
  };
  const server = http.createServer((req, res) => {
    record(req);
    const { 'proxy-authorization': _drop, ...headers } = req.headers;
    const up = http.request(req.url ?? '', { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end('bad gateway');
    });
    req.pipe(up);
  });
  server.on('connection', (socket: net.Socket) => sockets.add(socket));
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    record(req);
    if (opts.refuseConnect) {
      client.end(`HTTP/1.1 ${opts.refuseConnect} Nope\r\n\r\n`);
      return;
    }
    const at = (req.url ?? '').lastIndexOf(':');
    const up = net.connect(Number((req.url ?? '').slice(at + 1)), (req.url ?? '').slice(0, at), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    sockets.add(up);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('httpRequest through a forward proxy (AlertProvider proxy)', () => {
  const proxies: { close(): Promise<void> }[] = [];
  const proxyServer = async (opts: { refuseConnect?: number } = {}) => {
    const p = await startForwardProxy(opts);
    proxies.push(p);
    return p;
  };
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  it('http:// target: one absolute-form request to the proxy, Host is the target', async () => {
    const s = await serve({ status: 200, body: 'ok' });
    const proxy = await proxyServer();
    const res = await httpRequest({
      method: 'POST',
      url: `${s.url}/hook?x=1#frag`,
      body: '{"a":1}',
      proxy: proxy.url,
      timeoutMs: 2000,
    });
    expect(res.status).toBe(200);
    expect(proxy.requests).toEqual([{ method: 'POST', target: `${s.url}/hook?x=1` }]);
    expect(s.requests.map((r) => [r.method, r.path, r.headers.host, r.body])).toEqual([
      ['POST', '/hook?x=1', `127.0.0.1:${s.port}`, '{"a":1}'],
    ]);
  });

  it('user info in the proxy URL is Proxy-Authorization for the proxy only, and never shown', async () => {
    const s = await serve({ status: 200 });
    const proxy = await proxyServer();
    await httpRequest({
      url: s.url,
      proxy: `http://vireo:pr0xy-pa55@127.0.0.1:${proxy.port}`,
      timeoutMs: 2000,
    });
    expect(proxy.requests[0]?.proxyAuthorization).toBe(
      `Basic ${Buffer.from('vireo:pr0xy-pa55').toString('base64')}`,
    );
    expect(s.requests[0]?.headers['proxy-authorization']).toBeUndefined();
  });

  it('every redirect hop goes through the proxy', async () => {
    const s = await serve([{ status: 302, headers: { location: '/next' } }, { status: 200 }]);
    const proxy = await proxyServer();
    const res = await httpRequest({ url: `${s.url}/first`, proxy: proxy.url, timeoutMs: 2000 });
    expect(res).toMatchObject({ status: 200, redirects: 1 });
    expect(proxy.requests.map((r) => r.target)).toEqual([`${s.url}/first`, `${s.url}/next`]);
  });

  it('https:// target: a CONNECT tunnel, TLS with the target end to end', async () => {
    const s = await serve({ status: 200, body: 'secure' }, { tls: selfSignedCert() });
    const proxy = await proxyServer();
    const res = await httpRequest({ url: `${s.url}/x`, proxy: proxy.url, insecure: true, timeoutMs: 3000 });
    expect(res).toMatchObject({ status: 200, body: 'secure' });
    expect(proxy.requests).toEqual([{ method: 'CONNECT', target: `127.0.0.1:${s.port}` }]);
    expect(s.requests[0]?.path).toBe('/x');
    // The target's certificate is still checked through the tunnel.
    const e = await fail(httpRequest({ url: `${s.url}/x`, proxy: proxy.url, timeoutMs: 3000 }));
    expect(e.code).toBe('tls');
    expect(proxy.requests).toHaveLength(2);
  });

  it.each<[string, 'http' | 'https', 'refuse' | 'down', HttpError['code'], string]>([
    ['a refused tunnel', 'https', 'refuse', 'proxy', 'proxy PROXY refused the tunnel: HTTP 407 Nope'],
    [
      'a proxy that is down (http target)',
      'http',
      'down',
      'refused',
      'proxy PROXY: connection refused by HOSTPORT',
    ],
    [
      'a proxy that is down (https target)',
      'https',
      'down',
      'refused',
      'proxy PROXY: connection refused by HOSTPORT',
    ],
  ])('%s is an error naming the proxy without its credentials', async (_n, scheme, how, code, reason) => {
    const port = how === 'down' ? await closedPort() : (await proxyServer({ refuseConnect: 407 })).port;
    const target = scheme === 'https' ? 'https://127.0.0.1:1/' : 'http://127.0.0.1:1/';
    const e = await fail(
      httpRequest({ url: target, proxy: `http://u:s3cr3t-pr0xy@127.0.0.1:${port}`, timeoutMs: 2000 }),
    );
    expect(e.code).toBe(code);
    expect(e.message).toBe(
      `GET ${target}: ${reason.replace('PROXY', `http://127.0.0.1:${port}`).replace('HOSTPORT', `127.0.0.1:${port}`)}`,
    );
  });

  it.each([
    ['socks5://127.0.0.1:1080', 'unsupported proxy URL scheme "socks5"'],
    ['squid:3128', 'unsupported proxy URL scheme "squid"'],
    ['http://', 'the proxy URL does not parse'],
  ])('proxy %s: %s', async (proxy, reason) => {
    const e = await fail(httpRequest({ url: 'http://127.0.0.1:1/', proxy, timeoutMs: 500 }));
    expect(e).toMatchObject({ code: 'invalid-url', reason });
  });
});
