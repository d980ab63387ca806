/**
 * The dashboard client's pure parts (no DOM): routes, filters, the virtual list's window, times, the
 * charts' geometry. Served to the browser as an ES module and unit-tested in Node.
 */
import type { MeasurementView, MetricRunView, StepView } from '../../views/release.js';
import type { ReleaseSummary } from '../source.js';

export const PHASES = ['Progressing', 'Paused', 'Healthy', 'Degraded', 'Unknown'] as const;

export interface Filters {
  namespace: string;
  phase: string;
  name: string;
}

export type Route = { page: 'list'; filters: Filters } | { page: 'release'; namespace: string; name: string };

/** `#/?namespace=a&phase=Paused&name=web` -> the list; `#/r/NS/NAME` -> a release. */
export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const m = /^\/r\/([^/?]+)\/([^/?]+)$/.exec(h);
  if (m) {
    try {
      return {
        page: 'release',
        namespace: decodeURIComponent(m[1] ?? ''),
        name: decodeURIComponent(m[2] ?? ''),
      };
    } catch {
      // a malformed escape: show the list
    }
  }
  const q = new URLSearchParams(h.includes('?') ? h.slice(h.indexOf('?') + 1) : '');
  return {
    page: 'list',
    filters: { namespace: q.get('namespace') ?? '', phase: q.get('phase') ?? '', name: q.get('name') ?? '' },
  };
}

export function listHash(f: Filters): string {
  const q = new URLSearchParams();
  if (f.namespace) q.set('namespace', f.namespace);
  if (f.phase) q.set('phase', f.phase);
  if (f.name) q.set('name', f.name);
  const s = q.toString();
  return s ? `#/?${s}` : '#/';
}

export const releaseHash = (namespace: string, name: string) =>
  `#/r/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;

export function filterReleases(list: readonly ReleaseSummary[], f: Filters): ReleaseSummary[] {
  const name = f.name.trim().toLowerCase();
  return list
    .filter(
      (r) =>
        (!f.namespace || r.namespace === f.namespace) &&
        (!f.phase || r.phase === f.phase) &&
        (!name || r.name.toLowerCase().includes(name)),
    )
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** The rows a virtual list renders: those in view plus `overscan` on each side. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 5,
): { start: number; end: number } {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const inView = Math.ceil(Math.max(viewportHeight, rowHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + inView + overscan);
  return { start, end: Math.max(start, end) };
}

/** A short age: `45s`, `12m`, `3h`, `2d`. */
export function formatAge(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** Time left until `iso`: `8 s`, `2 m 05 s`; undefined when passed or unknown. */
export function formatLeft(iso: string | undefined, now: number): string | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms) || ms <= 0) return undefined;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
}

export interface Threshold {
  op: '>' | '>=' | '<' | '<=' | '==';
  value: number;
  /** Text for the chart: `> 0.9`, `min 99`. */
  label: string;
}

const NUM = '(-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?)';
const FLIP: Record<string, Threshold['op']> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=', '==': '==' };

/**
 * The thresholds a condition compares the result with, when it is that simple: Argo's `result > 0.9`,
 * `result[0] >= 0.95`, `0.9 < result`, joined with `&&`; Flagger's `min 99 max 500`. Anything else
 * (functions, `||`, several results): no line is drawn, the condition is shown as text.
 */
export function parseThresholds(condition: string | undefined): Threshold[] {
  if (!condition) return [];
  const c = condition.trim();
  const flagger = [...c.matchAll(new RegExp(`\\b(min|max)\\s+${NUM}`, 'g'))];
  if (flagger.length > 0 && /^((min|max)\s+\S+\s*)+$/.test(c))
    return flagger.map((m) => ({
      op: m[1] === 'min' ? '>=' : '<=',
      value: Number(m[2]),
      label: `${m[1]} ${m[2]}`,
    }));
  if (/\|\||\bor\b|\bnot\b|!/.test(c.replace(/!=/g, ''))) return [];
  const out: Threshold[] = [];
  for (const part of c.split('&&')) {
    const p = part
      .trim()
      .replace(/^\((.*)\)$/, '$1')
      .trim();
    const left = new RegExp(`^result(?:\\[0\\])?\\s*(>=|<=|==|>|<)\\s*${NUM}$`).exec(p);
    const right = new RegExp(`^${NUM}\\s*(>=|<=|==|>|<)\\s*result(?:\\[0\\])?$`).exec(p);
    if (left)
      out.push({ op: left[1] as Threshold['op'], value: Number(left[2]), label: `${left[1]} ${left[2]}` });
    else if (right) {
      const op = FLIP[right[2] ?? ''] ?? '==';
      out.push({ op, value: Number(right[1]), label: `${op} ${right[1]}` });
    } else return [];
  }
  return out;
}

/** A measurement's value as a number: `0.95`, `[0.95]` (the first element), `NaN` -> undefined. */
export function numericValue(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(value);
  if (!m) return undefined;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : undefined;
}

export interface ChartPoint {
  x: number;
  /** Undefined for a measurement without a number (an error): drawn on the axis. */
  y?: number;
  phase: string;
  label: string;
}

export interface ChartModel {
  width: number;
  height: number;
  points: ChartPoint[];
  thresholds: (Threshold & { y: number })[];
  /** The value range shown, bottom to top. */
  domain: [number, number];
  /** Where the x axis is drawn (bottom of the plot). */
  baseline: number;
}

/** Places a metric's measurements (time -> x, value -> y) and its thresholds in a `width` x `height` box. */
export function chartModel(metric: MetricRunView, width = 320, height = 120, pad = 14): ChartModel {
  const ms: MeasurementView[] = metric.measurements;
  const times = ms.map((m, i) => {
    const t = Date.parse(m.finishedAt ?? m.startedAt ?? '');
    return Number.isFinite(t) ? t : i * 1000;
  });
  const values = ms.map((m) => numericValue(m.value));
  const thresholds = parseThresholds(metric.condition);
  const nums = [...values.filter((v): v is number => v !== undefined), ...thresholds.map((t) => t.value)];
  let lo = nums.length > 0 ? Math.min(...nums) : 0;
  let hi = nums.length > 0 ? Math.max(...nums) : 1;
  if (hi - lo < 1e-9) {
    const d = Math.abs(hi) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const margin = (hi - lo) * 0.1;
  lo -= margin;
  hi += margin;
  const t0 = times.length > 0 ? Math.min(...times) : 0;
  const t1 = times.length > 0 ? Math.max(...times) : 1;
  const span = t1 - t0 || 1;
  const x = (t: number) => (times.length <= 1 ? width / 2 : pad + ((t - t0) / span) * (width - 2 * pad));
  const y = (v: number) => pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad);
  return {
    width,
    height,
    domain: [lo, hi],
    baseline: height - pad,
    points: ms.map((m, i) => {
      const v = values[i];
      return {
        x: x(times[i] ?? 0),
        ...(v !== undefined ? { y: y(v) } : {}),
        phase: m.phase,
        label: `${m.finishedAt ?? m.startedAt ?? ''} ${m.phase}${m.value !== undefined ? `: ${m.value}` : ''}${m.message ? ` (${m.message})` : ''}`,
      };
    }),
    thresholds: thresholds.map((t) => ({ ...t, y: y(t.value) })),
  };
}

export type StepState = 'done' | 'current' | 'todo';

/** Each step's state for the progress line; all done once `index` reached the end. */
export function stepStates(steps: readonly StepView[], index: number | undefined): StepState[] {
  const i = index ?? 0;
  return steps.map((_, k) => (k < i ? 'done' : k === i ? 'current' : 'todo'));
}

/** A CSS colour for a demo version's colour name (`blue`, `green`): a plain keyword or grey. */
export function cssColor(name: string): string {
  return /^[a-z]{3,20}$/.test(name) ? name : 'gray';
}
