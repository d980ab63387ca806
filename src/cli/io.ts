/** Input and output shared by the commands: reading manifests, printing data as text, JSON or YAML. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/** Exit codes scripts can rely on. */
export const ExitCode = {
  /** Done; nothing wrong. */
  ok: 0,
  /** The command ran and found problems (lint errors, invalid manifests, a failed check). */
  findings: 1,
  /** The command could not run: bad flags, unreadable files. */
  usage: 2,
} as const;

export class UsageError extends Error {}

export interface SourceFile {
  /** The name printed in messages: the path as given, or `<stdin>`. */
  name: string;
  text: string;
}

const manifestExt = /\.(ya?ml|json)$/i;

/** Files, directories (recursively, *.yaml/*.yml/*.json) or `-` for standard input. */
export function readSources(
  inputs: readonly string[],
  stdin: () => string = () => readFileSync(0, 'utf8'),
): SourceFile[] {
  if (inputs.length === 0)
    throw new UsageError('no input: give -f FILE (a file, a directory, or - for standard input)');
  const out: SourceFile[] = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push({ name: '<stdin>', text: stdin() });
      continue;
    }
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(input);
    } catch {
      throw new UsageError(`${input}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const found = walk(input);
      if (found.length === 0)
        throw new UsageError(`${input}: no .yaml, .yml or .json files in this directory`);
      for (const f of found) out.push({ name: f, text: readFileSync(f, 'utf8') });
    } else {
      out.push({ name: input, text: readFileSync(input, 'utf8') });
    }
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p));
    else if (manifestExt.test(entry.name)) out.push(p);
  }
  return out;
}

export type OutputFormat = 'text' | 'json' | 'yaml';

export function parseOutput(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'text' || value === 'wide') return 'text';
  if (value === 'json' || value === 'yaml') return value;
  throw new UsageError(`-o ${value}: unknown output format (allowed: json, yaml, text)`);
}

export function renderData(data: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data, { lineWidth: 0 });
}

/** Where commands write; injectable so tests run commands in-process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin(): string;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  stdin: () => readFileSync(0, 'utf8'),
};
