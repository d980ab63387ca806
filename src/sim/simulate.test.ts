/**
 * Acceptance of the simulator on the seed examples (issue 3): the engines decide, the simulated
 * world only carries out their actions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ManifestObject } from '../api/kind.js';
import { loadManifests } from '../api/load.js';
import { hasShared, sharedDir } from '../testing/upstream.js';
import { SCENARIO_NAMES, type ScenarioName, type SimulationInput, simulate } from './simulate.js';

const MIN = 60_000;

function load(file: string): { release: ManifestObject; all: ManifestObject[] } {
  const full = path.join(sharedDir, 'examples', file);
  const all = loadManifests(readFileSync(full, 'utf8'), full).objects.map((o) => o.object);
  const release = all.find((o) => o.kind === 'Rollout' || o.kind === 'Canary') as ManifestObject;
  return { release, all };
}

const run = (file: string, scenario: ScenarioName, extra: Partial<SimulationInput> = {}) => {
  const { release, all } = load(file);
  return simulate(release, all, { scenario, seed: 0, ...extra });
};

describe.skipIf(!hasShared)('seed-000 (Argo canary, background analysis from step 2)', () => {
  const FILE = 'seed-000-rollout-with-analysis.yaml';

  it('good canary: walks 20/40/60/80 and promotes after 8 minutes', () => {
    const r = run(FILE, 'good-canary');
    expect(r.outcome).toBe('promoted');
    expect(r.decidedAfterMs).toBeGreaterThanOrEqual(8 * MIN);
    expect(r.decidedAfterMs).toBeLessThan(9 * MIN);
    expect(r.finalPhase).toBe('Healthy');
    const weights = r.timeline.filter((e) => e.source === 'router').map((e) => e.message);
    expect(weights).toEqual([
      'canary weight 20 %',
      'canary weight 40 %',
      'canary weight 60 %',
      'canary weight 80 %',
      'canary weight 100 %',
      'canary weight 0 %',
    ]);
    expect(r.newVersion.requests).toBeGreaterThan(1000);
    expect(r.newVersion.failed / r.newVersion.requests).toBeLessThan(0.01);
  });

  it('bad canary: the background analysis from step 2 fails on its 4th failed measurement (failureLimit 3)', () => {
    const r = run(FILE, 'bad-canary');
    expect(r.outcome).toBe('aborted');
    expect(r.reason).toContain('failed (4) > failureLimit (3)');
    expect(r.finalPhase).toBe('Degraded');
    // the run starts when step 2 starts (after setWeight 20 and a 2m pause), measures every 10s
    const created = r.timeline.find((e) => e.message.endsWith('created (background)'));
    expect(created?.atMs).toBeGreaterThanOrEqual(2 * MIN);
    const measurements = r.timeline.filter((e) => / success-rate = /.test(e.message));
    expect(measurements).toHaveLength(4);
    expect(r.decidedAfterMs).toBe(measurements.at(-1)?.atMs);
    expect((r.decidedAfterMs as number) - (created?.atMs as number)).toBeLessThan(31_000);
    // the bad responses it served are reported
    expect(r.newVersion.failed).toBeGreaterThan(100);
    expect(r.newVersion.failed / r.newVersion.requests).toBeGreaterThan(0.4);
    // traffic went back to stable
    expect(r.timeline.filter((e) => e.source === 'router').at(-1)?.message).toBe('canary weight 0 %');
  });

  it('degrading canary aborts after it degrades, later than a bad one, with fewer bad responses', () => {
    const bad = run(FILE, 'bad-canary');
    const r = run(FILE, 'degrading-canary', { degradeAfterMs: 4 * MIN });
    expect(r.outcome).toBe('aborted');
    expect(r.decidedAfterMs).toBeGreaterThan(4 * MIN);
    expect(r.decidedAfterMs).toBeGreaterThan(bad.decidedAfterMs as number);
  });

  it('crashing canary: requests to the crashed pods fail and the analysis aborts the rollout', () => {
    const r = run(FILE, 'crashing-canary');
    expect(r.outcome).toBe('aborted');
    expect(r.newVersion.failed / r.newVersion.requests).toBeGreaterThan(0.9);
  });

  it('metrics down: measurement errors exceed consecutiveErrorLimit and abort', () => {
    const r = run(FILE, 'metrics-down');
    expect(r.outcome).toBe('aborted');
    expect(r.reason).toContain('consecutiveErrors (5) > consecutiveErrorLimit (4)');
    // Argo's event reason is "AnalysisRun" + phase: Error, not Failed
    expect(r.timeline.some((e) => e.message.startsWith('Warning AnalysisRunError: '))).toBe(true);
    expect(r.newVersion.failed / r.newVersion.requests).toBeLessThan(0.01);
  });

  it('a template that is not there: the run errors and the rollout aborts, naming it', () => {
    const { release, all } = load(FILE);
    const r = simulate(
      release,
      all.filter((o) => o.kind !== 'AnalysisTemplate'),
      { scenario: 'good-canary', seed: 0 },
    );
    expect(r.outcome).toBe('aborted');
    expect(r.reason).toContain('AnalysisTemplate "success-rate" not found');
  });

  it('a long pause simulates a 24-hour release', () => {
    const { release, all } = load(FILE);
    const long = structuredClone(release) as ManifestObject & {
      spec: { strategy: { canary: { steps: unknown[] } } };
    };
    long.spec.strategy.canary.steps = [{ setWeight: 10 }, { pause: { duration: '24h' } }];
    const r = simulate(long, all, { scenario: 'good-canary', seed: 0, maxMs: 25 * 60 * MIN });
    expect(r.outcome).toBe('promoted');
    expect(r.decidedAfterMs).toBeGreaterThanOrEqual(24 * 60 * MIN);
    expect(r.decidedAfterMs).toBeLessThan(24 * 60 * MIN + MIN);
  });
});

describe.skipIf(!hasShared)('seed-002 (Flagger canary, threshold 5, steps of 10 to 50)', () => {
  const FILE = 'seed-002-podinfo-canary.yaml';

  it('good canary: steps 10..50 a minute apart and promotes', () => {
    const r = run(FILE, 'good-canary');
    expect(r.outcome).toBe('promoted');
    expect(r.finalPhase).toBe('Succeeded');
    const steps = r.timeline.filter((e) => e.source === 'router').map((e) => [e.atMs / MIN, e.message]);
    expect(steps.slice(0, 5)).toEqual([
      [1, 'primary 90 %, canary 10 %'],
      [2, 'primary 80 %, canary 20 %'],
      [3, 'primary 70 %, canary 30 %'],
      [4, 'primary 60 %, canary 40 %'],
      [5, 'primary 50 %, canary 50 %'],
    ]);
    expect(r.decidedAfterMs).toBe(6 * MIN);
    // the pre-rollout acceptance test ran before the first step
    expect(r.timeline).toContainEqual({
      atMs: MIN,
      source: 'webhook',
      message: 'acceptance-test (pre-rollout) ok',
    });
  });

  it('bad canary: rolls back after 5 failed checks', () => {
    const r = run(FILE, 'bad-canary');
    expect(r.outcome).toBe('aborted');
    expect(r.reason).toBe('Rolling back podinfo.test failed checks threshold reached 5');
    const halts = r.timeline.filter((e) => e.message.startsWith('Warning Halt podinfo.test advancement'));
    expect(halts).toHaveLength(5);
    expect(r.finalPhase).toBe('Failed');
    // never got past the first step
    expect(r.timeline.filter((e) => e.source === 'router').map((e) => e.message)).toEqual([
      'primary 90 %, canary 10 %',
      'primary 100 %, canary 0 %',
    ]);
  });

  it('crashing canary: progress deadline (60s) rolls back', () => {
    const r = run(FILE, 'crashing-canary');
    expect(r.outcome).toBe('aborted');
    expect(r.finalPhase).toBe('Failed');
  });

  it('metrics down: failed checks roll back', () => {
    const r = run(FILE, 'metrics-down');
    expect(r.outcome).toBe('aborted');
    expect(r.timeline.some((e) => e.message.includes('metrics server unreachable'))).toBe(true);
  });
});

describe.skipIf(!hasShared)('seed-003 (Argo blue/green) with a post-promotion analysis', () => {
  const withAnalysis = () => {
    const { release, all } = load('seed-003-bluegreen-rollout.yaml');
    const ro = structuredClone(release) as ManifestObject & {
      spec: { strategy: { blueGreen: Record<string, unknown> } };
    };
    ro.spec.strategy.blueGreen.autoPromotionEnabled = true;
    ro.spec.strategy.blueGreen.postPromotionAnalysis = { templates: [{ templateName: 'error-rate' }] };
    const template = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'error-rate' },
      spec: {
        metrics: [
          {
            name: 'error-rate',
            interval: '20s',
            count: 6,
            failureLimit: 1,
            successCondition: 'result[0] < 0.05',
            provider: {
              prometheus: {
                address: 'http://prometheus:9090',
                query:
                  'sum(rate(http_requests_total{code=~"5.."}[30s])) / sum(rate(http_requests_total[30s]))',
              },
            },
          },
        ],
      },
    } as unknown as ManifestObject;
    return { release: ro as ManifestObject, all: [...all, template] };
  };

  it('good: switches active to the new version and stays there once the analysis passes', () => {
    const { release, all } = withAnalysis();
    const r = simulate(release, all, { scenario: 'good-canary', seed: 0 });
    expect(r.outcome).toBe('promoted');
    expect(r.finalPhase).toBe('Healthy');
    expect(r.decidedAfterMs).toBeGreaterThan(100_000);
  });

  it('preview/active pod metadata are applied once, not on every call', () => {
    const { release, all } = load('seed-003-bluegreen-rollout.yaml');
    const ro = structuredClone(release) as ManifestObject & {
      spec: { strategy: { blueGreen: Record<string, unknown> } };
    };
    ro.spec.strategy.blueGreen.previewMetadata = { labels: { role: 'preview' } };
    ro.spec.strategy.blueGreen.activeMetadata = { labels: { role: 'active' } };
    const r = simulate(ro, all, { scenario: 'good-canary', seed: 0, promoteAfterMs: 60_000 });
    expect(r.outcome).toBe('promoted');
    // the old version's pods were labelled active before the release; the new one's preview, once
    const labelled = r.timeline
      .filter((e) => e.message.startsWith('pods of'))
      .map((e) => [e.atMs >= 0, e.message]);
    expect(labelled).toEqual([
      [false, 'pods of app-backend-5d8b9c7f4 labelled {"role":"active"}'],
      [true, 'pods of app-backend-7c6f9d8b5 labelled {"role":"preview"}'],
    ]);
  });

  it('bad: the post-promotion analysis fails, the active Service goes back to the old version', () => {
    const { release, all } = withAnalysis();
    const r = simulate(release, all, { scenario: 'bad-canary', seed: 0 });
    expect(r.outcome).toBe('aborted');
    const switches = r.timeline.filter((e) => e.message.includes("service 'app-backend-stable'"));
    expect(switches.at(-1)?.message).toMatch(/from '7c6f9d8b5' to '5d8b9c7f4'/);
    // every user request went to the new version between the switch and the abort
    expect(r.newVersion.failed / r.newVersion.requests).toBeGreaterThan(0.4);
  });
});

describe.skipIf(!hasShared)('determinism and safety', () => {
  it('the same inputs give the same report; another seed gives other numbers', () => {
    const a = run('seed-000-rollout-with-analysis.yaml', 'bad-canary', { seed: 42 });
    const b = run('seed-000-rollout-with-analysis.yaml', 'bad-canary', { seed: 42 });
    const c = run('seed-000-rollout-with-analysis.yaml', 'bad-canary', { seed: 43 });
    expect(b).toEqual(a);
    expect(c.newVersion).not.toEqual(a.newVersion);
  });

  it('for any seed and load: bad versions never promote, good ones never abort (both dialects)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 5, max: 200 }),
        fc.constantFrom('seed-000-rollout-with-analysis.yaml', 'seed-002-podinfo-canary.yaml'),
        fc.constantFrom(...SCENARIO_NAMES),
        (seed, rps, file, scenario) => {
          const r = run(file, scenario, { seed, rps });
          if (scenario === 'good-canary') expect(r.outcome).toBe('promoted');
          else expect(r.outcome).toBe('aborted');
          expect(r.newVersion.failed).toBeLessThanOrEqual(r.newVersion.requests);
        },
      ),
      { numRuns: 60, seed: 20261122 },
    );
  });
});
