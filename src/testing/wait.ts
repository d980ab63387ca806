/**
 * Polling for tests: wait until a check answers, and on a timeout say what was awaited, the check's
 * last error and whatever context the test keeps (a controller's last log lines).
 */

export interface WaitOptions {
  timeoutMs?: number;
  everyMs?: number;
  /** Appended to the timeout error, e.g. the last log lines of the process under test. */
  context?: () => string;
}

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, everyMs = 50, context }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const more = context?.();
      throw new Error(
        `gave up waiting for ${what} after ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}${more ? `\n${more}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * `waitFor` for checks that answer a truthy value when done (null, '', 0 mean "not yet"), polled every
 * 200 ms: the form the Kubernetes end-to-end tests use.
 */
export function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false | '' | 0>,
  timeoutMs = 90_000,
  context?: () => string,
): Promise<T> {
  return waitFor(what, async () => (await check()) || undefined, {
    timeoutMs,
    everyMs: 200,
    ...(context ? { context } : {}),
  }) as Promise<T>;
}
