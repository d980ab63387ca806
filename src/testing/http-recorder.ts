import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { LogFields, Logger } from '../gates/http.js';

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names, as Node gives them. */
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Epoch ms when the request was complete. */
  at: number;
}

/** The body parsed as JSON (throws when it is not). */
export const json = <T = Record<string, unknown>>(r: RecordedRequest): T => JSON.parse(r.body) as T;

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** A string as is; anything else as JSON (with Content-Type application/json). */
  body?: unknown;
  /** Answer after this many ms. */
  delayMs?: number;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Close the connection without an answer. */
  drop?: boolean;
}

/** The reply for the n-th request (0-based) this server got. */
export type Handler = (req: RecordedRequest, n: number) => Reply | Promise<Reply>;

export interface Recorder {
  /** `http://127.0.0.1:PORT` (or https), no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Replace how the server answers. */
  answer(h: Handler | Reply | Reply[]): void;
  /** Resolves once `n` requests were recorded (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** A fixed reply, a sequence (the last one repeats) or a function. */
function toHandler(h: Handler | Reply | Reply[]): Handler {
  if (typeof h === 'function') return h;
  if (Array.isArray(h)) return (_r, n) => h[Math.min(n, h.length - 1)] ?? {};
  return () => h;
}

export async function startRecorder(
  answer: Handler | Reply | Reply[] = {},
  opts: { tls?: { key: string; cert: string } } = {},
): Promise<Recorder> {
  let handler = toHandler(answer);
  const requests: RecordedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const n = requests.length;
      requests.push(rec);
      for (const w of waiters.filter((x) => requests.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      let reply: Reply;
      try {
        reply = await handler(rec, n);
      } catch (e) {
        reply = { status: 599, body: `test handler threw: ${(e as Error).message}` };
      }
      if (reply.hang) return;
      if (reply.drop) {
        req.socket.destroy();
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        const isText = typeof reply.body === 'string' || reply.body === undefined;
        const body = isText ? ((reply.body as string | undefined) ?? '') : JSON.stringify(reply.body);
        const headers: Record<string, string> = {
          ...(isText ? {} : { 'content-type': 'application/json' }),
          ...reply.headers,
        };
        res.writeHead(reply.status ?? 200, headers);
        res.end(body);
      };
      if (reply.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, reply.delayMs);
        timers.add(t);
      } else send();
    });
  };

  const server = opts.tls ? https.createServer(opts.tls, onRequest) : http.createServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    url,
    port,
    requests,
    answer(h) {
      handler = toHandler(h);
    },
    waitFor(n, timeoutMs = 5000) {
      if (requests.length >= n) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`got ${requests.length} request(s), waited for ${n}`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(t);
            resolve(requests.slice());
          },
        });
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { closedPort, selfSignedCert } from './net.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/** A logger that keeps every line; `text()` is all of them, fields included, for secret checks. */
export function captureLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: LogFields, message: string): void => {
      lines.push({ level, message, fields });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join('\n'),
  };
}

/**
 * `startRecorder` for a test file: every recorder it starts is closed after each test (registers a
 * vitest afterEach hook, so call it at module level).
 */
export function recordersClosedAfterEach(): typeof startRecorder {
  const started: Recorder[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  return async (...args) => {
    const r = await startRecorder(...args);
    started.push(r);
    return r;
  };
}
