/**
 * The local runtime's process supervisor: a version (the ReplicaSet equivalent) is N replica processes
 * started from the pod template's first container (issue 5, "Runtime").
 *
 * - Each replica gets a free loopback port in `PORT` (kept across its restarts, as a pod keeps its IP)
 *   and the image string in `IMAGE`. It is spawned from an argv array (no shell) as the leader of its
 *   own process group; the group plays the container: when the leader exits, what is left of the
 *   group is killed.
 * - stdout and stderr are appended to `<logDir>/<version>/<replica>.log`; the child writes to the file
 *   directly, so its output does not depend on this process staying alive.
 * - `<logDir>/<version>/<replica>.json` holds pid, process group and port of each replica, written
 *   atomically, so that a restarted runtime finds processes a killed one left behind
 *   (`stopLeftoverReplicas`; they are restarted, not adopted).
 * - Crashed replicas restart after a back-off (10 s doubling to 5 min by default; reset after 10 min
 *   of running) and show `CrashLoopBackOff` while they wait; liveness failures restart them.
 * - Readiness and liveness probes (`httpGet`, `tcpSocket`) with the Kubernetes defaults.
 *
 * The supervisor decides nothing about releases (ADR 0006): an adapter calls `scale` for the engine's
 * actions and reports `status` (see `observedReplicaSet`) and `endpoints` to the engine and the proxy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { ObservedReplicaSet } from '../../../engine/argo/types.js';

/** A Kubernetes probe; only `httpGet` and `tcpSocket` are carried out (see `Supervisor`). */
export interface ProbeSpec {
  httpGet?: { path?: string; port?: number | string; scheme?: string };
  tcpSocket?: { port?: number | string };
  exec?: { command?: string[] };
  /** Default 0. */
  initialDelaySeconds?: number;
  /** Default 10. */
  periodSeconds?: number;
  /** Default 3. */
  failureThreshold?: number;
  /** Default 1 (liveness: always 1). */
  successThreshold?: number;
  /** Default 1. */
  timeoutSeconds?: number;
}

/** What the supervisor needs of a pod template's first container (valueFrom resolved by the caller). */
export interface ReplicaSpec {
  /** The program and its first arguments. Without it, `args[0]` is the program (no image entrypoint). */
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  workingDir?: string;
  /** The image string, given to the replica in `IMAGE`. */
  image: string;
  readinessProbe?: ProbeSpec;
  livenessProbe?: ProbeSpec;
  /** The ReplicaSet's minReadySeconds: ready this long before a replica counts as available. */
  minReadySeconds?: number;
}

export type PodPhase = 'Running' | 'Waiting' | 'Terminating';

export interface PodStatus {
  /** `<version>-<n>`; n counts up per version and is never reused. */
  name: string;
  port: number;
  /** The process (and process group) id while it runs. */
  pid?: number;
  ready: boolean;
  /** Running: the process is alive; Waiting: to be (re)started; Terminating: being stopped. */
  phase: PodPhase;
  restarts: number;
  /** Why it is waiting: `ContainerCreating`, `CrashLoopBackOff`. */
  reason?: string;
  /** The back-off before the pending restart (ms), while in CrashLoopBackOff. */
  backoffMs?: number;
  /** When the current process started (RFC 3339). */
  startedAt?: string;
  /** How the previous process ended. */
  lastState?: {
    exitCode: number | null;
    signal: string | null;
    /** `Completed` (exit 0), `Error`, `StartError` (could not spawn) or `LivenessProbeFailed`. */
    reason: string;
    message?: string;
    finishedAt: string;
  };
  logFile: string;
}

export interface VersionStatus {
  /** Desired replicas (spec.replicas). */
  replicas: number;
  /** Replicas that exist and are not terminating (running or waiting to restart). */
  currentReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  terminatingReplicas: number;
  /** Restarts of the current replicas. */
  restarts: number;
  /** When the version was first scaled (RFC 3339). */
  createdAt: string;
  pods: PodStatus[];
  /** Parts of the spec that are not carried out (e.g. exec probes). */
  warnings: string[];
}

export type SupervisorEvent =
  | { type: 'Started'; version: string; replica: string; pid: number; port: number }
  | {
      type: 'Exited';
      version: string;
      replica: string;
      pid?: number;
      exitCode: number | null;
      signal: string | null;
      reason: string;
    }
  | { type: 'BackOff'; version: string; replica: string; delayMs: number }
  | { type: 'Unhealthy'; version: string; replica: string; probe: 'readiness' | 'liveness'; message: string }
  | { type: 'Ready' | 'NotReady'; version: string; replica: string }
  | { type: 'Killing'; version: string; replica: string; pid: number; why: string };

export interface SupervisorOptions {
  logDir: string;
  /** Milliseconds since the epoch; only for timestamps (timers are real). */
  clock?: () => number;
  /** First restart back-off (default 10 000 ms), doubled per crash. */
  backoffBaseMs?: number;
  /** Back-off cap (default 300 000 ms). */
  backoffMaxMs?: number;
  /** A replica that ran this long resets its back-off (default 600 000 ms). */
  backoffResetMs?: number;
  /** SIGTERM to SIGKILL (terminationGracePeriodSeconds; default 30 000 ms). */
  gracePeriodMs?: number;
  /**
   * A replica taken out of service is marked not ready (event `NotReady`) this long before SIGTERM,
   * like a preStop sleep, so the router stops sending it requests first (default 0).
   */
  stopDelayMs?: number;
  /** Host environment variables passed to replicas (default PATH, HOME, LANG, TZ, TMPDIR). */
  inheritEnv?: string[];
  onEvent?: (e: SupervisorEvent) => void;
}

interface Probe {
  kind: 'readiness' | 'liveness';
  httpPath?: string;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

interface Replica {
  version: Version;
  name: string;
  port: number;
  spec: ReplicaSpec;
  logFile: string;
  stateFile: string;
  child?: ChildProcess;
  pid?: number;
  /** Incremented per start; timers of an older process check it and stop. */
  generation: number;
  ready: boolean;
  readySince?: number;
  startedAt?: number;
  restarts: number;
  /** Crashes since the back-off was last reset. */
  streak: number;
  phase: PodPhase;
  reason?: string;
  backoffMs?: number;
  lastState?: PodStatus['lastState'];
  livenessKilled: boolean;
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
  /** Resolves when the current process has exited (or at once when none runs). */
  exited: Promise<void>;
  resolveExited: () => void;
}

interface Version {
  name: string;
  dir: string;
  desired: number;
  next: number;
  createdAt: number;
  replicas: Replica[];
  terminating: Set<Replica>;
  warnings: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const K8S_PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  failureThreshold: 3,
  successThreshold: 1,
};

export class Supervisor {
  private readonly logDir: string;
  private readonly clock: () => number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly backoffResetMs: number;
  private readonly gracePeriodMs: number;
  private readonly stopDelayMs: number;
  private readonly inheritEnv: string[];
  private readonly onEvent: (e: SupervisorEvent) => void;
  private readonly versions = new Map<string, Version>();
  private readonly ports = new Set<number>();
  private closed = false;

  constructor(options: SupervisorOptions) {
    this.logDir = options.logDir;
    this.clock = options.clock ?? Date.now;
    this.backoffBaseMs = options.backoffBaseMs ?? 10_000;
    this.backoffMaxMs = options.backoffMaxMs ?? 300_000;
    this.backoffResetMs = options.backoffResetMs ?? 600_000;
    this.gracePeriodMs = options.gracePeriodMs ?? 30_000;
    this.stopDelayMs = options.stopDelayMs ?? 0;
    this.inheritEnv = options.inheritEnv ?? ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'];
    this.onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Sets the number of replicas of a version. New replicas use `spec` (a version's spec is expected
   * not to change: a new template is a new version). Resolves once new replicas are spawned and
   * removed ones (the newest first) are signalled; `settled` waits for them to exit.
   */
  async scale(versionName: string, spec: ReplicaSpec, replicas: number): Promise<void> {
    if (this.closed) throw new Error('supervisor is closed');
    if (!NAME.test(versionName)) throw new Error(`invalid version name ${JSON.stringify(versionName)}`);
    if (!Number.isInteger(replicas) || replicas < 0) throw new Error(`invalid replica count ${replicas}`);
    argvOf(spec, {}); // fails early without a program
    let v = this.versions.get(versionName);
    if (!v) {
      const dir = path.join(this.logDir, versionName);
      mkdirSync(dir, { recursive: true });
      v = {
        name: versionName,
        dir,
        desired: 0,
        next: 0,
        createdAt: this.clock(),
        replicas: [],
        terminating: new Set(),
        warnings: [],
      };
      this.versions.set(versionName, v);
    }
    v.warnings = warningsOf(spec);
    v.desired = replicas;
    while (v.replicas.length > replicas) {
      const r = v.replicas.pop()!;
      this.stop(r, 'scaled down');
    }
    const added: Replica[] = [];
    while (v.replicas.length < replicas) {
      const name = `${versionName}-${v.next++}`;
      const r: Replica = {
        version: v,
        name,
        port: 0,
        spec,
        logFile: path.join(v.dir, `${name}.log`),
        stateFile: path.join(v.dir, `${name}.json`),
        generation: 0,
        ready: false,
        restarts: 0,
        streak: 0,
        phase: 'Waiting',
        reason: 'ContainerCreating',
        livenessKilled: false,
        stopping: false,
        timers: new Set(),
        exited: Promise.resolve(),
        resolveExited: () => {},
      };
      v.replicas.push(r);
      added.push(r);
    }
    await Promise.all(
      added.map(async (r) => {
        r.port = await this.freePort();
        if (!r.stopping && !this.closed) this.start(r);
      }),
    );
  }

  /** Resolves when no replica of the version is terminating. */
  async settled(versionName: string): Promise<void> {
    const v = this.versions.get(versionName);
    if (!v) return;
    await Promise.all([...v.terminating].map((r) => r.exited));
  }

  status(versionName: string): VersionStatus | undefined {
    const v = this.versions.get(versionName);
    if (!v) return undefined;
    const now = this.clock();
    const pods = [...v.replicas, ...v.terminating].map((r) => this.podStatus(r));
    const current = v.replicas;
    const minReadyMs = (current[0]?.spec.minReadySeconds ?? 0) * 1000;
    return {
      replicas: v.desired,
      currentReplicas: current.length,
      readyReplicas: current.filter((r) => r.ready).length,
      availableReplicas: current.filter((r) => r.ready && now - (r.readySince ?? now) >= minReadyMs).length,
      terminatingReplicas: v.terminating.size,
      restarts: current.reduce((n, r) => n + r.restarts, 0),
      createdAt: new Date(v.createdAt).toISOString(),
      pods,
      warnings: [...v.warnings],
    };
  }

  /** The ready replicas' addresses, for the proxy. */
  endpoints(versionName: string): { host: string; port: number }[] {
    const v = this.versions.get(versionName);
    if (!v) return [];
    return v.replicas.filter((r) => r.ready).map((r) => ({ host: '127.0.0.1', port: r.port }));
  }

  versionNames(): string[] {
    return [...this.versions.keys()];
  }

  /** Stops every replica (SIGTERM, SIGKILL after the grace period) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    const waits: Promise<void>[] = [];
    for (const v of this.versions.values()) {
      v.desired = 0;
      for (const r of v.replicas.splice(0)) this.stop(r, 'supervisor closed');
      for (const r of v.terminating) waits.push(r.exited);
    }
    await Promise.all(waits);
  }

  private podStatus(r: Replica): PodStatus {
    const p: PodStatus = {
      name: r.name,
      port: r.port,
      ready: r.ready,
      phase: r.phase,
      restarts: r.restarts,
      logFile: r.logFile,
    };
    if (r.pid !== undefined) p.pid = r.pid;
    if (r.reason !== undefined) p.reason = r.reason;
    if (r.backoffMs !== undefined) p.backoffMs = r.backoffMs;
    if (r.startedAt !== undefined && r.pid !== undefined) p.startedAt = new Date(r.startedAt).toISOString();
    if (r.lastState) p.lastState = { ...r.lastState };
    return p;
  }

  private emit(e: SupervisorEvent): void {
    try {
      this.onEvent(e);
    } catch {
      // A listener's error must not break supervision.
    }
  }

  private timer(r: Replica, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      r.timers.delete(t);
      fn();
    }, ms);
    r.timers.add(t);
  }

  private clearTimers(r: Replica): void {
    for (const t of r.timers) clearTimeout(t);
    r.timers.clear();
  }

  private start(r: Replica): void {
    const generation = ++r.generation;
    const env = this.envOf(r);
    const [file, ...args] = argvOf(r.spec, env);
    const v = r.version;
    r.exited = new Promise((resolve) => {
      r.resolveExited = resolve;
    });
    r.livenessKilled = false;
    r.ready = false;
    r.readySince = undefined;
    r.backoffMs = undefined;
    r.startedAt = this.clock();
    appendFileSync(
      r.logFile,
      `--- vireo: starting ${r.name} (restart ${r.restarts}) at ${new Date(r.startedAt).toISOString()}: ${JSON.stringify([file, ...args])}\n`,
    );
    let child: ChildProcess;
    const fd = openSync(r.logFile, 'a');
    try {
      child = spawn(file!, args, {
        cwd: r.spec.workingDir,
        env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } catch (err) {
      closeSync(fd);
      this.exited(r, generation, null, null, err as Error);
      return;
    }
    closeSync(fd);
    r.child = child;
    let done = false;
    child.once('error', (err) => {
      if (done) return;
      done = true;
      this.exited(r, generation, null, null, err);
    });
    child.once('exit', (code, signal) => {
      if (done) return;
      done = true;
      this.exited(r, generation, code, signal);
    });
    if (child.pid === undefined) return; // 'error' follows
    r.pid = child.pid;
    r.phase = 'Running';
    r.reason = undefined;
    this.writeState(r);
    this.emit({ type: 'Started', version: v.name, replica: r.name, pid: child.pid, port: r.port });
    const readiness = probeOf('readiness', r.spec.readinessProbe);
    if (readiness) this.runProbe(r, generation, readiness);
    else this.setReady(r, true);
    const liveness = probeOf('liveness', r.spec.livenessProbe);
    if (liveness) this.runProbe(r, generation, liveness);
  }

  private exited(
    r: Replica,
    generation: number,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    startError?: Error,
  ): void {
    if (generation !== r.generation) return;
    const pid = r.pid;
    // The group is the container: nothing of it outlives the leader.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    this.clearTimers(r);
    const now = this.clock();
    const reason = startError
      ? 'StartError'
      : r.livenessKilled
        ? 'LivenessProbeFailed'
        : exitCode === 0
          ? 'Completed'
          : 'Error';
    r.lastState = {
      exitCode,
      signal,
      reason,
      finishedAt: new Date(now).toISOString(),
      ...(startError ? { message: startError.message } : {}),
    };
    const ranMs = r.startedAt === undefined ? 0 : now - r.startedAt;
    r.child = undefined;
    r.pid = undefined;
    r.ready = false;
    r.readySince = undefined;
    if (startError) appendFileSync(r.logFile, `--- vireo: cannot start ${r.name}: ${startError.message}\n`);
    this.emit({
      type: 'Exited',
      version: r.version.name,
      replica: r.name,
      ...(pid !== undefined ? { pid } : {}),
      exitCode,
      signal,
      reason,
    });
    const resolve = r.resolveExited;
    if (r.stopping || this.closed) {
      this.finish(r);
      resolve();
      return;
    }
    if (ranMs >= this.backoffResetMs) r.streak = 0;
    r.streak++;
    const delay = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (r.streak - 1));
    r.phase = 'Waiting';
    r.reason = 'CrashLoopBackOff';
    r.backoffMs = delay;
    this.writeState(r);
    this.emit({ type: 'BackOff', version: r.version.name, replica: r.name, delayMs: delay });
    resolve();
    this.timer(r, delay, () => {
      if (r.stopping || this.closed) return;
      r.restarts++;
      this.start(r);
    });
  }

  /** Takes a replica out of service: SIGTERM to its group, SIGKILL after the grace period. */
  private stop(r: Replica, why: string): void {
    const v = r.version;
    r.stopping = true;
    r.phase = 'Terminating';
    r.reason = undefined;
    const wasReady = r.ready;
    r.ready = false;
    this.clearTimers(r);
    if (r.pid === undefined) {
      // Waiting (back-off or port allocation): nothing runs.
      r.generation++;
      this.finish(r);
      return;
    }
    v.terminating.add(r);
    if (wasReady) this.emit({ type: 'NotReady', version: v.name, replica: r.name });
    if (this.stopDelayMs > 0 && !this.closed) {
      const generation = r.generation;
      const pid = r.pid;
      const t = setTimeout(() => {
        if (r.generation === generation && r.pid === pid) this.terminate(r, why);
      }, this.stopDelayMs);
      r.exited.then(() => clearTimeout(t));
    } else this.terminate(r, why);
  }

  /**
   * Replaces up to `count` replicas of a version started before `before` (epoch ms), oldest first:
   * each is taken out of service and a new one started in its place (Argo's restart evicts pods and
   * the ReplicaSet creates new ones). Returns how many were replaced.
   */
  async restartReplicas(versionName: string, count: number, before: number): Promise<number> {
    const v = this.versions.get(versionName);
    if (!v || count <= 0) return 0;
    const old = v.replicas
      .filter((r) => r.startedAt !== undefined && r.startedAt < before)
      .sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0))
      .slice(0, count);
    for (const r of old) {
      v.replicas.splice(v.replicas.indexOf(r), 1);
      this.stop(r, 'restarted (rollout restart)');
    }
    if (old.length > 0 && old[0]) await this.scale(versionName, old[0].spec, v.desired);
    return old.length;
  }

  /** Replicas of a version started before `before` (epoch ms), terminating ones included. */
  countStartedBefore(versionName: string, before: number): number {
    const v = this.versions.get(versionName);
    if (!v) return 0;
    return [...v.replicas, ...v.terminating].filter((r) => r.startedAt !== undefined && r.startedAt < before)
      .length;
  }

  /** Forgets a version scaled to 0 once its replicas have exited (a deleted ReplicaSet). */
  async remove(versionName: string): Promise<void> {
    const v = this.versions.get(versionName);
    if (!v) return;
    if (v.replicas.length > 0)
      throw new Error(`version ${versionName} still has replicas; scale it to 0 first`);
    await this.settled(versionName);
    if (v.desired === 0 && v.replicas.length === 0) {
      this.versions.delete(versionName);
      rmSync(v.dir, { recursive: true, force: true });
    }
  }

  private terminate(r: Replica, why: string): void {
    const pid = r.pid!;
    const generation = r.generation;
    this.emit({ type: 'Killing', version: r.version.name, replica: r.name, pid, why });
    appendFileSync(r.logFile, `--- vireo: stopping ${r.name} (pid ${pid}): ${why}\n`);
    killGroup(pid, 'SIGTERM');
    // Not a replica timer: it must survive clearTimers until the process has exited.
    const t = setTimeout(() => {
      if (r.generation === generation && r.pid === pid) killGroup(pid, 'SIGKILL');
    }, this.gracePeriodMs);
    r.exited.then(() => clearTimeout(t));
  }

  private finish(r: Replica): void {
    r.version.terminating.delete(r);
    this.ports.delete(r.port);
    rmSync(r.stateFile, { force: true });
  }

  private setReady(r: Replica, ready: boolean): void {
    if (r.ready === ready) return;
    r.ready = ready;
    r.readySince = ready ? this.clock() : undefined;
    this.emit({ type: ready ? 'Ready' : 'NotReady', version: r.version.name, replica: r.name });
  }

  private runProbe(r: Replica, generation: number, p: Probe): void {
    let successes = 0;
    let failures = 0;
    const tick = async () => {
      if (r.generation !== generation || r.stopping) return;
      const result = await check(r.port, p);
      if (r.generation !== generation || r.stopping || r.pid === undefined) return;
      if (result === true) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        this.emit({
          type: 'Unhealthy',
          version: r.version.name,
          replica: r.name,
          probe: p.kind,
          message: result,
        });
      }
      if (p.kind === 'readiness') {
        if (!r.ready && successes >= p.successThreshold) this.setReady(r, true);
        else if (r.ready && failures >= p.failureThreshold) this.setReady(r, false);
      } else if (failures >= p.failureThreshold) {
        r.livenessKilled = true;
        r.ready = false;
        this.clearTimers(r);
        this.terminate(r, `liveness probe failed ${failures} time(s): ${result}`);
        return;
      }
      this.timer(r, p.periodMs, () => void tick());
    };
    this.timer(r, p.initialDelayMs, () => void tick());
  }

  private envOf(r: Replica): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of this.inheritEnv) {
      const value = process.env[k];
      if (value !== undefined) env[k] = value;
    }
    env.PORT = String(r.port);
    env.IMAGE = r.spec.image;
    // Marks the process as this supervisor's, so a restarted runtime finds it even when it was killed
    // between spawning it and writing its state file.
    env[SUPERVISOR_ENV] = this.logDir;
    for (const e of r.spec.env ?? []) {
      if (e.name === 'PORT' || e.name === 'IMAGE') continue; // the supervisor's values win
      env[e.name] = expand(e.value ?? '', env);
    }
    return env;
  }

  private async freePort(): Promise<number> {
    for (let i = 0; i < 20; i++) {
      const port = await new Promise<number>((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
          const a = s.address();
          s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
        });
      });
      if (port > 0 && !this.ports.has(port)) {
        this.ports.add(port);
        return port;
      }
    }
    throw new Error('no free loopback port');
  }

  private writeState(r: Replica): void {
    const state = {
      version: r.version.name,
      replica: r.name,
      pid: r.pid ?? null,
      pgid: r.pid ?? null,
      procStart: r.pid === undefined ? null : (processStartTime(r.pid) ?? null),
      port: r.port,
      image: r.spec.image,
      restarts: r.restarts,
      startedAt: r.startedAt === undefined ? null : new Date(r.startedAt).toISOString(),
      logFile: r.logFile,
    };
    const tmp = `${r.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, r.stateFile);
  }
}

/**
 * After `vireo up` was killed (kill -9): stops the replica processes a previous runtime left running,
 * found from the state files under `logDir`, so a restarted runtime starts from a clean slate and no
 * orphan holds a port. A pid is only signalled when the process start time recorded with it still
 * matches (Linux /proc), so a reused pid is never hit. Returns the pids stopped.
 */
export const SUPERVISOR_ENV = 'VIREO_SUPERVISOR';

export function stopLeftoverReplicas(logDir: string): number[] {
  const stopped: number[] = [];
  // Processes that carry this supervisor's mark (Linux /proc), state file or not.
  const mark = Buffer.from(`\0${SUPERVISOR_ENV}=${logDir}\0`);
  let procs: string[] = [];
  try {
    procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    // Not Linux: the state files below are all there is.
  }
  for (const p of procs) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${p}/environ`)]);
      if (environ.includes(mark)) {
        killGroup(pid, 'SIGKILL');
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
        stopped.push(pid);
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  let versions: string[];
  try {
    versions = readdirSync(logDir);
  } catch {
    return stopped;
  }
  for (const version of versions) {
    let files: string[];
    try {
      files = readdirSync(path.join(logDir, version)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      const file = path.join(logDir, version, f);
      try {
        const state = JSON.parse(readFileSync(file, 'utf8')) as {
          pid?: number | null;
          procStart?: string | null;
        };
        const pid = state.pid;
        if (
          typeof pid === 'number' &&
          pid > 1 &&
          !stopped.includes(pid) &&
          state.procStart &&
          processStartTime(pid) === state.procStart
        ) {
          killGroup(pid, 'SIGKILL');
          stopped.push(pid);
        }
      } catch {
        // A damaged or half-written state file: nothing to stop from it.
      }
      rmSync(file, { force: true });
    }
    // Half-written state files of a killed runtime.
    try {
      for (const f of readdirSync(path.join(logDir, version)))
        if (f.endsWith('.tmp')) rmSync(path.join(logDir, version, f), { force: true });
    } catch {
      // gone
    }
  }
  return stopped;
}

/** The start time of a process in clock ticks since boot (/proc/PID/stat field 22), when readable. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Fills the engine's ObservedReplicaSet from a version's status. */
export function observedReplicaSet(hash: string, s: VersionStatus): ObservedReplicaSet {
  return {
    hash,
    replicas: s.replicas,
    currentReplicas: s.currentReplicas,
    readyReplicas: s.readyReplicas,
    availableReplicas: s.availableReplicas,
    createdAt: s.createdAt,
  };
}

/** Kubernetes' $(VAR) expansion: known variables are replaced, `$$` escapes, the rest stays. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? m;
  });
}

function argvOf(spec: ReplicaSpec, env: Record<string, string>): string[] {
  const argv = [...(spec.command ?? []), ...(spec.args ?? [])].map((a) => expand(a, env));
  if (argv.length === 0 || !argv[0]) throw new Error('the container has neither command nor args');
  return argv;
}

function warningsOf(spec: ReplicaSpec): string[] {
  const w: string[] = [];
  for (const [kind, p] of [
    ['readinessProbe', spec.readinessProbe],
    ['livenessProbe', spec.livenessProbe],
  ] as const) {
    if (p && !p.httpGet && !p.tcpSocket)
      w.push(`${kind}: only httpGet and tcpSocket are carried out locally`);
    if (p?.httpGet?.scheme === 'HTTPS') w.push(`${kind}: HTTPS is probed as HTTP`);
  }
  return w;
}

function probeOf(kind: Probe['kind'], spec: ProbeSpec | undefined): Probe | undefined {
  if (!spec || (!spec.httpGet && !spec.tcpSocket)) return undefined;
  const d = K8S_PROBE_DEFAULTS;
  return {
    kind,
    ...(spec.httpGet ? { httpPath: spec.httpGet.path || '/' } : {}),
    initialDelayMs: (spec.initialDelaySeconds ?? d.initialDelaySeconds) * 1000,
    periodMs: Math.max(1, (spec.periodSeconds ?? d.periodSeconds) * 1000),
    timeoutMs: Math.max(1, (spec.timeoutSeconds ?? d.timeoutSeconds) * 1000),
    failureThreshold: Math.max(1, spec.failureThreshold ?? d.failureThreshold),
    successThreshold: kind === 'liveness' ? 1 : Math.max(1, spec.successThreshold ?? d.successThreshold),
  };
}

/** true, or why the probe failed. The probe always targets the replica's PORT. */
function check(port: number, p: Probe): Promise<true | string> {
  return new Promise((resolve) => {
    if (p.httpPath === undefined) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setTimeout(p.timeoutMs, () => {
        s.destroy();
        resolve('timeout');
      });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', (e) => resolve(e.message));
      return;
    }
    const req = http.get(
      { host: '127.0.0.1', port, path: p.httpPath, timeout: p.timeoutMs, agent: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? true : `HTTP probe failed with statuscode: ${code}`);
      },
    );
    req.once('timeout', () => {
      req.destroy();
      resolve('timeout');
    });
    req.once('error', (e) => resolve(e.message));
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone already.
  }
}
