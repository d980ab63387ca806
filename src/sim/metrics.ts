/**
 * The simulated metric provider. A real query cannot run against simulated traffic, so the query
 * text (and the metric's name) is read for WHAT it measures, and the simulator answers that from
 * its traffic counts over the query's range:
 *
 * - kind: success ratio, error ratio, latency quantile, or share of 404s (always 0 here);
 * - scope: the new version only (the query names the canary: "canary", a canary hash argument, or
 *   Flagger's `{{ target }}` / built-in metrics, which Flagger points at the canary workload), else
 *   all traffic of the service (old and new mixed by their shares, as a query on the Service sees);
 * - unit: percent when the query multiplies by 100 (or Flagger's built-in success rate), else a
 *   ratio; latency in milliseconds, or seconds for `_seconds` histograms not scaled by 1000;
 * - range: the first `[5m]`-style range in the query, `{{ interval }}` = the metric's interval,
 *   else 1 minute.
 * A query the simulator cannot read is an error measurement that says so, never a made-up value.
 */
import { parseGoDuration } from '../api/duration.js';
import type { Series, Traffic } from './traffic.js';

export type QueryKind = 'success' | 'error' | 'latency' | 'not-found';

export interface QueryModel {
  kind: QueryKind;
  /** Request series the query sees (test traffic from load testers reaches the new version too). */
  roles: Series[];
  percent: boolean;
  /** Latency unit (ms or s). */
  seconds: boolean;
  /** Latency quantile. */
  quantile: number;
  rangeMs: number;
}

export type Measured = { value: number } | { empty: true } | { error: string };

const DEFAULT_RANGE_MS = 60_000;

/** Read what a query measures; undefined when the simulator cannot tell. */
export function modelQuery(
  name: string,
  query: string | undefined,
  opts: { intervalMs?: number; flaggerBuiltin?: boolean; flaggerTemplate?: boolean } = {},
): QueryModel | undefined {
  const text = `${name}\n${query ?? ''}`;
  const q = query ?? '';
  let kind: QueryKind | undefined;
  if (/latency|duration|histogram_quantile|response_time/i.test(text)) kind = 'latency';
  else if (/\b404\b|not.?found/i.test(text)) kind = 'not-found';
  else if (/success|status!~|code!~|!=\s*"5|2xx|availability/i.test(text)) kind = 'success';
  else if (/error|fail|5xx|5\.\.|=~\s*"5/i.test(text)) kind = 'error';
  if (!kind) return undefined;
  const canaryOnly =
    opts.flaggerBuiltin === true || opts.flaggerTemplate === true || /canary|\{\{\s*target\s*\}\}/i.test(q);
  const builtinPercent = opts.flaggerBuiltin === true && kind === 'success';
  const percent = builtinPercent || /\*\s*100\b|\b100\s*\*|\b100\s*-/.test(q);
  const seconds = kind === 'latency' && !opts.flaggerBuiltin && /_seconds/.test(q) && !/1000/.test(q);
  const quantileMatch = /histogram_quantile\s*\(\s*([0-9.]+)/.exec(q);
  const quantile = quantileMatch ? Number(quantileMatch[1]) : 0.99;
  let rangeMs = DEFAULT_RANGE_MS;
  const range = /\[\s*([0-9]+(?:ms|s|m|h))\s*(?::[^\]]*)?\]/.exec(q);
  if (range) rangeMs = parseGoDuration(range[1] as string) ?? DEFAULT_RANGE_MS;
  else if (/\{\{\s*interval\s*\}\}/.test(q) || opts.flaggerBuiltin)
    rangeMs = opts.intervalMs ?? DEFAULT_RANGE_MS;
  return {
    kind,
    roles: canaryOnly ? ['new', 'test'] : ['old', 'new', 'test'],
    percent,
    seconds,
    quantile: quantile > 0 && quantile < 1 ? quantile : 0.99,
    rangeMs,
  };
}

/** Answer a modelled query at `atMs` from the traffic. */
export function measure(traffic: Traffic, m: QueryModel, atMs: number): Measured {
  const from = atMs - m.rangeMs;
  const c = traffic.counts(m.roles, from, atMs);
  // No requests in range: Prometheus has no series to divide, so the result is empty.
  if (c.requests === 0) return { empty: true };
  const scale = m.percent ? 100 : 1;
  switch (m.kind) {
    case 'success':
      return { value: ((c.requests - c.errors) / c.requests) * scale };
    case 'error':
      return { value: (c.errors / c.requests) * scale };
    case 'not-found':
      return { value: 0 };
    case 'latency': {
      const ms = traffic.latencyQuantile(m.quantile, m.roles, from, atMs) as number;
      return { value: m.seconds ? ms / 1000 : ms };
    }
  }
}

/** One line for the report: how the simulator read a metric's query. */
export function describeModel(metric: string, m: QueryModel): string {
  const unit = m.kind === 'latency' ? ` p${Math.round(m.quantile * 100)} in ${m.seconds ? 's' : 'ms'}` : '';
  const of = m.roles.includes('old') ? 'all traffic' : 'the new version';
  return `metric ${metric} read as ${m.kind}${m.percent ? ' (percent)' : ''}${unit} of ${of} over ${m.rangeMs / 1000}s`;
}
