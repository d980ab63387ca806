import { describe, expect, it } from 'vitest';
import {
  bearerOf,
  decide,
  hostName,
  isLoopbackAddress,
  parseCookies,
  type RequestFacts,
  type SecurityConfig,
  type Session,
  Sessions,
  sameToken,
} from './security.js';

const session: Session = { id: 'sid', csrf: 'csrf-1', authenticated: false, createdAt: 0 };
const loggedIn: Session = { ...session, authenticated: true };
const TOKEN = 'secret-token-0123456789';

const loopback: SecurityConfig = { loopback: true, readOnly: false };
const loopbackToken: SecurityConfig = { loopback: true, readOnly: false, token: TOKEN };
const remote: SecurityConfig = { loopback: false, readOnly: false, token: TOKEN };
const remoteRO: SecurityConfig = { loopback: false, readOnly: true, token: TOKEN };

const post = (f: Partial<RequestFacts> = {}): RequestFacts => ({
  kind: 'action',
  method: 'POST',
  host: 'dash.example:3100',
  contentType: 'application/json',
  ...f,
});
const local = (f: Partial<RequestFacts> = {}): RequestFacts => post({ host: '127.0.0.1:3100', ...f });

describe('decide: who may read and act', () => {
  const rows: [string, SecurityConfig, RequestFacts, number | string][] = [
    // reads
    ['read on loopback', loopback, { kind: 'read', method: 'GET', host: '127.0.0.1:3100' }, 'open'],
    [
      'read on loopback as localhost',
      loopback,
      { kind: 'read', method: 'GET', host: 'localhost:3100' },
      'open',
    ],
    ['read on loopback as [::1]', loopback, { kind: 'read', method: 'GET', host: '[::1]:3100' }, 'open'],
    [
      'DNS rebinding: a foreign Host on loopback',
      loopback,
      { kind: 'read', method: 'GET', host: 'evil.example:3100' },
      421,
    ],
    ['no Host on loopback', loopback, { kind: 'read', method: 'GET' }, 421],
    [
      'read elsewhere needs no token',
      remote,
      { kind: 'read', method: 'GET', host: 'dash.example:3100' },
      'open',
    ],
    [
      'read on a read-only dashboard',
      remoteRO,
      { kind: 'read', method: 'GET', host: 'dash.example' },
      'open',
    ],
    // actions on loopback without a token: session + CSRF
    ['loopback action with session and CSRF', loopback, local({ session, csrf: 'csrf-1' }), 'session'],
    ['loopback action without CSRF header', loopback, local({ session }), 403],
    ['loopback action with a wrong CSRF header', loopback, local({ session, csrf: 'nope' }), 403],
    ['loopback action without session', loopback, local({ csrf: 'csrf-1' }), 403],
    [
      'loopback action from another site (Origin)',
      loopback,
      local({ session, csrf: 'csrf-1', origin: 'http://evil.example' }),
      403,
    ],
    [
      'loopback action, Origin of another port',
      loopback,
      local({ session, csrf: 'csrf-1', origin: 'http://127.0.0.1:9999' }),
      403,
    ],
    [
      'loopback action, same Origin',
      loopback,
      local({ session, csrf: 'csrf-1', origin: 'http://127.0.0.1:3100' }),
      'session',
    ],
    [
      'loopback action, Sec-Fetch-Site cross-site',
      loopback,
      local({ session, csrf: 'csrf-1', secFetchSite: 'cross-site' }),
      403,
    ],
    [
      'loopback action, Sec-Fetch-Site same-site',
      loopback,
      local({ session, csrf: 'csrf-1', secFetchSite: 'same-site' }),
      403,
    ],
    [
      'loopback action, Sec-Fetch-Site same-origin',
      loopback,
      local({ session, csrf: 'csrf-1', secFetchSite: 'same-origin' }),
      'session',
    ],
    [
      'loopback action as a form post',
      loopback,
      local({ session, csrf: 'csrf-1', contentType: 'application/x-www-form-urlencoded' }),
      415,
    ],
    ['loopback action with GET', loopback, local({ method: 'GET', session, csrf: 'csrf-1' }), 405],
    ['a bearer without a token in force is no credential', loopback, local({ bearer: 'x' }), 403],
    // --token on loopback
    ['loopback with --token: session not logged in', loopbackToken, local({ session, csrf: 'csrf-1' }), 401],
    [
      'loopback with --token: logged in',
      loopbackToken,
      local({ session: loggedIn, csrf: 'csrf-1' }),
      'session',
    ],
    ['loopback with --token: bearer', loopbackToken, local({ bearer: TOKEN }), 'token'],
    // beyond loopback: token needed
    ['remote action, no credentials', remote, post(), 403],
    ['remote action, session and CSRF but not logged in', remote, post({ session, csrf: 'csrf-1' }), 401],
    ['remote action, logged in without CSRF', remote, post({ session: loggedIn }), 403],
    ['remote action, logged in with CSRF', remote, post({ session: loggedIn, csrf: 'csrf-1' }), 'session'],
    ['remote action, right bearer', remote, post({ bearer: TOKEN }), 'token'],
    ['remote action, wrong bearer', remote, post({ bearer: `${TOKEN}x` }), 401],
    [
      'remote action, right bearer but cross-site',
      remote,
      post({ bearer: TOKEN, origin: 'https://evil.example' }),
      403,
    ],
    ['remote action, Origin null', remote, post({ session: loggedIn, csrf: 'csrf-1', origin: 'null' }), 403],
    ['read-only refuses actions even with the token', remoteRO, post({ bearer: TOKEN }), 403],
    // login
    ['login with session and CSRF', remote, post({ kind: 'login', session, csrf: 'csrf-1' }), 'session'],
    ['login without CSRF', remote, post({ kind: 'login', session }), 403],
    [
      'login from another site',
      remote,
      post({ kind: 'login', session, csrf: 'csrf-1', origin: 'http://evil.example' }),
      403,
    ],
    [
      'login on a read-only dashboard is allowed (it acts on nothing)',
      remoteRO,
      post({ kind: 'login', session, csrf: 'csrf-1' }),
      'session',
    ],
  ];
  it.each(rows)('%s', (_name, cfg, facts, want) => {
    const d = decide(cfg, facts);
    if (typeof want === 'string') expect(d).toEqual({ ok: true, via: want });
    else {
      expect(d.ok).toBe(false);
      if (!d.ok) {
        expect(d.status).toBe(want);
        expect(d.reason).not.toContain(TOKEN);
      }
    }
  });
});

describe('helpers', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.4', false],
    ['dash.example', false],
  ])('isLoopbackAddress(%s) = %s', (h, want) => expect(isLoopbackAddress(h)).toBe(want));

  it('hostName strips the port, keeps IPv6 inside brackets', () => {
    expect(hostName('127.0.0.1:3100')).toBe('127.0.0.1');
    expect(hostName('[::1]:3100')).toBe('::1');
    expect(hostName('LocalHost')).toBe('localhost');
  });

  it('parses cookies and bearer headers', () => {
    expect(parseCookies('a=1; b = 2;c=x=y')).toEqual({ a: '1', b: '2', c: 'x=y' });
    expect(parseCookies(undefined)).toEqual({});
    expect(bearerOf('Bearer abc')).toBe('abc');
    expect(bearerOf('bearer  abc ')).toBe('abc');
    expect(bearerOf('Basic abc')).toBeUndefined();
  });

  it('compares tokens of any length without throwing', () => {
    expect(sameToken('a', 'a')).toBe(true);
    expect(sameToken('a', 'ab')).toBe(false);
    expect(sameToken(undefined, 'a')).toBe(false);
  });

  it('sessions expire and are bounded', () => {
    let now = 0;
    const s = new Sessions(3, 1000, () => now);
    const a = s.create();
    expect(s.get(a.id)).toBe(a);
    now = 1001;
    expect(s.get(a.id)).toBeUndefined();
    const made = [s.create(), s.create(), s.create(), s.create()];
    expect(s.size).toBe(3);
    expect(s.get(made[0]?.id)).toBeUndefined();
    expect(s.get(made[3]?.id)).toBe(made[3]);
    expect(made[1]?.csrf).not.toBe(made[2]?.csrf);
  });
});
