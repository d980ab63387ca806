import { describe, expect, it } from 'vitest';
import { captureLogger, json, recordersClosedAfterEach } from '../testing/http-recorder.js';
import type { Notification } from './notifier.js';
import { webhookNotifier } from './webhook.js';

const serve = recordersClosedAfterEach();

const n: Notification = {
  trigger: 'on-rollout-aborted',
  severity: 'error',
  message: 'Rollout aborted update to revision 2',
  release: { kind: 'Rollout', name: 'guestbook', namespace: 'default' },
  revision: 2,
  step: { index: 2, count: 6 },
  weight: 25,
  metric: { name: 'success-rate', value: 0.8849, phase: 'Failed' },
  cluster: 'local',
  at: Date.parse('2026-11-02T10:00:00Z'),
};

describe('generic JSON webhook', () => {
  it('posts the notification as data, field by field', async () => {
    const s = await serve({ status: 200 });
    expect(await webhookNotifier({ url: `${s.url}/hooks/vireo` }).deliver(n)).toMatchObject({ ok: true });
    const [r] = s.requests;
    expect(r?.path).toBe('/hooks/vireo');
    expect(r?.headers['content-type']).toBe('application/json');
    expect(json(r!)).toEqual({
      trigger: 'on-rollout-aborted',
      severity: 'error',
      title: 'Rollout default/guestbook aborted',
      message: 'Rollout aborted update to revision 2',
      text: 'Rollout default/guestbook aborted: Rollout aborted update to revision 2 (revision 2, step 3/6, weight 25%, metric success-rate = 0.8849 (Failed), cluster local)',
      release: { kind: 'Rollout', name: 'guestbook', namespace: 'default' },
      revision: '2',
      step: { index: 2, count: 6 },
      weight: 25,
      metric: { name: 'success-rate', value: 0.8849, phase: 'Failed' },
      cluster: 'local',
      timestamp: '2026-11-02T10:00:00.000Z',
    });
  });

  it('leaves unknown facts out', async () => {
    const s = await serve({ status: 200 });
    await webhookNotifier({ url: s.url }).deliver({
      trigger: 'on-rollout-updated',
      severity: 'info',
      message: 'm',
      release: { kind: 'Canary', name: 'c' },
    });
    expect(Object.keys(json(s.requests[0]!)).sort()).toEqual([
      'message',
      'release',
      'severity',
      'text',
      'timestamp',
      'title',
      'trigger',
    ]);
  });

  it('sends its headers and keeps their values out of logs and reports', async () => {
    const s = await serve((r) => ({ status: 401, body: `wrong key ${r.headers['x-api-key']}` }));
    const log = captureLogger();
    const report = await webhookNotifier({
      url: s.url,
      headers: { 'X-Api-Key': 'hk-0123456789' },
      log,
    }).deliver(n);
    expect(s.requests[0]?.headers['x-api-key']).toBe('hk-0123456789');
    expect(report).toMatchObject({ ok: false, attempts: 1, status: 401 });
    expect(`${JSON.stringify(report)}\n${log.text()}`).not.toContain('hk-0123456789');
  });
});
