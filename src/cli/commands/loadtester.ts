/**
 * `vireo loadtester`: run the flagger-loadtester-compatible service (src/loadtester/) in the
 * foreground until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { parseGoDuration } from '../../api/duration.js';
import { startLoadtester } from '../../loadtester/server.js';
import { ExitCode, type Io, UsageError } from '../io.js';
import { untilStopped } from '../signals.js';

export interface LoadtesterHooks {
  /** Stops the service instead of a signal (tests, embedding). */
  signal?: AbortSignal;
}

interface Flags {
  port: string;
  host: string;
  timeout: string;
  namespaceRegexp?: string;
}

export function registerLoadtester(
  program: Command,
  io: Io,
  setCode: (n: number) => void,
  hooks: LoadtesterHooks = {},
): Command {
  return program
    .command('loadtester')
    .description(
      "Serve flagger-loadtester's webhook API: background and blocking commands, approval gates, and a built-in HTTP load generator for hey command lines.",
    )
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)', '8080')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--timeout <duration>', 'time limit of each command (Go duration)', '1h')
    .option('--namespace-regexp <regexp>', 'only serve webhooks whose canary namespace matches')
    .addHelpText(
      'after',
      [
        '',
        'Endpoints: POST / (metadata.type cmd | bash | kubectl | helm), /gate/check|open|close|approve|halt,',
        '/rollback/check|open|close, /healthz, /metrics. A cmd such as "hey -z 1m -q 10 -c 2 http://app/" runs',
        'on the built-in load generator (-q is per worker: 20 requests/s here).',
        '',
        'Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not listen, 2 usage error.',
      ].join('\n'),
    )
    .action(async (o: Flags) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535)
        throw new UsageError(`--port ${o.port}: must be an integer in [0, 65535]`);
      const timeoutMs = parseGoDuration(o.timeout);
      if (timeoutMs === undefined || timeoutMs <= 0)
        throw new UsageError(`--timeout ${o.timeout}: must be a positive Go duration such as 30m or 1h`);
      let namespaceRegexp: RegExp | undefined;
      if (o.namespaceRegexp !== undefined) {
        try {
          namespaceRegexp = new RegExp(o.namespaceRegexp);
        } catch (e) {
          throw new UsageError(`--namespace-regexp ${o.namespaceRegexp}: ${(e as Error).message}`);
        }
      }
      let lt: Awaited<ReturnType<typeof startLoadtester>>;
      try {
        lt = await startLoadtester({
          port,
          host: o.host,
          timeoutMs,
          ...(namespaceRegexp ? { namespaceRegexp } : {}),
          log: (line) => io.out(`${line}\n`),
        });
      } catch (e) {
        io.err(`error: cannot listen on ${o.host}:${port}: ${(e as Error).message}\n`);
        setCode(ExitCode.findings);
        return;
      }
      io.out(`loadtester listening on ${lt.url}\n`);
      await untilStopped(hooks.signal);
      await lt.close();
      io.out('loadtester stopped\n');
      setCode(ExitCode.ok);
    });
}
