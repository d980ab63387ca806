import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { closedPort, freePort } from '../../../testing/net.js';
import { ensureCommand } from '../../../testing/system.js';
import type { RouteConfig } from '../proxy/routing.js';
import { jsRegexToPcre, type NginxRouter, startNginxRouter } from './nginx.js';
import type { Listener } from './router.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Upstream {
  name: string;
  port: number;
  seen: Seen[];
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let nginxBinary = '';
beforeAll(() => {
  nginxBinary = ensureCommand('nginx', 'nginx');
}, 10 * 60_000);

/** A real upstream answering its name after reading the whole body (and `delayMs`). */
async function upstream(name: string, delayMs = 0): Promise<Upstream> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(name);
      }, delayMs);
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
  return { name, port: (server.address() as AddressInfo).port, seen };
}

async function router(): Promise<NginxRouter & { dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vireo-nginx-test-'));
  const r = await startNginxRouter({ dir, nginxBinary });
  cleanups.push(async () => {
    await r.close({ drainMs: 500 });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return Object.assign(r, { dir });
}

interface Answer {
  status: number;
  body: string;
}

/** One request, on a fresh connection unless an agent is given (no keep-alive race with a reload). */
function send(
  port: number,
  o: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: http.Agent;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: o.path ?? '/',
        method: o.method ?? 'GET',
        headers: o.headers,
        agent: o.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** `n` requests, `concurrency` at a time on keep-alive connections; the bodies (upstream names) counted. */
async function load(port: number, n: number, concurrency = 16): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const a = await send(port, { agent });
      const key = a.status === 200 ? a.body : String(a.status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return counts;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const backend = (u: Upstream, version = `${u.name}-v1`, extra: Upstream[] = []) => ({
  name: u.name,
  version,
  upstreams: [u, ...extra].map((x) => ({ host: '127.0.0.1', port: x.port })),
});

async function listener(service: string, routes: RouteConfig): Promise<Listener> {
  return { service, host: '127.0.0.1', port: await freePort(), routes };
}

/** Served requests per backend/version for a service, once the access log has been read. */
const served = (r: NginxRouter, service: string) =>
  r
    .metrics()
    .snapshot({ windowSeconds: 600, service })
    .map((s) => ({ backend: s.backend, version: s.version, requests: s.requests, errors: s.errors }));

describe('nginx router', () => {
  it('splits 20/80 per request, round-robins a backend upstreams, counts per version what they got', async () => {
    const stableA = await upstream('stable');
    const stableB = await upstream('stable');
    const canary = await upstream('canary');
    const r = await router();
    const l = await listener('web', {
      backends: [backend(stableA, 'v1', [stableB]), backend(canary, 'v2')],
      weights: { stable: 4, canary: 1 },
    });
    await r.apply([l]);
    const counts = await load(l.port, 2000);
    expect(counts.get('stable')! + counts.get('canary')!).toBe(2000);
    // Binomial sd at n=2000, p=0.2 is 0.9 points: 5 points is > 5 sd.
    expect(Math.abs(counts.get('canary')! / 2000 - 0.2)).toBeLessThan(0.05);
    expect(canary.seen.length).toBe(counts.get('canary'));
    expect(Math.min(stableA.seen.length, stableB.seen.length)).toBeGreaterThan(0.4 * counts.get('stable')!);
    // The request arrives as sent, with the client's Host and X-Forwarded-For.
    await send(l.port, { path: '/p/a%20b?q=1&r=2', headers: { host: 'example.test' } });
    const last = [...stableA.seen, ...stableB.seen, ...canary.seen].find((s) => s.url.startsWith('/p/'))!;
    expect(last.url).toBe('/p/a%20b?q=1&r=2');
    expect(last.headers.host).toBe('example.test');
    expect(last.headers['x-forwarded-for']).toBe('127.0.0.1');
    await vi.waitFor(() => {
      expect(served(r, 'web').sort((a, b) => a.version.localeCompare(b.version))).toEqual([
        { backend: 'stable', version: 'v1', requests: stableA.seen.length + stableB.seen.length, errors: 0 },
        { backend: 'canary', version: 'v2', requests: canary.seen.length, errors: 0 },
      ]);
    });
  });

  it('routes by header (exact, prefix, regex; names case-insensitive), method and path, first rule first', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const other = await upstream('other');
    const r = await router();
    const evil = `"; } server { listen 1; } # \${host} \\ $1`;
    const l = await listener('web', {
      backends: [backend(stable), backend(canary), backend(other)],
      weights: { stable: 1 },
      routes: [
        { name: 'evil', match: [{ headers: { 'x-evil': { exact: evil } } }], backend: 'other' },
        { name: 'exact', match: [{ headers: { 'X-Canary': { exact: 'always' } } }], backend: 'canary' },
        {
          name: 'regex-or-prefix',
          match: [
            { headers: { 'x-user': { regex: '^beta-\\d+$' } } },
            { headers: { 'x-team': { prefix: 'qa-' } } },
          ],
          backend: 'canary',
        },
        { name: 'api', match: [{ method: { exact: 'POST' }, path: { prefix: '/api/' } }], backend: 'other' },
      ],
    });
    await r.apply([l]);
    const via = async (o: Parameters<typeof send>[1]) => (await send(l.port, o)).body;
    expect(await via({})).toBe('stable');
    expect(await via({ headers: { 'x-canary': 'always' } })).toBe('canary');
    expect(await via({ headers: { 'X-CANARY': 'always' } })).toBe('canary');
    expect(await via({ headers: { 'x-canary': 'Always' } })).toBe('stable');
    expect(await via({ headers: { 'x-user': 'beta-42' } })).toBe('canary');
    expect(await via({ headers: { 'x-user': 'beta-42x' } })).toBe('stable');
    expect(await via({ headers: { 'x-team': 'qa-blue' } })).toBe('canary');
    expect(await via({ headers: { 'x-team': 'dev-qa-' } })).toBe('stable');
    expect(await via({ method: 'POST', path: '/api/x?y=1', body: 'b' })).toBe('other');
    expect(await via({ method: 'GET', path: '/api/x' })).toBe('stable');
    expect(await via({ method: 'POST', path: '/apix' })).toBe('stable');
    // The first matching rule wins.
    expect(await via({ method: 'POST', path: '/api/x', headers: { 'x-canary': 'always' } })).toBe('canary');
    // A value full of nginx syntax is matched literally and cannot change the config.
    expect(await via({ headers: { 'x-evil': evil } })).toBe('other');
    expect(await via({ headers: { 'x-evil': 'x' } })).toBe('stable');
  });

  it('routes by cookie: the named cookie only, first occurrence, value trimmed', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const r = await router();
    const l = await listener('web', {
      backends: [backend(stable), backend(canary)],
      weights: { stable: 1 },
      routes: [
        { name: 'cookie', match: [{ cookies: { canary: { exact: 'always' } } }], backend: 'canary' },
        { name: 'empty', match: [{ cookies: { beta: { regex: '^$' } } }], backend: 'canary' },
      ],
    });
    await r.apply([l]);
    const via = async (cookie?: string) =>
      (await send(l.port, cookie === undefined ? {} : { headers: { cookie } })).body;
    expect(await via()).toBe('stable');
    expect(await via('canary=always')).toBe('canary');
    expect(await via('a=1;  canary = always ; b=2')).toBe('canary');
    expect(await via('xcanary=always')).toBe('stable');
    expect(await via('canary=alwaysx')).toBe('stable');
    expect(await via('Canary=always')).toBe('stable');
    expect(await via('canary=never; canary=always')).toBe('stable');
    // Present but empty is not absent.
    expect(await via('beta=')).toBe('canary');
    expect(await via('betax=')).toBe('stable');
  });

  it('mirrors copies of matching requests; mirrored answers are not counted as served', async () => {
    const stable = await upstream('stable');
    const shadow = await upstream('shadow');
    const half = await upstream('half');
    const r = await router();
    const l = await listener('web', {
      backends: [backend(stable), backend(shadow), backend(half)],
      weights: { stable: 1 },
      mirrors: [
        {
          name: 'm',
          backend: 'shadow',
          percentage: 100,
          match: [{ headers: { 'x-mirror': { exact: 'yes' } } }],
        },
        { name: 'h', backend: 'half', percentage: 50 },
      ],
    });
    await r.apply([l]);
    for (let i = 0; i < 60; i++) {
      const a = await send(l.port, {
        method: 'POST',
        path: `/m/${i}`,
        headers: i < 30 ? { 'x-mirror': 'yes' } : {},
        body: `body-${i}`,
      });
      expect(a.body).toBe('stable');
    }
    await vi.waitFor(() => expect(shadow.seen.length).toBe(30));
    expect(shadow.seen[0]).toMatchObject({ method: 'POST', url: '/m/0', body: 'body-0' });
    // 50 % of 60: sd 3.9, so 10..50 is > 5 sd.
    expect(half.seen.length).toBeGreaterThan(10);
    expect(half.seen.length).toBeLessThan(50);
    expect(stable.seen.length).toBe(60);
    await vi.waitFor(() => {
      const snapshot = r.metrics().snapshot({ windowSeconds: 600, service: 'web' });
      expect(snapshot.filter((s) => s.requests > 0).map((s) => [s.backend, s.requests])).toEqual([
        ['stable', 60],
      ]);
      const text = r.metrics().text();
      expect(text).toContain(
        'vireo_proxy_mirrored_requests_total{service="web",backend="shadow",version="shadow-v1"} 30',
      );
      expect(text).toContain(
        `vireo_proxy_mirrored_requests_total{service="web",backend="half",version="half-v1"} ${half.seen.length}`,
      );
      expect(text).not.toMatch(/vireo_proxy_requests_total\{[^}]*backend="(shadow|half)"/);
    });
  });

  it('reloads changed weights under a steady stream of requests without losing one', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const r = await router();
    const routes = (s: number, c: number): RouteConfig => ({
      backends: [backend(stable), backend(canary)],
      weights: { stable: s, canary: c },
    });
    const l = await listener('web', routes(1, 0));
    await r.apply([l]);
    let stop = false;
    let sent = 0;
    let ok = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const a = await send(l.port);
          if (a.status >= 200 && a.status < 300) ok++;
          else failures.push(`status ${a.status}`);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, worker));
    for (const [s, c] of [
      [1, 1],
      [0, 1],
      [4, 1],
      [1, 0],
      [1, 4],
    ] as const) {
      await new Promise((res) => setTimeout(res, 150));
      await r.apply([{ ...l, routes: routes(s, c) }]);
    }
    await new Promise((res) => setTimeout(res, 150));
    stop = true;
    await workers;
    expect(failures).toEqual([]);
    expect(ok).toBe(sent);
    expect(sent).toBeGreaterThan(100);
    expect(canary.seen.length).toBeGreaterThan(0);
    expect(stable.seen.length + canary.seen.length).toBe(sent);
  });

  it('stops a removed listener and keeps serving the others', async () => {
    const stable = await upstream('stable');
    const r = await router();
    const routes = { backends: [backend(stable)], weights: { stable: 1 } };
    const a = await listener('a', routes);
    const b = await listener('b', routes);
    await r.apply([a, b]);
    expect((await send(a.port)).body).toBe('stable');
    expect((await send(b.port)).body).toBe('stable');
    await r.apply([a]);
    expect(await accepts(b.port)).toBe(false);
    expect((await send(a.port)).body).toBe('stable');
  });

  it('rejects invalid tables (its own checks, nginx -t, a port in use) and keeps serving the previous routes', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const r = await router();
    const base = await listener('web', {
      backends: [backend(stable), backend(canary)],
      weights: { stable: 1 },
      routes: [{ name: 'h', match: [{ headers: { 'x-canary': { exact: 'always' } } }], backend: 'canary' }],
    });
    await r.apply([base]);
    const before = fs.readFileSync(r.configPath, 'utf8');
    const withRule = (match: Listener['routes']['routes']) => ({
      ...base,
      routes: { ...base.routes, routes: match },
    });
    const header = (h: string, regex: string) => [
      { name: 'x', match: [{ headers: { [h]: { regex } } }], backend: 'canary' },
    ];

    await expect(r.apply([withRule(header('x-a', '('))])).rejects.toThrow(/invalid regex/);
    await expect(r.apply([withRule(header('x a', 'a'))])).rejects.toThrow(
      /header name "x a" is not supported by the nginx router/,
    );
    await expect(r.apply([withRule(header('x-a', '(?<n>a)'))])).rejects.toThrow(/named groups/);
    // Valid JavaScript, not PCRE: nginx -t says so.
    await expect(r.apply([withRule(header('x-a', '(?<=a+)b'))])).rejects.toThrow(
      /nginx rejected the configuration: .*lookbehind/,
    );
    await expect(
      r.apply([
        { ...base, routes: { ...base.routes, backends: [backend(stable, 'v1\n}'), backend(canary)] } },
      ]),
    ).rejects.toThrow(/control characters/);
    await expect(r.apply([{ ...base, routes: { ...base.routes, weights: { nope: 1 } } }])).rejects.toThrow(
      /unknown backend "nope"/,
    );
    // A port someone else holds: nginx -t does not see it, the reload does (after nginx's bind retries).
    const holder = net.createServer();
    const busy = await freePort();
    await new Promise<void>((res) => holder.listen(busy, '127.0.0.1', () => res()));
    cleanups.push(() => new Promise<void>((res) => holder.close(() => res())));
    await expect(r.apply([base, { ...base, service: 'other', port: busy }])).rejects.toThrow(
      /Address already in use/,
    );

    expect(fs.readFileSync(r.configPath, 'utf8')).toBe(before);
    expect((await send(base.port)).body).toBe('stable');
    expect((await send(base.port, { headers: { 'x-canary': 'always' } })).body).toBe('canary');
    // And it still applies after all that.
    await r.apply([{ ...base, routes: { ...base.routes, weights: { canary: 1 } } }]);
    expect((await send(base.port)).body).toBe('canary');
  });

  it('answers 503 when no backend has weight and no rule matched, 502 when the upstream refuses', async () => {
    const stable = await upstream('stable');
    const r = await router();
    const none = await listener('none', { backends: [backend(stable)], weights: { stable: 0 } });
    const dead = await listener('dead', {
      backends: [
        { name: 'gone', version: 'g1', upstreams: [{ host: '127.0.0.1', port: await closedPort() }] },
      ],
      weights: { gone: 1 },
    });
    await r.apply([none, dead]);
    expect((await send(none.port)).status).toBe(503);
    expect((await send(dead.port)).status).toBe(502);
    expect(stable.seen.length).toBe(0);
    await vi.waitFor(() => {
      const text = r.metrics().text();
      expect(text).toContain('vireo_proxy_requests_total{service="none",backend="",version="",code="503"} 1');
      expect(text).toContain(
        'vireo_proxy_requests_total{service="dead",backend="gone",version="g1",code="502"} 1',
      );
    });
  });

  it('close lets in-flight requests finish, quits nginx and leaves no process behind', async () => {
    const stable = await upstream('stable', 300);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vireo-nginx-test-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const r = await startNginxRouter({ dir, nginxBinary });
    const l = await listener('web', { backends: [backend(stable)], weights: { stable: 1 } });
    await r.apply([l]);
    const pid = Number(fs.readFileSync(path.join(dir, 'nginx.pid'), 'utf8'));
    expect(pid).toBe(r.pid);
    const group = () =>
      fs.readdirSync('/proc').filter((p) => {
        if (!/^\d+$/.test(p)) return false;
        try {
          // Fields after the command: state, ppid, pgrp.
          const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
          const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return Number(pgrp) === pid || Number(ppid) === pid;
        } catch {
          return false;
        }
      });
    expect(group().length).toBeGreaterThanOrEqual(2); // master and worker
    const inFlight = send(l.port);
    await vi.waitFor(() => expect(stable.seen.length).toBe(1));
    await r.close({ drainMs: 2000 });
    expect(await inFlight).toEqual({ status: 200, body: 'stable' });
    expect(() => process.kill(pid, 0)).toThrow();
    expect(group()).toEqual([]);
    expect(r.pid).toBeUndefined();
    expect(await accepts(l.port)).toBe(false);
    await expect(r.apply([l])).rejects.toThrow(/closed/);
  });

  it('does not outlive a process killed outright (no exit hook runs)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vireo-nginx-test-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const script = path.join(dir, 'owner.mts');
    const module = new URL('./nginx.ts', import.meta.url).href;
    fs.writeFileSync(
      script,
      `import { startNginxRouter } from ${JSON.stringify(module)};
const r = await startNginxRouter({ dir: ${JSON.stringify(path.join(dir, 'nginx'))}, nginxBinary: ${JSON.stringify(nginxBinary)} });
console.log(r.pid);
setInterval(() => {}, 1000);
`,
    );
    const owner = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanups.push(async () => {
      owner.kill('SIGKILL');
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      owner.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      owner.once('exit', (code) => reject(new Error(`owner exited with ${code}: ${out}`)));
    });
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 0);
    owner.kill('SIGKILL');
    await vi.waitFor(() => expect(() => process.kill(pid, 0)).toThrow(), { timeout: 5000, interval: 50 });
  });
});

describe('jsRegexToPcre', () => {
  it('keeps the common subset and translates what PCRE reads differently', () => {
    expect(jsRegexToPcre('^beta-\\d+$')).toBe('^beta-\\d+\\z');
    expect(jsRegexToPcre('[[:a]')).toBe('[\\[:a]');
    expect(jsRegexToPcre('a[^]b[]')).toBe('a[\\s\\S]b(?!)');
    expect(jsRegexToPcre('\\p{L}\\v\\u0041')).toBe('p\\{L\\}\\x0b\\x41');
    expect(jsRegexToPcre('a{,2}b{1,3}(?:c|d)(?=e)(?<!f)')).toBe('a\\{,2\\}b{1,3}(?:c|d)(?=e)(?<!f)');
    expect(jsRegexToPcre('é')).toBe('\\xe9');
    expect(() => jsRegexToPcre('(?<name>x)')).toThrow(/named groups/);
    expect(() => jsRegexToPcre('ā')).toThrow(/above U\+00FF/);
    expect(() => jsRegexToPcre('(')).toThrow(/invalid regex/);
  });
});
