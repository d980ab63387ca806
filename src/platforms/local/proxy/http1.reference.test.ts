/**
 * The fast scanners of http1.ts against plain reference versions (split and regex, as they were
 * first written) on random heads: same verdict, same handoff reason or error, same parsed head.
 * The heads are built from pieces near the edges of the subset (case, OWS, controls, obs-fold,
 * repeated and hop-by-hop headers, odd status lines), so most are decided by a rule, not a typo.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOP_BY_HOP, parseRequestHead, parseResponseHead } from './http1.js';

// ------------------------------------------------------------------ reference versions

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TARGET = /^[\x21-\x7e]+$/;
const hasControl = (t: string) => [...t].some((ch) => (ch < ' ' && ch !== '\t') || ch === '\x7f');
const listTokens = (v: string) =>
  v
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');

function refSplit(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return undefined;
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
  return hasControl(value) ? undefined : { name: line.slice(0, colon).toLowerCase(), value };
}

function refRequest(text: string, maxBody: number) {
  const no = (handoff: string) => ({ ok: false as const, handoff });
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const sp1 = first.indexOf(' ');
  const sp2 = first.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0) return no('request line');
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2);
  if (first.slice(sp2 + 1) !== 'HTTP/1.1') return no('not HTTP/1.1');
  if (!TOKEN.test(method) || !TARGET.test(target)) return no('request line');
  const out: { name: string; value: string; raw: string }[] = [];
  const headers: Record<string, string> = Object.create(null);
  let contentLength = -1;
  let hosts = 0;
  let close = false;
  let listed: Set<string> | undefined;
  for (const raw of lines.slice(1)) {
    if (raw === '' || raw[0] === ' ' || raw[0] === '\t') return no('empty line or obs-fold');
    const split = refSplit(raw);
    if (!split) return no('header line');
    const { name, value } = split;
    if (name === 'transfer-encoding' || name === 'upgrade' || name === 'expect') return no(name);
    if (name === 'host') hosts++;
    if (name === 'content-length') {
      if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return no('content-length');
      contentLength = Number(value);
      if (contentLength > maxBody) return no('large body');
    }
    if (name === 'connection')
      for (const token of listTokens(value)) {
        if (token === 'close') close = true;
        else if (token === 'upgrade') return no('connection: upgrade');
        else if (!HOP_BY_HOP.has(token)) listed = new Set([...(listed ?? []), token]);
      }
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
    out.push({ name, value, raw });
  }
  if (hosts !== 1) return no('host');
  return {
    ok: true as const,
    head: { method, target, lines: out, headers, contentLength: Math.max(0, contentLength), close, listed },
  };
}

function refResponse(text: string, noBody: boolean, close: boolean) {
  const bad = (error: string) => ({ ok: false as const, error });
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(first);
  if (!m || hasControl(m[3] ?? '')) return bad('status line');
  const http10 = m[1] === '0';
  const status = Number(m[2]);
  let contentLength = -1;
  let chunked = false;
  let te = false;
  let upstreamClose = http10;
  let listed: Set<string> | undefined;
  const kept: { name: string; raw: string }[] = [];
  for (const raw of lines.slice(1)) {
    if (raw === '' || raw[0] === ' ' || raw[0] === '\t') return bad('obs-fold');
    const split = refSplit(raw);
    if (!split) return bad('header line');
    const { name, value } = split;
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return bad('content-length');
      if (contentLength >= 0 && contentLength !== Number(value)) return bad('two content-lengths');
      contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      te = true;
      chunked = listTokens(value).at(-1) === 'chunked';
    } else if (name === 'connection') {
      for (const token of listTokens(value)) {
        if (token === 'close') upstreamClose = true;
        else if (token === 'keep-alive') {
          if (http10) upstreamClose = false;
        } else if (!HOP_BY_HOP.has(token)) listed = new Set([...(listed ?? []), token]);
      }
    }
    kept.push({ name, raw });
  }
  if (te && contentLength >= 0) return bad('content-length with transfer-encoding');
  const framing =
    noBody || status === 204 || status === 304 || (status >= 100 && status < 200)
      ? { kind: 'none' }
      : chunked
        ? { kind: 'chunked' }
        : !te && contentLength >= 0
          ? { kind: 'length', length: contentLength }
          : { kind: 'close' };
  let head = `HTTP/1.1 ${first.slice(9)}\r\n`;
  for (const line of kept) {
    const keep = framing.kind === 'chunked' && (line.name === 'transfer-encoding' || line.name === 'trailer');
    if (!keep && (HOP_BY_HOP.has(line.name) || listed?.has(line.name))) continue;
    head += `${line.raw}\r\n`;
  }
  if (close || framing.kind === 'close') head += 'connection: close\r\n';
  return {
    ok: true as const,
    head: {
      status,
      framing,
      clientHead: `${head}\r\n`,
      reusable: !upstreamClose && framing.kind !== 'close',
    },
  };
}

// ------------------------------------------------------------------ random heads

const names = fc.constantFrom(
  'Host',
  'host',
  'HOST',
  'Content-Length',
  'content-length',
  'Transfer-Encoding',
  'Connection',
  'connection',
  'Keep-Alive',
  'Upgrade',
  'Expect',
  'Trailer',
  'TE',
  'Cookie',
  'X-Forwarded-For',
  'X-A',
  'x-b',
  'Bad Name',
  'na\u00efve',
  '',
  'constructor',
  '__proto__',
);
const values = fc.constantFrom(
  'x',
  '5',
  '0',
  '+4',
  '4, 4',
  '1234567890123456',
  'chunked',
  'gzip, chunked',
  'chunked, gzip',
  'close',
  'keep-alive',
  'Keep-Alive, X-A',
  'x-b, close',
  'upgrade',
  ' , ,',
  '100-continue',
  'caf\u00e9',
  'a\u0001b',
  'a\u007fb',
  '\tpadded\t',
  '  ',
  '',
);
const headerLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.tuple(names, fc.constantFrom(':', ': ', ':\t', ' :'), values).map((p) => p.join('')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' folded', '\tfolded', 'no colon', ':x', 'X-A: a\rb', 'X-A: a\nb'),
  },
);
const requestLine = fc.constantFrom(
  'GET / HTTP/1.1',
  'POST /a?b=1 HTTP/1.1',
  'GET http://x/a HTTP/1.1',
  'GET / HTTP/1.0',
  'GET /a b HTTP/1.1',
  'GET  HTTP/1.1',
  'GET / http/1.1',
  'G(T / HTTP/1.1',
  'GET /\u0001 HTTP/1.1',
  'GET',
  ' GET / HTTP/1.1',
  'GET / HTTP/1.1 ',
  'PRI * HTTP/2.0',
);
const statusLine = fc.constantFrom(
  'HTTP/1.1 200 OK',
  'HTTP/1.1 200',
  'HTTP/1.1 200 ',
  'HTTP/1.0 200 OK',
  'HTTP/1.1 204 No Content',
  'HTTP/1.1 304 Not Modified',
  'HTTP/1.1 103 Early Hints',
  'HTTP/1.1 101 Switching',
  'HTTP/1.1 2000 OK',
  'HTTP/1.1 20 OK',
  'HTTP/1.2 200 OK',
  'HTTP/2 200 OK',
  'HTTP/1.1 200 O\u0001K',
  'HTTP/1.1 500 caf\u00e9',
  'http/1.1 200 OK',
  '',
);
/** Mostly valid-looking lines; a request gets one good Host line in most runs, as the subset needs exactly one. */
const headOf = (first: fc.Arbitrary<string>, host: boolean) =>
  fc
    .tuple(
      first,
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: headerLine },
          fc.constantFrom('X-Ok: fine', 'Transfer-Encoding: chunked', 'Connection: X-A', 'Trailer: X-B'),
        ),
        { maxLength: 7 },
      ),
      fc.nat(7),
      fc.integer({ min: 0, max: 9 }),
    )
    .map(([l, hs, at, roll]) => {
      // A copy: fast-check reuses generated values while it shrinks.
      const lines = [l, ...hs];
      if (host && roll < 8) lines.splice(1 + (at % (hs.length + 1)), 0, 'Host: example');
      return lines.join('\r\n');
    });

/** A plain, comparable form (Sets as sorted arrays), so a failure prints one short line per side. */
const plain = (x: unknown) =>
  JSON.stringify(x, (_k, v) => (v instanceof Set ? [...v].sort() : v === undefined ? null : v));

describe('the fast parsers agree with the reference versions', () => {
  it('parseRequestHead, on random request heads', () => {
    fc.assert(
      fc.property(headOf(requestLine, true), fc.constantFrom(0, 4, 1024), (text, maxBody) => {
        expect(plain(parseRequestHead(text, maxBody))).toBe(plain(refRequest(text, maxBody)));
      }),
      { numRuns: 3000 },
    );
  });

  it('parseResponseHead, on random response heads', () => {
    fc.assert(
      fc.property(headOf(statusLine, false), fc.boolean(), fc.boolean(), (text, noBody, close) => {
        expect(plain(parseResponseHead(text, noBody, close))).toBe(plain(refResponse(text, noBody, close)));
      }),
      { numRuns: 3000 },
    );
  });

  it('the generators reach both verdicts and the rare rebuild paths (so the comparison means something)', () => {
    const sample = (a: fc.Arbitrary<string>) => fc.sample(a, { numRuns: 3000, seed: 7 });
    const requests = sample(headOf(requestLine, true)).map((t) => parseRequestHead(t, 1024));
    expect(requests.filter((r) => r.ok).length).toBeGreaterThan(30);
    expect(new Set(requests.map((r) => (r.ok ? 'ok' : r.handoff))).size).toBeGreaterThan(8);
    const responses = sample(headOf(statusLine, false)).map((t) => parseResponseHead(t, false, false));
    const oks = responses.flatMap((r) => (r.ok ? [r.head] : []));
    expect(oks.length).toBeGreaterThan(100);
    expect(oks.some((h) => h.framing.kind === 'chunked' && /transfer-encoding/i.test(h.clientHead))).toBe(
      true,
    );
    expect(new Set(oks.map((h) => h.framing.kind)).size).toBe(4);
  });
});
