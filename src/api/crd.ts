/**
 * CustomResourceDefinition manifests (apiextensions.k8s.io/v1) generated from the kinds' schemas.
 * Defaults are left out on purpose: like Argo Rollouts and Flagger, Vireo applies them in the
 * controller, so objects stored by the API server stay exactly as the user wrote them and GitOps
 * tools see no drift (ADR 0002). Descriptions keep the documented default.
 */
import { apiVersionOf, type KindDefinition } from './kind.js';
import type { SchemaNode } from './validate.js';

export type JsonObject = { [k: string]: unknown };

/** Turns a kind's schema into an OpenAPI v3 schema the API server accepts. */
export function toOpenApiSchema(node: SchemaNode, isRoot = true): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-vireo-') || key === 'default' || key === '$id') continue;
    if (key === 'properties' && value && typeof value === 'object') {
      const props: JsonObject = {};
      for (const [name, child] of Object.entries(value as Record<string, SchemaNode>)) {
        // The API server owns ObjectMeta; a CRD may only say that it is an object.
        props[name] = isRoot && name === 'metadata' ? { type: 'object' } : toOpenApiSchema(child, false);
      }
      out.properties = props;
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = toOpenApiSchema(value as SchemaNode, false);
    } else if (key === 'anyOf' && Array.isArray(value)) {
      out.anyOf = value.map((v) => toOpenApiSchema(v as SchemaNode, false));
    } else {
      out[key] = value;
    }
  }
  const deprecated = node['x-vireo-deprecated'];
  if (deprecated)
    out.description = `${node.description ? `${node.description} ` : ''}Deprecated: ${deprecated}`;
  if (node.default !== undefined) {
    const dflt = typeof node.default === 'string' ? node.default : JSON.stringify(node.default);
    out.description = `${out.description ? `${String(out.description).replace(/\.?$/, '.')} ` : ''}Default: ${dflt}.`;
  }
  if (isRoot && out.required && Array.isArray(out.required)) {
    // apiVersion/kind/metadata are checked by the API server itself.
    const req = (out.required as string[]).filter((r) => !['apiVersion', 'kind', 'metadata'].includes(r));
    if (req.length > 0) out.required = req;
    else delete out.required;
  }
  return out;
}

export function toCrd(kind: KindDefinition): JsonObject {
  const version: JsonObject = {
    name: kind.version,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: toOpenApiSchema(kind.schema as unknown as SchemaNode) },
  };
  if (kind.subresources) {
    const sub: JsonObject = {};
    if (kind.subresources.status) sub.status = {};
    if (kind.subresources.scale) sub.scale = { ...kind.subresources.scale };
    version.subresources = sub;
  }
  if (kind.printerColumns?.length)
    version.additionalPrinterColumns = kind.printerColumns.map((c) => ({ ...c }));
  const names: JsonObject = {
    kind: kind.kind,
    listKind: `${kind.kind}List`,
    plural: kind.plural,
    singular: kind.singular,
  };
  if (kind.shortNames?.length) names.shortNames = [...kind.shortNames];
  if (kind.categories?.length) names.categories = [...kind.categories];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${kind.plural}.${kind.group}`,
      labels: { 'app.kubernetes.io/part-of': 'vireo' },
    },
    spec: { group: kind.group, names, scope: kind.scope, versions: [version] },
  };
}

export const crdFileName = (kind: KindDefinition) => `${kind.plural}.${kind.group}.yaml`;
export { apiVersionOf };
