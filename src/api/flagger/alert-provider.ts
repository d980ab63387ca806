/**
 * Flagger's AlertProvider (flagger.app/v1beta1): where a Canary's `analysis.alerts` send messages
 * (flagger.md §1.9; upstream `pkg/apis/flagger/v1beta1/alert.go`, `pkg/notifier`).
 */
import { type Diagnostic, error, warning } from '../diagnostics.js';
import type { KindDefinition, Rule } from '../kind.js';
import { enumOf, objectHeader, type Static, Type } from '../schema.js';
import { ALERT_PROVIDER_TYPES, FLAGGER_API_VERSION, FLAGGER_GROUP, FLAGGER_VERSION } from './constants.js';
import { has, isHttpUrl, nonEmpty, obj, str } from './loose.js';

export const AlertProviderSpecSchema = Type.Object(
  {
    type: enumOf(ALERT_PROVIDER_TYPES, { description: 'Type of the alert provider.' }),
    channel: Type.Optional(Type.String({ description: 'Alert channel (default general).' })),
    username: Type.Optional(Type.String({ description: 'Bot username (default flagger).' })),
    address: Type.Optional(
      Type.String({ description: 'Hook URL of the provider; one of address or secretRef is required.' }),
    ),
    proxy: Type.Optional(Type.String({ description: 'HTTP(S) proxy for requests to the provider.' })),
    secretRef: Type.Optional(
      Type.Object(
        { name: Type.String({ description: 'Name of the Kubernetes Secret.' }) },
        { description: 'Secret holding the hook URL (key address) and optionally a token (key token).' },
      ),
    ),
  },
  { description: 'Where alerts are sent: type plus address or secretRef.' },
);

export const AlertProviderStatusSchema = Type.Object({
  conditions: Type.Optional(
    Type.Array(
      Type.Object({
        type: Type.String(),
        status: Type.String({ description: 'True, False or Unknown.' }),
        lastUpdateTime: Type.Optional(Type.String({ format: 'date-time' })),
        lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
        reason: Type.Optional(Type.String()),
        message: Type.Optional(Type.String()),
      }),
    ),
  ),
});

export const AlertProviderSchema = Type.Object(
  {
    ...objectHeader(FLAGGER_API_VERSION, 'AlertProvider'),
    spec: AlertProviderSpecSchema,
    status: Type.Optional(AlertProviderStatusSchema),
  },
  { description: 'AlertProvider is a chat service that Canary alerts are sent to.' },
);

export type AlertProvider = Static<typeof AlertProviderSchema>;
export type AlertProviderSpec = Static<typeof AlertProviderSpecSchema>;

/** `type` must be a notifier Flagger has (slack, msteams, discord, rocket, gchat). */
export const checkAlertProviderType: Rule = (o) => {
  const type = obj(o, 'spec')?.type;
  if (typeof type === 'string' && (ALERT_PROVIDER_TYPES as readonly string[]).includes(type)) return [];
  return [
    error(
      'flagger/alert-provider-type',
      ['spec', 'type'],
      type === undefined || type === null
        ? 'the provider type is required'
        : 'is not an alert provider Flagger supports',
      { value: type ?? undefined, allowed: ALERT_PROVIDER_TYPES.join(', ') },
    ),
  ];
};

/**
 * Where to send: `address` or `secretRef` (the upstream CRD's oneOf). Without either Flagger uses a
 * no-op notifier; with both the Secret's address wins (and the upstream CRD rejects the object).
 */
export const checkAlertProviderAddress: Rule = (o) => {
  const spec = obj(o, 'spec');
  if (!spec) return [];
  const out: Diagnostic[] = [];
  const address = str(spec, 'address');
  const hasAddress = nonEmpty(address);
  const hasSecret = has(spec, 'secretRef');
  if (!hasAddress && !hasSecret)
    out.push(
      error(
        'flagger/alert-provider-address',
        ['spec', 'address'],
        'needs address or secretRef: alerts would go nowhere',
        {
          allowed: 'address (a hook URL) or secretRef (a Secret with key address)',
        },
      ),
    );
  else if (hasAddress && hasSecret)
    out.push(
      warning(
        'flagger/alert-provider-address-and-secret',
        ['spec', 'secretRef'],
        "the Secret's address overrides spec.address; the upstream Flagger CRD accepts only one of them",
        { allowed: 'either address or secretRef' },
      ),
    );
  if (hasAddress && !isHttpUrl(address))
    out.push(
      warning('flagger/alert-provider-url', ['spec', 'address'], 'is not an absolute http(s) URL', {
        value: address,
        allowed: 'e.g. https://hooks.slack.com/services/...',
      }),
    );
  const proxy = str(spec, 'proxy');
  if (nonEmpty(proxy) && !isHttpUrl(proxy))
    out.push(
      warning('flagger/alert-provider-url', ['spec', 'proxy'], 'is not an absolute http(s) URL', {
        value: proxy,
        allowed: 'e.g. http://squid.proxy:3128',
      }),
    );
  return out;
};

export const alertProviderRules: Rule[] = [checkAlertProviderType, checkAlertProviderAddress];

export const alertProviderKind: KindDefinition = {
  group: FLAGGER_GROUP,
  version: FLAGGER_VERSION,
  kind: 'AlertProvider',
  plural: 'alertproviders',
  singular: 'alertprovider',
  categories: ['all'],
  scope: 'Namespaced',
  schema: AlertProviderSchema,
  subresources: { status: true },
  printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.spec.type' }],
  rules: alertProviderRules,
};

export const kinds: KindDefinition[] = [alertProviderKind];
