/**
 * The strict HTTP/1.1 subset the proxy's fast path handles itself (fast-path.ts). Pure functions over
 * a message head (the bytes before the blank line, read as latin1 so every byte is one char and
 * writes back unchanged).
 *
 * Anything outside the subset is not an error here but a `handoff`: the connection goes to node:http
 * (llhttp), which answers malformed input properly (400, 431, ...) and handles the rare features.
 * The subset is deliberately narrow, so the fast path never disagrees with a later hop about where a
 * message ends (request smuggling): HTTP/1.1 only, CRLF line ends, token header names, no obs-fold,
 * no control characters, exactly one Host, at most one Content-Length (digits), and no
 * Transfer-Encoding, Upgrade or Expect.
 */

/** Hop-by-hop headers (RFC 9110 7.6.1): never forwarded as they are. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values and reason phrases: HTAB, SP, visible ASCII and obs-text; other controls (NUL, CR, LF...) are out. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
const TARGET = /^[\x21-\x7e]+$/;

export interface HeaderLine {
  /** Lower-cased name. */
  name: string;
  value: string;
  /** The line as received, without its CRLF. */
  raw: string;
}

export interface RequestHead {
  method: string;
  target: string;
  lines: HeaderLine[];
  /** Lower-cased names to single values; repeated names joined (`, `, or `; ` for cookie) as node does. */
  headers: Record<string, string>;
  contentLength: number;
  /** The client asked to close after this exchange. */
  close: boolean;
  /** Names a Connection header lists beyond the fixed hop-by-hop set (dropped when forwarding). */
  listed: Set<string> | undefined;
}

export type RequestParse = { ok: true; head: RequestHead } | { ok: false; handoff: string };

function splitLine(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return undefined;
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return undefined;
  let from = colon + 1;
  let to = line.length;
  while (from < to && (line.charCodeAt(from) === 0x20 || line.charCodeAt(from) === 0x09)) from++;
  while (to > from && (line.charCodeAt(to - 1) === 0x20 || line.charCodeAt(to - 1) === 0x09)) to--;
  const value = line.slice(from, to);
  if (hasControl(value)) return undefined;
  return { name: name.toLowerCase(), value };
}

function withToken(set: Set<string> | undefined, token: string): Set<string> {
  const out = set ?? new Set<string>();
  out.add(token);
  return out;
}

/** Comma-separated list tokens, lower-cased. */
const listTokens = (value: string): string[] =>
  value
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');

/** `text`: the head without its final CRLFCRLF. `maxBody`: larger Content-Lengths are handed off. */
export function parseRequestHead(text: string, maxBody: number): RequestParse {
  const no = (handoff: string): RequestParse => ({ ok: false, handoff });
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const sp1 = first.indexOf(' ');
  const sp2 = first.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0) return no('request line');
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2);
  if (first.slice(sp2 + 1) !== 'HTTP/1.1') return no('not HTTP/1.1');
  if (!TOKEN.test(method) || !TARGET.test(target)) return no('request line');
  const out: HeaderLine[] = [];
  const headers: Record<string, string> = Object.create(null);
  let contentLength = -1;
  let hosts = 0;
  let close = false;
  let listed: Set<string> | undefined;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (raw === '' || raw[0] === ' ' || raw[0] === '\t') return no('empty line or obs-fold');
    const split = splitLine(raw);
    if (!split) return no('header line');
    const { name, value } = split;
    switch (name) {
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return no(name);
      case 'host':
        hosts++;
        break;
      case 'content-length':
        if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return no('content-length');
        contentLength = Number(value);
        if (contentLength > maxBody) return no('large body');
        break;
      case 'connection':
        for (const token of listTokens(value)) {
          if (token === 'close') close = true;
          else if (token === 'upgrade') return no('connection: upgrade');
          else if (!HOP_BY_HOP.has(token)) listed = withToken(listed, token);
        }
        break;
    }
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
    out.push({ name, value, raw });
  }
  if (hosts !== 1) return no('host');
  return {
    ok: true,
    head: { method, target, lines: out, headers, contentLength: Math.max(0, contentLength), close, listed },
  };
}

/** The head to send upstream: hop-by-hop (and Connection-listed) headers dropped, X-Forwarded-For appended. */
export function upstreamRequestHead(h: RequestHead, remoteAddress: string | undefined): string {
  let s = `${h.method} ${h.target} HTTP/1.1\r\n`;
  let forwarded: string | undefined;
  for (const line of h.lines) {
    if (HOP_BY_HOP.has(line.name) || h.listed?.has(line.name)) continue;
    if (line.name === 'x-forwarded-for') {
      forwarded = forwarded === undefined ? line.value : `${forwarded}, ${line.value}`;
      continue;
    }
    s += `${line.raw}\r\n`;
  }
  if (remoteAddress) forwarded = forwarded === undefined ? remoteAddress : `${forwarded}, ${remoteAddress}`;
  if (forwarded !== undefined) s += `x-forwarded-for: ${forwarded}\r\n`;
  return `${s}\r\n`;
}

/** How the response body ends. */
export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Until the upstream closes the connection (no length, no chunked). */
  | { kind: 'close' };

export interface ResponseHead {
  status: number;
  framing: Framing;
  /** The head to send the client (hop-by-hop dropped, chunked framing kept since the body is relayed as is). */
  clientHead: string;
  /** The upstream connection can carry another request after this answer. */
  reusable: boolean;
}

export type ResponseParse = { ok: true; head: ResponseHead } | { ok: false; error: string };

/**
 * `text`: the response head without its final CRLFCRLF. `noBody`: the request was HEAD. `close`: ask the
 * client to close after this answer (the proxy drains, or the client asked).
 */
export function parseResponseHead(text: string, noBody: boolean, close: boolean): ResponseParse {
  const bad = (error: string): ResponseParse => ({ ok: false, error });
  const lines = text.split('\r\n');
  const first = lines[0] ?? '';
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(first);
  if (!m || hasControl(m[3] ?? '')) return bad('status line');
  const http10 = m[1] === '0';
  const status = Number(m[2]);
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let upstreamClose = http10;
  let listed: Set<string> | undefined;
  const kept: HeaderLine[] = [];
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (raw === '' || raw[0] === ' ' || raw[0] === '\t') return bad('obs-fold');
    const split = splitLine(raw);
    if (!split) return bad('header line');
    const { name, value } = split;
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) return bad('content-length');
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return bad('two content-lengths');
      contentLength = n;
    } else if (name === 'transfer-encoding') {
      transferEncoding = true;
      chunked = listTokens(value).at(-1) === 'chunked';
    } else if (name === 'connection') {
      for (const token of listTokens(value)) {
        if (token === 'close') upstreamClose = true;
        else if (token === 'keep-alive') {
          if (http10) upstreamClose = false;
        } else if (!HOP_BY_HOP.has(token)) listed = withToken(listed, token);
      }
    }
    kept.push({ name, value, raw });
  }
  if (transferEncoding && contentLength >= 0) return bad('content-length with transfer-encoding');
  let framing: Framing;
  if (noBody || status === 204 || status === 304 || (status >= 100 && status < 200))
    framing = { kind: 'none' };
  else if (chunked) framing = { kind: 'chunked' };
  else if (!transferEncoding && contentLength >= 0) framing = { kind: 'length', length: contentLength };
  else framing = { kind: 'close' };
  const clientClose = close || framing.kind === 'close';
  let head = `HTTP/1.1 ${first.slice(9)}\r\n`;
  for (const line of kept) {
    // Chunked framing passes through byte for byte, so its Transfer-Encoding (and Trailer) stay.
    const framingHeader =
      framing.kind === 'chunked' && (line.name === 'transfer-encoding' || line.name === 'trailer');
    if (!framingHeader && (HOP_BY_HOP.has(line.name) || listed?.has(line.name))) continue;
    head += `${line.raw}\r\n`;
  }
  if (clientClose) head += 'connection: close\r\n';
  return {
    ok: true,
    head: {
      status,
      framing,
      clientHead: `${head}\r\n`,
      reusable: !upstreamClose && framing.kind !== 'close',
    },
  };
}

/**
 * Finds where a chunked body ends, fed the body bytes as they come. `feed` returns how many bytes of
 * the chunk belong to the body: all of it (-1: not finished yet) or the offset just past its end.
 */
export class ChunkedScanner {
  private state:
    | 'size'
    | 'ext'
    | 'size-lf'
    | 'data'
    | 'data-cr'
    | 'data-lf'
    | 'trailer'
    | 'trailer-lf'
    | 'done' = 'size';
  private remaining = 0;
  private digits = 0;
  private lineLength = 0;
  error: string | undefined;

  /** Offset just past the body's end within `chunk`, -1 when the body continues, -2 on a framing error. */
  feed(chunk: Buffer, from = 0): number {
    let i = from;
    const n = chunk.length;
    while (i < n) {
      const c = chunk[i] as number;
      switch (this.state) {
        case 'size': {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 12) return this.fail('chunk size too long');
            this.remaining = this.remaining * 16 + v;
            i++;
          } else if (this.digits === 0) return this.fail('chunk size');
          else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) {
            this.state = 'ext';
            i++;
          } else if (c === 0x0d) {
            this.state = 'size-lf';
            i++;
          } else return this.fail('chunk size');
          break;
        }
        case 'ext':
          if (c === 0x0d) this.state = 'size-lf';
          else if (c === 0x0a || c === 0x00) return this.fail('chunk extension');
          i++;
          break;
        case 'size-lf':
          if (c !== 0x0a) return this.fail('chunk size line');
          i++;
          this.digits = 0;
          if (this.remaining === 0) {
            this.state = 'trailer';
            this.lineLength = 0;
          } else this.state = 'data';
          break;
        case 'data': {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          i += take;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (c !== 0x0d) return this.fail('chunk data end');
          this.state = 'data-lf';
          i++;
          break;
        case 'data-lf':
          if (c !== 0x0a) return this.fail('chunk data end');
          this.state = 'size';
          i++;
          break;
        case 'trailer':
          if (c === 0x0d) this.state = 'trailer-lf';
          else if (c === 0x0a || c === 0x00) return this.fail('trailer');
          else if (++this.lineLength > 16 * 1024) return this.fail('trailer too long');
          i++;
          break;
        case 'trailer-lf':
          if (c !== 0x0a) return this.fail('trailer');
          i++;
          if (this.lineLength === 0) {
            this.state = 'done';
            return i;
          }
          this.lineLength = 0;
          this.state = 'trailer';
          break;
        case 'done':
          return i;
      }
    }
    return -1;
  }

  private fail(error: string): number {
    this.error = error;
    return -2;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const REASONS: Record<number, string> = {
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A complete small plain-text answer the proxy gives itself. */
export function selfAnswer(code: number, text: string, close: boolean): string {
  const reason = Object.hasOwn(REASONS, code) ? REASONS[code] : 'Error';
  return `HTTP/1.1 ${code} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${close ? 'connection: close\r\n' : ''}\r\n${text}`;
}
