/**
 * Schema building blocks. Every kind Vireo understands is described once, with these helpers over
 * TypeBox: the TypeScript type (`Static<typeof X>`), runtime validation (`validate.ts`), the static
 * documented defaults (`default`) and the CRD's OpenAPI v3 schema (`crd.ts`) all come from that one
 * description (ADR 0002).
 *
 * Keys starting with `x-vireo-` carry extra meaning for Vireo's own validator and are stripped from
 * the CRD manifests.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

export type { Static, TSchema };
export { Type };

type Opts = {
  description?: string;
  default?: unknown;
  /** Marks a deprecated field; the validator warns and names the replacement. */
  'x-vireo-deprecated'?: string;
  [key: string]: unknown;
};

/** A field Kubernetes calls IntOrString (`maxSurge: 25%` or `maxSurge: 1`). */
export const intOrString = (opts: Opts = {}) =>
  Type.Unsafe<number | string>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    ...opts,
  });

/** IntOrString whose string form must be a percentage such as `25%` (maxSurge, maxUnavailable). */
export const intOrPercent = (opts: Opts = {}) => intOrString({ 'x-vireo-format': 'int-or-percent', ...opts });

/**
 * A Go duration string (`30s`, `1m30s`, `500ms`), as Argo's `DurationString` and Flagger's
 * `interval` use.
 */
export const duration = (opts: Opts = {}) => Type.String({ 'x-vireo-format': 'duration', ...opts });

/** An integer number of seconds or a Go duration string (Argo's pause `duration`). */
export const intOrDuration = (opts: Opts = {}) =>
  intOrString({ 'x-vireo-format': 'int-or-duration', ...opts });

/** A closed set of strings. Emitted as `type: string, enum: [...]` (structural; no `anyOf` of consts). */
export const enumOf = <const V extends readonly string[]>(values: V, opts: Opts = {}) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...opts });

/** A map with string keys (labels, annotations, headers, template variables). */
export const stringMap = (opts: Opts = {}) =>
  Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' }, ...opts });

/** A map from string keys to values of one schema. */
export const mapOf = <S extends TSchema>(value: S, opts: Opts = {}) =>
  Type.Unsafe<Record<string, Static<S>>>({ type: 'object', additionalProperties: value, ...opts });

/** Free-form JSON kept as written (plugin config, an embedded PodSpec part Vireo does not model). */
export const freeform = (opts: Opts = {}) =>
  Type.Unsafe<Record<string, unknown>>({
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    ...opts,
  });

/** Any JSON value (e.g. a webhook's JSON body). */
export const anyValue = (opts: Opts = {}) =>
  Type.Unsafe<unknown>({ 'x-kubernetes-preserve-unknown-fields': true, ...opts });

/**
 * An object whose listed properties are validated while other keys are kept, not reported.
 * Used for embedded Kubernetes types (pod templates, Job specs) that Vireo only partly models;
 * a key close to a known one still gets a "did you mean" warning.
 */
export const openObject = <P extends Parameters<typeof Type.Object>[0]>(props: P, opts: Opts = {}) =>
  Type.Object(props, { 'x-kubernetes-preserve-unknown-fields': true, ...opts });

/** ObjectMeta of the top-level object. The CRD emits it as `{type: object}` as Kubernetes requires. */
export const objectMeta = () =>
  openObject(
    {
      name: Type.Optional(Type.String({ 'x-vireo-format': 'dns-subdomain' })),
      generateName: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String({ 'x-vireo-format': 'dns-label' })),
      labels: Type.Optional(stringMap({ 'x-vireo-format': 'labels' })),
      annotations: Type.Optional(stringMap()),
      uid: Type.Optional(Type.String()),
      resourceVersion: Type.Optional(Type.String()),
      generation: Type.Optional(Type.Integer()),
      creationTimestamp: Type.Optional(Type.Unsafe<string | null>({ type: 'string', nullable: true })),
      deletionTimestamp: Type.Optional(Type.String()),
      finalizers: Type.Optional(Type.Array(Type.String())),
      ownerReferences: Type.Optional(Type.Array(freeform())),
      managedFields: Type.Optional(Type.Array(freeform())),
    },
    { 'x-vireo-object-meta': true },
  );

/** Metadata as embedded in a template (labels and annotations only). */
export const templateMeta = () =>
  openObject({
    labels: Type.Optional(stringMap({ 'x-vireo-format': 'labels' })),
    annotations: Type.Optional(stringMap()),
  });

/**
 * The fields every top-level object starts with. Use as
 * `Type.Object({ ...objectHeader('argoproj.io/v1alpha1', 'Rollout'), spec, status })`.
 */
export const objectHeader = (apiVersion: string, kind: string) => ({
  apiVersion: Type.Unsafe<string>({ type: 'string', 'x-vireo-const': apiVersion }),
  kind: Type.Unsafe<string>({ type: 'string', 'x-vireo-const': kind }),
  metadata: Type.Optional(objectMeta()),
});
