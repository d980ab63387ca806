/**
 * The local router carried out by Debian's nginx (`vireo up --router nginx`). One nginx master (run
 * as our child with `daemon off`, in its own process group, behind a stdin watchdog so it dies with
 * us) serves every listener from one generated nginx.conf; `apply` validates it with `nginx -t`,
 * renames it into place and reloads (SIGHUP), which nginx does without dropping connections. A
 * control location on a unix socket answers the config generation, so `apply` knows when the reload
 * is in force (and nginx's error log says why when it is not). Everything nginx writes is under `dir`.
 *
 * How `routing.ts` semantics are carried into nginx.conf (per listener L, variables `$vL_*`):
 * - Weighted split: `split_clients` on `$request_id` (a fresh random id per request), in 0.01 %
 *   steps. Chosen over upstream `weight=` because that is a deterministic smooth round-robin per
 *   server, not a per-request draw per backend, and it would mix with the round-robin over a backend's
 *   own upstreams. Each backend is an `upstream` block (nginx's round-robin over its servers).
 * - Route rules: one `map` per condition (0/1), an AND map per match, an OR map per rule, then one
 *   map over the rule bits whose regexes `^0{k}1` pick the first matching rule, defaulting to the split.
 * - Mirrors: `mirror` to an internal location per mirror rule; whether a copy goes out is a map over
 *   the rule's match and its own `split_clients` draw (`${request_id}mN`, independent of the split);
 *   copies not chosen end with `return 204` there and are not logged or sent.
 * - Labels: backend name/version are map values, so nginx knows them; the JSON access log
 *   (escape=json) carries service, backend, version, status and request_time, and a tailer feeds
 *   `ProxyMetrics` (mirror copies via `log_subrequest` in the mirror location -> `observeMirror`).
 *
 * Differences from Vireo's proxy, by nginx's nature: a present but empty header counts as absent; a
 * repeated header is matched on its first value (nginx < 1.23); a mirror copy is counted when its
 * answer came, not when sent; headers with `_` in their name are dropped (nginx's
 * `ignore_invalid_headers`), and match rules only accept names of letters, digits and `-`; the mirror
 * locations take the paths `/_vireo_mirror_<random>_*`; regexes are JavaScript's, translated to PCRE
 * for the common subset (named groups and characters above U+00FF are refused).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { hostForUrl, ProxyMetrics } from '../proxy/metrics.js';
import { compileRoutes, type RequestMatch, type StringMatch } from '../proxy/routing.js';
import type { Listener, LocalRouter } from './router.js';

export interface NginxRouterOptions {
  /** Private working directory: nginx.conf, pid file, temp paths, logs, control socket. */
  dir: string;
  /** Path (or name on PATH) of the nginx binary; default `nginx` on PATH, then /usr/sbin/nginx. */
  nginxBinary?: string;
  /** nginx's own messages (stderr, error.log) and lifecycle lines. */
  logger?: (line: string) => void;
}

export interface NginxRouter extends LocalRouter {
  readonly kind: 'nginx';
  /** The nginx master's pid while it runs. */
  readonly pid: number | undefined;
  readonly configPath: string;
}

const INSTALL_HINT = "install Debian's nginx: apt-get install nginx";

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The nginx binary to run; throws saying how to install it when there is none. */
export function findNginx(explicit?: string): string {
  const name = explicit ?? 'nginx';
  if (name.includes('/')) {
    if (isExecutable(name)) return path.resolve(name);
    throw new Error(`nginx binary ${name} is not an executable file; ${INSTALL_HINT}`);
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  // Debian puts nginx in /usr/sbin, which is not on a non-root user's PATH.
  const candidates = [...dirs.map((d) => path.join(d, name)), ...(explicit ? [] : ['/usr/sbin/nginx'])];
  for (const c of candidates) if (isExecutable(c)) return c;
  throw new Error(`${name} not found on PATH${explicit ? '' : ' nor in /usr/sbin'}; ${INSTALL_HINT}`);
}

// ---------------------------------------------------------------------------------------------------
// Escaping: the config is generated from user data, so every user string goes through one of these.

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A double-quoted nginx string taken literally (paths, regex keys): only `\` and `"` are special. */
function quote(s: string): string {
  if (hasControl(s)) throw new Error('control characters cannot go into nginx.conf');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A double-quoted nginx value where variables are expanded (map values): `$` becomes `${vireo_dollar}`. */
function quoteValue(s: string): string {
  return quote(s).replace(/\$/g, `\${vireo_dollar}`);
}

const hex2 = (code: number) => code.toString(16).padStart(2, '0');

/**
 * A PCRE matching `s` literally, or undefined when it can never match: Node reads header bytes as
 * latin1, so a character above U+00FF never occurs in what Vireo's proxy compares against.
 */
function pcreLiteral(s: string): string | undefined {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (/[A-Za-z0-9]/.test(ch)) out += ch;
    else if (code >= 0x20 && code < 0x7f) out += `\\${ch}`;
    else if (code <= 0xff) out += `\\x${hex2(code)}`;
    else return undefined;
  }
  return out;
}

/** One literal character inside a translated regex: bytes outside printable ASCII as `\xHH`. */
function regexChar(ch: string, where: string): string {
  const code = ch.codePointAt(0)!;
  if (code >= 0x20 && code < 0x7f) return ch;
  if (code <= 0xff) return `\\x${hex2(code)}`;
  throw new Error(`${where}: characters above U+00FF are not supported by the nginx router`);
}

/**
 * Translates a JavaScript regex (no flags, as routing.ts compiles it) to PCRE with the same meaning on
 * header, cookie, method and path strings. Throws for what nginx cannot carry: named groups (nginx
 * would turn them into variables) and characters above U+00FF.
 */
export function jsRegexToPcre(source: string, where = 'regex'): string {
  try {
    new RegExp(source);
  } catch (e) {
    throw new Error(`${where}: invalid regex ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === '\\') {
      const next = source[i + 1] ?? '';
      i++;
      if (/[1-9]/.test(next)) {
        const digits = /^[0-9]+/.exec(source.slice(i))![0];
        out += `\\${digits}`;
        i += digits.length - 1;
      } else if (next === '0') out += '\\x00';
      else if ('dDwWsSnrtf'.includes(next)) out += `\\${next}`;
      else if (next === 'b') out += '\\b';
      else if (next === 'B') out += inClass ? 'B' : '\\B';
      else if (next === 'v') out += '\\x0b';
      else if (next === 'c' && /[A-Za-z]/.test(source[i + 1] ?? '')) {
        out += `\\c${source[i + 1]}`;
        i++;
      } else if (next === 'x' && /^[0-9A-Fa-f]{2}/.test(source.slice(i + 1))) {
        out += `\\x${source.slice(i + 1, i + 3)}`;
        i += 2;
      } else if (next === 'u' && /^[0-9A-Fa-f]{4}/.test(source.slice(i + 1))) {
        const code = Number.parseInt(source.slice(i + 1, i + 5), 16);
        if (code > 0xff) throw new Error(`${where}: \\u escapes above U+00FF are not supported by nginx`);
        out += `\\x${hex2(code)}`;
        i += 4;
      } else if (/[A-Za-z]/.test(next))
        out += next; // JS identity escape (no u flag): the letter itself
      else if (/[ -~]/.test(next)) out += `\\${next}`;
      else out += regexChar(next, where);
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      // `[` inside a class is literal in JS but may open a POSIX class (`[:alpha:]`) in PCRE.
      out += ch === '[' ? '\\[' : ch === ']' ? ']' : regexChar(ch, where);
      continue;
    }
    if (ch === '[') {
      // JS `[]` matches nothing and `[^]` anything; in PCRE a `]` right there would be literal.
      if (source.startsWith('[]', i)) {
        out += '(?!)';
        i += 1;
      } else if (source.startsWith('[^]', i)) {
        out += '[\\s\\S]';
        i += 2;
      } else {
        inClass = true;
        out += '[';
        if (source[i + 1] === '^') {
          out += '^';
          i++;
        }
      }
    } else if (ch === '$') {
      out += '\\z'; // JS `$` (no m flag) is the very end; PCRE's also matches before a final newline
    } else if (ch === '(') {
      if (source[i + 1] !== '?') out += '(';
      else {
        const head = /^\(\?(?::|=|!|<=|<!)/.exec(source.slice(i))?.[0];
        if (!head) throw new Error(`${where}: named groups are not supported by the nginx router`);
        out += head;
        i += head.length - 1;
      }
    } else if (ch === '{') {
      const q = /^\{[0-9]+(?:,[0-9]*)?\}/.exec(source.slice(i))?.[0];
      if (q) {
        out += q;
        i += q.length - 1;
      } else out += '\\{';
    } else if (ch === '}' || ch === ']') out += `\\${ch}`;
    else out += regexChar(ch, where);
  }
  return out;
}

/** The PCRE for a StringMatch, or undefined when it can never match. */
function stringMatchPcre(m: StringMatch, where: string): string | undefined {
  if ('exact' in m && typeof m.exact === 'string') {
    const lit = pcreLiteral(m.exact);
    return lit === undefined ? undefined : `^${lit}\\z`;
  }
  if ('prefix' in m && typeof m.prefix === 'string') {
    const lit = pcreLiteral(m.prefix);
    return lit === undefined ? undefined : `^${lit}`;
  }
  if ('regex' in m && typeof m.regex === 'string') return `(?:${jsRegexToPcre(m.regex, where)})`;
  throw new Error(`${where}: a match needs one of exact, prefix, regex`);
}

/** Whether routing.ts would match an empty value (the check nginx's map skips for regexes). */
function matchesEmpty(m: StringMatch): boolean {
  if ('exact' in m) return m.exact === '';
  if ('prefix' in m) return m.prefix === '';
  return new RegExp(m.regex).test('');
}

/** Variables (`$name`) and literal bits joined into one map source; `${name}` so a digit after it stays apart. */
const concat = (parts: string[]) => parts.map((x) => (x.startsWith('$') ? `\${${x.slice(1)}}` : x)).join('');

const HEADER_NAME = /^[A-Za-z0-9-]+$/;
// RFC 6265 cookie-name (an RFC 7230 token) without `$`.
const COOKIE_NAME = /^[A-Za-z0-9!#%&'*+.^_`|~-]+$/;
const HOST = /^(?:[A-Za-z0-9.-]+|[0-9A-Fa-f:.]+)$/;

function checkLabel(value: string, where: string): void {
  if (hasControl(value)) {
    throw new Error(
      `${where}: ${JSON.stringify(value)} has control characters, which nginx.conf cannot carry`,
    );
  }
}

function checkHost(host: string, where: string): void {
  if (!HOST.test(host)) throw new Error(`${where}: invalid host ${JSON.stringify(host)}`);
}

const hostPort = (host: string, port: number) => `${hostForUrl(host)}:${port}`;

// ---------------------------------------------------------------------------------------------------
// Rendering

export interface RenderContext {
  /** Absolute working directory (validated). */
  dir: string;
  /** Random per router: in the mirror locations' paths and the control answer. */
  token: string;
  /** Answered on the control socket, so a reload is known to be in force. */
  generation: number;
  controlSocket: string;
  /** `user` directive value when the master runs as root. */
  user?: string;
}

const CONTROL_PATH = '/vireo/generation';

/** Validates the listeners (throwing an Error naming the bad field) and renders nginx.conf. */
export function renderNginxConfig(listeners: readonly Listener[], ctx: RenderContext): string {
  const file = (name: string) => quote(path.join(ctx.dir, name));
  const out: string[] = [
    '# Generated by Vireo (nginx router); rewritten on every apply.',
    'worker_processes 1;',
    `pid ${file('nginx.pid')};`,
    `lock_file ${file('nginx.lock')};`,
    `error_log ${file('error.log')} warn;`,
    // Bounds how long old workers linger after a reload (Vireo's proxy times requests out at 60 s too).
    'worker_shutdown_timeout 60s;',
    ...(ctx.user ? [`user ${ctx.user};`] : []),
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off;',
    '  server_tokens off;',
    '  client_max_body_size 0;',
    `  client_body_temp_path ${file('tmp/client_body')};`,
    `  proxy_temp_path ${file('tmp/proxy')};`,
    `  fastcgi_temp_path ${file('tmp/fastcgi')};`,
    `  uwsgi_temp_path ${file('tmp/uwsgi')};`,
    `  scgi_temp_path ${file('tmp/scgi')};`,
    // As Vireo's proxy: keep-alive to upstreams, the client's Host, X-Forwarded-For appended, streaming.
    '  proxy_http_version 1.1;',
    '  proxy_set_header Connection "";',
    '  proxy_set_header Host $http_host;',
    '  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '  proxy_redirect off;',
    '  proxy_buffering off;',
    // A literal `$` for map values (nginx has no escape for it in values that expand variables).
    '  geo $vireo_dollar { default "$"; }',
    // The request target's path as received (routing.ts matches the raw path, not nginx's $uri).
    '  map $request_uri $vireo_path { default ""; "~^([^?]*)" $1; }',
    '  server {',
    `    listen ${quote(`unix:${ctx.controlSocket}`)};`,
    `    location = ${CONTROL_PATH} { return 200 "${ctx.token} ${ctx.generation}"; }`,
    '    location / { return 404; }',
    '  }',
  ];
  const services = new Set<string>();
  const addresses = new Set<string>();
  listeners.forEach((l, index) => {
    const where = `listeners[${index}] (${JSON.stringify(l.service)})`;
    if (!l.service) throw new Error(`listeners[${index}]: service is required`);
    checkLabel(l.service, `${where}.service`);
    if (services.has(l.service)) throw new Error(`${where}: duplicate service`);
    services.add(l.service);
    checkHost(l.host, `${where}.host`);
    if (!Number.isInteger(l.port) || l.port <= 0 || l.port > 65535) {
      throw new Error(`${where}.port: must be within 1..65535, got ${l.port}`);
    }
    const address = hostPort(l.host, l.port);
    if (addresses.has(address)) throw new Error(`${where}: ${address} is used by another listener`);
    addresses.add(address);
    try {
      compileRoutes(l.routes);
    } catch (e) {
      throw new Error(`${where}.routes: ${(e as Error).message}`);
    }
    out.push(...renderListener(l, index, ctx, `${where}.routes`).map((s) => `  ${s}`));
  });
  out.push('}', '');
  return out.join('\n');
}

function renderListener(l: Listener, L: number, ctx: RenderContext, where: string): string[] {
  const p = `v${L}`;
  const lines: string[] = [];
  const accessLog = quote(path.join(ctx.dir, 'access.log'));
  const { backends, weights } = l.routes;
  const index = new Map(backends.map((b, i) => [b.name, i]));
  let n = 0;

  /**
   * A 0/1 variable: `source` satisfies `m`. nginx never tries a map's regexes on an empty value, so
   * an empty value matches only through an explicit `""` key, given when `emptyIsValue` (cookie
   * values, which routing.ts reads as present-but-empty) and `m` matches "" in JavaScript. An empty
   * header is thus never matched (nginx cannot tell it from an absent one).
   */
  const condition = (source: string, m: StringMatch, at: string, emptyIsValue: boolean): string => {
    const name = `$${p}_c${n++}`;
    const pcre = stringMatchPcre(m, at);
    const entries = [
      'default 0;',
      ...(emptyIsValue && matchesEmpty(m) ? ['"" 1;'] : []),
      ...(pcre === undefined ? [] : [`${quote(`~${pcre}`)} 1;`]),
    ];
    lines.push(`map ${source} ${name} { ${entries.join(' ')} }`);
    return name;
  };

  /** `1`, or a 0/1 variable: every condition of `m` holds. */
  const matchBit = (m: RequestMatch, at: string): string => {
    const bits: string[] = [];
    if (m.method) bits.push(condition('$request_method', m.method, `${at}.method`, true));
    if (m.path) bits.push(condition('$vireo_path', m.path, `${at}.path`, true));
    for (const [header, sm] of Object.entries(m.headers ?? {})) {
      if (!HEADER_NAME.test(header)) {
        throw new Error(
          `${at}.headers: header name ${JSON.stringify(header)} is not supported by the nginx router (letters, digits and '-' only)`,
        );
      }
      const variable = `$http_${header.toLowerCase().replace(/-/g, '_')}`;
      bits.push(condition(variable, sm, `${at}.headers.${header}`, false));
    }
    for (const [cookie, sm] of Object.entries(m.cookies ?? {})) {
      if (!COOKIE_NAME.test(cookie)) {
        throw new Error(
          `${at}.cookies: cookie name ${JSON.stringify(cookie)} is not supported by the nginx router (RFC 6265 token characters only)`,
        );
      }
      // routing.ts parseCookies: `;`-separated, names and values trimmed, the first occurrence wins.
      const k = n++;
      const head = `(?:^|;)\\s*${pcreLiteral(cookie)}\\s*=`;
      lines.push(
        `map $http_cookie $${p}_k${k} { default ""; ${quote(`~${head}\\s*([^;]*?)\\s*(?:;|\\z)`)} $1; }`,
      );
      lines.push(`map $http_cookie $${p}_h${k} { default 0; ${quote(`~${head}`)} 1; }`);
      bits.push(`$${p}_h${k}`, condition(`$${p}_k${k}`, sm, `${at}.cookies.${cookie}`, true));
    }
    if (bits.length === 0) return '1';
    const name = `$${p}_m${n++}`;
    lines.push(`map "${concat(bits)}" ${name} { default 0; "${'1'.repeat(bits.length)}" 1; }`);
    return name;
  };

  /** `0`, `1` or a 0/1 variable: any entry of `matches` holds (`empty` when there are none). */
  const anyBit = (matches: RequestMatch[], at: string, empty: '0' | '1'): string => {
    if (matches.length === 0) return empty;
    const bits = matches.map((m, j) => matchBit(m, `${at}.match[${j}]`));
    if (bits.includes('1')) return '1';
    if (bits.length === 1) return bits[0]!;
    const name = `$${p}_r${n++}`;
    lines.push(`map "${concat(bits)}" ${name} { default 0; "~1" 1; }`);
    return name;
  };

  lines.push(`map "" $${p}_service { default ${quoteValue(l.service)}; }`);
  backends.forEach((b, i) => {
    checkLabel(b.name, `${where}.backends[${i}].name`);
    checkLabel(b.version, `${where}.backends[${i}].version`);
    if (b.upstreams.length === 0) return;
    const servers = b.upstreams.map((u, j) => {
      checkHost(u.host, `${where}.backends[${i}].upstreams[${j}].host`);
      return `server ${hostPort(u.host, u.port)};`;
    });
    lines.push(`upstream ${p}_b${i} { ${servers.join(' ')} keepalive 16; }`);
  });

  // The weighted split, in basis points; the last backend takes the rest (`*`).
  const weighted = Object.entries(weights).filter(([, w]) => w > 0);
  if (weighted.length === 0) lines.push(`map "" $${p}_split { default ""; }`);
  else {
    const total = weighted.reduce((s, [, w]) => s + w, 0);
    const parts: string[] = [];
    let cumulative = 0;
    let previous = 0;
    weighted.forEach(([name, w], i) => {
      if (i === weighted.length - 1) {
        parts.push(`* b${index.get(name)};`);
        return;
      }
      cumulative += w;
      const bp = Math.round((cumulative / total) * 10_000);
      if (bp > previous) parts.push(`${((bp - previous) / 100).toFixed(2)}% b${index.get(name)};`);
      previous = bp;
    });
    lines.push(`split_clients "\${request_id}" $${p}_split { ${parts.join(' ')} }`);
  }

  // Rules ahead of the split: the first rule whose bit is 1.
  const ruleBits = (l.routes.routes ?? []).map((r, i) => anyBit(r.match, `${where}.routes[${i}]`, '0'));
  const picks = (l.routes.routes ?? []).map(
    (r, i) => `${quote(`~^${'0'.repeat(i)}1`)} b${index.get(r.backend)};`,
  );
  lines.push(`map "${concat(ruleBits)}" $${p}_backend { default $${p}_split; ${picks.join(' ')} }`);

  const byBackend = (value: (i: number) => string | undefined) =>
    backends.flatMap((_, i) => {
      const v = value(i);
      return v === undefined ? [] : [`b${i} ${v};`];
    });
  lines.push(
    `map $${p}_backend $${p}_target { default ""; ${byBackend((i) => (backends[i]!.upstreams.length ? `${p}_b${i}` : undefined)).join(' ')} }`,
    `map $${p}_backend $${p}_bname { default ""; ${byBackend((i) => quoteValue(backends[i]!.name)).join(' ')} }`,
    `map $${p}_backend $${p}_bver { default ""; ${byBackend((i) => quoteValue(backends[i]!.version)).join(' ')} }`,
  );
  const logFields = (backend: string, version: string, kind: string) =>
    `'{"kind":"${kind}","service":"$${p}_service","backend":"${backend}","version":"${version}","status":$status,"request_time":$request_time}'`;
  lines.push(`log_format vireo_${L} escape=json ${logFields(`$${p}_bname`, `$${p}_bver`, 'request')};`);

  const mirrorUris: string[] = [];
  const mirrorLocations: string[] = [];
  (l.routes.mirrors ?? []).forEach((m, j) => {
    const at = `${where}.mirrors[${j}]`;
    const bi = index.get(m.backend)!;
    const b = backends[bi]!;
    const bp = Math.round(m.percentage * 100);
    // As decide(): no copy at 0 %; as the proxy: no copy to a backend without upstreams.
    if (bp <= 0 || b.upstreams.length === 0) return;
    const matchBitExpr = anyBit(m.match ?? [], at, '1');
    let draw = '1';
    if (bp < 10_000) {
      draw = `$${p}_mp${j}`;
      lines.push(`split_clients "\${request_id}m${j}" ${draw} { ${(bp / 100).toFixed(2)}% 1; * 0; }`);
    }
    const on = `$${p}_mon${j}`;
    lines.push(
      `map "${concat([matchBitExpr, draw])}" ${on} { default 0; "11" 1; }`,
      `map "" $${p}_mb${j} { default ${quoteValue(b.name)}; }`,
      `map "" $${p}_mv${j} { default ${quoteValue(b.version)}; }`,
      `log_format vireo_${L}_m${j} escape=json ${logFields(`$${p}_mb${j}`, `$${p}_mv${j}`, 'mirror')};`,
    );
    const uri = `/_vireo_mirror_${ctx.token}_${L}_${j}`;
    mirrorUris.push(uri);
    mirrorLocations.push(
      `  location = ${uri} {`,
      '    internal;',
      '    log_subrequest on;',
      `    access_log ${accessLog} vireo_${L}_m${j} if=${on};`,
      `    if (${on} != 1) { return 204; }`,
      `    proxy_pass http://${p}_b${bi}$request_uri;`,
      '  }',
    );
  });
  lines.push(
    'server {',
    `  listen ${hostPort(l.host, l.port)};`,
    `  access_log ${accessLog} vireo_${L};`,
    '  location / {',
    ...mirrorUris.map((uri) => `    mirror ${uri};`),
    `    if ($${p}_target = "") { return 503; }`,
    `    proxy_pass http://$${p}_target;`,
    '  }',
    ...mirrorLocations,
    '}',
  );
  return lines;
}

// ---------------------------------------------------------------------------------------------------
// Files and processes

/** Reads what was appended to a file since the last call, line by line (partial lines kept for later). */
class LogTail {
  private fd: number | undefined;
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Synchronous on purpose: local appends are small, and metrics() wants them read now. */
  poll(): void {
    try {
      this.fd ??= fs.openSync(this.file, 'r');
      const size = fs.fstatSync(this.fd).size;
      if (size < this.offset) {
        this.offset = 0;
        this.rest = Buffer.alloc(0);
      }
      while (this.offset < size) {
        const want = Math.min(size - this.offset, 1 << 20);
        const buf = Buffer.allocUnsafe(want);
        const got = fs.readSync(this.fd, buf, 0, want, this.offset);
        if (got <= 0) break;
        this.offset += got;
        let chunk = this.rest.length
          ? Buffer.concat([this.rest, buf.subarray(0, got)])
          : buf.subarray(0, got);
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10)) {
          const line = chunk.subarray(0, nl).toString('utf8');
          chunk = chunk.subarray(nl + 1);
          if (line) this.onLine(line);
        }
        this.rest = Buffer.from(chunk);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** GET the control location over the unix socket; undefined when nginx does not answer (yet). */
function controlAnswer(socketPath: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: CONTROL_PATH, agent: false, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
  });
}

/** Children of `pid` with their command lines (Linux /proc; empty elsewhere). */
function childrenOf(pid: number): { pid: number; cmdline: string }[] {
  let pids: number[];
  try {
    pids = fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return pids.flatMap((c) => {
    try {
      return [{ pid: c, cmdline: fs.readFileSync(`/proc/${c}/cmdline`, 'utf8') }];
    } catch {
      return [];
    }
  });
}

const workersOf = (pid: number) =>
  childrenOf(pid)
    .filter((c) => c.cmdline.startsWith('nginx: worker'))
    .map((c) => c.pid);

/**
 * Runs nginx so it cannot outlive us even when we are killed outright (no 'exit' event): sh forks a
 * reader of our stdin pipe, then execs nginx (so the child's pid is the master's). EOF on the pipe
 * (we are gone) stops nginx; the line `exit` (close()) ends the watchdog alone, while the master
 * still lives to reap it (an orphan would wait for init to reap it).
 */
const WATCHDOG =
  'exec 3<&0; (read -r line <&3; [ "$line" = exit ] || kill -TERM $$ 2>/dev/null) & exec "$@" 3<&- </dev/null';

/** True when `pid` is gone or an nginx worker that stopped accepting (it retitles itself first). */
function workerRetired(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signals the process group `pid` leads and `pid` itself; a negative `pid`: the group only. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of pid < 0 ? [pid] : [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

/** The `user` directive when running as root (workers would otherwise be `nobody`, locked out of dir). */
function rootUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const info = os.userInfo();
  if (!/^[A-Za-z0-9._-]+$/.test(info.username)) return undefined;
  try {
    const group = fs
      .readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[2] === String(info.gid))?.[0];
    if (group && /^[A-Za-z0-9._-]+$/.test(group)) return `${info.username} ${group}`;
  } catch {
    // no /etc/group: nginx takes the group named like the user
  }
  return info.username;
}

function checkDir(dir: string): void {
  // access_log paths expand variables and nginx.conf quotes cannot carry everything: refuse the few
  // characters that would need it rather than half-escaping a path.
  if (/[$"'\\;{}#]/.test(dir) || hasControl(dir)) {
    throw new Error(`nginx router: dir ${JSON.stringify(dir)} has characters nginx.conf cannot carry`);
  }
}

function nginxVersion(stderr: string): number[] | undefined {
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(stderr);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

const newer = (v: number[], than: number[]) => {
  for (let i = 0; i < than.length; i++) if ((v[i] ?? 0) !== than[i]) return (v[i] ?? 0) > than[i]!;
  return true;
};

/** A stale nginx master left by an earlier run in the same dir (its command line names our config). */
function killStale(pidFile: string, configPath: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  try {
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(configPath)) return;
  } catch {
    return;
  }
  for (const w of workersOf(pid)) killGroup(w, 'SIGKILL');
  killGroup(pid, 'SIGKILL');
}

export async function startNginxRouter(options: NginxRouterOptions): Promise<NginxRouter> {
  const binary = findNginx(options.nginxBinary);
  const log = options.logger ?? (() => {});
  const dir = path.resolve(options.dir);
  checkDir(dir);
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const configPath = path.join(dir, 'nginx.conf');
  const pidFile = path.join(dir, 'nginx.pid');
  const errorLog = path.join(dir, 'error.log');
  const accessLog = path.join(dir, 'access.log');
  // sun_path is ~108 bytes; a long dir gets its control socket in a short private temp dir.
  let socketDir: string | undefined;
  let controlSocket = path.join(dir, 'control.sock');
  if (Buffer.byteLength(controlSocket) > 100) {
    socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vireo-nginx-'));
    controlSocket = path.join(socketDir, 'control.sock');
    checkDir(controlSocket);
  }

  const version = await run(binary, ['-v']);
  const v = nginxVersion(`${version.stderr}${version.stdout}`);
  if (!v)
    throw new Error(`${binary} -v did not say which nginx it is (${version.stderr.trim()}); ${INSTALL_HINT}`);
  // `-e` (error log before the config is read) exists since 1.19.5; without it nginx opens its
  // compiled-in path, which a non-root user may not be able to write (nginx only warns then).
  const base = ['-p', `${dir}/`, ...(newer(v, [1, 19, 5]) ? ['-e', errorLog] : [])];

  killStale(pidFile, configPath);
  for (const f of [controlSocket, pidFile]) fs.rmSync(f, { force: true });
  fs.writeFileSync(accessLog, '');
  fs.writeFileSync(errorLog, '');

  const token = randomBytes(4).toString('hex');
  const user = rootUser();
  const registry = new ProxyMetrics();
  let attempt = 0;
  let closed = false;
  let applied: Listener[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let running = false;
  const stderrTail: string[] = [];
  const errorLines: { seq: number; line: string }[] = [];
  let errorSeq = 0;

  const accessTail = new LogTail(accessLog, (line) => {
    // One line per answered request or mirror copy, as the log_format in renderListener writes it.
    let entry: {
      kind?: string;
      service?: string;
      backend?: string;
      version?: string;
      status?: number;
      request_time?: number;
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      log(`nginx router: unreadable access log line ${JSON.stringify(line)}`);
      return;
    }
    const labels = {
      service: entry.service ?? '',
      backend: entry.backend ?? '',
      version: entry.version ?? '',
    };
    if (entry.kind === 'mirror') registry.observeMirror(labels);
    else registry.observe(labels, Number(entry.status ?? 0), Number(entry.request_time ?? 0));
  });
  const errorTail = new LogTail(errorLog, (line) => {
    errorLines.push({ seq: ++errorSeq, line });
    if (errorLines.length > 200) errorLines.shift();
    log(`nginx: ${line}`);
  });
  const poller = setInterval(() => {
    try {
      accessTail.poll();
      errorTail.poll();
    } catch (e) {
      log(`nginx router: reading logs failed: ${(e as Error).message}`);
    }
  }, 200);
  poller.unref();

  const pidOf = () => (running ? child?.pid : undefined);
  // A last resort if this process exits without close(): the whole group, workers included.
  const onExit = () => {
    const pid = pidOf();
    if (pid) killGroup(pid, 'SIGKILL');
  };
  process.on('exit', onExit);

  /** Writes text as the config atomically, after nginx accepted it; returns the text it replaced. */
  const install = async (text: string): Promise<string | undefined> => {
    const tmp = `${configPath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    const test = await run(binary, [...base, '-t', '-q', '-c', tmp]);
    if (test.code !== 0) {
      // Kept for a look at the line nginx names; the message names this file instead of the temp one.
      const rejected = `${configPath}.rejected`;
      fs.renameSync(tmp, rejected);
      const msg = test.stderr
        .split('\n')
        .filter((s) => s.trim() && !/test failed$/.test(s))
        .join('; ')
        .split(tmp)
        .join(rejected);
      throw new Error(`nginx rejected the configuration: ${msg || `nginx -t exited with ${test.code}`}`);
    }
    let previous: string | undefined;
    try {
      previous = fs.readFileSync(configPath, 'utf8');
    } catch {
      previous = undefined;
    }
    fs.renameSync(tmp, configPath);
    return previous;
  };

  const restore = (previous: string | undefined) => {
    if (previous === undefined) return;
    const tmp = `${configPath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, previous);
    fs.renameSync(tmp, configPath);
  };

  /** Resolves once the control socket answers `generation`; rejects on an nginx error or exit. */
  const waitGeneration = async (generation: number, since: number, timeoutMs: number) => {
    const expected = `${token} ${generation}`;
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (Date.now() < deadline) {
      errorTail.poll();
      const emerg = errorLines.filter((e) => e.seq > since && e.line.includes('[emerg]'));
      // A port in use: the master retries bind() for ~2.5 s, then logs "still could not bind()".
      const final = emerg.filter((e) => !/bind\(\) to .* failed \(98: /.test(e.line));
      if (final.length > 0) {
        const msg = [...new Set(emerg.map((e) => e.line.replace(/^.*\[emerg\] \d+#\d+: /, '')))].join('; ');
        throw new Error(`nginx could not apply the configuration: ${msg}`);
      }
      if ((await controlAnswer(controlSocket)) === expected) return;
      if (done) {
        const why = [...errorLines.filter((e) => e.seq > since).map((e) => e.line), ...stderrTail].join('; ');
        throw new Error(`nginx exited: ${why || 'no message'}`);
      }
      await sleep(20);
    }
    throw new Error(`nginx did not take configuration ${generation} within ${timeoutMs} ms`);
  };

  const start = async (generation: number) => {
    const args = [...base, '-c', configPath, '-g', 'daemon off;'];
    const proc = spawn('/bin/sh', ['-c', WATCHDOG, 'vireo-nginx', binary, ...args], {
      detached: true, // its own process group, so workers (and the watchdog) go with the master
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdin?.on('error', () => {}); // EPIPE when the watchdog is gone already
    running = true;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        running = false;
        log(`nginx router: nginx ${proc.pid} exited (${signal ?? code})`);
        resolve();
      });
      proc.once('error', (e) => {
        running = false;
        stderrTail.push(e.message);
        resolve();
      });
    });
    const onOutput = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        stderrTail.push(line);
        if (stderrTail.length > 20) stderrTail.shift();
        log(`nginx: ${line}`);
      }
    };
    proc.stdout?.on('data', onOutput);
    proc.stderr?.on('data', onOutput);
    proc.unref();
    // The pipes must not keep this process alive either (net.Socket underneath).
    for (const s of [proc.stdin, proc.stdout, proc.stderr])
      (s as unknown as { unref?: () => void } | null)?.unref?.();
    await waitGeneration(generation, errorSeq, 10_000);
    log(`nginx router: nginx ${proc.pid} started`);
  };

  const reload = async (generation: number) => {
    const pid = pidOf();
    if (!pid) throw new Error('nginx is not running');
    errorTail.poll();
    const since = errorSeq;
    const old = workersOf(pid);
    process.kill(pid, 'SIGHUP');
    await waitGeneration(generation, since, 15_000);
    // New workers answer while the old ones may still accept for ~100 ms (the master starts the new
    // ones, sleeps, then tells the old ones to quit): wait until they stopped accepting.
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !old.every(workerRetired)) await sleep(10);
  };

  let queue: Promise<unknown> = Promise.resolve();
  const serialise = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f, f);
    queue = p.catch(() => {});
    return p;
  };

  const apply = (listeners: readonly Listener[]) =>
    serialise(async () => {
      if (closed) throw new Error('the nginx router is closed');
      const generation = ++attempt;
      const text = renderNginxConfig(listeners, { dir, token, generation, controlSocket, user });
      const previous = await install(text);
      try {
        if (pidOf()) await reload(generation);
        else await start(generation);
      } catch (e) {
        restore(previous);
        throw e;
      }
      const before = new Set(applied.map((l) => hostPort(l.host, l.port)));
      for (const l of listeners) {
        if (before.has(hostPort(l.host, l.port))) continue;
        const deadline = Date.now() + 5000;
        while (!(await accepts(l.host, l.port))) {
          if (Date.now() > deadline) throw new Error(`nginx does not accept on ${hostPort(l.host, l.port)}`);
          await sleep(20);
        }
      }
      applied = [...listeners];
      log(`nginx router: applied configuration ${generation} (${listeners.length} listeners)`);
    });

  const close = ({ drainMs = 10_000 }: { drainMs?: number } = {}) =>
    serialise(async () => {
      if (closed) return;
      closed = true;
      const pid = pidOf();
      if (pid) {
        const watchdogs = childrenOf(pid).filter((c) => !c.cmdline.startsWith('nginx:'));
        child?.stdin?.write('exit\n');
        const until = Date.now() + 500;
        while (Date.now() < until && watchdogs.some((w) => alive(w.pid))) await sleep(5);
        try {
          process.kill(pid, 'SIGQUIT'); // graceful: stop accepting, finish in-flight requests
        } catch {
          // already gone
        }
        const quit = await Promise.race([exited.then(() => true), sleep(drainMs + 1000).then(() => false)]);
        // The group: workers left by a forced stop, a watchdog that did not exit.
        if (quit) killGroup(-pid, 'SIGKILL');
        else {
          killGroup(pid, 'SIGKILL');
          await Promise.race([exited, sleep(2000)]);
        }
        child?.stdin?.destroy();
        // SIGKILL is asynchronous: return once the group is gone (or 1 s, e.g. an unreaped zombie).
        const deadline = Date.now() + 1000;
        while (Date.now() < deadline && alive(-pid)) await sleep(10);
      }
      process.off('exit', onExit);
      clearInterval(poller);
      try {
        accessTail.poll();
        errorTail.poll();
      } finally {
        accessTail.close();
        errorTail.close();
        if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
      }
    });

  // Start at once with no listeners: a broken nginx setup shows here, and apply only ever reloads.
  try {
    await apply([]);
  } catch (e) {
    await close({ drainMs: 0 });
    throw e;
  }

  return {
    kind: 'nginx',
    configPath,
    get pid() {
      return pidOf();
    },
    apply,
    metrics() {
      try {
        accessTail.poll();
      } catch (e) {
        log(`nginx router: reading the access log failed: ${(e as Error).message}`);
      }
      return registry;
    },
    close,
  };
}
