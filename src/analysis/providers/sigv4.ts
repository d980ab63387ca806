/**
 * AWS Signature Version 4 header signing (node:crypto only), for Argo's prometheus
 * `authentication.sigv4` (Amazon Managed Prometheus, service `aps`).
 *
 * What is signed, as the AWS SDK for Go v2 signs it for services other than S3:
 *   - canonical URI: the URL's path (already percent-encoded by WHATWG URL) encoded once more;
 *   - canonical query: every parameter RFC 3986-encoded, sorted by name then value;
 *   - canonical headers: host plus every header sent except those proxies or Node rewrite
 *     (User-Agent, Content-Length, …), names lower-cased, values trimmed, inner spaces collapsed;
 *   - payload: the SHA-256 of the body (of the empty string without one).
 * `X-Amz-Date` (and `X-Amz-Security-Token` with temporary credentials) are added and signed.
 *
 * Credentials come from the environment only (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`); profiles and role assumption need the AWS SDK, which Vireo does not carry.
 * Nothing here logs; callers must keep the secret key, token and signature out of messages.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  url: string | URL;
  /** Later duplicates (case-insensitive) win, as in `httpRequest`. */
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: string | Uint8Array;
}

export interface SigV4Scope {
  region: string;
  service: string;
  credentials: AwsCredentials;
  /** The signing time. */
  now: Date;
}

export interface SignedRequest {
  /** What to send: the request's headers (de-duplicated) plus X-Amz-Date, token and Authorization. */
  headers: [string, string][];
  authorization: string;
  signedHeaders: string;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** Headers that hops or Node's client may add or rewrite after signing, so they are never signed. */
const UNSIGNED = new Set([
  'authorization',
  'user-agent',
  'content-length',
  'expect',
  'transfer-encoding',
  'connection',
  'x-amzn-trace-id',
]);

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ (encodeURIComponent leaves !'()*). */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `20150830T123600Z`. */
export const amzDate = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

function canonicalUri(url: URL): string {
  const path = url.pathname === '' ? '/' : url.pathname;
  return path
    .split('/')
    .map((segment) => encodeRfc3986(segment))
    .join('/');
}

function canonicalQuery(url: URL): string {
  return [...url.searchParams]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** The signing key: HMAC chain over date, region, service and "aws4_request". */
export function signingKey(
  secretAccessKey: string,
  dateStamp: string,
  region: string,
  service: string,
): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, dateStamp);
  return hmac(hmac(hmac(kDate, region), service), 'aws4_request');
}

/** Signs one request; the returned headers replace the request's. */
export function signV4(req: SigV4Request, scope: SigV4Scope): SignedRequest {
  const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
  const date = amzDate(scope.now);
  const dateStamp = date.slice(0, 8);
  const { credentials } = scope;

  // De-duplicate as httpRequest does (last wins), so what is signed is what is sent.
  const byName = new Map<string, [string, string]>();
  for (const [k, v] of req.headers ?? []) byName.set(k.toLowerCase(), [k, v]);
  for (const drop of ['authorization', 'x-amz-date', 'x-amz-security-token', 'host']) byName.delete(drop);
  byName.set('x-amz-date', ['X-Amz-Date', date]);
  if (credentials.sessionToken)
    byName.set('x-amz-security-token', ['X-Amz-Security-Token', credentials.sessionToken]);

  const signed = new Map<string, string>([['host', url.host]]);
  for (const [lower, [, value]] of byName)
    if (!UNSIGNED.has(lower)) signed.set(lower, value.trim().replace(/\s+/g, ' '));
  const names = [...signed.keys()].sort();
  const signedHeaders = names.join(';');
  const canonicalHeaders = names.map((n) => `${n}:${signed.get(n)}\n`).join('');

  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(url),
    canonicalQuery(url),
    canonicalHeaders,
    signedHeaders,
    sha256(req.body ?? ''),
  ].join('\n');
  const credentialScope = `${dateStamp}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = [ALGORITHM, date, credentialScope, sha256(canonicalRequest)].join('\n');
  const key = signingKey(credentials.secretAccessKey, dateStamp, scope.region, scope.service);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  const authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return {
    headers: [
      ...[...byName.values()].map(([k, v]) => [k, v] as [string, string]),
      ['Authorization', authorization],
    ],
    authorization,
    signedHeaders,
    canonicalRequest,
    stringToSign,
    signature,
  };
}

/** Credentials from the environment (the only source Vireo reads), or undefined when incomplete. */
export function awsCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The region of the AWS SDK's default chain, from the environment. */
export const awsRegionFromEnv = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined;
