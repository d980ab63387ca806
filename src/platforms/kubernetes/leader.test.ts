/**
 * Leader election: the expiry decision as a table, then electors on a real API server
 * (scripts/cluster's control plane), with short durations. Every elector of the file records when it
 * led, and a sampler checks every 10 ms that no two electors of one Lease consider themselves leader;
 * the last test asserts both over the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { KubeApiClient, KubeApiError, type KubeClient, loadKubeConfig, RESOURCES } from './client.js';
import { decide, LeaderElector, type LeaseRecord, microTime } from './leader.js';

describe('decide', () => {
  const me = 'replica-a';
  const opts = { leaseDurationMs: 15_000 };
  const held = (holderIdentity: string, leaseDurationSeconds?: number): LeaseRecord => ({
    holderIdentity,
    leaseDurationSeconds,
    // Far in the future on purpose: the remote timestamp must not matter.
    renewTime: '2099-01-01T00:00:00.000000Z',
  });
  it.each([
    { what: 'no lease', lease: undefined, seenAt: 0, now: 0, want: 'acquire' },
    { what: 'held by us', lease: held(me, 15), seenAt: 0, now: 1, want: 'renew' },
    { what: 'held by us, long unchanged', lease: held(me, 15), seenAt: 0, now: 99_000, want: 'renew' },
    { what: 'released (empty holder)', lease: held('', 1), seenAt: 0, now: 0, want: 'acquire' },
    { what: 'released (no holder field)', lease: {}, seenAt: 0, now: 0, want: 'acquire' },
    { what: 'held, just seen', lease: held('replica-b', 15), seenAt: 1_000, now: 1_000, want: 'wait' },
    {
      what: 'held, unchanged 14.999 s',
      lease: held('replica-b', 15),
      seenAt: 1_000,
      now: 15_999,
      want: 'wait',
    },
    {
      what: 'held, unchanged 15 s',
      lease: held('replica-b', 15),
      seenAt: 1_000,
      now: 16_000,
      want: 'acquire',
    },
    {
      what: "the record's duration counts",
      lease: held('replica-b', 3),
      seenAt: 0,
      now: 3_000,
      want: 'acquire',
    },
    { what: 'no duration: ours (15 s)', lease: held('replica-b'), seenAt: 0, now: 14_000, want: 'wait' },
    { what: 'no duration: ours, passed', lease: held('replica-b'), seenAt: 0, now: 15_000, want: 'acquire' },
  ])('$what → $want', ({ lease, seenAt, now, want }) => {
    expect(decide(lease, seenAt, now, me, opts)).toBe(want);
  });

  it('microTime has microseconds', () => {
    expect(microTime(new Date('2026-11-22T10:00:00.123Z'))).toBe('2026-11-22T10:00:00.123000Z');
  });

  it('checks its durations', () => {
    const base = {
      client: {} as KubeClient,
      namespace: 'default',
      name: 'lock',
      identity: 'a',
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 2_000, renewDeadlineMs: 2_000 })).toThrow(
      'leaseDuration must be greater than renewDeadline',
    );
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(
      'renewDeadline must be greater than retryPeriod',
    );
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow('non-empty identity');
  });
});

// -------------------------------------------------------------------------------------------------

const NS = 'default';
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };

let cluster: KubeCluster | undefined;
const newClient = (): KubeClient => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return new KubeApiClient(loadKubeConfig({ kubeconfig: cluster.kubeconfigPath }));
};

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = now() + ms;
  while (!ok()) {
    if (now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}
const untilAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

interface Candidate {
  id: string;
  lease: string;
  elector: LeaderElector;
  /** [started, stopped] of each term, on this process's clock; stopped undefined while leading. */
  terms: [number, number | undefined][];
  /** What happened, in order: started, abort, stopped (with whether the signal was aborted by then). */
  events: string[];
  newLeaders: string[];
  run: Promise<void>;
  /** kill -9: the term ends now, as far as the outside world can tell. */
  halt(): Promise<void>;
}

const candidates: Candidate[] = [];

function candidate(
  id: string,
  lease: string,
  opts: {
    client?: KubeClient;
    timing?: Partial<typeof FAST>;
    lifetime?: (signal: AbortSignal) => Promise<void>;
  } = {},
): Candidate {
  let signal: AbortSignal | undefined;
  const c = { id, lease, terms: [], events: [], newLeaders: [] } as unknown as Candidate;
  const closeTerm = () => {
    const last = c.terms.at(-1);
    if (last && last[1] === undefined) last[1] = now();
  };
  c.elector = new LeaderElector({
    client: opts.client ?? newClient(),
    namespace: NS,
    name: lease,
    identity: id,
    ...FAST,
    ...opts.timing,
    onStartedLeading: (s) => {
      signal = s;
      c.terms.push([now(), undefined]);
      c.events.push('started');
      s.addEventListener('abort', () => c.events.push('abort'), { once: true });
      return (opts.lifetime ?? untilAborted)(s);
    },
    onStoppedLeading: () => {
      closeTerm();
      c.events.push(signal?.aborted ? 'stopped' : 'stopped before abort');
    },
    onNewLeader: (who) => c.newLeaders.push(who),
  });
  c.halt = async () => {
    closeTerm();
    await c.elector.halt();
  };
  c.run = c.elector.run();
  candidates.push(c);
  return c;
}

const leaderOf = (cs: Candidate[]) => cs.filter((c) => c.elector.isLeader());
async function oneLeader(cs: Candidate[], ms = 10_000): Promise<Candidate> {
  await waitFor(`a leader among ${cs.map((c) => c.id).join(', ')}`, () => leaderOf(cs).length > 0, ms);
  const [leader, ...more] = leaderOf(cs);
  expect(more).toEqual([]);
  return leader as Candidate;
}

async function leaseSpec(name: string): Promise<LeaseRecord> {
  const lease = await newClient().get(RESOURCES.leases, NS, name);
  return (lease?.spec ?? {}) as LeaseRecord;
}

/** A client whose writes fail from `fail()` on, as when the API server stops accepting them. */
function failingWrites(inner: KubeClient): { client: KubeClient; fail(): void } {
  let failing = false;
  const writes = new Set<PropertyKey>(['create', 'replace', 'patch', 'delete']);
  const client = new Proxy(inner, {
    get(target, prop, receiver) {
      if (failing && writes.has(prop))
        return () =>
          Promise.reject(new KubeApiError(0, 'Transport', `${String(prop)}: connection reset (test)`));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    client,
    fail: () => {
      failing = true;
    },
  };
}

describe('LeaderElector on a real API server', () => {
  /** The most electors of one Lease seen leading at once, sampled every 10 ms. */
  let mostLeadersAtOnce = 0;
  let sampler: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    await ensureBinaries(); // the first time on a machine: ~18 min of Go builds
    cluster = await startKubeCluster({ nodes: 1 });
    sampler = setInterval(() => {
      const byLease = new Map<string, number>();
      for (const c of candidates)
        if (c.elector.isLeader()) byLease.set(c.lease, (byLease.get(c.lease) ?? 0) + 1);
      for (const n of byLease.values()) mostLeadersAtOnce = Math.max(mostLeadersAtOnce, n);
    }, 10);
  }, 75 * 60_000);

  afterAll(async () => {
    clearInterval(sampler);
    await Promise.all(candidates.map((c) => c.elector.stop()));
    await cluster?.stop();
  }, 60_000);

  it('(a) of two candidates exactly one leads, and the Lease names it', async () => {
    const [a, b] = [candidate('replica-a', 'lock-a'), candidate('replica-b', 'lock-a')];
    const leader = await oneLeader([a, b]);
    const follower = leader === a ? b : a;
    await sleep(4 * FAST.retryPeriodMs); // several renewals later, still one
    expect(leaderOf([a, b])).toEqual([leader]);
    const spec = await leaseSpec('lock-a');
    expect(spec).toMatchObject({ holderIdentity: leader.id, leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(spec.acquireTime).toMatch(MICRO_TIME);
    expect(spec.renewTime).toMatch(MICRO_TIME);
    expect(spec.renewTime).not.toBe(spec.acquireTime); // renewed since
    expect(follower.terms).toEqual([]);
    expect(leader.newLeaders).toEqual([leader.id]);
    expect(follower.newLeaders).toEqual([leader.id]);
    expect(follower.elector.leader()).toBe(leader.id);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('(b) stop() releases the Lease and the other takes over within about a retry period', async () => {
    // A long lease, so that a takeover by expiry (≥ 5.5 s) cannot pass for one after the release.
    const timing = { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 };
    const [a, b] = [
      candidate('replica-a', 'lock-b', { timing }),
      candidate('replica-b', 'lock-b', { timing }),
    ];
    const leader = await oneLeader([a, b]);
    const follower = leader === a ? b : a;
    await sleep(1_000);
    const stopAt = now();
    await leader.elector.stop();
    expect(leader.elector.isLeader()).toBe(false);
    expect(leader.events).toEqual(['started', 'abort', 'stopped']);
    await waitFor('the follower to lead', () => follower.elector.isLeader(), 10_000);
    const tookMs = now() - stopAt;
    expect(tookMs).toBeLessThan(3_000); // expected ~0.5-0.7 s
    const spec = await leaseSpec('lock-b');
    expect(spec).toMatchObject({ holderIdentity: follower.id, leaseTransitions: 1, leaseDurationSeconds: 6 });
    expect(follower.newLeaders).toEqual([leader.id, follower.id]);
    await follower.elector.stop();
    // Released: no holder, and a short duration so that no one waits on it.
    expect(await leaseSpec('lock-b')).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('(c) a crashed leader (kill -9: no release) is replaced once the Lease expires', async () => {
    const [a, b] = [candidate('replica-a', 'lock-c'), candidate('replica-b', 'lock-c')];
    const leader = await oneLeader([a, b]);
    const follower = leader === a ? b : a;
    await sleep(1_500); // the follower has seen renewals
    const haltAt = now();
    await leader.halt();
    await waitFor('the follower to lead', () => follower.elector.isLeader(), 15_000);
    const tookMs = now() - haltAt;
    // Lease 3 s from the follower's last sight of a renewal: that renewal was at most one retry period
    // (0.5 s) before the halt, the sight and the takeover each up to a jittered period (0.6 s) late.
    expect(tookMs).toBeGreaterThan(2_000);
    expect(tookMs).toBeLessThan(6_000);
    expect(leader.events).toEqual(['started', 'abort']); // no callback after kill -9
    expect(await leaseSpec('lock-c')).toMatchObject({ holderIdentity: follower.id, leaseTransitions: 1 });
    await follower.elector.stop();
  });

  it('(e) a leader whose writes fail stops leading within renewDeadline + retryPeriod', async () => {
    const flaky = failingWrites(newClient());
    const a = candidate('replica-a', 'lock-e', { client: flaky.client });
    await oneLeader([a]);
    const b = candidate('replica-b', 'lock-e');
    await sleep(1_500);
    expect(a.elector.isLeader()).toBe(true);
    const failAt = now();
    flaky.fail();
    await waitFor('the leader to step down', () => !a.elector.isLeader(), 10_000);
    const lostAfterMs = (a.terms[0]?.[1] ?? Number.NaN) - failAt;
    // The deadline runs from the start of the last good renewal (≤ one retry period before the
    // failure); not at the first failed write, and not later than renewDeadline + retryPeriod.
    expect(lostAfterMs).toBeGreaterThan(FAST.renewDeadlineMs - FAST.retryPeriodMs - 300);
    expect(lostAfterMs).toBeLessThanOrEqual(FAST.renewDeadlineMs + FAST.retryPeriodMs + 300);
    // The signal was aborted before onStoppedLeading ran.
    expect(a.events).toEqual(['started', 'abort', 'stopped']);
    // The other replica takes over once the unrenewed Lease expires, not before a stopped.
    await waitFor('the other replica to lead', () => b.elector.isLeader(), 10_000);
    expect(b.terms[0]?.[0]).toBeGreaterThan(a.terms[0]?.[1] ?? Number.POSITIVE_INFINITY);
    expect(await leaseSpec('lock-e')).toMatchObject({ holderIdentity: b.id, leaseTransitions: 1 });
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('a controller that fails while leading makes the elector step down, release and campaign again', async () => {
    let terms = 0;
    const c = candidate('replica-q', 'lock-q', {
      lifetime: (signal) => {
        terms++;
        return terms === 1 ? Promise.reject(new Error('controller crashed')) : untilAborted(signal);
      },
    });
    await waitFor('a second term', () => terms >= 2 && c.elector.isLeader(), 10_000);
    expect(c.events).toEqual(['started', 'abort', 'stopped', 'started']);
    // Released between the terms (a new acquisition counts a transition).
    expect(await leaseSpec('lock-q')).toMatchObject({ holderIdentity: c.id, leaseTransitions: 1 });
    await c.elector.stop();
  });

  it('(d) through stops, crashes and new replicas, no two electors ever lead at once', async () => {
    const lease = 'lock-d';
    const pool = [candidate('d-1', lease), candidate('d-2', lease), candidate('d-3', lease)];
    let leader = await oneLeader(pool);
    // Handovers of both kinds, with a fresh replica joining after each.
    for (const [i, how] of (['stop', 'halt', 'stop'] as const).entries()) {
      if (how === 'stop') await leader.elector.stop();
      else await leader.halt();
      pool.splice(pool.indexOf(leader), 1);
      pool.push(candidate(`d-new-${i}`, lease));
      leader = await oneLeader(pool, 15_000);
    }
    await Promise.all(pool.map((c) => c.elector.stop()));
    expect(await leaseSpec(lease)).toMatchObject({ holderIdentity: '', leaseTransitions: 3 });

    // Over the whole file: per Lease, the recorded terms never overlap...
    for (const name of new Set(candidates.map((c) => c.lease))) {
      const terms = candidates
        .filter((c) => c.lease === name)
        .flatMap((c) =>
          c.terms.map(([from, to]) => ({ who: c.id, from, to: to ?? Number.POSITIVE_INFINITY })),
        )
        .sort((x, y) => x.from - y.from);
      for (let i = 1; i < terms.length; i++) {
        const [prev, next] = [terms[i - 1], terms[i]] as [(typeof terms)[0], (typeof terms)[0]];
        expect(next.from, `${name}: ${next.who} started before ${prev.who} stopped`).toBeGreaterThan(prev.to);
      }
    }
    // ...and the sampler never saw two leaders of one Lease.
    expect(mostLeadersAtOnce).toBe(1);
  });
});
