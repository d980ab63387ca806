/**
 * Notifiers by kind, and the bridge from Flagger's AlertProvider (type, address, channel, username,
 * proxy, and the Secret's `address` / `token` the adapter resolved) to a `Notifier`.
 */
import { discordNotifier } from './discord.js';
import { gchatNotifier } from './gchat.js';
import type { DeliveryOptions, Notifier } from './notifier.js';
import { slackNotifier } from './slack.js';
import { teamsNotifier } from './teams.js';
import { webhookNotifier } from './webhook.js';

export * from './discord.js';
export * from './gchat.js';
export * from './notifier.js';
export * from './slack.js';
export * from './teams.js';
export * from './webhook.js';

export interface AlertProviderTarget {
  /** AlertProvider metadata.name, for logs. */
  name: string;
  /** spec.type: slack, msteams, discord, rocket, gchat (or webhook). */
  type: string;
  /** The Secret's `address` when present, else spec.address. */
  address?: string;
  /** The Secret's `token` (Slack bot token). */
  token?: string;
  channel?: string;
  username?: string;
  /** spec.proxy: an HTTP(S) forward proxy for this provider's requests. */
  proxy?: string;
}

/** Legacy Office 365 connector hosts take MessageCards; Workflows URLs take Adaptive Cards. */
const isTeamsConnector = (url: string): boolean => {
  try {
    const h = new URL(url).hostname;
    return h === 'outlook.office.com' || h.endsWith('.webhook.office.com');
  } catch {
    return false;
  }
};

/**
 * The notifier for an AlertProvider, or an explanation of why there is none. Like Flagger, an empty
 * address (and, for Slack, no token) means nothing is sent.
 */
export function notifierForAlertProvider(
  p: AlertProviderTarget,
  options: DeliveryOptions = {},
): { notifier: Notifier } | { none: string } {
  const address = p.address?.trim() || undefined;
  const proxy = p.proxy?.trim() || undefined;
  const common = { ...options, ...(proxy ? { proxy } : {}), name: p.name };
  switch (p.type) {
    case 'slack':
    case 'rocket': {
      // Rocket.Chat incoming webhooks take Slack's payload (text and attachments).
      if (!address && !(p.type === 'slack' && p.token)) return { none: `${p.name}: no address` };
      return {
        notifier: slackNotifier({
          ...common,
          ...(address ? { url: address } : {}),
          ...(p.token ? { token: p.token } : {}),
          ...(p.channel ? { channel: p.channel } : {}),
          ...(p.username ? { username: p.username } : {}),
        }),
      };
    }
    case 'msteams':
      if (!address) return { none: `${p.name}: no address` };
      return {
        notifier: teamsNotifier({
          ...common,
          url: address,
          format: isTeamsConnector(address) ? 'messagecard' : 'adaptive',
        }),
      };
    case 'discord':
      if (!address) return { none: `${p.name}: no address` };
      return {
        notifier: discordNotifier({
          ...common,
          url: address,
          ...(p.username ? { username: p.username } : {}),
        }),
      };
    case 'gchat':
      if (!address) return { none: `${p.name}: no address` };
      return { notifier: gchatNotifier({ ...common, url: address }) };
    case 'webhook':
      if (!address) return { none: `${p.name}: no address` };
      return { notifier: webhookNotifier({ ...common, url: address }) };
    default:
      return {
        none: `${p.name}: alert provider type "${p.type}" is not supported (slack, msteams, discord, rocket, gchat, webhook)`,
      };
  }
}
