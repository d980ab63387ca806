/**
 * What Vireo knows about one API kind: its schema and everything a CRD needs. Each dialect
 * (`argo/`, `flagger/`) exports a list of these; `registry.ts` joins them.
 */
import type { TObject } from '@sinclair/typebox';
import type { Diagnostic } from './diagnostics.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** A parsed object from a manifest file, as the rules see it. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface RuleContext {
  /** Every object loaded together with this one (same files), for cross-references. */
  readonly objects: readonly ManifestObject[];
}

/** Semantic checks beyond the schema, e.g. Argo's InvalidSpec rules. Must not throw. */
export type Rule = (obj: ManifestObject, ctx: RuleContext) => Diagnostic[];

export interface KindDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  /** The whole object: apiVersion, kind, metadata, spec, status. */
  schema: TObject;
  subresources?: {
    status?: boolean;
    scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  };
  printerColumns?: PrinterColumn[];
  rules?: Rule[];
}

export const apiVersionOf = (k: Pick<KindDefinition, 'group' | 'version'>) => `${k.group}/${k.version}`;
