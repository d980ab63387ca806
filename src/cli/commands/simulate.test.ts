import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { hasShared, sharedDir } from '../../testing/upstream.js';

const vireo = (args: string[]) => runCli(args);

const seed = (f: string) => path.join(sharedDir, 'examples', f);
const SEED000 = seed('seed-000-rollout-with-analysis.yaml');

describe.skipIf(!hasShared)('vireo simulate', () => {
  it('prints the timeline and the summary', async () => {
    const r = await vireo(['simulate', '-f', SEED000, '--scenario', 'bad-canary']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Rollout canary-demo, scenario bad-canary/);
    expect(r.out).toMatch(/\n {4}0:00 {2}user {6}new revision /);
    expect(r.out).toMatch(/\noutcome: +aborted\n/);
    expect(r.out).toMatch(/\ndecided after: +2m4\d/);
    expect(r.out).toMatch(/\nnew version: +\d+ requests, \d+ failed \(\d+\.\d %\)\n/);
  });

  it('-o json gives the report as data', async () => {
    const r = await vireo([
      'simulate',
      '-f',
      seed('seed-002-podinfo-canary.yaml'),
      '--scenario',
      'good-canary',
      '--seed',
      '3',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({
      kind: 'Canary',
      name: 'podinfo',
      outcome: 'promoted',
      seed: 3,
      decidedAfterMs: 360_000,
    });
    expect(report.timeline.length).toBeGreaterThan(10);
  });

  it('--expect turns an unexpected outcome into exit 1', async () => {
    const ok = await vireo(['simulate', '-f', SEED000, '--scenario', 'good-canary', '--expect', 'promoted']);
    expect(ok.code).toBe(0);
    const bad = await vireo(['simulate', '-f', SEED000, '--scenario', 'bad-canary', '--expect', 'promoted']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/expected outcome promoted, got aborted/);
  });

  it.each([
    [['--scenario', 'nope'], /--scenario nope: unknown scenario \(allowed: good-canary, bad-canary/],
    [['--scenario', 'good-canary', '--seed', 'x'], /--seed x: must be an integer/],
    [['--scenario', 'good-canary', '--rps', '0'], /--rps 0: must be/],
    [
      ['--scenario', 'good-canary', '--max-duration', '1d'],
      /--max-duration 1d: must be a positive Go duration/,
    ],
    [['--scenario', 'good-canary', '--name', 'other'], /no Rollout or Canary named other/],
  ])('usage errors exit 2: %j', async (args, message) => {
    const r = await vireo(['simulate', '-f', SEED000, ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('blue/green: without an operator the release waits at the blue/green pause; --promote-after promotes it', async () => {
    const file = seed('seed-003-bluegreen-rollout.yaml');
    const waiting = await vireo([
      'simulate',
      '-f',
      file,
      '--scenario',
      'good-canary',
      '--max-duration',
      '1h',
    ]);
    expect(waiting.code).toBe(0);
    expect(waiting.out).toMatch(
      /\noutcome: +undecided\nreason: +paused \(BlueGreenPause\) and waiting for a promote\n/,
    );
    const promoted = await vireo([
      'simulate',
      '-f',
      file,
      '--scenario',
      'good-canary',
      '--promote-after',
      '1m',
      '-o',
      'json',
    ]);
    const report = JSON.parse(promoted.out);
    expect(report).toMatchObject({ outcome: 'promoted', finalPhase: 'Healthy' });
    // pods ready after 10s, then the pause, then the simulated operator a minute later
    expect(report.decidedAfterMs).toBeGreaterThanOrEqual(70_000);
    expect(report.decidedAfterMs).toBeLessThan(72_000);
    expect(report.timeline.map((e: { message: string }) => e.message)).toContain(
      'promote (simulated operator)',
    );
  });
});
