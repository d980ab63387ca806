/**
 * Validates a parsed object against a kind's schema and reports every problem at once, each with its
 * field path, the bad value and what is allowed. Written over the JSON Schema that the kinds are built
 * from (rather than TypeBox's `Value.Errors`) so that unknown fields get a "did you mean", Kubernetes
 * conventions (int-or-string, preserve-unknown-fields, null = absent) hold, and messages say what is
 * allowed in words.
 */
import { distance } from 'fastest-levenshtein';
import { type Diagnostic, error, type FieldPath, formatValue, warning } from './diagnostics.js';
import { parseGoDuration, parseIntOrDuration } from './duration.js';

/** The JSON Schema subset Vireo's kinds use (see schema.ts). */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  nullable?: boolean;
  default?: unknown;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  format?: string;
  'x-vireo-format'?:
    | 'duration'
    | 'int-or-percent'
    | 'int-or-duration'
    | 'dns-label'
    | 'dns-subdomain'
    | 'labels';
  /** At most one of these keys may be set (Istio StringMatch: exact, prefix, regex). */
  'x-vireo-at-most-one-of'?: string[];
  /** Items of this list must differ in these keys (container names). */
  'x-vireo-unique-keys'?: string[];
  /** Said instead of the raw regex when `pattern` does not match. */
  'x-vireo-pattern-hint'?: string;
  'x-vireo-const'?: string;
  'x-vireo-deprecated'?: string;
  [k: string]: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The closest candidate to `word`, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const exactCase = candidates.find((c) => c.toLowerCase() === lower);
  if (exactCase) return exactCase;
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

function listAllowed(values: readonly unknown[], max = 15): string {
  const shown = values.slice(0, max).map((v) => (typeof v === 'string' && v !== '' ? v : formatValue(v)));
  return `one of ${shown.join(', ')}${values.length > max ? `, ... (${values.length} in all)` : ''}`;
}

function describeType(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string']) {
    switch (node['x-vireo-format']) {
      case 'int-or-percent':
        return 'an integer or a percentage such as "25%"';
      case 'int-or-duration':
        return 'a number of seconds or a duration such as "30s" or "2m"';
      default:
        return 'an integer or a string';
    }
  }
  switch (node.type) {
    case 'object':
      return 'a mapping (key: value)';
    case 'array':
      return 'a list';
    case 'string':
      if (node['x-vireo-format'] !== 'duration') return 'a string';
      return node['x-vireo-pattern-hint'] ?? 'a duration such as "30s", "1m" or "1h30m"';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    default:
      return 'any value';
  }
}

function rangeText(node: SchemaNode): string | undefined {
  const { minimum: min, maximum: max } = node;
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  if (min !== undefined) return `${min} or more`;
  if (max !== undefined) return `${max} or less`;
  return undefined;
}

export interface ValidateOptions {
  /** Report unknown fields as errors (default) or warnings. */
  unknownFieldSeverity?: 'error' | 'warning';
  /** The whole kind's schema, to say where a misplaced field belongs. Set by validateValue. */
  root?: SchemaNode;
}

/**
 * Where else in the schema a field of this name exists (shallowest first), e.g. `labels` put at the
 * top instead of under `metadata`: "metadata.labels". Breadth-first and bounded.
 */
export function whereFieldLives(root: SchemaNode | undefined, key: string): string | undefined {
  if (!root) return undefined;
  const queue: { node: SchemaNode; at: string }[] = [{ node: root, at: '' }];
  const found: string[] = [];
  for (let visited = 0; queue.length > 0 && visited < 5000 && found.length < 2; visited++) {
    const { node, at } = queue.shift()!;
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const here = at ? `${at}.${name}` : name;
      if (name === key) found.push(at || '(top level)');
      queue.push({ node: child, at: here });
    }
    if (node.items) queue.push({ node: node.items, at: `${at}[]` });
  }
  if (found.length === 0) return undefined;
  return found.join(' and of ');
}

export function validateValue(
  schema: SchemaNode,
  value: unknown,
  path: FieldPath = [],
  opts: ValidateOptions = {},
): Diagnostic[] {
  const out: Diagnostic[] = [];
  check(schema, value, [...path], out, { root: schema, ...opts });
  return out;
}

function check(
  node: SchemaNode,
  value: unknown,
  path: (string | number)[],
  out: Diagnostic[],
  opts: ValidateOptions,
) {
  if (node['x-vireo-deprecated'] !== undefined) {
    out.push(
      warning('deprecated', path, 'this field is deprecated', {
        allowed: node['x-vireo-deprecated'],
      }),
    );
  }
  if (value === null) {
    // Kubernetes prunes nulls of non-nullable fields: the field counts as absent.
    if (!node.nullable)
      out.push(warning('null-value', path, 'an empty value is treated as if the field were absent'));
    return;
  }
  const konst = node['x-vireo-const'];
  if (konst !== undefined) {
    if (value !== konst)
      out.push(error('value', path, `must be ${formatValue(konst)}`, { value, allowed: konst }));
    return;
  }
  if (node['x-kubernetes-int-or-string']) {
    checkIntOrString(node, value, path, out);
    return;
  }
  switch (node.type) {
    case undefined:
      return; // any value (preserve-unknown-fields)
    case 'object':
      checkObject(node, value, path, out, opts);
      return;
    case 'array':
      if (!Array.isArray(value)) {
        out.push(typeError(node, value, path));
        return;
      }
      if (node.minItems !== undefined && value.length < node.minItems)
        out.push(
          error('min-items', path, `needs at least ${node.minItems} item(s)`, { value: value.length }),
        );
      if (node.maxItems !== undefined && value.length > node.maxItems)
        out.push(
          error('max-items', path, `allows at most ${node.maxItems} item(s)`, { value: value.length }),
        );
      if (node.items)
        for (const [i, item] of value.entries())
          check(node.items as SchemaNode, item, [...path, i], out, opts);
      if (node['x-vireo-unique-keys']) checkUniqueKeys(node['x-vireo-unique-keys'], value, path, out);
      return;
    case 'string':
      checkString(node, value, path, out);
      return;
    case 'integer':
    case 'number':
      checkNumber(node, value, path, out);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(typeError(node, value, path));
      return;
  }
}

/** The bare JSON type a value must have, e.g. "a string"; `describeType` adds the format. */
function kindOf(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string']) return 'an integer or a string';
  if (node.type === 'string') return 'a string';
  return describeType(node);
}

function typeError(node: SchemaNode, value: unknown, path: FieldPath): Diagnostic {
  const actual = Array.isArray(value)
    ? 'a list'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'a mapping'
        : `a ${typeof value}`;
  return error('type', path, `must be ${kindOf(node)}, not ${actual}`, {
    value,
    allowed: describeType(node),
  });
}

function checkIntOrString(node: SchemaNode, value: unknown, path: FieldPath, out: Diagnostic[]) {
  const fmt = node['x-vireo-format'];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) out.push(typeError(node, value, path));
    else if (value < 0 && fmt !== undefined)
      out.push(error('range', path, 'must not be negative', { value, allowed: '0 or more' }));
    return;
  }
  if (typeof value !== 'string') {
    out.push(typeError(node, value, path));
    return;
  }
  if (isPlaceholder(value)) return;
  if (fmt === 'int-or-percent' && !/^\d+%?$/.test(value))
    out.push(
      error('format', path, 'is not an integer or a percentage', { value, allowed: describeType(node) }),
    );
  if (fmt === 'int-or-duration' && parseIntOrDuration(value) === undefined)
    out.push(error('format', path, 'is not a duration', { value, allowed: describeType(node) }));
}

/**
 * A `{{...}}` placeholder (Argo's `{{args.x}}`, Flagger's `{{ namespace }}`) is filled in before the
 * value is used, so its final form cannot be judged here.
 */
const isPlaceholder = (s: string) => s.includes('{{');

function checkString(node: SchemaNode, value: unknown, path: FieldPath, out: Diagnostic[]) {
  if (typeof value !== 'string') {
    out.push(typeError(node, value, path));
    return;
  }
  if (isPlaceholder(value)) return;
  if (node.enum && !node.enum.includes(value)) {
    const suggestion = didYouMean(
      value,
      node.enum.filter((e): e is string => typeof e === 'string'),
    );
    out.push(
      error(
        'enum',
        path,
        `${formatValue(value)} is not allowed${suggestion ? `; did you mean ${formatValue(suggestion)}?` : ''}`,
        {
          value,
          allowed: listAllowed(node.enum),
        },
      ),
    );
  }
  const notDuration = node['x-vireo-format'] === 'duration' && parseGoDuration(value) === undefined;
  if (notDuration)
    out.push(error('format', path, 'is not a duration', { value, allowed: describeType(node) }));
  if (node.minLength !== undefined && value.length < node.minLength)
    out.push(
      error(
        'min-length',
        path,
        node.minLength === 1 ? 'must not be empty' : `must be at least ${node.minLength} characters`,
        {
          value,
        },
      ),
    );
  if (node.maxLength !== undefined && value.length > node.maxLength)
    out.push(error('max-length', path, `must be at most ${node.maxLength} characters`, { value }));
  // A value that is not a duration at all need not also be told it misses the pattern.
  if (node.pattern !== undefined && !notDuration && !new RegExp(node.pattern).test(value))
    out.push(
      error('pattern', path, 'has the wrong format', {
        value,
        allowed: node['x-vireo-pattern-hint'] ?? `text matching /${node.pattern}/`,
      }),
    );
  const fmt = node['x-vireo-format'];
  if (fmt === 'dns-label' && !(dnsLabel.test(value) && value.length <= 63))
    out.push(
      error('pattern', path, 'is not a valid name', {
        value,
        allowed:
          'a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit',
      }),
    );
  if (fmt === 'dns-subdomain' && !(dnsSubdomain.test(value) && value.length <= 253))
    out.push(
      error('pattern', path, 'is not a valid name', {
        value,
        allowed:
          'a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters',
      }),
    );
  if (node.format === 'date-time' && !rfc3339.test(value))
    out.push(
      error('format', path, 'is not a date and time', {
        value,
        allowed: 'an RFC 3339 timestamp such as 2026-01-02T15:04:05Z',
      }),
    );
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Kubernetes label keys (`prefix/name`) and values. */
function checkLabels(value: Record<string, unknown>, path: (string | number)[], out: Diagnostic[]) {
  for (const [key, v] of Object.entries(value)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    if (isPlaceholder(key)) continue;
    const keyOk =
      name.length <= 63 &&
      labelName.test(name) &&
      (prefix === undefined || (prefix.length <= 253 && dnsSubdomain.test(prefix)));
    if (!keyOk)
      out.push(
        error('pattern', [...path, key], 'is not a valid label key', {
          value: key,
          allowed:
            'an optional DNS subdomain prefix and "/", then at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
        }),
      );
    if (typeof v === 'string' && !isPlaceholder(v) && !(v.length <= 63 && labelValue.test(v)))
      out.push(
        error('pattern', [...path, key], 'is not a valid label value', {
          value: v,
          allowed:
            'at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (or empty)',
        }),
      );
  }
}

function checkUniqueKeys(keys: string[], items: unknown[], path: (string | number)[], out: Diagnostic[]) {
  for (const key of keys) {
    const seen = new Map<unknown, number>();
    for (const [i, item] of items.entries()) {
      if (!isPlainObject(item) || item[key] === undefined) continue;
      const first = seen.get(item[key]);
      if (first !== undefined)
        out.push(
          error('duplicate', [...path, i, key], `duplicates item ${first}`, {
            value: item[key],
            allowed: `a ${key} that no other item in this list has`,
          }),
        );
      else seen.set(item[key], i);
    }
  }
}

function checkNumber(node: SchemaNode, value: unknown, path: FieldPath, out: Diagnostic[]) {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (node.type === 'integer' && !Number.isInteger(value))
  ) {
    out.push(typeError(node, value, path));
    return;
  }
  if (
    node.type === 'integer' &&
    (node.format === 'int32' ? value < -(2 ** 31) || value >= 2 ** 31 : !Number.isSafeInteger(value))
  ) {
    out.push(
      error('range', path, 'is too large for this field', {
        value,
        allowed:
          node.format === 'int32'
            ? 'a 32-bit integer (at most 2147483647)'
            : 'an integer of at most 9007199254740991',
      }),
    );
    return;
  }
  const below = node.minimum !== undefined && value < node.minimum;
  const above = node.maximum !== undefined && value > node.maximum;
  const notAbove = node.exclusiveMinimum !== undefined && value <= node.exclusiveMinimum;
  if (below || above)
    out.push(
      error('range', path, 'is out of range', { value, allowed: `${describeType(node)} ${rangeText(node)}` }),
    );
  if (notAbove)
    out.push(
      error('range', path, 'is out of range', {
        value,
        allowed: `${describeType(node)} greater than ${node.exclusiveMinimum}`,
      }),
    );
}

function checkObject(
  node: SchemaNode,
  value: unknown,
  path: (string | number)[],
  out: Diagnostic[],
  opts: ValidateOptions,
) {
  if (!isPlainObject(value)) {
    out.push(typeError(node, value, path));
    return;
  }
  const props = node.properties;
  const open = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const req of node.required ?? []) {
    if (value[req] === undefined || value[req] === null) {
      const child = props?.[req];
      out.push(
        error('required', [...path, req], 'is required', child ? { allowed: describeType(child) } : {}),
      );
    }
  }
  const exclusive = node['x-vireo-at-most-one-of'];
  if (exclusive) {
    const set = exclusive.filter((k) => value[k] !== undefined && value[k] !== null);
    if (set.length > 1)
      out.push(
        error('one-of', path, `sets ${set.join(' and ')}; only one may be set`, {
          allowed: `one of ${exclusive.join(', ')}`,
        }),
      );
  }
  if (node['x-vireo-format'] === 'labels') checkLabels(value, path, out);
  const additional = node.additionalProperties;
  const known = props ? Object.keys(props) : [];
  for (const [key, child] of Object.entries(value)) {
    const childPath = [...path, key];
    const childSchema = props?.[key];
    if (childSchema) {
      check(childSchema, child, childPath, out, opts);
    } else if (typeof additional === 'object') {
      check(additional, child, childPath, out, opts);
    } else if (props && !open) {
      const suggestion = didYouMean(key, known);
      const elsewhere = suggestion ? undefined : whereFieldLives(opts.root, key);
      const hint = suggestion
        ? `; did you mean ${formatValue(suggestion)}?`
        : elsewhere
          ? `; ${formatValue(key)} is a field of ${elsewhere}`
          : '';
      out.push({
        ...error('unknown-field', childPath, `unknown field ${formatValue(key)}${hint}`, {
          allowed: listAllowed(known),
        }),
        severity: opts.unknownFieldSeverity ?? 'error',
      });
    } else if (props && open && known.length > 0) {
      // Open objects keep unknown keys, but one that is a near-miss of a known key is likely a typo.
      const suggestion = didYouMean(key, known);
      if (suggestion && suggestion !== key)
        out.push(
          warning(
            'possible-typo',
            childPath,
            `field ${formatValue(key)} is kept as written; did you mean ${formatValue(suggestion)}?`,
          ),
        );
    }
  }
}
