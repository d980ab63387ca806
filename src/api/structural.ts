/**
 * Kubernetes' rules for a structural CRD schema (apiextensions.k8s.io/v1), checked before a CRD is
 * written so the API server never rejects one. Returns the violations as `path: problem` lines.
 * See https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema
 */
type Schema = { [k: string]: unknown };

/** The fields of JSONSchemaProps that apiextensions.k8s.io/v1 knows. */
const knownKeys = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'example',
  'externalDocs',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
/** Allowed by the API but forbidden in structural schemas. */
const forbiddenKeys = new Set([
  '$ref',
  '$schema',
  'id',
  'definitions',
  'dependencies',
  'patternProperties',
  'additionalItems',
  'const',
]);
const types = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
/** Inside anyOf/allOf/oneOf/not only value validations may appear. */
const notInJunctors = [
  'description',
  'type',
  'default',
  'additionalProperties',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
];

export function structuralViolations(root: Schema): string[] {
  const out: string[] = [];
  visit(root, '', out, true);
  return out;
}

function visit(s: Schema, at: string, out: string[], isRoot: boolean) {
  const here = at || '(root)';
  for (const key of Object.keys(s)) {
    if (forbiddenKeys.has(key)) out.push(`${here}: "${key}" is not allowed in a structural schema`);
    else if (!knownKeys.has(key)) out.push(`${here}: "${key}" is not a field of JSONSchemaProps`);
  }
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'];
  if (preserve !== undefined && preserve !== true)
    out.push(`${here}: x-kubernetes-preserve-unknown-fields must be true or absent`);
  if (s.type === undefined) {
    if (!intOrString && preserve !== true) out.push(`${here}: type is required`);
  } else if (typeof s.type !== 'string' || !types.has(s.type)) {
    out.push(`${here}: type ${JSON.stringify(s.type)} is not one of ${[...types].join(', ')}`);
  }
  if (intOrString) {
    const any = s.anyOf as Schema[] | undefined;
    const ok =
      s.type === undefined &&
      (any === undefined ||
        (any.length === 2 &&
          any[0]?.type === 'integer' &&
          any[1]?.type === 'string' &&
          Object.keys(any[0]).length === 1 &&
          Object.keys(any[1]).length === 1));
    if (!ok)
      out.push(`${here}: x-kubernetes-int-or-string must have no type and only anyOf [integer, string]`);
  } else {
    for (const j of ['anyOf', 'allOf', 'oneOf'] as const) {
      const list = s[j];
      if (list === undefined) continue;
      if (!Array.isArray(list)) out.push(`${here}: ${j} must be a list`);
      else for (const [i, b] of list.entries()) checkJunctor(b as Schema, `${here}.${j}[${i}]`, out);
    }
    if (s.not) checkJunctor(s.not as Schema, `${here}.not`, out);
  }
  if (s.properties !== undefined && s.additionalProperties !== undefined)
    out.push(`${here}: properties and additionalProperties are mutually exclusive`);
  if (s.additionalProperties === false) out.push(`${here}: additionalProperties must not be false`);
  if ((s.properties !== undefined || s.additionalProperties !== undefined) && s.type !== 'object')
    out.push(`${here}: properties need type object`);
  if (s.items !== undefined && s.type !== 'array') out.push(`${here}: items need type array`);
  if (s.type === 'array' && (s.items === undefined || Array.isArray(s.items)))
    out.push(`${here}: an array needs a single items schema`);
  if (s['x-kubernetes-embedded-resource'] === true && s.type !== 'object')
    out.push(`${here}: embedded resource must be an object`);
  if (s.uniqueItems === true) out.push(`${here}: uniqueItems: true is not allowed`);
  if (isRoot && s.properties) {
    const meta = (s.properties as Record<string, Schema>).metadata;
    if (meta) {
      const extra = Object.keys(meta).filter((k) => k !== 'type' && k !== 'description');
      const metaProps = Object.keys((meta.properties as object | undefined) ?? {});
      if (
        extra.some((k) => k !== 'properties') ||
        metaProps.some((p) => p !== 'name' && p !== 'generateName')
      )
        out.push('metadata: only metadata.name and metadata.generateName may be restricted');
    }
  }
  if (s.properties && typeof s.properties === 'object')
    for (const [k, v] of Object.entries(s.properties as Record<string, Schema>)) {
      if (isRoot && k === 'metadata') continue;
      visit(v, at ? `${at}.${k}` : k, out, false);
    }
  if (s.items && typeof s.items === 'object' && !Array.isArray(s.items))
    visit(s.items as Schema, `${here}[]`, out, false);
  if (s.additionalProperties && typeof s.additionalProperties === 'object')
    visit(s.additionalProperties as Schema, `${here}{}`, out, false);
}

function checkJunctor(b: Schema, at: string, out: string[]) {
  for (const k of notInJunctors)
    if (k in b) out.push(`${at}: "${k}" is not allowed inside anyOf/allOf/oneOf/not`);
  for (const sub of ['properties', 'items'] as const) {
    const v = b[sub];
    if (sub === 'properties' && v)
      for (const [k, c] of Object.entries(v as Record<string, Schema>)) checkJunctor(c, `${at}.${k}`, out);
    if (sub === 'items' && v) checkJunctor(v as Schema, `${at}[]`, out);
  }
}
