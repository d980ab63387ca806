/**
 * Argo prometheus `authentication.oauth2` and `.sigv4` against real local servers: recorders act as
 * the token endpoint and as Prometheus (answering Prometheus' JSON).
 */
import { describe, expect, it } from 'vitest';
import type { Metric } from '../../api/argo/analysis.js';
import { type RecordedRequest, type Reply, recordersClosedAfterEach } from '../../testing/http-recorder.js';
import type { MeasureContext } from '../provider.js';
import { PrometheusProvider } from './prometheus.js';
import { signV4 } from './sigv4.js';

const serve = recordersClosedAfterEach();
const ctx: MeasureContext = { now: Date.parse('2026-11-22T10:00:00Z'), run: { name: 'r' } };
const answer = (value: string): Reply => ({
  body: { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, value] }] } },
});
const metric = (address: string, authentication: Record<string, unknown>): Metric => ({
  name: 'success-rate',
  provider: { prometheus: { address, query: 'vector(0.97)', authentication } },
});

describe('oauth2: client-credentials token as Bearer, reused, refreshed once on 401', () => {
  const SECRET = 'cl13nt-s3cr3t-value';
  const setup = async (accepted: Set<string>) => {
    const idp = await serve((_r, n) => ({
      body: { access_token: `prom-token-${n + 1}`, token_type: 'Bearer', expires_in: 3600 },
    }));
    const prom = await serve((r) => {
      const token = String(r.headers.authorization ?? '').replace(/^Bearer /, '');
      return accepted.has(token)
        ? answer('0.97')
        : { status: 401, body: `token ${String(r.headers.authorization)} is not valid` };
    });
    const m = metric(prom.url, {
      oauth2: {
        tokenUrl: `${idp.url}/oauth/token`,
        clientId: 'vireo',
        clientSecret: SECRET,
        scopes: ['metrics'],
      },
    });
    return { idp, prom, m };
  };

  it('one token for several measurements, sent as Bearer on the POSTed query', async () => {
    const { idp, prom, m } = await setup(new Set(['prom-token-1']));
    const p = new PrometheusProvider();
    expect(await p.run(m, ctx)).toMatchObject({ value: [0.97] });
    expect(await p.run(m, ctx)).toMatchObject({ value: [0.97] });
    expect(idp.requests).toHaveLength(1);
    expect(idp.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`vireo:${SECRET}`).toString('base64')}`,
    );
    expect(Object.fromEntries(new URLSearchParams(idp.requests[0]?.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'metrics',
    });
    expect(prom.requests.map((r) => [r.method, r.path, r.headers.authorization])).toEqual([
      ['POST', '/api/v1/query', 'Bearer prom-token-1'],
      ['POST', '/api/v1/query', 'Bearer prom-token-1'],
    ]);
  });

  it('a token revoked before its expiry: 401, one new token, the query succeeds', async () => {
    const accepted = new Set(['prom-token-1']);
    const { idp, prom, m } = await setup(accepted);
    const p = new PrometheusProvider();
    expect(await p.run(m, ctx)).toMatchObject({ value: [0.97] });
    accepted.clear();
    accepted.add('prom-token-2');
    expect(await p.run(m, ctx)).toMatchObject({ value: [0.97] });
    expect(idp.requests).toHaveLength(2);
    expect(prom.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer prom-token-1',
      'Bearer prom-token-1',
      'Bearer prom-token-2',
    ]);
    // The new token is the one kept.
    expect(await p.run(m, ctx)).toMatchObject({ value: [0.97] });
    expect(idp.requests).toHaveLength(2);
  });

  it('refused again with the new token: an Error after one refresh, no token or secret shown', async () => {
    const { idp, prom, m } = await setup(new Set());
    const o = await new PrometheusProvider().run(m, ctx);
    expect(o).toMatchObject({
      phase: 'Error',
      message: `Prometheus at ${prom.url}: HTTP 401 Unauthorized: token Bearer *** is not valid`,
    });
    expect(idp.requests).toHaveLength(2);
    expect(prom.requests).toHaveLength(2);
  });

  it('a token endpoint that refuses the client: an Error naming it, the secret scrubbed', async () => {
    const idp = await serve({ status: 401, body: { error: 'invalid_client', secret: SECRET } });
    const prom = await serve(answer('1'));
    const o = await new PrometheusProvider().run(
      metric(prom.url, {
        oauth2: { tokenUrl: `${idp.url}/t?tenant=x`, clientId: 'c', clientSecret: SECRET },
      }),
      ctx,
    );
    expect(o.phase).toBe('Error');
    expect(o.message).toBe(
      `Prometheus at ${prom.url}: OAuth2 token request POST ${idp.url}/t?tenant=…: HTTP 401 ({"error":"invalid_client","secret":"***"})`,
    );
    expect(prom.requests).toHaveLength(0);
  });
});

describe('sigv4: every request signed for aps with the environment credentials', () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIAVIREOTEST',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/vireo/s3cr3t/KEY',
    AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLEsessiontoken',
  };

  /** The signature the recorded request carries must be the one computed over what arrived. */
  const verify = (r: RecordedRequest, url: string, region: string) => {
    const auth = String(r.headers.authorization);
    const date = String(r.headers['x-amz-date']);
    const headers = Object.entries(r.headers)
      .filter(([k]) => k !== 'host')
      .map(([k, v]) => [k, String(v)] as [string, string]);
    const when = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const again = signV4(
      { method: r.method, url: `${url}${r.path}`, headers, body: r.body },
      {
        region,
        service: 'aps',
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          sessionToken: env.AWS_SESSION_TOKEN,
        },
        now: when,
      },
    );
    expect(auth).toBe(again.authorization);
    return auth;
  };

  it('POST: scope, signed headers, session token; the signature covers what was sent', async () => {
    const prom = await serve(answer('0.5'));
    const before = Date.now();
    const o = await new PrometheusProvider({ env }).run(
      metric(`${prom.url}/workspaces/ws-1234`, { sigv4: { region: 'eu-west-1' } }),
      ctx,
    );
    expect(o).toMatchObject({ value: [0.5] });
    const [r] = prom.requests;
    expect(r?.path).toBe('/workspaces/ws-1234/api/v1/query');
    expect(r?.headers['x-amz-security-token']).toBe(env.AWS_SESSION_TOKEN);
    const auth = verify(r!, prom.url, 'eu-west-1');
    const day = new Date(before).toISOString().slice(0, 10).replace(/-/g, '');
    expect(auth).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=AKIAVIREOTEST/${day}/eu-west-1/aps/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$`,
      ),
    );
    // Signed with the real clock (AWS refuses more than 5 minutes of skew), not the measurement's.
    const signedAt = Date.parse(
      String(r?.headers['x-amz-date']).replace(
        /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
        '$1-$2-$3T$4:$5:$6Z',
      ),
    );
    expect(Math.abs(signedAt - before)).toBeLessThan(60_000);
  });

  it('a server that refuses POST is asked with GET, signed again over the query string', async () => {
    const prom = await serve([{ status: 405 }, answer('2')]);
    const o = await new PrometheusProvider({ env: { ...env, AWS_REGION: 'us-west-2' } }).run(
      metric(prom.url, { sigv4: {} }),
      ctx,
    );
    expect(o).toMatchObject({ value: [2] });
    const [post, get] = prom.requests;
    expect([post?.method, get?.method]).toEqual(['POST', 'GET']);
    expect(get?.path).toMatch(/^\/api\/v1\/query\?query=vector%280\.97%29&time=/);
    verify(post!, prom.url, 'us-west-2');
    const auth = verify(get!, prom.url, 'us-west-2');
    expect(auth).toContain(
      '/us-west-2/aps/aws4_request, SignedHeaders=accept;host;x-amz-date;x-amz-security-token,',
    );
  });

  it('an answer echoing the request shows neither the signature nor the secrets', async () => {
    const prom = await serve((r) => ({
      status: 403,
      body: `denied: ${String(r.headers.authorization)} token=${String(r.headers['x-amz-security-token'])} key=${env.AWS_SECRET_ACCESS_KEY}`,
    }));
    const o = await new PrometheusProvider({ env }).run(
      metric(prom.url, { sigv4: { region: 'eu-west-1' } }),
      ctx,
    );
    expect(o.phase).toBe('Error');
    expect(o.message).toMatch(/^Prometheus at http:\/\/127\.0\.0\.1:\d+: HTTP 403 Forbidden: denied: /);
    const signature = /Signature=([0-9a-f]{64})/.exec(String(prom.requests[0]?.headers.authorization))?.[1];
    for (const secret of [signature, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN])
      expect(o.message).not.toContain(secret);
  });

  it('an aps-workspaces address is signed without a sigv4 block, as Argo', () => {
    const t = new PrometheusProvider({ env: { ...env, AWS_REGION: 'ap-southeast-2' } }).target({
      name: 'm',
      provider: {
        prometheus: {
          address: 'https://aps-workspaces.ap-southeast-2.amazonaws.com/workspaces/ws-1',
          query: 'up',
        },
      },
    });
    expect(t.sigv4).toMatchObject({ region: 'ap-southeast-2', service: 'aps' });
  });
});
