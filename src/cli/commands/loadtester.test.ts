import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { type Io, UsageError } from '../io.js';
import { registerLoadtester } from './loadtester.js';

/** A program with only this command, set up as main.ts sets up its program. */
function program(signal?: AbortSignal) {
  let out = '';
  let err = '';
  let code = -1;
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdin: () => '',
  };
  const p = new Command('vireo').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  registerLoadtester(
    p,
    io,
    (n) => {
      code = n;
    },
    signal ? { signal } : {},
  );
  return {
    parse: (args: string[]) => p.parseAsync(args, { from: 'user' }),
    out: () => out,
    err: () => err,
    code: () => code,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('vireo loadtester', () => {
  it('serves until stopped: prints where it listens, answers, exits 0', async () => {
    const stop = new AbortController();
    const cli = program(stop.signal);
    const running = cli.parse(['loadtester', '--port', '0', '--timeout', '30s']);
    for (let i = 0; i < 200 && !cli.out().includes('listening'); i++) await sleep(10);
    const url = /loadtester listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(cli.out())?.[1];
    expect(url).toBeDefined();
    const res = await fetch(`${url}/gate/check`, {
      method: 'POST',
      body: JSON.stringify({ name: 'podinfo', namespace: 'test' }),
    });
    expect(res.status).toBe(403);
    expect(cli.out()).toMatch(/ info podinfo\.test gate check: approved false\n/);
    stop.abort();
    await running;
    expect(cli.code()).toBe(0);
    expect(cli.out()).toMatch(/loadtester stopped\n$/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('a port in use: exit 1 with the reason', async () => {
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as AddressInfo;
    try {
      const cli = program();
      await cli.parse(['loadtester', '--port', String(port)]);
      expect(cli.code()).toBe(1);
      expect(cli.err()).toMatch(new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it.each([
    [['--port', 'http'], '--port http: must be an integer in [0, 65535]'],
    [['--port', '70000'], '--port 70000: must be an integer in [0, 65535]'],
    [['--timeout', 'soon'], '--timeout soon: must be a positive Go duration such as 30m or 1h'],
    [['--namespace-regexp', '('], '--namespace-regexp (: Invalid regular expression'],
  ])('usage error for %j', async (flags, message) => {
    const cli = program();
    const err = await cli.parse(['loadtester', ...flags]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(message);
  });

  it('--help lists the flags and the defaults', async () => {
    const cli = program();
    const err = await cli.parse(['loadtester', '--help']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommanderError);
    const help = cli.out().replace(/\s+/g, ' ');
    expect(help).toContain('--port <port> TCP port to listen on (0 picks a free one) (default: "8080")');
    expect(help).toContain('(0.0.0.0 for every interface) (default: "127.0.0.1")');
    expect(help).toContain('--timeout <duration> time limit of each command (Go duration) (default: "1h")');
  });
});
