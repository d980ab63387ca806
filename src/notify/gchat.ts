/**
 * Google Chat: an incoming-webhook URL of a space
 * (`https://chat.googleapis.com/v1/spaces/<space>/messages?key=<key>&token=<token>`; the key and token
 * are secrets and are never shown) taking one card message (`cardsV2`): a header with the headline, a
 * paragraph with the message coloured by severity, and one labelled line per known field.
 * `fallbackText` is the plain-text line, shown where cards are not (mobile notifications).
 *
 * Card text paragraphs take a small HTML subset, so every text from the release (names, messages,
 * metric values) is HTML-escaped. Limits kept: 4000 characters of message, 1000 per field.
 *
 * Flagger (`pkg/notifier/gchat.go`) posts the deprecated v1 `cards` with a "Flagger" header; the v2
 * card here shows the same facts with Vireo's headline. Success: a 2xx answer (Chat answers 200 with
 * the created message); 429 and 5xx are retried.
 */
import {
  clip,
  type DeliveryOptions,
  type DeliveryReport,
  describe,
  type Notification,
  type Notifier,
  plainText,
  postWithRetries,
  SEVERITY_COLOURS,
} from './notifier.js';

export interface GChatOptions extends DeliveryOptions {
  name?: string;
  url: string;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
/** Escapes the characters Chat's card HTML subset would interpret. */
export const chatEscape = (s: string): string => s.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c] ?? c);

export function gchatPayload(n: Notification): unknown {
  const r = describe(n);
  return {
    fallbackText: clip(plainText(n), 4000),
    cardsV2: [
      {
        cardId: `vireo-${n.trigger}`,
        card: {
          header: { title: clip(r.title, 200) },
          sections: [
            {
              widgets: [
                {
                  textParagraph: {
                    text: `<font color="${SEVERITY_COLOURS[n.severity]}"><b>${chatEscape(clip(r.text, 4000))}</b></font>`,
                  },
                },
              ],
            },
            {
              widgets: r.fields.map((f) => ({
                decoratedText: { topLabel: chatEscape(f.name), text: chatEscape(clip(f.value, 1000)) },
              })),
            },
          ],
        },
      },
    ],
  };
}

export function gchatNotifier(o: GChatOptions): Notifier {
  const name = o.name ?? 'gchat';
  return {
    type: 'gchat',
    name,
    deliver(n: Notification): Promise<DeliveryReport> {
      return postWithRetries({ type: 'gchat', name }, { url: o.url, body: gchatPayload(n) }, o);
    },
  };
}
