/**
 * A rate-limited work queue with the semantics of client-go's, for the controller's reconcilers.
 *
 * - A key waits at most once: adding a key that is already waiting does nothing.
 * - A key being processed is never handed to a second worker. Adding it while it is processed marks
 *   it dirty, and it is queued again when its worker calls `done`.
 * - `addAfter` delays a key (the earliest of several pending delays wins). `addRateLimited` delays it
 *   by the larger of two limits, as client-go's default controller rate limiter does: per key, 5 ms
 *   doubling at each retry up to 1000 s (reset by `forget`), and overall, a token bucket of 10 per
 *   second with a burst of 100.
 * - After `shutDown`, `get` resolves `undefined` at once, also for workers already waiting, and adds
 *   are ignored. Keys being processed finish; `runWorkers` resolves when they have.
 *
 * The clock and the timers are injected so that tests run on a virtual clock.
 */

/** The time source and timers; `realClock` by default. */
export interface Clock {
  /** Milliseconds; only differences are used. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Called as the queue changes; `ControllerMetrics.workQueueHooks(name)` feeds Prometheus from them. */
export interface WorkQueueHooks {
  /** A key became waiting (an add of a key already waiting is not counted, as in client-go). */
  add?(): void;
  /** The number of waiting keys, ready or held back until their worker is done. */
  depth?(n: number): void;
  /** A key was delayed by `addAfter` or `addRateLimited`. */
  retry?(): void;
  /** Seconds a key waited between becoming waiting and being handed to a worker. */
  queueLatency?(seconds: number): void;
  /** Seconds a worker held a key, from `get` to `done`. */
  workDuration?(seconds: number): void;
}

export interface RateLimiterOptions {
  /** First per-key delay (default 5 ms); it doubles at each retry. */
  baseDelayMs?: number;
  /** Largest per-key delay (default 1000 s). */
  maxDelayMs?: number;
  /** Overall token bucket: tokens per second (default 10) and bucket size (default 100). */
  qps?: number;
  burst?: number;
}

export interface WorkQueueOptions extends RateLimiterOptions {
  clock?: Clock;
  hooks?: WorkQueueHooks;
}

/**
 * The delay of a key's next retry: the per-key exponential back-off and the shared token bucket,
 * whichever is longer. Both are charged on every call, as in client-go.
 */
export class RateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private readonly base: number;
  private readonly max: number;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private tokensAt: number;

  constructor(
    opts: RateLimiterOptions = {},
    private readonly clock: Pick<Clock, 'now'> = realClock,
  ) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 1_000_000;
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.tokens = this.burst;
    this.tokensAt = clock.now();
  }

  /** Milliseconds to wait before retrying `key`; counts one more retry of it. */
  when(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2 ** n overflows to Infinity long after the cap, so the cap alone bounds it.
    const perKey = Math.min(this.base * 2 ** n, this.max);
    return Math.max(perKey, this.reserveToken());
  }

  /** Takes a token; when the bucket is empty the token is borrowed and its wait returned. */
  private reserveToken(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.qps);
    this.tokensAt = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

export class WorkQueue<K> {
  /** Ready keys, in order. */
  private readonly ready: K[] = [];
  /** Keys that must be processed (again): the ready ones and those held until their worker is done. */
  private readonly dirty = new Set<K>();
  /** Keys handed to a worker, with the time they were handed out. */
  private readonly processing = new Map<K, number>();
  /** When each dirty key became dirty, for the queue latency. */
  private readonly dirtySince = new Map<K, number>();
  /** Keys waiting for a delay, with the earliest time they are due. */
  private readonly delayed = new Map<K, { due: number; timer: unknown }>();
  /** Workers waiting in `get`, first come first served. */
  private readonly getters: ((key: K | undefined) => void)[] = [];
  private readonly limiter: RateLimiter<K>;
  private readonly clock: Clock;
  private readonly hooks: WorkQueueHooks;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.hooks = opts.hooks ?? {};
    this.limiter = new RateLimiter<K>(opts, this.clock);
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    this.dirtySince.set(key, this.clock.now());
    this.hooks.add?.();
    this.hooks.depth?.(this.dirty.size);
    // Held back: `done` queues it, so that no two workers hold the same key.
    if (this.processing.has(key)) return;
    this.ready.push(key);
    this.handOut();
  }

  /** Adds `key` after `ms`; an earlier pending delay of the same key is kept. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    this.hooks.retry?.();
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending) {
      if (pending.due <= due) return;
      this.clock.clearTimeout(pending.timer);
    }
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { due, timer });
  }

  /** Adds `key` after its rate-limited delay (see `RateLimiter`). */
  addRateLimited(key: K): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.limiter.when(key));
  }

  /** Ends the back-off of `key` (after a success); the overall token bucket is not refunded. */
  forget(key: K): void {
    this.limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key to process, waiting for one if need be; `undefined` once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.ready.shift();
    if (key !== undefined) return Promise.resolve(this.startProcessing(key));
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** The worker is finished with `key`; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    const since = this.processing.get(key);
    if (since === undefined) return;
    this.processing.delete(key);
    this.hooks.workDuration?.((this.clock.now() - since) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.ready.push(key);
      this.handOut();
    }
  }

  /** Hands out nothing more: waiting and later `get`s resolve `undefined`; pending delays are dropped. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.clock.clearTimeout(timer);
    this.delayed.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Keys ready to be handed out (not the delayed ones, nor those held until their worker is done). */
  len(): number {
    return this.ready.length;
  }

  /** Keys handed to a worker and not done yet. */
  inFlight(): number {
    return this.processing.size;
  }

  private handOut(): void {
    while (this.getters.length > 0 && this.ready.length > 0) {
      const resolve = this.getters.shift() as (key: K | undefined) => void;
      resolve(this.startProcessing(this.ready.shift() as K));
    }
  }

  private startProcessing(key: K): K {
    const now = this.clock.now();
    this.dirty.delete(key);
    this.hooks.depth?.(this.dirty.size);
    const since = this.dirtySince.get(key);
    this.dirtySince.delete(key);
    if (since !== undefined) this.hooks.queueLatency?.((now - since) / 1000);
    this.processing.set(key, now);
    return key;
  }
}

/** What a handler may ask for after a success: to be processed again after a while. */
export interface HandlerResult {
  requeueAfterMs?: number;
}

/**
 * Runs `workers` loops that take keys from `queue` until it is shut down. A success forgets the key's
 * back-off (and requeues it after `requeueAfterMs` when asked); a failure requeues it rate-limited and
 * goes to `onError`. Resolves when every loop has ended, that is after `queue.shutDown()` once the
 * keys in flight are done.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  workers: number,
  // biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are Promise<void>.
  handler: (key: K) => Promise<HandlerResult | void>,
  onError: (err: unknown, key: K) => void,
): Promise<void> {
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await handler(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        queue.addRateLimited(key);
        try {
          onError(err, key);
        } catch {
          // A failing error reporter must not end the worker.
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
}
