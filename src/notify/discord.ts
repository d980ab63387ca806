/**
 * Discord: an execute-webhook URL (`https://discord.com/api/webhooks/<id>/<token>`) with Discord's
 * own JSON: `content` (the headline) and one embed (title, description = the message, colour by
 * severity, inline fields, timestamp), within Discord's limits (content 2000, title 256,
 * description 4096, 25 fields of 256/1024). `allowed_mentions` is empty so a message that contains
 * "@everyone" pings nobody.
 *
 * Flagger instead posts its Slack payload to `<address>/slack` (Discord's Slack-compatible
 * endpoint); a URL ending in `/slack` is taken without that suffix here, since the payload is
 * Discord's own.
 *
 * Success: 2xx (Discord answers 204 No Content). Rate limits (429) honour Retry-After.
 */
import {
  clip,
  type DeliveryOptions,
  type DeliveryReport,
  describe,
  type Notification,
  type Notifier,
  postWithRetries,
  SEVERITY_COLOURS,
} from './notifier.js';

export interface DiscordOptions extends DeliveryOptions {
  name?: string;
  url: string;
  username?: string;
}

export function discordPayload(n: Notification, o: Pick<DiscordOptions, 'username'> = {}): unknown {
  const r = describe(n);
  const body: Record<string, unknown> = {
    content: clip(r.title, 2000),
    embeds: [
      {
        title: clip(r.title, 256),
        description: clip(r.text, 4096),
        color: Number.parseInt(SEVERITY_COLOURS[n.severity].slice(1), 16),
        fields: r.fields
          .slice(0, 25)
          .map((f) => ({ name: clip(f.name, 256), value: clip(f.value, 1024), inline: true })),
        timestamp: new Date(n.at ?? Date.now()).toISOString(),
      },
    ],
    allowed_mentions: { parse: [] },
  };
  if (o.username) body.username = clip(o.username, 80);
  return body;
}

/** Flagger's Discord address ends in `/slack`; Discord's own JSON goes to the URL without it. */
export const discordUrl = (url: string): string => url.replace(/\/slack\/?(?=$|\?)/, '');

export function discordNotifier(o: DiscordOptions): Notifier {
  const name = o.name ?? 'discord';
  return {
    type: 'discord',
    name,
    deliver(n: Notification): Promise<DeliveryReport> {
      return postWithRetries(
        { type: 'discord', name },
        { url: discordUrl(o.url), body: discordPayload(n, o) },
        o,
      );
    },
  };
}
