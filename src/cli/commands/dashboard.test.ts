import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../platforms/local/runtime/runtime.js';
import { type Io, UsageError } from '../io.js';
import { registerDashboard } from './dashboard.js';

async function run(args: string[], untilOut?: RegExp) {
  let out = '';
  let err = '';
  let code = -1;
  const ac = new AbortController();
  const io: Io = {
    out: (t) => {
      out += t;
      if (untilOut?.test(out)) ac.abort();
    },
    err: (t) => {
      err += t;
    },
    stdin: () => '',
  };
  const program = new Command().exitOverride();
  registerDashboard(
    program,
    io,
    (n) => {
      code = n;
    },
    { signal: ac.signal },
  );
  let error: unknown;
  await program.parseAsync(['dashboard', ...args], { from: 'user' }).catch((e: unknown) => {
    error = e;
  });
  return { out, err, code, error };
}

describe('vireo dashboard', () => {
  it('starts on loopback without a token, prints where, stops on a signal', async () => {
    const r = await run(['--api', 'http://127.0.0.1:9', '--port', '0'], /dashboard on/);
    expect(r.error).toBeUndefined();
    expect(r.out).toMatch(/^dashboard on http:\/\/127\.0\.0\.1:\d+\n$/);
    expect(r.code).toBe(0);
  });

  it('beyond loopback generates a token and prints it once, on standard output only', async () => {
    const r = await run(['--api', 'http://127.0.0.1:9', '--port', '0', '--listen', '0.0.0.0'], /#token=/);
    expect(r.out).toMatch(/actions need this token \(generated; pass --token to choose one\): [\w-]{32}\n/);
    expect(r.out).toMatch(/open http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{32}\n/);
    expect(r.err).toBe('');
  });

  it('read-only prints no token', async () => {
    const r = await run(
      ['--api', 'http://127.0.0.1:9', '--port', '0', '--listen', '0.0.0.0', '--read-only'],
      /dashboard on/,
    );
    expect(r.out).toMatch(/^dashboard on http:\/\/127\.0\.0\.1:\d+ \(read-only\)\n$/);
  });

  it.each([
    [['--port', 'x'], UsageError, /--port x/],
    [['--token', 'short', '--api', 'http://127.0.0.1:9'], UsageError, /at least 16/],
    [['--traffic', 'not a url', '--api', 'http://127.0.0.1:9'], UsageError, /--traffic/],
    [['--state-dir', '/nonexistent/vireo-state'], UserError, /no local runtime is running/],
  ])('refuses %j', async (args, kind, message) => {
    const r = await run(args);
    expect(r.error).toBeInstanceOf(kind);
    expect((r.error as Error).message).toMatch(message);
  });
});
