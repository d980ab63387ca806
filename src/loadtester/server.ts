/**
 * An HTTP service compatible with flagger-loadtester's API (`pkg/loadtester/server.go`), so Flagger
 * webhooks written for it work unchanged against Vireo's.
 *
 * Every request body is a Flagger webhook payload `{ name, namespace, phase, checksum, metadata }`;
 * a body that is not one is 400. The canary is keyed `<name>.<namespace>`, as the loadtester keys it.
 *
 * - `POST /` (any path not listed below): by `metadata.type`
 *   - `cmd` (or no type): start `metadata.cmd` in the background, de-duplicated per canary and
 *     command while it runs; 202 at once. Without `cmd`: 400 "cmd not found in metadata".
 *     `logCmdOutput: "true"` logs the output.
 *   - `bash`: run `bash -c cmd` and wait; 200 on exit 0 (with the output when `returnCmdOutput` is
 *     "true"), else 500 with the error and the output.
 *   - `kubectl`, `helm`, `helmv3`: run `kubectl` / `helm` with the command's fields as arguments
 *     and wait; same answers.
 *   - other types: 400 "unknown task type X"; no metadata: 400 "metadata not found in payload".
 *   A cmd or bash command that is a hey line runs on the built-in load generator (`hey.ts`).
 * - Gates (in memory, closed until opened): `/gate/check` 200 "Approved" when open, else 403
 *   "Forbidden"; `/gate/open`, `/gate/close` 202; `/gate/approve` always 200 "OK"; `/gate/halt` always
 *   403 "Forbidden". `/rollback/check|open|close` the same for the rollback gate, keyed
 *   `rollback.<name>.<namespace>`.
 * - `/healthz` 200 "OK"; `/metrics` Prometheus text with the task counters.
 * - `namespaceRegexp` (the loadtester's `-namespace-regexp`): payloads from other namespaces get 403.
 *
 * Differences, on purpose: listens on 127.0.0.1 unless told otherwise (the loadtester: all
 * interfaces); `cmd` tasks start at once rather than on the next 100 ms tick; a timed-out or stopped
 * command's whole process group is killed; `helm` and `helmv3` both run `helm` (v3 on a local
 * machine); `concord` and `ngrinder` tasks are unknown types here (400) and the newer `/traffic/`
 * manual-traffic endpoints are not provided (a POST there is read as a task).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LogFn, TaskRunner } from './tasks.js';

export interface LoadtesterOptions {
  /** Default 8080 (the loadtester's Helm chart); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Time limit of each command (default 1 h). */
  timeoutMs?: number;
  /** Only payloads whose namespace matches are served (Go's regexp MatchString: unanchored). */
  namespaceRegexp?: RegExp | string;
  /** Output kept per command (default 1 MiB, the tail). */
  maxOutputBytes?: number;
  /** Where log lines go (default: nowhere). */
  log?: (line: string) => void;
}

export interface Loadtester {
  url: string;
  port: number;
  /** Stop listening, stop running commands and load, and wait for them. */
  close(): Promise<void>;
}

interface Payload {
  name: string;
  namespace: string;
  phase: string;
  metadata: Record<string, string>;
}

const MAX_BODY = 1024 * 1024;

/** Go's strconv.ParseBool; anything else is false (the loadtester ignores the error). */
const parseBool = (v: string | undefined) =>
  v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);

/**
 * Decode a webhook payload the way Go's encoding/json fills `CanaryWebhookPayload`: keys match
 * case-insensitively, `null` leaves a field empty, a value of the wrong type is an error.
 */
export function decodePayload(text: string): Payload | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return `decoding the request body failed: ${(e as Error).message}`;
  }
  const p: Payload = { name: '', namespace: '', phase: '', metadata: {} };
  if (v === null) return p;
  if (typeof v !== 'object' || Array.isArray(v)) return 'decoding the request body failed: not an object';
  const get = (field: string): unknown => {
    const o = v as Record<string, unknown>;
    if (field in o) return o[field];
    const k = Object.keys(o).find((key) => key.toLowerCase() === field.toLowerCase());
    return k === undefined ? undefined : o[k];
  };
  for (const f of ['name', 'namespace', 'phase'] as const) {
    const x = get(f);
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string') return `decoding the request body failed: ${f} is not a string`;
    p[f] = x;
  }
  const md = get('metadata');
  if (md !== undefined && md !== null) {
    if (typeof md !== 'object' || Array.isArray(md))
      return 'decoding the request body failed: metadata is not an object';
    for (const [k, x] of Object.entries(md)) {
      if (typeof x !== 'string') return `decoding the request body failed: metadata.${k} is not a string`;
      p.metadata[k] = x;
    }
  }
  return p;
}

export async function startLoadtester(options: LoadtesterOptions = {}): Promise<Loadtester> {
  const host = options.host ?? '127.0.0.1';
  const nsRe =
    options.namespaceRegexp === undefined
      ? undefined
      : typeof options.namespaceRegexp === 'string'
        ? new RegExp(options.namespaceRegexp)
        : options.namespaceRegexp;
  const write = options.log;
  const log: LogFn = (level, canary, message) =>
    write?.(`${new Date().toISOString()} ${level} ${canary ? `canary=${canary} ` : ''}${message}`);
  const runner = new TaskRunner({
    timeoutMs: options.timeoutMs ?? 3_600_000,
    maxOutputBytes: options.maxOutputBytes ?? MAX_BODY,
    log,
  });
  /** Gate state by key; absent = closed. */
  const gates = new Map<string, boolean>();

  const send = (res: http.ServerResponse, status: number, body = '') => {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const readBody = (req: http.IncomingMessage) =>
    new Promise<string | undefined>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          resolve(undefined);
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const gate = async (
    res: http.ServerResponse,
    payload: Payload,
    op: 'check' | 'open' | 'close',
    rollback: boolean,
  ) => {
    const key = `${rollback ? 'rollback.' : ''}${payload.name}.${payload.namespace}`;
    const what = rollback ? 'rollback' : 'gate';
    if (op === 'check') {
      const open = gates.get(key) ?? false;
      log('info', '', `${key} ${rollback ? 'rollback check' : 'gate check'}: approved ${open}`);
      return open ? send(res, 200, 'Approved') : send(res, 403, 'Forbidden');
    }
    gates.set(key, op === 'open');
    log('info', '', `${key} ${what} ${op === 'open' ? 'opened' : 'closed'}`);
    return send(res, 202);
  };

  const task = async (res: http.ServerResponse, p: Payload) => {
    const md = p.metadata;
    if (Object.keys(md).length === 0) return send(res, 400, 'metadata not found in payload');
    const type = md.type ?? 'cmd';
    const canary = `${p.name}.${p.namespace}`;
    const cmd = md.cmd ?? '';
    if (type === 'bash' || type === 'kubectl' || type === 'helm' || type === 'helmv3') {
      const r = await runner.runBlocking(type, canary, cmd);
      if (!r.ok) return send(res, 500, `${r.error ?? 'failed'} ${r.output}`.trimEnd());
      return send(res, 200, parseBool(md.returnCmdOutput) ? r.output : '');
    }
    if (type !== 'cmd') return send(res, 400, `unknown task type ${type}`);
    if (md.cmd === undefined) return send(res, 400, 'cmd not found in metadata');
    runner.add(canary, cmd, parseBool(md.logCmdOutput));
    return send(res, 202);
  };

  const metrics = () => {
    const c = runner.counts;
    const lines = [
      '# HELP vireo_loadtester_commands_total Background commands by outcome of the request.',
      '# TYPE vireo_loadtester_commands_total counter',
      `vireo_loadtester_commands_total{result="started"} ${c.started}`,
      `vireo_loadtester_commands_total{result="skipped"} ${c.skipped}`,
      '# HELP vireo_loadtester_command_failures_total Background commands that failed.',
      '# TYPE vireo_loadtester_command_failures_total counter',
      `vireo_loadtester_command_failures_total ${c.failed}`,
      '# HELP vireo_loadtester_blocking_commands_total Blocking (bash, kubectl, helm) commands run.',
      '# TYPE vireo_loadtester_blocking_commands_total counter',
      `vireo_loadtester_blocking_commands_total ${c.blocking}`,
      '# HELP vireo_loadtester_load_requests_total Requests the built-in load generator finished.',
      '# TYPE vireo_loadtester_load_requests_total counter',
      `vireo_loadtester_load_requests_total ${c.loadRequests}`,
      '# HELP vireo_loadtester_running_commands Background commands running now.',
      '# TYPE vireo_loadtester_running_commands gauge',
      `vireo_loadtester_running_commands ${runner.active().length}`,
    ];
    return `${lines.join('\n')}\n`;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz') return send(res, 200, 'OK');
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      return res.end(metrics());
    }
    if (path === '/gate/approve') return send(res, 200, 'OK');
    if (path === '/gate/halt') return send(res, 403, 'Forbidden');
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, 'request body too large');
    const payload = decodePayload(body);
    if (typeof payload === 'string') {
      log('error', '', payload);
      return send(res, 400);
    }
    if (nsRe && !nsRe.test(payload.namespace)) return send(res, 403, 'Forbidden');
    const m = /^\/(gate|rollback)\/(check|open|close)$/.exec(path);
    if (m) return gate(res, payload, m[2] as 'check' | 'open' | 'close', m[1] === 'rollback');
    return task(res, payload);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log('error', '', `request failed: ${(e as Error).message}`);
      if (!res.headersSent) send(res, 500, (e as Error).message);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        await runner.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
