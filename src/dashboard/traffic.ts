/**
 * The demo's live request grid (as in argoproj/rollouts-demo): while someone watches, the dashboard
 * sends sample requests to the demo's stable Service listener (`GET /color`) and streams what answered
 * them — the colour of the version, the status and the time taken — in small batches.
 */

export interface TrafficSample {
  at: string;
  /** The colour the demo service answered with; '' when nothing answered. */
  color: string;
  status: number;
  ms: number;
  error?: string;
}

export class TrafficSampler {
  private readonly watchers = new Set<(batch: TrafficSample[]) => void>();
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private batch: TrafficSample[] = [];
  private inFlight = 0;

  constructor(
    readonly url: string,
    readonly release: string,
    private readonly options: { ratePerSecond?: number; maxInFlight?: number; timeoutMs?: number } = {},
  ) {}

  watch(send: (batch: TrafficSample[]) => void): () => void {
    this.watchers.add(send);
    if (!this.timer) {
      const every = 1000 / (this.options.ratePerSecond ?? 10);
      this.timer = setInterval(() => this.fire(), every);
      this.flushTimer = setInterval(() => this.flush(), 250);
    }
    return () => {
      this.watchers.delete(send);
      if (this.watchers.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.timer = undefined;
    this.flushTimer = undefined;
    this.batch = [];
  }

  private fire(): void {
    if (this.inFlight >= (this.options.maxInFlight ?? 8)) return;
    this.inFlight++;
    const started = performance.now();
    const at = new Date().toISOString();
    fetch(new URL('/color', this.url), {
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      headers: { 'user-agent': 'vireo-dashboard-sampler' },
    })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as { color?: unknown };
        this.batch.push({
          at,
          color: typeof body.color === 'string' ? body.color : '',
          status: res.status,
          ms: Math.round(performance.now() - started),
        });
      })
      .catch((e: unknown) => {
        this.batch.push({
          at,
          color: '',
          status: 0,
          ms: Math.round(performance.now() - started),
          error: (e as Error).name === 'TimeoutError' ? 'timeout' : 'no answer',
        });
      })
      .finally(() => {
        this.inFlight--;
      });
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const b = this.batch;
    this.batch = [];
    for (const w of this.watchers) w(b);
  }
}
