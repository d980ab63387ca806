import { describe, expect, it } from 'vitest';
import type { MetricRunView } from '../../views/release.js';
import type { ReleaseSummary } from '../source.js';
import {
  chartModel,
  cssColor,
  filterReleases,
  formatAge,
  formatLeft,
  listHash,
  numericValue,
  parseRoute,
  parseThresholds,
  releaseHash,
  stepStates,
  visibleRange,
} from './logic.js';

const summary = (namespace: string, name: string, phase: ReleaseSummary['phase']): ReleaseSummary => ({
  key: `${namespace}/${name}`,
  dialect: 'argo',
  kind: 'Rollout',
  namespace,
  name,
  phase,
  strategy: 'Canary',
  revision: 1,
  ready: 1,
  desired: 1,
});

describe('routes', () => {
  it('reads and writes the list filters and release pages', () => {
    expect(parseRoute('')).toEqual({ page: 'list', filters: { namespace: '', phase: '', name: '' } });
    const f = { namespace: 'shop', phase: 'Paused', name: 'web api' };
    expect(parseRoute(listHash(f))).toEqual({ page: 'list', filters: f });
    expect(parseRoute(releaseHash('a b', 'c/d'))).toEqual({ page: 'release', namespace: 'a b', name: 'c/d' });
    expect(parseRoute('#/r/%E0%A4/x').page).toBe('list');
  });
});

describe('filterReleases', () => {
  const list = [
    summary('b', 'web', 'Healthy'),
    summary('a', 'web', 'Paused'),
    summary('a', 'api', 'Degraded'),
    summary('a', 'Website', 'Paused'),
  ];
  it.each([
    [{ namespace: '', phase: '', name: '' }, ['a/api', 'a/web', 'a/Website', 'b/web']],
    [{ namespace: 'a', phase: '', name: '' }, ['a/api', 'a/web', 'a/Website']],
    [{ namespace: '', phase: 'Paused', name: '' }, ['a/web', 'a/Website']],
    [{ namespace: '', phase: '', name: 'WEB' }, ['a/web', 'a/Website', 'b/web']],
    [{ namespace: 'b', phase: 'Paused', name: '' }, []],
  ])('%j', (f, keys) => expect(filterReleases(list, f).map((r) => r.key)).toEqual(keys));
});

describe('visibleRange', () => {
  it('renders only the rows in view plus overscan', () => {
    expect(visibleRange(0, 400, 40, 500)).toEqual({ start: 0, end: 16 });
    expect(visibleRange(4000, 400, 40, 500)).toEqual({ start: 95, end: 116 });
    expect(visibleRange(19_900, 400, 40, 500)).toEqual({ start: 492, end: 500 });
    expect(visibleRange(0, 400, 40, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-50, 0, 40, 3)).toEqual({ start: 0, end: 3 });
  });
});

describe('times', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T11:59:15Z', '45s'],
    ['2026-01-01T11:48:00Z', '12m'],
    ['2026-01-01T09:00:00Z', '3h'],
    ['2025-12-30T12:00:00Z', '2d'],
    ['2026-01-01T12:00:05Z', '0s'],
    [undefined, ''],
    ['nonsense', ''],
  ])('formatAge(%s) = %s', (iso, want) => expect(formatAge(iso, now)).toBe(want));
  it('formatLeft', () => {
    expect(formatLeft('2026-01-01T12:00:07.200Z', now)).toBe('8 s');
    expect(formatLeft('2026-01-01T12:02:05Z', now)).toBe('2 m 05 s');
    expect(formatLeft('2026-01-01T11:00:00Z', now)).toBeUndefined();
    expect(formatLeft(undefined, now)).toBeUndefined();
  });
});

describe('parseThresholds', () => {
  it.each([
    ['result > 0.90', [{ op: '>', value: 0.9, label: '> 0.90' }]],
    ['result[0] >= 0.95', [{ op: '>=', value: 0.95, label: '>= 0.95' }]],
    ['0.9 < result', [{ op: '>', value: 0.9, label: '> 0.9' }]],
    [
      'result >= 0.5 && result < 2',
      [
        { op: '>=', value: 0.5, label: '>= 0.5' },
        { op: '<', value: 2, label: '< 2' },
      ],
    ],
    [
      'min 99 max 500',
      [
        { op: '>=', value: 99, label: 'min 99' },
        { op: '<=', value: 500, label: 'max 500' },
      ],
    ],
    ['max 0.5', [{ op: '<=', value: 0.5, label: 'max 0.5' }]],
    ['all(result, {# > 0.9})', []],
    ['result > 0.9 || result < 0', []],
    ['not (result < 0.9)', []],
    ['len(result) > 0', []],
    ['HTTP 200..202', []],
    [undefined, []],
  ])('%s', (c, want) => expect(parseThresholds(c)).toEqual(want));
});

describe('numericValue', () => {
  it.each([
    ['0.95', 0.95],
    ['[0.95]', 0.95],
    ['[0.5, 0.7]', 0.5],
    ['1e-3', 0.001],
    ['NaN', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s', (v, want) => expect(numericValue(v)).toBe(want));
});

describe('chartModel', () => {
  const metric: MetricRunView = {
    name: 'success-rate',
    phase: 'Failed',
    condition: 'result > 0.90',
    successful: 1,
    failed: 2,
    inconclusive: 0,
    errors: 1,
    measurements: [
      { phase: 'Successful', value: '0.99', finishedAt: '2026-01-01T00:00:00Z' },
      { phase: 'Failed', value: '0.5', finishedAt: '2026-01-01T00:00:10Z' },
      { phase: 'Error', message: 'timeout', finishedAt: '2026-01-01T00:00:20Z' },
      { phase: 'Failed', value: '[0.45]', finishedAt: '2026-01-01T00:00:30Z' },
    ],
  };
  it('places points by time and value, the threshold between them, errors on the axis', () => {
    const m = chartModel(metric, 320, 120, 14);
    expect(m.points.map((p) => Math.round(p.x))).toEqual([14, 111, 209, 306]);
    const [good, bad, err, bad2] = m.points;
    expect(good?.y).toBeLessThan(m.thresholds[0]?.y ?? 0);
    expect(bad?.y).toBeGreaterThan(m.thresholds[0]?.y ?? 0);
    expect(bad2?.y).toBeGreaterThan(bad?.y ?? 0);
    expect(err?.y).toBeUndefined();
    expect(err?.label).toContain('timeout');
    for (const p of m.points) if (p.y !== undefined) expect(p.y).toBeGreaterThanOrEqual(14);
    expect(m.domain[0]).toBeLessThan(0.45);
    expect(m.domain[1]).toBeGreaterThan(0.99);
  });
  it('copes with one measurement, none, and equal values', () => {
    const one = chartModel({ ...metric, measurements: [{ phase: 'Successful', value: '1' }] });
    expect(one.points[0]?.x).toBe(160);
    expect(Number.isFinite(one.points[0]?.y)).toBe(true);
    const none = chartModel({ ...metric, condition: undefined, measurements: [] });
    expect(none.points).toEqual([]);
    expect(none.domain[0]).toBeLessThan(none.domain[1]);
  });
});

describe('small things', () => {
  it('stepStates', () => {
    const steps = [1, 2, 3].map((i) => ({ kind: 'pause', label: `${i}` }));
    expect(stepStates(steps, 1)).toEqual(['done', 'current', 'todo']);
    expect(stepStates(steps, 3)).toEqual(['done', 'done', 'done']);
    expect(stepStates(steps, undefined)).toEqual(['current', 'todo', 'todo']);
  });
  it('cssColor only passes plain colour names', () => {
    expect(cssColor('green')).toBe('green');
    expect(cssColor('red;background:url(x)')).toBe('gray');
    expect(cssColor('')).toBe('gray');
  });
});
