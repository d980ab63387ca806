/**
 * Microsoft Teams: a Workflows (Power Automate) webhook, which takes an Adaptive Card in a `message`
 * envelope (default), or a legacy Office 365 connector, which takes a MessageCard (what Flagger
 * sends; `format: 'messagecard'`). Both are accepted by the services as of 2026; connectors are
 * being retired by Microsoft, hence the default.
 *
 * Adaptive Card 1.4: a bold headline coloured by severity (Good / Warning / Attention), the message,
 * and a FactSet of the known fields. MessageCard: `themeColor`, `summary`, `title`, `text` and a
 * section of facts.
 *
 * Success: a 2xx answer (Workflows answers 202). A legacy connector may answer 200 with a text that
 * starts "Webhook message delivery failed", which is a failure.
 */
import type { HttpResponse } from '../gates/http.js';
import {
  clip,
  type DeliveryOptions,
  type DeliveryReport,
  describe,
  type Notification,
  type Notifier,
  postWithRetries,
  SEVERITY_COLOURS,
  type Severity,
} from './notifier.js';

export interface TeamsOptions extends DeliveryOptions {
  name?: string;
  url: string;
  format?: 'adaptive' | 'messagecard';
}

const ADAPTIVE_COLOURS: Record<Severity, string> = { info: 'Good', warn: 'Warning', error: 'Attention' };

export function teamsAdaptivePayload(n: Notification): unknown {
  const r = describe(n);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: clip(r.title, 400),
              weight: 'Bolder',
              size: 'Medium',
              color: ADAPTIVE_COLOURS[n.severity],
              wrap: true,
            },
            { type: 'TextBlock', text: clip(r.text, 4000), wrap: true },
            { type: 'FactSet', facts: r.fields.map((f) => ({ title: f.name, value: clip(f.value, 1000) })) },
          ],
        },
      },
    ],
  };
}

export function teamsMessageCardPayload(n: Notification): unknown {
  const r = describe(n);
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    themeColor: SEVERITY_COLOURS[n.severity].slice(1),
    summary: clip(r.title, 400),
    title: clip(r.title, 400),
    text: clip(r.text, 4000),
    sections: [{ facts: r.fields.map((f) => ({ name: f.name, value: clip(f.value, 1000) })) }],
  };
}

const connectorRefusal = (res: HttpResponse): string | undefined =>
  /^\s*Webhook message delivery failed/i.test(res.body) ? res.body.trim() : undefined;

export function teamsNotifier(o: TeamsOptions): Notifier {
  const name = o.name ?? 'msteams';
  return {
    type: 'msteams',
    name,
    deliver(n: Notification): Promise<DeliveryReport> {
      const body = o.format === 'messagecard' ? teamsMessageCardPayload(n) : teamsAdaptivePayload(n);
      return postWithRetries({ type: 'msteams', name }, { url: o.url, body, accept: connectorRefusal }, o);
    },
  };
}
