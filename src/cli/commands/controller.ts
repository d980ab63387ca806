/**
 * `vireo controller`: the Kubernetes controller for the Argo Rollouts dialect (issue 6). It keeps
 * informer caches in every replica, and runs the reconcilers only while it holds the leader Lease
 * (Argo's defaults: 15 s lease, 10 s renew deadline, 2 s retry), serves /healthz and /readyz on the
 * healthz port and /metrics on the metrics port, and logs JSON lines (or text).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Command, Option } from 'commander';
import { realMetricProviders } from '../../analysis/providers/index.js';
import { kubeJobProvider } from '../../analysis/providers/kube-job.js';
import { contextNamespace, KubeApiClient, loadKubeConfig } from '../../platforms/kubernetes/client.js';
import { Controller } from '../../platforms/kubernetes/controller.js';
import { LeaderElector } from '../../platforms/kubernetes/leader.js';
import { createLogger, isLogLevel, type LogLevel } from '../../platforms/kubernetes/log.js';
import { ControllerMetrics } from '../../platforms/kubernetes/metrics.js';
import { startControllerServer } from '../../platforms/kubernetes/server.js';
import { ExitCode, type Io, UsageError } from '../io.js';
import { untilStopped } from '../signals.js';

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  instanceId?: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  metricsPort: string;
  healthzPort: string;
  logFormat: string;
  logLevel: string;
  rolloutThreads: string;
  analysisThreads: string;
}

/** The Lease's name: Argo's scheme with Vireo's prefix, made a valid object name whatever the id. */
export function leaseName(instanceId: string | undefined): string {
  const base = 'vireo-controller-lock';
  if (!instanceId) return base;
  const id = instanceId
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `${base}-${id}`.slice(0, 253);
}

function port(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} ${v}: expected a port, 0..65535`);
  return n;
}

function seconds(v: string, flag: string): number {
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} ${v}: expected seconds, e.g. 15s`);
  return n * 1000;
}

function count(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new UsageError(`${flag} ${v}: expected 1..100`);
  return n;
}

export function registerController(
  program: Command,
  io: Io,
  setCode: (n: number) => void,
  version: string,
): Command {
  return program
    .command('controller')
    .description(
      'Run the Kubernetes controller: Argo Rollouts (Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun) with ReplicaSets, Services, nginx and Traefik routing, and leader election.',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option(
      '--namespace <ns>',
      'watch only this namespace (a namespaced install; no ClusterAnalysisTemplates)',
    )
    .option(
      '--instance-id <id>',
      'handle only objects labelled argo-rollouts.argoproj.io/controller-instance-id=ID (default: only unlabelled ones)',
    )
    .option('--leader-elect', 'run the reconcilers only while holding the leader Lease (default)', true)
    .option('--no-leader-elect', 'reconcile without leader election (one replica only)')
    .option(
      '--leader-election-namespace <ns>',
      "the Lease's namespace (default: $POD_NAMESPACE, else the context's namespace)",
    )
    .addOption(new Option('--lease-duration <seconds>', 'leader lease duration').default('15s'))
    .addOption(new Option('--renew-deadline <seconds>', 'leader renew deadline').default('10s'))
    .addOption(new Option('--retry-period <seconds>', 'leader retry period').default('2s'))
    .option('--metrics-port <port>', 'port of /metrics (0: any free port)', '8090')
    .option('--healthz-port <port>', 'port of /healthz and /readyz (0: any free port)', '8080')
    .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'text']).default('json'))
    .addOption(
      new Option('--log-level <level>', 'lowest level logged')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .option('--rollout-threads <n>', 'Rollouts reconciled at once', '10')
    .option('--analysis-threads <n>', 'AnalysisRuns reconciled at once', '30')
    .action(async (o: ControllerFlags) => {
      const level: LogLevel = isLogLevel(o.logLevel) ? o.logLevel : 'info';
      const logger = createLogger({
        format: o.logFormat === 'text' ? 'text' : 'json',
        level,
        write: (line) => io.err(`${line}\n`),
      });
      const metricsPort = port(o.metricsPort, '--metrics-port');
      const healthzPort = port(o.healthzPort, '--healthz-port');
      const leaseDurationMs = seconds(o.leaseDuration, '--lease-duration');
      const renewDeadlineMs = seconds(o.renewDeadline, '--renew-deadline');
      const retryPeriodMs = seconds(o.retryPeriod, '--retry-period');
      let kc: ReturnType<typeof loadKubeConfig>;
      try {
        kc = loadKubeConfig({
          ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
          ...(o.context ? { context: o.context } : {}),
        });
      } catch (e) {
        logger.error(`cannot use the kubeconfig: ${(e as Error).message}`);
        setCode(ExitCode.findings);
        return;
      }
      const identity = process.env.POD_NAME || `${hostname()}_${randomUUID().slice(0, 8)}`;
      let controller: Controller | undefined;
      const metrics = new ControllerMetrics({
        version,
        rollouts: () => (controller?.rollouts() ?? []) as never,
        analysisRuns: () => (controller?.analysisRuns() ?? []) as never,
        log: logger,
      });
      const client = metrics.instrumentClient(new KubeApiClient(kc));
      controller = new Controller({
        client,
        ...(o.namespace ? { namespace: o.namespace } : {}),
        ...(o.instanceId ? { instanceId: o.instanceId } : {}),
        providers: realMetricProviders({ job: kubeJobProvider({ client }) }),
        log: (lvl, msg, fields) => logger[lvl](msg, fields),
        identity,
        rolloutWorkers: count(o.rolloutThreads, '--rollout-threads'),
        analysisWorkers: count(o.analysisThreads, '--analysis-threads'),
        hooks: {
          queue: (name) => metrics.workQueueHooks(name),
          reconciled: (kind, ns, name, s, err) => {
            if (kind === 'rollout') {
              metrics.rolloutReconciled(ns, name, s);
              if (err && (err as { retryable?: boolean }).retryable !== true)
                metrics.rolloutReconcileError(ns, name);
            } else {
              metrics.analysisRunReconciled(ns, name, s);
              if (err && (err as { retryable?: boolean }).retryable !== true)
                metrics.analysisRunReconcileError(ns, name);
            }
          },
          event: (obj, e) => {
            if (obj.kind === 'Rollout')
              metrics.rolloutEvent(obj.metadata.namespace ?? '', obj.metadata.name, e.type, e.reason);
          },
        },
      });
      const server = await startControllerServer({
        healthzPort,
        metricsPort,
        metrics,
        healthy: () => true,
        ready: () =>
          controller?.synced() ||
          `caches not synced yet${controller?.problems().length ? `: ${controller.problems().join('; ')}` : ''}`,
      });
      logger.info('controller starting', {
        version,
        identity,
        namespace: o.namespace ?? '(all)',
        instanceID: o.instanceId ?? '',
        leaderElect: o.leaderElect,
        healthz: server.healthzUrl,
        metrics: server.metricsUrl,
      });
      controller.start();

      const stopping = new AbortController();
      let elector: LeaderElector | undefined;
      let working: Promise<void> | undefined;
      if (o.leaderElect) {
        const leaseNamespace = o.leaderElectionNamespace || process.env.POD_NAMESPACE || contextNamespace(kc);
        elector = new LeaderElector({
          client,
          namespace: leaseNamespace,
          name: leaseName(o.instanceId),
          identity,
          leaseDurationMs,
          renewDeadlineMs,
          retryPeriodMs,
          log: logger,
          onStartedLeading: async (signal) => {
            logger.info('leading: reconcilers started', {
              lease: `${leaseNamespace}/${leaseName(o.instanceId)}`,
            });
            await controller?.lead(signal);
          },
          onStoppedLeading: () => logger.info('not leading: reconcilers stopped'),
          onNewLeader: (id) => {
            if (id !== identity) logger.info('another replica leads', { leader: id });
          },
        });
        working = elector.run();
      } else working = controller.lead(stopping.signal);

      const why = await untilStopped();
      logger.info(`stopping (${why})`);
      stopping.abort();
      await elector?.stop();
      await working;
      controller.stop();
      await server.close();
    });
}
