import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { colorOf, type DemoServer, isBadImage, parseConfigUpdate, startDemo } from './server.js';

/** A small seeded generator (mulberry32), so error counts are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const started: DemoServer[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function demo(options: Partial<Parameters<typeof startDemo>[0]> = {}): Promise<DemoServer> {
  const s = await startDemo({ port: 0, image: 'vireo-demo:blue', ...options });
  started.push(s);
  return s;
}

const postConfig = (url: string, body: string) =>
  fetch(`${url}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('colorOf', () => {
  it.each([
    ['vireo-demo:blue', 'blue'],
    ['registry.local:5000/team/vireo-demo:green', 'green'],
    ['argoproj/rollouts-demo:yellow@sha256:abc', 'yellow'],
    ['registry.local:5000/vireo-demo', 'blue'],
    ['vireo-demo:latest', 'blue'],
    ['argoproj/rollouts-demo:bad-yellow', 'yellow'],
  ])('%s -> %s', (image, color) => {
    expect(colorOf(image)).toBe(color);
  });
});

describe('isBadImage', () => {
  it.each([
    ['argoproj/rollouts-demo:bad-red', true],
    ['registry.local:5000/team/vireo-demo:bad-yellow', true],
    ['argoproj/rollouts-demo:red', false],
    ['registry.local:5000/bad-demo', false],
  ])('%s -> %s', (image, bad) => {
    expect(isBadImage(image)).toBe(bad);
  });
});

describe('demo service over real sockets', () => {
  it('answers with the colour of its IMAGE tag on /color and /, and 200 on /healthz', async () => {
    const s = await demo({ image: 'vireo-demo:green' });
    const color = await fetch(`${s.url}/color`);
    expect(color.status).toBe(200);
    expect(await color.json()).toEqual({ color: 'green', version: 'vireo-demo:green' });
    const html = await fetch(`${s.url}/`);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(await html.text()).toContain('background:green');
    const health = await fetch(`${s.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
  });

  it('POST /config changes behaviour at runtime: errors on, then off again', async () => {
    const s = await demo({ random: () => 0.3 });
    expect((await fetch(`${s.url}/color`)).status).toBe(200);
    const set = await postConfig(s.url, '{"errorRate": 0.5}');
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ errorRate: 0.5, latencyMs: 0 });
    const failed = await fetch(`${s.url}/color`);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ color: 'blue' });
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200); // probes are never failed on purpose
    await postConfig(s.url, '{"errorRate": 0}');
    expect((await fetch(`${s.url}/color`)).status).toBe(200);
    expect(await (await fetch(`${s.url}/config`)).json()).toEqual({ errorRate: 0, latencyMs: 0 });
  });

  it('serves about half errors over 1000 requests at errorRate 0.5', async () => {
    const s = await demo({ errorRate: 0.5, random: seeded(42) });
    let errors = 0;
    let ok = 0;
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${s.url}/color`);
        await r.arrayBuffer();
        if (r.status === 500) errors++;
        else if (r.status === 200) ok++;
      }
    };
    await Promise.all(Array.from({ length: 10 }, () => worker(100)));
    expect(errors + ok).toBe(1000);
    // Binomial(1000, 0.5) has a standard deviation of 15.8; ±50 is over 3 of them.
    expect(errors).toBeGreaterThanOrEqual(450);
    expect(errors).toBeLessThanOrEqual(550);
  });

  it('waits its latency (with jitter between 0.5x and 1.5x of the mean), set by option and by /config', async () => {
    const s = await demo({ latencyMs: 120, random: () => 0.5 }); // jitter factor 0.5 + 0.5 = 1x the mean
    let t0 = performance.now();
    expect((await fetch(`${s.url}/color`)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);

    const low = await demo({ latencyMs: 200, random: () => 0 }); // the shortest jitter: half the mean
    t0 = performance.now();
    await (await fetch(`${low.url}/`)).text();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);

    const none = await demo({ random: () => 0.5 });
    expect((await postConfig(none.url, '{"latencyMs": 150}')).status).toBe(200);
    t0 = performance.now();
    await (await fetch(`${none.url}/color`)).json();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
  });

  it.each([
    ['{"errorRate": 1.5}', /errorRate: got 1\.5, allowed is a number from 0 to 1/],
    ['{"errorRate": "0.5"}', /errorRate: got "0\.5", allowed is a number from 0 to 1/],
    ['{"latencyMs": -1}', /latencyMs: got -1, allowed is a number of milliseconds from 0 to 600000/],
    ['{"latency": 10}', /latency: unknown field, allowed fields are errorRate and latencyMs/],
    ['[1]', /body: expected a JSON object/],
    ['{"errorRate": 0.5', /body: not valid JSON/],
  ])('bad config %s -> 400 naming the field, and nothing changes', async (body, message) => {
    const s = await demo();
    const r = await postConfig(s.url, body);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: string }).error).toMatch(message);
    expect(s.behaviour()).toEqual({ errorRate: 0, latencyMs: 0 });
  });

  it('applies nothing from a config with one bad field among good ones', () => {
    expect(parseConfigUpdate({ errorRate: 0.2, latencyMs: 1e9 })).toEqual({
      ok: false,
      errors: ['latencyMs: got 1000000000, allowed is a number of milliseconds from 0 to 600000'],
    });
  });

  it('refuses bad options at start', async () => {
    await expect(startDemo({ port: 0, image: 'x:red', errorRate: 2 })).rejects.toThrow(
      /errorRate: got 2, allowed is a number from 0 to 1/,
    );
  });
});

describe('as a replica process', () => {
  const script = fileURLToPath(new URL('./server.ts', import.meta.url));
  const run = (env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, out: () => out, err: () => err };
  };

  it('reads PORT, IMAGE and ERROR_RATE, and exits 0 on SIGTERM', async () => {
    const p = run({ PORT: '0', IMAGE: 'vireo-demo:yellow', ERROR_RATE: '1' });
    const deadline = Date.now() + 20_000;
    while (!/listening on (\S+)/.test(p.out()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /listening on (\S+)/.exec(p.out())?.[1];
    expect(url, p.err()).toBeDefined();
    const r = await fetch(`${url}/color`);
    expect(r.status).toBe(500);
    expect(await r.json()).toMatchObject({ color: 'yellow', version: 'vireo-demo:yellow' });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('exits 2 naming the variable when the environment is wrong', async () => {
    const p = run({ PORT: '0', LATENCY_MS: 'slow' });
    expect(await p.exited).toBe(2);
    expect(p.err()).toMatch(/LATENCY_MS: got "slow", expected a number/);
  });
});
