/**
 * A watched cache of one resource type (list, then watch from the list's resourceVersion), with the
 * restarts a controller needs: a watch that ends (server timeout, network error) resumes from the
 * last resourceVersion seen; a 410 Gone (history compacted) or a failing list relists after a
 * back-off. Handlers hear every add, update and delete, and a relist reports the differences.
 *
 * Written here rather than taken from client-node's `makeInformer`: that one stops for good on any
 * error but 410 (the client's own notes list informers that went silent), and this one runs on the
 * `KubeClient` interface, so the controller's tests and the CLI share one transport.
 */
import { KubeApiError, type KubeClient, type KubeJson, type ResourceType } from './client.js';

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (event: InformerEvent, obj: T, old?: T) => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Server-side watch timeout; a new watch starts after each (default 300 s). */
  watchTimeoutSeconds?: number;
  /** Back-off after a failed list or watch start: from 1 s doubling to 30 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (e: unknown) => void;
}

export const objectKey = (o: { metadata: { name: string; namespace?: string } }): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

export class Informer<T extends KubeJson = KubeJson> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  private stopped = true;
  private watch: { abort(): void } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private lastError: string | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions = {},
  ) {
    this.backoffMs = opts.minBackoffMs ?? 1000;
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace && this.type.namespaced ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
  }

  /**
   * The result of our own write, kept until its watch event arrives, so the next reconcile reads what
   * was written rather than the version before it (which would only fail with a conflict).
   */
  assume(obj: T): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    this.store.set(key, obj);
    // Handlers hear it now (others depend on it: a finished AnalysisRun wakes its Rollout); the watch
    // event of the same version is then skipped as already told.
    if (old?.metadata.resourceVersion !== obj.metadata.resourceVersion)
      this.emit(old ? 'update' : 'add', obj, old);
  }

  /** True once the first list arrived. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Why the cache is not being kept current, if it is not. */
  problem(): string | undefined {
    return this.lastError;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.watch?.abort();
    this.watch = undefined;
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj, old);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

  private retryLater(e: unknown): void {
    this.lastError = `${this.type.plural}: ${(e as Error).message}`;
    this.opts.onError?.(e);
    if (this.stopped) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
    this.timer = setTimeout(() => void this.relist(), delay);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let listed: { items: T[]; resourceVersion: string };
    try {
      listed = await this.client.list<T>(this.type, this.opts.namespace, {
        labelSelector: this.opts.labelSelector,
      });
    } catch (e) {
      this.retryLater(e);
      return;
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const o of listed.items) {
      const key = objectKey(o);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, o);
      if (!old) this.emit('add', o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit('update', o, old);
    }
    for (const [key, o] of [...this.store]) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      this.emit('delete', o);
    }
    this.resourceVersion = listed.resourceVersion;
    this.synced = true;
    this.lastError = undefined;
    this.backoffMs = this.opts.minBackoffMs ?? 1000;
    await this.startWatch();
  }

  private async startWatch(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    try {
      this.watch = await this.client.watch<T>(
        this.type,
        this.opts.namespace,
        {
          resourceVersion: this.resourceVersion,
          labelSelector: this.opts.labelSelector,
          timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        },
        (e) => {
          if (e.type === 'ERROR') {
            const status = e.object as unknown as { code?: number; message?: string };
            if (status.code === 410) gone = true;
            else this.opts.onError?.(new Error(`watch ${this.type.plural}: ${status.message ?? 'error'}`));
            return;
          }
          const o = e.object;
          if (o.metadata?.resourceVersion) this.resourceVersion = o.metadata.resourceVersion;
          if (e.type === 'BOOKMARK') return;
          const key = objectKey(o);
          const old = this.store.get(key);
          if (e.type === 'DELETED') {
            this.store.delete(key);
            this.emit('delete', old ?? o);
          } else {
            this.store.set(key, o);
            // Our own assumed write coming back: told already.
            if (old?.metadata.resourceVersion === o.metadata.resourceVersion) return;
            this.emit(old ? 'update' : 'add', o, old);
          }
        },
        (err) => {
          this.watch = undefined;
          if (this.stopped) return;
          if (gone || (err instanceof KubeApiError && err.code === 410)) {
            void this.relist();
            return;
          }
          // A watch ending without an error is the server's timeout: resume where it left off.
          if (!err) {
            void this.startWatch();
            return;
          }
          this.retryLater(err);
        },
      );
    } catch (e) {
      this.retryLater(e);
    }
  }
}
