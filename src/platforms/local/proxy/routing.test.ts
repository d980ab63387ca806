import { describe, expect, it } from 'vitest';
import { compileRoutes, decide, parseCookies, type RouteConfig } from './routing.js';

const base: RouteConfig = {
  backends: [
    { name: 'stable', version: 'v1', upstreams: [{ host: '127.0.0.1', port: 1 }] },
    { name: 'canary', version: 'v2', upstreams: [{ host: '127.0.0.1', port: 2 }] },
  ],
  weights: { stable: 80, canary: 20 },
};

const req = (headers: Record<string, string> = {}, url = '/', method = 'GET') => ({ method, url, headers });

describe('decide', () => {
  it.each([
    [0, 'stable'],
    [0.79, 'stable'],
    [0.8, 'canary'],
    [0.999, 'canary'],
  ])('random %f -> %s at 80/20', (r, expected) => {
    expect(decide(compileRoutes(base), req(), () => r).backend?.name).toBe(expected);
  });

  it.each([
    [{ exact: 'a' }, 'a', true],
    [{ exact: 'a' }, 'ab', false],
    [{ prefix: 'ab' }, 'abc', true],
    [{ prefix: 'ab' }, 'xab', false],
    [{ regex: '^b.*z$' }, 'buzz', true],
    [{ regex: '^b.*z$' }, 'abuzz', false],
  ])('header %j against %s -> %s', (match, value, hit) => {
    const routes = compileRoutes({
      ...base,
      routes: [{ name: 'r', backend: 'canary', match: [{ headers: { 'X-V': match } }] }],
    });
    expect(decide(routes, req({ 'x-v': value }), () => 0).backend?.name).toBe(hit ? 'canary' : 'stable');
  });

  it('conditions of one match are ANDed, match entries are ORed, first rule wins', () => {
    const routes = compileRoutes({
      ...base,
      routes: [
        {
          name: 'both',
          backend: 'canary',
          match: [
            { headers: { a: { exact: '1' } }, path: { prefix: '/api' } },
            { method: { exact: 'DELETE' } },
          ],
        },
        { name: 'later', backend: 'stable', match: [{ headers: { a: { exact: '1' } } }] },
      ],
      weights: { canary: 1 },
    });
    expect(decide(routes, req({ a: '1' }, '/api/x?q=1'), () => 0).backend?.name).toBe('canary');
    expect(decide(routes, req({ a: '1' }, '/web'), () => 0).backend?.name).toBe('stable');
    expect(decide(routes, req({}, '/web', 'DELETE'), () => 0).backend?.name).toBe('canary');
  });

  it('mirrors draw their own number and respect match', () => {
    const routes = compileRoutes({
      ...base,
      mirrors: [{ name: 'm', backend: 'canary', percentage: 50, match: [{ method: { exact: 'POST' } }] }],
    });
    expect(decide(routes, req({}, '/', 'POST'), () => 0.4).mirrors.map((b) => b.name)).toEqual(['canary']);
    expect(decide(routes, req({}, '/', 'POST'), () => 0.6).mirrors).toEqual([]);
    expect(decide(routes, req({}, '/', 'GET'), () => 0).mirrors).toEqual([]);
  });

  it('rejects bad configs with the field path', () => {
    expect(() => compileRoutes({ ...base, weights: { stable: -1 } })).toThrow(
      'weights.stable: must be a number >= 0',
    );
    expect(() => compileRoutes({ ...base, routes: [{ name: 'r', backend: 'x', match: [] }] })).toThrow(
      'routes[0].backend: unknown backend "x"',
    );
    expect(() =>
      compileRoutes({
        ...base,
        routes: [{ name: 'r', backend: 'canary', match: [{ headers: { a: { regex: '(' } } }] }],
      }),
    ).toThrow(/routes\[0\]\.match\[0\]\.headers\.a: invalid regex/);
    expect(() =>
      compileRoutes({ ...base, mirrors: [{ name: 'm', backend: 'canary', percentage: 101 }] }),
    ).toThrow('mirrors[0].percentage');
    expect(() => compileRoutes({ ...base, backends: [...base.backends, base.backends[0]!] })).toThrow(
      'duplicate backend',
    );
  });

  it('parses cookies', () => {
    expect([...parseCookies('a=1; canary=always;b = x=y')]).toEqual([
      ['a', '1'],
      ['canary', 'always'],
      ['b', 'x=y'],
    ]);
  });
});

describe('decide on a weights-only table', () => {
  it('draws once per request and splits like a table with a rule that does not match', () => {
    const plain = compileRoutes(base);
    const withRule = compileRoutes({
      ...base,
      routes: [{ name: 'never', backend: 'canary', match: [{ headers: { 'x-never': { exact: 'y' } } }] }],
    });
    for (const r of [0, 0.5, 0.79, 0.8, 0.9999]) {
      let calls = 0;
      const d = decide(plain, req(), () => {
        calls++;
        return r;
      });
      expect(calls).toBe(1);
      expect(d.mirrors).toEqual([]);
      expect(d.backend?.name).toBe(decide(withRule, req(), () => r).backend?.name);
    }
    expect(decide(compileRoutes({ ...base, weights: {} }), req(), () => 0)).toEqual({ mirrors: [] });
  });
});
