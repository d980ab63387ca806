/**
 * `vireo dashboard`: the web dashboard over the local runtime's API, in the foreground until SIGINT or
 * SIGTERM. The runtime is found as the other verbs find it (`--api URL`, else `<state-dir>/runtime.json`).
 * With `--kubeconfig`, `--context` or `--cluster` (or as `kubectl vireo dashboard`) it shows the
 * Rollouts and Flagger Canaries of a Kubernetes cluster instead (`KubeReleases`), every namespace
 * unless `-n`; Canaries are read-only there (no Flagger controller of Vireo's runs on a cluster yet).
 */
import { type Command, Option } from 'commander';
import {
  type Dashboard,
  DEFAULT_DASHBOARD_PORT,
  dashboardBanner,
  startDashboard,
  startLocalDashboard,
} from '../../dashboard/index.js';
import { readRuntimeInfo, UserError } from '../../platforms/local/runtime/runtime.js';
import { ExitCode, type Io, UsageError } from '../io.js';
import { untilStopped } from '../signals.js';
import { type ClusterFlags, clusterSource, wantsCluster, withClusterOptions } from './cluster-target.js';
import { defaultStateDir } from './local.js';

export interface DashboardHooks {
  /** Stops the dashboard instead of a signal (tests, embedding). */
  signal?: AbortSignal;
}

interface Flags extends ClusterFlags {
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
  return withClusterOptions(program.command('dashboard'))
    .description(
      'Serve the web dashboard: every rollout and canary live, one release in detail, and the user actions.',
    )
    .option('-n, --namespace <ns>', 'on a cluster: only this namespace (default: every namespace)')
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
        'On a cluster (--kubeconfig, --context or --cluster) it reads Rollouts (ReplicaSets, pods,',
        'AnalysisRuns, Events) and Flagger Canaries (their Deployments, pods, Events); actions write',
        'a Rollout as `kubectl vireo promote` does; a Canary is read-only.',
        '',
        'Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot listen, no runtime or no cluster, 2 usage error.',
      ].join('\n'),
    )
    .action(async (o: Flags) => {
      const port = Number(o.port);
      if (!/^\d+$/.test(o.port) || port > 65535)
        throw new UsageError(`--port ${o.port}: must be an integer in [0, 65535]`);
      if (o.token !== undefined && o.token.length < 16)
        throw new UsageError('--token: at least 16 characters');
      const cluster = wantsCluster(o, program);
      if (cluster && (o.api !== undefined || o.stateDir !== undefined))
        throw new UsageError(
          '--api and --state-dir name the local runtime; --kubeconfig, --context, --cluster a cluster: choose one',
        );
      if (!cluster && o.namespace !== undefined)
        throw new UsageError(
          '-n/--namespace scopes a cluster dashboard (with --kubeconfig, --context or --cluster)',
        );
      let apiUrl = o.api;
      if (!apiUrl && !cluster) {
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
      const log = (level: string, message: string) =>
        io.err(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
      const common = {
        ...(o.token !== undefined ? { token: o.token } : {}),
        ...(o.readOnly ? { readOnly: true } : {}),
        log,
      };
      let d: Dashboard;
      try {
        if (cluster) {
          const c = clusterSource(o, {
            component: 'vireo-dashboard',
            ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
            warn: (m) => log('warn', m),
          });
          // Read once before listening: a wrong kubeconfig or an unreachable server is an exit 1 now,
          // not a stale page later.
          await c.source.list();
          d = await startDashboard({
            source: c.source,
            listen: { host: o.listen, port },
            // The request grid samples the local demo's Service; on a cluster only when asked for.
            traffic: traffic ?? false,
            ...common,
          });
          log(
            'info',
            `dashboard over the cluster at ${c.server}${o.namespace ? `, namespace ${o.namespace}` : ''}`,
          );
        } else {
          d = await startLocalDashboard({
            apiUrl: apiUrl ?? '',
            host: o.listen,
            port,
            ...(traffic !== undefined ? { traffic } : {}),
            ...common,
          });
        }
      } catch (e) {
        if (e instanceof UserError) throw e;
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
