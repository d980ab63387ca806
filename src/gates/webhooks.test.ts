import { describe, expect, it } from 'vitest';
import type { Canary } from '../api/flagger/canary.js';
import { tick } from '../engine/flagger/machine.js';
import type { Action, FlaggerStatus, Observation, WebhookPayload } from '../engine/flagger/types.js';
import {
  captureLogger,
  closedPort,
  json,
  type Reply,
  recordersClosedAfterEach,
  selfSignedCert,
} from '../testing/http-recorder.js';
import { type CallWebhookAction, callWebhook, carryOutWebhooks, hookSettings } from './webhooks.js';

const serve = recordersClosedAfterEach();

const FAST = { minMs: 5, maxMs: 20 };
const NOW = new Date('2026-01-01T00:00:00Z');
const payload: WebhookPayload = {
  name: 'podinfo',
  namespace: 'test',
  phase: 'Progressing',
  checksum: 'abc123',
};

const canary = (base: string, webhooks: Record<string, unknown>[]): Canary =>
  ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'test' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' },
      service: { port: 80 },
      analysis: {
        interval: '30s',
        threshold: 2,
        maxWeight: 50,
        stepWeight: 10,
        webhooks: webhooks.map((w) => ({ ...w, url: `${base}/${w.name}` })),
      },
    },
  }) as unknown as Canary;
const observed = (o: Partial<Observation> = {}): Observation => ({
  target: { specHash: 'h2' },
  primary: { ready: true },
  canary: { ready: true },
  routes: { primary: 100, canary: 0, mirrored: false },
  ...o,
});
const NEW_REVISION: FlaggerStatus = { phase: 'Succeeded', lastAppliedSpec: 'h1', lastPromotedSpec: 'h1' };

describe('carrying out the Flagger machine’s CallWebhook actions', () => {
  it('posts Flagger’s payload field by field; the next tick judges the results', async () => {
    const s = await serve({ status: 200, body: 'ok' });
    const c = canary(s.url, [
      { name: 'pre', type: 'pre-rollout', metadata: { cmd: 'helm test' } },
      { name: 'events', type: 'event', metadata: { team: 'web', eventType: 'ignored' } },
    ]);
    // Tick 1: a new revision. Emits an event (so the event hook fires) and scales up.
    const t1 = tick(c, NEW_REVISION, observed(), NOW);
    expect(t1.transition).toBe('rolloutStarted');
    const r1 = await carryOutWebhooks(t1.actions, { settings: hookSettings(c) });
    expect(r1.webhooks).toEqual({});
    await r1.background;
    const [ev] = await s.waitFor(1);
    expect(ev?.method).toBe('POST');
    expect(ev?.path).toBe('/events');
    expect(ev?.headers['content-type']).toBe('application/json');
    const evBody = json<WebhookPayload>(ev!);
    expect(Object.keys(evBody).sort()).toEqual(['checksum', 'metadata', 'name', 'namespace', 'phase']);
    expect(evBody.name).toBe('podinfo');
    expect(evBody.namespace).toBe('test');
    expect(evBody.phase).toBe('Succeeded');
    expect(evBody.checksum).toMatch(/^[0-9a-f]{8}$/);
    expect(evBody.metadata).toEqual({
      team: 'web',
      eventMessage: 'New revision detected! Scaling up podinfo.test',
      eventType: 'Normal',
      timestamp: String(NOW.getTime()),
    });

    // Tick 2: the pre-rollout round is requested; carry it out; tick 3 reads the result.
    const t2 = tick(c, t1.status, observed(), NOW);
    const calls = t2.actions.filter((a): a is CallWebhookAction => a.type === 'CallWebhook');
    expect(calls.map((a) => a.name)).toEqual(['pre']);
    const r2 = await carryOutWebhooks(t2.actions, { settings: hookSettings(c) });
    expect(r2.webhooks).toEqual({ pre: { ok: true } });
    const pre = s.requests.find((r) => r.path === '/pre');
    expect(json(pre!)).toEqual({
      name: 'podinfo',
      namespace: 'test',
      phase: 'Progressing',
      checksum: calls[0]?.payload.checksum,
      metadata: { cmd: 'helm test' },
    });
    const t3 = tick(c, t2.status, observed({ webhooks: r2.webhooks }), NOW);
    expect(t3.actions).toContainEqual({ type: 'SetRoutes', primary: 90, canary: 10, mirrored: false });

    // A failing pre-rollout hook counts one failed check, with the body in the message.
    s.answer({ status: 500, body: 'helm test failed: 2 pods crashed' });
    const r3 = await carryOutWebhooks(t2.actions, { settings: hookSettings(c), backoff: FAST });
    const t4 = tick(c, t2.status, observed({ webhooks: r3.webhooks }), NOW);
    expect(t4.status.failedChecks).toBe(1);
    expect(t4.actions).toContainEqual(
      expect.objectContaining({
        type: 'EmitEvent',
        message: `Halt advancement podinfo.test pre-rollout check pre failed POST ${s.url}/pre giving up after 1 attempt(s): HTTP 500 Internal Server Error: helm test failed: 2 pods crashed`,
      }),
    );
  });

  it('fire-and-forget hooks (event, post-rollout) never hold the tick', async () => {
    const slow = await serve({ delayMs: 400, body: 'late' });
    const fast = await serve({ body: 'ok' });
    const log = captureLogger();
    const action = (name: string, hookType: string, url: string): Action => ({
      type: 'CallWebhook',
      name,
      hookType,
      url,
      payload,
    });
    let backgroundDone = false;
    const r = await carryOutWebhooks(
      [
        action('ev', 'event', `${slow.url}/ev`),
        action('post', 'post-rollout', `${slow.url}/post`),
        action('gate', 'confirm-promotion', `${fast.url}/gate`),
        { type: 'Requeue', afterSeconds: 30 },
      ],
      { settings: new Map([['post', { timeoutMs: 100 }]]), log },
    );
    r.background.then(() => {
      backgroundDone = true;
    });
    expect(r.webhooks).toEqual({ gate: { ok: true } });
    expect(backgroundDone).toBe(false);
    await r.background;
    expect(backgroundDone).toBe(true);
    expect(slow.requests.map((q) => q.path).sort()).toEqual(['/ev', '/post']);
    // The post-rollout hook timed out: logged, not reported.
    expect(
      log.lines.some((l) => l.message === 'fire-and-forget webhook failed' && l.fields.hook === 'post'),
    ).toBe(true);
  });
});

describe('callWebhook: Flagger’s success rule (status ≤ 202), one attempt by default', () => {
  const rows: [number, string, boolean, string | undefined][] = [
    [200, 'ok', true, undefined],
    [201, '', true, undefined],
    [202, 'accepted', true, undefined],
    [203, 'non-authoritative', false, 'HTTP 203 Non-Authoritative Information: non-authoritative'],
    [204, '', false, 'HTTP 204 No Content (empty body)'],
    [304, '', false, 'HTTP 304 Not Modified (empty body)'],
    [400, 'bad payload', false, 'HTTP 400 Bad Request: bad payload'],
    [403, 'Forbidden', false, 'HTTP 403 Forbidden: Forbidden'],
    [404, '404 page not found\n', false, 'HTTP 404 Not Found: 404 page not found'],
    [501, 'not implemented', false, 'HTTP 501 Not Implemented: not implemented'],
    [500, 'boom', false, 'giving up after 1 attempt(s): HTTP 500 Internal Server Error: boom'],
    [503, '', false, 'giving up after 1 attempt(s): HTTP 503 Service Unavailable (empty body)'],
  ];
  it.each(rows)('%i %j -> ok %s', async (status, body, ok, message) => {
    const s = await serve({ status, body });
    const o = await callWebhook(`${s.url}/hook`, payload);
    expect(o.result.ok).toBe(ok);
    if (message !== undefined) {
      expect(o.result).toEqual({
        ok: false,
        message: message.startsWith('giving') ? `POST ${s.url}/hook ${message}` : message,
      });
    }
    expect(o.attempts).toBe(1);
    expect(s.requests).toHaveLength(1);
  });

  it('bounds and flattens the body in the message', async () => {
    const s = await serve({ status: 400, body: `line one\n\n${'x'.repeat(2000)}` });
    const o = await callWebhook(s.url, payload);
    expect(o.result.ok).toBe(false);
    const m = (o.result as { message: string }).message;
    expect(m.startsWith('HTTP 400 Bad Request: line one xxx')).toBe(true);
    expect(m.length).toBeLessThanOrEqual('HTTP 400 Bad Request: '.length + 512);
    expect(m.endsWith('…')).toBe(true);
  });

  it('follows a redirect before judging', async () => {
    const s = await serve((r) =>
      r.path === '/old' ? { status: 307, headers: { location: '/new' } } : { status: 202 },
    );
    expect((await callWebhook(`${s.url}/old`, payload)).result).toEqual({ ok: true });
    expect(s.requests.map((r) => `${r.method} ${r.path} ${r.body.length > 0}`)).toEqual([
      'POST /old true',
      'POST /new true',
    ]);
  });
});

describe('callWebhook: retries as go-retryablehttp with RetryMax = retries', () => {
  const seq = (...statuses: number[]): Reply[] =>
    statuses.map((status) => ({ status, body: `answer ${status}` }));

  it.each([
    ['500, 500, 200 with 2 retries: ok on the third attempt', seq(500, 500, 200), 2, true, 3],
    ['500 x3 with 2 retries: gives up after 3', seq(500), 2, false, 3],
    [
      '429 then 200 with 1 retry',
      [{ status: 429, headers: { 'retry-after': '0' } }, { status: 200 }],
      1,
      true,
      2,
    ],
    ['502, 504, 202', seq(502, 504, 202), 5, true, 3],
    ['403 is final: no retry', seq(403, 200), 3, false, 1],
    ['501 is final: no retry', seq(501, 200), 3, false, 1],
    ['204 is final (and a failure)', seq(204, 200), 3, false, 1],
  ] as [string, Reply[], number, boolean, number][])('%s', async (_n, replies, retries, ok, attempts) => {
    const s = await serve(replies);
    const o = await callWebhook(s.url, payload, { settings: { retries }, backoff: FAST });
    expect(o.result.ok).toBe(ok);
    expect(o.attempts).toBe(attempts);
    expect(s.requests).toHaveLength(attempts);
    // Every attempt sends the same payload.
    expect(new Set(s.requests.map((r) => r.body)).size).toBe(1);
  });

  it('gives up after retries with the status and body', async () => {
    const s = await serve({ status: 500, body: 'still broken' });
    const o = await callWebhook(`${s.url}/h`, payload, { settings: { retries: 2 }, backoff: FAST });
    expect(o.result).toEqual({
      ok: false,
      message: `POST ${s.url}/h giving up after 3 attempt(s): HTTP 500 Internal Server Error: still broken`,
    });
  });

  it('a slow answer times out per attempt, and is retried', async () => {
    const s = await serve([{ delayMs: 2000, body: 'late' }, { status: 200 }]);
    const once = await callWebhook(`${s.url}/slow`, payload, { settings: { timeoutMs: 100 } });
    expect(once.result).toEqual({
      ok: false,
      message: `POST ${s.url}/slow giving up after 1 attempt(s): no answer within 0.1s`,
    });
    s.answer([{ delayMs: 2000 }, { status: 200 }]);
    s.requests.length = 0;
    const retried = await callWebhook(`${s.url}/slow`, payload, {
      settings: { timeoutMs: 100, retries: 1 },
      backoff: FAST,
    });
    expect(retried.result).toEqual({ ok: true });
    expect(retried.attempts).toBe(2);
  });

  it('connection refused is retried, then reported', async () => {
    const port = await closedPort();
    const log = captureLogger();
    const o = await callWebhook(`http://127.0.0.1:${port}/`, payload, {
      settings: { retries: 2 },
      backoff: FAST,
      log,
    });
    expect(o.attempts).toBe(3);
    expect(o.result).toEqual({
      ok: false,
      message: `POST http://127.0.0.1:${port}/ giving up after 3 attempt(s): connection refused by 127.0.0.1:${port}`,
    });
    expect(log.lines.filter((l) => l.message === 'webhook call failed, retrying')).toHaveLength(2);
    expect(log.lines.filter((l) => l.message === 'webhook call failed')).toHaveLength(1);
  });

  it('a bad certificate is not retried; disableTLS skips verification', async () => {
    const s = await serve({ status: 200 }, { tls: selfSignedCert() });
    const strict = await callWebhook(s.url, payload, { settings: { retries: 3 }, backoff: FAST });
    expect(strict.attempts).toBe(1);
    expect(strict.result.ok).toBe(false);
    expect((strict.result as { message: string }).message).toMatch(/giving up after 1 attempt\(s\): TLS: /);
    expect((await callWebhook(s.url, payload, { settings: { disableTLS: true } })).result).toEqual({
      ok: true,
    });
  });
});

describe('hookSettings: timeout, retries and disableTLS from the Canary', () => {
  it.each([
    [{}, { timeoutMs: 10_000, retries: 0, disableTLS: false }],
    [{ timeout: '30s' }, { timeoutMs: 30_000, retries: 0, disableTLS: false }],
    [
      { timeout: '2m', retries: 3, disableTLS: true },
      { timeoutMs: 120_000, retries: 3, disableTLS: true },
    ],
    [{ timeout: '5' }, { timeoutMs: 10_000, retries: 0, disableTLS: false }],
    [{ retries: -2 }, { timeoutMs: 10_000, retries: 0, disableTLS: false }],
  ] as [Record<string, unknown>, unknown][])('%j', (extra, want) => {
    expect(hookSettings(canary('http://h', [{ name: 'w', ...extra }])).get('w')).toEqual(want);
  });
});

describe('webhook secrets never reach results or logs', () => {
  it('URL credentials, query values and secret metadata are scrubbed', async () => {
    const s = await serve((r) => ({ status: 500, body: `echo ${r.path} ${r.body}` }));
    const log = captureLogger();
    const url = `${s.url.replace('http://', 'http://bot:pw-9f8e7d6c@')}/hook?token=q-1a2b3c4d5e`;
    const o = await callWebhook(
      url,
      { ...payload, metadata: { cmd: 'hey http://app', token: 'md-0123456789', apiKey: 'ak-0123456789' } },
      { settings: { retries: 1 }, backoff: FAST, log, hook: { name: 'load', type: 'rollout' } },
    );
    expect(o.result.ok).toBe(false);
    const everything = `${JSON.stringify(o)}\n${log.text()}`;
    for (const secret of ['pw-9f8e7d6c', 'q-1a2b3c4d5e', 'md-0123456789', 'ak-0123456789'])
      expect(everything).not.toContain(secret);
    expect(everything).toContain(`POST ${s.url}/hook?token=… giving up after 2 attempt(s): HTTP 500`);
    expect(everything).toContain('hey http://app');
    expect(log.lines.length).toBeGreaterThanOrEqual(2);
  });
});
