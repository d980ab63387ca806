/**
 * One finding about a manifest: what is wrong, where (file, line, column, field path), the bad value
 * and what is allowed. The validator, the semantic rules and `vireo lint` all speak this type.
 */
export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier of the rule, e.g. `unknown-field`, `argo/set-weight-range`. */
  code: string;
  /** Field path inside the object, e.g. `['spec','strategy','canary','steps',0,'setWeight']`. */
  path: FieldPath;
  /** What is wrong, in a sentence that does not repeat the path. */
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  /** What would be accepted, e.g. `an integer from 0 to 100`. */
  allowed?: string;
  /** Where in the value the problem is (0-based characters), e.g. an expression's bad token. */
  valueOffset?: number;
  /** Filled in by the loader. */
  file?: string;
  line?: number;
  column?: number;
  /** `Kind/name` of the object the finding is about. */
  object?: string;
}

/** `spec.strategy.canary.steps[0].setWeight` */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(root)';
}

/** A short, single-line rendering of a value for messages. Long values are cut. */
export function formatValue(value: unknown): string {
  let s: string;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value); // JSON would say null
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `seed.yaml:12:7: error: spec.replicas: must be ... (got "x"; allowed: ...) [code]` */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line ? `:${d.line}:${d.column ?? 1}` : ''}: ` : '';
  const obj = d.object ? `${d.object}: ` : '';
  const got = d.value !== undefined ? `got ${formatValue(d.value)}` : '';
  const allowed = d.allowed ? `allowed: ${d.allowed}` : '';
  const detail = [got, allowed].filter(Boolean).join('; ');
  return `${where}${d.severity}: ${obj}${formatPath(d.path)}: ${d.message}${detail ? ` (${detail})` : ''} [${d.code}]`;
}

export function diag(
  severity: Severity,
  code: string,
  path: FieldPath,
  message: string,
  extra: { value?: unknown; allowed?: string } = {},
): Diagnostic {
  const d: Diagnostic = { severity, code, path, message };
  if (extra.value !== undefined) d.value = extra.value;
  if (extra.allowed !== undefined) d.allowed = extra.allowed;
  return d;
}

export const error = (
  code: string,
  path: FieldPath,
  message: string,
  extra?: { value?: unknown; allowed?: string },
) => diag('error', code, path, message, extra);
export const warning = (
  code: string,
  path: FieldPath,
  message: string,
  extra?: { value?: unknown; allowed?: string },
) => diag('warning', code, path, message, extra);
