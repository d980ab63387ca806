/**
 * The local runtime's CLI: `vireo up` runs it; `apply`, `delete`, `get`, `list`, `promote`, `abort`,
 * `retry`, `pause`, `resume`, `undo`, `restart`, `set image`, `status` and `logs` talk to it over its
 * API (found through `<state-dir>/runtime.json`, or `--server`); `demo` plays the local demo. Verbs and
 * output follow `kubectl argo rollouts`. The release verbs act on a Kubernetes cluster instead when
 * one is named (`--kubeconfig`, `--context`, `--cluster`, or `kubectl vireo`; cluster-target.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { type Diagnostic, formatDiagnostic } from '../../api/diagnostics.js';
import { parseGoDuration } from '../../api/duration.js';
import { type Dashboard, dashboardBanner, startLocalDashboard } from '../../dashboard/index.js';
import type { ActionArgs, ActionVerb } from '../../dashboard/source.js';
import { DEMO_NAME, runDemoScript, startDemo } from '../../demo/local.js';
import { runLoad } from '../../loadtester/load.js';
import { describeUserAction } from '../../platforms/argo-actions.js';
import { startNginxRouter } from '../../platforms/local/router/nginx.js';
import type { LocalRouter } from '../../platforms/local/router/router.js';
import { RuntimeClient, startApi } from '../../platforms/local/runtime/api.js';
import { LocalRuntime, readRuntimeInfo, UserError } from '../../platforms/local/runtime/runtime.js';
import type { ReleaseView } from '../../views/release.js';
import { ExitCode, type Io, parseOutput, readSources, renderData, UsageError } from '../io.js';
import { renderReleaseList, renderReleaseTree, renderStatusLine } from '../render/release.js';
import { untilStopped } from '../signals.js';
import {
  type ClusterFlags,
  cliActor,
  localOnly,
  type ReleaseTarget,
  releaseTarget,
  withClusterOptions,
} from './cluster-target.js';

export const DEFAULT_API = '127.0.0.1:7700';

export function defaultStateDir(): string {
  return process.env.VIREO_STATE_DIR || path.join(homedir(), '.vireo');
}

interface Common extends ClusterFlags {
  stateDir?: string;
  server?: string;
  /** Unset: `default` locally, the context's namespace on a cluster. */
  namespace?: string;
}

const stateDirOption = () =>
  new Option(
    '--state-dir <dir>',
    "the local runtime's state directory (default $VIREO_STATE_DIR or ~/.vireo)",
  );
const serverOption = () =>
  new Option('--server <url>', "the local runtime's API (default: from the state directory)");
const nsOption = () =>
  new Option('-n, --namespace <ns>', "namespace (default: default; on a cluster the context's namespace)");
const outputOption = () => new Option('-o, --output <format>', 'output format: json or yaml (default: text)');

function withCommon(c: Command): Command {
  return withClusterOptions(c.addOption(stateDirOption()).addOption(serverOption()).addOption(nsOption()));
}

async function client(o: Common): Promise<RuntimeClient> {
  if (o.server) return new RuntimeClient(o.server);
  const dir = o.stateDir ?? defaultStateDir();
  const info = await readRuntimeInfo(dir);
  if (!info)
    throw new UserError(
      `no local runtime is running for state directory ${dir}; start one with \`vireo up\` (or \`vireo demo\`), or give --server`,
    );
  return new RuntimeClient(info.url);
}

function parseListen(v: string, flag: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(v);
  const host = (m?.[1] ?? '').replace(/^\[|\]$/g, '');
  const port = Number(m?.[2]);
  if (!m || !host || !Number.isInteger(port) || port > 65535)
    throw new UsageError(`${flag} ${v}: expected HOST:PORT, e.g. ${DEFAULT_API}`);
  return { host, port };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logLine(io: Io) {
  return (level: 'info' | 'warn' | 'error', message: string) =>
    io.err(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`);
}

const DEFAULT_DASHBOARD = '127.0.0.1:3100';

/**
 * Starts the dashboard beside the runtime; a busy port is a warning, not a failure (the runtime matters
 * more). The banner goes to stdout, never to the log: it may hold a generated token.
 */
async function dashboardFor(
  listen: string | false,
  o: { apiUrl: string; traffic?: { url: string; release: string } },
  io: Io,
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
): Promise<Dashboard | undefined> {
  if (listen === false) return undefined;
  const at = parseListen(listen, '--dashboard');
  try {
    const dash = await startLocalDashboard({ ...o, host: at.host, port: at.port, log });
    io.out(dashboardBanner(dash));
    return dash;
  } catch (e) {
    log(
      'warn',
      `no dashboard: cannot listen on ${listen}: ${(e as Error).message} (choose another with --dashboard HOST:PORT)`,
    );
    return undefined;
  }
}

async function routerFor(kind: string, stateDir: string): Promise<LocalRouter | undefined> {
  if (kind === 'vireo') return undefined;
  if (kind === 'nginx') return startNginxRouter({ dir: path.join(stateDir, 'nginx') });
  throw new UsageError(`--router ${kind}: allowed are vireo and nginx`);
}

function printDiagnostics(io: Io, ds: Diagnostic[]): void {
  for (const d of ds) io.err(`${formatDiagnostic(d)}\n`);
}

export function registerLocal(program: Command, io: Io, setCode: (n: number) => void): void {
  /** The local runtime or the cluster the flags name (cluster-target.ts). */
  const target = (o: Common): Promise<ReleaseTarget> =>
    releaseTarget(
      o,
      program,
      async () => (await client(o)).url,
      (m) => io.err(`warning: ${m}\n`),
    );
  program
    .command('up')
    .description(
      "Run the local runtime in the foreground: releases on this machine, with real processes and Vireo's proxy.",
    )
    .addOption(stateDirOption())
    .option('--listen <host:port>', 'address of the API the CLI verbs and the dashboard use', DEFAULT_API)
    .option('--host <host>', 'address the Services listen on, unless annotated vireo.dev/host', '127.0.0.1')
    .addOption(new Option('--router <kind>', 'the local router').choices(['vireo', 'nginx']).default('vireo'))
    .option('--dashboard <host:port>', 'where the web dashboard listens', DEFAULT_DASHBOARD)
    .option('--no-dashboard', 'no web dashboard')
    .action(
      async (o: {
        stateDir?: string;
        listen: string;
        host: string;
        router: string;
        dashboard: string | false;
      }) => {
        const stateDir = o.stateDir ?? defaultStateDir();
        const listen = parseListen(o.listen, '--listen');
        const log = logLine(io);
        const router = await routerFor(o.router, stateDir);
        const rt = await LocalRuntime.start({ stateDir, host: o.host, log, ...(router ? { router } : {}) });
        let api: Awaited<ReturnType<typeof startApi>>;
        try {
          api = await startApi(rt, listen, () => ({ stateDir, pid: process.pid }));
        } catch (e) {
          await rt.close();
          throw new UserError(`cannot listen on ${o.listen}: ${(e as Error).message}`);
        }
        await rt.writeRuntimeInfo({ url: api.url, pid: process.pid, startedAt: new Date().toISOString() });
        log(
          'info',
          `vireo up: state in ${stateDir}, API on ${api.url}, router ${o.router}; stop with Ctrl-C`,
        );
        const dash = await dashboardFor(o.dashboard, { apiUrl: api.url }, io, log);
        const signal = await untilStopped();
        log('info', `${signal}: stopping (replicas get their grace period)`);
        await dash?.close();
        await api.close();
        await rt.close();
        setCode(ExitCode.ok);
      },
    );

  withCommon(
    program.command('apply').description('Create or update objects from files, as kubectl apply does.'),
  )
    .requiredOption(
      '-f, --filename <path>',
      'a file, a directory or - for standard input; repeatable',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .action(async (o: Common & { filename: string[] }) => {
      localOnly(o, program, 'vireo apply', 'use kubectl apply -f FILE');
      const c = await client(o);
      const sources = readSources(o.filename, io.stdin).map((s) => ({
        name: s.name,
        // Objects without a namespace go to -n.
        text: s.text,
      }));
      const r = await c.request<{ ok: boolean; results: string[]; diagnostics: Diagnostic[] }>(
        'POST',
        '/api/v1/apply',
        { sources, namespace: o.namespace ?? 'default' },
      );
      printDiagnostics(
        io,
        r.body.diagnostics.filter((d) => r.body.ok || d.severity === 'error'),
      );
      for (const line of r.body.results) io.out(`${line}\n`);
      setCode(r.body.ok ? ExitCode.ok : ExitCode.findings);
    });

  withCommon(program.command('delete').description('Delete an object (a Rollout stops its versions).'))
    .argument('<kind>', 'rollout, analysistemplate, clusteranalysistemplate, service or secret')
    .argument('<name>')
    .action(async (kind: string, name: string, o: Common) => {
      localOnly(o, program, 'vireo delete', `use kubectl delete ${kind} ${name}`);
      const c = await client(o);
      const r = await c.request<{ message: string }>('POST', '/api/v1/delete', {
        kind,
        namespace: o.namespace ?? 'default',
        name,
      });
      io.out(`${r.body.message}\n`);
    });

  const get = program
    .command('get')
    .description('Show a rollout as a tree: revisions, versions, replicas, analysis runs.');
  withCommon(get.command('rollout').alias('rollouts').alias('ro'))
    .argument('<name>')
    .option('-w, --watch', 'keep showing it as it changes')
    .option('--no-color', 'no colours')
    .addOption(outputOption())
    .action(async (name: string, o: Common & { watch?: boolean; color: boolean; output?: string }) => {
      const format = parseOutput(o.output);
      const t = await target(o);
      const fetchView = () => t.source.get(t.namespace, name);
      const tty = process.stdout.isTTY === true && io.out === processOut;
      const show = (v: ReleaseView) =>
        format === 'text'
          ? renderReleaseTree(v, { now: new Date(), color: o.color && tty })
          : renderData(v, format);
      let view = await fetchView();
      if (!o.watch) {
        io.out(show(view));
        return;
      }
      let last = '';
      for (;;) {
        const key = `${renderStatusLine(view)}|${view.step?.index}|${view.actualWeight}|${view.versions.map((x) => `${x.hash}:${x.ready}/${x.desired}`).join(',')}|${view.analysisRuns.map((r) => `${r.name}:${r.phase}:${r.metrics.map((m) => m.measurements.length).join('.')}`).join(',')}`;
        if (tty) io.out(`\x1b[H\x1b[2J${show(view)}`);
        else if (key !== last) io.out(`${show(view)}\n`);
        last = key;
        await sleep(Math.max(1000, t.pollMs));
        view = await fetchView();
      }
    });

  const list = program.command('list').description('List rollouts.');
  withCommon(list.command('rollouts').alias('rollout').alias('ro'))
    .option('-A, --all-namespaces', 'every namespace')
    .addOption(outputOption())
    .action(async (o: Common & { allNamespaces?: boolean; output?: string }) => {
      const format = parseOutput(o.output);
      const t = await target(o);
      const views = await t.source.list(o.allNamespaces ? undefined : t.namespace);
      io.out(format === 'text' ? renderReleaseList(views, { now: new Date() }) : renderData(views, format));
    });

  /** Carries a user action out on the target, as the CLI's user (`cli:<login>`), and prints the result. */
  const act = async (
    o: Common & { output?: string },
    rollout: string,
    verbName: ActionVerb,
    args: ActionArgs,
  ): Promise<void> => {
    const format = parseOutput(o.output);
    const t = await target(o);
    const actor = cliActor();
    const message = await t.source.act({
      namespace: t.namespace,
      name: rollout,
      verb: verbName,
      args,
      actor,
    });
    io.out(
      format === 'text'
        ? `${message}\n`
        : renderData(
            {
              namespace: t.namespace,
              name: rollout,
              action: describeUserAction(verbName, args),
              actor,
              message,
            },
            format,
          ),
    );
  };

  const verb = (
    name: ActionVerb,
    description: string,
    extra?: (c: Command) => Command,
    body?: (o: Record<string, unknown>) => ActionArgs,
  ) => {
    let cmd = withCommon(program.command(name).description(description))
      .argument('<rollout>')
      .addOption(outputOption());
    if (extra) cmd = extra(cmd);
    cmd.action((rollout: string, o: Common & Record<string, unknown>) =>
      act(o, rollout, name, body ? body(o) : {}),
    );
  };
  verb(
    'promote',
    'Promote a paused rollout to its next step (--full: skip the remaining steps and analyses).',
    (c) => c.option('--full', 'skip the remaining steps'),
    (o) => ({ full: o.full === true }),
  );
  verb('abort', 'Abort the release: all traffic back to the stable version, the new version scaled down.');
  verb('retry', 'Retry an aborted release.');
  verb('pause', 'Pause the rollout.');
  verb('resume', 'Resume a paused rollout (clears a user pause).');
  verb('restart', 'Restart the pods of the rollout (new replica processes, one version at a time).');
  verb(
    'undo',
    'Roll back to the previous revision (or --to-revision N).',
    (c) => c.option('--to-revision <n>', 'the revision to go back to', '0'),
    (o) => {
      const n = Number(o.toRevision);
      if (!Number.isInteger(n) || n < 0)
        throw new UsageError(`--to-revision ${String(o.toRevision)}: a revision number`);
      return { toRevision: n };
    },
  );

  const set = program.command('set').description('Change a rollout.');
  withCommon(
    set.command('image').description('Update the image of a container: set image ROLLOUT CONTAINER=IMAGE.'),
  )
    .argument('<rollout>')
    .argument('<container=image>')
    .addOption(outputOption())
    .action(async (rollout: string, pair: string, o: Common & { output?: string }) => {
      const eq = pair.indexOf('=');
      if (eq <= 0 || eq === pair.length - 1) throw new UsageError(`${pair}: expected CONTAINER=IMAGE`);
      await act(o, rollout, 'set-image', { container: pair.slice(0, eq), image: pair.slice(eq + 1) });
    });

  withCommon(
    program
      .command('status')
      .description(
        'Watch a rollout until it is Healthy (exit 0) or Degraded (exit 1), or the timeout passes (exit 1).',
      ),
  )
    .argument('<rollout>')
    .option('-t, --timeout <duration>', 'give up after this long (0: never)', '0')
    .option('-w, --watch [bool]', 'keep watching until it is done (default true)', 'true')
    .action(async (rollout: string, o: Common & { timeout: string; watch: string | boolean }) => {
      const timeout = o.timeout === '0' ? 0 : parseGoDuration(o.timeout);
      if (timeout === undefined || timeout < 0)
        throw new UsageError(`--timeout ${o.timeout}: a Go duration such as 60s`);
      const watch = o.watch !== false && o.watch !== 'false';
      const t = await target(o);
      const end = timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY;
      let last = '';
      for (;;) {
        const v = await t.source.get(t.namespace, rollout);
        const line = renderStatusLine(v);
        if (line !== last) io.out(`${line}\n`);
        last = line;
        if (v.phase === 'Healthy') return setCode(ExitCode.ok);
        if (v.phase === 'Degraded') {
          io.err(`error: The rollout is in a degraded state with message: ${v.message ?? ''}\n`);
          return setCode(ExitCode.findings);
        }
        if (!watch) return setCode(ExitCode.ok);
        if (Date.now() >= end) {
          io.err('error: rollout status watch exceeded timeout\n');
          return setCode(ExitCode.findings);
        }
        await sleep(t.pollMs);
      }
    });

  withCommon(
    program.command('logs').description("Print the output of a rollout's replicas (newest version first)."),
  )
    .argument('<rollout>')
    .option('--only <hash|role>', 'only this version (a pod-template hash, or stable/canary/active/preview)')
    .option('--tail <n>', 'the last N lines of each replica', '50')
    .action(async (rollout: string, o: Common & { only?: string; tail: string }) => {
      localOnly(o, program, 'vireo logs', 'use kubectl logs -l rollouts-pod-template-hash=HASH');
      const namespace = o.namespace ?? 'default';
      const dir = o.stateDir ?? defaultStateDir();
      const tail = Number(o.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new UsageError(`--tail ${o.tail}: a number of lines`);
      const c = await client(o);
      const v = (
        await c.request<ReleaseView>(
          'GET',
          `/api/v1/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(rollout)}`,
        )
      ).body;
      const versions = v.versions.filter(
        (x) => !o.only || x.hash === o.only || x.roles.includes(o.only as never),
      );
      if (versions.length === 0) throw new UserError(`no version ${o.only} of rollout ${rollout}`);
      for (const x of versions) {
        const logDir = path.join(dir, 'logs', `${namespace}.${rollout}-${x.hash}`);
        if (!existsSync(logDir)) continue;
        for (const f of readdirSync(logDir)
          .filter((n) => n.endsWith('.log'))
          .sort()) {
          const lines = readFileSync(path.join(logDir, f), 'utf8').split('\n').filter(Boolean);
          for (const l of lines.slice(-tail)) io.out(`[${f.replace(/\.log$/, '')}] ${l}\n`);
        }
      }
    });

  program
    .command('demo')
    .description('The local demo: a canary release with real processes and traffic on this machine.')
    .option(
      '--script',
      "play seed 000's story by itself: green promoted, yellow (50 % errors) aborted; exit 0 only if so",
    )
    .option('--port <port>', 'where the demo app answers (interactive mode)', '8080')
    .option('--listen <host:port>', 'the API, for the CLI verbs (interactive mode)', DEFAULT_API)
    .option('--pause <seconds>', 'pause between weight steps', '')
    .option(
      '--dashboard <host:port>',
      'where the web dashboard listens (interactive mode)',
      DEFAULT_DASHBOARD,
    )
    .option('--no-dashboard', 'no web dashboard')
    .addOption(stateDirOption())
    .option('-v, --verbose', "print the runtime's log too")
    .action(
      async (o: {
        script?: boolean;
        port: string;
        listen: string;
        pause: string;
        stateDir?: string;
        verbose?: boolean;
        dashboard: string | false;
      }) => {
        const pause = o.pause === '' ? undefined : Number(o.pause);
        if (pause !== undefined && (!Number.isFinite(pause) || pause < 0 || pause > 3600))
          throw new UsageError(`--pause ${o.pause}: seconds, 0..3600`);
        const log = o.verbose ? logLine(io) : undefined;
        if (o.script) {
          const r = await runDemoScript({
            say: (l) => io.out(`${l}\n`),
            ...(log ? { log } : {}),
            ...(pause !== undefined ? { pauseSeconds: pause } : {}),
          });
          if (r.ok)
            io.out(
              [
                '',
                'What to try next: `npx vireo demo` keeps rollouts-demo running at blue with a steady load and',
                'the dashboard on http://127.0.0.1:3100, and prints the commands to release, watch, promote,',
                'abort and undo by hand (`vireo set image`, `vireo get rollout --watch`, `vireo promote`, ...).',
                '',
              ].join('\n'),
            );
          return setCode(r.ok ? ExitCode.ok : ExitCode.findings);
        }
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError(`--port ${o.port}: a port number`);
        const listen = parseListen(o.listen, '--listen');
        const stateDir = o.stateDir ?? defaultStateDir();
        const demo = await startDemo({
          stateDir,
          port,
          apiPort: listen.port,
          pauseSeconds: pause ?? 10,
          log: log ?? logLine(io),
        });
        await demo.runtime.writeRuntimeInfo({
          url: demo.api.url,
          pid: process.pid,
          startedAt: new Date().toISOString(),
        });
        const flags = o.stateDir ? ` --state-dir ${o.stateDir}` : '';
        // A steady load, so the analysis has traffic to judge and the split shows in the metrics.
        const stopLoad = new AbortController();
        const load = runLoad({
          url: `${demo.appUrl}/color`,
          concurrency: 4,
          rate: 20,
          durationMs: 365 * 24 * 3_600_000,
          timeoutMs: 10_000,
          signal: stopLoad.signal,
        });
        const dash = await dashboardFor(
          o.dashboard,
          { apiUrl: demo.api.url, traffic: { url: demo.appUrl, release: `default/${DEMO_NAME}` } },
          io,
          log ?? logLine(io),
        );
        io.out(
          [
            `The demo is running: rollouts-demo at blue on ${demo.appUrl} (try: curl ${demo.appUrl}/color), with a steady load of 20 req/s.`,
            ...(dash ? [`Watch it in a browser: ${dash.url}`] : []),
            'In another terminal:',
            `  vireo get rollout rollouts-demo --watch${flags}`,
            `  vireo set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:green${flags}       # a good release, promoted step by step`,
            `  vireo set image rollouts-demo rollouts-demo=argoproj/rollouts-demo:bad-yellow${flags}  # half its answers are errors: aborted by the analysis`,
            `  vireo promote rollouts-demo${flags}  |  vireo abort rollouts-demo${flags}  |  vireo retry rollouts-demo${flags}  |  vireo undo rollouts-demo${flags}`,
            `  curl ${demo.api.url}/metrics   # what the proxy counted, per version`,
            'Stop with Ctrl-C.',
            '',
          ].join('\n'),
        );
        await untilStopped();
        stopLoad.abort();
        await load.catch(() => undefined);
        await dash?.close();
        await demo.close();
        setCode(ExitCode.ok);
      },
    );
}

const processOut = (t: string) => process.stdout.write(t);
