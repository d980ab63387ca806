import { describe, expect, it } from 'vitest';
import { captureLogger, closedPort, recordersClosedAfterEach } from '../testing/http-recorder.js';
import { notifierForAlertProvider } from './index.js';
import {
  describe as describeNotification,
  flaggerAlertTrigger,
  type Notification,
  type Notifier,
  notificationFromAlert,
  notificationFromEvent,
  notifyAll,
  plainText,
  type Severity,
  severityAccepts,
  severityForEvent,
  triggerForReason,
} from './notifier.js';
import { webhookNotifier } from './webhook.js';

const serve = recordersClosedAfterEach();

const FAST = { minMs: 5, maxMs: 20 };

const aborted: Notification = {
  trigger: 'on-rollout-aborted',
  severity: 'error',
  message:
    'Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (4) > failureLimit (3)',
  release: { kind: 'Rollout', name: 'guestbook', namespace: 'default' },
  revision: 2,
  step: { index: 2, count: 6 },
  weight: 25,
  metric: { name: 'success-rate', value: 0.8849, phase: 'Failed' },
  at: Date.parse('2026-11-02T10:00:00Z'),
};

describe('event reason -> Argo trigger (translateReasonToTrigger)', () => {
  const rows: [string, string][] = [
    ['RolloutAborted', 'on-rollout-aborted'],
    ['RolloutUpdated', 'on-rollout-updated'],
    ['RolloutStepCompleted', 'on-rollout-step-completed'],
    ['RolloutPaused', 'on-rollout-paused'],
    ['RolloutCompleted', 'on-rollout-completed'],
    ['AnalysisRunFailed', 'on-analysis-run-failed'],
    ['AnalysisRunError', 'on-analysis-run-error'],
    ['AnalysisRunRunning', 'on-analysis-run-running'],
    ['ScalingReplicaSet', 'on-scaling-replica-set'],
    ['NewReplicaSetCreated', 'on-new-replica-set-created'],
    ['TrafficWeightUpdated', 'on-traffic-weight-updated'],
    ['RolloutAddedToInformer', 'on-rollout-added-to-informer'],
    ['Synced', 'on-synced'],
  ];
  it.each(rows)('%s -> %s', (reason, trigger) => {
    expect(triggerForReason(reason)).toBe(trigger);
  });
});

describe('severities', () => {
  const accepts: [Severity, Severity, boolean][] = [
    ['info', 'info', true],
    ['info', 'warn', true],
    ['info', 'error', true],
    ['warn', 'info', false],
    ['warn', 'warn', true],
    ['warn', 'error', true],
    ['error', 'info', false],
    ['error', 'warn', false],
    ['error', 'error', true],
  ];
  it.each(accepts)('a subscriber at %s gets %s: %s (Flagger’s filter)', (min, s, want) => {
    expect(severityAccepts(min, s)).toBe(want);
  });

  const events: [string, 'Normal' | 'Warning', Severity][] = [
    ['RolloutAborted', 'Warning', 'error'],
    ['AnalysisRunFailed', 'Warning', 'error'],
    ['AnalysisRunError', 'Warning', 'error'],
    ['RolloutPaused', 'Normal', 'warn'],
    ['StepUnsupported', 'Warning', 'warn'],
    ['RolloutCompleted', 'Normal', 'info'],
    ['RolloutStepCompleted', 'Normal', 'info'],
  ];
  it.each(events)('Argo event %s (%s) is %s', (reason, type, want) => {
    expect(severityForEvent(reason, type)).toBe(want);
  });

  const alerts: [string, Severity, string][] = [
    ['New revision detected, progressing canary analysis.', 'info', 'on-rollout-updated'],
    ['New Deployment detected, initialization completed.', 'info', 'on-rollout-updated'],
    ['Canary is waiting for approval.', 'warn', 'on-rollout-paused'],
    ['Canary promotion is waiting for approval.', 'warn', 'on-rollout-paused'],
    ['Canary traffic increase is waiting for approval.', 'warn', 'on-rollout-paused'],
    ['Canary analysis completed successfully, promotion finished.', 'info', 'on-rollout-completed'],
    ['Canary analysis was skipped, promotion finished.', 'info', 'on-rollout-completed'],
    ['Failed checks threshold reached 5', 'error', 'on-rollout-aborted'],
    ['Rolling back manual webhook invoked', 'warn', 'on-rollout-aborted'],
    ['Promotion failed, primary not ready: x', 'error', 'on-rollout-aborted'],
    ['Something new', 'error', 'on-rollout-aborted'],
    ['Something new', 'info', 'on-rollout-updated'],
  ];
  it.each(alerts)('Flagger alert %j (%s) -> %s', (message, severity, want) => {
    expect(flaggerAlertTrigger(message, severity)).toBe(want);
  });
});

describe('rendering', () => {
  it('names the release, revision, step, weight and metric with its value', () => {
    const r = describeNotification(aborted);
    expect(r.title).toBe('Rollout default/guestbook aborted');
    expect(r.fields).toEqual([
      { name: 'Rollout', value: 'default/guestbook' },
      { name: 'Revision', value: '2' },
      { name: 'Step', value: '3/6' },
      { name: 'Weight', value: '25%' },
      { name: 'Metric', value: 'success-rate = 0.8849 (Failed)' },
      { name: 'Severity', value: 'error' },
      { name: 'Trigger', value: 'on-rollout-aborted' },
    ]);
    expect(plainText(aborted)).toBe(
      `Rollout default/guestbook aborted: ${aborted.message} (revision 2, step 3/6, weight 25%, metric success-rate = 0.8849 (Failed))`,
    );
  });
  it('titles a trigger named like an Object member from its name, not from Object.prototype', () => {
    const n: Notification = {
      trigger: 'constructor',
      severity: 'info',
      message: 'x',
      release: { kind: 'Rollout', name: 'r' },
    };
    expect(describeNotification(n).title).toBe('Rollout r constructor');
  });
  it('leaves out what is unknown', () => {
    const n: Notification = {
      trigger: 'on-rollout-completed',
      severity: 'info',
      message: 'done',
      release: { kind: 'Canary', name: 'podinfo' },
    };
    expect(plainText(n)).toBe('Canary podinfo completed: done');
  });
});

describe('delivery: retries with back-off, never rejects, never leaks the URL', () => {
  it('retries 5xx and then delivers', async () => {
    const s = await serve([{ status: 503 }, { status: 500 }, { status: 200 }]);
    const log = captureLogger();
    const r = await webhookNotifier({ url: `${s.url}/n`, backoff: FAST, log }).deliver(aborted);
    expect(r).toEqual({ notifier: 'webhook', ok: true, attempts: 3, status: 200 });
    expect(s.requests).toHaveLength(3);
    expect(log.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'warn notification failed, retrying',
      'warn notification failed, retrying',
      'info notification delivered',
    ]);
  });

  it('gives up after the retries, reports and logs it', async () => {
    const s = await serve({ status: 502, body: 'bad gateway' });
    const log = captureLogger();
    const r = await webhookNotifier({
      name: 'ops',
      url: `${s.url}/n`,
      retries: 2,
      backoff: FAST,
      log,
    }).deliver(aborted);
    expect(r).toEqual({
      notifier: 'ops',
      ok: false,
      attempts: 3,
      status: 502,
      error: `http://127.0.0.1:${s.port}/… answered HTTP 502: bad gateway`,
    });
    expect(log.lines.at(-1)).toMatchObject({ level: 'error', message: 'notification not delivered' });
  });

  it('does not retry a 4xx other than 429', async () => {
    const s = await serve({ status: 404, body: 'no_service' });
    const r = await webhookNotifier({ url: s.url, backoff: FAST }).deliver(aborted);
    expect(r).toMatchObject({ ok: false, attempts: 1, status: 404 });
  });

  it('honours Retry-After on 429', async () => {
    const s = await serve([{ status: 429, headers: { 'retry-after': '0' } }, { status: 204 }]);
    expect(
      await webhookNotifier({ url: s.url, backoff: { minMs: 60_000, maxMs: 60_000 } }).deliver(aborted),
    ).toMatchObject({
      ok: true,
      attempts: 2,
    });
  });

  it('times out a slow service and retries', async () => {
    const s = await serve([{ delayMs: 2000 }, { status: 200 }]);
    const r = await webhookNotifier({ url: s.url, timeoutMs: 100, backoff: FAST }).deliver(aborted);
    expect(r).toMatchObject({ ok: true, attempts: 2 });
  });

  it('connection refused resolves with a report', async () => {
    const port = await closedPort();
    const r = await webhookNotifier({ url: `http://127.0.0.1:${port}/x`, retries: 1, backoff: FAST }).deliver(
      aborted,
    );
    expect(r).toEqual({
      notifier: 'webhook',
      ok: false,
      attempts: 2,
      error: `http://127.0.0.1:${port}/…: connection refused by 127.0.0.1:${port}`,
    });
  });

  it('URL paths, query values and tokens appear in no log line, report or error', async () => {
    const SLACK_PATH = '/services/T0ABCDEF/B0ABCDEF/s3cr3tW3bh00kT0k3n';
    const s = await serve((r) => ({ status: 500, body: `nope ${r.path} ${r.headers.authorization}` }));
    const log = captureLogger();
    const reports = await Promise.all(
      [
        notifierForAlertProvider(
          {
            name: 'chat',
            type: 'slack',
            address: `${s.url}${SLACK_PATH}?sig=q5ig-value`,
            token: 'xoxb-t0k3n-value',
          },
          { retries: 1, backoff: FAST, log },
        ),
        notifierForAlertProvider(
          { name: 'disc', type: 'discord', address: `${s.url}/api/webhooks/123/d1sc0rdT0k3nValue/slack` },
          { retries: 1, backoff: FAST, log },
        ),
        notifierForAlertProvider(
          { name: 'teams', type: 'msteams', address: `${s.url}/workflows/t3amsS3cr3tValue1` },
          { retries: 1, backoff: FAST, log },
        ),
      ].map((x) => ('notifier' in x ? x.notifier.deliver(aborted) : Promise.reject(new Error(x.none)))),
    );
    expect(reports.every((r) => !r.ok && r.attempts === 2)).toBe(true);
    expect(s.requests).toHaveLength(6);
    expect(s.requests[0]?.headers.authorization).toBe('Bearer xoxb-t0k3n-value');
    const everything = `${JSON.stringify(reports)}\n${log.text()}`;
    for (const secret of [
      's3cr3tW3bh00kT0k3n',
      'q5ig-value',
      'xoxb-t0k3n-value',
      'd1sc0rdT0k3nValue',
      't3amsS3cr3tValue1',
      'T0ABCDEF',
    ])
      expect(everything).not.toContain(secret);
    expect(log.lines.length).toBe(6);
  });
});

describe('notifyAll', () => {
  it('sends to the subscribers whose severity and triggers accept the notification, in parallel', async () => {
    const s = await serve({ status: 200 });
    const to = (name: string): Notifier => webhookNotifier({ name, url: `${s.url}/${name}` });
    const reports = await notifyAll(
      [
        { notifier: to('all') },
        { notifier: to('errors'), minSeverity: 'error' },
        { notifier: to('warn-completed-only'), minSeverity: 'warn', triggers: ['on-rollout-completed'] },
        { notifier: to('aborts'), triggers: ['on-rollout-aborted'] },
      ],
      aborted,
    );
    expect(reports.map((r) => r.notifier)).toEqual(['all', 'errors', 'aborts']);
    expect(s.requests.map((r) => r.path).sort()).toEqual(['/aborts', '/all', '/errors']);
  });

  it('a notifier that throws becomes a failed report', async () => {
    const broken: Notifier = {
      type: 'x',
      name: 'broken',
      deliver: () => Promise.reject(new TypeError('bug')),
    };
    expect(await notifyAll([{ notifier: broken }], aborted)).toEqual([
      { notifier: 'broken', ok: false, attempts: 0, error: 'notifier failed: TypeError' },
    ]);
  });
});

describe('notifierForAlertProvider', () => {
  it.each([
    [{ type: 'slack', address: 'https://hooks.slack.com/services/x' }, 'slack'],
    [{ type: 'slack', token: 'xoxb-1' }, 'slack'],
    [{ type: 'rocket', address: 'https://rocket/hooks/x' }, 'slack'],
    [{ type: 'msteams', address: 'https://x.webhook.office.com/webhookb2/y' }, 'msteams'],
    [{ type: 'discord', address: 'https://discord.com/api/webhooks/1/t' }, 'discord'],
    [{ type: 'webhook', address: 'https://x/y' }, 'webhook'],
    [{ type: 'gchat', address: 'https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t' }, 'gchat'],
  ])('%j -> %s', (p, type) => {
    const r = notifierForAlertProvider({ name: 'p', ...p });
    expect('notifier' in r && r.notifier.type).toBe(type);
  });
  it.each([
    [{ type: 'slack' }, 'p: no address'],
    [{ type: 'msteams', address: ' ' }, 'p: no address'],
    [{ type: 'gchat' }, 'p: no address'],
    [{ type: 'dingtalk', address: 'https://oapi.dingtalk.com/robot/send' }, /not supported/],
  ])('%j -> none', (p, why) => {
    const r = notifierForAlertProvider({ name: 'p', ...p });
    expect('none' in r && r.none).toMatch(why);
  });
});

describe('from engine actions', () => {
  const rollout = { kind: 'Rollout', name: 'guestbook', namespace: 'default' };
  it('an Argo EmitEvent', () => {
    expect(
      notificationFromEvent(
        rollout,
        { eventType: 'Warning', reason: 'RolloutAborted', message: 'Rollout aborted update to revision 2' },
        { revision: 2, weight: 25, metric: { name: 'success-rate', value: 0.88 } },
      ),
    ).toEqual({
      trigger: 'on-rollout-aborted',
      severity: 'error',
      message: 'Rollout aborted update to revision 2',
      release: rollout,
      revision: 2,
      weight: 25,
      metric: { name: 'success-rate', value: 0.88 },
    });
  });
  it('a Flagger SendAlert', () => {
    const canary = { kind: 'Canary', name: 'podinfo', namespace: 'test' };
    expect(
      notificationFromAlert(
        canary,
        { severity: 'error', message: 'Failed checks threshold reached 5' },
        { weight: 10 },
      ),
    ).toEqual({
      trigger: 'on-rollout-aborted',
      severity: 'error',
      message: 'Failed checks threshold reached 5',
      release: canary,
      weight: 10,
    });
  });
});
