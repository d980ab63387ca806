import { describe, expect, it } from 'vitest';
import { type Clock, RateLimiter, runWorkers, WorkQueue, type WorkQueueHooks } from './workqueue.js';

/** A virtual clock: time moves only in `advance`, which fires due timers in order. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  pending(): number {
    return this.timers.size;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const next = [...this.timers.entries()]
        .filter(([, x]) => x.at <= end)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets every pending promise callback run (a macrotask comes after all microtasks). */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** Whether `p` has settled, without waiting for it. */
async function settled<T>(p: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let out: { done: boolean; value?: T } = { done: false };
  p.then((value) => {
    out = { done: true, value };
  });
  await flush();
  return out;
}

describe('RateLimiter: per-key back-off', () => {
  // The n-th retry of one key in a row, the bucket not being the limit (n ≤ burst).
  it.each([
    [1, 5],
    [2, 10],
    [3, 20],
    [4, 40],
    [10, 2_560],
    [18, 655_360],
    [19, 1_000_000], // 1 310 720 ms capped at 1000 s
    [40, 1_000_000],
  ])('retry %i waits %i ms', (n, ms) => {
    const clock = new FakeClock();
    const rl = new RateLimiter<string>({}, clock);
    let last = 0;
    for (let i = 0; i < n; i++) last = rl.when('a');
    expect(last).toBe(ms);
    expect(rl.numRequeues('a')).toBe(n);
  });

  it('counts keys apart, and forget starts a key over', () => {
    const rl = new RateLimiter<string>({}, new FakeClock());
    expect([rl.when('a'), rl.when('a'), rl.when('a')]).toEqual([5, 10, 20]);
    expect(rl.when('b')).toBe(5);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.numRequeues('b')).toBe(1);
    expect(rl.when('a')).toBe(5);
  });
});

describe('RateLimiter: overall token bucket (10/s, burst 100)', () => {
  // Distinct keys, so the per-key delay stays 5 ms: [keys retried at t=0, then after `advanceMs`
  // one more key, expected delay of that last one].
  it.each([
    { burst: 100, advanceMs: 0, want: 100 }, // the 101st token is due in 1/10 s
    { burst: 105, advanceMs: 0, want: 600 }, // borrowed tokens queue up: 6 owed
    { burst: 100, advanceMs: 100, want: 5 }, // one token back after 100 ms
    { burst: 100, advanceMs: 50, want: 50 }, // half a token back
    { burst: 150, advanceMs: 1_000, want: 4_100 }, // 50 owed, 10 refilled, the new one is the 41st
  ])(
    '$burst retries then one more after $advanceMs ms waits $want ms',
    async ({ burst, advanceMs, want }) => {
      const clock = new FakeClock();
      const rl = new RateLimiter<string>({}, clock);
      for (let i = 0; i < burst; i++) rl.when(`k${i}`);
      await clock.advance(advanceMs);
      expect(rl.when('last')).toBeCloseTo(want, 6);
    },
  );

  it('the larger of the two wins', () => {
    const clock = new FakeClock();
    const rl = new RateLimiter<string>({ burst: 3 }, clock);
    expect(rl.when('a')).toBe(5);
    expect(rl.when('a')).toBe(10);
    expect(rl.when('a')).toBe(20);
    expect(rl.when('b')).toBe(100); // bucket: 100 ms > per key: 5 ms
    expect(rl.when('a')).toBe(200); // bucket: 200 ms > per key: 40 ms
  });
});

describe('WorkQueue', () => {
  it('keeps one copy of a waiting key, in order of first add', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.len()).toBe(0);
  });

  it('never hands a key being processed to a second worker; a re-add is queued after done', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    const second = q.get();
    expect((await settled(second)).done).toBe(false);
    q.add('b');
    expect(await second).toBe('b'); // other keys still flow
    const third = q.get();
    expect((await settled(third)).done).toBe(false);
    q.done('a');
    expect(await third).toBe('a'); // once, although added twice
    q.done('a');
    q.done('b');
    expect(q.len()).toBe(0);
  });

  it('a key not added again while processed is gone after done', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.inFlight()).toBe(0);
  });

  it('addAfter: not before the delay; the earliest pending delay wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    q.addAfter('a', 100);
    q.addAfter('a', 300); // later: ignored
    q.addAfter('b', 200);
    q.addAfter('b', 50); // earlier: replaces
    await clock.advance(49);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('b');
    await clock.advance(49);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(await q.get()).toBe('a');
    expect(clock.pending()).toBe(0);
    q.addAfter('c', 0);
    expect(q.len()).toBe(1);
  });

  it('addRateLimited waits the back-off; forget resets it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const readyAfter = async (): Promise<number> => {
      const start = clock.now();
      while (q.len() === 0) await clock.advance(1);
      await q.get();
      q.done('a');
      return clock.now() - start;
    };
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('a');
      delays.push(await readyAfter());
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('a')).toBe(4);
    q.forget('a');
    q.addRateLimited('a');
    expect(await readyAfter()).toBe(5);
  });

  it('shutDown: waiting and later gets resolve undefined, adds are ignored, timers are cleared', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const waiting = [q.get(), q.get()];
    q.addAfter('x', 1_000);
    q.addRateLimited('y');
    expect(clock.pending()).toBe(2);
    q.shutDown();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(clock.pending()).toBe(0);
    q.add('z');
    q.addAfter('z', 10);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    expect(q.isShuttingDown()).toBe(true);
  });

  it('shutDown hands out no ready key either', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    q.add('a');
    q.shutDown();
    expect(await q.get()).toBeUndefined();
  });

  it('calls the metric hooks', async () => {
    const clock = new FakeClock();
    const seen = {
      adds: 0,
      retries: 0,
      depth: [] as number[],
      latency: [] as number[],
      work: [] as number[],
    };
    const hooks: WorkQueueHooks = {
      add: () => seen.adds++,
      retry: () => seen.retries++,
      depth: (n) => seen.depth.push(n),
      queueLatency: (s) => seen.latency.push(s),
      workDuration: (s) => seen.work.push(s),
    };
    const q = new WorkQueue<string>({ clock, hooks });
    q.add('a');
    q.add('a'); // already waiting: not an add
    q.add('b');
    await clock.advance(250);
    expect(await q.get()).toBe('a');
    await clock.advance(1_500);
    q.done('a');
    q.addRateLimited('b'); // b is waiting already: a retry, not an add
    expect(seen).toEqual({ adds: 2, retries: 1, depth: [1, 2, 1], latency: [0.25], work: [1.5] });
  });
});

describe('runWorkers', () => {
  it('success forgets, requeueAfterMs requeues, a throw backs off and reports', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock });
    const calls: [string, number][] = [];
    const errors: [string, string][] = [];
    let failuresLeft = 2;
    const done = runWorkers(
      q,
      2,
      async (key) => {
        calls.push([key, clock.now()]);
        if (key === 'flaky' && failuresLeft-- > 0) throw new Error('boom');
        if (key === 'periodic' && calls.filter(([k]) => k === key).length < 3)
          return { requeueAfterMs: 1_000 };
      },
      (err, key) => errors.push([key, (err as Error).message]),
    );
    q.add('flaky');
    q.add('periodic');
    await clock.advance(0);
    expect(q.numRequeues('flaky')).toBe(1);
    await clock.advance(5); // first retry after 5 ms
    expect(q.numRequeues('flaky')).toBe(2);
    await clock.advance(10); // second after 10 more; it succeeds and is forgotten
    expect(q.numRequeues('flaky')).toBe(0);
    await clock.advance(3_000);
    expect(errors).toEqual([
      ['flaky', 'boom'],
      ['flaky', 'boom'],
    ]);
    expect(calls.filter(([k]) => k === 'flaky').map(([, t]) => t)).toEqual([0, 5, 15]);
    expect(calls.filter(([k]) => k === 'periodic').map(([, t]) => t)).toEqual([0, 1_000, 2_000]);
    q.shutDown();
    await done;
  });

  it('no key is ever processed by two workers at once', async () => {
    const q = new WorkQueue<number>({ clock: new FakeClock() });
    const active = new Set<number>();
    let overlaps = 0;
    let processed = 0;
    const done = runWorkers(
      q,
      4,
      async (key) => {
        if (active.has(key)) overlaps++;
        active.add(key);
        // Re-add the key while it is being processed, from "another informer event".
        if (processed < 200) q.add(key);
        await new Promise((r) => setImmediate(r));
        active.delete(key);
        processed++;
      },
      () => {},
    );
    for (let i = 0; i < 3; i++) q.add(i);
    while (processed < 200) await new Promise((r) => setImmediate(r));
    while (q.len() > 0 || q.inFlight() > 0) await new Promise((r) => setImmediate(r));
    q.shutDown();
    await done;
    expect(overlaps).toBe(0);
  });

  it('resolves after shutDown once the keys in flight are done', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    let release: () => void = () => {};
    const finished: string[] = [];
    const done = runWorkers(
      q,
      3,
      async (key) => {
        await new Promise<void>((r) => {
          release = r;
        });
        finished.push(key);
      },
      () => {},
    );
    q.add('slow');
    await flush();
    q.shutDown();
    expect((await settled(done)).done).toBe(false);
    release();
    await done;
    expect(finished).toEqual(['slow']);
    expect(q.inFlight()).toBe(0);
  });

  it('a throwing error reporter does not end the worker', async () => {
    const q = new WorkQueue<string>({ clock: new FakeClock() });
    const seen: string[] = [];
    const done = runWorkers(
      q,
      1,
      async (key) => {
        seen.push(key);
        if (key === 'bad') throw new Error('x');
      },
      () => {
        throw new Error('reporter broke');
      },
    );
    q.add('bad');
    await flush();
    q.add('good');
    await flush();
    expect(seen).toContain('good');
    q.shutDown();
    await done;
  });
});
