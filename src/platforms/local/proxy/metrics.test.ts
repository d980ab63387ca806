import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { histogramQuantile, ProxyMetrics, startMetricsServer } from './metrics.js';
import { startProxy } from './proxy.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
}

describe('ProxyMetrics', () => {
  const labels = { service: 'web', backend: 'canary', version: 'v2' };

  it('renders counters and a cumulative histogram in Prometheus text format', () => {
    const m = new ProxyMetrics({ now: () => 1_000_000 });
    m.observe(labels, 200, 0.003);
    m.observe(labels, 200, 0.02);
    m.observe(labels, 503, 20);
    m.observe({ ...labels, version: 'a"b' }, 200, 0.5);
    const lines = m.text().split('\n');
    expect(lines).toContain('# TYPE vireo_proxy_requests_total counter');
    expect(lines).toContain(
      'vireo_proxy_requests_total{service="web",backend="canary",version="v2",code="200"} 2',
    );
    expect(lines).toContain(
      'vireo_proxy_requests_total{service="web",backend="canary",version="v2",code="503"} 1',
    );
    expect(lines).toContain(
      'vireo_proxy_requests_total{service="web",backend="canary",version="a\\"b",code="200"} 1',
    );
    expect(lines).toContain('# TYPE vireo_proxy_request_duration_seconds histogram');
    const l = 'service="web",backend="canary",version="v2"';
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_bucket{${l},le="0.005"} 1`);
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_bucket{${l},le="0.025"} 2`);
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_bucket{${l},le="10"} 2`);
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_bucket{${l},le="+Inf"} 3`);
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_sum{${l}} 20.023`);
    expect(lines).toContain(`vireo_proxy_request_duration_seconds_count{${l}} 3`);
    // Every sample line is `name{labels} number`.
    for (const line of lines.filter((x) => x && !x.startsWith('#'))) {
      expect(line).toMatch(/^[a-z_]+\{([a-z]+="(?:[^"\\]|\\.)*",?)+\} [0-9.e+-]+$/);
    }
  });

  it('snapshot answers over the last N seconds only', () => {
    let now = 100_000;
    const m = new ProxyMetrics({ now: () => now, windowSeconds: 60 });
    for (let i = 0; i < 10; i++) m.observe(labels, 500, 0.01); // at t=100 s: all errors
    now += 30_000;
    for (let i = 0; i < 30; i++) m.observe(labels, 200, 0.01);
    m.observe(labels, 404, 0.01); // a 4xx is a success for the success rate
    now += 5_000;
    expect(m.snapshot({ windowSeconds: 10 })).toEqual([
      { ...labels, requests: 31, errors: 0, successRate: 1, p99Seconds: expect.closeTo(0.00995, 9) },
    ]);
    const all = m.snapshot({ windowSeconds: 60 })[0]!;
    expect(all.requests).toBe(41);
    expect(all.successRate).toBeCloseTo(31 / 41, 10);
    now += 70_000; // everything has left the ring
    expect(m.snapshot({ windowSeconds: 60 })).toEqual([{ ...labels, requests: 0, errors: 0 }]);
  });

  it('a labels object reused, even mutated, between observations counts in the right series', () => {
    const m = new ProxyMetrics({ now: () => 1_000_000 });
    const l = { ...labels };
    m.observe(l, 200, 0.01);
    m.observe(l, 200, 0.01);
    l.version = 'v3';
    m.observe(l, 500, 0.01);
    m.observe({ ...labels }, 200, 0.01);
    const snap = m.snapshot({ windowSeconds: 60 });
    expect(snap.find((s) => s.version === 'v2')).toMatchObject({ requests: 3, errors: 0 });
    expect(snap.find((s) => s.version === 'v3')).toMatchObject({ requests: 1, errors: 1 });
  });

  it('a ring slot reused a window later holds only the new second', () => {
    let now = 500_000;
    const m = new ProxyMetrics({ now: () => now, windowSeconds: 10 });
    for (let i = 0; i < 5; i++) m.observe(labels, 500, 0.01);
    now += 10_000; // the same slot, one window later
    m.observe(labels, 200, 0.2);
    expect(m.snapshot({ windowSeconds: 10 })).toEqual([
      { ...labels, requests: 1, errors: 0, successRate: 1, p99Seconds: expect.closeTo(0.2485, 9) },
    ]);
  });

  it('histogramQuantile interpolates like PromQL', () => {
    const bounds = [0.1, 0.2, 0.4];
    expect(histogramQuantile(0.5, bounds, [0, 10, 0, 0])).toBeCloseTo(0.15, 10);
    expect(histogramQuantile(0.99, bounds, [50, 49, 1, 0])).toBeCloseTo(0.2, 10);
    expect(histogramQuantile(0.99, bounds, [0, 0, 0, 5])).toBe(0.4);
    expect(histogramQuantile(0.99, bounds, [0, 0, 0, 0])).toBeNaN();
  });
});

describe('metrics through the proxy', () => {
  it('serves /metrics on the admin listener; counts and success rate match what the backends answered', async () => {
    let n = 0;
    const answered = { canary200: 0, canary500: 0, stable200: 0 };
    const start = async (name: 'stable' | 'canary') => {
      const s = http.createServer((_req, res) => {
        const fail = name === 'canary' && n++ % 4 === 0;
        if (fail) answered.canary500++;
        else if (name === 'canary') answered.canary200++;
        else answered.stable200++;
        res.writeHead(fail ? 500 : 200);
        res.end(name);
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
      cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
      return (s.address() as AddressInfo).port;
    };
    const stablePort = await start('stable');
    const canaryPort = await start('canary');
    const metrics = new ProxyMetrics();
    const proxy = await startProxy({
      listen: { host: '127.0.0.1', port: 0 },
      service: 'guestbook',
      metrics,
      routes: {
        backends: [
          { name: 'guestbook-stable', version: 'rev1', upstreams: [{ host: '127.0.0.1', port: stablePort }] },
          { name: 'guestbook-canary', version: 'rev2', upstreams: [{ host: '127.0.0.1', port: canaryPort }] },
        ],
        weights: { 'guestbook-stable': 50, 'guestbook-canary': 50 },
      },
    });
    cleanups.push(() => proxy.close({ drainMs: 100 }));
    const admin = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, metrics });
    cleanups.push(() => admin.close());

    for (let i = 0; i < 200; i++) await get(`${proxy.url}/`);
    // The proxied port does not reserve /metrics: it goes to the application.
    expect((await get(`${proxy.url}/metrics`)).body).toMatch(/stable|canary/);

    const scrape = await get(`${admin.url}/metrics`);
    expect(scrape.status).toBe(200);
    const lines = scrape.body.split('\n');
    const c = 'service="guestbook",backend="guestbook-canary",version="rev2"';
    const s = 'service="guestbook",backend="guestbook-stable",version="rev1"';
    expect(lines).toContain(`vireo_proxy_requests_total{${c},code="500"} ${answered.canary500}`);
    expect(lines).toContain(`vireo_proxy_requests_total{${c},code="200"} ${answered.canary200}`);
    expect(lines).toContain(`vireo_proxy_requests_total{${s},code="200"} ${answered.stable200}`);
    expect(lines).toContain(
      `vireo_proxy_request_duration_seconds_count{${c}} ${answered.canary200 + answered.canary500}`,
    );
    expect(lines).toContain(
      `vireo_proxy_request_duration_seconds_bucket{${c},le="+Inf"} ${answered.canary200 + answered.canary500}`,
    );
    expect((await get(`${admin.url}/other`)).status).toBe(404);

    const snap = metrics.snapshot({ windowSeconds: 60, service: 'guestbook' });
    const canary = snap.find((x) => x.version === 'rev2')!;
    const stable = snap.find((x) => x.version === 'rev1')!;
    expect(answered.canary500).toBeGreaterThan(0);
    expect(canary.successRate).toBeCloseTo(
      answered.canary200 / (answered.canary200 + answered.canary500),
      10,
    );
    expect(stable.successRate).toBe(1);
    expect(canary.p99Seconds).toBeGreaterThan(0);
    expect(canary.p99Seconds).toBeLessThan(0.1);
  });
});

describe('dump and restore (across a runtime restart)', () => {
  it('a restored registry shows the same totals and windows, and keeps counting', () => {
    let now = 1_700_000_000_000;
    const a = new ProxyMetrics({ now: () => now, windowSeconds: 60 });
    const labels = { service: 'web', backend: 'canary', version: 'abc' };
    for (let i = 0; i < 30; i++) {
      a.observe(labels, i % 3 === 0 ? 500 : 200, 0.02);
      now += 100;
    }
    a.observeMirror(labels);
    const b = new ProxyMetrics({ now: () => now, windowSeconds: 60 });
    expect(b.restore(JSON.parse(JSON.stringify(a.dump())))).toBe(true);
    expect(b.text()).toBe(a.text());
    expect(b.snapshot({ windowSeconds: 10 })).toEqual(a.snapshot({ windowSeconds: 10 }));
    b.observe(labels, 200, 0.02);
    expect(b.snapshot({ windowSeconds: 10 })[0]).toMatchObject({ requests: 31, errors: 10 });
  });

  it('keeps only the last keepSeconds of slots, and refuses a dump with other buckets', () => {
    let now = 1_700_000_000_000;
    const a = new ProxyMetrics({ now: () => now, windowSeconds: 600 });
    const labels = { service: 's', backend: 'b', version: 'v' };
    a.observe(labels, 200, 0.01);
    now += 100_000;
    a.observe(labels, 500, 0.01);
    const dump = a.dump(30);
    expect(dump.series[0]?.slots).toHaveLength(1);
    expect(dump.series[0]?.count).toBe(2);
    expect(new ProxyMetrics({ buckets: [1, 2] }).restore(dump)).toBe(false);
  });
});
