import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger, json, recordersClosedAfterEach } from '../testing/http-recorder.js';
import { chatEscape, gchatNotifier } from './gchat.js';
import { notifierForAlertProvider } from './index.js';
import type { Notification } from './notifier.js';

const serve = recordersClosedAfterEach();

const n: Notification = {
  trigger: 'on-rollout-aborted',
  severity: 'error',
  message: 'Canary analysis failed: <request-success-rate> 91.2 < 99 & halted',
  release: { kind: 'Canary', name: 'podinfo', namespace: 'test' },
  weight: 20,
  metric: { name: 'request-success-rate', value: 91.2, phase: 'Failed' },
  cluster: 'eu-1',
  at: Date.parse('2026-11-02T10:00:00Z'),
};

/** A Google Chat webhook path and query: the key and token are secrets. */
const HOOK = '/v1/spaces/AAAAspace/messages?key=AIzaK3yS3cr3tValue&token=t0k3nS3cr3tValue';

describe('Google Chat', () => {
  it('posts one v2 card: headline, message coloured by severity, one line per field', async () => {
    const s = await serve({ status: 200, body: { name: 'spaces/AAAAspace/messages/1' } });
    const r = await gchatNotifier({ url: `${s.url}${HOOK}` }).deliver(n);
    expect(r).toEqual({ notifier: 'gchat', ok: true, attempts: 1, status: 200 });
    expect(s.requests[0]?.path).toBe(HOOK);
    expect(s.requests[0]?.headers['content-type']).toBe('application/json');
    expect(json(s.requests[0]!)).toEqual({
      fallbackText:
        'Canary test/podinfo aborted: Canary analysis failed: <request-success-rate> 91.2 < 99 & halted (weight 20%, metric request-success-rate = 91.2 (Failed), cluster eu-1)',
      cardsV2: [
        {
          cardId: 'vireo-on-rollout-aborted',
          card: {
            header: { title: 'Canary test/podinfo aborted' },
            sections: [
              {
                widgets: [
                  {
                    textParagraph: {
                      text: '<font color="#a30200"><b>Canary analysis failed: &lt;request-success-rate&gt; 91.2 &lt; 99 &amp; halted</b></font>',
                    },
                  },
                ],
              },
              {
                widgets: [
                  { decoratedText: { topLabel: 'Canary', text: 'test/podinfo' } },
                  { decoratedText: { topLabel: 'Weight', text: '20%' } },
                  { decoratedText: { topLabel: 'Metric', text: 'request-success-rate = 91.2 (Failed)' } },
                  { decoratedText: { topLabel: 'Cluster', text: 'eu-1' } },
                  { decoratedText: { topLabel: 'Severity', text: 'error' } },
                  { decoratedText: { topLabel: 'Trigger', text: 'on-rollout-aborted' } },
                ],
              },
            ],
          },
        },
      ],
    });
  });

  it.each([
    ['<b>x</b>', '&lt;b&gt;x&lt;/b&gt;'],
    ['a & "b"', 'a &amp; &quot;b&quot;'],
    ['plain', 'plain'],
  ])('chatEscape(%j) -> %j', (text, want) => {
    expect(chatEscape(text)).toBe(want);
  });

  it.each<[string, { status: number; headers?: Record<string, string>; body?: unknown }[], boolean, number]>([
    [
      '429 with Retry-After, then 200: delivered on the 2nd attempt',
      [{ status: 429, headers: { 'retry-after': '0' } }, { status: 200 }],
      true,
      2,
    ],
    ['503, then 200', [{ status: 503 }, { status: 200 }], true, 2],
    ['400 is final', [{ status: 400, body: { error: { message: 'Invalid JSON payload' } } }], false, 1],
    ['always 500: gives up after the retries', [{ status: 500 }], false, 3],
  ])('%s', async (_name, replies, ok, attempts) => {
    const s = await serve(replies);
    const log = captureLogger();
    const r = await gchatNotifier({
      url: `${s.url}${HOOK}`,
      retries: 2,
      backoff: { minMs: 1, maxMs: 5 },
      log,
    }).deliver(n);
    expect(r).toMatchObject({ ok, attempts });
    expect(s.requests).toHaveLength(attempts);
    const everything = `${JSON.stringify(r)}\n${log.text()}`;
    for (const secret of ['AIzaK3yS3cr3tValue', 't0k3nS3cr3tValue', 'AAAAspace'])
      expect(everything).not.toContain(secret);
  });
});

// -------------------------------------------------------------------------------------------------
// AlertProvider `proxy`
// -------------------------------------------------------------------------------------------------

/** A tiny plain forward proxy (absolute-form requests only) that counts what it proxies. */
async function startCountingProxy() {
  const seen: { target: string; proxyAuthorization?: string }[] = [];
  const server = http.createServer((req, res) => {
    const auth = req.headers['proxy-authorization'];
    seen.push({ target: req.url ?? '', ...(auth ? { proxyAuthorization: auth } : {}) });
    const { 'proxy-authorization': _drop, ...headers } = req.headers;
    const up = http.request(req.url ?? '', { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('AlertProvider proxy', () => {
  const proxies: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  it.each(['gchat', 'slack', 'msteams', 'discord'])(
    '%s: every delivery goes through the proxy; its credentials are never logged',
    async (type) => {
      const s = await serve({ status: 200 });
      const proxy = await startCountingProxy();
      proxies.push(proxy);
      const log = captureLogger();
      const made = notifierForAlertProvider(
        {
          name: 'alerts',
          type,
          address: `${s.url}/hooks/h00kS3cr3tPath`,
          proxy: `http://ops:pr0xyPa55@127.0.0.1:${proxy.port}`,
        },
        { log },
      );
      if (!('notifier' in made)) throw new Error(made.none);
      expect(await made.notifier.deliver(n)).toMatchObject({ ok: true, attempts: 1 });
      expect(await made.notifier.deliver(n)).toMatchObject({ ok: true, attempts: 1 });
      expect(proxy.seen).toHaveLength(2);
      expect(proxy.seen[0]?.target).toBe(`${s.url}/hooks/h00kS3cr3tPath`);
      expect(proxy.seen[0]?.proxyAuthorization).toBe(
        `Basic ${Buffer.from('ops:pr0xyPa55').toString('base64')}`,
      );
      expect(s.requests).toHaveLength(2);
      expect(log.text()).not.toMatch(/pr0xyPa55|h00kS3cr3tPath/);
    },
  );

  it('a proxy that is down: retried, then reported without its credentials', async () => {
    const proxy = await startCountingProxy();
    await proxy.close();
    const log = captureLogger();
    const made = notifierForAlertProvider(
      {
        name: 'alerts',
        type: 'gchat',
        address: 'http://127.0.0.1:9/x',
        proxy: `http://ops:pr0xyPa55@127.0.0.1:${proxy.port}`,
      },
      { log, retries: 1, backoff: { minMs: 1, maxMs: 1 } },
    );
    if (!('notifier' in made)) throw new Error(made.none);
    const r = await made.notifier.deliver(n);
    expect(r).toMatchObject({
      ok: false,
      attempts: 2,
      error: `http://127.0.0.1:9/…: proxy http://127.0.0.1:${proxy.port}: connection refused by 127.0.0.1:${proxy.port}`,
    });
    expect(`${JSON.stringify(r)}\n${log.text()}`).not.toContain('pr0xyPa55');
  });
});
