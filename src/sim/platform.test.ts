import { describe, expect, it } from 'vitest';
import { Platform } from './platform.js';

describe('Platform', () => {
  it('pods become available after the ready delay; scale down removes pods at once', () => {
    const p = new Platform({ readyDelayMs: 10_000 });
    p.scale('rs-a', 3, 0, 'new');
    expect(p.replicas('rs-a')).toBe(3);
    expect(p.available('rs-a', 9_999)).toBe(0);
    expect(p.available('rs-a', 10_000)).toBe(3);
    expect(p.nextChange(0)).toBe(10_000);
    p.scale('rs-a', 1, 20_000, 'new');
    expect(p.available('rs-a', 20_000)).toBe(1);
    expect(p.availableOf('new', 20_000)).toBe(1);
    expect(p.availableOf('old', 20_000)).toBe(0);
  });

  it('crashing pods are available between ready and crash, then never again', () => {
    const p = new Platform({ readyDelayMs: 5_000, crash: { role: 'new', afterMs: 30_000 } });
    p.scale('canary', 2, 0, 'new');
    p.scale('stable', 2, 0, 'old');
    expect(p.available('canary', 5_000)).toBe(2);
    expect(p.available('canary', 34_999)).toBe(2);
    expect(p.available('canary', 35_000)).toBe(0);
    expect(p.available('stable', 3_600_000)).toBe(2);
    expect(p.rolledOut('canary', 40_000)).toBe(false);
  });

  it('a rolling update keeps the old pods serving until the new ones are ready', () => {
    const p = new Platform({ readyDelayMs: 10_000 });
    p.seed('primary', 2, 'old');
    expect(p.rolledOut('primary', 0)).toBe(true);
    p.replace('primary', 100_000, 'new');
    expect(p.replicas('primary')).toBe(2);
    expect(p.servingByRole('primary', 105_000)).toEqual({ old: 2, new: 0 });
    expect(p.rolledOut('primary', 105_000)).toBe(false);
    expect(p.servingByRole('primary', 110_000)).toEqual({ old: 0, new: 2 });
    expect(p.rolledOut('primary', 110_000)).toBe(true);
    expect(p.role('primary')).toBe('new');
  });
});
