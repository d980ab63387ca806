/**
 * The dashboard server over real HTTP with a fake ReleaseSource: assets, the JSON API, server-sent
 * events (list diffs, one release, a lost source, the demo's request grid), and the access rules as a
 * table of requests against loopback, token and read-only dashboards.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReleaseView } from '../views/release.js';
import { type Dashboard, type DashboardOptions, startDashboard } from './server.js';
import type { ActionRequest, ReleaseSource } from './source.js';

const view = (name: string, o: Partial<ReleaseView> = {}): ReleaseView => ({
  dialect: 'argo',
  kind: 'Rollout',
  namespace: 'default',
  name,
  phase: 'Healthy',
  strategy: 'Canary',
  images: [{ image: `${name}:blue`, roles: ['stable'] }],
  replicas: { desired: 2, current: 2, updated: 2, ready: 2, available: 2 },
  revision: 1,
  versions: [],
  analysisRuns: [],
  events: [],
  ...o,
});

class FakeSource implements ReleaseSource {
  views: ReleaseView[] = [view('web'), view('api', { namespace: 'shop', phase: 'Paused' })];
  acts: ActionRequest[] = [];
  down = false;
  reads = 0;
  async list(ns?: string) {
    this.reads++;
    if (this.down) throw new Error('cannot reach the local runtime');
    return this.views.filter((v) => !ns || v.namespace === ns);
  }
  async get(ns: string, name: string) {
    const v = this.views.find((x) => x.namespace === ns && x.name === name);
    if (!v) throw new Error(`rollout ${ns}/${name} not found`);
    return v;
  }
  async act(r: ActionRequest) {
    if (r.verb === 'retry') throw new Error('rollout is not aborted');
    this.acts.push(r);
    return `rollout '${r.name}' ${r.verb}d`;
  }
}

const open: Dashboard[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function start(o: Partial<DashboardOptions> = {}, source = new FakeSource()) {
  const logs: string[] = [];
  const d = await startDashboard({
    source,
    listen: { host: '127.0.0.1', port: 0 },
    pollMs: 50,
    traffic: false,
    log: (level, m) => logs.push(`${level} ${m}`),
    ...o,
  });
  open.push(d);
  const base = `http://127.0.0.1:${d.port}`;
  return { d, source, logs, base };
}

/** A browser-like client: keeps the session cookie and the CSRF token. */
async function browser(base: string, extra: Record<string, string> = {}) {
  const r = await fetch(`${base}/api/v1/session`, { headers: extra });
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const body = (await r.json()) as { csrfToken: string; tokenRequired: boolean; authenticated: boolean };
  return {
    cookie,
    ...body,
    post: (path: string, data: unknown, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'application/json',
          'x-vireo-csrf': body.csrfToken,
          origin: base,
          'sec-fetch-site': 'same-origin',
          ...extra,
          ...headers,
        },
        body: JSON.stringify(data),
      }),
  };
}

/** Reads server-sent events from `url` until `stop` returns true for one; returns all seen. */
async function events(
  url: string,
  stop: (name: string, data: unknown, all: { name: string; data: unknown }[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ name: string; data: unknown }[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const seen: { name: string; data: unknown }[] = [];
  try {
    const res = await fetch(url, { signal: ac.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      buf += new TextDecoder().decode(value);
      let i = buf.indexOf('\n\n');
      while (i >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        i = buf.indexOf('\n\n');
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!name || data === undefined) continue;
        const parsed = JSON.parse(data) as unknown;
        seen.push({ name, data: parsed });
        if (stop(name, parsed, seen)) {
          ac.abort();
          return seen;
        }
      }
    }
  } catch (e) {
    if (ac.signal.aborted && seen.length > 0) return seen;
    throw new Error(
      `events from ${url}: ${(e as Error).message}; seen ${JSON.stringify(seen).slice(0, 500)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

describe('dashboard server: pages and JSON', () => {
  it('serves the page with a strict CSP, the client modules from source, and no external URL', async () => {
    const { base } = await start();
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
    for (const asset of ['/assets/app.js', '/assets/logic.js', '/assets/style.css']) {
      const r = await fetch(base + asset);
      expect(r.status, asset).toBe(200);
      const text = await r.text();
      expect(text).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
      if (asset.endsWith('.js')) {
        expect(r.headers.get('content-type')).toMatch(/^text\/javascript/);
        expect(text).not.toMatch(/^import type|: ReleaseView/m);
      }
    }
    expect((await fetch(`${base}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/assets/../server.ts`)).status).toBe(404);
    expect((await fetch(`${base}/assets/nothing.js`)).status).toBe(404);
  });

  it('lists summaries with filters and shows one release', async () => {
    const { base } = await start();
    const all = (await (await fetch(`${base}/api/v1/releases`)).json()) as { key: string }[];
    expect(all.map((r) => r.key)).toEqual(['default/web', 'shop/api']);
    const paused = (await (await fetch(`${base}/api/v1/releases?phase=Paused`)).json()) as { key: string }[];
    expect(paused.map((r) => r.key)).toEqual(['shop/api']);
    const named = (await (
      await fetch(`${base}/api/v1/releases?name=WE&namespace=default`)
    ).json()) as unknown[];
    expect(named).toHaveLength(1);
    const one = (await (await fetch(`${base}/api/v1/releases/shop/api`)).json()) as ReleaseView;
    expect(one.name).toBe('api');
    const missing = await fetch(`${base}/api/v1/releases/shop/nope`);
    expect(missing.status).toBe(502);
    expect(await missing.json()).toEqual({ error: 'rollout shop/nope not found' });
  });
});

describe('dashboard server: live updates', () => {
  it('streams a snapshot, then only what changed and what went away', async () => {
    const { base, source } = await start();
    const seen = await events(`${base}/api/v1/watch`, (name, _d, all) => {
      if (name === 'snapshot') {
        source.views = [view('web', { phase: 'Progressing' })];
      }
      return all.some((e) => e.name === 'changed');
    });
    const snapshot = seen.find((e) => e.name === 'snapshot')?.data as { releases: { key: string }[] };
    expect(snapshot.releases.map((r) => r.key)).toEqual(['default/web', 'shop/api']);
    const changed = seen.find((e) => e.name === 'changed')?.data as {
      releases: { key: string; phase: string }[];
      removed: string[];
    };
    expect(changed.releases).toMatchObject([{ key: 'default/web', phase: 'Progressing' }]);
    expect(changed.removed).toEqual(['shop/api']);
  });

  it('streams one release when it changes, says when it is gone', async () => {
    const { base, source } = await start();
    const seen = await events(`${base}/api/v1/watch?release=default/web`, (name, data) => {
      if (name === 'release' && (data as { release: ReleaseView }).release.revision === 1)
        source.views = [view('web', { revision: 2 })];
      else if (name === 'release') source.views = [];
      return name === 'gone';
    });
    expect(seen.map((e) => e.name)).toEqual(['release', 'release', 'gone']);
  });

  it('says the data is stale while the source cannot be read, and sends a fresh snapshot after', async () => {
    const { base, source } = await start();
    let downAt = 0;
    const seen = await events(`${base}/api/v1/watch`, (name, _d, all) => {
      if (name === 'snapshot' && downAt === 0) {
        downAt = all.length;
        source.down = true;
      } else if (name === 'stale') source.down = false;
      return name === 'snapshot' && all.some((e) => e.name === 'stale');
    });
    expect(seen.map((e) => e.name)).toEqual(['snapshot', 'stale', 'snapshot']);
    expect(seen[1]?.data).toMatchObject({ message: 'cannot reach the local runtime' });
  });

  it('reads the source once per interval for all watchers, and not at all without any', async () => {
    const { base, source } = await start({ pollMs: 200 });
    await new Promise((r) => setTimeout(r, 300));
    expect(source.reads).toBe(0);
    const ac = new AbortController();
    const streams = await Promise.all(
      [1, 2, 3].map(() => fetch(`${base}/api/v1/watch`, { signal: ac.signal })),
    );
    await new Promise((r) => setTimeout(r, 1000));
    ac.abort();
    for (const s of streams) await s.body?.cancel().catch(() => {});
    const reads = source.reads;
    // About one read per 200 ms (and one per new watcher), whatever the number of watchers.
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(reads).toBeLessThanOrEqual(10);
    await new Promise((r) => setTimeout(r, 500));
    expect(source.reads).toBeLessThanOrEqual(reads + 1);
  });

  it("streams the demo's request grid: the colour that answered each sample request", async () => {
    let n = 0;
    const demo = http.createServer((req, res) => {
      n++;
      const bad = n % 4 === 0;
      res.writeHead(bad ? 500 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(bad ? { error: 'injected', color: 'yellow' } : { color: 'green' }));
      expect(req.url).toBe('/color');
    });
    servers.push(demo);
    await new Promise<void>((r) => demo.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(demo.address() as AddressInfo).port}`;
    const { base } = await start({ traffic: { url, release: 'default/rollouts-demo' } });
    const session = (await (await fetch(`${base}/api/v1/session`)).json()) as { traffic: unknown };
    expect(session.traffic).toEqual({ release: 'default/rollouts-demo' });
    const samples: { color: string; status: number }[] = [];
    await events(`${base}/api/v1/traffic`, (name, data) => {
      if (name === 'samples') samples.push(...(data as { samples: typeof samples }).samples);
      return samples.length >= 8;
    });
    expect(samples.filter((s) => s.status === 200).every((s) => s.color === 'green')).toBe(true);
    expect(samples.some((s) => s.status === 500 && s.color === 'yellow')).toBe(true);
    const noGrid = await start();
    expect((await fetch(`${noGrid.base}/api/v1/traffic`)).status).toBe(404);
  });
});

describe('dashboard server: actions and their rules', () => {
  it('carries an action out with who asked, logs it, and refuses bad arguments', async () => {
    const { base, source, logs } = await start();
    const b = await browser(base);
    expect(b.tokenRequired).toBe(false);
    expect(b.cookie).toMatch(/^vireo_dashboard_session_\d+=/);
    const r = await b.post('/api/v1/releases/default/web/promote', { full: true });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ message: "rollout 'web' promoted" });
    expect(source.acts[0]).toMatchObject({
      namespace: 'default',
      name: 'web',
      verb: 'promote',
      args: { full: true },
    });
    expect(source.acts[0]?.actor).toMatch(/^dashboard session [0-9a-f]{8} from 127\.0\.0\.1$/);
    expect(logs.join('\n')).toMatch(
      /info dashboard action: promote --full default\/web by dashboard session/,
    );
    const img = await b.post('/api/v1/releases/default/web/set-image', {
      container: 'web',
      image: 'web:green',
    });
    expect(img.status).toBe(200);
    expect(source.acts[1]?.args).toEqual({ container: 'web', image: 'web:green' });
    const refused = await b.post('/api/v1/releases/default/web/retry', {});
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({ error: 'rollout is not aborted' });
    expect(logs.join('\n')).toMatch(
      /warn dashboard action: retry default\/web by .* refused: rollout is not aborted/,
    );
    for (const [verb, body, error] of [
      ['set-image', { container: 'web', image: 'two words' }, /image/],
      ['set-image', { container: 'Bad_Name', image: 'x' }, /container/],
      ['undo', { toRevision: -1 }, /toRevision/],
      ['promote', { full: 'yes' }, /full/],
      ['explode', {}, /no action explode/],
    ] as const) {
      const x = await b.post(`/api/v1/releases/default/web/${verb}`, body);
      expect(x.status, verb).toBeGreaterThanOrEqual(400);
      expect(((await x.json()) as { error: string }).error).toMatch(error);
    }
    expect((await fetch(`${base}/api/v1/releases/default/web/promote`)).status).toBe(405);
    expect(source.acts).toHaveLength(2);
  });

  it('needs a token beyond loopback: generated, required by session login or bearer, never logged', async () => {
    const { d, base, source, logs } = await start({ listen: { host: '0.0.0.0', port: 0 } });
    expect(d.tokenGenerated).toBe(true);
    const token = d.token!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    // fetch cannot set Host: the requests name 127.0.0.1, which is not loopback *configuration* here.
    const host = {};
    const b = await browser(base, host);
    expect(b).toMatchObject({ tokenRequired: true, authenticated: false });
    const origin = { origin: base };
    type Row = [string, () => Promise<Response>, number];
    const rows: Row[] = [
      ['session without login', () => b.post('/api/v1/releases/default/web/pause', {}, origin), 401],
      ['wrong login', () => b.post('/api/v1/login', { token: 'guess' }, origin), 401],
      [
        'login from another site',
        () => b.post('/api/v1/login', { token }, { origin: 'http://evil.example' }),
        403,
      ],
      [
        'login without CSRF',
        () => b.post('/api/v1/login', { token }, { ...origin, 'x-vireo-csrf': '' }),
        403,
      ],
      ['login', () => b.post('/api/v1/login', { token }, origin), 200],
      ['session after login', () => b.post('/api/v1/releases/default/web/pause', {}, origin), 200],
      [
        'after login, still no CSRF',
        () => b.post('/api/v1/releases/default/web/pause', {}, { ...origin, 'x-vireo-csrf': 'x' }),
        403,
      ],
      [
        'after login, cross-site',
        () => b.post('/api/v1/releases/default/web/pause', {}, { 'sec-fetch-site': 'cross-site' }),
        403,
      ],
      [
        'bearer',
        () =>
          fetch(`${base}/api/v1/releases/default/web/resume`, {
            method: 'POST',
            headers: { ...host, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{}',
          }),
        200,
      ],
      [
        'wrong bearer',
        () =>
          fetch(`${base}/api/v1/releases/default/web/resume`, {
            method: 'POST',
            headers: { ...host, authorization: 'Bearer nope', 'content-type': 'application/json' },
            body: '{}',
          }),
        401,
      ],
      ['reads are open', () => fetch(`${base}/api/v1/releases`, { headers: host }), 200],
    ];
    for (const [name, req, status] of rows) expect((await req()).status, name).toBe(status);
    expect(source.acts.map((a) => a.verb)).toEqual(['pause', 'resume']);
    expect(source.acts[1]?.actor).toMatch(/^dashboard token holder from /);
    const text = logs.join('\n');
    expect(text).toMatch(/failed login/);
    expect(text).toMatch(/logged in/);
    expect(text).not.toContain(token);
  });

  it('read-only refuses every action; loopback refuses foreign Host headers (DNS rebinding)', async () => {
    const ro = await start({ readOnly: true });
    const b = await browser(ro.base);
    const r = await b.post('/api/v1/releases/default/web/abort', {});
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ error: 'this dashboard is read-only (--read-only)' });
    expect(ro.source.acts).toEqual([]);
    expect((await (await fetch(`${ro.base}/api/v1/session`)).json()) as object).toMatchObject({
      readOnly: true,
    });
    const rebound = await new Promise<number>((resolve, reject) =>
      http
        .get(`${ro.base}/api/v1/releases`, { headers: { host: 'evil.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject),
    );
    expect(rebound).toBe(421);
  });

  it('throttles guessing the token', async () => {
    const { d, base } = await start({ listen: { host: '0.0.0.0', port: 0 }, token: 'a-chosen-token-of-16+' });
    expect(d.tokenGenerated).toBe(false);
    const b = await browser(base);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++)
      statuses.push((await b.post('/api/v1/login', { token: `guess-${i}` })).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });
});
