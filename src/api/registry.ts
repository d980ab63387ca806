/** Every kind Vireo understands, looked up by apiVersion and kind. */
import { argoKinds } from './argo/index.js';
import { flaggerKinds } from './flagger/index.js';
import { apiVersionOf, type KindDefinition } from './kind.js';
import type { SchemaNode } from './validate.js';

export const allKinds: readonly KindDefinition[] = [...argoKinds, ...flaggerKinds];
for (const k of allKinds) defaultIntegerFormat(k.schema as unknown as SchemaNode);

/**
 * Kubernetes API integers are int32 unless a field says int64, as in Argo's and Flagger's Go types
 * and CRDs. Marking them here (not in every schema line) keeps the CRDs' `format` in step with
 * upstream and lets the validator reject a replica count no controller could hold.
 */
function defaultIntegerFormat(node: SchemaNode): void {
  if (node.type === 'integer' && node.format === undefined) node.format = 'int32';
  for (const child of Object.values(node.properties ?? {})) defaultIntegerFormat(child);
  if (node.items) defaultIntegerFormat(node.items);
  if (typeof node.additionalProperties === 'object') defaultIntegerFormat(node.additionalProperties);
}

const byKey = new Map(allKinds.map((k) => [`${apiVersionOf(k)}/${k.kind}`, k]));

export function findKind(apiVersion: string, kind: string): KindDefinition | undefined {
  return byKey.get(`${apiVersion}/${kind}`);
}

/** Kinds whose group matches but whose version does not, for a helpful error. */
export function kindsInGroup(group: string, kind: string): KindDefinition[] {
  return allKinds.filter((k) => k.group === group && k.kind === kind);
}
