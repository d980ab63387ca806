/**
 * Notifications: one `Notifier` per destination (Slack, Microsoft Teams, Discord, Google Chat, a
 * generic JSON webhook; one file each), one `Notification` shape for both dialects.
 *
 * - Severities are Flagger's (`info`, `warn`, `error`) with its filter: an alert subscribed at `info`
 *   gets everything, at `warn` gets warn and error, at `error` only errors (`severityAccepts`).
 * - Triggers are Argo's notification trigger names. Argo turns every event reason into `on-` +
 *   kebab-case(reason) (`translateReasonToTrigger`): RolloutAborted → on-rollout-aborted,
 *   AnalysisRunFailed → on-analysis-run-failed; `triggerForReason` does the same. Flagger's alerts
 *   carry no reason, so `flaggerAlertTrigger` maps the machine's fixed alert texts to the nearest
 *   trigger.
 * - A message names the rollout, revision, step, weight and failing metric with its value when the
 *   adapter knows them (`describe` renders them the same way for every service).
 * - `deliver` never rejects and never blocks a release: the adapter does not await it in a
 *   reconcile. Failures (connection errors, timeouts, 429, 5xx) are retried with back-off
 *   (default 3 retries, 1 s, 2 s, 4 s, honouring Retry-After), every attempt is logged, and the
 *   report says what happened. Other 4xx answers are final (a wrong URL or payload does not heal).
 * - Webhook URLs and tokens never appear in logs, reports or errors: a destination is shown as its
 *   notifier name and origin (`https://hooks.slack.com/…`), and every secret is scrubbed.
 */
import {
  type Backoff,
  backoffDelay,
  excerpt,
  HttpError,
  type HttpResponse,
  httpRequest,
  type Logger,
  redactUrl,
  Scrubber,
  shouldRetry,
  silentLogger,
  sleep,
} from '../gates/http.js';

export const SEVERITIES = ['info', 'warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Flagger's filter (events.go): a subscriber at `min` gets `severity` when it is at least as severe. */
export function severityAccepts(min: Severity, severity: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(min);
}

/** Argo's `translateReasonToTrigger`: `on-` + the reason in kebab case. */
export function triggerForReason(reason: string): string {
  const t = reason.replace(/(.)([A-Z][a-z]+)/g, '$1-$2').replace(/([a-z0-9])([A-Z])/g, '$1-$2');
  return `on-${t.toLowerCase()}`;
}

/** The triggers Argo Rollouts ships (`manifests/notifications`). */
export const ARGO_TRIGGERS = [
  'on-analysis-run-error',
  'on-analysis-run-failed',
  'on-analysis-run-running',
  'on-rollout-aborted',
  'on-rollout-completed',
  'on-rollout-paused',
  'on-rollout-step-completed',
  'on-rollout-updated',
  'on-scaling-replica-set',
] as const;

const ERROR_TRIGGERS = new Set(['on-rollout-aborted', 'on-analysis-run-failed', 'on-analysis-run-error']);
const WARN_TRIGGERS = new Set(['on-rollout-paused', 'on-analysis-run-inconclusive']);

/** The severity of an Argo event, so Flagger-style severity filters work on Rollouts too. */
export function severityForEvent(reason: string, eventType: 'Normal' | 'Warning'): Severity {
  const trigger = triggerForReason(reason);
  if (ERROR_TRIGGERS.has(trigger)) return 'error';
  if (WARN_TRIGGERS.has(trigger) || eventType === 'Warning') return 'warn';
  return 'info';
}

/** Flagger's alert texts (scheduler*.go, as the machine emits them) → the nearest Argo trigger. */
const FLAGGER_ALERTS: readonly [RegExp, string][] = [
  [/^New revision detected/, 'on-rollout-updated'],
  [/initialization completed/, 'on-rollout-updated'],
  [/waiting for approval/, 'on-rollout-paused'],
  [/promotion finished/, 'on-rollout-completed'],
  [
    /^Failed checks threshold reached|^Progress deadline exceeded|^Rolling back|^Promotion failed/,
    'on-rollout-aborted',
  ],
];

export function flaggerAlertTrigger(message: string, severity: Severity): string {
  for (const [re, trigger] of FLAGGER_ALERTS) if (re.test(message)) return trigger;
  return severity === 'error'
    ? 'on-rollout-aborted'
    : severity === 'warn'
      ? 'on-rollout-paused'
      : 'on-rollout-updated';
}

export interface Notification {
  /** Argo trigger name, e.g. on-rollout-aborted. */
  trigger: string;
  severity: Severity;
  /** The engine's text (event message or Flagger alert). */
  message: string;
  /** The release: a Rollout or a Canary. */
  release: { kind: string; name: string; namespace?: string };
  revision?: string | number;
  /** 0-based step index and step count (shown 1-based: "step 3/8"). */
  step?: { index: number; count?: number };
  /** Canary traffic weight in percent. */
  weight?: number;
  /** The failing (or deciding) metric, with its last value when known. */
  metric?: { name: string; value?: string | number; phase?: string; message?: string };
  /** Cluster or host name (Flagger's -cluster-name). */
  cluster?: string;
  /** Epoch ms of the event (default: when delivered). */
  at?: number;
}

/** What a `deliver` did. */
export interface DeliveryReport {
  notifier: string;
  ok: boolean;
  attempts: number;
  /** Last HTTP status, when there was an answer. */
  status?: number;
  /** Why it failed (secrets removed). */
  error?: string;
}

export interface Notifier {
  /** slack, msteams, discord, gchat, webhook. */
  readonly type: string;
  /** Name for logs and reports (the AlertProvider's name), never the URL. */
  readonly name: string;
  /** Send one notification; resolves (never rejects) once delivered or given up. */
  deliver(n: Notification): Promise<DeliveryReport>;
}

export interface DeliveryOptions {
  log?: Logger;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Waits between attempts (default 1 s doubling to 30 s). */
  backoff?: Backoff;
  insecure?: boolean;
  /** HTTP(S) forward proxy (Flagger AlertProvider `proxy`); its credentials are never shown. */
  proxy?: string;
  signal?: AbortSignal;
}

export const DELIVERY_DEFAULTS = { timeoutMs: 10_000, retries: 3, backoff: { minMs: 1000, maxMs: 30_000 } };

/** The facts an adapter adds to what an engine said. */
export type Facts = Partial<Omit<Notification, 'trigger' | 'severity' | 'message' | 'release'>>;

/** An Argo engine's `EmitEvent` action as a notification (trigger from the reason). */
export function notificationFromEvent(
  release: Notification['release'],
  e: { eventType: 'Normal' | 'Warning'; reason: string; message: string },
  facts: Facts = {},
): Notification {
  return {
    ...facts,
    trigger: triggerForReason(e.reason),
    severity: severityForEvent(e.reason, e.eventType),
    message: e.message,
    release,
  };
}

/** A Flagger engine's `SendAlert` action as a notification (trigger from the alert text). */
export function notificationFromAlert(
  release: Notification['release'],
  a: { severity: Severity; message: string },
  facts: Facts = {},
): Notification {
  return {
    ...facts,
    trigger: flaggerAlertTrigger(a.message, a.severity),
    severity: a.severity,
    message: a.message,
    release,
  };
}

// -------------------------------------------------------------------------------------------------
// Rendering shared by the notifiers

export interface Rendered {
  /** "Rollout default/guestbook aborted" style headline. */
  title: string;
  /** The engine's message. */
  text: string;
  /** Name/value pairs in a fixed order; only the known ones. */
  fields: { name: string; value: string }[];
}

const releaseId = (n: Notification): string =>
  n.release.namespace ? `${n.release.namespace}/${n.release.name}` : n.release.name;

// Triggers can be user-named, so a Map: "constructor" is not a title.
const TRIGGER_TITLES = new Map<string, string>([
  ['on-rollout-aborted', 'aborted'],
  ['on-rollout-completed', 'completed'],
  ['on-rollout-paused', 'paused'],
  ['on-rollout-step-completed', 'step completed'],
  ['on-rollout-updated', 'updated'],
  ['on-analysis-run-failed', 'analysis failed'],
  ['on-analysis-run-error', 'analysis error'],
  ['on-analysis-run-running', 'analysis running'],
]);

export function metricText(m: NonNullable<Notification['metric']>): string {
  const value = m.value === undefined ? '' : ` = ${m.value}`;
  const phase = m.phase ? ` (${m.phase})` : '';
  return `${m.name}${value}${phase}`;
}

/** The headline, message and fields every notifier shows. */
export function describe(n: Notification): Rendered {
  const what = TRIGGER_TITLES.get(n.trigger) ?? n.trigger.replace(/^on-/, '').replace(/-/g, ' ');
  const title = `${n.release.kind} ${releaseId(n)} ${what}`;
  const fields: Rendered['fields'] = [{ name: n.release.kind, value: releaseId(n) }];
  if (n.revision !== undefined) fields.push({ name: 'Revision', value: String(n.revision) });
  if (n.step !== undefined)
    fields.push({
      name: 'Step',
      value: n.step.count ? `${n.step.index + 1}/${n.step.count}` : String(n.step.index + 1),
    });
  if (n.weight !== undefined) fields.push({ name: 'Weight', value: `${n.weight}%` });
  if (n.metric !== undefined) fields.push({ name: 'Metric', value: metricText(n.metric) });
  if (n.cluster) fields.push({ name: 'Cluster', value: n.cluster });
  fields.push({ name: 'Severity', value: n.severity });
  fields.push({ name: 'Trigger', value: n.trigger });
  return { title, text: n.message, fields };
}

/** Plain-text rendering (Slack `text`, Discord `content`, logs): headline, message, fields. */
export function plainText(n: Notification): string {
  const r = describe(n);
  const facts = r.fields
    .filter((f) => f.name !== 'Severity' && f.name !== 'Trigger' && f.name !== n.release.kind)
    .map((f) => `${f.name.toLowerCase()} ${f.value}`);
  return `${r.title}: ${r.text}${facts.length ? ` (${facts.join(', ')})` : ''}`;
}

export const SEVERITY_COLOURS: Record<Severity, string> = {
  info: '#2eb886',
  warn: '#daa038',
  error: '#a30200',
};

/** Cut a text to `max` characters for a service limit. */
export const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

// -------------------------------------------------------------------------------------------------
// Delivery shared by the notifiers

export interface Post {
  url: string;
  body: unknown;
  headers?: [string, string][];
  /** Extra judgement of a 2xx answer (Slack's API answers 200 with `ok: false`). */
  accept?: (res: HttpResponse) => string | undefined;
}

/**
 * POST JSON with retries; resolves with a report, never rejects. `secrets` (tokens, header values)
 * and the URL's path and query are kept out of every log line and report.
 */
export async function postWithRetries(
  notifier: { type: string; name: string },
  post: Post,
  opts: DeliveryOptions,
  secrets: Iterable<string | undefined> = [],
): Promise<DeliveryReport> {
  const log = opts.log ?? silentLogger;
  const retries = opts.retries ?? DELIVERY_DEFAULTS.retries;
  const backoff = opts.backoff ?? DELIVERY_DEFAULTS.backoff;
  const scrubber = new Scrubber([post.url, ...secrets]).addUrl(post.url).addUrlPath(post.url);
  for (const [, v] of post.headers ?? []) scrubber.add(v);
  scrubber.addUrl(opts.proxy);
  // The path of a Slack/Discord/Teams webhook URL is its secret: show the origin only.
  const target = redactUrl(post.url, 'origin');
  const fields = { notifier: notifier.name, type: notifier.type, target };
  let body: string;
  try {
    body = JSON.stringify(post.body);
  } catch {
    return {
      notifier: notifier.name,
      ok: false,
      attempts: 0,
      error: 'the message cannot be encoded as JSON',
    };
  }
  let status: number | undefined;
  let error = '';
  let attempt = 0;
  for (; attempt <= retries; attempt++) {
    let res: HttpResponse | undefined;
    let retryable: boolean;
    try {
      res = await httpRequest({
        method: 'POST',
        url: post.url,
        headers: [['Content-Type', 'application/json'], ...(post.headers ?? [])],
        body,
        timeoutMs: opts.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs,
        insecure: opts.insecure === true,
        ...(opts.proxy ? { proxy: opts.proxy } : {}),
        maxBodyBytes: 16 << 10,
        tooLarge: 'truncate',
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      status = res.status;
      const refused = res.status >= 200 && res.status < 300 ? post.accept?.(res) : undefined;
      if (res.status >= 200 && res.status < 300 && refused === undefined) {
        log.info({ ...fields, attempts: attempt + 1, status }, 'notification delivered');
        return { notifier: notifier.name, ok: true, attempts: attempt + 1, status };
      }
      const answer = excerpt(scrubber.scrub(res.body), 200);
      error = refused
        ? `${target} refused the message: ${scrubber.scrub(refused)}`
        : `${target} answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`;
      retryable = refused ? /rate.?limit/i.test(refused) : shouldRetry({ status: res.status });
    } catch (e) {
      const err =
        e instanceof HttpError ? e : new HttpError('network', e instanceof Error ? e.name : 'error', '');
      error = `${target}: ${scrubber.scrub(err.reason)}`;
      retryable = shouldRetry({ error: err });
    }
    const last = attempt >= retries || !retryable || opts.signal?.aborted === true;
    if (last) break;
    const wait = backoffDelay(backoff, attempt, res);
    log.warn(
      { ...fields, attempt: attempt + 1, status, retryInMs: wait, error },
      'notification failed, retrying',
    );
    await sleep(wait, opts.signal);
  }
  const attempts = attempt + 1;
  log.error({ ...fields, attempts, status, error }, 'notification not delivered');
  const report: DeliveryReport = { notifier: notifier.name, ok: false, attempts, error };
  if (status !== undefined) report.status = status;
  return report;
}

/**
 * Send one notification to every notifier that accepts its severity (Flagger's filter), in
 * parallel. Resolves with one report per notifier it was sent to; never rejects. Adapters call it
 * without awaiting it, so a slow or failing service never holds a release.
 */
export function notifyAll(
  subscriptions: readonly { notifier: Notifier; minSeverity?: Severity; triggers?: readonly string[] }[],
  n: Notification,
): Promise<DeliveryReport[]> {
  const chosen = subscriptions.filter(
    (s) =>
      severityAccepts(s.minSeverity ?? 'info', n.severity) &&
      (s.triggers === undefined || s.triggers.includes(n.trigger)),
  );
  return Promise.all(
    chosen.map((s) =>
      s.notifier.deliver(n).catch(
        (e: unknown): DeliveryReport => ({
          notifier: s.notifier.name,
          ok: false,
          attempts: 0,
          error: `notifier failed: ${e instanceof Error ? e.name : 'error'}`,
        }),
      ),
    ),
  );
}
