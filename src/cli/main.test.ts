import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../testing/cli.js';
import { hasShared, repoDir, sharedDir } from '../testing/upstream.js';

const vireo = runCli;

const ex = (f: string) => path.join(repoDir, 'examples', f);
const seed = (f: string) => path.join(sharedDir, 'examples', f);

describe('vireo lint', () => {
  it('passes the bundled examples (exit 0)', async () => {
    const r = await vireo(['lint', '-f', path.join(repoDir, 'examples')]);
    expect(r.out).toMatch(/0 error\(s\)/);
    expect(r.code).toBe(0);
  });

  it.skipIf(!hasShared)('passes the three seed examples', async () => {
    for (const f of [
      'seed-000-rollout-with-analysis.yaml',
      'seed-002-podinfo-canary.yaml',
      'seed-003-bluegreen-rollout.yaml',
    ]) {
      const r = await vireo(['lint', '-f', seed(f)]);
      expect(r.code, `${f}\n${r.out}`).toBe(0);
    }
  });

  it('reports errors with file, line, column and field path, and exits 1', async () => {
    const yaml = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  selector: {matchLabels: {app: r}}
  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: x}]}}
  strategy:
    canary:
      steps:
      - setWeight: 120
`;
    const r = await vireo(['lint', '-f', '-'], yaml);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /<stdin>:10:20: error: Rollout\/r: spec\.strategy\.canary\.steps\[0\]\.setWeight: .*120/,
    );
  });

  it('prints JSON with -o json', async () => {
    const r = await vireo(['lint', '-f', ex('bluegreen.yaml'), '-o', 'json']);
    const data = JSON.parse(r.out) as { errors: number; objects: { kind: string }[] };
    expect(data.errors).toBe(0);
    expect(data.objects.map((o) => o.kind)).toContain('Rollout');
  });

  it('exits 1 on warnings with --strict', async () => {
    const yaml = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  selector: {matchLabels: {app: r}}
  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: x}]}}
  strategy: {canary: {steps: [{setWeight: 5}, {pause: {}}]}}
`;
    expect((await vireo(['lint', '-f', '-'], yaml)).code).toBe(0);
    const strict = await vireo(['lint', '--strict', '-f', '-'], yaml);
    expect(strict.code).toBe(1);
    expect(strict.out).toContain('lint/indefinite-pause');
  });

  it('exits 2 on a missing file or a bad flag', async () => {
    expect((await vireo(['lint', '-f', '/nonexistent.yaml'])).code).toBe(2);
    expect((await vireo(['lint', '-f', ex('bluegreen.yaml'), '-o', 'xml'])).code).toBe(2);
    expect((await vireo(['lint'])).code).toBe(2);
    expect((await vireo(['no-such-command'])).code).toBe(2);
  });
});

describe('vireo plan', () => {
  it.skipIf(!hasShared)('prints seed-000 as JSON with steps and minTotalSeconds', async () => {
    const r = await vireo(['plan', '-f', seed('seed-000-rollout-with-analysis.yaml'), '-o', 'json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out) as { steps: { weight: number; seconds: number }[]; minTotalSeconds: number };
    expect(p.minTotalSeconds).toBe(480);
    expect([...new Set(p.steps.map((s) => s.weight))]).toEqual([20, 40, 60, 80]);
  });

  it.skipIf(!hasShared)('prints seed-002 as a table', async () => {
    const r = await vireo(['plan', '-f', seed('seed-002-podinfo-canary.yaml')]);
    expect(r.code).toBe(0);
    for (const w of ['10%', '20%', '30%', '40%', '50%']) expect(r.out).toContain(w);
    expect(r.out).toContain('minimum time to full promotion: 5m');
  });

  it('refuses manifests with errors (exit 1) and picks by --name', async () => {
    const bad = await vireo(
      ['plan', '-f', '-'],
      'apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec: {replicas: -1}\n',
    );
    expect(bad.code).toBe(1);
    const missing = await vireo(['plan', '-f', ex('bluegreen.yaml'), '--name', 'nope']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('found: checkout');
  });

  it('prints YAML with -o yaml', async () => {
    const r = await vireo(['plan', '-f', ex('flagger-canary.yaml'), '-o', 'yaml']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^minTotalSeconds: 180$/m);
  });
});

describe('help, version and the kubectl plugin name', () => {
  it.each([
    [['--help']],
    [['lint', '--help']],
    [['plan', '--help']],
    [['crds', '--help']],
    [['version', '--help']],
  ])('%j exits 0', async (args) => {
    const r = await vireo(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage:/);
  });

  it('calls itself kubectl vireo when run as the plugin', async () => {
    expect((await vireo(['--help'], '', 'kubectl-vireo')).out).toMatch(/Usage: kubectl vireo/);
  });

  it('prints the version as text and JSON', async () => {
    expect((await vireo(['version'])).out).toMatch(/^vireo \d+\.\d+\.\d+/);
    expect(JSON.parse((await vireo(['version', '-o', 'json'])).out)).toHaveProperty('version');
  });
});
