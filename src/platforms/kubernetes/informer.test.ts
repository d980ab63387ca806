/**
 * The informer's restarts, against a scripted KubeClient (the real API server is in e2e.test.ts): a
 * watch that ends resumes from the last resourceVersion, a 410 relists and reports what changed, a
 * failing list is retried, and our own assumed writes do not come back as updates.
 */
import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeClient, type KubeJson, RESOURCES, type WatchEvent } from './client.js';
import { Informer, type InformerEvent } from './informer.js';

const obj = (name: string, rv: string): KubeJson => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

interface Watching {
  resourceVersion?: string;
  onEvent: (e: WatchEvent) => void;
  done: (err?: unknown) => void;
}

/** Lists answer from `lists` in turn (an Error is thrown); watches are handed to the test. */
function scripted(lists: ({ items: KubeJson[]; resourceVersion: string } | Error)[]) {
  const watches: Watching[] = [];
  let listCalls = 0;
  const client = {
    list: async () => {
      const next = lists[Math.min(listCalls++, lists.length - 1)];
      if (next instanceof Error) throw next;
      return next;
    },
    watch: async (
      _t: unknown,
      _ns: unknown,
      opts: { resourceVersion?: string },
      onEvent: Watching['onEvent'],
      done: Watching['done'],
    ) => {
      watches.push({
        ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
        onEvent,
        done,
      });
      return { abort: () => {} };
    },
  } as unknown as KubeClient;
  return { client, watches, listCalls: () => listCalls };
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await tick();
  expect(ok()).toBe(true);
}

function record(inf: Informer): string[] {
  const seen: string[] = [];
  inf.on((ev: InformerEvent, o) => seen.push(`${ev} ${o.metadata.name}@${o.metadata.resourceVersion}`));
  return seen;
}

describe('Informer', () => {
  it('lists, then watches from the list resourceVersion; events keep the cache', async () => {
    const s = scripted([{ items: [obj('a', '1')], resourceVersion: '10' }]);
    const inf = new Informer(s.client, RESOURCES.rollouts);
    const seen = record(inf);
    inf.start();
    await until(() => s.watches.length === 1);
    expect(inf.hasSynced()).toBe(true);
    expect(s.watches[0]?.resourceVersion).toBe('10');
    s.watches[0]?.onEvent({ type: 'ADDED', object: obj('b', '11') });
    s.watches[0]?.onEvent({ type: 'MODIFIED', object: obj('a', '12') });
    s.watches[0]?.onEvent({ type: 'DELETED', object: obj('b', '13') });
    expect(seen).toEqual(['add a@1', 'add b@11', 'update a@12', 'delete b@11']);
    expect(inf.list().map((o) => o.metadata.name)).toEqual(['a']);
    expect(inf.get('ns', 'a')?.metadata.resourceVersion).toBe('12');
    inf.stop();
  });

  it('a watch that ends without an error resumes from the last resourceVersion seen (bookmarks too)', async () => {
    const s = scripted([{ items: [], resourceVersion: '5' }]);
    const inf = new Informer(s.client, RESOURCES.rollouts);
    inf.start();
    await until(() => s.watches.length === 1);
    s.watches[0]?.onEvent({ type: 'ADDED', object: obj('a', '7') });
    s.watches[0]?.onEvent({ type: 'BOOKMARK', object: obj('', '9') });
    s.watches[0]?.done();
    await until(() => s.watches.length === 2);
    expect(s.watches[1]?.resourceVersion).toBe('9');
    expect(s.listCalls()).toBe(1);
    inf.stop();
  });

  it('410 Gone relists and reports only the differences', async () => {
    const s = scripted([
      { items: [obj('a', '1'), obj('b', '2')], resourceVersion: '2' },
      { items: [obj('a', '1'), obj('c', '30')], resourceVersion: '31' },
    ]);
    const inf = new Informer(s.client, RESOURCES.rollouts);
    const seen = record(inf);
    inf.start();
    await until(() => s.watches.length === 1);
    s.watches[0]?.onEvent({
      type: 'ERROR',
      object: { code: 410, message: 'too old' } as unknown as KubeJson,
    });
    s.watches[0]?.done();
    await until(() => s.watches.length === 2);
    expect(seen).toEqual(['add a@1', 'add b@2', 'add c@30', 'delete b@2']);
    expect(s.watches[1]?.resourceVersion).toBe('31');
  });

  it('a failing list is retried with back-off, and the problem is reported meanwhile', async () => {
    const errors: unknown[] = [];
    const s = scripted([
      new KubeApiError(0, 'Transport', 'connection refused'),
      { items: [obj('a', '1')], resourceVersion: '1' },
    ]);
    const inf = new Informer(s.client, RESOURCES.rollouts, {
      minBackoffMs: 20,
      onError: (e) => errors.push(e),
    });
    inf.start();
    await until(() => errors.length === 1);
    expect(inf.hasSynced()).toBe(false);
    expect(inf.problem()).toMatch(/rollouts: connection refused/);
    await until(() => inf.hasSynced());
    expect(inf.problem()).toBeUndefined();
    expect(s.listCalls()).toBe(2);
    inf.stop();
  });

  it('a watch that fails to continue (not 410) relists after the back-off', async () => {
    const s = scripted([
      { items: [obj('a', '1')], resourceVersion: '1' },
      { items: [obj('a', '3')], resourceVersion: '3' },
    ]);
    const inf = new Informer(s.client, RESOURCES.rollouts, { minBackoffMs: 10, onError: () => {} });
    const seen = record(inf);
    inf.start();
    await until(() => s.watches.length === 1);
    s.watches[0]?.done(new Error('stream reset'));
    await until(() => s.watches.length === 2);
    expect(seen).toEqual(['add a@1', 'update a@3']);
    inf.stop();
  });

  it('our own write, assumed, is read and told at once, and its watch event is not told again', async () => {
    const s = scripted([{ items: [obj('a', '1')], resourceVersion: '1' }]);
    const inf = new Informer(s.client, RESOURCES.rollouts);
    const seen = record(inf);
    inf.start();
    await until(() => s.watches.length === 1);
    inf.assume(obj('a', '2'));
    expect(inf.get('ns', 'a')?.metadata.resourceVersion).toBe('2');
    s.watches[0]?.onEvent({ type: 'MODIFIED', object: obj('a', '2') });
    s.watches[0]?.onEvent({ type: 'MODIFIED', object: obj('a', '3') });
    expect(seen).toEqual(['add a@1', 'update a@2', 'update a@3']);
    inf.stop();
  });

  it('stop() ends the restarts', async () => {
    const s = scripted([new Error('down')]);
    const inf = new Informer(s.client, RESOURCES.rollouts, { minBackoffMs: 10, onError: () => {} });
    inf.start();
    await until(() => s.listCalls() === 1);
    inf.stop();
    await tick(60);
    expect(s.listCalls()).toBe(1);
  });
});
