/**
 * The controller's structured log: one line per entry, on stderr by default.
 *
 * - `json`: the keys of Argo Rollouts' logrus JSON lines, `{"time","level","msg",...fields}`, with
 *   logrus's level names (`warning`, not `warn`), so existing log pipelines and queries keep working.
 *   Put the object a line is about in the fields Argo uses: `rollout`, `namespace`.
 * - `text`: `TIME LEVEL msg k=v ...` for people; values with spaces or quotes are JSON-quoted.
 *
 * Secrets never reach a line: the value of a field whose name looks secret (password, token, secret,
 * authorization, api key, ...: `isSensitiveHeader`, the rule the outbound HTTP client uses for header
 * names) becomes `*****`, at any depth, and so does the `value` of a `{name|key, value}` pair with
 * such a name (HTTP headers); in every string, message included, the user info of a URL and
 * the values of its secret-looking query parameters become `*****`. That rule also matches a field
 * named `key`, so a work-queue key is logged as `rollout`/`namespace` (or `object`), not as `key`.
 */
import { isSensitiveHeader } from '../../gates/http.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (a line's own fields win). */
  child(fields: LogFields): Logger;
  /** Whether lines of `level` are written, to skip building costly fields. */
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  format?: LogFormat;
  /** Lines below this level are dropped (default `info`). */
  level?: LogLevel;
  /** Where each line goes, without its newline (default: stderr). */
  write?: (line: string) => void;
  now?: () => Date;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
/** logrus's names, as Argo's JSON lines carry them. */
const JSON_LEVEL: Record<LogLevel, string> = {
  debug: 'debug',
  info: 'info',
  warn: 'warning',
  error: 'error',
};
const TEXT_LEVEL: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };
/** Keys of the line itself; a field with one of these names is written as `fields.<name>`, as logrus does. */
const RESERVED = new Set(['time', 'level', 'msg']);

export const REDACTED = '*****';

export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(RANK, s);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const min = RANK[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = opts.now ?? (() => new Date());

  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (RANK[level] < min) return;
      const all = fields ? { ...base, ...fields } : base;
      const time = now().toISOString();
      const text = redactString(msg);
      const safe = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, unknown] => [RESERVED.has(k) ? `fields.${k}` : k, redactField(k, v)]);
      write(format === 'json' ? jsonLine(time, level, text, safe) : textLine(time, level, text, safe));
    };
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...base, ...fields }),
      enabled: (level) => RANK[level] >= min,
    };
  };
  return make({});
}

const nop = (): void => {};
/** A logger that writes nothing (the default of modules that take an optional logger). */
export const discardLogger: Logger = {
  debug: nop,
  info: nop,
  warn: nop,
  error: nop,
  child: () => discardLogger,
  enabled: () => false,
};

function jsonLine(time: string, level: LogLevel, msg: string, fields: [string, unknown][]): string {
  const line: LogFields = { time, level: JSON_LEVEL[level], msg };
  for (const [k, v] of fields) line[k] = v;
  return JSON.stringify(line);
}

function textLine(time: string, level: LogLevel, msg: string, fields: [string, unknown][]): string {
  // One entry, one line: a message with line breaks keeps them escaped.
  const parts = [time, TEXT_LEVEL[level], msg.replace(/\r?\n/g, '\\n')];
  for (const [k, v] of fields) parts.push(`${k}=${textValue(v)}`);
  return parts.join(' ');
}

function textValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

// -------------------------------------------------------------------------------------------------
// Redaction

/** Objects deeper than this are cut: a log line is not a dump. */
const MAX_DEPTH = 6;

/** The value of field `key`, made safe to write: secrets masked, errors as their message. */
export function redactField(key: string, value: unknown): unknown {
  return isSensitiveHeader(key) && value !== null && value !== ''
    ? REDACTED
    : redactValue(value, 0, new Set());
}

function redactValue(v: unknown, depth: number, seen: Set<object>): unknown {
  if (typeof v === 'string') return redactString(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v !== 'object' || v === null) return typeof v === 'function' ? undefined : v;
  if (v instanceof Error) return redactString(v.message);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (v instanceof URL) return redactString(v.href);
  if (seen.has(v) || depth >= MAX_DEPTH) return '[…]';
  seen.add(v);
  try {
    if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1, seen));
    const out: LogFields = {};
    // A `{key|name, value}` pair (HTTP headers of Argo's metric providers) is secret by its name.
    const pairName = (v as LogFields).key ?? (v as LogFields).name;
    const secretPair = typeof pairName === 'string' && isSensitiveHeader(pairName);
    for (const [k, x] of Object.entries(v))
      out[k] =
        (isSensitiveHeader(k) || (secretPair && k === 'value')) && x !== null && x !== ''
          ? REDACTED
          : redactValue(x, depth + 1, seen);
    return out;
  } finally {
    seen.delete(v);
  }
}

/** A URL inside text: scheme, then anything up to white space or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

const LOOSE_USER_INFO = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s:]*:([^@\s]*)@/i;

/** `text` with the user info of each URL and its secret-looking query values masked. */
export function redactString(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (url) => {
    const schemeEnd = url.indexOf('://') + 3;
    const authorityEnd = firstIndexOf(url, ['/', '?', '#'], schemeEnd);
    let at = url.lastIndexOf('@', authorityEnd);
    if (at < schemeEnd) {
      // A password with an unencoded '/', '?' or '#' ends the authority early by the RFC, but is
      // still a password: `user:pa/ss@host`. A port followed by a path (`host:8080/@scope`) is not.
      const loose = LOOSE_USER_INFO.exec(url);
      if (loose && !/^\d*[/?#]/.test(loose[1] ?? '')) at = loose[0].length - 1;
    }
    const head = at >= schemeEnd ? `${url.slice(0, schemeEnd)}${REDACTED}${url.slice(at)}` : url;
    return head.replace(/([?&;])([^=&#;]+)=([^&#;]*)/g, (all, sep: string, name: string, value: string) =>
      value !== '' && isSensitiveHeader(safeDecode(name)) ? `${sep}${name}=${REDACTED}` : all,
    );
  });
}

function firstIndexOf(s: string, chars: string[], from: number): number {
  let end = s.length;
  for (const c of chars) {
    const i = s.indexOf(c, from);
    if (i !== -1 && i < end) end = i;
  }
  return end;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
