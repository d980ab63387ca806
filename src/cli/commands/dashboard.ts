/**
 * `vireo dashboard`: the web dashboard over the local runtime's API, in the foreground until SIGINT or
 * SIGTERM. The runtime is found as the other verbs find it (`--api URL`, else `<state-dir>/runtime.json`).
 */
import { type Command, Option } from 'commander';
import { DEFAULT_DASHBOARD_PORT, dashboardBanner, startLocalDashboard } from '../../dashboard/index.js';
import { readRuntimeInfo, UserError } from '../../platforms/local/runtime/runtime.js';
import { ExitCode, type Io, UsageError } from '../io.js';
import { untilStopped } from '../signals.js';
import { defaultStateDir } from './local.js';

export interface DashboardHooks {
  /** Stops the dashboard instead of a signal (tests, embedding). */
  signal?: AbortSignal;
}

interface Flags {
  port: string;
  listen: string;
  api?: string;
  stateDir?: string;
  token?: string;
  readOnly?: boolean;
  traffic?: string | boolean;
}

export function registerDashboard(
  program: Command,
  io: Io,
  setCode: (n: number) => void = () => {},
  hooks: DashboardHooks = {},
): Command {
  return program
    .command('dashboard')
    .description(
      'Serve the web dashboard: every rollout and canary live, one release in detail, and the user actions.',
    )
    .option('--port <port>', 'TCP port (0 picks a free one)', String(DEFAULT_DASHBOARD_PORT))
    .option('--listen <address>', 'address to listen on; beyond loopback, actions need a token', '127.0.0.1')
    .option('--api <url>', "the local runtime's API (default: from the state directory)")
    .addOption(
      new Option(
        '--state-dir <dir>',
        "the local runtime's state directory (default $VIREO_STATE_DIR or ~/.vireo)",
      ),
    )
    .option('--token <token>', 'the token actions need (default: generated when not on loopback)')
    .option('--read-only', 'no actions at all')
    .option(
      '--traffic <url>',
      "the demo's request grid: its Service URL (default: the runtime's rollouts-demo, if any)",
    )
    .option('--no-traffic', 'no request grid')
    .addHelpText(
      'after',
      [
        '',
        'On loopback (the default) anyone on this machine may act; give --token to require one. Elsewhere',
        'actions need the token (--token, or one generated and printed at start), state-changing requests',
        'must be same-origin POSTs with the session CSRF token, and --read-only turns actions off.',
        'The JSON API and its rules: docs/dashboard.md.',
        '',
        'Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen or no runtime, 2 usage error.',
      ].join('\n'),
    )
    .action(async (o: Flags) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535)
        throw new UsageError(`--port ${o.port}: must be an integer in [0, 65535]`);
      if (o.token !== undefined && o.token.length < 16)
        throw new UsageError('--token: at least 16 characters');
      let apiUrl = o.api;
      if (!apiUrl) {
        const dir = o.stateDir ?? defaultStateDir();
        const info = await readRuntimeInfo(dir);
        if (!info)
          throw new UserError(
            `no local runtime is running for state directory ${dir}; start one with \`vireo up\` (or \`vireo demo\`), or give --api`,
          );
        apiUrl = info.url;
      }
      let traffic: { url: string; release: string } | false | undefined;
      if (o.traffic === false) traffic = false;
      else if (typeof o.traffic === 'string') {
        try {
          new URL(o.traffic);
        } catch {
          throw new UsageError(`--traffic ${o.traffic}: a URL such as http://127.0.0.1:8080`);
        }
        traffic = { url: o.traffic, release: 'default/rollouts-demo' };
      }
      let d: Awaited<ReturnType<typeof startLocalDashboard>>;
      try {
        d = await startLocalDashboard({
          apiUrl,
          host: o.listen,
          port,
          ...(o.token !== undefined ? { token: o.token } : {}),
          ...(o.readOnly ? { readOnly: true } : {}),
          ...(traffic !== undefined ? { traffic } : {}),
          log: (level, message) =>
            io.err(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`),
        });
      } catch (e) {
        io.err(`error: cannot listen on ${o.listen}:${port}: ${(e as Error).message}\n`);
        setCode(ExitCode.findings);
        return;
      }
      io.out(dashboardBanner(d));
      await untilStopped(hooks.signal);
      await d.close();
      setCode(ExitCode.ok);
    });
}
