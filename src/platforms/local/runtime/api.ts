/**
 * The local runtime's HTTP API on its admin listener (loopback by default), used by the CLI verbs and
 * the dashboard. JSON in and out:
 *
 *   GET  /healthz                                   ok
 *   GET  /metrics                                   the router's counters, Prometheus text format
 *   GET  /api/v1/stats?service=&version=&backend=&window=
 *                                                   requests, errors, successRate, p99Seconds over the
 *                                                   last `window` seconds (default 60), for analyses
 *   GET  /api/v1/releases[?namespace=]              ReleaseView[]
 *   GET  /api/v1/releases/NS/NAME                   ReleaseView
 *   POST /api/v1/releases/NS/NAME/VERB              promote|abort|retry|pause|resume|restart|undo|set-image;
 *                                                   body {full?, toRevision?, container?, image?, actor?}:
 *                                                   with `actor` the action is also a UserAction event
 *   POST /api/v1/apply  {sources:[{name,text}]}     ApplyResult (422 with diagnostics when invalid)
 *   POST /api/v1/delete {kind,namespace,name}
 *   GET  /api/v1/runtime                            state dir, listener addresses, pid
 */
import http from 'node:http';
import { HttpError, readJsonBody } from '../../../http/json-body.js';
import { hostForUrl } from '../proxy/metrics.js';
import { type LocalRuntime, UserError } from './runtime.js';

const MAX_BODY = 8 * 1024 * 1024;

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const readBody = (req: http.IncomingMessage) => readJsonBody(req, MAX_BODY);

export async function startApi(
  rt: LocalRuntime,
  listen: { host: string; port: number },
  info: () => Record<string, unknown> = () => ({}),
): Promise<ApiServer> {
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && url.pathname === '/healthz') return send(res, 200, 'ok\n');
    if (get && url.pathname === '/metrics') return send(res, 200, rt.metricsText());
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw new HttpError(404, `no such endpoint ${url.pathname}`);
    const what = parts[2];
    if (get && what === 'stats' && parts.length === 3) {
      const window = Number(url.searchParams.get('window') ?? 60);
      if (!Number.isFinite(window) || window <= 0)
        throw new HttpError(400, 'window: a number of seconds > 0');
      const service = url.searchParams.get('service') ?? undefined;
      const version = url.searchParams.get('version');
      const backend = url.searchParams.get('backend');
      const series = rt.router
        .metrics()
        .snapshot({ windowSeconds: window, ...(service ? { service } : {}) })
        .filter(
          (s) => (version === null || s.version === version) && (backend === null || s.backend === backend),
        );
      const requests = series.reduce((n, s) => n + s.requests, 0);
      const errors = series.reduce((n, s) => n + s.errors, 0);
      const p99 = Math.max(...series.map((s) => s.p99Seconds ?? Number.NEGATIVE_INFINITY));
      return send(res, 200, {
        requests,
        errors,
        successRate: requests > 0 ? (requests - errors) / requests : null,
        errorRate: requests > 0 ? errors / requests : null,
        p99Seconds: Number.isFinite(p99) ? p99 : null,
        window,
      });
    }
    if (get && what === 'runtime') return send(res, 200, { ...info(), addresses: rt.addresses() });
    if (what === 'releases') {
      if (get && parts.length === 3)
        return send(res, 200, rt.views(url.searchParams.get('namespace') ?? undefined));
      const [ns, name, verb] = [parts[3], parts[4], parts[5]];
      if (!ns || !name) throw new HttpError(404, 'use /api/v1/releases/NAMESPACE/NAME');
      if (get && parts.length === 5) return send(res, 200, rt.view(ns, name));
      if (req.method === 'POST' && verb && parts.length === 6) {
        const body = (await readBody(req)) as Record<string, unknown>;
        const message = await rt.act(ns, name, verb, {
          ...(body.full === true ? { full: true } : {}),
          ...(typeof body.toRevision === 'number' ? { toRevision: body.toRevision } : {}),
          ...(typeof body.container === 'string' ? { container: body.container } : {}),
          ...(typeof body.image === 'string' ? { image: body.image } : {}),
          // Who asked (the dashboard names its user): recorded in the release's events.
          ...(typeof body.actor === 'string' && body.actor !== ''
            ? { actor: body.actor.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) }
            : {}),
        });
        return send(res, 200, { message });
      }
    }
    if (req.method === 'POST' && what === 'apply') {
      const body = (await readBody(req)) as { sources?: { name?: unknown; text?: unknown }[] };
      if (
        !Array.isArray(body.sources) ||
        body.sources.some((s) => typeof s.name !== 'string' || typeof s.text !== 'string')
      )
        throw new HttpError(400, 'body: expected {"sources": [{"name": "file.yaml", "text": "..."}]}');
      const r = await rt.apply(body.sources as { name: string; text: string }[]);
      return send(res, r.ok ? 200 : 422, r);
    }
    if (req.method === 'POST' && what === 'delete') {
      const b = (await readBody(req)) as { kind?: unknown; namespace?: unknown; name?: unknown };
      if (typeof b.kind !== 'string' || typeof b.name !== 'string')
        throw new HttpError(400, 'body: expected {"kind", "namespace", "name"}');
      const message = await rt.delete(
        b.kind,
        typeof b.namespace === 'string' ? b.namespace : 'default',
        b.name,
      );
      return send(res, 200, { message });
    }
    throw new HttpError(404, `no such endpoint ${req.method} ${url.pathname}`);
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpError ? e.status : e instanceof UserError ? 400 : 500;
      if (!res.headersSent) send(res, status, { error: (e as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  return {
    url: `http://${hostForUrl(listen.host)}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The CLI's side of the API. */
export class RuntimeClient {
  constructor(readonly url: string) {}

  async request<T>(
    method: 'GET' | 'POST',
    pathname: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    let res: Response;
    try {
      res = await fetch(new URL(pathname, this.url), {
        method,
        ...(body !== undefined
          ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
          : {}),
      });
    } catch (e) {
      throw new UserError(
        `cannot reach the local runtime at ${this.url} (${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}); is \`vireo up\` running?`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (res.status >= 400 && res.status !== 422) {
      const msg = (parsed as { error?: string }).error ?? text;
      throw new UserError(msg);
    }
    return { status: res.status, body: parsed as T };
  }
}
