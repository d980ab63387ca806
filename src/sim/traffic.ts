/**
 * Simulated live traffic: a request rate with a daily curve, split between the old and the new
 * version, each with its own error probability and latency distribution. Requests are counted per
 * second of virtual time (not one by one), so a 24-hour release costs 86,400 small steps.
 *
 * Counts are kept as running totals, so any window's count is two lookups (as Prometheus' rate()
 * over a range would see it).
 */
import type { Random } from './random.js';

/** A version's latency: log-normal with this median and 99th percentile (milliseconds). */
export interface Latency {
  medianMs: number;
  p99Ms: number;
}

export interface Health {
  /** Probability that one request fails (5xx). */
  errorRate: number;
  latency: Latency;
}

export type Role = 'old' | 'new';
/** Request series: users' requests to each version, and synthetic test requests to the new one. */
export type Series = Role | 'test';

/** How traffic is split right now (the adapter derives it from routes and ready pods). */
export interface Routing {
  /** Share of requests sent to the new version, 0..1. */
  newShare: number;
  /** Share of each version's requests that reach no ready pod and fail (503), 0..1. */
  newDown: number;
  oldDown: number;
  /** Requests per second sent straight to the new version, outside the router (a load tester). */
  newDirectRps?: number;
}

export interface TrafficOptions {
  /** Mean requests per second. */
  rps: number;
  /** Relative swing of the daily curve (0 = flat; 0.3 = ±30 %, peak at 14:00 UTC). */
  diurnalAmplitude: number;
  /** Epoch ms of second 0 (sets the time of day for the curve). */
  startMs: number;
  /** Health of each version at a time (ms since second 0). */
  health: (role: Role, atMs: number) => Health;
}

export interface Counts {
  requests: number;
  errors: number;
}

const DAY_S = 86_400;
const PEAK_S = 14 * 3600;

export class Traffic {
  /** Running totals per second boundary: index i = totals over seconds [0, i). */
  private readonly totals: Record<Series, { requests: number[]; errors: number[] }> = {
    old: { requests: [0], errors: [0] },
    new: { requests: [0], errors: [0] },
    test: { requests: [0], errors: [0] },
  };

  constructor(
    private readonly opts: TrafficOptions,
    private readonly random: Random,
  ) {}

  /** Seconds generated so far. */
  get seconds(): number {
    return this.totals.old.requests.length - 1;
  }

  /** Mean request rate at second `s` (daily curve). */
  rateAt(s: number): number {
    const dayS = (this.opts.startMs / 1000 + s) % DAY_S;
    const phase = (2 * Math.PI * (dayS - PEAK_S)) / DAY_S;
    return Math.max(0, this.opts.rps * (1 + this.opts.diurnalAmplitude * Math.cos(phase)));
  }

  /** Generate traffic up to `toMs` with the given routing (constant over the stretch). */
  advanceTo(toMs: number, routing: Routing): void {
    const until = Math.floor(toMs / 1000);
    const r = this.random;
    for (let s = this.seconds; s < until; s++) {
      const total = r.poisson(this.rateAt(s));
      const share = Math.min(1, Math.max(0, routing.newShare));
      const toNew = r.binomial(total, share);
      const direct = routing.newDirectRps ? r.poisson(routing.newDirectRps) : 0;
      this.push('new', s, toNew, routing.newDown);
      this.push('old', s, total - toNew, routing.oldDown);
      this.push('test', s, direct, routing.newDown);
    }
  }

  private push(series: Series, s: number, requests: number, down: number): void {
    const t = this.totals[series];
    const unserved = this.random.binomial(requests, down);
    const health = this.opts.health(series === 'test' ? 'new' : series, s * 1000);
    const errors = unserved + this.random.binomial(requests - unserved, health.errorRate);
    t.requests.push((t.requests.at(-1) as number) + requests);
    t.errors.push((t.errors.at(-1) as number) + errors);
  }

  /** Requests and errors of `roles` in [fromMs, toMs) (clamped to what was generated). */
  counts(roles: readonly Series[], fromMs: number, toMs: number): Counts {
    const hi = Math.min(this.seconds, Math.max(0, Math.floor(toMs / 1000)));
    const lo = Math.min(hi, Math.max(0, Math.floor(fromMs / 1000)));
    let requests = 0;
    let errors = 0;
    for (const role of roles) {
      const t = this.totals[role];
      requests += (t.requests[hi] as number) - (t.requests[lo] as number);
      errors += (t.errors[hi] as number) - (t.errors[lo] as number);
    }
    return { requests, errors };
  }

  /**
   * The q-quantile of latency over [fromMs, toMs) for `roles`: the mixture of each version's
   * distribution (at the window's end) weighted by its requests. Undefined without requests.
   */
  latencyQuantile(q: number, roles: readonly Series[], fromMs: number, toMs: number): number | undefined {
    const parts = roles
      .map((role) => ({
        n: this.counts([role], fromMs, toMs).requests,
        lat: this.opts.health(role === 'test' ? 'new' : role, toMs).latency,
      }))
      .filter((p) => p.n > 0);
    const n = parts.reduce((a, p) => a + p.n, 0);
    if (n === 0) return undefined;
    const cdf = (x: number) =>
      parts.reduce((a, p) => a + (p.n / n) * normalCdf(Math.log(x / p.lat.medianMs) / sigmaOf(p.lat)), 0);
    let lo = 0.001;
    let hi = Math.max(...parts.map((p) => p.lat.p99Ms)) * 100;
    for (let i = 0; i < 60; i++) {
      const mid = Math.sqrt(lo * hi);
      if (cdf(mid) < q) lo = mid;
      else hi = mid;
    }
    return Math.sqrt(lo * hi);
  }
}

/** z of the 99th percentile of the standard normal. */
const Z99 = 2.326347874;

const sigmaOf = (l: Latency): number =>
  Math.max(1e-6, Math.log(Math.max(l.p99Ms, l.medianMs) / l.medianMs) / Z99);

/** Standard normal CDF (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
