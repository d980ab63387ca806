import { describe, expect, it } from 'vitest';
import { Scrubber } from '../../gates/http.js';
import { closedPort, type Reply, recordersClosedAfterEach } from '../../testing/http-recorder.js';
import { type OAuth2Config, OAuth2Error, OAuth2TokenCache, withBearer } from './oauth2.js';

const serve = recordersClosedAfterEach();
const REQ = { timeoutMs: 2000 };

/** A token endpoint that hands out tok-1, tok-2, … with the given extra fields. */
const issuer = (extra: Record<string, unknown> = { expires_in: 3600 }) =>
  serve((_r, n): Reply => ({ body: { access_token: `tok-${n + 1}`, token_type: 'Bearer', ...extra } }));

const config = (url: string, over: Partial<OAuth2Config> = {}): OAuth2Config => ({
  tokenUrl: `${url}/token`,
  clientId: 'client',
  clientSecret: 'cl13nt-s3cr3t',
  scopes: ['read'],
  ...over,
});

const catchError = async (p: Promise<unknown>): Promise<OAuth2Error> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof OAuth2Error) return e;
    throw e;
  }
  throw new Error('expected an OAuth2Error');
};

describe('OAuth2TokenCache: reuse until expiry minus the 10 s margin', () => {
  it.each<[string, Record<string, unknown>, number, number]>([
    ['expires_in 60, 49 s later: reused', { expires_in: 60 }, 49_000, 1],
    ['expires_in 60, 50 s later: renewed', { expires_in: 60 }, 50_000, 2],
    ['expires_in as a string', { expires_in: '120' }, 109_000, 1],
    ['no expires_in: kept 5 minutes', {}, 289_000, 1],
    ['no expires_in: renewed after 5 minutes', {}, 290_000, 2],
    ['expires_in shorter than the margin: never reused', { expires_in: 5 }, 0, 2],
  ])('%s', async (_name, extra, laterMs, fetches) => {
    const idp = await issuer(extra);
    let now = 1_000_000;
    const cache = new OAuth2TokenCache({ now: () => now });
    expect(await cache.token(config(idp.url), REQ)).toBe('tok-1');
    now += laterMs;
    expect(await cache.token(config(idp.url), REQ)).toBe(`tok-${fetches}`);
    expect(idp.requests).toHaveLength(fetches);
  });

  it('sends the client-credentials form with basic auth, as x/oauth2', async () => {
    const idp = await issuer();
    await new OAuth2TokenCache().token(config(idp.url, { scopes: ['read', 'metrics'] }), REQ);
    const [t] = idp.requests;
    expect(t?.method).toBe('POST');
    expect(t?.path).toBe('/token');
    expect(t?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(t?.headers.authorization).toBe(`Basic ${Buffer.from('client:cl13nt-s3cr3t').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(t?.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'read metrics',
    });
  });

  it('reads a form-encoded answer', async () => {
    const idp = await serve({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'access_token=f0rm-token&token_type=bearer&expires_in=60',
    });
    expect(await new OAuth2TokenCache().token(config(idp.url), REQ)).toBe('f0rm-token');
  });

  it('concurrent callers share one token request', async () => {
    const idp = await serve({ delayMs: 50, body: { access_token: 'shared-token', expires_in: 60 } });
    const cache = new OAuth2TokenCache();
    const tokens = await Promise.all([1, 2, 3].map(() => cache.token(config(idp.url), REQ)));
    expect(tokens).toEqual(['shared-token', 'shared-token', 'shared-token']);
    expect(idp.requests).toHaveLength(1);
  });

  it('a rotated secret or other scopes get their own token', async () => {
    const idp = await issuer();
    const cache = new OAuth2TokenCache();
    expect(await cache.token(config(idp.url), REQ)).toBe('tok-1');
    expect(await cache.token(config(idp.url, { clientSecret: 'n3w-s3cr3t' }), REQ)).toBe('tok-2');
    expect(await cache.token(config(idp.url, { scopes: ['write'] }), REQ)).toBe('tok-3');
    expect(await cache.token(config(idp.url), REQ)).toBe('tok-1');
  });

  it('invalidate drops only the token named', async () => {
    const idp = await issuer();
    const cache = new OAuth2TokenCache();
    await cache.token(config(idp.url), REQ);
    cache.invalidate(config(idp.url), 'some-other-token');
    expect(await cache.token(config(idp.url), REQ)).toBe('tok-1');
    cache.invalidate(config(idp.url), 'tok-1');
    expect(await cache.token(config(idp.url), REQ)).toBe('tok-2');
  });
});

describe('OAuth2TokenCache: failures name the token URL, never a secret', () => {
  it.each<[string, Reply, RegExp]>([
    [
      'refused with the secret echoed',
      { status: 401, body: 'invalid_client cl13nt-s3cr3t' },
      /^OAuth2 token request POST http:\/\/127\.0\.0\.1:\d+\/token: HTTP 401 \(invalid_client \*\*\*\)$/,
    ],
    [
      'a 200 without access_token',
      { body: { error: 'nope' } },
      /^OAuth2 token request POST .*\/token: no access_token in the answer \(\{"error":"nope"\}\)$/,
    ],
    ['an answer that is not JSON', { body: '<html>' }, /no access_token in the answer \(<html>\)/],
  ])('%s', async (_name, reply, expected) => {
    const idp = await serve(reply);
    const e = await catchError(new OAuth2TokenCache().token(config(idp.url), REQ));
    expect(e.message).toMatch(expected);
    expect(e.message).not.toContain('cl13nt-s3cr3t');
  });

  it('no answer at all', async () => {
    const port = await closedPort();
    const e = await catchError(new OAuth2TokenCache().token(config(`http://127.0.0.1:${port}`), REQ));
    expect(e.message).toBe(
      `OAuth2 token request failed: POST http://127.0.0.1:${port}/token: connection refused by 127.0.0.1:${port}`,
    );
  });

  it('the scrubber given learns the secret and the token', async () => {
    const idp = await serve({ body: { access_token: 'at-0123456789', expires_in: 60 } });
    const s = new Scrubber();
    await new OAuth2TokenCache().token(config(idp.url), REQ, s);
    expect(s.scrub('at-0123456789 / cl13nt-s3cr3t')).toBe('*** / ***');
  });
});

describe('withBearer: one new token after a 401', () => {
  it.each<[string, number[], number, number, number]>([
    // statuses the resource answers in turn -> status seen, token requests, resource requests
    ['accepted at once', [200], 200, 1, 1],
    ['refused once (revoked token): a new token, then accepted', [401, 200], 200, 2, 2],
    ['refused twice: the second 401 is the answer', [401, 401, 200], 401, 2, 2],
    ['other errors are not retried', [403, 200], 403, 1, 1],
  ])('%s', async (_name, statuses, status, tokenRequests, sent) => {
    const idp = await issuer();
    const cache = new OAuth2TokenCache();
    const seen: string[] = [];
    const res = await withBearer(cache, config(idp.url), REQ, new Scrubber(), async (authorization) => {
      seen.push(authorization);
      return { status: statuses[seen.length - 1] ?? 200 };
    });
    expect(res.status).toBe(status);
    expect(idp.requests).toHaveLength(tokenRequests);
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-2'].slice(0, sent));
  });
});
