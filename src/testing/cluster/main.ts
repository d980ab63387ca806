/**
 * `scripts/cluster up|down|status|build|env|kubectl`: the test control plane from the command line
 * (see scripts/cluster and docs/adr/0011-test-control-plane.md). Exit codes: 0 ok; 1 failed (the
 * message says what and which log to read); 2 usage; `status` exits 3 when nothing runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { binaryPaths, cacheState, ensureBinaries } from './binaries.js';
import { defaultClusterDir, down, status, up } from './control-plane.js';

const USAGE = `usage: scripts/cluster up [--owner-pid PID] | down | status | build | env | kubectl ARGS...

  up        build missing binaries, start etcd, kube-apiserver, kube-controller-manager, kube-scheduler
            and kwok on 127.0.0.1, wait until usable; prints the kubeconfig path
  down      stop every component (process groups); logs stay in the state directory
  status    what runs, the /readyz answer, the cached binaries (exit 3 when nothing runs)
  build     build the binaries that are missing or stale, print what is cached
  env       print shell exports: KUBECONFIG and PATH with the cached kubectl, helm, ...
  kubectl   run the cached kubectl against this cluster

environment: VIREO_CLUSTER_DIR (state, default .cache/cluster), VIREO_K8S_CACHE (binaries, default
.cache/k8s), VIREO_CLUSTER_PORT, VIREO_CLUSTER_ETCD_PORT (default: free ports), VIREO_CLUSTER_NODES (2)`;

function printCache(): void {
  const c = cacheState();
  console.log(`binaries in ${c.dir}/bin:`);
  for (const b of c.binaries)
    console.log(
      `  ${b.binary.padEnd(24)} ${b.version.padEnd(9)} ${b.ready ? `built${b.seconds !== undefined ? ` (build took ${b.seconds} s)` : ''}` : 'not built'}`,
    );
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const dir = defaultClusterDir();
  switch (cmd) {
    case 'up': {
      let ownerPid: number | undefined;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--owner-pid' && rest[i + 1]) ownerPid = Number(rest[++i]);
        else {
          console.error(`scripts/cluster up: unknown argument ${rest[i]}\n${USAGE}`);
          return 2;
        }
      }
      const info = await up({ dir, ownerPid });
      console.log(
        `cluster up in ${(info.usableMs / 1000).toFixed(1)} s (/readyz after ${(info.readyzMs / 1000).toFixed(1)} s)`,
      );
      console.log(`server:      ${info.server}`);
      console.log(`kubeconfig:  ${info.kubeconfigPath}`);
      console.log(`nodes:       ${info.nodes.join(', ')} (kwok)`);
      console.log(`logs:        ${join(info.dir, 'logs')}`);
      console.log(
        `use:         export KUBECONFIG=${info.kubeconfigPath}   (or: scripts/cluster kubectl get pods -A)`,
      );
      return 0;
    }
    case 'down': {
      const stopped = await down(dir);
      console.log(stopped.length ? `stopped ${stopped.join(', ')}` : `nothing was running in ${dir}`);
      return 0;
    }
    case 'status': {
      const s = await status(dir);
      const running = s.components.filter((c) => c.running);
      console.log(`state dir:   ${s.dir}`);
      if (s.info) {
        console.log(
          `server:      ${s.info.server}  (${s.ready ? '/readyz ok' : `/readyz not ok: ${s.readyzError}`})`,
        );
        console.log(`kubeconfig:  ${s.info.kubeconfigPath}`);
        console.log(
          `started:     ${s.info.startedAt} (usable after ${(s.info.usableMs / 1000).toFixed(1)} s)`,
        );
      }
      for (const c of s.components)
        console.log(
          `  ${c.name.padEnd(24)} ${c.running ? `running, pid ${c.pid}` : 'NOT running'}  log ${c.log}`,
        );
      if (!s.components.length) console.log('  nothing runs (scripts/cluster up starts it)');
      printCache();
      if (!running.length) return 3;
      return running.length === s.components.length && s.ready ? 0 : 1;
    }
    case 'build': {
      await ensureBinaries();
      printCache();
      return 0;
    }
    case 'env': {
      const kubeconfig = join(dir, 'kubeconfig');
      console.log(`export KUBECONFIG=${kubeconfig}`);
      console.log(`export PATH=${join(cacheState().dir, 'bin')}:$PATH`);
      return 0;
    }
    case 'kubectl': {
      const kubectl = binaryPaths().kubectl;
      const kubeconfig = join(dir, 'kubeconfig');
      if (!existsSync(kubectl))
        throw new Error(`${kubectl} is not built yet: run scripts/cluster build (or up)`);
      if (!existsSync(kubeconfig))
        throw new Error(`${kubeconfig} does not exist: run scripts/cluster up first`);
      const r = spawnSync(kubectl, rest, {
        stdio: 'inherit',
        env: { ...process.env, KUBECONFIG: kubeconfig },
      });
      return r.status ?? 1;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd ? 0 : 2;
    default:
      console.error(`scripts/cluster: unknown command ${cmd}\n${USAGE}`);
      return 2;
  }
}

// `scripts/cluster status | head` closes the pipe early: not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`scripts/cluster ${process.argv[2] ?? ''}: ${(e as Error).message}`);
  process.exitCode = 1;
}
