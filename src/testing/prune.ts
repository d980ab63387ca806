/**
 * Kubernetes' pruning of unknown fields for a structural schema, as the API server does on write.
 * Used by tests to prove that storing an example through Vireo's CRDs loses nothing.
 */
type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
};

export function prune(schema: Schema, value: unknown, isRoot = true): unknown {
  if (Array.isArray(value))
    return schema.items ? value.map((v) => prune(schema.items as Schema, v, false)) : value;
  if (typeof value !== 'object' || value === null) return value;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // apiVersion, kind and metadata of the root are the API server's, never pruned by the schema.
    if (isRoot && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) {
      out[k] = v;
      continue;
    }
    const child = schema.properties?.[k];
    if (child) out[k] = prune(child, v, false);
    else if (typeof schema.additionalProperties === 'object')
      out[k] = prune(schema.additionalProperties, v, false);
    else if (preserve || (schema.properties === undefined && schema.additionalProperties !== undefined))
      out[k] = v;
    else if (schema.properties === undefined && schema.type === undefined) out[k] = v;
    // else: dropped, as the API server would
  }
  return out;
}
