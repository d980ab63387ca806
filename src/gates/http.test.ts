import { describe, expect, it } from 'vitest';
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
