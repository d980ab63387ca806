/**
 * One release's reconcile loop, shared by the adapters: passes never overlap (a wake during a pass
 * runs another pass right after it), the earliest wake wins, and a pass says when to come back.
 */
export interface LoopOptions {
  now: () => number;
  /** One pass; resolves to the delay until the next one (ms). */
  pass: () => Promise<number>;
  /** A pass threw: log it; the loop comes back after `retryMs`. */
  onError: (e: unknown) => void;
  retryMs: number;
}

export class ReconcileLoop {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly o: LoopOptions) {}

  /** Run a pass within `ms` (earlier wakes win). */
  wake(ms = 0): void {
    if (this.closed) return;
    const at = this.o.now() + Math.max(0, ms);
    if (this.timer && at >= this.dueAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.dueAt = Number.POSITIVE_INFINITY;
        void this.run();
      },
      Math.max(0, ms),
    );
  }

  /** Runs a pass now, or right after the one in progress. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          const next = await this.o.pass();
          if (!this.closed) this.wake(next);
        } while (this.again && !this.closed);
      } catch (e) {
        if (!this.closed) {
          this.o.onError(e);
          this.wake(this.o.retryMs);
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
