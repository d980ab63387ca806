/**
 * Leader election over a coordination.k8s.io/v1 Lease, with client-go's semantics, so that of several
 * controller replicas exactly one reconciles (Argo Rollouts' `--leader-elect`: active/passive).
 *
 * - A candidate takes the Lease when it does not exist (create), when it is free (released: no
 *   holder), when it names this identity, or when its record has not changed for
 *   `leaseDurationSeconds` as seen by this candidate: expiry is measured from the local moment the
 *   record was last seen to change, never from the remote `renewTime`, so clock skew between
 *   replicas does not matter.
 * - Every write is a PUT carrying the resourceVersion that was read, so of two candidates racing
 *   for the same record one gets 409 Conflict and stays a candidate.
 * - The leader renews every `retryPeriod`. When no renewal has succeeded for `renewDeadline`
 *   (counted from the start of the last successful attempt, so a slow answer eats into it), it stops
 *   leading at once: the signal given to `onStartedLeading` is aborted before anything else happens,
 *   then `onStoppedLeading` is called. `leaseDuration` > `renewDeadline` leaves the others' view of
 *   the Lease valid until then.
 * - `stop()` aborts the signal, waits (up to `renewDeadline`) for the promise `onStartedLeading`
 *   returned, calls `onStoppedLeading` and then releases the Lease (holder cleared, duration 1 s), so
 *   a successor starts within about one `retryPeriod`. The release comes last, unlike client-go, so
 *   that nothing here acts as leader once the Lease is free. If the controller did not finish in
 *   time the Lease is left to expire instead.
 * - If the promise `onStartedLeading` returned settles while still leading, the controller ended on
 *   its own: the elector steps down as on `stop()` and becomes a candidate again.
 */
import { isConflict, type KubeClient, type KubeJson, RESOURCES } from './client.js';
import { discardLogger, type Logger } from './log.js';

/** The spec of a Lease as far as leader election uses it. */
export interface LeaseRecord {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  /** MicroTime: RFC 3339 with microseconds. */
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export type LeaderDecision = 'acquire' | 'renew' | 'wait';

/**
 * What a candidate may do with the Lease it observed (`undefined`: none exists), having first seen
 * this record at `observedAtMs` on its own clock.
 */
export function decide(
  observed: LeaseRecord | undefined,
  observedAtMs: number,
  nowMs: number,
  identity: string,
  opts: { leaseDurationMs: number },
): LeaderDecision {
  if (!observed) return 'acquire';
  const holder = observed.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  if (holder === '') return 'acquire';
  const seconds = observed.leaseDurationSeconds ?? 0;
  const durationMs = seconds > 0 ? seconds * 1000 : opts.leaseDurationMs;
  return nowMs >= observedAtMs + durationMs ? 'acquire' : 'wait';
}

/** A Kubernetes MicroTime: `2026-11-22T10:00:00.123456Z` (the clock gives milliseconds). */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  /** The Lease's name, e.g. `argo-rollouts-controller-lock`. */
  name: string;
  /** Unique per replica, e.g. the pod name. */
  identity: string;
  /** How long others wait on a record that stopped changing (default 15 s). */
  leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renewal (default 10 s). */
  renewDeadlineMs?: number;
  /** Between attempts, to acquire or to renew (default 2 s). */
  retryPeriodMs?: number;
  /** Release the Lease on `stop()` (default true). */
  releaseOnCancel?: boolean;
  log?: Logger;
  /**
   * Leadership began: start the controller, and stop writing as soon as `signal` aborts. A returned
   * promise is the controller's lifetime: `stop()` waits for it before releasing the Lease.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost, stopped, or the controller ended); the signal was aborted before. */
  onStoppedLeading(): void;
  /** The Lease names a new holder (this identity included). */
  onNewLeader?(identity: string): void;
}

/** One period of leadership. */
interface Term {
  controller: AbortController;
  /** Settles (never rejects) when the promise of `onStartedLeading` does. */
  finished: Promise<void>;
  /** `finished` has settled. */
  over: boolean;
  /** Fires when no renewal succeeded within renewDeadline. */
  deadline?: ReturnType<typeof setTimeout>;
  /** The controller ended on its own while leading. */
  quit: boolean;
}

const monotonicNow = (): number => performance.now();

export class LeaderElector {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnCancel: boolean;

  /** The last Lease object read or written (its resourceVersion is the one to write against). */
  private lease: KubeJson | undefined;
  /** The record as last seen to change, and when (monotonic ms). */
  private observed: { record: LeaseRecord; key: string; at: number } | undefined;
  private reportedLeader = '';
  private term: Term | undefined;
  /** A lost term whose controller may still be winding down: no new term before it has finished. */
  private winding: Term | undefined;
  private stopping = false;
  private halted = false;
  private loop: Promise<void> | undefined;
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly opts: LeaderElectorOptions) {
    this.client = opts.client;
    this.log = (opts.log ?? discardLogger).child({
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.releaseOnCancel = opts.releaseOnCancel ?? true;
    if (!opts.identity) throw new Error('leader election needs a non-empty identity');
    if (!(this.leaseDurationMs > this.renewDeadlineMs))
      throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(this.renewDeadlineMs > this.retryPeriodMs * 1.2))
      throw new Error('renewDeadline must be greater than retryPeriod × 1.2');
    if (!(this.retryPeriodMs > 0)) throw new Error('retryPeriod must be positive');
  }

  /** Campaigns and leads until `stop()` (or `halt()`); leadership may come and go meanwhile. */
  run(): Promise<void> {
    this.loop ??= this.campaign();
    return this.loop;
  }

  /** Stops leading (the Lease is released when this replica holds it) and ends `run()`. */
  async stop(): Promise<void> {
    this.stopping = true;
    // The controller stops first; the Lease is released once it has.
    this.term?.controller.abort(new Error('leader election stopped'));
    this.wake();
    await this.loop;
  }

  /**
   * For tests: what `kill -9` does to this replica. The loop and its timers end, the signal aborts
   * (the controller dies with the process), and nothing else happens: no callback, no API call, no
   * release; others take over once the Lease expires.
   */
  async halt(): Promise<void> {
    this.halted = true;
    this.stopping = true;
    const term = this.term;
    this.term = undefined;
    if (term) {
      clearTimeout(term.deadline);
      term.controller.abort(new Error('halted'));
    }
    this.wake();
    await this.loop;
  }

  isLeader(): boolean {
    return this.term !== undefined && !this.term.controller.signal.aborted;
  }

  /** The holder named by the Lease as last observed ('' when free or unknown). */
  leader(): string {
    return this.observed?.record.holderIdentity ?? '';
  }

  // -----------------------------------------------------------------------------------------------

  private async campaign(): Promise<void> {
    this.log.info('attempting to acquire leader lease');
    while (!this.stopping) {
      while (this.winding && !this.stopping) await this.waitForWinding();
      if (this.stopping) break;
      const attemptAt = monotonicNow();
      if (await this.tryAcquireOrRenew()) {
        if (this.stopping) break;
        this.startLeading(attemptAt);
        await this.lead();
      }
      // After a failed attempt, and after a term (not straight back: a controller that fails at once
      // would otherwise spin). Up to a fifth longer, so that candidates started together spread out.
      if (!this.stopping) await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2));
    }
    if (this.halted) return;
    if (this.term) await this.stepDown(this.term, 'stopped');
    // Held but not leading (acquired just as stop() came, or lost while the Lease still names us):
    // release it too, unless a controller may still be writing.
    else if (this.holdsLease() && (this.winding === undefined || this.winding.over)) await this.release();
  }

  /** Renews until the term ends: lost, stopped, or its controller quit. */
  private async lead(): Promise<void> {
    const term = this.term as Term;
    const current = () => this.term === term && !term.controller.signal.aborted && !term.quit;
    while (current() && !this.stopping) {
      await this.sleep(this.retryPeriodMs);
      if (!current() || this.stopping) break;
      const attemptAt = monotonicNow();
      const renewed = await this.tryAcquireOrRenew();
      if (!current()) break;
      if (renewed) this.armDeadline(term, attemptAt);
      else if (this.leader() !== '' && this.leader() !== this.opts.identity)
        // Someone else holds it already: no point in waiting for the deadline.
        this.lose(term, `the lease is held by ${this.leader()}`);
    }
    if (term.quit && this.term === term && !this.stopping) await this.stepDown(term, 'the controller ended');
  }

  private startLeading(attemptAt: number): void {
    const controller = new AbortController();
    const term: Term = { controller, finished: Promise.resolve(), over: true, quit: false };
    this.term = term;
    this.armDeadline(term, attemptAt);
    this.log.info('became leader');
    let lifetime: unknown;
    try {
      lifetime = this.opts.onStartedLeading(controller.signal);
    } catch (e) {
      lifetime = Promise.reject(e);
    }
    if (!(lifetime instanceof Promise)) return;
    term.over = false;
    term.finished = lifetime
      .then(
        () => this.controllerEnded(term),
        (e: unknown) => this.controllerEnded(term, e),
      )
      .finally(() => {
        term.over = true;
      });
  }

  private controllerEnded(term: Term, error?: unknown): void {
    if (term.controller.signal.aborted || this.term !== term) return;
    if (error === undefined) this.log.warn('the controller ended while leading; stepping down');
    else this.log.error('the controller failed while leading; stepping down', { error });
    term.quit = true;
    this.wake();
  }

  private armDeadline(term: Term, from: number): void {
    clearTimeout(term.deadline);
    const ms = Math.max(0, from + this.renewDeadlineMs - monotonicNow());
    term.deadline = setTimeout(() => this.lose(term, `no renewal within ${this.renewDeadlineMs} ms`), ms);
  }

  /** Leadership is gone: the signal aborts first, then the callback; the Lease is not touched. */
  private lose(term: Term, why: string): void {
    if (this.term !== term || term.controller.signal.aborted) return;
    term.controller.abort(new Error(`leader lease lost: ${why}`));
    clearTimeout(term.deadline);
    this.term = undefined;
    this.winding = term;
    this.log.warn('lost leadership', { reason: why });
    this.callStopped();
    this.wake();
  }

  /** Ends a term on purpose: controller stopped (bounded wait), callback, then release. */
  private async stepDown(term: Term, why: string): Promise<void> {
    clearTimeout(term.deadline);
    term.controller.abort(new Error(`leader election: ${why}`));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finishedInTime = await Promise.race([
      term.finished.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.renewDeadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (this.halted) return;
    this.term = undefined;
    this.log.info('stopped leading', { reason: why });
    this.callStopped();
    if (!finishedInTime) {
      this.winding = term;
      this.log.warn(
        'the controller did not stop in time; leaving the lease to expire instead of releasing it',
      );
      return;
    }
    if (this.releaseOnCancel) await this.release();
  }

  /** Returns when the lost term's controller has finished, or when woken (stop, halt). */
  private async waitForWinding(): Promise<void> {
    const term = this.winding as Term;
    if (!term.over) {
      const slow = setTimeout(
        () => this.log.warn('waiting for the previous term’s controller to stop before campaigning again'),
        this.renewDeadlineMs,
      );
      let woken: () => void = () => {};
      const wake = new Promise<void>((resolve) => {
        woken = resolve;
      });
      this.sleepers.add(woken);
      await Promise.race([term.finished, wake]);
      this.sleepers.delete(woken);
      clearTimeout(slow);
    }
    if (term.over && this.winding === term) this.winding = undefined;
  }

  private callStopped(): void {
    try {
      this.opts.onStoppedLeading();
    } catch (error) {
      this.log.error('onStoppedLeading failed', { error });
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The Lease

  /** One attempt: read the Lease, and write it when `decide` allows. True when this replica holds it. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    let lease: KubeJson | undefined;
    try {
      lease = await this.client.get(RESOURCES.leases, namespace, name);
    } catch (error) {
      if (!this.halted) this.log.warn('reading the leader lease failed', { error });
      return false;
    }
    if (this.halted) return false;

    if (!lease) {
      const record: LeaseRecord = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: 0,
      };
      return this.write(() =>
        this.client.create(RESOURCES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: record,
        }),
      );
    }

    this.observe(lease);
    const observed = this.observed as { record: LeaseRecord; at: number };
    const decision = decide(observed.record, observed.at, monotonicNow(), identity, {
      leaseDurationMs: this.leaseDurationMs,
    });
    if (decision === 'wait') return false;
    const old = observed.record;
    // Renewing keeps when this holder acquired it; a new holder counts one more transition.
    const renewing = decision === 'renew';
    const record: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: (renewing ? old.acquireTime : null) ?? microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (old.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    };
    const spec = { ...((lease.spec as object | undefined) ?? {}), ...record };
    return this.write(() => this.client.replace(RESOURCES.leases, { ...lease, spec }));
  }

  /** A create or PUT of the Lease; a conflict means another replica wrote first. */
  private async write(call: () => Promise<KubeJson>): Promise<boolean> {
    try {
      const written = await call();
      if (this.halted) return false;
      this.observe(written);
      return true;
    } catch (error) {
      if (this.halted) return false;
      if (isConflict(error)) this.log.debug('another replica wrote the lease first', { error });
      else this.log.warn('writing the leader lease failed', { error });
      return false;
    }
  }

  /** Keeps the latest object; restarts the expiry clock only when the record changed. */
  private observe(lease: KubeJson): void {
    this.lease = lease;
    const spec = (lease.spec ?? {}) as LeaseRecord;
    const record: LeaseRecord = {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? null,
      acquireTime: spec.acquireTime ?? null,
      renewTime: spec.renewTime ?? null,
      leaseTransitions: spec.leaseTransitions ?? null,
    };
    const key = JSON.stringify(record);
    if (this.observed?.key === key) return;
    this.observed = { record, key, at: monotonicNow() };
    const holder = record.holderIdentity ?? '';
    if (holder !== '' && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log.info('new leader observed', { leader: holder });
      try {
        this.opts.onNewLeader?.(holder);
      } catch (error) {
        this.log.error('onNewLeader failed', { error });
      }
    }
  }

  private holdsLease(): boolean {
    return this.lease !== undefined && this.leader() === this.opts.identity;
  }

  /** Clears the holder, as client-go does, against the last resourceVersion seen. */
  private async release(): Promise<void> {
    if (!this.holdsLease()) return;
    const lease = this.lease as KubeJson;
    const now = microTime(new Date());
    const old = (lease.spec ?? {}) as LeaseRecord;
    const spec: LeaseRecord = {
      ...old,
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: old.leaseTransitions ?? 0,
    };
    try {
      this.observe(await this.client.replace(RESOURCES.leases, { ...lease, spec }));
      this.log.info('released the leader lease');
    } catch (error) {
      this.log.warn('releasing the leader lease failed; it will expire', { error });
    }
  }

  // -----------------------------------------------------------------------------------------------

  /** Waits `ms`, or less when woken (stop, halt, the controller quitting). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wake(): void {
    for (const done of [...this.sleepers]) done();
    this.sleepers.clear();
  }
}
