/**
 * Building an AnalysisRun from the templates a Rollout (or a step, or blue/green pre/post-promotion
 * analysis) names, as Argo does when it creates the run: templates are flattened (nested
 * `spec.templates` included), their metrics, args, dryRun and measurementRetention rules merged,
 * then the Rollout's args applied (`resolveArgs`, Argo's MergeArgs).
 *
 * Pure: templates come from a lookup the adapter supplies (cluster objects, files, the simulator).
 * Every problem is an error naming the template and the field; the rollout machine turns a failed
 * build into an Error run, as Argo does.
 */
import type { AnalysisRun, AnalysisTemplateSpec, ArgInput, Metric } from '../../api/argo/analysis.js';
import { resolveArgs } from '../../api/argo/analysis.js';

export interface TemplateRef {
  templateName?: string;
  clusterScope?: boolean;
}

export interface AnalysisRunInput {
  name: string;
  namespace?: string;
  templates: readonly TemplateRef[];
  /** The Rollout's args (value or valueFrom). */
  args?: readonly ArgInput[];
  dryRun?: readonly { metricName: string }[];
  measurementRetention?: readonly { metricName: string; limit: number }[];
  /** For `valueFrom.podTemplateHashValue`: the stable and the latest (canary) pod-template hash. */
  podTemplateHashes?: { Stable?: string; Latest?: string };
  /** For `valueFrom.fieldRef`: the object the fieldPath is read from (the Rollout). */
  owner?: unknown;
}

export type TemplateKind = 'AnalysisTemplate' | 'ClusterAnalysisTemplate';
export type TemplateLookup = (
  kind: TemplateKind,
  name: string,
) => { spec?: AnalysisTemplateSpec } | undefined;

export type BuiltRun =
  | {
      ok: true;
      run: AnalysisRun;
      /** Args the host must still resolve when it measures (valueFrom.secretKeyRef). */
      valueFrom: ArgInput[];
    }
  | { ok: false; message: string };

/** Nesting deeper than this is treated as a cycle (Argo has no limit; a cycle would never end). */
export const MAX_TEMPLATE_DEPTH = 10;

class BuildError extends Error {}

interface Flat {
  metrics: Metric[];
  args: ArgInput[];
  dryRun: { metricName: string }[];
  measurementRetention: { metricName: string; limit: number }[];
}

function flatten(
  refs: readonly TemplateRef[],
  lookup: TemplateLookup,
  path: readonly string[],
  out: Flat,
): void {
  for (const ref of refs) {
    if (!ref.templateName) throw new BuildError('a template reference needs a templateName');
    const kind: TemplateKind = ref.clusterScope ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
    const key = `${kind}/${ref.templateName}`;
    if (path.includes(key))
      throw new BuildError(`${[...path, key].join(' -> ')}: templates refer to each other in a cycle`);
    if (path.length >= MAX_TEMPLATE_DEPTH)
      throw new BuildError(`${key}: templates nested deeper than ${MAX_TEMPLATE_DEPTH} levels`);
    const tpl = lookup(kind, ref.templateName);
    if (!tpl) throw new BuildError(`${kind} "${ref.templateName}" not found`);
    const spec = tpl.spec ?? {};
    for (const m of spec.metrics ?? []) {
      if (out.metrics.some((x) => x.name === m.name))
        throw new BuildError(`${key}: two metrics have the same name "${m.name}"`);
      out.metrics.push(m);
    }
    for (const a of spec.args ?? []) {
      const prev = out.args.find((x) => x.name === a.name);
      if (!prev) {
        out.args.push({ ...a } as ArgInput);
        continue;
      }
      // The same arg in two templates: one value fills the other's gap; two different values conflict.
      if (a.value !== undefined && prev.value !== undefined && a.value !== prev.value)
        throw new BuildError(
          `${key}: arg "${a.name}" has two different values ("${prev.value}", "${a.value}")`,
        );
      if (prev.value === undefined && a.value !== undefined) prev.value = a.value;
      if (prev.valueFrom === undefined && a.valueFrom !== undefined)
        prev.valueFrom = a.valueFrom as ArgInput['valueFrom'];
    }
    for (const d of spec.dryRun ?? []) addRule(out.dryRun, d, key, 'dryRun');
    for (const r of spec.measurementRetention ?? [])
      addRule(out.measurementRetention, r, key, 'measurementRetention');
    flatten(spec.templates ?? [], lookup, [...path, key], out);
  }
}

function addRule<T extends { metricName: string }>(list: T[], rule: T, where: string, field: string): void {
  if (list.some((x) => x.metricName === rule.metricName))
    throw new BuildError(`${where}: two ${field} rules for metricName "${rule.metricName}"`);
  list.push(rule);
}

/** The AnalysisRun Argo would create for `input` (spec only; the adapter adds owner, labels, status). */
export function buildAnalysisRun(input: AnalysisRunInput, lookup: TemplateLookup): BuiltRun {
  const flat: Flat = { metrics: [], args: [], dryRun: [], measurementRetention: [] };
  try {
    if (input.templates.length === 0) throw new BuildError('no templates');
    flatten(input.templates, lookup, [], flat);
    if (flat.metrics.length === 0) throw new BuildError('the templates define no metrics');
    for (const d of input.dryRun ?? []) addRule(flat.dryRun, d, 'the rollout', 'dryRun');
    for (const r of input.measurementRetention ?? [])
      addRule(flat.measurementRetention, r, 'the rollout', 'measurementRetention');
  } catch (e) {
    if (e instanceof BuildError) return { ok: false, message: e.message };
    throw e;
  }
  const merged = resolveArgs(flat.args, input.args ?? []);
  if (merged.missing.length > 0) return { ok: false, message: `args.${merged.missing[0]} was not resolved` };
  if (merged.conflicting.length > 0)
    return { ok: false, message: `arg "${merged.conflicting[0]}" has both value and valueFrom` };
  // podTemplateHashValue and fieldRef become values when the run is created; secrets stay references.
  const args: ArgInput[] = [];
  for (const a of merged.args) {
    const from = a.valueFrom;
    if (a.value !== undefined || !from) {
      args.push({ name: a.name, ...(a.value !== undefined ? { value: a.value } : {}) });
      continue;
    }
    if (typeof from.podTemplateHashValue === 'string') {
      const hash = input.podTemplateHashes?.[from.podTemplateHashValue as 'Stable' | 'Latest'];
      if (hash === undefined)
        return {
          ok: false,
          message: `arg "${a.name}": no ${String(from.podTemplateHashValue)} pod-template hash yet`,
        };
      args.push({ name: a.name, value: hash });
    } else if (isObj(from.fieldRef)) {
      const path = String(from.fieldRef.fieldPath ?? '');
      const value = fieldValue(input.owner, path);
      if (value === undefined)
        return { ok: false, message: `arg "${a.name}": fieldPath "${path}" not found` };
      args.push({ name: a.name, value });
    } else args.push({ name: a.name, valueFrom: from });
  }
  const run: AnalysisRun = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    metadata: { name: input.name, ...(input.namespace ? { namespace: input.namespace } : {}) },
    spec: {
      metrics: flat.metrics,
      ...(args.length > 0 ? { args: args as AnalysisRun['spec']['args'] } : {}),
      ...(flat.dryRun.length > 0 ? { dryRun: flat.dryRun } : {}),
      ...(flat.measurementRetention.length > 0 ? { measurementRetention: flat.measurementRetention } : {}),
    },
  };
  return { ok: true, run, valueFrom: args.filter((a) => a.valueFrom !== undefined) };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `metadata.name`, `metadata.labels['app']`, `spec.replicas` of an object, as text (Kubernetes fieldPath). */
export function fieldValue(o: unknown, path: string): string | undefined {
  const parts = path.match(/[^.[\]'"]+/g) ?? [];
  let cur: unknown = o;
  for (const p of parts) cur = isObj(cur) ? cur[p] : undefined;
  if (cur === undefined || cur === null || typeof cur === 'object') return undefined;
  return String(cur);
}
