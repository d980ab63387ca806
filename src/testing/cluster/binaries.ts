/**
 * The binaries of the test control plane, built once from their Go modules and cached.
 *
 * The build files live in `tools/k8s/<module>/` (go.mod + go.sum with `tool` lines, nothing else):
 * `kubernetes` (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl from k8s.io/kubernetes
 * with its staging modules pinned by `replace`), `etcd`, `kwok` and `helm`. The versions are read from
 * those go.mod files, so they are the only place to change a version.
 *
 * Binaries go to `<cache>/bin/` where `<cache>` is `$VIREO_K8S_CACHE/<kubernetes version>` (default
 * `<repo>/.cache/k8s/<kubernetes version>`). `<cache>/manifest.json` records, per binary, a key (hash of
 * its module's go.mod and go.sum, the Go version, package and ldflags) and its build time: a binary is
 * rebuilt only when it is missing or its key changed. Builds run under `nice -n 10` with
 * CGO_ENABLED=0, `-trimpath -ldflags=-s -w`, one at a time, behind a lock directory so parallel callers
 * wait for one build instead of racing. Go's own module and build caches stay where Go keeps them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tail } from './util.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const toolsDir = join(repoRoot, 'tools/k8s');

export const BINARIES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'etcd',
  'kwok',
  'helm',
] as const;
export type Binary = (typeof BINARIES)[number];
export type BinaryPaths = Record<Binary, string>;

/** One build: the module folder under tools/k8s, the main package, and the linker's -X settings. */
interface BuildSpec {
  module: 'kubernetes' | 'etcd' | 'kwok' | 'helm';
  pkg: string;
  ldflags: string[];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The version `path` is required at in tools/k8s/<module>/go.mod. */
export function requiredVersion(module: BuildSpec['module'], path: string): string {
  const file = join(toolsDir, module, 'go.mod');
  const text = readFileSync(file, 'utf8');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escapeRe(path)}\\s+(v\\S+)`, 'm').exec(text);
  if (!m?.[1]) throw new Error(`${file} does not require ${path}`);
  return m[1];
}

export interface Versions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  helm: string;
}

export function versions(): Versions {
  return {
    kubernetes: requiredVersion('kubernetes', 'k8s.io/kubernetes'),
    etcd: requiredVersion('etcd', 'go.etcd.io/etcd/server/v3'),
    kwok: requiredVersion('kwok', 'sigs.k8s.io/kwok'),
    helm: requiredVersion('helm', 'helm.sh/helm/v3'),
  };
}

function buildSpecs(v: Versions): Record<Binary, BuildSpec> {
  const [major, minor] = v.kubernetes.replace(/^v/, '').split('.');
  const k8sVersion = [
    `k8s.io/component-base/version.gitVersion=${v.kubernetes}`,
    `k8s.io/component-base/version.gitMajor=${major}`,
    `k8s.io/component-base/version.gitMinor=${minor}`,
    'k8s.io/component-base/version.gitTreeState=clean',
    `k8s.io/client-go/pkg/version.gitVersion=${v.kubernetes}`,
    `k8s.io/client-go/pkg/version.gitMajor=${major}`,
    `k8s.io/client-go/pkg/version.gitMinor=${minor}`,
    'k8s.io/client-go/pkg/version.gitTreeState=clean',
  ];
  const k8s = (cmd: string): BuildSpec => ({
    module: 'kubernetes',
    pkg: `k8s.io/kubernetes/cmd/${cmd}`,
    ldflags: k8sVersion,
  });
  return {
    'kube-apiserver': k8s('kube-apiserver'),
    'kube-controller-manager': k8s('kube-controller-manager'),
    'kube-scheduler': k8s('kube-scheduler'),
    kubectl: k8s('kubectl'),
    etcd: { module: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', ldflags: [] },
    kwok: { module: 'kwok', pkg: 'sigs.k8s.io/kwok/cmd/kwok', ldflags: [] },
    helm: {
      module: 'helm',
      pkg: 'helm.sh/helm/v3/cmd/helm',
      ldflags: [
        `helm.sh/helm/v3/internal/version.version=${v.helm}`,
        'helm.sh/helm/v3/internal/version.gitTreeState=clean',
        // What `helm template` assumes for .Capabilities.KubeVersion: the cluster's release.
        `helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${major}`,
        `helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${minor}`,
        `helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${major}`,
        `helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${minor}`,
      ],
    },
  };
}

/** `$VIREO_K8S_CACHE/<kubernetes version>`, default `<repo>/.cache/k8s/<kubernetes version>`. */
export function cacheDir(v: Versions = versions()): string {
  return join(process.env.VIREO_K8S_CACHE || join(repoRoot, '.cache/k8s'), v.kubernetes);
}

export function binaryPaths(dir: string = cacheDir()): BinaryPaths {
  return Object.fromEntries(BINARIES.map((b) => [b, join(dir, 'bin', b)])) as BinaryPaths;
}

interface ManifestEntry {
  key: string;
  version: string;
  seconds: number;
  bytes: number;
  builtAt: string;
  go: string;
}
type Manifest = Partial<Record<Binary, ManifestEntry>>;

const readManifest = (dir: string): Manifest => {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return {};
  }
};

const writeManifest = (dir: string, m: Manifest) => {
  writeFileSync(join(dir, 'manifest.json.tmp'), `${JSON.stringify(m, null, 2)}\n`);
  renameSync(join(dir, 'manifest.json.tmp'), join(dir, 'manifest.json'));
};

/** The Go toolchain's version ("go1.26.8"); throws saying what to install when there is none. */
export function goVersion(): string {
  let out: string;
  try {
    out = execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch (e) {
    throw new Error(
      `the Go toolchain is needed to build the test control plane (go env GOVERSION failed: ${(e as Error).message.split('\n')[0]})`,
    );
  }
  const m = /^go(\d+)\.(\d+)/.exec(out);
  if (!m || Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 24))
    throw new Error(`Go 1.24 or newer is needed to build Kubernetes 1.33 (go env GOVERSION says "${out}")`);
  return out;
}

function keyOf(spec: BuildSpec, go: string): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum']) h.update(readFileSync(join(toolsDir, spec.module, f)));
  h.update(`\0${go}\0${spec.pkg}\0${spec.ldflags.join(' ')}`);
  return h.digest('hex').slice(0, 16);
}

const versionOf = (b: Binary, v: Versions): string =>
  b === 'etcd' ? v.etcd : b === 'kwok' ? v.kwok : b === 'helm' ? v.helm : v.kubernetes;

export interface BinaryState {
  binary: Binary;
  version: string;
  path: string;
  /** Built and current (its key matches the build files). */
  ready: boolean;
  /** Seconds the last build took, if it was recorded. */
  seconds?: number;
}

/** What is in the cache, without building anything (Go is not needed when nothing is missing). */
export function cacheState(): { dir: string; versions: Versions; binaries: BinaryState[] } {
  const v = versions();
  const dir = cacheDir(v);
  const manifest = readManifest(dir);
  const paths = binaryPaths(dir);
  const specs = buildSpecs(v);
  let go: string | undefined;
  const binaries = BINARIES.map((b): BinaryState => {
    const entry = manifest[b];
    let ready = false;
    if (entry && existsSync(paths[b])) {
      go ??= safeGoVersion() ?? entry.go;
      ready = entry.key === keyOf(specs[b], go);
    }
    return { binary: b, version: versionOf(b, v), path: paths[b], ready, seconds: entry?.seconds };
  });
  return { dir, versions: v, binaries };
}

function safeGoVersion(): string | undefined {
  try {
    return goVersion();
  } catch {
    return undefined;
  }
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A lock directory holding the owner's pid; waits (bounded) for a live owner, breaks a dead one's. */
export async function withLock<T>(
  lockDir: string,
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = 0;
      try {
        owner = Number(readFileSync(join(lockDir, 'pid'), 'utf8')) || 0;
      } catch {}
      // No pid yet: the owner is between mkdir and writing it, or died there (then the lock gets old).
      const age = Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if ((owner > 0 && !pidAlive(owner)) || (owner === 0 && age > 10_000)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        process.stderr.write(`waiting for ${what} (pid ${owner}, lock ${lockDir})\n`);
        told = true;
      }
      if (Date.now() > deadline)
        throw new Error(
          `gave up after ${Math.round(timeoutMs / 1000)} s waiting for ${what} (lock ${lockDir})`,
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Runs one `go build`, output to `log`; rejects naming the log after `timeoutMs` or a failure. */
function goBuild(spec: BuildSpec, out: string, log: string, timeoutMs: number): Promise<void> {
  const ldflags = ['-s', '-w', ...spec.ldflags.map((x) => `-X=${x}`)].join(' ');
  const args = ['-n', '10', 'go', 'build', '-trimpath', `-ldflags=${ldflags}`, '-o', out, spec.pkg];
  const fd = openSync(log, 'w');
  writeFileSync(fd, `# cd ${join(toolsDir, spec.module)} && CGO_ENABLED=0 nice ${args.join(' ')}\n`);
  const child: ChildProcess = spawn('nice', args, {
    cwd: join(toolsDir, spec.module),
    env: {
      ...process.env,
      CGO_ENABLED: '0',
      GOFLAGS: [process.env.GOFLAGS, '-mod=readonly'].filter(Boolean).join(' '),
    },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  return new Promise((resolveBuild, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run go build for ${spec.pkg}: ${e.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolveBuild();
      else
        reject(
          new Error(
            `go build ${spec.pkg} failed (${signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after the ${Math.round(timeoutMs / 60_000)} min limit` : ''}` : `exit ${code}`}); read ${log}\n${tail(log, 20)}`,
          ),
        );
    });
  });
}

export interface EnsureOptions {
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Limit for one binary's build (default 45 min). */
  buildTimeoutMs?: number;
  /** How long to wait for another process' build (default 90 min). */
  lockTimeoutMs?: number;
}

/** Builds what is missing or stale and returns the paths of all binaries. */
export async function ensureBinaries(opts: EnsureOptions = {}): Promise<BinaryPaths> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const v = versions();
  const dir = cacheDir(v);
  const paths = binaryPaths(dir);
  if (cacheState().binaries.every((b) => b.ready)) return paths;
  const go = goVersion();
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const specs = buildSpecs(v);
  await withLock(
    join(dir, '.build.lock'),
    'another build of the Kubernetes binaries',
    opts.lockTimeoutMs ?? 90 * 60_000,
    async () => {
      const started = Date.now();
      let built = 0;
      for (const b of BINARIES) {
        const spec = specs[b];
        const key = keyOf(spec, go);
        const manifest = readManifest(dir);
        if (manifest[b]?.key === key && existsSync(paths[b])) continue;
        const logFile = join(dir, 'logs', `build-${b}.log`);
        log(`building ${b} ${versionOf(b, v)} from ${spec.pkg} (log: ${logFile}) ...`);
        const t0 = Date.now();
        const partial = `${paths[b]}.partial`;
        await goBuild(spec, partial, logFile, opts.buildTimeoutMs ?? 45 * 60_000);
        renameSync(partial, paths[b]);
        const seconds = Math.round((Date.now() - t0) / 100) / 10;
        const bytes = statSync(paths[b]).size;
        writeManifest(dir, {
          ...readManifest(dir),
          [b]: { key, version: versionOf(b, v), seconds, bytes, builtAt: new Date().toISOString(), go },
        });
        log(`built ${b} in ${seconds} s (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
        built++;
      }
      if (built)
        log(`built ${built} binaries in ${Math.round((Date.now() - started) / 1000)} s into ${dir}/bin`);
    },
  );
  return paths;
}
