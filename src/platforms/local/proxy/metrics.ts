/**
 * What the proxy counts, per service (the proxy listener), backend (route) and version:
 * - `vireo_proxy_requests_total{service,backend,version,code}`: answered requests by status code (the
 *   code class is `code=~"5.."` in PromQL). 502/504 made by the proxy count against the backend it
 *   chose; a client that hung up before the answer counts as code 499 (nginx's convention); a request
 *   with no backend to go to counts as 503 with `backend=""`.
 * - `vireo_proxy_request_duration_seconds{service,backend,version}`: histogram, Prometheus' default
 *   buckets, from the request's arrival to the last byte of the answer.
 * - `vireo_proxy_mirrored_requests_total{service,backend,version}`: copies sent by mirror rules (their
 *   answers are discarded and are not in the two metrics above, so they never move a success rate).
 *
 * Where: a separate admin listener (`startMetricsServer`), never a reserved path on the proxy's own
 * port, because `/metrics` on the proxied port belongs to the application behind it. One registry can
 * be shared by all the proxies of a runtime, so one scrape target serves every service.
 *
 * For the builtin provider (Flagger's request-success-rate and request-duration) `snapshot()` answers
 * "over the last N seconds" from per-second ring buffers (`windowSeconds` slots, default 10 minutes).
 */
import http from 'node:http';

export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface SeriesLabels {
  service: string;
  backend: string;
  version: string;
}

export interface VersionStats extends SeriesLabels {
  requests: number;
  /** Requests answered with a 5xx code (proxy-made 502/504 included; 499 is not an error). */
  errors: number;
  /** Non-5xx share of the requests, in 0..1; undefined when there were none. */
  successRate?: number;
  /** 99th percentile latency in seconds, interpolated in the histogram as PromQL's histogram_quantile does. */
  p99Seconds?: number;
}

export interface MetricsOptions {
  buckets?: readonly number[];
  /** How many seconds the snapshot can look back. */
  windowSeconds?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

interface Slot {
  second: number;
  total: number;
  errors: number;
  buckets: Uint32Array;
}

interface Series {
  labels: SeriesLabels;
  codes: Map<number, number>;
  /** Non-cumulative: buckets.length + 1 entries, the last is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  mirrored: number;
  /**
   * One slot per second of the window, at the second modulo the window. Preallocated: a sparse array
   * falls back to slow dictionary elements.
   */
  ring: (Slot | undefined)[];
}

export interface MetricsState {
  format: 1;
  buckets: number[];
  windowSeconds: number;
  series: {
    labels: SeriesLabels;
    codes: [number, number][];
    buckets: number[];
    sum: number;
    count: number;
    mirrored: number;
    slots: { second: number; total: number; errors: number; buckets: number[] }[];
  }[];
}

export class ProxyMetrics {
  readonly buckets: readonly number[];
  readonly windowSeconds: number;
  private readonly now: () => number;
  private readonly series = new Map<string, Series>();

  constructor(options: MetricsOptions = {}) {
    this.buckets = options.buckets ?? DEFAULT_BUCKETS;
    this.windowSeconds = options.windowSeconds ?? 600;
    this.now = options.now ?? Date.now;
  }

  /**
   * The proxy passes the same labels object for every request to a backend: remembering the series
   * per object skips building the key string and hashing it. The fields are compared, so a caller
   * that mutates its labels object still lands in the right series.
   */
  private readonly byObject = new WeakMap<SeriesLabels, Series>();

  private get(labels: SeriesLabels): Series {
    const known = this.byObject.get(labels);
    if (
      known !== undefined &&
      known.labels.service === labels.service &&
      known.labels.backend === labels.backend &&
      known.labels.version === labels.version
    ) {
      return known;
    }
    const s = this.lookup(labels);
    this.byObject.set(labels, s);
    return s;
  }

  private lookup(labels: SeriesLabels): Series {
    const key = `${labels.service}\u0000${labels.backend}\u0000${labels.version}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { service: labels.service, backend: labels.backend, version: labels.version },
        codes: new Map(),
        buckets: new Float64Array(this.buckets.length + 1),
        sum: 0,
        count: 0,
        mirrored: 0,
        ring: new Array<Slot | undefined>(this.windowSeconds),
      };
      this.series.set(key, s);
    }
    return s;
  }

  private bucketIndex(seconds: number): number {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    return i;
  }

  /**
   * What the registry holds, as plain JSON: the totals and the per-second slots of the last
   * `keepSeconds`. The local runtime saves it and `restore`s it after a restart, so counters and the
   * windows analyses read continue across restarts, as a Prometheus' would.
   */
  dump(keepSeconds = this.windowSeconds): MetricsState {
    const nowSecond = Math.floor(this.now() / 1000);
    const keep = Math.min(keepSeconds, this.windowSeconds);
    return {
      format: 1,
      buckets: [...this.buckets],
      windowSeconds: this.windowSeconds,
      series: [...this.series.values()].map((s) => ({
        labels: { ...s.labels },
        codes: [...s.codes.entries()],
        buckets: [...s.buckets],
        sum: s.sum,
        count: s.count,
        mirrored: s.mirrored,
        slots: s.ring
          .filter((x): x is Slot => x !== undefined && x.second > nowSecond - keep && x.second <= nowSecond)
          .map((x) => ({ second: x.second, total: x.total, errors: x.errors, buckets: [...x.buckets] })),
      })),
    };
  }

  /**
   * Adds a dump's counts (see `dump`). A dump taken with other buckets or another window is ignored
   * (false): its histograms would not add up.
   */
  restore(state: MetricsState): boolean {
    if (
      state?.format !== 1 ||
      state.windowSeconds !== this.windowSeconds ||
      state.buckets.length !== this.buckets.length ||
      state.buckets.some((b, i) => b !== this.buckets[i])
    )
      return false;
    const n = this.buckets.length + 1;
    for (const d of state.series) {
      const s = this.lookup(d.labels);
      for (const [code, count] of d.codes) s.codes.set(code, (s.codes.get(code) ?? 0) + count);
      for (let i = 0; i < n; i++) s.buckets[i]! += d.buckets[i] ?? 0;
      s.sum += d.sum;
      s.count += d.count;
      s.mirrored += d.mirrored;
      for (const x of d.slots) {
        const idx = ((x.second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
        let slot = s.ring[idx];
        if (!slot || slot.second !== x.second) {
          slot = { second: x.second, total: 0, errors: 0, buckets: new Uint32Array(n) };
          s.ring[idx] = slot;
        }
        slot.total += x.total;
        slot.errors += x.errors;
        for (let i = 0; i < n; i++) slot.buckets[i]! += x.buckets[i] ?? 0;
      }
    }
    return true;
  }

  /** One answered request. */
  observe(labels: SeriesLabels, code: number, seconds: number): void {
    const s = this.get(labels);
    s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
    const bi = this.bucketIndex(seconds);
    s.buckets[bi]!++;
    s.sum += seconds;
    s.count++;
    const second = Math.floor(this.now() / 1000);
    const idx = ((second % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
    let slot = s.ring[idx];
    if (!slot) {
      slot = { second, total: 0, errors: 0, buckets: new Uint32Array(this.buckets.length + 1) };
      s.ring[idx] = slot;
    } else if (slot.second !== second) {
      // Reuse the slot a window ago: no allocation once the ring is full.
      slot.second = second;
      slot.total = 0;
      slot.errors = 0;
      slot.buckets.fill(0);
    }
    slot.total++;
    if (code >= 500 && code <= 599) slot.errors++;
    slot.buckets[bi]!++;
  }

  observeMirror(labels: SeriesLabels): void {
    this.get(labels).mirrored++;
  }

  /** Per series, over the last `windowSeconds` seconds (the current second included). */
  snapshot(options: { windowSeconds: number; service?: string }): VersionStats[] {
    const window = Math.min(Math.max(1, Math.floor(options.windowSeconds)), this.windowSeconds);
    const nowSecond = Math.floor(this.now() / 1000);
    const out: VersionStats[] = [];
    for (const s of this.series.values()) {
      if (options.service !== undefined && s.labels.service !== options.service) continue;
      let requests = 0;
      let errors = 0;
      const buckets = new Float64Array(this.buckets.length + 1);
      for (const slot of s.ring) {
        if (!slot || slot.second <= nowSecond - window || slot.second > nowSecond) continue;
        requests += slot.total;
        errors += slot.errors;
        for (let i = 0; i < buckets.length; i++) buckets[i]! += slot.buckets[i]!;
      }
      const stats: VersionStats = { ...s.labels, requests, errors };
      if (requests > 0) {
        stats.successRate = (requests - errors) / requests;
        stats.p99Seconds = histogramQuantile(0.99, this.buckets, buckets);
      }
      out.push(stats);
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4. */
  text(): string {
    const lines: string[] = [];
    const all = [...this.series.values()];
    lines.push(
      '# HELP vireo_proxy_requests_total Requests answered through the proxy, by route (backend), version and status code.',
      '# TYPE vireo_proxy_requests_total counter',
    );
    for (const s of all) {
      for (const code of [...s.codes.keys()].sort((a, b) => a - b)) {
        lines.push(`vireo_proxy_requests_total{${labelText(s.labels)},code="${code}"} ${s.codes.get(code)}`);
      }
    }
    lines.push(
      '# HELP vireo_proxy_request_duration_seconds Time from a request arriving to the last byte of its answer.',
      '# TYPE vireo_proxy_request_duration_seconds histogram',
    );
    for (const s of all) {
      if (s.count === 0) continue;
      const l = labelText(s.labels);
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.buckets[i]!;
        const le = i < this.buckets.length ? String(this.buckets[i]) : '+Inf';
        lines.push(`vireo_proxy_request_duration_seconds_bucket{${l},le="${le}"} ${cumulative}`);
      }
      lines.push(`vireo_proxy_request_duration_seconds_sum{${l}} ${s.sum}`);
      lines.push(`vireo_proxy_request_duration_seconds_count{${l}} ${s.count}`);
    }
    lines.push(
      '# HELP vireo_proxy_mirrored_requests_total Copies of requests sent to a mirror backend (answers discarded).',
      '# TYPE vireo_proxy_mirrored_requests_total counter',
    );
    for (const s of all) {
      if (s.mirrored > 0)
        lines.push(`vireo_proxy_mirrored_requests_total{${labelText(s.labels)}} ${s.mirrored}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labelText(l: SeriesLabels): string {
  return `service="${escapeLabel(l.service)}",backend="${escapeLabel(l.backend)}",version="${escapeLabel(l.version)}"`;
}

/**
 * PromQL's histogram_quantile on non-cumulative counts (last entry +Inf): linear interpolation inside
 * the bucket holding the rank; the lowest bucket starts at 0; a rank in +Inf gives the highest bound.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i]!;
    if (cumulative + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      return lower + (bounds[i]! - lower) * ((rank - cumulative) / c);
    }
    cumulative += c;
  }
  return bounds[bounds.length - 1] ?? Number.NaN;
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The admin listener: `GET /metrics` in Prometheus text format; anything else is 404. */
export async function startMetricsServer(options: {
  listen: { host: string; port: number };
  metrics: ProxyMetrics;
}): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD')) {
      const body = options.metrics.text();
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.listen.port;
  return {
    url: `http://${hostForUrl(options.listen.host)}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
