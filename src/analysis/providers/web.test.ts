import { describe, expect, it } from 'vitest';
import type { Metric } from '../../api/argo/analysis.js';
import { reconcileAnalysisRun } from '../../engine/analysis/engine.js';
import {
  captureLogger,
  closedPort,
  json,
  type Reply,
  recordersClosedAfterEach,
  selfSignedCert,
} from '../../testing/http-recorder.js';
import type { MeasureContext } from '../provider.js';
import { webProvider } from './web.js';

const serve = recordersClosedAfterEach();

type Web = NonNullable<NonNullable<Metric['provider']>['web']>;
const metric = (web: Web, extra: Partial<Metric> = {}): Metric => ({
  name: 'webmetric',
  provider: { web },
  ...extra,
});
const ctx = (extra: Partial<MeasureContext> = {}): MeasureContext => ({
  now: Date.parse('2026-11-02T10:00:00Z'),
  run: { name: 'run-1', namespace: 'default' },
  ...extra,
});

describe('web provider: values (Argo webmetric semantics)', () => {
  const body = { data: { ok: true, successPercent: 0.95, items: [{ v: 1 }, { v: 2 }] } };
  const rows: [string, string | undefined, Reply, unknown][] = [
    ['the whole JSON body when jsonPath is unset', undefined, { body }, body],
    ['the whole body with {$}', '{$}', { body }, body],
    ['a boolean', '{$.data.ok}', { body }, true],
    ['a number', '{$.data.successPercent}', { body }, 0.95],
    ['an object', '{$.data}', { body }, body.data],
    ['the first of several values', '{$.data.items[*].v}', { body }, 1],
    ['a JSON string body', '{$}', { body: '"ok"', headers: { 'content-type': 'application/json' } }, 'ok'],
    ['a JSON number body', undefined, { body: '42' }, 42],
    ['a non-JSON body as a string', undefined, { body: 'all good\n' }, 'all good\n'],
  ];
  it.each(rows)('%s', async (_name, jsonPath, reply, want) => {
    const s = await serve(reply);
    const o = await webProvider().run(
      metric({ url: `${s.url}/m`, ...(jsonPath ? { jsonPath } : {}) }),
      ctx(),
    );
    expect(o).toMatchObject({ metric: 'webmetric', value: want });
    expect(o.phase).toBeUndefined();
    expect(typeof o.startedAt).toBe('number');
    expect(o.finishedAt as number).toBeGreaterThanOrEqual(o.startedAt as number);
  });

  it('feeds the engine: conditions decide Successful and Failed', async () => {
    const s = await serve([{ body: { data: { ok: true } } }, { body: { data: { ok: false } } }]);
    const m = metric({ url: s.url, jsonPath: '{$.data.ok}' }, { successCondition: 'result == true' });
    const run = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisRun',
      metadata: { name: 'r', namespace: 'default' },
      spec: { metrics: [m] },
    } as Parameters<typeof reconcileAnalysisRun>[0];
    const p = webProvider();
    const first = reconcileAnalysisRun(run, 0, []);
    expect(first.actions[0]?.type).toBe('measure');
    const obs = await p.run(m, ctx());
    const second = reconcileAnalysisRun({ ...run, status: first.status }, 1000, [obs]);
    expect(second.status.metricResults?.[0]?.measurements?.[0]).toMatchObject({
      phase: 'Successful',
      value: 'true',
    });
    const bad = await p.run(m, ctx());
    expect(reconcileAnalysisRun(run, 0, [bad]).status.metricResults?.[0]?.measurements?.[0]?.phase).toBe(
      'Failed',
    );
  });
});

describe('web provider: requests', () => {
  it('GET by default with the headers; later keys win', async () => {
    const s = await serve({ body: {} });
    await webProvider().run(
      metric({
        url: `${s.url}/api/v1/measurement?service=web`,
        headers: [
          { key: 'X-Scope', value: 'a' },
          { key: 'x-scope', value: 'b' },
          { key: 'Accept', value: 'application/json' },
        ],
      }),
      ctx(),
    );
    const [r] = s.requests;
    expect(r?.method).toBe('GET');
    expect(r?.path).toBe('/api/v1/measurement?service=web');
    expect(r?.headers['x-scope']).toBe('b');
    expect(r?.headers.accept).toBe('application/json');
    expect(r?.body).toBe('');
  });

  it('POST jsonBody as JSON with Content-Type application/json (over a header that says otherwise)', async () => {
    const s = await serve({ body: { ok: true } });
    await webProvider().run(
      metric({
        method: 'POST',
        url: s.url,
        headers: [{ key: 'Content-Type', value: 'text/plain' }],
        jsonBody: { name: 'guestbook', nested: { n: 1 } },
      }),
      ctx(),
    );
    const [r] = s.requests;
    expect(r?.method).toBe('POST');
    expect(r?.headers['content-type']).toBe('application/json');
    expect(json(r!)).toEqual({ name: 'guestbook', nested: { n: 1 } });
  });

  it('PUT body as written, no Content-Type added', async () => {
    const s = await serve({ body: { ok: true } });
    await webProvider().run(metric({ method: 'PUT', url: s.url, body: 'a=1&b=2' }), ctx());
    const [r] = s.requests;
    expect(r?.method).toBe('PUT');
    expect(r?.body).toBe('a=1&b=2');
    expect(r?.headers['content-type']).toBeUndefined();
  });

  it('a Flagger-style gate from Argo: POST the payload to the load tester; 200 passes, 403 is an Error', async () => {
    const s = await serve((r) =>
      r.path === '/gate/check' ? { status: 200, body: 'Approved' } : { status: 403, body: 'Forbidden' },
    );
    const gate = (path: string) =>
      metric({
        method: 'POST',
        url: `${s.url}${path}`,
        jsonBody: {
          name: 'guestbook',
          namespace: 'default',
          phase: 'Progressing',
          metadata: { env: 'prod' },
        },
      });
    expect(await webProvider().run(gate('/gate/check'), ctx())).toMatchObject({ value: 'Approved' });
    expect(await webProvider().run(gate('/gate/halt'), ctx())).toMatchObject({
      phase: 'Error',
      message: `POST ${s.url}/gate/halt: received non 2xx response code: 403 (Forbidden)`,
    });
    expect(json(s.requests[0]!)).toEqual({
      name: 'guestbook',
      namespace: 'default',
      phase: 'Progressing',
      metadata: { env: 'prod' },
    });
  });

  it('skips TLS verification only when insecure', async () => {
    const s = await serve({ body: { ok: true } }, { tls: selfSignedCert() });
    expect(
      await webProvider().run(metric({ url: s.url, jsonPath: '{$.ok}', insecure: true }), ctx()),
    ).toMatchObject({ value: true });
    const strict = await webProvider().run(metric({ url: s.url }), ctx());
    expect(strict).toMatchObject({
      phase: 'Error',
      message: expect.stringMatching(/^GET https:\/\/127\.0\.0\.1:\d+\/: TLS: /),
    });
  });
});

describe('web provider: Error measurements', () => {
  const rows: [string, Reply, string | undefined, RegExp | null][] = [
    ['500', { status: 500, body: 'boom' }, undefined, /: received non 2xx response code: 500 \(boom\)$/],
    ['404 without a body', { status: 404 }, undefined, /: received non 2xx response code: 404$/],
    ['204 is 2xx: its empty body is the empty string', { status: 204 }, undefined, null],
    [
      'malformed JSON with a jsonPath',
      { body: '{"data": ' },
      '{$.data}',
      /the answer is not JSON, so jsonPath \{\$\.data\} cannot apply/,
    ],
    [
      'a path that is not there',
      { body: { other: 1 } },
      '{$.data}',
      /could not find JSONPath \{\$\.data\} in body: data is not found/,
    ],
    [
      'a path that selects nothing',
      { body: { data: [] } },
      '{$.data[*]}',
      /result of web metric produced no value/,
    ],
  ];
  it.each(rows)('%s', async (_n, reply, jsonPath, want) => {
    const s = await serve(reply);
    const o = await webProvider().run(metric({ url: s.url, ...(jsonPath ? { jsonPath } : {}) }), ctx());
    if (want === null) expect(o).toMatchObject({ value: '' });
    else
      expect(o).toMatchObject({ metric: 'webmetric', phase: 'Error', message: expect.stringMatching(want) });
  });

  it('a slow answer times out after timeoutSeconds', async () => {
    const s = await serve({ delayMs: 3000, body: {} });
    const o = await webProvider().run(
      metric({ url: `${s.url}/slow`, timeoutSeconds: 0.2 as unknown as number }),
      ctx(),
    );
    expect(o).toMatchObject({ phase: 'Error', message: `GET ${s.url}/slow: no answer within 0.2s` });
  });

  it('connection refused', async () => {
    const port = await closedPort();
    const o = await webProvider().run(metric({ url: `http://127.0.0.1:${port}/m` }), ctx());
    expect(o).toMatchObject({
      phase: 'Error',
      message: `GET http://127.0.0.1:${port}/m: connection refused by 127.0.0.1:${port}`,
    });
  });

  it.each([
    [{ method: 'GET', body: 'x' }, 'body/jsonBody can only be used with POST or PUT web metric methods'],
    [{ jsonBody: { a: 1 } }, 'body/jsonBody can only be used with POST or PUT web metric methods'],
    [
      { method: 'POST', body: 'x', jsonBody: { a: 1 } },
      'use either body or jsonBody; both cannot exist for a web metric payload',
    ],
    [
      { jsonPath: '$.data' },
      'jsonPath "$.data" must be one {…} expression such as {$.data.ok}: text outside braces is returned literally by Argo',
    ],
  ] as [Partial<Web>, string][])('refuses %j before sending', async (web, message) => {
    const s = await serve({ body: {} });
    expect(await webProvider().run(metric({ url: s.url, ...web }), ctx())).toMatchObject({
      phase: 'Error',
      message,
    });
    expect(s.requests).toHaveLength(0);
  });

  it('an answer beyond maxBodyBytes', async () => {
    const s = await serve({ body: 'x'.repeat(2000) });
    const o = await webProvider({ maxBodyBytes: 1000 }).run(metric({ url: s.url }), ctx());
    expect(o).toMatchObject({
      phase: 'Error',
      message: expect.stringMatching(/response body larger than 1000 bytes/),
    });
  });

  it('resume is an Error (web measurements never run long); terminate does nothing', () => {
    const p = webProvider();
    const m = metric({ url: 'http://127.0.0.1:1/' });
    expect(p.resume(m, { phase: 'Running' }, ctx())).toMatchObject({ phase: 'Error' });
    expect(p.terminate(m, { phase: 'Running' }, ctx())).toBeUndefined();
  });
});

describe('web provider: secrets never reach messages or logs', () => {
  const TOKEN = 'tok-5up3r-s3cr3t';
  const API_KEY = 'k3y-0f-th3-api';
  const ARG_SECRET = 'arg-s3cr3t-value';

  it('header values, query values, user info and resolved secret args are scrubbed', async () => {
    const s = await serve((r) => ({
      status: 500,
      // A server that echoes what it got, the worst case.
      body: `denied ${r.headers.authorization} ${r.path} ${r.body}`,
    }));
    const log = captureLogger();
    const url = s.url.replace('http://', `http://admin:${ARG_SECRET}@`);
    const o = await webProvider({ log }).run(
      metric({
        method: 'POST',
        url: `${url}/q?api_key=${API_KEY}&service=web`,
        headers: [{ key: 'Authorization', value: `Bearer ${TOKEN}` }],
        body: `secret=${ARG_SECRET}`,
      }),
      ctx({ argValues: { token: ARG_SECRET } }),
    );
    expect(o.phase).toBe('Error');
    expect(s.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const everything = `${o.message}\n${log.text()}`;
    expect(log.lines.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, API_KEY, ARG_SECRET]) expect(everything).not.toContain(secret);
    expect(o.message).toContain(`POST ${s.url}/q?api_key=…&service=…: received non 2xx response code: 500`);
  });

  it('basicAuth sends the credentials and keeps them out of messages', async () => {
    const s = await serve((r) => ({ status: 401, body: `bad ${r.headers.authorization}` }));
    const log = captureLogger();
    const o = await webProvider({ log }).run(
      metric({
        url: s.url,
        authentication: { basicAuth: { username: 'u', password: 'pa55-w0rd-x' } },
      } as Web),
      ctx(),
    );
    expect(s.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('u:pa55-w0rd-x').toString('base64')}`,
    );
    const everything = `${o.message}\n${log.text()}`;
    expect(everything).not.toContain('pa55-w0rd-x');
    expect(everything).not.toContain(Buffer.from('u:pa55-w0rd-x').toString('base64'));
  });

  it('oauth2 client credentials: token fetched once, sent as Bearer, never shown', async () => {
    const idp = await serve({
      body: { access_token: 'at-0123456789', token_type: 'Bearer', expires_in: 3600 },
    });
    const api = await serve((r) =>
      r.headers.authorization === 'Bearer at-0123456789' ? { body: { ok: true } } : { status: 401 },
    );
    const log = captureLogger();
    const p = webProvider({ log });
    const m = metric({
      url: api.url,
      jsonPath: '{$.ok}',
      authentication: {
        oauth2: {
          tokenUrl: `${idp.url}/token`,
          clientId: 'client',
          clientSecret: 'cl13nt-s3cr3t',
          scopes: ['read', 'metrics'],
        },
      },
    } as Web);
    expect(await p.run(m, ctx())).toMatchObject({ value: true });
    expect(await p.run(m, ctx())).toMatchObject({ value: true });
    expect(idp.requests).toHaveLength(1);
    const [t] = idp.requests;
    expect(t?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(t?.headers.authorization).toBe(`Basic ${Buffer.from('client:cl13nt-s3cr3t').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(t?.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'read metrics',
    });

    idp.answer({ status: 400, body: 'invalid_client cl13nt-s3cr3t' });
    const refused = await webProvider({ log }).run(m, ctx());
    expect(refused).toMatchObject({
      phase: 'Error',
      message: expect.stringMatching(
        /^OAuth2 token request POST .*\/token: HTTP 400 \(invalid_client \*\*\*\)$/,
      ),
    });
    expect(`${refused.message}\n${log.text()}`).not.toMatch(/cl13nt-s3cr3t|at-0123456789/);
  });

  it('oauth2: a token the API refuses (401) is replaced once, then the measurement succeeds', async () => {
    const idp = await serve((_r, n) => ({ body: { access_token: `web-token-${n + 1}`, expires_in: 3600 } }));
    const api = await serve((r) =>
      r.headers.authorization === 'Bearer web-token-2' ? { body: { ok: true } } : { status: 401 },
    );
    const m = metric({
      url: api.url,
      jsonPath: '{$.ok}',
      authentication: {
        oauth2: { tokenUrl: `${idp.url}/token`, clientId: 'c', clientSecret: 's3cr3t-value' },
      },
    } as Web);
    expect(await webProvider().run(m, ctx())).toMatchObject({ value: true });
    expect(idp.requests).toHaveLength(2);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer web-token-1',
      'Bearer web-token-2',
    ]);
  });
});
