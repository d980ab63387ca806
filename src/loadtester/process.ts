/**
 * Running one command for the load tester: its own process group (so a timeout or shutdown reaches
 * everything it started), a bounded tail of its combined output, a time limit.
 */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  ok: boolean;
  /** Exit code, or null when a signal ended it or it never started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The tail of stdout and stderr, interleaved as written. */
  output: string;
  /** Older output was dropped to keep the tail bounded. */
  truncated: boolean;
  timedOut: boolean;
  /** Why it failed, worded like Go's `exec` errors ("exit status 1", "signal: killed"). */
  error?: string;
}

export interface ProcessOptions {
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

const groups = new Set<number>();
let hooked = false;
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

/** Run `file` with `args` (no shell unless `file` is one) and collect the result. */
export function runProcess(file: string, args: readonly string[], o: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const keep = (b: Buffer) => {
      chunks.push(b);
      size += b.length;
      while (size > o.maxOutputBytes && chunks.length > 0) {
        const first = chunks[0] as Buffer;
        const excess = size - o.maxOutputBytes;
        truncated = true;
        if (first.length <= excess) {
          chunks.shift();
          size -= first.length;
        } else {
          chunks[0] = first.subarray(excess);
          size -= excess;
        }
      }
    };
    let timedOut = false;
    let settled = false;
    const child = spawn(file, [...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid !== undefined) {
      groups.add(pid);
      if (!hooked) {
        hooked = true;
        process.once('exit', () => {
          for (const g of groups) killGroup(g, 'SIGKILL');
        });
      }
    }
    const stop = () => {
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => stop();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) stop();
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // Leftovers of an exited command would hold the pipes open; they end with it.
    child.once('exit', () => {
      stop();
      // A process that left the group (setsid) could still hold the pipes: stop waiting for them.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
    });
    const done = (code: number | null, signal: NodeJS.Signals | null, startError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) groups.delete(pid);
      const output = Buffer.concat(chunks).toString('utf8');
      const ok = !startError && code === 0;
      let error: string | undefined;
      if (startError) error = startError.message;
      else if (timedOut) error = `timed out after ${o.timeoutMs / 1000}s (signal: killed)`;
      else if (signal) error = `signal: ${signal === 'SIGKILL' ? 'killed' : signal}`;
      else if (code !== 0) error = `exit status ${code}`;
      resolve({
        ok,
        code: startError ? null : code,
        signal,
        output,
        truncated,
        timedOut,
        ...(error ? { error } : {}),
      });
    };
    child.once('error', (e) => done(null, null, e));
    child.once('close', (code, signal) => done(code, signal));
  });
}
