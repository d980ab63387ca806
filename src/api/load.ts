/**
 * Reads manifest files: multi-document YAML (or JSON), `kind: List` expanded, each object recognised
 * as one of Vireo's kinds, a Kubernetes object kept for later use (Services, Ingresses, Deployments…),
 * or an unknown kind (kept, with a warning). Every diagnostic gets its file, line and column.
 */
import { load as loadLenient } from 'js-yaml';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  type ScalarTag,
} from 'yaml';
import { type Diagnostic, error, type FieldPath, warning } from './diagnostics.js';
import type { KindDefinition, ManifestObject, RuleContext } from './kind.js';
import { allKinds, findKind, kindsInGroup } from './registry.js';
import { didYouMean, type SchemaNode, validateValue } from './validate.js';

/** Kubernetes kinds that releases refer to; recognised and kept, not validated by Vireo. */
const kubernetesKinds = new Set([
  'v1/Service',
  'v1/ConfigMap',
  'v1/Secret',
  'v1/Namespace',
  'v1/ServiceAccount',
  'v1/Pod',
  'apps/v1/Deployment',
  'apps/v1/DaemonSet',
  'apps/v1/StatefulSet',
  'apps/v1/ReplicaSet',
  'batch/v1/Job',
  'networking.k8s.io/v1/Ingress',
  'autoscaling/v1/HorizontalPodAutoscaler',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'autoscaling/v2beta2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget',
  'traefik.io/v1alpha1/TraefikService',
  'traefik.io/v1alpha1/IngressRoute',
  'traefik.containo.us/v1alpha1/TraefikService',
  'traefik.containo.us/v1alpha1/IngressRoute',
  'networking.istio.io/v1/VirtualService',
  'networking.istio.io/v1beta1/VirtualService',
  'networking.istio.io/v1alpha3/VirtualService',
  'networking.istio.io/v1/DestinationRule',
  'networking.istio.io/v1beta1/DestinationRule',
  'networking.istio.io/v1alpha3/DestinationRule',
  'networking.istio.io/v1beta1/Gateway',
  'split.smi-spec.io/v1alpha1/TrafficSplit',
  'split.smi-spec.io/v1alpha2/TrafficSplit',
  'gateway.networking.k8s.io/v1/HTTPRoute',
  'gateway.networking.k8s.io/v1/Gateway',
  'gateway.networking.k8s.io/v1beta1/HTTPRoute',
  'keda.sh/v1alpha1/ScaledObject',
]);

export type ObjectCategory = 'vireo' | 'kubernetes' | 'unknown';

/** Alias expansion budget of the strict parser (yaml's guard against "billion laughs"). */
const MAX_ALIAS_COUNT = 10_000;
const MAX_LENIENT_ALIASES = 50;
const ALIAS_USE = /(?:^|[\s,[{:-])\*[^\s,\]}]+/g;

/** YAML 1.1 booleans as go-yaml v2 (kubectl) reads them; `true`/`false` stay the core schema's. */
const yaml11Booleans: ScalarTag = {
  tag: 'tag:yaml.org,2002:bool',
  default: true,
  test: /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/,
  resolve: (s: string) => /^(?:y|Y|yes|Yes|YES|on|On|ON)$/.test(s),
};

export interface LoadedObject {
  object: ManifestObject;
  category: ObjectCategory;
  /** Set for Vireo's own kinds. */
  definition?: KindDefinition;
  file: string;
  /** 1-based line where the object starts. */
  line: number;
  /** Finds the line and column of a field path inside this object (nearest existing ancestor). */
  /**
   * Line and column of a field path inside this object (nearest existing ancestor). `offset` moves the
   * column that many characters into a single-line scalar value (e.g. to an expression's bad token).
   */
  locate(path: FieldPath, at?: 'key' | 'value', offset?: number): { line: number; column: number };
}

export interface LoadResult {
  objects: LoadedObject[];
  /** Problems reading the files themselves (YAML syntax, missing apiVersion/kind). */
  diagnostics: Diagnostic[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const SENSITIVE_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|credential|private/i;

/** Never print a value that sits under a key that looks like a credential. */
export function redactDiagnostic(d: Diagnostic): Diagnostic {
  if (d.value === undefined) return d;
  if (d.path.some((seg) => typeof seg === 'string' && SENSITIVE_KEY.test(seg)))
    return { ...d, value: '<redacted>' };
  return d;
}

export function loadManifests(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    uniqueKeys: true,
    prettyErrors: false,
    // As kubectl (go-yaml): `<<: *anchor` merge keys, and yes/no/on/off as booleans.
    merge: true,
    customTags: [yaml11Booleans],
  });
  const diagnostics: Diagnostic[] = [];
  const objects: LoadedObject[] = [];
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };

  if (!Array.isArray(docs)) {
    // An empty stream yields an EmptyStream object.
    return { objects, diagnostics };
  }

  docs.forEach((doc, index) => {
    let value: unknown;
    if (doc.errors.length > 0) {
      // kubectl reads YAML with go-yaml, which accepts some layouts strict YAML 1.2 rejects (e.g. a
      // quoted description continued at the key's indentation, as in Flagger's own CRDs). Retry such a
      // document with js-yaml, which is as lenient; report the strict parser's errors only if that fails.
      const source = text.slice(doc.range[0], doc.range[2]);
      try {
        // js-yaml does not bound alias expansion; never hand it a document that leans on aliases.
        if ((source.match(ALIAS_USE) ?? []).length > MAX_LENIENT_ALIASES) throw new Error('too many aliases');
        value = loadLenient(source);
        diagnostics.push({
          ...warning(
            'yaml-lenient',
            [],
            `not strict YAML 1.2 (${doc.errors[0]!.message.split('\n')[0]}); read as kubectl would`,
          ),
          file,
          ...pos(doc.errors[0]!.pos[0]),
        });
      } catch {
        for (const e of doc.errors) {
          diagnostics.push({
            ...error('yaml', [], `YAML syntax error: ${e.message.split('\n')[0]}`),
            file,
            ...pos(e.pos[0]),
          });
        }
        return;
      }
    } else {
      for (const w of doc.warnings) {
        diagnostics.push({
          ...warning('yaml', [], w.message.split('\n')[0] ?? w.message),
          file,
          ...pos(w.pos[0]),
        });
      }
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (e) {
        // e.g. an alias bomb: report it in place and go on with the other documents and files.
        diagnostics.push({
          ...error('yaml', [], `cannot read this document: ${(e as Error).message}`),
          file,
          ...pos(doc.range[0]),
        });
        return;
      }
    }
    if (value === null || value === undefined) return; // empty document (e.g. a trailing ---)
    const docStart = doc.contents ? pos(doc.contents.range[0]) : { line: 1, column: 1 };
    if (!isPlainObject(value)) {
      diagnostics.push({
        ...error(
          'not-an-object',
          [],
          `document ${index + 1} is not a Kubernetes object (a mapping with apiVersion and kind)`,
        ),
        file,
        ...docStart,
      });
      return;
    }
    const locateIn =
      (base: FieldPath) =>
      (path: FieldPath, at: 'key' | 'value' = 'value', offset = 0) =>
        locate(doc, [...base, ...path], at, pos, docStart, offset);

    // kind: List (and FooList) with items, as kubectl accepts.
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, i) => {
        const l = locateIn(['items', i]);
        classify(item, file, l, objects, diagnostics);
      });
      return;
    }
    classify(value, file, locateIn([]), objects, diagnostics);
  });
  return { objects, diagnostics };
}

function classify(
  value: unknown,
  file: string,
  locateFn: LoadedObject['locate'],
  objects: LoadedObject[],
  diagnostics: Diagnostic[],
) {
  const start = locateFn([]);
  if (!isPlainObject(value)) {
    diagnostics.push({
      ...error('not-an-object', [], 'list item is not a Kubernetes object'),
      file,
      ...start,
    });
    return;
  }
  const missing = (['apiVersion', 'kind'] as const).filter(
    (k) => typeof value[k] !== 'string' || value[k] === '',
  );
  if (missing.length > 0) {
    for (const k of missing)
      diagnostics.push({
        ...(value[k] === undefined || value[k] === null || value[k] === ''
          ? error('required', [k], 'is required: every object names its apiVersion and kind', {
              allowed:
                k === 'kind'
                  ? 'e.g. Rollout, Canary, AnalysisTemplate'
                  : 'e.g. argoproj.io/v1alpha1, flagger.app/v1beta1',
            })
          : error('type', [k], 'must be a string', { value: value[k] })),
        file,
        ...locateFn([k], 'key'),
      });
    return;
  }
  const apiVersion = value.apiVersion as string;
  const kind = value.kind as string;
  if (!isPlainObject(value.metadata)) value.metadata = value.metadata ?? {};
  const object = value as ManifestObject;
  const definition = findKind(apiVersion, kind);
  const base = { object, file, line: start.line, locate: locateFn };
  if (definition) {
    objects.push({ ...base, category: 'vireo', definition });
    return;
  }
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const sameGroup = kindsInGroup(group, kind);
  if (sameGroup.length > 0) {
    diagnostics.push({
      ...error('api-version', ['apiVersion'], `${kind} is not served at this version`, {
        value: apiVersion,
        allowed: sameGroup.map((k) => `${k.group}/${k.version}`).join(', '),
      }),
      file,
      ...locateFn(['apiVersion']),
    });
    return;
  }
  if (kubernetesKinds.has(`${apiVersion}/${kind}`)) {
    objects.push({ ...base, category: 'kubernetes' });
    return;
  }
  // A near-miss of one of Vireo's kinds in its own group is a typo, not another tool's kind
  // (argoproj.io also holds Argo CD's and Argo Workflows' kinds).
  const ours = allKinds.filter((k) => k.group === group).map((k) => k.kind);
  const suggestion = ours.length > 0 ? didYouMean(kind, ours) : undefined;
  if (suggestion && suggestion !== kind) {
    diagnostics.push({
      ...error(
        'unknown-kind',
        ['kind'],
        `${group} has no kind ${JSON.stringify(kind)}; did you mean ${JSON.stringify(suggestion)}?`,
        {
          value: kind,
          allowed: ours.join(', '),
        },
      ),
      file,
      ...locateFn(['kind']),
    });
    return;
  }
  objects.push({ ...base, category: 'unknown' });
}

/** Line/column of `path` in `doc`; walks as far as the path exists. */
function locate(
  doc: Document.Parsed,
  path: FieldPath,
  at: 'key' | 'value',
  pos: (offset: number) => { line: number; column: number },
  fallback: { line: number; column: number },
  offset = 0,
): { line: number; column: number } {
  let node: unknown = doc.contents;
  let found: { line: number; column: number } = fallback;
  if (node && (node as Node).range) found = pos((node as Node).range![0]);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
      );
      if (!pair) return found;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      if (last && at === 'key' && keyNode?.range) return pos(keyNode.range[0]);
      if (valueNode?.range) found = pos(valueNode.range[0]);
      else if (keyNode?.range) found = pos(keyNode.range[0]);
      node = valueNode;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return found;
      if (item.range) found = pos(item.range[0]);
      node = item;
    } else {
      return found;
    }
  }
  if (offset > 0 && at === 'value' && isScalar(node) && node.source !== undefined && node.range) {
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    const single = pos(node.range[0]).line === pos(node.range[1]).line;
    // Only where the source spells the value character for character (no escapes to map back).
    const verbatim = node.type === 'PLAIN' || (quoted && node.source === node.value);
    if (verbatim && single) return { ...found, column: found.column + offset + (quoted ? 1 : 0) };
  }
  return found;
}

/** The longest start of `path` that exists in `value`. */
function existingPrefix(value: unknown, path: FieldPath): FieldPath {
  let node: unknown = value;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const next =
      Array.isArray(node) && typeof seg === 'number'
        ? node[seg]
        : isPlainObject(node) && Object.hasOwn(node, seg)
          ? node[seg as string]
          : undefined;
    if (next === undefined) return path.slice(0, i);
    node = next;
  }
  return path;
}

/** Findings about a field as a whole (not its value) point at the field's key. */
const keyCodes = new Set(['unknown-field', 'possible-typo', 'one-of']);

/**
 * Schema and semantic checks of one object of a kind Vireo knows, with field paths but no file
 * positions: what the linter places in files, and what the controller reports for an object it
 * read from the API server (Argo's InvalidSpec).
 */
export function checkObject(
  definition: KindDefinition,
  object: ManifestObject,
  ctx: RuleContext = { objects: [object] },
): Diagnostic[] {
  const out = validateValue(definition.schema as unknown as SchemaNode, object);
  if (!object.metadata?.name && !object.metadata?.generateName)
    out.push(
      error('required', ['metadata', 'name'], 'is required', { allowed: 'a DNS-1123 name such as my-app' }),
    );
  // A rule that restates a schema error at the same field (e.g. an enum) adds nothing: keep one.
  const schemaErrorAt = new Set(out.filter((d) => d.severity === 'error').map((d) => JSON.stringify(d.path)));
  for (const rule of definition.rules ?? []) {
    let found: Diagnostic[];
    try {
      found = rule(object, ctx);
    } catch (e) {
      // A rule must never take the linter down; report it as our bug, naming the object.
      found = [error('internal', [], `internal error in a validation rule: ${(e as Error).message}`)];
    }
    out.push(...found.filter((d) => !(d.severity === 'error' && schemaErrorAt.has(JSON.stringify(d.path)))));
  }
  return out;
}

/**
 * Schema and semantic checks of every loaded Vireo object, each diagnostic placed in its file.
 */
export function checkObjects(objects: readonly LoadedObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const ctx = { objects: objects.map((o) => o.object) };
  for (const lo of objects) {
    const name = `${lo.object.kind}/${lo.object.metadata?.name ?? '(no name)'}`;
    const place = (d: Diagnostic): Diagnostic => {
      // A field that is not there (required, or named by a rule) is shown at the key of its nearest
      // ancestor that is; an unknown field at its own key; anything else at its value.
      const present = existingPrefix(lo.object, d.path);
      const at =
        present.length < d.path.length
          ? lo.locate(present, 'key')
          : lo.locate(d.path, keyCodes.has(d.code) ? 'key' : 'value', d.valueOffset);
      return redactDiagnostic({ ...d, file: lo.file, line: at.line, column: at.column, object: name });
    };
    if (lo.category === 'unknown') {
      out.push(
        place(
          warning(
            'unknown-kind',
            ['kind'],
            `${lo.object.apiVersion} ${lo.object.kind} is not a kind Vireo knows; it is kept and ignored`,
            {
              value: lo.object.kind,
            },
          ),
        ),
      );
      continue;
    }
    if (lo.category !== 'vireo' || !lo.definition) continue;
    out.push(...checkObject(lo.definition, lo.object, ctx).map(place));
  }
  return out;
}
