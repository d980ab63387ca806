/**
 * Live updates: while anyone watches, the hub reads the source every `intervalMs` (one read for all
 * watchers) and tells each watcher what changed: list watchers get a snapshot of the summaries, then
 * only the summaries that changed and the keys that went away; a release watcher gets the whole view
 * when it changed. When the source cannot be read, watchers are told (`stale`) and get a fresh
 * snapshot once it can be read again.
 */
import type { ReleaseView } from '../views/release.js';
import { type ReleaseSource, type ReleaseSummary, summarize } from './source.js';

export type ListEvent =
  | { type: 'snapshot'; releases: ReleaseSummary[]; at: string }
  | { type: 'changed'; releases: ReleaseSummary[]; removed: string[]; at: string }
  | { type: 'stale'; message: string; at: string };

export type ReleaseEvent =
  | { type: 'release'; release: ReleaseView; at: string }
  | { type: 'gone'; key: string; at: string }
  | { type: 'stale'; message: string; at: string };

interface ListWatcher {
  send(e: ListEvent): void;
  /** Needs a snapshot at the next read (new, or after the source failed). */
  fresh: boolean;
}

interface ReleaseWatcher {
  key: string;
  send(e: ReleaseEvent): void;
  last?: string;
}

export class ReleaseHub {
  private readonly lists = new Set<ListWatcher>();
  private readonly releases = new Set<ReleaseWatcher>();
  private summaries = new Map<string, { json: string; summary: ReleaseSummary }>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private failing = false;
  private again = false;
  private closed = false;

  constructor(
    private readonly source: ReleaseSource,
    private readonly intervalMs = 1000,
  ) {}

  watchList(send: (e: ListEvent) => void): () => void {
    const w: ListWatcher = { send, fresh: true };
    this.lists.add(w);
    this.kick();
    return () => {
      this.lists.delete(w);
      this.idle();
    };
  }

  watchRelease(namespace: string, name: string, send: (e: ReleaseEvent) => void): () => void {
    const w: ReleaseWatcher = { key: `${namespace}/${name}`, send };
    this.releases.add(w);
    this.kick();
    return () => {
      this.releases.delete(w);
      this.idle();
    };
  }

  /** Reads now (after an action, so its effect shows at once), then keeps the usual pace. */
  poke(): void {
    if (this.lists.size + this.releases.size === 0) return;
    this.kick();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private idle(): void {
    if (this.lists.size + this.releases.size > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.reading) {
      // A read is under way: read once more right after it.
      this.again = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      } else if (!this.closed && this.lists.size + this.releases.size > 0 && !this.timer)
        this.timer = setTimeout(() => this.kick(), this.intervalMs);
    });
  }

  private async read(): Promise<void> {
    const at = new Date().toISOString();
    let views: ReleaseView[];
    try {
      views = await this.source.list();
    } catch (e) {
      const message = (e as Error).message;
      this.failing = true;
      for (const w of this.lists) {
        w.fresh = true;
        w.send({ type: 'stale', message, at });
      }
      for (const w of this.releases) {
        w.last = undefined;
        w.send({ type: 'stale', message, at });
      }
      return;
    }
    if (this.failing) {
      this.failing = false;
      for (const w of this.lists) w.fresh = true;
    }
    const next = new Map<string, { json: string; summary: ReleaseSummary }>();
    const changed: ReleaseSummary[] = [];
    const byKey = new Map<string, ReleaseView>();
    for (const v of views) {
      const summary = summarize(v);
      byKey.set(summary.key, v);
      const json = JSON.stringify(summary);
      next.set(summary.key, { json, summary });
      if (this.summaries.get(summary.key)?.json !== json) changed.push(summary);
    }
    const removed = [...this.summaries.keys()].filter((k) => !next.has(k));
    this.summaries = next;
    for (const w of this.lists) {
      if (w.fresh) {
        w.fresh = false;
        w.send({ type: 'snapshot', releases: [...next.values()].map((x) => x.summary), at });
      } else if (changed.length > 0 || removed.length > 0) {
        w.send({ type: 'changed', releases: changed, removed, at });
      }
    }
    for (const w of this.releases) {
      const v = byKey.get(w.key);
      if (!v) {
        if (w.last !== 'gone') w.send({ type: 'gone', key: w.key, at });
        w.last = 'gone';
        continue;
      }
      const json = JSON.stringify(v);
      if (json !== w.last) w.send({ type: 'release', release: v, at });
      w.last = json;
    }
  }
}
