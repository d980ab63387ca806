/**
 * The demo service, in the spirit of argoproj/rollouts-demo: one program that behaves per version. The
 * local runtime starts it as a replica process with `PORT` and `IMAGE`; its colour is the image's tag
 * (`vireo-demo:blue` -> `blue`). Its error rate and latency come from `ERROR_RATE` / `LATENCY_MS` and can
 * be changed while it runs with `POST /config`, so a release can be shown going bad. As in rollouts-demo, a
 * tag starting with `bad-` (`vireo-demo:bad-yellow`) is that colour answering half of its requests with
 * HTTP 500 unless `ERROR_RATE` says otherwise.
 *
 *   GET  /         a tiny HTML page in the version's colour (errors and latency apply)
 *   GET  /color    {"color":"blue","version":"vireo-demo:blue"} (errors and latency apply)
 *   GET  /healthz  200 "ok" (never slowed down nor failed: it is the readiness/liveness probe)
 *   GET  /requests {"served": n}: requests to / and /color this replica received
 *   GET  /config   the current {"errorRate","latencyMs"}
 *   POST /config   {"errorRate"?: 0..1, "latencyMs"?: 0..600000}; 400 naming the field when invalid
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface DemoBehaviour {
  /** Share of `/` and `/color` requests answered with HTTP 500, 0..1. */
  errorRate: number;
  /** Mean added latency in milliseconds; each request waits uniformly between 0.5x and 1.5x of it. */
  latencyMs: number;
}

export interface DemoOptions extends Partial<DemoBehaviour> {
  /** 0 picks a free port. */
  port: number;
  /** Defaults to 127.0.0.1 (the local runtime proxies to loopback). */
  host?: string;
  /** The image string, e.g. `vireo-demo:blue`; its tag is the colour. */
  image: string;
  /** Uniform random numbers in [0, 1); tests inject a seeded one. */
  random?: () => number;
}

export interface DemoServer {
  url: string;
  /** The behaviour in force now (changed by `POST /config`). */
  behaviour(): DemoBehaviour;
  /**
   * Stops listening. By default ends open connections at once, including requests still waiting out their
   * latency; with `drain` it lets requests in flight finish first (what SIGTERM does).
   */
  close(options?: { drain?: boolean }): Promise<void>;
}

export const MAX_LATENCY_MS = 600_000;
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_COLOR = 'blue';

/** The colour of an image: its tag (`repo/vireo-demo:green@sha256:...` -> `green`), `blue` without one. */
export function colorOf(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSegment = withoutDigest.slice(withoutDigest.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : '';
  const color = tag.startsWith('bad-') ? tag.slice(4) : tag;
  return color === '' || color === 'latest' ? DEFAULT_COLOR : color;
}

/** A `bad-` tag: the version fails half of its requests by default. */
export function isBadImage(image: string): boolean {
  const tag = (image.split('@')[0] ?? '').split('/').pop()?.split(':')[1] ?? '';
  return tag.startsWith('bad-');
}

/** A problem with a behaviour value: names the field, what it got and what is allowed. */
function checkBehaviourField(field: 'errorRate' | 'latencyMs', value: unknown): string | undefined {
  const allowed =
    field === 'errorRate'
      ? 'a number from 0 to 1 (share of requests answered with HTTP 500)'
      : `a number of milliseconds from 0 to ${MAX_LATENCY_MS}`;
  const max = field === 'errorRate' ? 1 : MAX_LATENCY_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    return `${field}: got ${JSON.stringify(value) ?? String(value)}, allowed is ${allowed}`;
  }
  return undefined;
}

/** Validates a `POST /config` body: the changes to apply, or the problems (one line each). */
export function parseConfigUpdate(
  body: unknown,
): { ok: true; update: Partial<DemoBehaviour> } | { ok: false; errors: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      errors: ['body: expected a JSON object like {"errorRate": 0.5, "latencyMs": 100}'],
    };
  }
  const errors: string[] = [];
  const update: Partial<DemoBehaviour> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'errorRate' && key !== 'latencyMs') {
      errors.push(`${key}: unknown field, allowed fields are errorRate and latencyMs`);
      continue;
    }
    const problem = checkBehaviourField(key, value);
    if (problem) errors.push(problem);
    else update[key] = value as number;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, update };
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(color: string, version: string): string {
  const c = escapeHtml(color);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>vireo demo: ${c}</title></head>
<body style="margin:0;font-family:sans-serif">
<div style="background:${/^[a-z]+$/i.test(color) ? color : 'gray'};color:white;padding:3em;font-size:2em;text-shadow:0 0 4px black">${c}</div>
<p style="padding:0 3em">version ${escapeHtml(version)} &middot; <a href="/color">/color</a></p>
</body></html>
`;
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? `${JSON.stringify(body)}\n` : String(body);
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startDemo(options: DemoOptions): Promise<DemoServer> {
  const behaviour: DemoBehaviour = { errorRate: options.errorRate ?? 0, latencyMs: options.latencyMs ?? 0 };
  for (const field of ['errorRate', 'latencyMs'] as const) {
    const problem = checkBehaviourField(field, behaviour[field]);
    if (problem) throw new Error(`demo: ${problem}`);
  }
  const random = options.random ?? Math.random;
  const color = colorOf(options.image);
  const version = options.image;
  const waiting = new Set<NodeJS.Timeout>();

  const delay = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const t = setTimeout(() => {
            waiting.delete(t);
            resolve();
          }, ms);
          waiting.add(t);
        });

  /** The version's behaviour on a served request: wait, then fail or not. */
  const misbehave = async (res: ServerResponse): Promise<boolean> => {
    const { errorRate, latencyMs } = behaviour;
    await delay(latencyMs > 0 ? latencyMs * (0.5 + random()) : 0);
    if (random() < errorRate) {
      send(res, 500, { error: 'injected error', color, version });
      return true;
    }
    return false;
  };

  /** Requests to / and /color received (answered or failed), so tests see what a version got. */
  let served = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (path === '/healthz') return send(res, 200, 'ok\n', 'text/plain');
    if (path === '/requests' && method === 'GET') return send(res, 200, { served });
    if (path === '/config') {
      if (method === 'GET') return send(res, 200, behaviour);
      if (method !== 'POST') return send(res, 405, { error: `${method} /config: allowed are GET and POST` });
      const text = await readBody(req);
      if (text === undefined) return send(res, 413, { error: `body: larger than ${MAX_BODY_BYTES} bytes` });
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        return send(res, 400, { error: `body: not valid JSON (${(e as Error).message})` });
      }
      const parsed = parseConfigUpdate(body);
      if (!parsed.ok) return send(res, 400, { error: parsed.errors.join('; '), errors: parsed.errors });
      Object.assign(behaviour, parsed.update);
      return send(res, 200, behaviour);
    }
    if ((path === '/' || path === '/color') && (method === 'GET' || method === 'HEAD')) {
      served++;
      if (await misbehave(res)) return;
      if (path === '/color') return send(res, 200, { color, version });
      return send(res, 200, page(color, version), 'text/html');
    }
    return send(res, 404, {
      error: `${method} ${path}: not found (try GET /, /color, /healthz, /requests, /config)`,
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `demo: ${(e as Error).message}` });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    behaviour: () => ({ ...behaviour }),
    close: (closeOptions) =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (closeOptions?.drain) {
          server.closeIdleConnections();
          return;
        }
        for (const t of waiting) clearTimeout(t);
        waiting.clear();
        server.closeAllConnections();
      }),
  };
}

/** Reads a number from the environment; throws naming the variable when it is not one. */
function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name}: got ${JSON.stringify(raw)}, expected a number`);
  return n;
}

/** `node dist/demo/server.js`: serves until SIGINT/SIGTERM, then drains in-flight requests and exits. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let demo: DemoServer;
  try {
    const port = envNumber(env, 'PORT', 8080);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new Error(`PORT: got ${JSON.stringify(env.PORT)}, expected a port number from 0 to 65535`);
    }
    demo = await startDemo({
      port,
      host: env.HOST || '127.0.0.1',
      image: env.IMAGE || `vireo-demo:${DEFAULT_COLOR}`,
      errorRate: envNumber(env, 'ERROR_RATE', isBadImage(env.IMAGE || '') ? 0.5 : 0),
      latencyMs: envNumber(env, 'LATENCY_MS', 0),
    });
  } catch (e) {
    process.stderr.write(`vireo demo: ${(e as Error).message.replace(/^demo: /, '')}\n`);
    process.exitCode = 2;
    return;
  }
  const b = demo.behaviour();
  process.stdout.write(
    `vireo demo ${colorOf(env.IMAGE || '')} listening on ${demo.url} (errorRate ${b.errorRate}, latencyMs ${b.latencyMs})\n`,
  );
  const stop = (): void => {
    // Let requests in flight finish (the proxy drains too), but never hang on a stuck client.
    setTimeout(() => process.exit(0), 10_000).unref();
    void demo.close({ drain: true }).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
