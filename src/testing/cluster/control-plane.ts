/**
 * The test control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as
 * local processes on 127.0.0.1, each in its own process group with its log in the state directory.
 *
 * State directory (`VIREO_CLUSTER_DIR`, default `<repo>/.cache/cluster`):
 *   pki/            certificates (pki.ts), made once and kept
 *   kubeconfig      admin kubeconfig (embedded certificates), written by `up`
 *   cluster.json    what `up` started: ports, server, versions, timings
 *   run/<c>.json    pid and start time of each component (a reused pid is never signalled)
 *   logs/<c>.log    each component's output (truncated by `up`)
 *   etcd/           etcd's data, new at every `up`
 *
 * `up` starts a fresh cluster and returns once it is usable: /readyz answers ok, both controllers'
 * /healthz too, the fake nodes are Ready (kwok) and the `default` ServiceAccount exists (so the
 * ReplicaSet controller can create pods). Every wait is bounded; a component that exits during
 * start-up fails `up` at once with the end of its log. `down` sends SIGTERM to every process group,
 * SIGKILL after a grace period, and checks nothing of the groups is left.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../net.js';
import {
  type BinaryPaths,
  type EnsureOptions,
  ensureBinaries,
  repoRoot,
  type Versions,
  versions,
  withLock,
} from './binaries.js';
import { ensurePki, type Pki, pkiPaths } from './pki.js';
import { groupMembers, httpsRequest, procStat, sleep, type TlsClient, tail, words } from './util.js';

export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];
/** A component, or the watchdog that runs `down` when the owner process is gone. */
type Proc = Component | 'watchdog';

export const defaultClusterDir = (): string =>
  process.env.VIREO_CLUSTER_DIR || join(repoRoot, '.cache/cluster');

const envInt = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${name}=${v} is not a port number or count`);
  return n;
};

export interface UpOptions {
  /** State directory (default `VIREO_CLUSTER_DIR` or `<repo>/.cache/cluster`). */
  dir?: string;
  /** kube-apiserver's port (default `VIREO_CLUSTER_PORT`, else a free one). */
  apiserverPort?: number;
  /** etcd's client port (default `VIREO_CLUSTER_ETCD_PORT`, else a free one). */
  etcdPort?: number;
  /** Fake nodes kwok keeps Ready (default `VIREO_CLUSTER_NODES`, else 2). */
  nodes?: number;
  /** Limit for starting the processes until the cluster is usable, binaries built (default 180 s). */
  timeoutMs?: number;
  /** Stop the cluster (a detached watchdog runs `down`) when this process is gone. */
  ownerPid?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  build?: EnsureOptions;
}

export interface ClusterInfo {
  dir: string;
  kubeconfigPath: string;
  server: string;
  versions: Versions;
  binaries: BinaryPaths;
  ports: { apiserver: number; etcd: number; etcdPeer: number; controllerManager: number; scheduler: number };
  nodes: string[];
  startedAt: string;
  /** From starting etcd until /readyz answered ok. */
  readyzMs: number;
  /** From starting etcd until usable (controllers healthy, nodes Ready, default ServiceAccount). */
  usableMs: number;
}

interface ProcRecord {
  name: Proc;
  pid: number;
  startTime: number;
  log: string;
  command: string[];
}

const runDir = (dir: string) => join(dir, 'run');
const logDir = (dir: string) => join(dir, 'logs');
const recordFile = (dir: string, name: Proc) => join(runDir(dir), `${name}.json`);

function readRecords(dir: string): ProcRecord[] {
  if (!existsSync(runDir(dir))) return [];
  const out: ProcRecord[] = [];
  for (const f of readdirSync(runDir(dir))) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(runDir(dir), f), 'utf8')) as ProcRecord);
    } catch {}
  }
  return out;
}

/** The recorded process itself is alive (same pid and start time, not a zombie). */
export function isRunning(r: ProcRecord): boolean {
  const s = procStat(r.pid);
  return !!s && s.state !== 'Z' && s.startTime === r.startTime;
}

function clientTls(p: Pki): TlsClient {
  return { ca: readFileSync(p.caCert), cert: readFileSync(p.adminCert), key: readFileSync(p.adminKey) };
}

function kubeconfigYaml(server: string, p: Pki): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: vireo-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(p.caCert)}`,
    'users:',
    '- name: vireo-admin',
    '  user:',
    `    client-certificate-data: ${b64(p.adminCert)}`,
    `    client-key-data: ${b64(p.adminKey)}`,
    'contexts:',
    '- name: vireo-test',
    '  context:',
    '    cluster: vireo-test',
    '    user: vireo-admin',
    '    namespace: default',
    'current-context: vireo-test',
    '',
  ].join('\n');
}

/** Starts `bin` in its own process group, output to logs/<name>.log, and records it. */
function startProcess(
  dir: string,
  name: Proc,
  bin: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): ProcRecord {
  const log = join(logDir(dir), `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(bin, args, {
    cwd: dir,
    detached: true,
    stdio: ['ignore', fd, fd],
    env: env ?? process.env,
  });
  child.on('error', () => {}); // reported through the record: the process is not running
  child.unref();
  const pid = child.pid;
  const s = pid ? procStat(pid) : undefined;
  if (!pid || !s) throw new Error(`cannot start ${name} (${bin}); read ${log}\n${tail(log, 20)}`);
  const rec: ProcRecord = { name, pid, startTime: s.startTime, log, command: [bin, ...args] };
  writeFileSync(recordFile(dir, name), `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}

/**
 * Polls `check` until it returns true; throws after `timeoutMs`, or at once when one of `watch` has
 * exited (naming its log). `check` may throw: its last error is part of the timeout message.
 */
async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  watch: ProcRecord[],
  deadline: number,
  everyMs = 200,
): Promise<void> {
  let last = '';
  for (;;) {
    for (const r of watch)
      if (!isRunning(r))
        throw new Error(`${r.name} exited while waiting for ${what}; read ${r.log}\n${tail(r.log, 25)}`);
    try {
      if (await check()) return;
      last = '';
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      const logs = watch.map((r) => r.log).join(', ');
      throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${last})` : ''}; logs: ${logs}`);
    }
    await sleep(everyMs);
  }
}

/** Pod annotation the kwok stages below read: `Failed` fails a Job's pod, `Running` keeps it running. */
export const KWOK_POD_PHASE_ANNOTATION = 'vireo.test/kwok-pod-phase';

/**
 * kwok's pod Stages. Given none, kwok 0.7.0 uses its defaults (pods Running and Ready at once, a Job's
 * pods Succeeded at once, deleted pods removed); any pod Stage in the config replaces all of them, so
 * these restate the first and last and split the Job step, so that Job tests can see each outcome:
 * - a Job's pod Succeeds (exit code 0) after 300 ms, unless its template carries the annotation
 *   KWOK_POD_PHASE_ANNOTATION: `Failed` fails it (exit code 1, what the Job controller counts against
 *   backoffLimit), `Running` leaves it running (to terminate it);
 * - pods of other owners (ReplicaSets) stay Running and Ready, as before.
 */
const KWOK_POD_STAGES = `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: vireo-pod-running}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.podIP, operator: DoesNotExist}
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      {{ range .spec.readinessGates }}
      - {type: {{ .conditionType | Quote }}, status: "True", lastTransitionTime: {{ $now | Quote }}}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}
      {{ end }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        restartCount: 0
        {{ if eq .restartPolicy "Always" }}
        started: true
        state: {running: {startedAt: {{ $now | Quote }}}}
        {{ else }}
        state: {terminated: {exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
        {{ end }}
      {{ end }}
${[
  ['succeeded', 'Succeeded', 0, 'Completed', 'NotIn', '[Failed, Running]'],
  ['failed', 'Failed', 1, 'Error', 'In', '[Failed]'],
]
  .map(
    ([name, phase, code, reason, op, values]) => `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: vireo-job-pod-${name}}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Running]}
    - {key: '.metadata.ownerReferences.[].kind', operator: In, values: [Job]}
    - {key: '.metadata.annotations["${KWOK_POD_PHASE_ANNOTATION}"]', operator: ${op}, values: ${values}}
  delay: {durationMilliseconds: 300}
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: ${phase}
      conditions:
      - {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state: {terminated: {exitCode: ${code}, reason: ${reason}, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}}
      {{ end }}
`,
  )
  .join('')}---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: vireo-pod-delete}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.deletionTimestamp, operator: Exists}
  next:
    finalizers: {empty: true}
    delete: true
`;

function nodeManifest(name: string, ip: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      addresses: [{ type: 'InternalIP', address: ip }],
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
        osImage: 'kwok',
        kernelVersion: '',
        containerRuntimeVersion: '',
        bootID: '',
        machineID: '',
        systemUUID: '',
      },
    },
  });
}

/** Starts a fresh cluster in `dir` (building missing binaries first) and waits until it is usable. */
export async function up(opts: UpOptions = {}): Promise<ClusterInfo> {
  const dir = opts.dir ?? defaultClusterDir();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const nodeCount = opts.nodes ?? envInt('VIREO_CLUSTER_NODES') ?? 2;
  mkdirSync(dir, { recursive: true });
  const binaries = await ensureBinaries({ log, ...opts.build });
  return withLock(join(dir, '.lock'), `another scripts/cluster up/down on ${dir}`, 5 * 60_000, async () => {
    const leftovers = readRecords(dir).filter((r) => isRunning(r) || groupMembers(r.pid).length > 0);
    if (leftovers.length)
      throw new Error(
        `a cluster is already running in ${dir} (${leftovers.map((r) => `${r.name} pid ${r.pid}`).join(', ')}); run scripts/cluster down first (with VIREO_CLUSTER_DIR=${dir})`,
      );
    rmSync(runDir(dir), { recursive: true, force: true });
    rmSync(join(dir, 'cluster.json'), { force: true });
    rmSync(join(dir, 'etcd'), { recursive: true, force: true });
    for (const d of [
      runDir(dir),
      logDir(dir),
      join(dir, 'etcd'),
      join(dir, 'kube-controller-manager'),
      join(dir, 'kube-scheduler'),
    ])
      mkdirSync(d, { recursive: true, mode: 0o700 });

    const pki = ensurePki(join(dir, 'pki'));
    const tls = clientTls(pki);
    const ports = {
      apiserver: opts.apiserverPort || envInt('VIREO_CLUSTER_PORT') || (await freePort()),
      etcd: opts.etcdPort || envInt('VIREO_CLUSTER_ETCD_PORT') || (await freePort()),
      etcdPeer: await freePort(),
      controllerManager: await freePort(),
      scheduler: await freePort(),
    };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki), { mode: 0o600 });

    const started: ProcRecord[] = [];
    const t0 = Date.now();
    const deadline = t0 + (opts.timeoutMs ?? 180_000);
    try {
      if (opts.ownerPid) started.push(startWatchdog(dir, opts.ownerPid));

      const etcdUrl = `https://127.0.0.1:${ports.etcd}`;
      const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
      const etcd = startProcess(
        dir,
        'etcd',
        binaries.etcd,
        words`--name=vireo --data-dir=${join(dir, 'etcd')}
          --listen-client-urls=${etcdUrl} --advertise-client-urls=${etcdUrl}
          --listen-peer-urls=${peerUrl} --initial-advertise-peer-urls=${peerUrl}
          --initial-cluster=vireo=${peerUrl} --initial-cluster-state=new
          --cert-file=${pki.etcdCert} --key-file=${pki.etcdKey}
          --client-cert-auth --trusted-ca-file=${pki.caCert}
          --unsafe-no-fsync --snapshot-count=10000 --log-level=warn`,
      );
      started.push(etcd);
      log(`etcd ${etcdUrl} (log: ${etcd.log})`);
      const etcdTls = {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.etcdClientCert),
        key: readFileSync(pki.etcdClientKey),
      };
      await waitUntil(
        'etcd /health',
        async () => {
          const r = await httpsRequest(`${etcdUrl}/health`, etcdTls, { timeoutMs: 2000 });
          return r.status === 200 && /"health":\s*"true"/.test(r.body);
        },
        [etcd],
        deadline,
      );

      const apiserver = startProcess(
        dir,
        'kube-apiserver',
        binaries['kube-apiserver'],
        words`--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=${ports.apiserver}
          --etcd-servers=${etcdUrl} --etcd-cafile=${pki.caCert}
          --etcd-certfile=${pki.etcdClientCert} --etcd-keyfile=${pki.etcdClientKey}
          --tls-cert-file=${pki.apiserverCert} --tls-private-key-file=${pki.apiserverKey}
          --client-ca-file=${pki.caCert} --cert-dir=${join(dir, 'pki')}
          --service-account-issuer=https://kubernetes.default.svc.cluster.local
          --service-account-key-file=${pki.serviceAccountPub}
          --service-account-signing-key-file=${pki.serviceAccountKey}
          --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC
          --endpoint-reconciler-type=none --allow-privileged=true --profiling=false`,
      );
      started.push(apiserver);
      log(`kube-apiserver ${server} (log: ${apiserver.log})`);
      await waitUntil(
        'kube-apiserver /readyz',
        async () => (await httpsRequest(`${server}/readyz`, tls, { timeoutMs: 3000 })).status === 200,
        [etcd, apiserver],
        deadline,
      );
      const readyzMs = Date.now() - t0;
      log(`kube-apiserver ready after ${(readyzMs / 1000).toFixed(1)} s`);

      const cm = startProcess(
        dir,
        'kube-controller-manager',
        binaries['kube-controller-manager'],
        words`--kubeconfig=${kubeconfigPath} --bind-address=127.0.0.1 --secure-port=${ports.controllerManager}
          --cert-dir=${join(dir, 'kube-controller-manager')} --leader-elect=false
          --root-ca-file=${pki.caCert} --service-account-private-key-file=${pki.serviceAccountKey}
          --cluster-signing-cert-file=${pki.caCert} --cluster-signing-key-file=${pki.caKey}
          --use-service-account-credentials=false --profiling=false`,
      );
      const scheduler = startProcess(
        dir,
        'kube-scheduler',
        binaries['kube-scheduler'],
        words`--kubeconfig=${kubeconfigPath} --bind-address=127.0.0.1 --secure-port=${ports.scheduler}
          --cert-dir=${join(dir, 'kube-scheduler')} --leader-elect=false --profiling=false`,
      );
      const kwokConfig = join(dir, 'kwok.yaml');
      writeFileSync(
        kwokConfig,
        `apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions: {}\n${KWOK_POD_STAGES}`,
      );
      const kwok = startProcess(
        dir,
        'kwok',
        binaries.kwok,
        words`--config=${kwokConfig} --kubeconfig=${kubeconfigPath} --manage-all-nodes=false
          --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake
          --node-lease-duration-seconds=40 --cidr=10.244.0.1/16`,
        // kwok reads ~/.kwok/kwok.yaml too: give it a home of its own.
        { ...process.env, HOME: dir },
      );
      started.push(cm, scheduler, kwok);
      for (const r of [cm, scheduler, kwok]) log(`${r.name} (log: ${r.log})`);

      const all = [etcd, apiserver, cm, scheduler, kwok];
      const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
      for (const n of nodes) {
        const r = await httpsRequest(`${server}/api/v1/nodes`, tls, {
          method: 'POST',
          body: nodeManifest(n, `10.0.0.${nodes.indexOf(n) + 1}`),
        });
        if (r.status !== 201 && r.status !== 409)
          throw new Error(`creating Node ${n} failed: HTTP ${r.status} ${r.body.slice(0, 500)}`);
      }
      const healthz = (port: number) => async () =>
        (await httpsRequest(`https://127.0.0.1:${port}/healthz`, { insecure: true }, { timeoutMs: 2000 }))
          .status === 200;
      await waitUntil('kube-controller-manager /healthz', healthz(ports.controllerManager), all, deadline);
      await waitUntil('kube-scheduler /healthz', healthz(ports.scheduler), all, deadline);
      await waitUntil(
        `Nodes ${nodes.join(', ')} Ready (kwok)`,
        async () => {
          for (const n of nodes) {
            const r = await httpsRequest(`${server}/api/v1/nodes/${n}`, tls);
            if (r.status !== 200) return false;
            const node = JSON.parse(r.body) as {
              status?: { conditions?: { type: string; status: string }[] };
            };
            if (!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
              return false;
          }
          return true;
        },
        all,
        deadline,
      );
      await waitUntil(
        'ServiceAccount default/default (kube-controller-manager)',
        async () =>
          (await httpsRequest(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status ===
          200,
        all,
        deadline,
      );
      const usableMs = Date.now() - t0;
      const info: ClusterInfo = {
        dir,
        kubeconfigPath,
        server,
        versions: versions(),
        binaries,
        ports,
        nodes,
        startedAt: new Date(t0).toISOString(),
        readyzMs,
        usableMs,
      };
      writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(info, null, 2)}\n`);
      return info;
    } catch (e) {
      await stopAll(dir, started).catch(() => {});
      throw e;
    }
  });
}

/** A detached shell that runs `scripts/cluster down` on this state directory once `ownerPid` is gone. */
function startWatchdog(dir: string, ownerPid: number): ProcRecord {
  const script = [
    'owner=$1 cluster=$2',
    'while kill -0 "$owner" 2>/dev/null; do sleep 1; done',
    'echo "owner process $owner is gone: stopping the cluster"',
    // A session of its own, so that down (which stops this process group) does not stop itself.
    'exec setsid "$cluster" down',
  ].join('\n');
  return startProcess(
    dir,
    'watchdog',
    'bash',
    ['-c', script, 'vireo-cluster-watchdog', String(ownerPid), join(repoRoot, 'scripts/cluster')],
    { ...process.env, VIREO_CLUSTER_DIR: dir },
  );
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once no member is left. */
async function stopGroup(r: ProcRecord, graceMs: number): Promise<void> {
  const leader = procStat(r.pid);
  // The pid was reused by an unrelated process: our group is gone (a live group keeps its id).
  if (leader && leader.startTime !== r.startTime) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-r.pid, sig);
    } catch {}
  };
  if (groupMembers(r.pid).length === 0) return;
  signal('SIGTERM');
  const killAt = Date.now() + graceMs;
  while (groupMembers(r.pid).length > 0 && Date.now() < killAt) await sleep(100);
  if (groupMembers(r.pid).length === 0) return;
  signal('SIGKILL');
  const giveUp = Date.now() + 5000;
  while (groupMembers(r.pid).length > 0 && Date.now() < giveUp) await sleep(100);
  const left = groupMembers(r.pid);
  if (left.length) throw new Error(`${r.name}: processes ${left.join(', ')} survived SIGKILL`);
}

const STOP_ORDER: Proc[][] = [
  ['watchdog', 'kwok', 'kube-scheduler', 'kube-controller-manager'],
  ['kube-apiserver'],
  ['etcd'],
];

async function stopAll(dir: string, records: ProcRecord[]): Promise<string[]> {
  const stopped: string[] = [];
  const errors: string[] = [];
  for (const stage of STOP_ORDER) {
    await Promise.all(
      records
        .filter((r) => stage.includes(r.name))
        .map(async (r) => {
          const wasRunning = isRunning(r);
          try {
            await stopGroup(r, r.name === 'kube-apiserver' ? 15_000 : 10_000);
            if (wasRunning) stopped.push(r.name);
            rmSync(recordFile(dir, r.name), { force: true });
          } catch (e) {
            errors.push((e as Error).message);
          }
        }),
    );
  }
  if (errors.length) throw new Error(`could not stop everything in ${dir}: ${errors.join('; ')}`);
  return stopped;
}

/** Stops every recorded process group of the cluster in `dir`; returns the names that were running. */
export async function down(dir: string = defaultClusterDir()): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return withLock(join(dir, '.lock'), `another scripts/cluster up/down on ${dir}`, 5 * 60_000, async () => {
    const stopped = await stopAll(dir, readRecords(dir));
    rmSync(join(dir, 'cluster.json'), { force: true });
    return stopped;
  });
}

export interface ClusterStatus {
  dir: string;
  info?: ClusterInfo;
  components: { name: Proc; pid: number; running: boolean; log: string }[];
  /** /readyz answered ok just now. */
  ready: boolean;
  readyzError?: string;
}

/** What runs in `dir` and whether the apiserver answers /readyz. */
export async function status(dir: string = defaultClusterDir()): Promise<ClusterStatus> {
  let info: ClusterInfo | undefined;
  try {
    info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterInfo;
  } catch {}
  const components = readRecords(dir)
    .sort((a, b) => COMPONENTS.indexOf(a.name as Component) - COMPONENTS.indexOf(b.name as Component))
    .map((r) => ({ name: r.name, pid: r.pid, running: isRunning(r), log: r.log }));
  let ready = false;
  let readyzError: string | undefined;
  if (info && components.some((c) => c.name === 'kube-apiserver' && c.running)) {
    try {
      const r = await httpsRequest(`${info.server}/readyz`, clientTls(pkiPaths(join(dir, 'pki'))), {
        timeoutMs: 3000,
      });
      ready = r.status === 200;
      if (!ready) readyzError = `HTTP ${r.status}: ${r.body.slice(0, 300)}`;
    } catch (e) {
      readyzError = (e as Error).message;
    }
  }
  return { dir, info, components, ready, readyzError };
}
