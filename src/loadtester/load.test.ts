import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../testing/counting-target.js';
import { formatLoadReport, runLoad, validateLoadOptions } from './load.js';

const targets: Target[] = [];
const target = async (o: Parameters<typeof startTarget>[0] = {}) => {
  const t = await startTarget(o);
  targets.push(t);
  return t;
};
afterEach(async () => {
  await Promise.all(targets.splice(0).map((t) => t.close()));
});

describe('built-in load generator', () => {
  it('sends the requested rate: 50 requests/s over 2 s with 2 workers reach the target ~100 times', async () => {
    const t = await target();
    const r = await runLoad({ url: t.url, rate: 50, concurrency: 2, durationMs: 2000 });
    // Correctness with a tolerance, not a speed test: 100 expected.
    expect(t.count()).toBeGreaterThanOrEqual(90);
    expect(t.count()).toBeLessThanOrEqual(105);
    expect(r.requests).toBe(t.count());
    expect(r.statusCodes).toEqual({ 200: t.count() });
    expect(r.errors).toEqual({});
    expect(r.durationMs).toBeGreaterThanOrEqual(1900);
    expect(r.durationMs).toBeLessThan(2600);
    expect(r.latencyMs?.fastest).toBeGreaterThan(0);
  });

  it('a number of requests is split over the workers; method, headers and body are sent', async () => {
    const t = await target({ status: 503 });
    const r = await runLoad({
      url: `${t.url}path?q=1`,
      method: 'post',
      headers: { 'X-Canary': 'always' },
      body: '{"a":1}',
      concurrency: 4,
      requests: 20,
    });
    expect(t.count()).toBe(20);
    expect(r.statusCodes).toEqual({ 503: 20 });
    const first = t.requests[0]!;
    expect(first).toMatchObject({ method: 'POST', url: '/path?q=1', body: '{"a":1}' });
    expect(first.headers['x-canary']).toBe('always');
    expect(first.headers['content-length']).toBe('7');
  });

  it('concurrency bounds the requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const server = http.createServer((_req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 20);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await runLoad({ url: `http://127.0.0.1:${port}/`, concurrency: 3, requests: 30 });
      expect(r.responses).toBe(30);
      expect(most).toBe(3);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('connection errors and timeouts are counted, not thrown', async () => {
    const t = await target();
    const closedUrl = t.url;
    await t.close();
    targets.pop();
    const refused = await runLoad({ url: closedUrl, concurrency: 1, requests: 3 });
    expect(refused.responses).toBe(0);
    expect(refused.requests).toBe(3);
    expect(Object.keys(refused.errors)[0]).toMatch(/ECONNREFUSED/);
    expect(formatLoadReport(refused)).toMatch(
      /Error distribution:\n {2}\[3\]\tGET http:\/\/127\.0\.0\.1:\d+\/: connect ECONNREFUSED/,
    );

    const slow = await target({ delayMs: 2000 });
    const timedOut = await runLoad({ url: slow.url, concurrency: 1, requests: 1, timeoutMs: 100 });
    expect(timedOut.errors).toEqual({ 'request timed out after 100 ms': 1 });
  });

  it('an abort signal stops the run early', async () => {
    const t = await target();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const started = Date.now();
    await runLoad({ url: t.url, rate: 20, concurrency: 1, durationMs: 10_000, signal: stop.signal });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(t.count()).toBeGreaterThanOrEqual(2);
    expect(t.count()).toBeLessThanOrEqual(6);
  });

  it('rejects options that make no sense', () => {
    const ok = { url: 'http://127.0.0.1/', concurrency: 1, requests: 1 };
    expect(() => validateLoadOptions({ ...ok, url: 'nope' })).toThrow('invalid URL "nope"');
    expect(() => validateLoadOptions({ ...ok, url: 'ftp://x/' })).toThrow(
      'unsupported protocol scheme "ftp"',
    );
    expect(() => validateLoadOptions({ ...ok, concurrency: 0 })).toThrow('concurrency must be');
    expect(() => validateLoadOptions({ ...ok, rate: -1 })).toThrow('rate must be');
    expect(() => validateLoadOptions({ url: ok.url, concurrency: 1 })).toThrow('give a duration or a number');
  });
});
