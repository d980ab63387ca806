/**
 * Flagger's webhooks (`pkg/controller/webhook.go`, flagger.md §1.7): how adapters carry out the
 * Flagger engine's `CallWebhook` actions and report `WebhookResult`s for the next tick.
 *
 * One call, as Flagger makes it:
 *   - POST the payload (`name`, `namespace`, `phase`, `checksum`, `metadata`; event hooks carry
 *     `eventMessage`, `eventType` and `timestamp` in metadata, as the machine builds them) as JSON
 *     with `Content-Type: application/json`;
 *   - per attempt a timeout of the hook's `timeout` (default 10 s, also when the string is shorter
 *     than two characters: `webhookTimeoutSeconds`); `disableTLS` skips certificate verification;
 *   - retries as go-retryablehttp with `RetryMax = retries` (default 0: one attempt): a connection
 *     error, timeout, 429 or 5xx other than 501 is tried again after 1 s, 2 s, 4 s… (at most 30 s; a
 *     429/503 `Retry-After` wins, capped at 30 s); other answers are final at once;
 *   - success iff the final status is ≤ 202 (`r.StatusCode > 202` is an error): 200, 201 and 202 pass,
 *     204 and every other status fail. Redirects are followed first (Go's client does).
 * The result is `{ ok: true }` or `{ ok: false, message }` where the message carries the answer's
 * body (whitespace collapsed, at most 512 characters) or the error; URLs appear without user info or
 * query values, and metadata values under secret-looking keys (token, password, key…) are scrubbed
 * from messages and logs. The payload itself is never logged.
 *
 * `carryOutWebhooks` runs the actions of one tick: blocking hooks sequentially (Flagger calls them
 * one after another), fire-and-forget hooks (`event`, `post-rollout`, whose results the machine
 * ignores) in the background: the release never waits for them; their outcome is only logged.
 *
 * Differences from Flagger, on purpose: when retries are exhausted on a 5xx/429, the message keeps
 * the status and body (go-retryablehttp drops the response and says only "giving up after N
 * attempt(s)"); Retry-After is capped at 30 s.
 */
import type { Canary } from '../api/flagger/canary.js';
import { getAnalysis, webhookTimeoutSeconds, webhookType } from '../api/flagger/canary-defaults.js';
import { arr, bool, isObj, num, str } from '../api/flagger/loose.js';
import type { Action, WebhookPayload, WebhookResult } from '../engine/flagger/types.js';
import {
  type Backoff,
  backoffDelay,
  excerpt,
  HttpError,
  type HttpResponse,
  httpRequest,
  isSensitiveHeader,
  type Logger,
  RETRYABLEHTTP_BACKOFF,
  redactUrl,
  Scrubber,
  shouldRetry,
  silentLogger,
  sleep,
} from './http.js';

export type CallWebhookAction = Extract<Action, { type: 'CallWebhook' }>;

/** Hook types whose results Flagger ignores: called in the background, never waited for. */
export const FIRE_AND_FORGET_HOOKS: ReadonlySet<string> = new Set(['event', 'post-rollout']);

export interface HookSettings {
  timeoutMs: number;
  retries: number;
  disableTLS: boolean;
}

export const DEFAULT_HOOK_SETTINGS: HookSettings = { timeoutMs: 10_000, retries: 0, disableTLS: false };

/** Longest body excerpt kept in a result message. */
export const MESSAGE_BODY_LIMIT = 512;
const READ_LIMIT = 64 << 10;

/** Each webhook's timeout, retries and disableTLS from the Canary, by webhook name. */
export function hookSettings(canary: Canary): Map<string, HookSettings> {
  const out = new Map<string, HookSettings>();
  for (const w of arr(getAnalysis(canary), 'webhooks').filter(isObj)) {
    const name = str(w, 'name') ?? '';
    out.set(name, {
      timeoutMs: webhookTimeoutSeconds(w) * 1000,
      retries: Math.max(0, Math.trunc(num(w, 'retries') ?? 0)),
      disableTLS: bool(w, 'disableTLS'),
    });
  }
  return out;
}

export interface WebhookCallOptions {
  settings?: Partial<HookSettings>;
  /** Waits between attempts (default go-retryablehttp's 1 s … 30 s). */
  backoff?: Backoff;
  log?: Logger;
  signal?: AbortSignal;
  /** For log lines. */
  hook?: { name: string; type: string };
}

export interface WebhookOutcome {
  result: WebhookResult;
  attempts: number;
  /** The last HTTP status, when there was an answer. */
  status?: number;
}

const SECRET_KEY = /token|secret|password|passwd|key|auth|credential|session|cookie/i;

function scrubberFor(url: string, payload: WebhookPayload): Scrubber {
  const s = new Scrubber().addUrl(url);
  for (const [k, v] of Object.entries(payload.metadata ?? {}))
    if (SECRET_KEY.test(k) || isSensitiveHeader(k)) s.add(v);
  return s;
}

const statusLine = (r: HttpResponse): string => `HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}`;

const withBody = (head: string, r: HttpResponse, s: Scrubber): string => {
  const body = excerpt(s.scrub(r.body), MESSAGE_BODY_LIMIT);
  return body ? `${head}: ${body}` : `${head} (empty body)`;
};

/** POST one Flagger webhook payload and judge the answer as Flagger does. Never rejects. */
export async function callWebhook(
  url: string,
  payload: WebhookPayload,
  opts: WebhookCallOptions = {},
): Promise<WebhookOutcome> {
  const settings = { ...DEFAULT_HOOK_SETTINGS, ...opts.settings };
  const backoff = opts.backoff ?? RETRYABLEHTTP_BACKOFF;
  const log = opts.log ?? silentLogger;
  const scrubber = scrubberFor(url, payload);
  const where = `POST ${redactUrl(url)}`;
  const fields = { hook: opts.hook?.name, type: opts.hook?.type, url: redactUrl(url) };
  let body: string;
  try {
    body = JSON.stringify(payload);
  } catch {
    return { result: { ok: false, message: 'the payload cannot be encoded as JSON' }, attempts: 0 };
  }
  const attempts = settings.retries + 1;
  for (let attempt = 0; ; attempt++) {
    const last = attempt + 1 >= attempts;
    const giveUp = (why: string): string => `${where} giving up after ${attempt + 1} attempt(s): ${why}`;
    let res: HttpResponse;
    try {
      res = await httpRequest({
        method: 'POST',
        url,
        headers: [['Content-Type', 'application/json']],
        body,
        timeoutMs: settings.timeoutMs,
        insecure: settings.disableTLS,
        maxBodyBytes: READ_LIMIT,
        tooLarge: 'truncate',
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      const err =
        e instanceof HttpError ? e : new HttpError('network', e instanceof Error ? e.name : 'error', where);
      const reason = scrubber.scrub(err.reason);
      if (!last && shouldRetry({ error: err }) && !opts.signal?.aborted) {
        const wait = backoffDelay(backoff, attempt);
        log.warn(
          { ...fields, attempt: attempt + 1, retryInMs: wait, error: reason },
          'webhook call failed, retrying',
        );
        await sleep(wait, opts.signal);
        continue;
      }
      const message = giveUp(reason);
      log.warn({ ...fields, attempts: attempt + 1, error: reason }, 'webhook call failed');
      return { result: { ok: false, message }, attempts: attempt + 1 };
    }
    const retryable = shouldRetry({ status: res.status });
    if (retryable && !last && !opts.signal?.aborted) {
      const wait = backoffDelay(backoff, attempt, res);
      log.warn(
        { ...fields, attempt: attempt + 1, status: res.status, retryInMs: wait },
        'webhook answered, retrying',
      );
      await sleep(wait, opts.signal);
      continue;
    }
    const n = attempt + 1;
    // Flagger: `if r.StatusCode > 202 { return errors.New(body) }`.
    if (res.status <= 202) {
      log.debug({ ...fields, attempts: n, status: res.status }, 'webhook ok');
      return { result: { ok: true }, attempts: n, status: res.status };
    }
    const message = retryable
      ? withBody(giveUp(statusLine(res)), res, scrubber)
      : withBody(statusLine(res), res, scrubber);
    log.info({ ...fields, attempts: n, status: res.status }, 'webhook refused');
    return { result: { ok: false, message }, attempts: n, status: res.status };
  }
}

export interface CarryOutOptions extends Omit<WebhookCallOptions, 'settings' | 'hook'> {
  /** Per-webhook settings by name (`hookSettings(canary)`); missing names get the defaults. */
  settings?: ReadonlyMap<string, Partial<HookSettings>>;
}

export interface CarriedOut {
  /** Results of the blocking hooks, by webhook name: the next tick's `Observation.webhooks`. */
  webhooks: Record<string, WebhookResult>;
  /** Settles when every fire-and-forget call is done (for shutdown and tests); never rejects. */
  background: Promise<void>;
}

/**
 * Carry out the `CallWebhook` actions of one Flagger tick (other actions are skipped). Blocking hooks
 * run one after another and their results are returned; `event` and `post-rollout` hooks start in
 * the background and are only logged.
 */
export async function carryOutWebhooks(
  actions: readonly Action[],
  opts: CarryOutOptions = {},
): Promise<CarriedOut> {
  const webhooks: Record<string, WebhookResult> = {};
  const background: Promise<unknown>[] = [];
  const log = opts.log ?? silentLogger;
  const call = (a: CallWebhookAction) =>
    callWebhook(a.url, a.payload, {
      ...opts,
      settings: opts.settings?.get(a.name) ?? {},
      hook: { name: a.name, type: a.hookType },
    });
  for (const a of actions) {
    if (a.type !== 'CallWebhook') continue;
    if (FIRE_AND_FORGET_HOOKS.has(webhookType({ type: a.hookType }))) {
      background.push(
        call(a).then((o) => {
          if (!o.result.ok)
            log.warn(
              { hook: a.name, type: a.hookType, error: o.result.message },
              'fire-and-forget webhook failed',
            );
        }),
      );
      continue;
    }
    webhooks[a.name] = (await call(a)).result;
  }
  return { webhooks, background: Promise.allSettled(background).then(() => undefined) };
}
