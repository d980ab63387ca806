import { describe, expect, it } from 'vitest';
import { awsCredentialsFromEnv, awsRegionFromEnv, encodeRfc3986, signV4 } from './sigv4.js';

// AWS's published SigV4 test suite (aws-sig-v4-test-suite): credentials, scope and time of every case.
const SUITE = {
  region: 'us-east-1',
  service: 'service',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  now: new Date('2015-08-30T12:36:00Z'),
};
const CREDENTIAL = 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request';

describe('signV4: AWS test-suite vectors (expected values as published, not computed here)', () => {
  it.each<[string, string, string, [string, string][], string, string, string]>([
    [
      'get-vanilla',
      'GET',
      'https://example.amazonaws.com/',
      [],
      '',
      'host;x-amz-date',
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    ],
    [
      'get-vanilla-query-order-key-case',
      'GET',
      'https://example.amazonaws.com/?Param2=value2&Param1=value1',
      [],
      '',
      'host;x-amz-date',
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    ],
    [
      'post-vanilla',
      'POST',
      'https://example.amazonaws.com/',
      [],
      '',
      'host;x-amz-date',
      '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    ],
    [
      'post-x-www-form-urlencoded',
      'POST',
      'https://example.amazonaws.com/',
      [['Content-Type', 'application/x-www-form-urlencoded']],
      'Param1=value1',
      'content-type;host;x-amz-date',
      'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    ],
  ])('%s', (_name, method, url, headers, body, signedHeaders, signature) => {
    const r = signV4({ method, url, headers, body }, SUITE);
    expect(r.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=${CREDENTIAL}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    );
    expect(r.headers).toContainEqual(['X-Amz-Date', '20150830T123600Z']);
    expect(r.headers).toContainEqual(['Authorization', r.authorization]);
  });

  it('post-x-www-form-urlencoded: the published canonical request and string to sign', () => {
    const r = signV4(
      {
        method: 'POST',
        url: 'https://example.amazonaws.com/',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: 'Param1=value1',
      },
      SUITE,
    );
    expect(r.canonicalRequest).toBe(
      'POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e',
    );
    expect(r.stringToSign).toBe(
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281',
    );
  });
});

describe('signV4: what is signed', () => {
  it('a session token is sent and signed; User-Agent and Content-Length are not signed', () => {
    const r = signV4(
      {
        method: 'POST',
        url: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/query',
        headers: [
          ['Accept', 'application/json'],
          ['User-Agent', 'vireo'],
          ['Content-Length', '7'],
          ['X-Custom', '  a   b  '],
        ],
        body: 'query=1',
      },
      { ...SUITE, credentials: { ...SUITE.credentials, sessionToken: 'T0KEN-value' } },
    );
    expect(r.signedHeaders).toBe('accept;host;x-amz-date;x-amz-security-token;x-custom');
    expect(r.headers).toContainEqual(['X-Amz-Security-Token', 'T0KEN-value']);
    expect(r.canonicalRequest).toContain('\nx-custom:a b\n');
    expect(r.canonicalRequest.split('\n')[1]).toBe('/workspaces/ws-1/api/v1/query');
  });

  it.each([
    [
      'a later duplicate header wins, as httpRequest sends it',
      [
        ['X-A', '1'],
        ['x-a', '2'],
      ],
      'x-a:2',
    ],
    ['an Authorization header given is replaced', [['Authorization', 'Bearer old']], 'host:'],
  ] as [string, [string, string][], string][])('%s', (_n, headers, line) => {
    const r = signV4({ method: 'GET', url: 'https://h.example/', headers }, SUITE);
    expect(r.canonicalRequest).toContain(line);
    expect(r.headers.filter(([k]) => k.toLowerCase() === headers[0]![0].toLowerCase()).length).toBeLessThan(
      2,
    );
  });

  it.each([
    ['unreserved kept', 'aZ09-_.~', 'aZ09-_.~'],
    ["encodeURIComponent's gaps encoded", "!'()*", '%21%27%28%29%2A'],
    ['space is %20, not +', 'a b', 'a%20b'],
    ['UTF-8 bytes', 'ሴ', '%E1%88%B4'],
  ])('encodeRfc3986: %s', (_n, s, want) => {
    expect(encodeRfc3986(s)).toBe(want);
  });

  it('path segments are encoded twice (non-S3 services); query values once, sorted', () => {
    const r = signV4({ method: 'GET', url: 'https://h.example/a%20b/c?z=1&a=x+y&a=%21' }, SUITE);
    const [, path, query] = r.canonicalRequest.split('\n');
    expect(path).toBe('/a%2520b/c');
    expect(query).toBe('a=%21&a=x%20y&z=1');
  });
});

describe('credentials and region from the environment', () => {
  it.each([
    [
      { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' },
      { accessKeyId: 'AK', secretAccessKey: 'SK' },
    ],
    [
      { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK', AWS_SESSION_TOKEN: 'ST' },
      { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'ST' },
    ],
    [{ AWS_ACCESS_KEY_ID: 'AK' }, undefined],
    [{ AWS_SECRET_ACCESS_KEY: 'SK' }, undefined],
    [{}, undefined],
  ])('%j -> %j', (env, want) => {
    expect(awsCredentialsFromEnv(env)).toEqual(want);
  });
  it.each([
    [{ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' }, 'eu-west-1'],
    [{ AWS_DEFAULT_REGION: 'us-east-1' }, 'us-east-1'],
    [{}, undefined],
  ])('region %j -> %s', (env, want) => {
    expect(awsRegionFromEnv(env)).toBe(want);
  });
});
