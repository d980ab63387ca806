/**
 * Test helpers over the upstream CRDs in ../shared/crds (read from there, never copied here).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared folder beside the checkout (CI clones with ../shared next to it). */
export const sharedDir = process.env.VIREO_SHARED ?? path.resolve(repoRoot, '../shared');
export const repoDir = repoRoot;

export const hasShared = existsSync(path.join(sharedDir, 'crds'));

export type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [k: string]: unknown;
};

export interface UpstreamCrd {
  group: string;
  kind: string;
  version: string;
  schema: JsonSchema;
}

export function loadUpstreamCrds(file: string): UpstreamCrd[] {
  const text = readFileSync(path.join(sharedDir, 'crds', file), 'utf8');
  const out: UpstreamCrd[] = [];
  // js-yaml, like kubectl's go-yaml, accepts the loosely indented quoted descriptions in Flagger's CRD.
  for (const doc of loadAll(text)) {
    const crd = doc as {
      kind?: string;
      spec?: {
        group: string;
        names: { kind: string };
        versions: { name: string; storage?: boolean; schema?: { openAPIV3Schema: JsonSchema } }[];
      };
    } | null;
    if (crd?.kind !== 'CustomResourceDefinition' || !crd.spec) continue;
    for (const v of crd.spec.versions) {
      if (!v.schema) continue;
      out.push({
        group: crd.spec.group,
        kind: crd.spec.names.kind,
        version: v.name,
        schema: v.schema.openAPIV3Schema,
      });
    }
  }
  return out;
}

function typeOf(s: JsonSchema): string {
  if (s['x-kubernetes-int-or-string']) return 'int-or-string';
  return s.type ?? 'any';
}

export interface CompatReport {
  /** Upstream paths our schema would reject or prune. */
  missing: string[];
  /** Paths where both schemas have a type and they differ. */
  typeMismatch: string[];
  /** Integer paths whose format (int32, int64) differs from upstream's. */
  formatMismatch: string[];
  /** Upstream paths our schema keeps without modelling (under preserve-unknown-fields). */
  preserved: number;
  checked: number;
}

/**
 * Walks every property path of `upstream` and checks that `ours` accepts it with the same type.
 */
export function compareSchemas(upstream: JsonSchema, ours: JsonSchema): CompatReport {
  const report: CompatReport = {
    missing: [],
    typeMismatch: [],
    formatMismatch: [],
    preserved: 0,
    checked: 0,
  };
  walk(upstream, ours, '', report);
  return report;
}

function numericCompatible(a: string, b: string) {
  return (a === 'integer' && b === 'number') || (a === 'number' && b === 'integer');
}

function walk(up: JsonSchema, ours: JsonSchema | undefined, at: string, r: CompatReport): void {
  if (!ours) {
    r.missing.push(at || '(root)');
    return;
  }
  r.checked++;
  const ut = typeOf(up);
  const ot = typeOf(ours);
  if (ut !== 'any' && ot !== 'any' && ut !== ot && !numericCompatible(ut, ot)) {
    r.typeMismatch.push(`${at || '(root)'}: upstream ${ut}, ours ${ot}`);
    return;
  }
  if (ut === 'integer' && typeof up.format === 'string' && ours.format !== up.format)
    r.formatMismatch.push(`${at}: upstream ${up.format}, ours ${String(ours.format ?? 'none')}`);
  const oursOpen = ours['x-kubernetes-preserve-unknown-fields'] === true;
  if (up.properties) {
    for (const [key, child] of Object.entries(up.properties)) {
      const next = at ? `${at}.${key}` : key;
      const mine = ours.properties?.[key];
      if (mine) walk(child, mine, next, r);
      else if (typeof ours.additionalProperties === 'object') walk(child, ours.additionalProperties, next, r);
      else if (oursOpen || ot === 'any') r.preserved += countPaths(child);
      else r.missing.push(next);
    }
  }
  if (up.items) {
    if (ours.items) walk(up.items, ours.items, `${at}[]`, r);
    else if (oursOpen || ot === 'any') r.preserved += countPaths(up.items);
    else r.missing.push(`${at}[]`);
  }
  if (typeof up.additionalProperties === 'object') {
    if (typeof ours.additionalProperties === 'object')
      walk(up.additionalProperties, ours.additionalProperties, `${at}{}`, r);
    else if (oursOpen || ot === 'any') r.preserved += 1;
    else r.missing.push(`${at}{}`);
  }
}

function countPaths(s: JsonSchema): number {
  let n = 1;
  for (const c of Object.values(s.properties ?? {})) n += countPaths(c);
  if (s.items) n += countPaths(s.items);
  return n;
}
