import { describe, expect, it } from 'vitest';
import { seededRandom } from './random.js';
import { normalCdf, Traffic } from './traffic.js';

const FLAT = { rps: 100, diurnalAmplitude: 0, startMs: 0 };
const health = { errorRate: 0.1, latency: { medianMs: 50, p99Ms: 200 } };

describe('Traffic', () => {
  it('splits requests by share and counts errors per version over a window', () => {
    const t = new Traffic(
      { ...FLAT, health: (role) => (role === 'new' ? health : { ...health, errorRate: 0 }) },
      seededRandom(1),
    );
    t.advanceTo(600_000, { newShare: 0.25, newDown: 0, oldDown: 0 });
    expect(t.seconds).toBe(600);
    const all = t.counts(['old', 'new'], 0, 600_000);
    const nw = t.counts(['new'], 0, 600_000);
    expect(all.requests).toBeGreaterThan(58_000);
    expect(all.requests).toBeLessThan(62_000);
    expect(nw.requests / all.requests).toBeCloseTo(0.25, 1);
    expect(nw.errors / nw.requests).toBeCloseTo(0.1, 1);
    expect(t.counts(['old'], 0, 600_000).errors).toBe(0);
    // a window is the difference of running totals
    const a = t.counts(['new'], 0, 300_000);
    const b = t.counts(['new'], 300_000, 600_000);
    expect(a.requests + b.requests).toBe(nw.requests);
    // beyond what was generated: clamped
    expect(t.counts(['new'], 0, 9_000_000)).toEqual(nw);
  });

  it('requests to a version without ready pods all fail', () => {
    const t = new Traffic({ ...FLAT, health: () => ({ ...health, errorRate: 0 }) }, seededRandom(2));
    t.advanceTo(60_000, { newShare: 0.5, newDown: 1, oldDown: 0 });
    const nw = t.counts(['new'], 0, 60_000);
    expect(nw.requests).toBeGreaterThan(0);
    expect(nw.errors).toBe(nw.requests);
    expect(t.counts(['old'], 0, 60_000).errors).toBe(0);
  });

  it('follows the daily curve: peak at 14:00 UTC, trough at 02:00', () => {
    const t = new Traffic(
      { rps: 100, diurnalAmplitude: 0.3, startMs: 0, health: () => health },
      seededRandom(3),
    );
    expect(t.rateAt(14 * 3600)).toBeCloseTo(130, 6);
    expect(t.rateAt(2 * 3600)).toBeCloseTo(70, 6);
  });

  it('latency quantiles come from the log-normal model, mixed by requests', () => {
    const slow = { errorRate: 0, latency: { medianMs: 500, p99Ms: 2000 } };
    const t = new Traffic({ ...FLAT, health: (role) => (role === 'new' ? slow : health) }, seededRandom(4));
    t.advanceTo(60_000, { newShare: 0.5, newDown: 0, oldDown: 0 });
    expect(t.latencyQuantile(0.99, ['old'], 0, 60_000)).toBeCloseTo(200, 0);
    expect(t.latencyQuantile(0.5, ['old'], 0, 60_000)).toBeCloseTo(50, 0);
    expect(t.latencyQuantile(0.99, ['new'], 0, 60_000)).toBeCloseTo(2000, -1);
    const mixed = t.latencyQuantile(0.99, ['old', 'new'], 0, 60_000) as number;
    expect(mixed).toBeGreaterThan(200);
    expect(mixed).toBeLessThan(2000);
    expect(t.latencyQuantile(0.99, ['new'], 60_000, 120_000)).toBeUndefined();
  });

  it('normalCdf matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(2.326347874)).toBeCloseTo(0.99, 5);
    expect(normalCdf(-1.959963985)).toBeCloseTo(0.025, 5);
  });
});
