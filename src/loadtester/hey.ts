/**
 * Reading a `hey` command line (the load generator Flagger's loadtester image bundles and its docs
 * use: `hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/`) so the built-in generator can run it.
 *
 * hey's flags, as its Go `flag` parsing reads them: `-z` duration (then `-n` is ignored), `-n`
 * requests (default 200), `-c` workers (default 50), `-q` rate limit **per worker** (so the total rate
 * is q·c), `-m` method, repeatable `-H "Name: value"`, `-t` timeout in seconds (default 20, 0 = none),
 * `-A` Accept, `-d` body, `-D` body file, `-T` Content-Type (default text/html), `-U` User-Agent,
 * `-a user:pass`, `-host`, `-disable-keepalive`, `-disable-compression`, `-disable-redirects`, `-cpus`.
 * Flags end at the first argument that is not one (the URL).
 *
 * A line with shell syntax beyond plain words and quotes (pipes, `;`, `&&`, redirections, `$`,
 * backquotes, variable assignments) or a hey flag the built-in generator cannot honour (`-h2`, `-x`
 * proxy, `-o csv`) is not taken: the caller runs it as a shell command, as Flagger does.
 */
import { readFileSync } from 'node:fs';
import { parseGoDuration } from '../api/duration.js';
import type { LoadOptions } from './load.js';

export type HeyParse =
  /** Not a hey command line (or one the built-in generator does not take): run it as a command. */
  | { kind: 'command'; reason?: string }
  /** A hey line the built-in generator runs. */
  | { kind: 'load'; load: LoadOptions }
  /** A hey line hey itself would reject (it exits 1 with this message). */
  | { kind: 'invalid'; message: string };

/**
 * Split a POSIX shell command into words when it is only words, quotes and backslashes; undefined
 * when it uses anything else the shell would interpret.
 */
export function shellWords(cmd: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    if (c === "'") {
      const close = cmd.indexOf("'", i + 1);
      if (close < 0) return undefined;
      cur += cmd.slice(i + 1, close);
      i = close;
      inWord = true;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      for (; j < cmd.length && cmd[j] !== '"'; j++) {
        const d = cmd[j] as string;
        if (d === '$' || d === '`') return undefined;
        if (d === '\\' && j + 1 < cmd.length && '"\\$`\n'.includes(cmd[j + 1] as string)) {
          j++;
          if (cmd[j] !== '\n') cur += cmd[j];
          continue;
        }
        cur += d;
      }
      if (j >= cmd.length) return undefined;
      i = j;
      inWord = true;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= cmd.length) return undefined;
      i++;
      if (cmd[i] !== '\n') cur += cmd[i];
      inWord = true;
      continue;
    }
    if ('|&;<>()$`\n\r{}'.includes(c)) return undefined;
    if ((c === '#' || c === '~') && !inWord) return undefined;
    cur += c;
    inWord = true;
  }
  if (inWord) words.push(cur);
  return words;
}

const STRING_FLAGS = new Set(['m', 'H', 'd', 'D', 'A', 'T', 'a', 'host', 'U', 'o', 'x', 'h']);
const INT_FLAGS = new Set(['c', 'n', 't', 'cpus']);
const BOOL_FLAGS = new Set(['h2', 'disable-compression', 'disable-keepalive', 'disable-redirects']);

/** Go's strconv.ParseBool. */
const goBool = (v: string): boolean | undefined =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)
    ? true
    : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)
      ? false
      : undefined;

/** Read `cmd` as a hey command line, if it is one. */
export function parseHey(cmd: string, readFile: (p: string) => Buffer = readFileSync): HeyParse {
  const words = shellWords(cmd.trim());
  if (!words || words.length === 0) return { kind: 'command' };
  const [bin, ...rest] = words as [string, ...string[]];
  if (bin !== 'hey' && !bin.endsWith('/hey')) return { kind: 'command' };

  const strings: Record<string, string> = {};
  const headers: string[] = [];
  const ints: Record<string, number> = {};
  const bools: Record<string, boolean> = {};
  let q = 0;
  let z = 0;
  let i = 0;
  for (; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    const known =
      STRING_FLAGS.has(name) || INT_FLAGS.has(name) || BOOL_FLAGS.has(name) || name === 'q' || name === 'z';
    if (!known) return { kind: 'invalid', message: `flag provided but not defined: -${name}` };
    if (BOOL_FLAGS.has(name)) {
      const b = value === undefined ? true : goBool(value);
      if (b === undefined)
        return { kind: 'invalid', message: `invalid boolean value ${JSON.stringify(value)} for -${name}` };
      bools[name] = b;
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= rest.length) return { kind: 'invalid', message: `flag needs an argument: -${name}` };
      value = rest[++i] as string;
    }
    if (name === 'H') headers.push(value);
    else if (STRING_FLAGS.has(name)) strings[name] = value;
    else if (INT_FLAGS.has(name)) {
      if (!/^[+-]?\d+$/.test(value))
        return { kind: 'invalid', message: `invalid value ${JSON.stringify(value)} for flag -${name}` };
      ints[name] = Number(value);
    } else if (name === 'q') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        return { kind: 'invalid', message: `invalid value ${JSON.stringify(value)} for flag -q` };
      q = n;
    } else {
      const ms = parseGoDuration(value);
      if (ms === undefined)
        return { kind: 'invalid', message: `invalid value ${JSON.stringify(value)} for flag -z` };
      z = ms;
    }
  }
  if (bools.h2) return { kind: 'command', reason: 'the built-in generator does not speak HTTP/2 (-h2)' };
  if (strings.x) return { kind: 'command', reason: 'the built-in generator does not use proxies (-x)' };
  if (strings.o) return { kind: 'command', reason: `the built-in generator does not write -o ${strings.o}` };
  if (strings.h) return { kind: 'invalid', message: "Flag '-h' is deprecated, please use '-H' instead." };
  const url = rest[i];
  if (url === undefined) return { kind: 'invalid', message: 'Usage: hey [options...] <url>' };

  const c = ints.c ?? 50;
  const n = ints.n ?? 200;
  if (z > 0) {
    if (c <= 0) return { kind: 'invalid', message: '-c cannot be smaller than 1.' };
  } else {
    if (n <= 0 || c <= 0) return { kind: 'invalid', message: '-n and -c cannot be smaller than 1.' };
    if (n < c) return { kind: 'invalid', message: '-n cannot be less than -c.' };
  }

  const hdrs: Record<string, string> = {};
  const setHeader = (k: string, v: string) => {
    for (const existing of Object.keys(hdrs))
      if (existing.toLowerCase() === k.toLowerCase()) delete hdrs[existing];
    hdrs[k] = v;
  };
  setHeader('Content-Type', strings.T ?? 'text/html');
  for (const h of headers) {
    const m = /^([\w-]+):\s*(.+)/.exec(h);
    if (!m) return { kind: 'invalid', message: `could not parse the provided input; input = ${h}` };
    setHeader(m[1] as string, m[2] as string);
  }
  if (strings.A) setHeader('Accept', strings.A);
  if (strings.a) {
    const m = /^(.+):([^\s].+)/.exec(strings.a);
    if (!m) return { kind: 'invalid', message: `could not parse the provided input; input = ${strings.a}` };
    setHeader('Authorization', `Basic ${Buffer.from(`${m[1]}:${m[2]}`).toString('base64')}`);
  }
  if (strings.host) setHeader('Host', strings.host);
  const ua = Object.entries(hdrs).find(([k]) => k.toLowerCase() === 'user-agent')?.[1];
  setHeader('User-Agent', strings.U ? `${strings.U} hey/0.0.1` : ua ? `${ua} hey/0.0.1` : 'hey/0.0.1');

  let body: string | Buffer | undefined = strings.d || undefined;
  if (strings.D) {
    try {
      body = readFile(strings.D);
    } catch (e) {
      return { kind: 'invalid', message: (e as Error).message };
    }
  }
  const t = ints.t ?? 20;
  const load: LoadOptions = {
    url,
    method: (strings.m ?? 'GET').toUpperCase(),
    headers: hdrs,
    concurrency: c,
    timeoutMs: t > 0 ? t * 1000 : 0,
    keepAlive: !bools['disable-keepalive'],
    insecure: true,
    ...(q > 0 ? { rate: q * c } : {}),
    ...(z > 0 ? { durationMs: z } : { requests: n }),
    ...(body !== undefined ? { body } : {}),
  };
  return { kind: 'load', load };
}
