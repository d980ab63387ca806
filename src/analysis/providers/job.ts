/**
 * The Argo `job` metric provider for the local platform: the Job's command runs as a local process.
 *
 * Argo creates a batch/v1 Job from `metric.provider.job` and reads its conditions: Complete ->
 * Successful, Failed -> Failed (`metricproviders/job/job.go`). On one machine there is no kubelet, so
 * the pod template's first container's `command` + `args` run as a process, with Kubernetes' rules
 * for what makes a Job complete or fail:
 *
 * - argv is `command` followed by `args`, spawned directly (no shell unless the command is one);
 *   `$(VAR)` references to the container's `env` are expanded as Kubernetes expands them.
 * - exit 0 counts as one completion; the Job is Successful after `completions` (default 1) of them.
 *   A non-zero exit or a signal is a failed pod; the Job is Failed once more than `backoffLimit` pods
 *   failed, with Kubernetes' back-off (10 s, doubling, at most 6 min) before each new attempt.
 * - `activeDeadlineSeconds` (counted from the start, back-off included) fails the Job
 *   ("DeadlineExceeded") and kills its process group, as the Job controller deletes its pods.
 * - `run` answers `Running` with `resumeAt` (polling with a square-root back-off) and the process
 *   name in the measurement's `job-name` metadata, as Argo records the Job's name; `resume` reports the
 *   verdict once there is one; `terminate` kills the process group (SIGTERM, then SIGKILL after
 *   `terminationGracePeriodSeconds`).
 * - The process gets a small base environment (PATH, HOME, locale, TZ, TMPDIR) plus the container's
 *   `env` values; `valueFrom` entries are resolved by the adapter (`resolveValueFrom`), never here.
 *   The output is kept as a bounded tail for the measurement's message, with resolved secret values
 *   (ctx.argValues, valueFrom) masked.
 *
 * Differences from Argo on Kubernetes, on purpose:
 * - `backoffLimit` unset means 0 retries here (Kubernetes: 6, about ten minutes of back-off before a
 *   failing check is Failed); set it to get Kubernetes' retries.
 * - a command that cannot be started (not found, not executable, bad workingDir) is an Error
 *   measurement, not a failed Job: on one machine it means the tool is missing here, which says
 *   nothing about the release. Likewise a container without `command` (an image's entrypoint cannot
 *   run without the image) or with `envFrom` or an unresolved `valueFrom`.
 * - `parallelism` is ignored: completions run one after the other.
 * - the Kubernetes half (creating a batch Job, reading its conditions, garbage collection) is issue 6.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Measurement, Metric } from '../../api/argo/analysis.js';
import type { Observation } from '../../engine/analysis/engine.js';
import type { MaybePromise, MeasureContext, MetricProvider } from '../provider.js';

/** The measurement metadata key naming the local Job, as Argo's `JobNameKey`. */
export const JOB_NAME_KEY = 'job-name';

export interface EnvValueFrom {
  /** The variable's name. */
  name: string;
  /** The container's `valueFrom` (secretKeyRef, configMapKeyRef, fieldRef…). */
  valueFrom: Record<string, unknown>;
}

export interface LocalJobOptions {
  /** First poll delay in ms (default 1000); later polls wait pollMs·√n, at most maxPollMs. */
  pollMs?: number;
  /** Longest poll delay in ms (default 10000). */
  maxPollMs?: number;
  /** Bytes of combined stdout/stderr kept per Job (the tail; default 16 KiB). */
  outputBytes?: number;
  /** Characters of output put into a measurement's message (the tail; default 512). */
  messageChars?: number;
  /** Working directory when the container names none (default: the process's). */
  cwd?: string;
  /** The base environment (default: PATH, HOME, LANG, LC_ALL, TZ and TMPDIR of this process). */
  baseEnv?: Readonly<Record<string, string>>;
  /** First back-off after a failed attempt in ms (Kubernetes: 10 s); doubles per failure. */
  backoffBaseMs?: number;
  /** Longest back-off in ms (Kubernetes: 6 min). */
  backoffMaxMs?: number;
  /** Longest wait between SIGTERM and SIGKILL in ms (caps terminationGracePeriodSeconds, default 30 s). */
  maxGraceMs?: number;
  /** Resolves an env entry's `valueFrom` (the adapter reads Secrets and ConfigMaps); undefined = cannot. */
  resolveValueFrom?: (entry: EnvValueFrom, ctx: MeasureContext) => MaybePromise<string | undefined>;
  /** Called when a Job reaches its verdict, so an adapter can reconcile at once (as Argo's Job informer). */
  onSettled?: (jobName: string) => void;
}

type Verdict = 'Successful' | 'Failed' | 'Error';

interface LocalJob {
  name: string;
  startedAt: number;
  completions: number;
  backoffLimit: number;
  successes: number;
  failures: number;
  polls: number;
  graceMs: number;
  child?: ChildProcess;
  output: OutputTail;
  secrets: string[];
  verdict?: Verdict;
  message?: string;
  terminated?: boolean;
  timers: Set<NodeJS.Timeout>;
  /** Resolves when no process of the Job runs any more. */
  idle: Promise<void>;
  markIdle: () => void;
}

/** A Job spec reduced to what the local platform runs. */
interface LocalJobSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string | undefined;
  completions: number;
  backoffLimit: number;
  deadlineMs: number | undefined;
  graceMs: number;
  secrets: string[];
}

class SpecError extends Error {}

/** The last `limit` bytes written to it. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limit;
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** The kept text; `truncated` says whether older output was dropped. */
  text(): { text: string; truncated: boolean } {
    return { text: Buffer.concat(this.chunks).toString('utf8'), truncated: this.dropped };
  }
}

/**
 * Kubernetes' `$(VAR)` expansion (`third_party/forked/golang/expansion`): `$(NAME)` becomes the
 * variable's value when it is defined and stays as written otherwise; `$$` is a literal `$`.
 */
export function expandKubernetesVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}

/** Finished Jobs kept until their verdict is asked for. */
const MAX_UNCLAIMED = 256;

const BASE_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of BASE_ENV_KEYS) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

// Process groups still running, killed if Vireo exits first (detached children would outlive it).
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const g of liveGroups) signalGroup(g, 'SIGKILL');
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Replaces every secret value in `text` with `***`. */
function mask(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  return out;
}

export class LocalJobProvider implements MetricProvider {
  readonly type = 'job';
  private readonly jobs = new Map<string, LocalJob>();
  private readonly seq = new Map<string, number>();
  private readonly o: Required<Omit<LocalJobOptions, 'resolveValueFrom' | 'onSettled' | 'cwd'>> &
    Pick<LocalJobOptions, 'resolveValueFrom' | 'onSettled' | 'cwd'>;

  constructor(options: LocalJobOptions = {}) {
    this.o = {
      pollMs: 1000,
      maxPollMs: 10_000,
      outputBytes: 16 * 1024,
      messageChars: 512,
      baseEnv: defaultBaseEnv(),
      backoffBaseMs: 10_000,
      backoffMaxMs: 360_000,
      maxGraceMs: 30_000,
      ...options,
    };
  }

  run(metric: Metric, ctx: MeasureContext): MaybePromise<Observation> {
    let pending: MaybePromise<LocalJobSpec>;
    try {
      pending = this.localSpec(metric, ctx);
    } catch (e) {
      return this.specError(metric, e);
    }
    const start = (spec: LocalJobSpec): Observation => {
      const name = this.newName(metric, ctx);
      this.start(name, this.key(name, ctx), spec);
      return {
        metric: metric.name,
        phase: 'Running',
        resumeAt: ctx.now + this.o.pollMs,
        metadata: { [JOB_NAME_KEY]: name },
      };
    };
    return pending instanceof Promise
      ? pending.then(start, (e: unknown) => this.specError(metric, e))
      : start(pending);
  }

  resume(metric: Metric, measurement: Measurement, ctx: MeasureContext): Observation {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    if (!name) return { metric: metric.name, phase: 'Error', message: 'job metadata reference missing' };
    const job = this.jobs.get(this.key(name, ctx));
    if (!job)
      return {
        metric: metric.name,
        phase: 'Error',
        message: `job ${name} not found: its process is not known to this Vireo (was it restarted?)`,
      };
    if (job.verdict === undefined) {
      job.polls++;
      const delay = Math.min(this.o.maxPollMs, Math.round(this.o.pollMs * Math.sqrt(job.polls + 1)));
      return { metric: metric.name, phase: 'Running', resumeAt: ctx.now + delay };
    }
    // The verdict is reported once; the record goes (Argo garbage-collects Jobs beyond the history).
    this.jobs.delete(this.key(name, ctx));
    return {
      metric: metric.name,
      phase: job.verdict,
      ...(job.message ? { message: job.message } : {}),
    };
  }

  async terminate(_metric: Metric, measurement: Measurement, ctx: MeasureContext): Promise<void> {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    if (!name) return;
    const key = this.key(name, ctx);
    const job = this.jobs.get(key);
    if (!job) return;
    job.terminated = true;
    this.stop(job, 'Error', 'terminated');
    await job.idle;
    this.jobs.delete(key);
  }

  /** Jobs whose process still runs or waits for a retry. */
  running(): string[] {
    return [...this.jobs.values()].filter((j) => j.verdict === undefined).map((j) => j.name);
  }

  /** Kill every Job's process group at once (adapter shutdown). */
  async close(): Promise<void> {
    const all = [...this.jobs.values()];
    for (const j of all) {
      j.graceMs = 0;
      j.terminated = true;
      this.stop(j, 'Error', 'the provider was closed');
    }
    await Promise.all(all.map((j) => j.idle));
    this.jobs.clear();
  }

  // -----------------------------------------------------------------------------------------------

  private specError(metric: Metric, e: unknown): Observation {
    return { metric: metric.name, phase: 'Error', message: e instanceof Error ? e.message : String(e) };
  }

  private key(name: string, ctx: MeasureContext): string {
    return `${ctx.run.namespace ?? ''}/${name}`;
  }

  /** `<run>.<metric>.<n>`, like Argo's `<run uid>.<metric>.<n>`. */
  private newName(metric: Metric, ctx: MeasureContext): string {
    const base = `${ctx.run.name}.${metric.name}`;
    const seqKey = `${ctx.run.namespace ?? ''}/${base}`;
    const n = (this.seq.get(seqKey) ?? 0) + 1;
    this.seq.set(seqKey, n);
    return `${base}.${n}`;
  }

  private localSpec(metric: Metric, ctx: MeasureContext): MaybePromise<LocalJobSpec> {
    const job = (metric.provider as Record<string, unknown> | undefined)?.job;
    if (!isObject(job) || !isObject(job.spec))
      throw new SpecError('job: metric.provider.job.spec is missing');
    const spec = job.spec;
    const podSpec = isObject(spec.template) && isObject(spec.template.spec) ? spec.template.spec : undefined;
    const containers = podSpec?.containers;
    const container = Array.isArray(containers) && isObject(containers[0]) ? containers[0] : undefined;
    if (!container) throw new SpecError('job: the pod template has no containers');
    const cname = typeof container.name === 'string' ? container.name : '0';
    const command = container.command;
    const args = container.args ?? [];
    if (!Array.isArray(command) || command.length === 0)
      throw new SpecError(
        `job: container ${cname} has no command; the local platform runs command and args, it cannot run an image's entrypoint`,
      );
    if (!Array.isArray(args) || ![...command, ...args].every((a) => typeof a === 'string'))
      throw new SpecError(`job: container ${cname}: command and args must be lists of strings`);
    if (container.envFrom !== undefined)
      throw new SpecError(`job: container ${cname}: envFrom is not supported on the local platform`);
    const intField = (v: unknown, name: string, min: number): number | undefined => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
        throw new SpecError(`job: ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
      return v;
    };
    const completions = intField(spec.completions, 'completions', 1) ?? 1;
    const backoffLimit = intField(spec.backoffLimit, 'backoffLimit', 0) ?? 0;
    const deadline = intField(spec.activeDeadlineSeconds, 'activeDeadlineSeconds', 1);
    const grace = intField(podSpec?.terminationGracePeriodSeconds, 'terminationGracePeriodSeconds', 0) ?? 30;
    const secrets = Object.values(ctx.argValues ?? {});
    const workingDir = typeof container.workingDir === 'string' ? container.workingDir : undefined;
    const entries = Array.isArray(container.env) ? container.env : [];

    // Values first (valueFrom may be asynchronous), then expansion in declaration order.
    const raw: MaybePromise<{ name: string; value: string; secret: boolean }>[] = entries.map((e) => {
      if (!isObject(e) || typeof e.name !== 'string')
        throw new SpecError(`job: container ${cname}: an env entry has no name`);
      const name = e.name;
      if (isObject(e.valueFrom)) {
        const resolver = this.o.resolveValueFrom;
        const v = resolver ? resolver({ name, valueFrom: e.valueFrom }, ctx) : undefined;
        const check = (value: string | undefined) => {
          if (value === undefined)
            throw new SpecError(
              `job: container ${cname}: env ${name} uses valueFrom, which the adapter did not resolve`,
            );
          return { name, value, secret: true };
        };
        return v instanceof Promise ? v.then(check) : check(v);
      }
      return { name, value: typeof e.value === 'string' ? e.value : '', secret: false };
    });
    const build = (vals: { name: string; value: string; secret: boolean }[]): LocalJobSpec => {
      const env: Record<string, string> = { ...this.o.baseEnv };
      const defined = new Map<string, string>();
      for (const v of vals) {
        // Kubernetes expands a plain value against the variables defined before it.
        const value = v.secret ? v.value : expandKubernetesVars(v.value, (n) => defined.get(n));
        defined.set(v.name, value);
        env[v.name] = value;
        if (v.secret) secrets.push(value);
      }
      const argv = [...(command as string[]), ...(args as string[])].map((a) =>
        expandKubernetesVars(a, (n) => defined.get(n)),
      );
      return {
        argv,
        env,
        cwd: workingDir ?? this.o.cwd,
        completions,
        backoffLimit,
        deadlineMs: deadline === undefined ? undefined : deadline * 1000,
        graceMs: Math.min(grace * 1000, this.o.maxGraceMs),
        secrets,
      };
    };
    if (raw.some((r) => r instanceof Promise)) return Promise.all(raw).then(build);
    return build(raw as { name: string; value: string; secret: boolean }[]);
  }

  private start(name: string, key: string, spec: LocalJobSpec): void {
    let markIdle = () => {};
    const idle = new Promise<void>((r) => {
      markIdle = r;
    });
    const job: LocalJob = {
      name,
      startedAt: Date.now(),
      completions: spec.completions,
      backoffLimit: spec.backoffLimit,
      successes: 0,
      failures: 0,
      polls: 0,
      graceMs: spec.graceMs,
      output: new OutputTail(this.o.outputBytes),
      secrets: spec.secrets,
      timers: new Set(),
      idle,
      markIdle,
    };
    this.jobs.set(key, job);
    if (spec.deadlineMs !== undefined) {
      this.timer(job, spec.deadlineMs, () =>
        this.stop(
          job,
          'Failed',
          `DeadlineExceeded: Job was active longer than specified deadline (${spec.deadlineMs! / 1000}s)`,
        ),
      );
    }
    this.attempt(job, spec);
  }

  private timer(job: LocalJob, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      job.timers.delete(t);
      fn();
    }, ms);
    job.timers.add(t);
  }

  private attempt(job: LocalJob, spec: LocalJobSpec): void {
    if (job.verdict !== undefined) return;
    const [file, ...args] = spec.argv as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true, // its own process group, so terminate reaches grandchildren too
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      this.settle(job, 'Error', `cannot run ${JSON.stringify(file)}: ${(e as Error).message}`);
      return;
    }
    job.child = child;
    const pid = child.pid;
    if (pid !== undefined) trackGroup(pid);
    child.stdout?.on('data', (b: Buffer) => job.output.push(b));
    child.stderr?.on('data', (b: Buffer) => job.output.push(b));
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, startError?: Error) => {
      if (done) return;
      done = true;
      if (pid !== undefined) liveGroups.delete(pid);
      job.child = undefined;
      if (job.verdict !== undefined) {
        this.maybeIdle(job);
        return;
      }
      if (startError) {
        const why =
          (startError as NodeJS.ErrnoException).code === 'ENOENT'
            ? `cannot run ${JSON.stringify(file)}: not found${spec.cwd ? ` (or no directory ${spec.cwd})` : ''}`
            : `cannot run ${JSON.stringify(file)}: ${startError.message}`;
        this.settle(job, 'Error', why);
        return;
      }
      if (code === 0) {
        job.successes++;
        if (job.successes >= job.completions) this.settle(job, 'Successful', undefined);
        else this.attempt(job, spec);
        return;
      }
      job.failures++;
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      if (job.failures > job.backoffLimit) {
        const attempts = job.successes + job.failures;
        const counts = `${job.failures} failed of ${attempts} attempt${attempts === 1 ? '' : 's'}, backoffLimit ${job.backoffLimit}`;
        this.settle(job, 'Failed', this.describe(job, `BackoffLimitExceeded: ${how} (${counts})`));
        return;
      }
      const wait = Math.min(this.o.backoffMaxMs, this.o.backoffBaseMs * 2 ** (job.failures - 1));
      this.timer(job, wait, () => this.attempt(job, spec));
    };
    child.once('error', (e) => finish(null, null, e));
    // When the command exits, whatever it left running in its group goes too (Kubernetes ends the
    // pod with its main container); that also closes the pipes such leftovers would hold open.
    child.once('exit', () => {
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      // A process that left the group (setsid) could still hold the pipes: stop waiting for them.
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 1000).unref();
    });
    child.once('close', (code, signal) => finish(code, signal));
  }

  /** `head`, then the tail of the output (secrets masked) when there is any. */
  private describe(job: LocalJob, head: string): string {
    const { text, truncated } = job.output.text();
    const body = mask(text, job.secrets).trim();
    if (!body) return head;
    const cut = body.length > this.o.messageChars || truncated;
    return `${head}: ${cut ? `…${body.slice(-this.o.messageChars)}` : body}`;
  }

  /** Ends the Job with `verdict` unless it has one, and kills its process group. */
  private stop(job: LocalJob, verdict: Verdict, message: string): void {
    if (job.verdict === undefined) this.settle(job, verdict, this.describe(job, message));
    const child = job.child;
    if (child?.pid === undefined) return;
    const pid = child.pid;
    signalGroup(pid, job.graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    if (job.graceMs > 0) {
      const t = setTimeout(() => signalGroup(pid, 'SIGKILL'), job.graceMs);
      child.once('close', () => clearTimeout(t));
    }
  }

  private settle(job: LocalJob, verdict: Verdict, message: string | undefined): void {
    if (job.verdict !== undefined) return;
    job.verdict = verdict;
    if (message) job.message = message;
    for (const t of job.timers) clearTimeout(t);
    job.timers.clear();
    this.maybeIdle(job);
    if (!job.terminated) this.o.onSettled?.(job.name);
    // Verdicts nobody came back for (a run deleted meanwhile) are dropped, oldest first.
    let finished = 0;
    for (const j of this.jobs.values()) if (j.verdict !== undefined) finished++;
    for (const [k, j] of this.jobs) {
      if (finished <= MAX_UNCLAIMED) break;
      if (j.verdict !== undefined && j !== job) {
        this.jobs.delete(k);
        finished--;
      }
    }
  }

  private maybeIdle(job: LocalJob): void {
    if (job.verdict !== undefined && job.child === undefined) job.markIdle();
  }
}

/** The local platform's `job` provider with default options. */
export function localJobProvider(options: LocalJobOptions = {}): LocalJobProvider {
  return new LocalJobProvider(options);
}
