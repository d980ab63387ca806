import { describe, expect, it } from 'vitest';
import {
  ChunkedScanner,
  parseRequestHead,
  parseResponseHead,
  selfAnswer,
  upstreamRequestHead,
} from './http1.js';

const head = (...lines: string[]) => lines.join('\r\n');
const MAX = 1024;

describe('parseRequestHead: the strict subset, everything else handed off', () => {
  it.each([
    [
      'plain GET',
      head('GET /a?b=1 HTTP/1.1', 'Host: x'),
      { method: 'GET', target: '/a?b=1', contentLength: 0 },
    ],
    ['POST with a small body', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 5'), { contentLength: 5 }],
    ['OWS around values is trimmed', head('GET / HTTP/1.1', 'Host:   x  ', 'X-A:\tb\t'), {}],
    ['an absolute-form target', head('GET http://x/a HTTP/1.1', 'Host: x'), { target: 'http://x/a' }],
    ['obs-text in a value', head('GET / HTTP/1.1', 'Host: x', 'X-Name: caf\u00e9'), {}],
    ['Connection: close', head('GET / HTTP/1.1', 'Host: x', 'Connection: close'), { close: true }],
  ])('%s is handled', (_name, text, want) => {
    const r = parseRequestHead(text, MAX);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.head).toMatchObject(want);
  });

  it.each([
    ['HTTP/1.0', head('GET / HTTP/1.0', 'Host: x'), 'not HTTP/1.1'],
    ['HTTP/2 preface-like line', head('PRI * HTTP/2.0'), 'not HTTP/1.1'],
    ['a space in the target', head('GET /a b HTTP/1.1', 'Host: x'), 'not HTTP/1.1'],
    ['a lower-case version', head('GET / http/1.1', 'Host: x'), 'not HTTP/1.1'],
    ['a control character in the target', head('GET /\u0001 HTTP/1.1', 'Host: x'), 'request line'],
    ['no Host', head('GET / HTTP/1.1'), 'host'],
    ['two Hosts', head('GET / HTTP/1.1', 'Host: x', 'Host: y'), 'host'],
    [
      'Transfer-Encoding (chunked bodies)',
      head('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'),
      'transfer-encoding',
    ],
    [
      'Content-Length with Transfer-Encoding (smuggling)',
      head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 4', 'Transfer-Encoding: chunked'),
      'transfer-encoding',
    ],
    [
      'two Content-Lengths',
      head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 4', 'Content-Length: 4'),
      'content-length',
    ],
    ['a signed Content-Length', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: +4'), 'content-length'],
    ['a list Content-Length', head('POST / HTTP/1.1', 'Host: x', 'Content-Length: 4, 4'), 'content-length'],
    [
      'a body above the buffer limit',
      head('POST / HTTP/1.1', 'Host: x', `Content-Length: ${MAX + 1}`),
      'large body',
    ],
    ['Upgrade', head('GET / HTTP/1.1', 'Host: x', 'Upgrade: websocket', 'Connection: Upgrade'), 'upgrade'],
    [
      'Connection: upgrade alone',
      head('GET / HTTP/1.1', 'Host: x', 'Connection: upgrade'),
      'connection: upgrade',
    ],
    ['Expect', head('POST / HTTP/1.1', 'Host: x', 'Expect: 100-continue', 'Content-Length: 1'), 'expect'],
    ['obs-fold', head('GET / HTTP/1.1', 'Host: x', 'X-A: 1', ' 2'), 'empty line or obs-fold'],
    ['a space before the colon', head('GET / HTTP/1.1', 'Host : x'), 'header line'],
    ['no colon', head('GET / HTTP/1.1', 'Host x'), 'header line'],
    ['a bare LF inside a value', head('GET / HTTP/1.1', 'Host: x', 'X-A: 1\nX-B: 2'), 'header line'],
    ['a bare CR inside a value', head('GET / HTTP/1.1', 'Host: x', 'X-A: 1\rX-B: 2'), 'header line'],
    ['NUL in a value', head('GET / HTTP/1.1', 'Host: x', 'X-A: a\u0000b'), 'header line'],
  ])('%s is handed off', (_name, text, why) => {
    expect(parseRequestHead(text, MAX)).toEqual({ ok: false, handoff: why });
  });

  it('joins repeated headers as node does (cookies with "; ")', () => {
    const r = parseRequestHead(
      head('GET / HTTP/1.1', 'Host: x', 'Cookie: a=1', 'X-A: 1', 'cookie: b=2', 'x-a: 2'),
      MAX,
    );
    expect(r.ok && r.head.headers).toMatchObject({ cookie: 'a=1; b=2', 'x-a': '1, 2', host: 'x' });
  });

  it('header names that are Object.prototype members are plain data', () => {
    const r = parseRequestHead(head('GET / HTTP/1.1', 'Host: x', '__proto__: 1', 'constructor: 2'), MAX);
    expect(r.ok && Object.getOwnPropertyDescriptor(r.head.headers, '__proto__')?.value).toBe('1');
    expect(r.ok && r.head.headers.constructor).toBe('2');
  });
});

describe('upstreamRequestHead', () => {
  it('drops hop-by-hop and Connection-listed headers, keeps the rest as received, appends X-Forwarded-For', () => {
    const r = parseRequestHead(
      head(
        'GET /p HTTP/1.1',
        'Host: x',
        'Connection: keep-alive, X-Secret',
        'Keep-Alive: timeout=5',
        'X-Secret: s',
        'TE: trailers',
        'Proxy-Authorization: Basic Zm9v',
        'X-Forwarded-For: 10.0.0.1',
        'X-Keep: Yes',
      ),
      MAX,
    );
    if (!r.ok) throw new Error(r.handoff);
    expect(upstreamRequestHead(r.head, '127.0.0.1')).toBe(
      head('GET /p HTTP/1.1', 'Host: x', 'X-Keep: Yes', 'x-forwarded-for: 10.0.0.1, 127.0.0.1', '', ''),
    );
  });
});

describe('parseResponseHead: framing and the head the client gets', () => {
  const res = (...lines: string[]) => head('HTTP/1.1 200 OK', ...lines);
  it.each([
    ['Content-Length', res('Content-Length: 12'), false, { kind: 'length', length: 12 }, true],
    ['chunked', res('Transfer-Encoding: chunked'), false, { kind: 'chunked' }, true],
    ['gzip then chunked', res('Transfer-Encoding: gzip, chunked'), false, { kind: 'chunked' }, true],
    [
      'Transfer-Encoding without chunked last: until close',
      res('Transfer-Encoding: gzip'),
      false,
      { kind: 'close' },
      false,
    ],
    ['no length: until close', res(), false, { kind: 'close' }, false],
    ['HEAD: no body whatever the length says', res('Content-Length: 12'), true, { kind: 'none' }, true],
    ['204', head('HTTP/1.1 204 No Content', 'Content-Length: 0'), false, { kind: 'none' }, true],
    ['304', head('HTTP/1.1 304 Not Modified', 'ETag: "x"'), false, { kind: 'none' }, true],
    ['100 Continue', head('HTTP/1.1 100 Continue'), false, { kind: 'none' }, true],
    [
      'Connection: close from the upstream',
      res('Content-Length: 1', 'Connection: close'),
      false,
      { kind: 'length', length: 1 },
      false,
    ],
    [
      'HTTP/1.0 closes by default',
      head('HTTP/1.0 200 OK', 'Content-Length: 1'),
      false,
      { kind: 'length', length: 1 },
      false,
    ],
    [
      'HTTP/1.0 with keep-alive',
      head('HTTP/1.0 200 OK', 'Content-Length: 1', 'Connection: keep-alive'),
      false,
      { kind: 'length', length: 1 },
      true,
    ],
    [
      'equal repeated Content-Lengths',
      res('Content-Length: 3', 'Content-Length: 3'),
      false,
      { kind: 'length', length: 3 },
      true,
    ],
    ['a status line without a reason', head('HTTP/1.1 200'), true, { kind: 'none' }, true],
  ])('%s', (_name, text, isHead, framing, reusable) => {
    const r = parseResponseHead(text, isHead, false);
    if (!r.ok) throw new Error(r.error);
    expect(r.head.framing).toEqual(framing);
    expect(r.head.reusable).toBe(reusable);
  });

  it.each([
    ['differing Content-Lengths', res('Content-Length: 3', 'Content-Length: 4')],
    ['Content-Length with Transfer-Encoding', res('Content-Length: 3', 'Transfer-Encoding: chunked')],
    ['a bad status line', head('HTTP/1.1 20 OK')],
    ['HTTP/2', head('HTTP/2 200')],
    ['a control character in the reason', head('HTTP/1.1 200 O\u0000K')],
    ['obs-fold', res('X-A: 1', '\t2')],
    ['a negative length', res('Content-Length: -1')],
  ])('%s is a bad answer (502)', (_name, text) => {
    expect(parseResponseHead(text, false, false).ok).toBe(false);
  });

  it('drops hop-by-hop headers but keeps chunked framing, which is relayed as is', () => {
    const r = parseResponseHead(
      res(
        'Transfer-Encoding: chunked',
        'Trailer: X-Sum',
        'Connection: keep-alive, X-Hop',
        'Keep-Alive: timeout=5',
        'X-Hop: 1',
        'X-App: 2',
      ),
      false,
      false,
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.head.clientHead).toBe(
      head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Trailer: X-Sum', 'X-App: 2', '', ''),
    );
  });

  it('an answer read until close, or the proxy draining, tells the client to close', () => {
    const untilClose = parseResponseHead(res('X-A: 1'), false, false);
    expect(untilClose.ok && untilClose.head.clientHead).toBe(
      head('HTTP/1.1 200 OK', 'X-A: 1', 'connection: close', '', ''),
    );
    const draining = parseResponseHead(res('Content-Length: 0'), false, true);
    expect(draining.ok && draining.head.clientHead).toBe(
      head('HTTP/1.1 200 OK', 'Content-Length: 0', 'connection: close', '', ''),
    );
  });

  it('HTTP/1.0 answers reach the client as HTTP/1.1 with their status and reason', () => {
    const r = parseResponseHead(head('HTTP/1.0 404 Not Found', 'Content-Length: 0'), false, false);
    expect(r.ok && r.head.clientHead.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
  });
});

describe('ChunkedScanner', () => {
  const body = '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n';

  it('finds the end whole, byte by byte, and with bytes after it', () => {
    expect(new ChunkedScanner().feed(Buffer.from(body))).toBe(body.length);
    const s = new ChunkedScanner();
    const bytes = Buffer.from(body);
    let end = -1;
    for (let i = 0; i < bytes.length && end < 0; i++) {
      const r = s.feed(bytes.subarray(i, i + 1));
      if (r >= 0) end = i + r;
    }
    expect(end).toBe(body.length);
    expect(new ChunkedScanner().feed(Buffer.from(`${body}GET / HTTP/1.1`))).toBe(body.length);
  });

  it('upper- and lower-case hex sizes', () => {
    const big = 'a'.repeat(0x1a);
    expect(
      new ChunkedScanner().feed(Buffer.from(`1A\r\n${big}\r\n1a\r\n${big}\r\n0\r\n\r\n`)),
    ).toBeGreaterThan(0);
  });

  it('not finished: -1', () => {
    expect(new ChunkedScanner().feed(Buffer.from('5\r\nhel'))).toBe(-1);
    expect(new ChunkedScanner().feed(Buffer.from('0\r\n'))).toBe(-1);
  });

  it.each([
    ['no size', '\r\n'],
    ['a non-hex size', 'g\r\n'],
    ['a bare LF after the size', '5\nhello\r\n'],
    ['data longer than its size', '2\r\nabc\r\n'],
    ['a size too long', 'fffffffffffff\r\n'],
    ['a bare LF in the trailer', '0\r\nX: 1\n\r\n'],
  ])('%s is an error (-2)', (_name, text) => {
    const s = new ChunkedScanner();
    expect(s.feed(Buffer.from(text))).toBe(-2);
    expect(s.error).toBeDefined();
  });
});

describe('selfAnswer', () => {
  it('is a complete answer with its length, closing when asked', () => {
    expect(selfAnswer(503, 'no backend\n', false)).toBe(
      'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n\r\nno backend\n',
    );
    expect(selfAnswer(502, 'x', true)).toContain('\r\nconnection: close\r\n\r\nx');
  });
});
