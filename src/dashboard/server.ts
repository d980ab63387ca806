/**
 * The dashboard's HTTP server (node:http, no framework): the page and its assets, a JSON API over a
 * `ReleaseSource`, live updates as server-sent events, and the user actions behind the rules of
 * `security.ts`. Everything it serves comes from this package; it never reaches the network except
 * the source and, for the demo's request grid, the demo's Service.
 *
 *   GET  /                                   the page
 *   GET  /assets/app.js, /assets/logic.js    the client (ES modules), /assets/style.css
 *   GET  /healthz                            ok
 *   GET  /api/v1/session                     {csrfToken, tokenRequired, authenticated, readOnly, traffic}
 *                                            (sets the session cookie)
 *   POST /api/v1/login {token}               logs the session in (when a token is in force)
 *   GET  /api/v1/releases[?namespace=&phase=&name=]   ReleaseSummary[]
 *   GET  /api/v1/releases/NS/NAME            ReleaseView
 *   GET  /api/v1/watch                       SSE: snapshot, changed, stale (ReleaseSummary lists)
 *   GET  /api/v1/watch?release=NS/NAME       SSE: release, gone, stale (the ReleaseView)
 *   GET  /api/v1/traffic                     SSE: samples (the demo's request grid), when available
 *   POST /api/v1/releases/NS/NAME/VERB       promote|abort|retry|pause|resume|restart|undo|set-image
 *                                            body {full?, toRevision?, container?, image?} -> {message}
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, readJsonBody } from '../http/json-body.js';
import { describeUserAction } from '../platforms/argo-actions.js';
import { ReleaseHub } from './hub.js';
import { indexHtml, STYLE_CSS } from './page.js';
import {
  bearerOf,
  CSRF_HEADER,
  type Decision,
  decide,
  generateToken,
  isLoopbackAddress,
  parseCookies,
  type RequestKind,
  SESSION_COOKIE,
  type SecurityConfig,
  type Session,
  Sessions,
  sameToken,
  sessionTag,
} from './security.js';
import { type ActionArgs, isActionVerb, type ReleaseSource, summarize } from './source.js';
import { TrafficSampler } from './traffic.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAX_BODY = 64 * 1024;
const HEARTBEAT_MS = 15_000;

export type DashboardLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface DashboardOptions {
  source: ReleaseSource;
  listen: { host: string; port: number };
  /** Required for actions when set; generated when listening beyond loopback without one. */
  token?: string;
  readOnly?: boolean;
  /** The demo's request grid: a URL and the release it shows; false: none; default: ask the source. */
  traffic?: { url: string; release: string } | false;
  /** How often the source is read while someone watches (default 1000 ms). */
  pollMs?: number;
  log?: DashboardLog;
}

export interface Dashboard {
  url: string;
  port: number;
  /** The token in force (given or generated), to print once at start; never logged by the dashboard. */
  token?: string;
  tokenGenerated: boolean;
  readOnly: boolean;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** The client's modules: compiled next to this file after `npm run build`, transpiled from source otherwise. */
const CLIENT_MODULES = new Set(['app', 'logic']);
const clientCache = new Map<string, string>();

async function clientModule(name: string): Promise<string> {
  const cached = clientCache.get(name);
  if (cached !== undefined) return cached;
  const dir = path.join(here, 'client');
  const built = path.join(dir, `${name}.js`);
  let text: string;
  if (existsSync(built)) {
    text = readFileSync(built, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/m, '\n');
  } else {
    // Running from source (tsx, vitest): TypeScript is a devDependency there.
    const ts = (await import('typescript')).default;
    const source = readFileSync(path.join(dir, `${name}.ts`), 'utf8');
    text = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
      fileName: `${name}.ts`,
    }).outputText;
  }
  clientCache.set(name, text);
  return text;
}

const readJson = (req: http.IncomingMessage) => readJsonBody(req, MAX_BODY, true);

/** The action's arguments from a request body, checked. */
export function actionArgs(verb: string, body: Record<string, unknown>): ActionArgs {
  const args: ActionArgs = {};
  if (body.full !== undefined) {
    if (typeof body.full !== 'boolean') throw new HttpError(400, 'full: true or false');
    if (body.full) args.full = true;
  }
  if (body.toRevision !== undefined) {
    if (typeof body.toRevision !== 'number' || !Number.isInteger(body.toRevision) || body.toRevision < 0)
      throw new HttpError(400, 'toRevision: a revision number (0: the previous one)');
    args.toRevision = body.toRevision;
  }
  if (verb === 'set-image') {
    const { container, image } = body;
    if (typeof container !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(container))
      throw new HttpError(400, 'container: the name of a container of the pod template');
    if (typeof image !== 'string' || image.trim() === '' || /\s/.test(image) || image.length > 512)
      throw new HttpError(400, 'image: an image reference without spaces');
    args.container = container;
    args.image = image;
  }
  return args;
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const log: DashboardLog = o.log ?? (() => {});
  const loopback = isLoopbackAddress(o.listen.host);
  const tokenGenerated = !loopback && o.token === undefined;
  const token = o.token ?? (loopback ? undefined : generateToken());
  const cfg: SecurityConfig = { loopback, readOnly: o.readOnly === true, ...(token ? { token } : {}) };
  const sessions = new Sessions();
  const hub = new ReleaseHub(o.source, o.pollMs ?? 1000);
  const streams = new Set<http.ServerResponse>();
  let sampler: TrafficSampler | undefined;
  let port = o.listen.port;
  const cookieName = () => `${SESSION_COOKIE}_${port}`;
  const failedLogins = new Map<string, { count: number; since: number }>();

  const trafficSampler = async (): Promise<TrafficSampler | undefined> => {
    if (sampler || o.traffic === false) return sampler;
    let target = o.traffic;
    if (!target && o.source.trafficTarget) target = await o.source.trafficTarget().catch(() => undefined);
    if (target) sampler = new TrafficSampler(target.url, target.release);
    return sampler;
  };

  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };
  const sendText = (res: http.ServerResponse, type: string, text: string, head: boolean) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': `${type}; charset=utf-8`,
      'cache-control': 'no-cache',
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(head ? undefined : text);
  };

  const sessionOf = (req: http.IncomingMessage): Session | undefined =>
    sessions.get(parseCookies(req.headers.cookie)[cookieName()]);

  const check = (req: http.IncomingMessage, kind: RequestKind): Decision => {
    const h = (n: string) => {
      const v = req.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    const bearer = bearerOf(h('authorization'));
    const session = sessionOf(req);
    const csrf = h(CSRF_HEADER);
    const host = h('host');
    const origin = h('origin');
    const site = h('sec-fetch-site');
    const type = h('content-type');
    return decide(cfg, {
      kind,
      method: req.method ?? 'GET',
      ...(host !== undefined ? { host } : {}),
      ...(origin !== undefined ? { origin } : {}),
      ...(site !== undefined ? { secFetchSite: site } : {}),
      ...(type !== undefined ? { contentType: type } : {}),
      ...(bearer !== undefined ? { bearer } : {}),
      ...(session ? { session } : {}),
      ...(csrf !== undefined ? { csrf } : {}),
    });
  };

  const sse = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const stops: (() => void)[] = [];
    const end = () => {
      clearInterval(heartbeat);
      streams.delete(res);
      for (const s of stops.splice(0)) s();
    };
    req.on('close', end);
    res.on('close', end);
    return {
      emit: (event: string, data: unknown) => {
        if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      onEnd: (stop: () => void) => stops.push(stop),
    };
  };

  const remote = (req: http.IncomingMessage) => req.socket.remoteAddress ?? 'unknown';

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const method = req.method ?? 'GET';
    const isGet = method === 'GET' || method === 'HEAD';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const isApi = parts[0] === 'api' && parts[1] === 'v1';
    const kind: RequestKind = !isGet && isApi && parts[2] === 'login' ? 'login' : isGet ? 'read' : 'action';
    const d = check(req, kind);
    if (!d.ok) return send(res, d.status, { error: d.reason });

    if (isGet && url.pathname === '/healthz') return sendText(res, 'text/plain', 'ok\n', method === 'HEAD');
    if (isGet && (url.pathname === '/' || url.pathname === '/index.html'))
      return sendText(res, 'text/html', indexHtml(), method === 'HEAD');
    if (isGet && url.pathname === '/assets/style.css')
      return sendText(res, 'text/css', STYLE_CSS, method === 'HEAD');
    const asset = /^\/assets\/([a-z]+)\.js$/.exec(url.pathname);
    if (isGet && asset && CLIENT_MODULES.has(asset[1] ?? ''))
      return sendText(res, 'text/javascript', await clientModule(asset[1] ?? ''), method === 'HEAD');
    if (!isApi) throw new HttpError(404, `no such page ${url.pathname}`);

    const what = parts[2];
    if (isGet && what === 'session' && parts.length === 3) {
      let session = sessionOf(req);
      const headers: Record<string, string> = {};
      if (!session) {
        session = sessions.create();
        headers['set-cookie'] = `${cookieName()}=${session.id}; Path=/; HttpOnly; SameSite=Strict`;
      }
      const t = await trafficSampler();
      return send(
        res,
        200,
        {
          csrfToken: session.csrf,
          tokenRequired: token !== undefined,
          authenticated: token === undefined || session.authenticated,
          readOnly: cfg.readOnly,
          traffic: t ? { release: t.release } : null,
        },
        headers,
      );
    }
    if (method === 'POST' && what === 'login' && parts.length === 3) {
      const session = sessionOf(req)!;
      if (token === undefined) return send(res, 200, { authenticated: true });
      const who = remote(req);
      const f = failedLogins.get(who);
      if (f && Date.now() - f.since < 10 * 60_000 && f.count >= 20)
        return send(res, 429, { error: 'too many failed logins; try again later' });
      const body = await readJson(req);
      if (typeof body.token === 'string' && sameToken(body.token, token)) {
        session.authenticated = true;
        failedLogins.delete(who);
        log('info', `dashboard: session ${sessionTag(session)} from ${who} logged in`);
        return send(res, 200, { authenticated: true });
      }
      const entry = f && Date.now() - f.since < 10 * 60_000 ? f : { count: 0, since: Date.now() };
      entry.count++;
      failedLogins.set(who, entry);
      log('warn', `dashboard: failed login from ${who}`);
      return send(res, 401, { error: 'wrong token' });
    }
    if (isGet && what === 'watch' && parts.length === 3) {
      const release = url.searchParams.get('release');
      const stream = sse(req, res);
      if (release) {
        const slash = release.indexOf('/');
        if (slash <= 0) {
          stream.emit('problem', { message: 'release: NAMESPACE/NAME' });
          return res.end();
        }
        stream.onEnd(
          hub.watchRelease(release.slice(0, slash), release.slice(slash + 1), (e) => stream.emit(e.type, e)),
        );
      } else {
        stream.onEnd(hub.watchList((e) => stream.emit(e.type, e)));
      }
      return;
    }
    if (isGet && what === 'traffic' && parts.length === 3) {
      const t = await trafficSampler();
      if (!t) throw new HttpError(404, 'no demo traffic here (the request grid needs the local demo)');
      const stream = sse(req, res);
      stream.emit('hello', { release: t.release });
      stream.onEnd(t.watch((samples) => stream.emit('samples', { samples })));
      return;
    }
    if (what === 'releases') {
      if (isGet && parts.length === 3) {
        const ns = url.searchParams.get('namespace') || undefined;
        const phase = url.searchParams.get('phase') || undefined;
        const name = url.searchParams.get('name')?.toLowerCase() || undefined;
        const list = (await o.source.list(ns))
          .map(summarize)
          .filter((s) => (!phase || s.phase === phase) && (!name || s.name.toLowerCase().includes(name)));
        return send(res, 200, list);
      }
      const [ns, name, verb] = [parts[3], parts[4], parts[5]];
      if (!ns || !name) throw new HttpError(404, 'use /api/v1/releases/NAMESPACE/NAME');
      if (isGet && parts.length === 5) return send(res, 200, await o.source.get(ns, name));
      if (isGet && parts.length === 6) throw new HttpError(405, 'actions are POST');
      if (method === 'POST' && verb && parts.length === 6) {
        if (!isActionVerb(verb)) throw new HttpError(404, `no action ${verb}`);
        const args = actionArgs(verb, await readJson(req));
        const session = sessionOf(req);
        const actor = `dashboard ${d.via === 'token' || !session ? 'token holder' : `session ${sessionTag(session)}`} from ${remote(req)}`;
        const what = `${describeUserAction(verb, args)} ${ns}/${name}`;
        try {
          const message = await o.source.act({ namespace: ns, name, verb, args, actor });
          log('info', `dashboard action: ${what} by ${actor}: ${message}`);
          hub.poke();
          return send(res, 200, { message });
        } catch (e) {
          log('warn', `dashboard action: ${what} by ${actor} refused: ${(e as Error).message}`);
          throw new HttpError(409, (e as Error).message);
        }
      }
    }
    throw new HttpError(404, `no such endpoint ${method} ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : 502;
      if (!res.headersSent) send(res, status, { error: (e as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : o.listen.port;
  const host = o.listen.host.includes(':') ? `[${o.listen.host}]` : o.listen.host;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    port,
    ...(token ? { token } : {}),
    tokenGenerated,
    readOnly: cfg.readOnly,
    close: () =>
      new Promise<void>((resolve) => {
        hub.close();
        sampler?.stop();
        for (const r of streams) r.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
