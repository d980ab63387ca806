/**
 * Where the CLI's release verbs (`get`, `list`, `promote`, ..., `status`) and `vireo dashboard` act:
 * the local runtime (the default) or a Kubernetes cluster, when the user names one (`--kubeconfig
 * FILE`, `--context NAME`, `--cluster` for the default kubeconfig) or runs the program as `kubectl
 * vireo`. Both are a `ReleaseSource`; the verbs only see that, a default namespace and who acts.
 */
import os from 'node:os';
import { type Command, Option } from 'commander';
import { LocalRuntimeSource, type ReleaseSource } from '../../dashboard/source.js';
import { contextNamespace, KubeApiClient, loadKubeConfig } from '../../platforms/kubernetes/client.js';
import { KubeReleases } from '../../platforms/kubernetes/releases.js';
import { UserError } from '../../platforms/local/runtime/runtime.js';
import { UsageError } from '../io.js';

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  cluster?: boolean;
  namespace?: string;
}

export interface ReleaseTarget {
  kind: 'local' | 'cluster';
  source: ReleaseSource;
  /** `-n`, else the target's default: `default` locally, the context's namespace on a cluster. */
  namespace: string;
  /** How often `--watch` and `status` read again (a cluster read is five API calls). */
  pollMs: number;
  /** What errors name: the runtime's API or the cluster's server. */
  where: string;
}

/** Adds `--kubeconfig`, `--context` and `--cluster` to a command. */
export function withClusterOptions(c: Command): Command {
  return c
    .addOption(
      new Option(
        '--kubeconfig <file>',
        'act on the Kubernetes cluster of this kubeconfig instead of locally',
      ),
    )
    .addOption(new Option('--context <name>', 'act on the cluster of this kubeconfig context'))
    .addOption(
      new Option(
        '--cluster',
        'act on the current context of the default kubeconfig ($KUBECONFIG or ~/.kube/config)',
      ),
    );
}

/** `kubectl vireo ...` always means the cluster of kubectl's configuration. */
export const invokedAsKubectl = (program: Command): boolean => program.name() === 'kubectl vireo';

export function wantsCluster(o: ClusterFlags, program: Command): boolean {
  return (
    o.kubeconfig !== undefined || o.context !== undefined || o.cluster === true || invokedAsKubectl(program)
  );
}

/**
 * The cluster of the flags: its releases, the context's namespace and the server. Only reading the
 * kubeconfig happens here; an unreachable server shows on the first call, naming the server.
 */
export function clusterSource(
  o: ClusterFlags,
  opts: { component: string; namespace?: string; warn?: (m: string) => void },
): { source: KubeReleases; namespace: string; server: string } {
  let kc: ReturnType<typeof loadKubeConfig>;
  try {
    kc = loadKubeConfig({
      ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
      ...(o.context !== undefined ? { context: o.context } : {}),
    });
  } catch (e) {
    const file = o.kubeconfig ?? (process.env.KUBECONFIG || '~/.kube/config');
    throw new UserError(`cannot use the kubeconfig ${file}: ${(e as Error).message}`);
  }
  const server = kc.getCurrentCluster()?.server ?? 'the API server';
  const source = new KubeReleases({
    client: new KubeApiClient(kc),
    server,
    component: opts.component,
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
  });
  return { source, namespace: contextNamespace(kc), server };
}

/**
 * The target of a release verb. `localApi` finds the local runtime's API (only asked for when the
 * target is local, so a cluster user never needs a running `vireo up`).
 */
export async function releaseTarget(
  o: ClusterFlags & { server?: string; stateDir?: string },
  program: Command,
  localApi: () => Promise<string>,
  warn?: (m: string) => void,
): Promise<ReleaseTarget> {
  if (wantsCluster(o, program)) {
    if (o.server !== undefined || o.stateDir !== undefined)
      throw new UsageError(
        '--server and --state-dir name the local runtime; --kubeconfig, --context, --cluster (and kubectl vireo) a cluster: choose one',
      );
    const c = clusterSource(o, { component: 'vireo-cli', ...(warn ? { warn } : {}) });
    return {
      kind: 'cluster',
      source: c.source,
      namespace: o.namespace ?? c.namespace,
      pollMs: 1000,
      where: c.server,
    };
  }
  const url = await localApi();
  return {
    kind: 'local',
    source: new LocalRuntimeSource(url),
    namespace: o.namespace ?? 'default',
    pollMs: 500,
    where: url,
  };
}

/** Refuses a local-only command (`apply`, `delete`, `logs`) aimed at a cluster, saying what to use. */
export function localOnly(o: ClusterFlags, program: Command, what: string, instead: string): void {
  if (wantsCluster(o, program))
    throw new UserError(`${what} works on the local runtime only; on a Kubernetes cluster, ${instead}`);
}

/**
 * Who acts, as the UserAction event shows it: `cli:<login name>`. Only the name the system knows
 * the user by; nothing from the kubeconfig (it may hold tokens).
 */
export function cliActor(): string {
  let user = '';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (a container with an arbitrary uid): the environment may still say.
    user = process.env.USER || process.env.LOGNAME || '';
  }
  if (!user) user = typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'unknown';
  return `cli:${user.replace(/[^\x21-\x7e]/g, '?').slice(0, 64)}`;
}
