/**
 * Slack: an incoming webhook (`url`), or the Web API's `chat.postMessage` with a bot `token` (what
 * Flagger does when the AlertProvider's secret has a `token`; channel default `general`, username
 * default `flagger` there, `vireo` here).
 *
 * Payload: `text` (the plain-text line Slack shows in notifications and where blocks cannot render)
 * and one attachment coloured by severity (green info, orange warn, red error, as Flagger colours
 * errors) holding Block Kit blocks: a section with the headline and message, and a section with up to
 * 10 fields (revision, step, weight, metric…). Texts are escaped for mrkdwn and cut to Slack's limits
 * (section text 3000, field 2000 characters).
 *
 * Success: a 2xx answer; the Web API answers 200 with `{"ok": false, "error": …}` on failure, which
 * is a failure (retried only for `ratelimited`).
 */
import type { HttpResponse } from '../gates/http.js';
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

export const SLACK_POST_MESSAGE_URL = 'https://slack.com/api/chat.postMessage';

export interface SlackOptions extends DeliveryOptions {
  /** Name for logs (the AlertProvider's name); default `slack`. */
  name?: string;
  /** Incoming-webhook URL, or the Web API URL when a token is given (default chat.postMessage). */
  url?: string;
  /** Bot token: post through the Web API with `Authorization: Bearer`. */
  token?: string;
  channel?: string;
  username?: string;
}

/** Escape `&`, `<` and `>` as Slack's mrkdwn requires. */
export const slackEscape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The JSON body Slack gets for `n`. */
export function slackPayload(
  n: Notification,
  o: Pick<SlackOptions, 'channel' | 'username' | 'token'> = {},
): unknown {
  const r = describe(n);
  const body: Record<string, unknown> = {
    text: clip(plainText(n), 3000),
    attachments: [
      {
        color: SEVERITY_COLOURS[n.severity],
        fallback: clip(plainText(n), 3000),
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: clip(`*${slackEscape(r.title)}*\n${slackEscape(r.text)}`, 3000) },
          },
          {
            type: 'section',
            fields: r.fields.slice(0, 10).map((f) => ({
              type: 'mrkdwn',
              text: clip(`*${slackEscape(f.name)}*\n${slackEscape(f.value)}`, 2000),
            })),
          },
        ],
      },
    ],
  };
  const channel = o.channel ?? (o.token ? 'general' : undefined);
  if (channel) body.channel = channel;
  if (o.username ?? o.token) body.username = o.username ?? 'vireo';
  return body;
}

/** The Web API reports failures in a 200 answer: `{"ok": false, "error": "channel_not_found"}`. */
function webApiRefusal(res: HttpResponse): string | undefined {
  try {
    const j = JSON.parse(res.body) as { ok?: unknown; error?: unknown };
    if (j.ok === false) return typeof j.error === 'string' ? j.error : 'ok: false';
  } catch {
    // an incoming webhook answers the text "ok"
  }
  return undefined;
}

export function slackNotifier(o: SlackOptions): Notifier {
  const name = o.name ?? 'slack';
  const url = o.url ?? (o.token ? SLACK_POST_MESSAGE_URL : undefined);
  return {
    type: 'slack',
    name,
    deliver(n: Notification): Promise<DeliveryReport> {
      if (!url)
        return Promise.resolve({ notifier: name, ok: false, attempts: 0, error: 'no Slack URL or token' });
      return postWithRetries(
        { type: 'slack', name },
        {
          url,
          body: slackPayload(n, o),
          ...(o.token ? { headers: [['Authorization', `Bearer ${o.token}`]] as [string, string][] } : {}),
          accept: webApiRefusal,
        },
        o,
        [o.token],
      );
    },
  };
}
