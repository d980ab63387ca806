/**
 * Test harness: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok with fake nodes) on loopback, in a temp state directory of its own, through
 * the same code as `scripts/cluster` (src/testing/cluster/).
 *
 * The first call on a machine builds the binaries from their Go modules (tools/k8s) into the cache
 * (`.cache/k8s/<version>`; about 18 minutes of nice'd build on 2 CPUs, see
 * docs/adr/0011-test-control-plane.md) unless `scripts/cluster build` ran before; later calls start in
 * 3-5 seconds. A watchdog stops the cluster if this process dies without `stop()`.
 * Not part of the build.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BinaryPaths } from './cluster/binaries.js';
import { type ClusterInfo, down, up } from './cluster/control-plane.js';

export { cacheState, ensureBinaries } from './cluster/binaries.js';

export interface KubeCluster {
  /** The state directory (logs in `logs/`). */
  dir: string;
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  binaries: BinaryPaths;
  info: ClusterInfo;
  /** Runs the cached kubectl against the cluster; rejects with its stderr on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  /**
   * Applies CRD files (server-side) and waits until every CRD is Established. `kubectl wait` alone
   * fails on a CRD that has no conditions yet (right after the apply), so it is retried.
   */
  applyCrds(files: readonly string[]): Promise<void>;
  /** Stops every component and removes the state directory (kept with `keep`, or if stopping failed). */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface StartKubeClusterOptions {
  /** Fake nodes (default 2). */
  nodes?: number;
  /** Limit for starting, binaries built (default 180 s). */
  timeoutMs?: number;
}

/** Starts a cluster in a new temp directory; on failure the directory is kept and the error names its logs. */
export async function startKubeCluster(opts: StartKubeClusterOptions = {}): Promise<KubeCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vireo-kube-'));
  let info: ClusterInfo;
  try {
    info = await up({
      dir,
      nodes: opts.nodes,
      timeoutMs: opts.timeoutMs,
      ownerPid: process.pid,
      // Build progress only: the start-up lines would be noise in test output (the logs are in dir).
      log: (line) => {
        if (line.startsWith('build')) process.stderr.write(`${line}\n`);
      },
    });
  } catch (e) {
    await down(dir).catch(() => {});
    throw new Error(
      `starting the test cluster in ${dir} failed (logs in ${join(dir, 'logs')}): ${(e as Error).message}`,
    );
  }
  const env = { ...process.env, KUBECONFIG: info.kubeconfigPath };
  const kubectl: KubeCluster['kubectl'] = (args, { input, timeoutMs = 60_000 } = {}) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        info.binaries.kubectl,
        args,
        { env, timeout: timeoutMs, maxBuffer: 32 * 2 ** 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(input ?? '');
    });
  return {
    dir,
    kubeconfigPath: info.kubeconfigPath,
    server: info.server,
    binaries: info.binaries,
    info,
    kubectl,
    applyCrds: async (files) => {
      for (const f of files) await kubectl(['apply', '--server-side', '-f', f], { timeoutMs: 60_000 });
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await kubectl(['wait', '--for=condition=Established', '--timeout=10s', 'crd', '--all']);
          return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    stop: async ({ keep = false } = {}) => {
      await down(dir);
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
