/**
 * The load tester's tasks: commands started asynchronously and de-duplicated (`cmd`), and blocking
 * ones (`bash`, `kubectl`, `helm`) whose result is the HTTP answer.
 *
 * A command that is a hey line (see `hey.ts`) runs on the built-in generator in both modes; anything
 * else runs as a process in its own group with a bounded output tail and the time limit (default
 * 1 h, the loadtester's `-timeout`), like flagger-loadtester's `sh -c` / `bash -c`.
 */
import { parseHey } from './hey.js';
import { formatLoadReport, runLoad } from './load.js';
import { type ProcessResult, runProcess } from './process.js';

export type LogFn = (level: 'info' | 'error', canary: string, message: string) => void;

export interface TaskResult {
  ok: boolean;
  /** Combined output (bounded tail), or the load report for built-in hey runs. */
  output: string;
  /** Why it failed ("exit status 1", "signal: killed", hey's usage message…). */
  error?: string;
}

export interface TaskRunnerOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  log: LogFn;
}

export type BlockingType = 'bash' | 'kubectl' | 'helm' | 'helmv3';

interface Running {
  canary: string;
  cmd: string;
  stop: AbortController;
  done: Promise<void>;
}

export class TaskRunner {
  private readonly running = new Map<string, Running>();
  private readonly blocking = new Set<AbortController>();
  private readonly pendingBlocking = new Set<Promise<unknown>>();
  /** Counters for /metrics. */
  readonly counts = { started: 0, skipped: 0, failed: 0, blocking: 0, loadRequests: 0 };

  constructor(private readonly o: TaskRunnerOptions) {}

  /** Commands now running, as `canary` / `cmd`. */
  active(): { canary: string; cmd: string }[] {
    return [...this.running.values()].map(({ canary, cmd }) => ({ canary, cmd }));
  }

  /**
   * Start `cmd` for `canary` in the background unless the same command already runs for it (a long
   * `hey -z 1m` asked for on every analysis tick runs once). Returns whether it started.
   */
  add(canary: string, cmd: string, logCmdOutput = false): 'started' | 'skipped' {
    const key = `${canary}\n${cmd}`;
    if (this.running.has(key)) {
      this.counts.skipped++;
      this.o.log('info', canary, `command skipped ${cmd} is already running`);
      return 'skipped';
    }
    this.counts.started++;
    const stop = new AbortController();
    this.o.log('info', canary, `command starting ${cmd}`);
    const done = this.execute(cmd, 'sh', stop.signal).then((r) => {
      this.running.delete(key);
      if (!r.ok) {
        this.counts.failed++;
        this.o.log('error', canary, `command failed ${cmd} ${r.error ?? ''} ${r.output}`.trimEnd());
      } else {
        if (logCmdOutput && r.output) this.o.log('info', canary, r.output.trimEnd());
        this.o.log('info', canary, `command finished ${cmd}`);
      }
    });
    this.running.set(key, { canary, cmd, stop, done });
    return 'started';
  }

  /** Run a blocking task and give its result. */
  async runBlocking(type: BlockingType, canary: string, cmd: string): Promise<TaskResult> {
    this.counts.blocking++;
    const stop = new AbortController();
    this.blocking.add(stop);
    this.o.log('info', canary, `${type} command ${cmd}`);
    const p =
      type === 'bash'
        ? this.execute(cmd, 'bash', stop.signal)
        : // kubectl and helm get the command's whitespace-separated fields as arguments, no shell.
          this.process(
            type === 'kubectl' ? 'kubectl' : 'helm',
            cmd.split(/\s+/).filter(Boolean),
            stop.signal,
          );
    this.pendingBlocking.add(p);
    try {
      const r = await p;
      if (!r.ok) this.o.log('error', canary, `command failed ${cmd} ${r.error ?? ''} ${r.output}`.trimEnd());
      else {
        this.o.log('info', canary, r.output.trimEnd());
        this.o.log('info', canary, `command finished ${cmd}`);
      }
      return r;
    } finally {
      this.blocking.delete(stop);
      this.pendingBlocking.delete(p);
    }
  }

  /** Stop everything that runs and wait for it. */
  async close(): Promise<void> {
    for (const r of this.running.values()) r.stop.abort();
    for (const s of this.blocking) s.abort();
    await Promise.all([...[...this.running.values()].map((r) => r.done), ...this.pendingBlocking]);
  }

  private async execute(cmd: string, shell: 'sh' | 'bash', signal: AbortSignal): Promise<TaskResult> {
    const hey = parseHey(cmd);
    if (hey.kind === 'invalid') return { ok: false, output: '', error: `hey: ${hey.message}` };
    if (hey.kind === 'load') {
      const timeout = AbortSignal.timeout(this.o.timeoutMs);
      try {
        const report = await runLoad({ ...hey.load, signal: AbortSignal.any([signal, timeout]) });
        this.counts.loadRequests += report.requests;
        return { ok: true, output: formatLoadReport(report) };
      } catch (e) {
        return { ok: false, output: '', error: `hey: ${(e as Error).message}` };
      }
    }
    return this.process(shell, ['-c', cmd], signal);
  }

  private async process(file: string, args: string[], signal: AbortSignal): Promise<TaskResult> {
    const r: ProcessResult = await runProcess(file, args, {
      timeoutMs: this.o.timeoutMs,
      maxOutputBytes: this.o.maxOutputBytes,
      signal,
    });
    const output = r.truncated ? `…${r.output}` : r.output;
    return r.ok ? { ok: true, output } : { ok: false, output, error: r.error ?? 'failed' };
  }
}
