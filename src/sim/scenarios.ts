/**
 * Named scenarios: how the new version behaves, and what else goes wrong. Every scenario keeps the
 * old version at the baseline so a difference is always the new version's.
 */
import type { Health } from './traffic.js';

export const BASELINE: Health = { errorRate: 0.002, latency: { medianMs: 40, p99Ms: 160 } };
/** What a broken version looks like: half the requests fail and it is slow. */
export const BROKEN: Health = { errorRate: 0.5, latency: { medianMs: 200, p99Ms: 1500 } };

export interface ScenarioOptions {
  /** degrading-canary: when the new version starts failing (ms after the release starts). */
  degradeAfterMs?: number;
  /** crashing-canary: how long new pods stay ready before they crash. */
  crashAfterMs?: number;
}

export interface Scenario {
  name: ScenarioName;
  description: string;
  /** Health of the new version at `atMs` since the release started. */
  newHealth: (atMs: number) => Health;
  /** New pods crash this long after becoming ready. */
  crashAfterMs?: number;
  /** Every metric query fails as if the metrics server were unreachable. */
  metricsDown?: boolean;
}

export const SCENARIO_NAMES = [
  'good-canary',
  'bad-canary',
  'degrading-canary',
  'crashing-canary',
  'metrics-down',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const DEFAULT_DEGRADE_AFTER_MS = 4 * 60_000;
export const DEFAULT_CRASH_AFTER_MS = 30_000;

export function scenario(name: ScenarioName, opts: ScenarioOptions = {}): Scenario {
  switch (name) {
    case 'good-canary':
      return { name, description: 'the new version behaves like the old one', newHealth: () => BASELINE };
    case 'bad-canary':
      return {
        name,
        description: `the new version fails ${BROKEN.errorRate * 100} % of requests from the start`,
        newHealth: () => BROKEN,
      };
    case 'degrading-canary': {
      const after = opts.degradeAfterMs ?? DEFAULT_DEGRADE_AFTER_MS;
      return {
        name,
        description: `the new version is good for ${after / 1000}s, then fails ${BROKEN.errorRate * 100} % of requests`,
        newHealth: (t) => (t < after ? BASELINE : BROKEN),
      };
    }
    case 'crashing-canary': {
      const after = opts.crashAfterMs ?? DEFAULT_CRASH_AFTER_MS;
      return {
        name,
        description: `new pods crash ${after / 1000}s after becoming ready and stay down (CrashLoopBackOff)`,
        newHealth: () => BASELINE,
        crashAfterMs: after,
      };
    }
    case 'metrics-down':
      return {
        name,
        description: 'the new version is good, but every metric query fails (metrics server unreachable)',
        newHealth: () => BASELINE,
        metricsDown: true,
      };
  }
}

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}
