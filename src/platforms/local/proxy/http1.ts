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

/*
 * The parsers below run twice per proxied request, so they scan by char code and cut strings only
 * where a value is kept (no split, no regex, no per-line closure); http1.test.ts checks them against
 * plain reference versions on random heads.
 */

/** Token characters (RFC 9110 5.6.2) by char code. */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TOKEN_CHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN_CHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN_CHAR[c] = 1;

function isToken(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

/** Field values and reason phrases: HTAB, SP, visible ASCII and obs-text; other controls (NUL, CR, LF...) are out. */
function hasControl(text: string, from = 0, to = text.length): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

/** A request target: visible ASCII only. */
function isTarget(text: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** 1 to 15 decimal digits (a Content-Length as the fast path accepts it). */
function isLength(value: string): boolean {
  if (value.length === 0 || value.length > 15) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

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

/** Why a line is not a field line: empty or a continuation (obs-fold), or malformed. */
type NotALine = 'empty line or obs-fold' | 'header line';

/** The line from `from` to `to` of a head, split into name (lower-cased) and value (OWS trimmed). */
function fieldLine(text: string, from: number, to: number): HeaderLine | NotALine {
  const line = text.slice(from, to);
  const c0 = line.charCodeAt(0);
  if (line === '' || c0 === 0x20 || c0 === 0x09) return 'empty line or obs-fold';
  return splitLine(line) ?? 'header line';
}

function splitLine(line: string): HeaderLine | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0 || !isToken(line, 0, colon)) return undefined;
  let from = colon + 1;
  let to = line.length;
  while (from < to && (line.charCodeAt(from) === 0x20 || line.charCodeAt(from) === 0x09)) from++;
  while (to > from && (line.charCodeAt(to - 1) === 0x20 || line.charCodeAt(to - 1) === 0x09)) to--;
  if (hasControl(line, from, to)) return undefined;
  return { name: line.slice(0, colon).toLowerCase(), value: line.slice(from, to), raw: line };
}

function withToken(set: Set<string> | undefined, token: string): Set<string> {
  const out = set ?? new Set<string>();
  out.add(token);
  return out;
}

/** Comma-separated list tokens, lower-cased (the one-token case without building lists). */
const listTokens = (value: string): string[] => {
  if (!value.includes(',')) {
    const t = value.trim().toLowerCase();
    return t === '' ? [] : [t];
  }
  return value
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
};

const requestHandoff = (handoff: string): RequestParse => ({ ok: false, handoff });

/** `text`: the head without its final CRLFCRLF. `maxBody`: larger Content-Lengths are handed off. */
export function parseRequestHead(text: string, maxBody: number): RequestParse {
  let eol = text.indexOf('\r\n');
  const firstEnd = eol < 0 ? text.length : eol;
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 >= firstEnd) return requestHandoff('request line');
  if (firstEnd - sp2 !== 9 || !text.startsWith('HTTP/1.1', sp2 + 1)) return requestHandoff('not HTTP/1.1');
  if (!isToken(text, 0, sp1) || !isTarget(text, sp1 + 1, sp2)) return requestHandoff('request line');
  const lines: HeaderLine[] = [];
  const headers: Record<string, string> = Object.create(null);
  let contentLength = -1;
  let hosts = 0;
  let close = false;
  let listed: Set<string> | undefined;
  while (eol >= 0) {
    const from = eol + 2;
    eol = text.indexOf('\r\n', from);
    const line = fieldLine(text, from, eol < 0 ? text.length : eol);
    if (typeof line === 'string') return requestHandoff(line);
    const { name, value } = line;
    switch (name) {
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return requestHandoff(name);
      case 'host':
        hosts++;
        break;
      case 'content-length':
        if (contentLength >= 0 || !isLength(value)) return requestHandoff('content-length');
        contentLength = Number(value);
        if (contentLength > maxBody) return requestHandoff('large body');
        break;
      case 'connection':
        for (const token of listTokens(value)) {
          if (token === 'close') close = true;
          else if (token === 'upgrade') return requestHandoff('connection: upgrade');
          else if (!HOP_BY_HOP.has(token)) listed = withToken(listed, token);
        }
        break;
    }
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
    lines.push(line);
  }
  if (hosts !== 1) return requestHandoff('host');
  return {
    ok: true,
    head: {
      method: text.slice(0, sp1),
      target: text.slice(sp1 + 1, sp2),
      lines,
      headers,
      contentLength: Math.max(0, contentLength),
      close,
      listed,
    },
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

const badResponse = (error: string): ResponseParse => ({ ok: false, error });
const NO_BODY: Framing = { kind: 'none' };
const CHUNKED: Framing = { kind: 'chunked' };
const UNTIL_CLOSE: Framing = { kind: 'close' };

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * `text`: the response head without its final CRLFCRLF. `noBody`: the request was HEAD. `close`: ask the
 * client to close after this answer (the proxy drains, or the client asked). `keepAlive`: a header line
 * (with its CRLF) added when the connection stays open, e.g. `keep-alive: timeout=5\r\n`.
 */
export function parseResponseHead(
  text: string,
  noBody: boolean,
  close: boolean,
  keepAlive = '',
): ResponseParse {
  let eol = text.indexOf('\r\n');
  const firstEnd = eol < 0 ? text.length : eol;
  // HTTP/1.x SP 3DIGIT [SP reason]
  const minor = text.charCodeAt(7);
  if (
    firstEnd < 12 ||
    !text.startsWith('HTTP/1.', 0) ||
    (minor !== 0x30 && minor !== 0x31) ||
    text.charCodeAt(8) !== 0x20 ||
    !isDigit(text.charCodeAt(9)) ||
    !isDigit(text.charCodeAt(10)) ||
    !isDigit(text.charCodeAt(11)) ||
    (firstEnd > 12 && text.charCodeAt(12) !== 0x20) ||
    hasControl(text, 13, firstEnd)
  )
    return badResponse('status line');
  const http10 = minor === 0x30;
  const status = Number(text.slice(9, 12));
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let upstreamClose = http10;
  let listed: Set<string> | undefined;
  // The head for the client, built as the lines go by; Transfer-Encoding and Trailer wait in `framingLines`
  // until the framing is known (they stay only with chunked framing, which is relayed as is).
  let head = `HTTP/1.1 ${text.slice(9, firstEnd)}\r\n`;
  let framingLines = false;
  while (eol >= 0) {
    const from = eol + 2;
    eol = text.indexOf('\r\n', from);
    const line = fieldLine(text, from, eol < 0 ? text.length : eol);
    if (typeof line === 'string') return badResponse(line === 'header line' ? line : 'obs-fold');
    const { name, raw, value } = line;
    if (name === 'content-length') {
      if (!isLength(value)) return badResponse('content-length');
      const n = Number(value);
      if (contentLength >= 0 && contentLength !== n) return badResponse('two content-lengths');
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
    if (name === 'transfer-encoding' || name === 'trailer') framingLines = true;
    else if (!HOP_BY_HOP.has(name)) head += `${raw}\r\n`;
  }
  if (transferEncoding && contentLength >= 0) return badResponse('content-length with transfer-encoding');
  let framing: Framing;
  if (noBody || status === 204 || status === 304 || (status >= 100 && status < 200)) framing = NO_BODY;
  else if (chunked) framing = CHUNKED;
  else if (!transferEncoding && contentLength >= 0) framing = { kind: 'length', length: contentLength };
  else framing = UNTIL_CLOSE;
  // Connection may list names of lines before it, and chunked framing keeps its lines: rare, so the
  // head is built again from the (now known valid) lines.
  if (listed || (framingLines && framing === CHUNKED))
    head = rebuildClientHead(text, firstEnd, framing, listed);
  if (close || framing === UNTIL_CLOSE) head += 'connection: close\r\n';
  else head += keepAlive;
  return {
    ok: true,
    head: {
      status,
      framing,
      clientHead: `${head}\r\n`,
      reusable: !upstreamClose && framing !== UNTIL_CLOSE,
    },
  };
}

/** The client's head from a valid response head, dropping hop-by-hop and `listed` lines (chunked framing keeps its own). */
function rebuildClientHead(
  text: string,
  firstEnd: number,
  framing: Framing,
  listed: Set<string> | undefined,
): string {
  let head = `HTTP/1.1 ${text.slice(9, firstEnd)}\r\n`;
  let eol = firstEnd < text.length ? firstEnd : -1;
  while (eol >= 0) {
    const from = eol + 2;
    eol = text.indexOf('\r\n', from);
    const raw = text.slice(from, eol < 0 ? text.length : eol);
    const name = raw.slice(0, raw.indexOf(':')).toLowerCase();
    const framingHeader = framing === CHUNKED && (name === 'transfer-encoding' || name === 'trailer');
    if (!framingHeader && (HOP_BY_HOP.has(name) || listed?.has(name))) continue;
    head += `${raw}\r\n`;
  }
  return head;
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

/** A complete small plain-text answer the proxy gives itself (`keepAlive` as for parseResponseHead). */
export function selfAnswer(code: number, text: string, close: boolean, keepAlive = ''): string {
  const reason = Object.hasOwn(REASONS, code) ? REASONS[code] : 'Error';
  return `HTTP/1.1 ${code} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n${close ? 'connection: close\r\n' : keepAlive}\r\n${text}`;
}
