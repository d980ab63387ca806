import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ControllerMetrics } from './metrics.js';
import { type ControllerServer, startControllerServer } from './server.js';

const open: ControllerServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(
  over: Partial<Parameters<typeof startControllerServer>[0]> = {},
): Promise<ControllerServer> {
  const s = await startControllerServer({
    host: '127.0.0.1',
    healthzPort: 0,
    metricsPort: 0,
    healthy: () => true,
    ready: () => true,
    metrics: new ControllerMetrics({ version: '1.2.3', defaultMetrics: false }),
    ...over,
  });
  open.push(s);
  return s;
}

/** One request; resolves with status, headers and body. */
function request(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startControllerServer', () => {
  it('serves healthz and readyz on one port, metrics on the other', async () => {
    const s = await start();
    expect(s.healthzPort).toBeGreaterThan(0);
    expect(s.metricsPort).toBeGreaterThan(0);
    expect(s.metricsPort).not.toBe(s.healthzPort);
    expect(s.healthzUrl).toBe(`http://127.0.0.1:${s.healthzPort}/healthz`);
    expect(await request(s.healthzUrl)).toMatchObject({ status: 200, body: 'ok' });
    expect(await request(s.readyzUrl)).toMatchObject({ status: 200, body: 'ok' });
    const metrics = await request(s.metricsUrl);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toContain('vireo_controller_info{version="1.2.3"} 1');
    // Each port serves only its own paths.
    expect((await request(`http://127.0.0.1:${s.metricsPort}/healthz`)).status).toBe(404);
    expect((await request(`http://127.0.0.1:${s.healthzPort}/metrics`)).status).toBe(404);
  });

  it('answers 503 with the reason when a probe fails, and follows the probe', async () => {
    let synced: true | string = 'caches not synced: rollouts';
    const s = await start({
      ready: () => synced,
      healthy: () => {
        throw new Error('watch stalled for 5m');
      },
    });
    expect(await request(s.readyzUrl)).toMatchObject({ status: 503, body: 'caches not synced: rollouts' });
    expect(await request(s.healthzUrl)).toMatchObject({ status: 503, body: 'watch stalled for 5m' });
    synced = true;
    expect(await request(s.readyzUrl)).toMatchObject({ status: 200, body: 'ok' });
  });

  it.each([
    ['GET', '/nope', 404],
    ['GET', '/healthz/extra', 404],
    ['GET', '/healthz?verbose=1', 200],
    ['POST', '/healthz', 405],
    ['DELETE', '/readyz', 405],
    ['HEAD', '/healthz', 200],
  ])('%s %s → %i', async (method, path, status) => {
    const s = await start();
    const res = await request(`http://127.0.0.1:${s.healthzPort}${path}`, method);
    expect(res.status).toBe(status);
    if (status === 405) expect(res.headers.allow).toBe('GET, HEAD');
    if (method === 'HEAD') {
      expect(res.body).toBe('');
      expect(res.headers['content-length']).toBe('2');
    }
  });

  it('answers 500 when collecting the metrics fails', async () => {
    const metrics = new ControllerMetrics({ version: 'v', defaultMetrics: false });
    metrics.registry.metrics = () => Promise.reject(new Error('collector broke'));
    const s = await start({ metrics });
    expect(await request(s.metricsUrl)).toMatchObject({
      status: 500,
      body: 'collecting metrics failed: collector broke',
    });
  });

  it('serves everything on one port when both are the same', async () => {
    const probe = await start();
    const port = probe.healthzPort;
    await probe.close();
    open.splice(0);
    const s = await start({ healthzPort: port, metricsPort: port });
    expect(s.metricsPort).toBe(port);
    expect((await request(s.healthzUrl)).status).toBe(200);
    expect((await request(s.metricsUrl)).status).toBe(200);
  });

  it('fails clearly when a port is taken, leaving nothing open', async () => {
    const first = await start();
    await expect(start({ metricsPort: first.healthzPort })).rejects.toThrow(
      `cannot listen on 127.0.0.1:${first.healthzPort}`,
    );
  });

  it('close() stops both servers, also with a keep-alive connection open', async () => {
    const s = await start();
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) =>
      http.get(s.metricsUrl, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
    );
    await s.close();
    open.splice(0);
    await expect(request(s.healthzUrl)).rejects.toThrow(/ECONNREFUSED/);
    await expect(request(s.metricsUrl)).rejects.toThrow(/ECONNREFUSED/);
    agent.destroy();
  });
});
