import { describe, expect, it } from 'vitest';
import { json, recordersClosedAfterEach } from '../testing/http-recorder.js';
import type { Notification } from './notifier.js';
import { slackEscape, slackNotifier } from './slack.js';

const serve = recordersClosedAfterEach();

const FAST = { minMs: 5, maxMs: 20 };
const n: Notification = {
  trigger: 'on-analysis-run-failed',
  severity: 'error',
  message: 'Analysis Run guestbook-2 failed: success-rate <0.95> & latency',
  release: { kind: 'Rollout', name: 'guestbook', namespace: 'default' },
  revision: 2,
  step: { index: 1, count: 4 },
  weight: 20,
  metric: { name: 'success-rate', value: 0.8849 },
};

interface SlackBody {
  text: string;
  channel?: string;
  username?: string;
  attachments: {
    color: string;
    fallback: string;
    blocks: {
      type: string;
      text?: { type: string; text: string };
      fields?: { type: string; text: string }[];
    }[];
  }[];
}

describe('Slack incoming webhook', () => {
  it('posts text plus a coloured attachment with Block Kit sections, escaped for mrkdwn', async () => {
    const s = await serve({ status: 200, body: 'ok' });
    const r = await slackNotifier({ url: `${s.url}/services/T/B/X` }).deliver(n);
    expect(r).toEqual({ notifier: 'slack', ok: true, attempts: 1, status: 200 });
    const [req] = s.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/services/T/B/X');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.authorization).toBeUndefined();
    const b = json<SlackBody>(req!);
    expect(Object.keys(b).sort()).toEqual(['attachments', 'text']);
    expect(b.text).toBe(
      'Rollout default/guestbook analysis failed: Analysis Run guestbook-2 failed: success-rate <0.95> & latency (revision 2, step 2/4, weight 20%, metric success-rate = 0.8849)',
    );
    expect(b.attachments).toHaveLength(1);
    const [a] = b.attachments;
    expect(a?.color).toBe('#a30200');
    expect(a?.fallback).toBe(b.text);
    expect(a?.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Rollout default/guestbook analysis failed*\nAnalysis Run guestbook-2 failed: success-rate &lt;0.95&gt; &amp; latency',
      },
    });
    expect(a?.blocks[1]?.fields?.map((f) => f.text)).toEqual([
      '*Rollout*\ndefault/guestbook',
      '*Revision*\n2',
      '*Step*\n2/4',
      '*Weight*\n20%',
      '*Metric*\nsuccess-rate = 0.8849',
      '*Severity*\nerror',
      '*Trigger*\non-analysis-run-failed',
    ]);
    expect(a?.blocks[1]?.fields?.every((f) => f.type === 'mrkdwn')).toBe(true);
  });

  it('colours by severity', async () => {
    const s = await serve({ status: 200, body: 'ok' });
    for (const severity of ['info', 'warn', 'error'] as const)
      await slackNotifier({ url: s.url }).deliver({ ...n, severity });
    expect(s.requests.map((r) => json<SlackBody>(r).attachments[0]?.color)).toEqual([
      '#2eb886',
      '#daa038',
      '#a30200',
    ]);
  });

  it('with a token: Web API, Bearer header, channel (default general) and username', async () => {
    const s = await serve({ status: 200, body: { ok: true } });
    await slackNotifier({ url: `${s.url}/api/chat.postMessage`, token: 'xoxb-123456' }).deliver(n);
    await slackNotifier({
      url: `${s.url}/api/chat.postMessage`,
      token: 'xoxb-123456',
      channel: 'deploys',
      username: 'bot',
    }).deliver(n);
    expect(s.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer xoxb-123456',
      'Bearer xoxb-123456',
    ]);
    expect(s.requests.map((r) => [json<SlackBody>(r).channel, json<SlackBody>(r).username])).toEqual([
      ['general', 'vireo'],
      ['deploys', 'bot'],
    ]);
  });

  it('the Web API’s {"ok": false} is a failure; ratelimited is retried', async () => {
    const s = await serve([
      { body: { ok: false, error: 'ratelimited' } },
      { body: { ok: false, error: 'channel_not_found' } },
    ]);
    const r = await slackNotifier({ url: s.url, token: 'xoxb-123456', backoff: FAST }).deliver(n);
    expect(r).toMatchObject({
      ok: false,
      attempts: 2,
      error: `http://127.0.0.1:${s.port}/ refused the message: channel_not_found`,
    });
  });

  it('Slack’s own error answers are reported', async () => {
    const s = await serve({ status: 404, body: 'no_service' });
    expect(await slackNotifier({ url: `${s.url}/services/x` }).deliver(n)).toMatchObject({
      ok: false,
      attempts: 1,
      status: 404,
      error: `http://127.0.0.1:${s.port}/… answered HTTP 404: no_service`,
    });
  });

  it('without URL or token nothing is sent', async () => {
    expect(await slackNotifier({}).deliver(n)).toEqual({
      notifier: 'slack',
      ok: false,
      attempts: 0,
      error: 'no Slack URL or token',
    });
  });

  it('cuts long messages to Slack’s limits', async () => {
    const s = await serve({ status: 200, body: 'ok' });
    await slackNotifier({ url: s.url }).deliver({ ...n, message: 'x'.repeat(5000) });
    const b = json<SlackBody>(s.requests[0]!);
    expect(b.text.length).toBeLessThanOrEqual(3000);
    expect(b.attachments[0]?.blocks[0]?.text?.text.length).toBeLessThanOrEqual(3000);
  });

  it('escapes &, < and >', () => {
    expect(slackEscape('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
  });
});
