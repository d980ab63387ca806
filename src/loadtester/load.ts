/**
 * The built-in HTTP load generator: `concurrency` workers, each sending one request at a time (a
 * closed loop, as hey's workers), paced to a total `rate`, for a duration or a number of requests.
 *
 * Pacing: worker i sends at start + i/rate + k·concurrency/rate (so the workers together make an even
 * stream). A worker that falls behind (slow responses, a busy event loop) catches up at once, but
 * never by more than one second of requests: after a stall the schedule restarts instead of bursting.
 * hey instead drops the ticks a slow worker missed, so it undershoots its rate when responses are
 * slower than the interval; here the rate holds as long as concurrency allows.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  url: string;
  /** Default GET. */
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** Workers sending in parallel (each one request at a time); at least 1. */
  concurrency: number;
  /** Requests per second over all workers; absent or 0 = as fast as the workers go. */
  rate?: number;
  /** Send for this long (wins over `requests`). */
  durationMs?: number;
  /** Total requests, split evenly over the workers (as hey: ⌊requests / concurrency⌋ each). */
  requests?: number;
  /** Per-request timeout; 0 = none. Default 20 s (hey's `-t 20`). */
  timeoutMs?: number;
  /** Reuse connections (default true). */
  keepAlive?: boolean;
  /** Skip TLS certificate checks, as hey does. */
  insecure?: boolean;
  /** Stops the run early (in-flight requests are cut off). */
  signal?: AbortSignal;
}

export interface LoadReport {
  url: string;
  method: string;
  /** Requests finished: responses plus errors. */
  requests: number;
  responses: number;
  /** Responses by status code. */
  statusCodes: Record<string, number>;
  /** Failed requests by error message. */
  errors: Record<string, number>;
  durationMs: number;
  /** requests / duration. */
  rps: number;
  /** Over the responses (a sample of at most 10,000 for the percentiles). */
  latencyMs?: { fastest: number; slowest: number; average: number; p50: number; p90: number; p99: number };
}

const SAMPLE = 10_000;

/** Checks options and throws an Error saying what is wrong. */
export function validateLoadOptions(o: LoadOptions): URL {
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new Error(`invalid URL ${JSON.stringify(o.url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`unsupported protocol scheme ${JSON.stringify(u.protocol.replace(/:$/, ''))}`);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1 || o.concurrency > 10_000)
    throw new Error(`concurrency must be an integer in [1, 10000], got ${o.concurrency}`);
  if (o.rate !== undefined && !(Number.isFinite(o.rate) && o.rate >= 0))
    throw new Error(`rate must be a non-negative number, got ${o.rate}`);
  if (o.durationMs === undefined && o.requests === undefined)
    throw new Error('give a duration or a number of requests');
  if (o.durationMs !== undefined && !(Number.isFinite(o.durationMs) && o.durationMs > 0))
    throw new Error(`duration must be positive, got ${o.durationMs} ms`);
  if (o.requests !== undefined && !(Number.isInteger(o.requests) && o.requests >= 1))
    throw new Error(`requests must be a positive integer, got ${o.requests}`);
  return u;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const IDLE_SOCKET_MS = 4_000;

/** Run the load and report what happened; throws only for invalid options. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const url = validateLoadOptions(o);
  const secure = url.protocol === 'https:';
  const method = (o.method ?? 'GET').toUpperCase();
  const keepAlive = o.keepAlive ?? true;
  // Idle sockets are closed after 4 s, or a second before the server's announced keep-alive timeout
  // (node's Agent lowers `timeout` to the hint), so a request is never sent on a socket the server is
  // closing for idleness (node:http and Vireo's proxy close after 5 s): that race resets the request.
  const agentOptions = { keepAlive, maxSockets: o.concurrency, timeout: IDLE_SOCKET_MS };
  const agent = secure
    ? new https.Agent({ ...agentOptions, rejectUnauthorized: !o.insecure })
    : new http.Agent(agentOptions);
  const request = secure ? https.request : http.request;
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const headers: Record<string, string | number> = { ...o.headers };
  if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
    headers['Content-Length'] = body.length;
  const timeoutMs = o.timeoutMs ?? 20_000;

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) stop.abort();

  const statusCodes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const sample: number[] = [];
  let seen = 0;
  let sum = 0;
  let fastest = Number.POSITIVE_INFINITY;
  let slowest = 0;
  let responses = 0;
  let failed = 0;
  const start = performance.now();
  let last = start;
  const end = o.durationMs !== undefined ? start + o.durationMs : Number.POSITIVE_INFINITY;
  const perWorker =
    o.durationMs !== undefined ? Number.POSITIVE_INFINITY : Math.floor((o.requests ?? 0) / o.concurrency);
  const interval = o.rate ? (o.concurrency * 1000) / o.rate : 0;

  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      let finished = false;
      const fail = (e: Error) => {
        if (finished) return;
        finished = true;
        failed++;
        const key = e.message || String(e);
        errors[key] = (errors[key] ?? 0) + 1;
        last = performance.now();
        resolve();
      };
      const req = request(url, { method, headers, agent, signal: stop.signal }, (res) => {
        res.on('data', () => {});
        res.on('error', fail);
        res.on('end', () => {
          if (finished) return;
          finished = true;
          const now = performance.now();
          last = now;
          const ms = now - t0;
          responses++;
          const code = String(res.statusCode ?? 0);
          statusCodes[code] = (statusCodes[code] ?? 0) + 1;
          sum += ms;
          if (ms < fastest) fastest = ms;
          if (ms > slowest) slowest = ms;
          seen++;
          if (sample.length < SAMPLE) sample.push(ms);
          else {
            const j = Math.floor(Math.random() * seen);
            if (j < SAMPLE) sample[j] = ms;
          }
          resolve();
        });
      });
      req.on('error', fail);
      if (timeoutMs > 0)
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      req.end(body);
    });

  const worker = async (i: number) => {
    let next = start + (interval * i) / o.concurrency;
    for (let k = 0; k < perWorker; k++) {
      if (stop.signal.aborted) return;
      if (interval > 0) {
        const now = performance.now();
        if (next < now - 1000) next = now;
        if (next >= end) return;
        if (next > now) await sleep(next - now, stop.signal);
        next += interval;
        if (stop.signal.aborted) return;
      }
      if (performance.now() >= end) return;
      await one();
    }
  };

  try {
    await Promise.all(Array.from({ length: o.concurrency }, (_, i) => worker(i)));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    agent.destroy();
  }

  const durationMs = Math.max(last, Math.min(end, performance.now())) - start;
  const requests = responses + failed;
  sample.sort((a, b) => a - b);
  const q = (p: number) => sample[Math.min(sample.length - 1, Math.floor(p * sample.length))] as number;
  return {
    url: o.url,
    method,
    requests,
    responses,
    statusCodes,
    errors,
    durationMs,
    rps: durationMs > 0 ? (requests * 1000) / durationMs : 0,
    ...(responses > 0
      ? {
          latencyMs: {
            fastest,
            slowest,
            average: sum / responses,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
          },
        }
      : {}),
  };
}

/** A human summary in the spirit of hey's. */
export function formatLoadReport(r: LoadReport): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(4)} secs`;
  const lines = ['Summary:', `  Total:\t${s(r.durationMs)}`];
  if (r.latencyMs) {
    lines.push(
      `  Slowest:\t${s(r.latencyMs.slowest)}`,
      `  Fastest:\t${s(r.latencyMs.fastest)}`,
      `  Average:\t${s(r.latencyMs.average)}`,
    );
  }
  lines.push(`  Requests/sec:\t${r.rps.toFixed(4)}`, '');
  if (r.latencyMs) {
    lines.push(
      'Latency distribution:',
      `  50% in ${s(r.latencyMs.p50)}`,
      `  90% in ${s(r.latencyMs.p90)}`,
      `  99% in ${s(r.latencyMs.p99)}`,
      '',
    );
  }
  lines.push('Status code distribution:');
  for (const [code, n] of Object.entries(r.statusCodes)) lines.push(`  [${code}]\t${n} responses`);
  const errs = Object.entries(r.errors);
  if (errs.length > 0) {
    lines.push('', 'Error distribution:');
    for (const [msg, n] of errs) lines.push(`  [${n}]\t${r.method} ${r.url}: ${msg}`);
  }
  return `${lines.join('\n')}\n`;
}
