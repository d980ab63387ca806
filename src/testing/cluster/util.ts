/** Small pieces of the test control plane: argument lists, process groups on Linux, TLS requests. */
import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';

/**
 * An argument list from a template: the literal text is split at whitespace, each interpolated value
 * stays one argument (or joins the literal text it touches): words`-out ${path} --x=${v}`.
 */
export function words(strings: TemplateStringsArray, ...values: (string | number)[]): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  const flush = () => {
    if (cur !== undefined) out.push(cur);
    cur = undefined;
  };
  strings.forEach((lit, i) => {
    const parts = lit.split(/(\s+)/);
    for (const part of parts) {
      if (part === '') continue;
      if (/^\s+$/.test(part)) flush();
      else cur = (cur ?? '') + part;
    }
    if (i < values.length) cur = (cur ?? '') + String(values[i]);
  });
  flush();
  return out;
}

export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks after boot: with the pid, names one process for good (pids are reused). */
  startTime: number;
}

/** /proc/<pid>/stat, or undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  //  cutime cstime priority nice threads itrealvalue starttime ..."; comm may hold spaces and parens.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '?', ppid: Number(f[1]), pgrp: Number(f[2]), startTime: Number(f[19]) };
}

/** Live (not zombie) processes in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.pgrp === pgid && s.state !== 'Z') out.push(Number(name));
  }
  return out;
}

export interface TlsClient {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Skip verifying the server (the controllers' self-signed health endpoints). */
  insecure?: boolean;
}

/** One HTTPS request with a deadline; resolves with the status and body whatever the status. */
export function httpsRequest(
  url: string,
  tls: TlsClient,
  { method = 'GET', body, timeoutMs = 5000 }: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecure,
        headers: body ? { 'content-type': 'application/json' } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The last `lines` lines of a file ('' when unreadable), for error messages that name a log. */
export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
