/**
 * `npm run bench:proxy` (`tsx bench/proxy.bench.ts`): what Vireo's local proxy adds on top of a direct
 * connection to the same upstream, measured in one run.
 *
 * Three processes (this file forked with a role), so the load generator, the proxy and the upstream do
 * not share an event loop: `upstream` answers a small body at once; `proxy` forwards to it (weights
 * 100 % to one backend, metrics on); the parent generates load, first direct, then through the proxy:
 * - latency: open loop at a fixed rate (`RATE` req/s, default 2000), p50 and p99;
 * - throughput: closed loop, `CONCURRENCY` (default 32) keep-alive connections, requests per second.
 * Printed as absolute numbers, added milliseconds and ratios (proxy / direct). The comparison with
 * nginx (issue 5) is not done here yet.
 */
import { type ChildProcess, fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startProxy } from '../src/platforms/local/proxy/proxy.js';

const RATE = Number(process.env.RATE ?? 2000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const PHASE_MS = Number(process.env.PHASE_MS ?? 1500);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WARMUP_MS = 500;

async function roleUpstream(): Promise<void> {
  const body = Buffer.from('hello from upstream\n');
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.send?.({ port: (server.address() as AddressInfo).port });
}

async function roleProxy(upstreamPort: number): Promise<void> {
  const proxy = await startProxy({
    listen: { host: '127.0.0.1', port: 0 },
    service: 'bench',
    routes: {
      backends: [{ name: 'app', version: 'v1', upstreams: [{ host: '127.0.0.1', port: upstreamPort }] }],
      weights: { app: 100 },
    },
  });
  process.send?.({ port: proxy.port });
  process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
}

function child(role: string, ...args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(fileURLToPath(import.meta.url), [role, ...args], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, port: (m as { port: number }).port }));
    proc.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

/** The proxy process's CPU time (user + system) in microseconds. */
function cpuOf(proc: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    proc.once('message', (m) => {
      const { user, system } = (m as { cpu: NodeJS.CpuUsage }).cpu;
      resolve(user + system);
    });
    proc.send('cpu');
  });
}

function once(agent: http.Agent, port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(performance.now() - t0)
          : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Open loop: `rate` requests per second for `ms`, sent on schedule whatever the answers do. */
async function latency(port: number, rate: number, ms: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const record = async (phaseMs: number, keep: boolean) => {
    const samples: number[] = [];
    const pending: Promise<void>[] = [];
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < phaseMs) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; sent < due; sent++) pending.push(once(agent, port).then((t) => void (keep && samples.push(t))));
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(pending);
    return samples;
  };
  await record(WARMUP_MS, false);
  const samples = await record(ms, true);
  agent.destroy();
  return samples;
}

function summary(samples: number[]): { p50: number; p99: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), n: sorted.length };
}

/**
 * Closed loop: `concurrency` connections, each sending its next request when the last is answered.
 * Returns requests per second and the number of requests (warm-up included).
 */
async function throughput(
  port: number,
  concurrency: number,
  ms: number,
): Promise<{ rps: number; sent: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  let sent = 0;
  const run = async (phaseMs: number) => {
    done = 0;
    const end = performance.now() + phaseMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          await once(agent, port);
          done++;
          sent++;
        }
      }),
    );
    return done / (phaseMs / 1000);
  };
  await run(WARMUP_MS / 2);
  const rps = await run(ms);
  agent.destroy();
  return { rps, sent };
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === 'upstream') return roleUpstream();
  if (role === 'proxy') return roleProxy(Number(process.argv[3]));

  const upstream = await child('upstream');
  const proxy = await child('proxy', String(upstream.port));
  try {
    // Direct and proxied phases alternate, so load from elsewhere on the machine hits both alike.
    const directSamples: number[] = [];
    const proxySamples: number[] = [];
    let directRps = 0;
    let proxyRps = 0;
    let proxyCpu = 0;
    let proxySent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      directSamples.push(...(await latency(upstream.port, RATE, PHASE_MS)));
      proxySamples.push(...(await latency(proxy.port, RATE, PHASE_MS)));
      directRps += (await throughput(upstream.port, CONCURRENCY, PHASE_MS)).rps / ROUNDS;
      const cpu0 = await cpuOf(proxy.proc);
      const t = await throughput(proxy.port, CONCURRENCY, PHASE_MS);
      proxyCpu += (await cpuOf(proxy.proc)) - cpu0;
      proxySent += t.sent;
      proxyRps += t.rps / ROUNDS;
    }
    const direct = summary(directSamples);
    const viaProxy = summary(proxySamples);
    const cpuPerRequest = proxyCpu / proxySent;
    const f = (x: number) => x.toFixed(3);
    console.log(`latency, open loop at ${RATE} req/s, ${ROUNDS} x ${PHASE_MS / 1000} s each (ms):`);
    console.log(`  direct  p50 ${f(direct.p50)}  p99 ${f(direct.p99)}  (${direct.n} requests)`);
    console.log(`  proxy   p50 ${f(viaProxy.p50)}  p99 ${f(viaProxy.p99)}  (${viaProxy.n} requests)`);
    console.log(
      `  added   p50 ${f(viaProxy.p50 - direct.p50)}  p99 ${f(viaProxy.p99 - direct.p99)};  ratio p50 ${(viaProxy.p50 / direct.p50).toFixed(2)}x  p99 ${(viaProxy.p99 / direct.p99).toFixed(2)}x`,
    );
    console.log(
      `throughput, closed loop with ${CONCURRENCY} connections, ${ROUNDS} x ${PHASE_MS / 1000} s each (req/s):`,
    );
    console.log(
      `  direct ${directRps.toFixed(0)}  proxy ${proxyRps.toFixed(0)}  ratio ${(proxyRps / directRps).toFixed(2)}`,
    );
    console.log(
      `  proxy CPU per request: ${cpuPerRequest.toFixed(0)} µs (this machine: ${availableParallelism()} CPUs for 3 processes)`,
    );
    console.log('nginx comparison: not measured yet (issue 5).');
  } finally {
    upstream.proc.kill();
    proxy.proc.kill();
  }
}

await main();
