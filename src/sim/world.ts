/**
 * What both drivers share: the simulated platform and traffic for a scenario, the release start,
 * and the timeline and notes of the report.
 */
import type { SimulateOptions } from './argo.js';
import { Platform } from './platform.js';
import { seededRandom } from './random.js';
import type { TimelineEntry } from './report.js';
import { BASELINE, type Scenario } from './scenarios.js';
import { Traffic } from './traffic.js';

/** The old revision settles this long before the release, so query windows hold real traffic. */
export const WARMUP_MS = 3 * 60_000;
export const DEFAULT_START_MS = Date.parse('2026-01-05T10:00:00Z');

export interface SimWorld {
  platform: Platform;
  traffic: Traffic;
  /** When the new revision appeared (ms since the simulation started); Infinity before. */
  releaseAt: number;
  readonly released: boolean;
  startMs: number;
  timeline: TimelineEntry[];
  notes: Set<string>;
  /** Add a timeline entry at simulation time `at` (reported relative to the release). */
  say(at: number, source: string, message: string): void;
}

export function simulatedWorld(sc: Scenario, opts: SimulateOptions): SimWorld {
  const startMs = opts.startMs ?? DEFAULT_START_MS;
  const platform = new Platform({
    readyDelayMs: opts.readyDelayMs ?? 10_000,
    ...(sc.crashAfterMs !== undefined ? { crash: { role: 'new' as const, afterMs: sc.crashAfterMs } } : {}),
  });
  const w: SimWorld = {
    platform,
    traffic: new Traffic(
      {
        rps: opts.rps ?? 20,
        diurnalAmplitude: 0.3,
        startMs,
        health: (role, at) => (role === 'new' ? sc.newHealth(Math.max(0, at - w.releaseAt)) : BASELINE),
      },
      seededRandom(opts.seed),
    ),
    releaseAt: Number.POSITIVE_INFINITY,
    get released() {
      return Number.isFinite(this.releaseAt);
    },
    startMs,
    timeline: [],
    notes: new Set(),
    say(at, source, message) {
      w.timeline.push({ atMs: at - (w.released ? w.releaseAt : WARMUP_MS), source, message });
    },
  };
  return w;
}
