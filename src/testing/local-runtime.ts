/**
 * Test harness for the local runtime as users run it: `vireo up` as a real child process (the CLI
 * through tsx, from the repository root), its HTTP API, a small load generator and a look at the
 * processes it leaves behind (tests only; Linux /proc for the process checks).
 *
 * - `startVireoUp()` spawns `vireo up --state-dir DIR --listen 127.0.0.1:PORT`, keeps its output and
 *   its exit; `kill()` signals it and waits for the exit (the lock of a killed runtime is only taken
 *   over once its pid is gone, so a restart must wait for it).
 * - Every `vireo up` is started with `TMPDIR` set to a path unique to the harness (a symlink to the real
 *   temporary directory, so tsx's compile cache stays warm). The supervisor passes `TMPDIR` on to the
 *   replica processes, which makes every process of the harness findable in `/proc/PID/environ`,
 *   including replicas no API answer ever showed (`harnessProcesses`).
 * - `stopAll()` ends everything the harness started: SIGKILL to each `vireo up` still running, then
 *   `stopLeftoverReplicas` on each state directory's `logs` (replicas of a killed runtime outlive it
 *   until the next start stops them), then a last sweep of the tagged processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopLeftoverReplicas } from '../platforms/local/processes/supervisor.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, everyMs = 100 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `gave up waiting for ${what} after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`,
      );
    await sleep(everyMs);
  }
}

/** /proc/PID/stat: state letter (R, S, Z, ...), parent and process group; undefined when there is no such process. */
function procStat(pid: number): { state: string; ppid: number; pgid: number; start?: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state = '', ppid = '0', pgid = '0'] = fields;
    return { state, ppid: Number(ppid), pgid: Number(pgid), ...(fields[19] ? { start: fields[19] } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a live process: `process.kill(pid, 0)` succeeds and, where /proc tells, it is not
 * a zombie (a killed replica whose new parent does not reap it is dead, though its pid still exists).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = procStat(pid)?.state;
  return state !== 'Z' && state !== 'X';
}

/** A JSON answer of the runtime's API, or undefined when the runtime cannot be reached. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
}

export class RuntimeApi {
  constructor(readonly url: string) {}

  async request<T>(method: 'GET' | 'POST', pathname: string, body?: unknown): Promise<ApiAnswer<T>> {
    const res = await fetch(new URL(pathname, this.url), {
      method,
      signal: AbortSignal.timeout(5_000),
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // plain text (healthz)
    }
    return { status: res.status, body: parsed as T };
  }

  get<T>(pathname: string): Promise<ApiAnswer<T>> {
    return this.request<T>('GET', pathname);
  }

  post<T>(pathname: string, body: unknown): Promise<ApiAnswer<T>> {
    return this.request<T>('POST', pathname, body);
  }

  /** Like `get`, undefined when the runtime does not answer (down, starting, killed). */
  async tryGet<T>(pathname: string): Promise<ApiAnswer<T> | undefined> {
    try {
      return await this.get<T>(pathname);
    } catch {
      return undefined;
    }
  }
}

export interface VireoUp {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly api: RuntimeApi;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it is still running. */
  kill(
    signal: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until `/healthz` answers; throws with the output when the process exits first. */
  healthy(timeoutMs?: number): Promise<void>;
}

export interface TaggedProcess {
  pid: number;
  ppid: number;
  /** Process group: a replica leads its own (the supervisor starts it detached). */
  pgid: number;
  cmd: string;
  /** PORT and IMAGE from its environment (a replica's). */
  port?: string;
  image?: string;
  /** Start time, clock ticks since boot (/proc/PID/stat field 22). */
  startTicks?: string;
  /** Where its stdout goes (a replica's: its log file). */
  stdout?: string;
}

export interface Harness {
  /** A fresh directory under the harness's temporary root. */
  dir(name: string): string;
  /** `vireo up` on `stateDir`, its API on 127.0.0.1:`apiPort`. */
  start(stateDir: string, apiPort: number): VireoUp;
  /** Live processes started by this harness's runtimes: the runtimes, their replicas and their children. */
  processes(): TaggedProcess[];
  /** The temporary root: state directories and each `vireo up`'s output (`vireo-up-PID.log`). */
  readonly root: string;
  /** Ends every process the harness started, then removes its temporary root (see module comment). */
  stopAll(options?: { keepFiles?: boolean }): Promise<void>;
}

const everyHarness = new Set<Harness>();
let exitHook = false;

export function localRuntimeHarness(): Harness {
  const root = mkdtempSync(path.join(tmpdir(), 'vireo-crash-'));
  // The tag: a unique TMPDIR that still reaches the real temporary directory (see module comment).
  const tag = path.join(root, 'tmp');
  symlinkSync(tmpdir(), tag);
  const ups = new Set<VireoUp>();
  const stateDirs = new Set<string>();

  const processes = (): TaggedProcess[] => {
    const found: TaggedProcess[] = [];
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return found;
    }
    for (const p of pids) {
      const pid = Number(p);
      if (pid === process.pid) continue;
      try {
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (!env.includes(`TMPDIR=${tag}`) || !processAlive(pid)) continue;
        const stat = procStat(pid);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
        const port = env.find((e) => e.startsWith('PORT='))?.slice(5);
        let stdout: string | undefined;
        try {
          stdout = readlinkSync(`/proc/${pid}/fd/1`);
        } catch {
          // closed or not ours
        }
        const image = env.find((e) => e.startsWith('IMAGE='))?.slice(6);
        if (stat)
          found.push({
            pid,
            ppid: stat.ppid,
            pgid: stat.pgid,
            cmd,
            ...(port ? { port } : {}),
            ...(image ? { image } : {}),
            ...(stat.start ? { startTicks: stat.start } : {}),
            ...(stdout ? { stdout } : {}),
          });
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return found;
  };

  const harness: Harness = {
    root,
    dir(name) {
      return mkdtempSync(path.join(root, `${name}-`));
    },

    start(stateDir, apiPort) {
      stateDirs.add(stateDir);
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'up',
          '--state-dir',
          stateDir,
          '--listen',
          `127.0.0.1:${apiPort}`,
          '--no-dashboard',
        ],
        { cwd: repoRoot, env: { ...process.env, TMPDIR: tag }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      const logFile = path.join(root, `vireo-up-${child.pid ?? 'none'}.log`);
      const keep = (d: string) => {
        out += d;
        appendFileSync(logFile, d);
      };
      child.stdout?.setEncoding('utf8').on('data', keep);
      child.stderr?.setEncoding('utf8').on('data', keep);
      let done = false;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once('exit', (code, signal) => {
          done = true;
          resolve({ code, signal });
        });
        child.once('error', (e) => {
          out += `spawn error: ${e.message}\n`;
          done = true;
          resolve({ code: null, signal: null });
        });
      });
      const api = new RuntimeApi(`http://127.0.0.1:${apiPort}`);
      const up: VireoUp = {
        pid: child.pid ?? -1,
        child,
        api,
        output: () => out,
        exited,
        running: () => !done,
        async kill(signal, graceMs = 15_000) {
          if (done) return exited;
          child.kill(signal);
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          const r = await exited;
          clearTimeout(timer);
          ups.delete(up);
          return r;
        },
        async healthy(timeoutMs = 30_000) {
          await until(
            `vireo up (pid ${up.pid}) to answer /healthz`,
            async () => {
              if (done) throw new Error(`vireo up exited before it was healthy; its output:\n${out}`);
              const r = await api.tryGet<string>('/healthz');
              return r?.status === 200;
            },
            { timeoutMs, everyMs: 50 },
          ).catch((e: Error) => {
            throw new Error(`${e.message}\n--- vireo up output:\n${out}`);
          });
        },
      };
      ups.add(up);
      void exited.then(() => ups.delete(up));
      return up;
    },

    processes,

    async stopAll(options = {}) {
      await Promise.all([...ups].map((u) => u.kill('SIGKILL')));
      for (const dir of stateDirs) stopLeftoverReplicas(path.join(dir, 'logs'));
      // Anything else tagged (a replica spawned by a runtime killed before it recorded the pid).
      for (const { pid } of processes()) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      everyHarness.delete(harness);
      if (!options.keepFiles) rmSync(root, { recursive: true, force: true });
    },
  };
  everyHarness.add(harness);
  if (!exitHook) {
    exitHook = true;
    // Last resort when a test run dies before its hooks: no runtime outlives the tests.
    process.once('exit', () => {
      for (const h of everyHarness) for (const p of h.processes()) killQuietly(p.pid);
    });
  }
  return harness;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

export interface LoadStats {
  sent: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  /** 200 answers by the colour the demo service reported. */
  colors: Record<string, number>;
  /** Requests without an answer (the runtime was down, the connection was refused or reset). */
  unanswered: number;
}

/**
 * Steady GET `url` traffic (`rate` per second, at most `concurrency` in flight), one connection per
 * request. `recent(ms)` gives the stats of the answers of the last `ms`.
 */
export function startLoad(url: string, rate = 40, concurrency = 8) {
  const stats: LoadStats = { sent: 0, statuses: {}, colors: {}, unanswered: 0 };
  const log: { at: number; status: number; color?: string }[] = [];
  let inFlight = 0;
  let stopped = false;
  const one = () => {
    inFlight++;
    stats.sent++;
    const req = http.get(url, { agent: false, timeout: 3_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        inFlight--;
        const status = res.statusCode ?? 0;
        stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        let color: string | undefined;
        if (status === 200) {
          try {
            color = (JSON.parse(body) as { color?: string }).color;
          } catch {
            // not the demo's JSON
          }
          if (color) stats.colors[color] = (stats.colors[color] ?? 0) + 1;
        }
        log.push({ at: Date.now(), status, ...(color ? { color } : {}) });
        if (log.length > 5_000) log.splice(0, 1_000);
      });
      res.on('error', () => {});
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      inFlight--;
      stats.unanswered++;
    });
  };
  const timer = setInterval(
    () => {
      if (!stopped && inFlight < concurrency) one();
    },
    Math.max(1, Math.round(1000 / rate)),
  );
  return {
    stats,
    /** Answers received in the last `ms`. */
    recent(ms: number) {
      const since = Date.now() - ms;
      return log.filter((x) => x.at >= since);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
