import { describe, expect, it } from 'vitest';
import { formatDuration, parseGoDuration, parseIntOrDuration } from './duration.js';

describe('parseGoDuration', () => {
  it.each([
    ['0', 0],
    ['1s', 1000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['.5s', 500],
    ['1.s', 1000],
    ['-2s', -2000],
    ['+3s', 3000],
    ['10us', 0.01],
    ['1h2m3s4ms', 3_723_004],
  ])('%s = %d ms', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', '1', '10', 's', '1d', '1 s', '1S', '1m 30s', 'abc', '-', '1.2.3s', '5 m'])(
    '%j is not a duration',
    (text) => {
      expect(parseGoDuration(text)).toBeUndefined();
    },
  );
});

describe('parseIntOrDuration (Argo pause)', () => {
  it.each([
    [10, 10_000],
    ['10', 10_000],
    ['2m', 120_000],
    [0, 0],
  ] as const)('%j = %d ms', (v, ms) => expect(parseIntOrDuration(v)).toBe(ms));
  it.each([1.5, 'x', '1d'])('%j is rejected', (v) => expect(parseIntOrDuration(v)).toBeUndefined());
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [120_000, '2m0s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [1500, '1.5s'],
  ])('%d ms = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
