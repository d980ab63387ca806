/** Waits for SIGINT or SIGTERM (or `abort`, which tests use); resolves with what ended the wait. */
export function untilStopped(abort?: AbortSignal): Promise<'SIGINT' | 'SIGTERM' | 'abort'> {
  return new Promise((resolve) => {
    const done = (why: 'SIGINT' | 'SIGTERM' | 'abort') => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      abort?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = () => done('SIGINT');
    const onTerm = () => done('SIGTERM');
    const onAbort = () => done('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    abort?.addEventListener('abort', onAbort, { once: true });
    if (abort?.aborted) done('abort');
  });
}
