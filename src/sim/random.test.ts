import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
};

describe('seededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const xs = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });

  // Each row exercises one code path of the samplers (exact loop, Poisson shortcut, normal approximation).
  it.each([
    {
      what: 'poisson, small mean (Knuth)',
      draw: (r: ReturnType<typeof seededRandom>) => r.poisson(3),
      m: 3,
      v: 3,
    },
    {
      what: 'poisson, large mean (normal)',
      draw: (r: ReturnType<typeof seededRandom>) => r.poisson(400),
      m: 400,
      v: 400,
    },
    {
      what: 'binomial, few trials',
      draw: (r: ReturnType<typeof seededRandom>) => r.binomial(20, 0.3),
      m: 6,
      v: 4.2,
    },
    {
      what: 'binomial, rare events',
      draw: (r: ReturnType<typeof seededRandom>) => r.binomial(1000, 0.002),
      m: 2,
      v: 1.996,
    },
    {
      what: 'binomial, near-certain events',
      draw: (r: ReturnType<typeof seededRandom>) => r.binomial(1000, 0.99),
      m: 990,
      v: 9.9,
    },
    {
      what: 'binomial, large (normal)',
      draw: (r: ReturnType<typeof seededRandom>) => r.binomial(2000, 0.5),
      m: 1000,
      v: 500,
    },
  ])('$what has the right mean and variance', ({ draw, m, v }) => {
    const r = seededRandom(1);
    const xs = Array.from({ length: 20_000 }, () => draw(r));
    expect(Math.abs(mean(xs) - m)).toBeLessThan(0.05 * m + 0.05);
    expect(Math.abs(variance(xs) - v)).toBeLessThan(0.1 * v + 0.1);
    expect(xs.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
  });

  it('binomial stays within 0..n and handles p at the edges', () => {
    const r = seededRandom(3);
    expect(r.binomial(10, 0)).toBe(0);
    expect(r.binomial(10, 1)).toBe(10);
    expect(r.binomial(0, 0.5)).toBe(0);
    const ks = Array.from({ length: 1000 }, () => r.binomial(250, 0.9));
    expect(ks.every((k) => k >= 0 && k <= 250)).toBe(true);
  });
});
