import { describe, expect, it } from 'vitest';
import { json, recordersClosedAfterEach } from '../testing/http-recorder.js';
import type { Notification } from './notifier.js';
import { teamsNotifier } from './teams.js';

const serve = recordersClosedAfterEach();

const n: Notification = {
  trigger: 'on-rollout-paused',
  severity: 'warn',
  message: 'Canary promotion is waiting for approval.',
  release: { kind: 'Canary', name: 'podinfo', namespace: 'test' },
  weight: 50,
  cluster: 'edge-1',
};

describe('Microsoft Teams', () => {
  it('Workflows webhook: an Adaptive Card in a message envelope (default)', async () => {
    const s = await serve({ status: 202 });
    const r = await teamsNotifier({ url: `${s.url}/workflows/x` }).deliver(n);
    expect(r).toEqual({ notifier: 'msteams', ok: true, attempts: 1, status: 202 });
    const b = json<{
      type: string;
      attachments: {
        contentType: string;
        contentUrl: null;
        content: Record<string, unknown> & { body: Record<string, unknown>[] };
      }[];
    }>(s.requests[0]!);
    expect(b.type).toBe('message');
    expect(b.attachments).toHaveLength(1);
    const [a] = b.attachments;
    expect(a?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(a?.contentUrl).toBeNull();
    expect(a?.content.type).toBe('AdaptiveCard');
    expect(a?.content.version).toBe('1.4');
    expect(a?.content.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
    expect(a?.content.body).toEqual([
      {
        type: 'TextBlock',
        text: 'Canary test/podinfo paused',
        weight: 'Bolder',
        size: 'Medium',
        color: 'Warning',
        wrap: true,
      },
      { type: 'TextBlock', text: 'Canary promotion is waiting for approval.', wrap: true },
      {
        type: 'FactSet',
        facts: [
          { title: 'Canary', value: 'test/podinfo' },
          { title: 'Weight', value: '50%' },
          { title: 'Cluster', value: 'edge-1' },
          { title: 'Severity', value: 'warn' },
          { title: 'Trigger', value: 'on-rollout-paused' },
        ],
      },
    ]);
  });

  it('legacy connector: a MessageCard (Flagger’s format)', async () => {
    const s = await serve({ status: 200, body: '1' });
    await teamsNotifier({ url: s.url, format: 'messagecard' }).deliver({ ...n, severity: 'error' });
    expect(json(s.requests[0]!)).toEqual({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      themeColor: 'a30200',
      summary: 'Canary test/podinfo paused',
      title: 'Canary test/podinfo paused',
      text: 'Canary promotion is waiting for approval.',
      sections: [
        {
          facts: [
            { name: 'Canary', value: 'test/podinfo' },
            { name: 'Weight', value: '50%' },
            { name: 'Cluster', value: 'edge-1' },
            { name: 'Severity', value: 'error' },
            { name: 'Trigger', value: 'on-rollout-paused' },
          ],
        },
      ],
    });
  });

  it('a connector’s 200 "Webhook message delivery failed" is a failure (not retried)', async () => {
    const s = await serve({
      status: 200,
      body: 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400',
    });
    expect(await teamsNotifier({ url: s.url, format: 'messagecard' }).deliver(n)).toMatchObject({
      ok: false,
      attempts: 1,
    });
  });
});
