/**
 * Test harness: a real Prometheus on loopback scraping an exporter the test controls.
 *
 * - `startExporter()`: a node:http server serving Prometheus' text format at /metrics. Counters grow
 *   at rates the test sets (`exporter.rate(...)`), integrated at scrape time, so `rate()` ratios are
 *   exact whatever the scrape timing; gauges hold what the test sets.
 * - `startPrometheus({ targets })`: ensures the `prometheus` binary (Debian's package, installed when
 *   missing), writes a config with scrape_interval 1s into a temp dir, starts it in its own process
 *   group on a free loopback port and waits (bounded) until /-/ready answers. `stop()` / `start()`
 *   stop it and start it again on the same port and data; `close()` stops it and removes the temp dir.
 *   With `tls` and `basicAuthUsers` it serves HTTPS and asks for basic auth (Prometheus' web config).
 * - `startHttpServer(handler)`, `closedPort()`, `selfSignedCert()`, `waitFor()`: the small pieces
 *   the fault tests need (an answer Prometheus cannot give: 5xx from a proxy, garbage, silence).
 *
 * Only bounded waits for readiness; no fixed sleeps. Not part of the build.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCommand } from './system.js';

// -------------------------------------------------------------------------------------------------
// Small pieces
// -------------------------------------------------------------------------------------------------

import { freePort } from './net.js';

export { closedPort, freePort, selfSignedCert } from './net.js';

import { waitFor } from './wait.js';

export { waitFor };

export interface TestServer {
  url: string;
  port: number;
  /** Requests seen, in order. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

export type TestHandler = (
  req: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string },
  res: http.ServerResponse,
) => void | Promise<void>;

/** A loopback HTTP(S) server answering with `handler` (which may also never answer). */
export async function startHttpServer(
  handler: TestHandler,
  tls?: { key: string; cert: string },
): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sockets = new Set<net.Socket>();
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(r);
      Promise.resolve(handler(r, res)).catch((e) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export type Labels = Readonly<Record<string, string>>;

export interface Exporter extends TestServer {
  /** host:port, as a scrape target. */
  target: string;
  /** Make counter `name{labels}` grow by `perSecond` from now on (it starts at 0). */
  rate(name: string, labels: Labels, perSecond: number): void;
  /** Set gauge `name{labels}`. */
  gauge(name: string, labels: Labels, value: number): void;
  /** The text served at /metrics right now. */
  text(): string;
  /** Scrapes served so far. */
  scrapes(): number;
}

interface Series {
  name: string;
  labels: Labels;
  kind: 'counter' | 'gauge';
  value: number;
  perSecond: number;
  at: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const seriesKey = (name: string, labels: Labels) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`)
    .join(',')}}`;

/** An exporter whose counters grow at the rates the test sets. */
export async function startExporter(clock: () => number = Date.now): Promise<Exporter> {
  const series = new Map<string, Series>();
  let scrapes = 0;
  const settle = (s: Series, now: number) => {
    s.value += (s.perSecond * (now - s.at)) / 1000;
    s.at = now;
  };
  const text = () => {
    const now = clock();
    const lines: string[] = [];
    const typed = new Set<string>();
    for (const [key, s] of [...series.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (s.kind === 'counter') settle(s, now);
      if (!typed.has(s.name)) {
        lines.push(`# TYPE ${s.name} ${s.kind}`);
        typed.add(s.name);
      }
      lines.push(`${key} ${s.value}`);
    }
    return `${lines.join('\n')}\n`;
  };
  const server = await startHttpServer((req, res) => {
    if (req.url.startsWith('/metrics')) {
      scrapes++;
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end(text());
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  const upsert = (name: string, labels: Labels, kind: Series['kind']): Series => {
    const key = seriesKey(name, labels);
    let s = series.get(key);
    if (!s) {
      s = { name, labels, kind, value: 0, perSecond: 0, at: clock() };
      series.set(key, s);
    }
    return s;
  };
  return {
    ...server,
    target: `127.0.0.1:${server.port}`,
    rate(name, labels, perSecond) {
      const s = upsert(name, labels, 'counter');
      settle(s, clock());
      s.perSecond = perSecond;
    },
    gauge(name, labels, value) {
      upsert(name, labels, 'gauge').value = value;
    },
    text,
    scrapes: () => scrapes,
  };
}

// -------------------------------------------------------------------------------------------------
// Prometheus
// -------------------------------------------------------------------------------------------------

/** Prometheus' bcrypt hash of the password "test" (from its basic-auth guide). */
export const TEST_PASSWORD = 'test';
export const TEST_PASSWORD_BCRYPT = '$2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay';

export interface PrometheusOptions {
  /** Scrape targets (host:port). */
  targets: readonly string[];
  scrapeIntervalSeconds?: number;
  /** Serve HTTPS with this certificate. */
  tls?: { key: string; cert: string };
  /** user -> bcrypt hash: Prometheus then asks for basic auth. */
  basicAuthUsers?: Readonly<Record<string, string>>;
  /** How long to wait for /-/ready (default 20 s). */
  readyTimeoutMs?: number;
}

export interface PrometheusServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Milliseconds the last start took until ready. */
  startMs: number;
  running(): boolean;
  /** Stop (SIGTERM to the process group, SIGKILL after 5 s); data and port are kept. */
  stop(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  /** Stop and remove the temp dir. */
  close(): Promise<void>;
  /** The last lines Prometheus logged (for failure messages). */
  log(): string;
}

const live = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHook) return;
  exitHook = true;
  // Last resort if a test run dies before afterAll: no Prometheus outlives the tests.
  process.once('exit', () => {
    for (const c of live) if (c.pid) killGroup(c.pid, 'SIGKILL');
  });
}

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts a real Prometheus on a free loopback port; see the module comment. */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const binary = ensureCommand('prometheus', 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'vireo-prometheus-'));
  const interval = opts.scrapeIntervalSeconds ?? 1;
  const config = [
    'global:',
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    `  evaluation_interval: ${interval}s`,
    'scrape_configs:',
    '  - job_name: vireo-test',
    '    static_configs:',
    `      - targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    '--storage.tsdb.retention.time=1h',
    '--web.enable-lifecycle',
  ];
  if (opts.tls || opts.basicAuthUsers) {
    const web: string[] = [];
    if (opts.tls) {
      writeFileSync(join(dir, 'tls.key'), opts.tls.key);
      writeFileSync(join(dir, 'tls.crt'), opts.tls.cert);
      web.push(
        'tls_server_config:',
        `  cert_file: ${join(dir, 'tls.crt')}`,
        `  key_file: ${join(dir, 'tls.key')}`,
      );
    }
    if (opts.basicAuthUsers) {
      web.push('basic_auth_users:');
      for (const [user, hash] of Object.entries(opts.basicAuthUsers)) web.push(`  ${user}: '${hash}'`);
    }
    writeFileSync(join(dir, 'web.yml'), `${web.join('\n')}\n`);
    args.push(`--web.config.file=${join(dir, 'web.yml')}`);
  }
  const port = await freePort();
  const scheme = opts.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let logTail: string[] = [];
  let startMs = 0;

  const ready = () =>
    new Promise<boolean>((resolve) => {
      const mod = opts.tls ? https : http;
      const req = mod.get(`${url}/-/ready`, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        // 401 means it is up but wants credentials: ready enough.
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });

  const start = async () => {
    if (child) return;
    const t0 = Date.now();
    const c = spawn(binary, [...args, `--web.listen-address=127.0.0.1:${port}`], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    killOnExit(c);
    logTail = [];
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (d: string) => {
      logTail.push(...d.split('\n').filter(Boolean));
      if (logTail.length > 40) logTail = logTail.slice(-40);
    });
    let exited: number | null | undefined;
    c.once('exit', (code) => {
      exited = code;
      if (child === c) child = undefined;
    });
    try {
      await waitFor(
        `Prometheus at ${url} to be ready`,
        async () => {
          if (exited !== undefined)
            throw new Error(`it exited with ${exited}: ${logTail.slice(-5).join(' | ')}`);
          return ready();
        },
        { timeoutMs: opts.readyTimeoutMs ?? 20_000, everyMs: 25 },
      );
    } catch (e) {
      await stop();
      throw e;
    }
    startMs = Date.now() - t0;
  };

  const stop = async () => {
    const c = child;
    if (!c || c.pid === undefined) return;
    const pid = c.pid;
    const gone = new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve();
      else c.once('exit', () => resolve());
    });
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
    child = undefined;
  };

  await start();
  return {
    url,
    port,
    get startMs() {
      return startMs;
    },
    running: () => child !== undefined,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => logTail.join('\n'),
  };
}

/** Instant query straight to Prometheus' API (test setup: wait for data), with basic checks. */
export async function promQuery(url: string, query: string): Promise<unknown[]> {
  const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query })}`);
  const body = (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${query}: ${body.error}`);
  return body.data?.result ?? [];
}

/** Waits until `query` returns a non-empty result (e.g. until rate() has its two samples). */
export function waitForData(url: string, query: string, timeoutMs = 15_000): Promise<unknown[]> {
  return waitFor(
    `data for ${query}`,
    async () => {
      const r = await promQuery(url, query);
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs, everyMs: 100 },
  );
}
