import { describe, expect, it } from 'vitest';
import { json, recordersClosedAfterEach } from '../testing/http-recorder.js';
import { discordNotifier, discordUrl } from './discord.js';
import type { Notification } from './notifier.js';

const serve = recordersClosedAfterEach();

const n: Notification = {
  trigger: 'on-rollout-completed',
  severity: 'info',
  message: 'Rollout completed update to revision 3 (7c6f9d8b5): Completed all 6 canary steps @everyone',
  release: { kind: 'Rollout', name: 'guestbook', namespace: 'default' },
  revision: 3,
  step: { index: 5, count: 6 },
  weight: 100,
  at: Date.parse('2026-11-02T10:00:00Z'),
};

describe('Discord', () => {
  it('posts content and one embed (colour, fields, timestamp) and pings nobody; 204 is success', async () => {
    const s = await serve({ status: 204 });
    const r = await discordNotifier({ url: `${s.url}/api/webhooks/1/tok`, username: 'vireo' }).deliver(n);
    expect(r).toEqual({ notifier: 'discord', ok: true, attempts: 1, status: 204 });
    expect(s.requests[0]?.path).toBe('/api/webhooks/1/tok');
    expect(json(s.requests[0]!)).toEqual({
      content: 'Rollout default/guestbook completed',
      username: 'vireo',
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: 'Rollout default/guestbook completed',
          description: n.message,
          color: 0x2eb886,
          timestamp: '2026-11-02T10:00:00.000Z',
          fields: [
            { name: 'Rollout', value: 'default/guestbook', inline: true },
            { name: 'Revision', value: '3', inline: true },
            { name: 'Step', value: '6/6', inline: true },
            { name: 'Weight', value: '100%', inline: true },
            { name: 'Severity', value: 'info', inline: true },
            { name: 'Trigger', value: 'on-rollout-completed', inline: true },
          ],
        },
      ],
    });
  });

  it('takes Flagger’s /slack address without the suffix', async () => {
    const s = await serve({ status: 204 });
    await discordNotifier({ url: `${s.url}/api/webhooks/1/tok/slack` }).deliver(n);
    expect(s.requests[0]?.path).toBe('/api/webhooks/1/tok');
    expect(discordUrl('https://discord.com/api/webhooks/1/t/slack?wait=true')).toBe(
      'https://discord.com/api/webhooks/1/t?wait=true',
    );
    expect(discordUrl('https://discord.com/api/webhooks/1/slackish')).toBe(
      'https://discord.com/api/webhooks/1/slackish',
    );
  });

  it('waits for Retry-After on 429, then delivers', async () => {
    const s = await serve([
      { status: 429, headers: { 'retry-after': '0' }, body: { retry_after: 0.01 } },
      { status: 204 },
    ]);
    expect(
      await discordNotifier({ url: s.url, backoff: { minMs: 60_000, maxMs: 60_000 } }).deliver(n),
    ).toMatchObject({
      ok: true,
      attempts: 2,
    });
  });

  it('keeps within Discord’s limits', async () => {
    const s = await serve({ status: 204 });
    await discordNotifier({ url: s.url }).deliver({
      ...n,
      message: 'y'.repeat(5000),
      release: { kind: 'Rollout', name: 'z'.repeat(300) },
    });
    const b = json<{ content: string; embeds: { title: string; description: string }[] }>(s.requests[0]!);
    expect(b.content.length).toBeLessThanOrEqual(2000);
    expect(b.embeds[0]?.title.length).toBeLessThanOrEqual(256);
    expect(b.embeds[0]?.description.length).toBeLessThanOrEqual(4096);
  });
});
