/**
 * The package as users get it: `npm run build`, then the library imported by its name and the
 * executable run as a process.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoDir } from '../src/testing/upstream.js';

describe('built package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: repoDir, stdio: 'pipe' });
  }, 120_000);

  it('exports evaluate from the package root', () => {
    const script = `import { evaluate, ExprError } from 'vireo';
const ok = evaluate('result[0] > 0.90', { result: [0.95] }) && evaluate('isNaN(result[0])', { result: [NaN] });
let typed = false;
try { evaluate('result[0] >', { result: [1] }); } catch (e) { typed = e instanceof ExprError && e.column > 0; }
console.log(JSON.stringify({ ok, typed }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoDir,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ ok: true, typed: true });
  });

  it('exports the simulator from the package root', () => {
    const script = `import { readFileSync } from 'node:fs';
import { loadManifests, simulate } from 'vireo';
const file = 'examples/canary-with-analysis.yaml';
const all = loadManifests(readFileSync(file, 'utf8'), file).objects.map((o) => o.object);
const ro = all.find((o) => o.kind === 'Rollout');
const r = simulate(ro, all, { scenario: 'bad-canary', seed: 1 });
console.log(JSON.stringify({ outcome: r.outcome, served: r.newVersion.requests > 0 }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoDir,
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual({ outcome: 'aborted', served: true });
  });

  it('runs the executable and returns exit codes', () => {
    const bin = path.join(repoDir, 'dist', 'cli', 'main.js');
    const ok = spawnSync(process.execPath, [bin, 'lint', '-f', path.join(repoDir, 'examples')], {
      encoding: 'utf8',
    });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const usage = spawnSync(process.execPath, [bin, 'lint', '-f', '/nonexistent'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });
});
