/**
 * `vireo demo` (interactive) as a real process, used the way its printed hints say: blue answers on
 * the printed address under a steady load, `vireo set image` from another "terminal" releases green,
 * which is promoted step by step, the dashboard answers, and Ctrl-C (SIGINT) stops everything with
 * exit code 0. The scripted story (`--script`) is played by runtime.test.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../testing/cli.js';
import { freePort } from '../../testing/net.js';
import { repoDir } from '../../testing/upstream.js';
import { waitFor } from '../../testing/wait.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const colorAt = async (url: string): Promise<string> =>
  ((await (await fetch(`${url}/color`)).json()) as { color: string }).color;

describe('vireo demo, interactive', () => {
  it('serves blue, takes the CLI verbs it suggests (green promoted), and stops cleanly on Ctrl-C', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'vireo-demo-cli-'));
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const [api, dashboard] = [await freePort(), await freePort()];
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'demo',
        '--port',
        '0',
        '--listen',
        `127.0.0.1:${api}`,
        '--dashboard',
        `127.0.0.1:${dashboard}`,
        '--state-dir',
        stateDir,
        '--pause',
        '1',
      ],
      { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const context = () => out.slice(-3000);

    const appUrl = await waitFor(
      'the demo to say where blue answers',
      () => /at blue on (http:\/\/\S+?),? /.exec(out)?.[1],
      {
        timeoutMs: 90_000,
        context,
      },
    );
    expect(out).toContain(`Watch it in a browser: http://127.0.0.1:${dashboard}`);
    expect(out).toContain('vireo set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:green');
    expect(await colorAt(appUrl)).toBe('blue');
    expect((await fetch(`http://127.0.0.1:${dashboard}/`)).status).toBe(200);

    const set = await runCli([
      'set',
      'image',
      'rollouts-demo',
      'rollouts-demo=argoproj/rollouts-demo:green',
      '--state-dir',
      stateDir,
    ]);
    expect(set.err).toBe('');
    expect(set.code).toBe(0);
    // Promoted: every answer is green (the steady load the demo runs keeps the analysis fed).
    await waitFor(
      'green to take all the traffic',
      async () => {
        const colors = await Promise.all(Array.from({ length: 20 }, () => colorAt(appUrl)));
        return colors.every((c) => c === 'green');
      },
      { timeoutMs: 90_000, everyMs: 500, context },
    );
    const got = await runCli(['get', 'rollout', 'rollouts-demo', '--state-dir', stateDir, '-o', 'json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.out)).toMatchObject({ phase: 'Healthy' });

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(fetch(`${appUrl}/color`)).rejects.toThrow();
  }, 240_000);
});
