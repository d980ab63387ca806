/**
 * A generic JSON webhook: POST the notification as data, for any receiver (a chat bridge, an
 * incident tool, a test). Optional headers (e.g. `Authorization`) are sent and treated as secrets.
 *
 * Body:
 *   { "trigger": "on-rollout-aborted", "severity": "error", "title": "Rollout default/guestbook aborted",
 *     "message": "…", "text": "<one plain-text line>",
 *     "release": { "kind": "Rollout", "name": "guestbook", "namespace": "default" },
 *     "revision": "2", "step": { "index": 2, "count": 8 }, "weight": 25,
 *     "metric": { "name": "success-rate", "value": 0.88, "phase": "Failed" },
 *     "cluster": "…", "timestamp": "2026-11-02T10:00:00.000Z" }
 * Absent facts are left out. Success: any 2xx.
 */
import {
  type DeliveryOptions,
  type DeliveryReport,
  describe,
  type Notification,
  type Notifier,
  plainText,
  postWithRetries,
} from './notifier.js';

export interface WebhookNotifierOptions extends DeliveryOptions {
  name?: string;
  url: string;
  headers?: Record<string, string>;
}

export function webhookPayload(n: Notification): Record<string, unknown> {
  const body: Record<string, unknown> = {
    trigger: n.trigger,
    severity: n.severity,
    title: describe(n).title,
    message: n.message,
    text: plainText(n),
    release: n.release,
  };
  if (n.revision !== undefined) body.revision = String(n.revision);
  if (n.step !== undefined) body.step = n.step;
  if (n.weight !== undefined) body.weight = n.weight;
  if (n.metric !== undefined) body.metric = n.metric;
  if (n.cluster !== undefined) body.cluster = n.cluster;
  body.timestamp = new Date(n.at ?? Date.now()).toISOString();
  return body;
}

export function webhookNotifier(o: WebhookNotifierOptions): Notifier {
  const name = o.name ?? 'webhook';
  const headers = Object.entries(o.headers ?? {});
  return {
    type: 'webhook',
    name,
    deliver(n: Notification): Promise<DeliveryReport> {
      return postWithRetries({ type: 'webhook', name }, { url: o.url, body: webhookPayload(n), headers }, o);
    },
  };
}
