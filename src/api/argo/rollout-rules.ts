/**
 * Semantic checks of a Rollout: the conditions under which Argo Rollouts sets the `InvalidSpec`
 * condition (`pkg/apis/rollouts/validation/validation.go`), plus a few warnings for settings that
 * Argo accepts but ignores. Rules read the object as written (not defaulted) and never throw: every
 * field is treated as untrusted user YAML.
 *
 * Where Argo's path for a finding points at an unrelated field, the path here points at the field
 * to change (noted per rule).
 */
import { type Diagnostic, error, type FieldPath, warning } from '../diagnostics.js';
import { parseIntOrDuration } from '../duration.js';
import type { ManifestObject, Rule } from '../kind.js';

/** Argo's defaults (`utils/defaults/defaults.go`), shared with `applyRolloutDefaults`. */
export const rolloutDefaults = {
  replicas: 1,
  revisionHistoryLimit: 10,
  progressDeadlineSeconds: 600,
  successfulRunHistoryLimit: 5,
  unsuccessfulRunHistoryLimit: 5,
  maxSurge: '25%',
  maxUnavailable: '25%',
  scaleDownDelaySeconds: 30,
  abortScaleDownDelaySeconds: 30,
  autoPromotionEnabled: true,
  maxTrafficWeight: 100,
  nginxAnnotationPrefix: 'nginx.ingress.kubernetes.io',
  workloadScaleDown: 'never',
} as const;

// ---------------------------------------------------------------------------------------------------
// Loose readers over untrusted data (null counts as absent, as Kubernetes prunes it)
// ---------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

export const asObj = (v: unknown): Obj | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
export const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const asInt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
/** The field is present and not null. */
export const isSet = (o: Obj | undefined, key: string): boolean =>
  o !== undefined && o[key] !== undefined && o[key] !== null;

const specOf = (obj: ManifestObject) => asObj(obj.spec);
const strategyOf = (obj: ManifestObject) => asObj(specOf(obj)?.strategy);

const CANARY: FieldPath = ['spec', 'strategy', 'canary'];
const BLUE_GREEN: FieldPath = ['spec', 'strategy', 'blueGreen'];

/** Argo's `getIntOrPercentValue`: "25%" → 25, 3 → 3, any other string → its integer value or 0. */
function intOrPercentValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (m) return Number(m[1]);
    return /^-?\d+$/.test(v) ? Number(v) : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// Label selectors (shared with experiment.ts)
// ---------------------------------------------------------------------------------------------------

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/**
 * A label selector checked on its own (`argo/selector-empty`, `argo/selector-invalid`) and against
 * the pod template labels (`argo/selector-mismatch`, Argo: "`selector` does not match template
 * `labels`").
 */
export function checkSelector(
  selector: unknown,
  labels: unknown,
  selectorPath: FieldPath,
  labelsPath: FieldPath,
) {
  const out: Diagnostic[] = [];
  const sel = asObj(selector);
  if (!sel) return out;
  const matchLabels = asObj(sel.matchLabels) ?? {};
  const exprs = asList(sel.matchExpressions);
  if (Object.keys(matchLabels).length + exprs.length === 0) {
    out.push(
      error('argo/selector-empty', selectorPath, 'an empty selector would select every pod', {
        value: selector,
        allowed: 'matchLabels or matchExpressions that match the template labels',
      }),
    );
    return out;
  }
  let valid = true;
  exprs.forEach((e, i) => {
    const expr = asObj(e);
    if (!expr) return;
    const op = asStr(expr.operator);
    const values = asList(expr.values);
    if (op === undefined || !selectorOperators.includes(op)) {
      valid = false;
      out.push(
        error(
          'argo/selector-invalid',
          [...selectorPath, 'matchExpressions', i, 'operator'],
          'is not a selector operator',
          {
            value: expr.operator,
            allowed: `one of ${selectorOperators.join(', ')}`,
          },
        ),
      );
    } else if ((op === 'In' || op === 'NotIn') && values.length === 0) {
      valid = false;
      out.push(
        error(
          'argo/selector-invalid',
          [...selectorPath, 'matchExpressions', i, 'values'],
          `operator ${op} needs values`,
          {
            allowed: 'a non-empty list',
          },
        ),
      );
    } else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
      valid = false;
      out.push(
        error(
          'argo/selector-invalid',
          [...selectorPath, 'matchExpressions', i, 'values'],
          `operator ${op} takes no values`,
          { value: expr.values, allowed: 'no values' },
        ),
      );
    }
  });
  if (!valid) return out;
  const have = asObj(labels) ?? {};
  if (!selectorMatches(matchLabels, exprs, have)) {
    out.push(
      error('argo/selector-mismatch', labelsPath, '`selector` does not match template `labels`', {
        value: labels ?? {},
        allowed: `labels that satisfy the selector ${JSON.stringify(selector)}`,
      }),
    );
  }
  return out;
}

function selectorMatches(matchLabels: Obj, exprs: unknown[], labels: Obj): boolean {
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of exprs) {
    const expr = asObj(e);
    if (!expr) continue;
    const key = asStr(expr.key) ?? '';
    const present = Object.hasOwn(labels, key);
    const values = asList(expr.values);
    switch (expr.operator) {
      case 'In':
        if (!present || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Spec: replicas, selector, template, workloadRef, deadlines
// ---------------------------------------------------------------------------------------------------

/** Counts that Argo requires to be ≥ 0 (`ValidateNonnegativeField`). */
const nonNegative = [
  'replicas',
  'minReadySeconds',
  'revisionHistoryLimit',
  'progressDeadlineSeconds',
] as const;

export const specRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const spec = specOf(obj);
  if (!spec) return out;
  for (const key of nonNegative) {
    const v = asInt(spec[key]);
    if (v !== undefined && v < 0)
      out.push(
        error('argo/negative', ['spec', key], 'must not be negative', { value: v, allowed: '0 or more' }),
      );
  }
  const pds = asInt(spec.progressDeadlineSeconds) ?? rolloutDefaults.progressDeadlineSeconds;
  const mrs = asInt(spec.minReadySeconds) ?? 0;
  if (pds >= 0 && pds <= mrs) {
    const isDefault = asInt(spec.progressDeadlineSeconds) === undefined;
    out.push(
      error(
        'argo/progress-deadline',
        ['spec', 'progressDeadlineSeconds'],
        `must be greater than minReadySeconds (${mrs})${isDefault ? `; the default is ${pds}` : ''}`,
        { value: pds, allowed: `an integer greater than ${mrs}` },
      ),
    );
  }
  return out;
};

/** A template Argo considers set: labels, annotations or a pod spec. */
function templateIsSet(template: Obj | undefined): boolean {
  if (!template) return false;
  const meta = asObj(template.metadata);
  const nonEmpty = (v: unknown) => Object.keys(asObj(v) ?? {}).length > 0;
  return nonEmpty(meta?.labels) || nonEmpty(meta?.annotations) || isSet(template, 'spec');
}

export const templateRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const spec = specOf(obj);
  if (!spec) return out;
  const template = asObj(spec.template);
  if (isSet(spec, 'workloadRef')) {
    if (templateIsSet(template))
      out.push(
        error(
          'argo/template-with-workload-ref',
          ['spec', 'template'],
          'a Rollout with workloadRef takes its pod template from the workload; leave template empty',
          { allowed: 'template or workloadRef, not both' },
        ),
      );
    return out;
  }
  if (!isSet(spec, 'selector')) {
    out.push(
      error('argo/selector-missing', ['spec', 'selector'], 'is required unless workloadRef is set', {
        allowed: 'a label selector matching the template labels',
      }),
    );
  }
  const podSpec = asObj(template?.spec);
  if (asList(podSpec?.containers).length === 0) {
    out.push(
      error(
        'argo/template-containers',
        ['spec', 'template', 'spec', 'containers'],
        'the pod template has no containers',
        {
          allowed: 'at least one container, or a workloadRef instead of the template',
        },
      ),
    );
  }
  const restartPolicy = podSpec?.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== null && restartPolicy !== 'Always') {
    out.push(
      error(
        'argo/template-restart-policy',
        ['spec', 'template', 'spec', 'restartPolicy'],
        'pods of a ReplicaSet must restart always',
        { value: restartPolicy, allowed: 'Always' },
      ),
    );
  }
  out.push(
    ...checkSelector(
      spec.selector,
      asObj(template?.metadata)?.labels,
      ['spec', 'selector'],
      ['spec', 'template', 'metadata', 'labels'],
    ),
  );
  return out;
};

// ---------------------------------------------------------------------------------------------------
// Strategy
// ---------------------------------------------------------------------------------------------------

export const strategyRule: Rule = (obj) => {
  const spec = specOf(obj);
  if (!spec) return [];
  const strategy = asObj(spec.strategy);
  const canary = isSet(strategy, 'canary');
  const blueGreen = isSet(strategy, 'blueGreen');
  if (canary && blueGreen)
    return [
      error('argo/strategy-multiple', ['spec', 'strategy'], 'only one strategy may be set', {
        value: 'canary and blueGreen',
        allowed: 'canary or blueGreen',
      }),
    ];
  if (!canary && !blueGreen) {
    const emptyKey = strategy && ('canary' in strategy || 'blueGreen' in strategy);
    return [
      error(
        'argo/strategy-missing',
        ['spec', 'strategy'],
        `no strategy is set${emptyKey ? '; an empty `canary:` is null, write `canary: {}`' : ''}`,
        { allowed: 'canary or blueGreen' },
      ),
    ];
  }
  return [];
};

function antiAffinityDiagnostics(strategy: Obj, base: FieldPath): Diagnostic[] {
  const out: Diagnostic[] = [];
  const aa = asObj(strategy.antiAffinity);
  if (!aa) return out;
  const path = [...base, 'antiAffinity'];
  const preferred = isSet(aa, 'preferredDuringSchedulingIgnoredDuringExecution');
  const required = isSet(aa, 'requiredDuringSchedulingIgnoredDuringExecution');
  if (preferred === required)
    out.push(
      error(
        'argo/anti-affinity-one-kind',
        path,
        preferred ? 'sets both kinds of anti-affinity' : 'sets no kind of anti-affinity',
        {
          allowed:
            'exactly one of preferredDuringSchedulingIgnoredDuringExecution or requiredDuringSchedulingIgnoredDuringExecution',
        },
      ),
    );
  const weight = asInt(asObj(aa.preferredDuringSchedulingIgnoredDuringExecution)?.weight);
  if (weight !== undefined && (weight < 1 || weight > 100))
    out.push(
      error(
        'argo/anti-affinity-weight',
        [...path, 'preferredDuringSchedulingIgnoredDuringExecution', 'weight'],
        'is out of range',
        { value: weight, allowed: 'an integer from 1 to 100' },
      ),
    );
  return out;
}

function revisionLimitDiagnostics(spec: Obj, strategy: Obj, base: FieldPath, severity: 'error' | 'warning') {
  const limit = asInt(strategy.scaleDownDelayRevisionLimit);
  const history = asInt(spec.revisionHistoryLimit) ?? rolloutDefaults.revisionHistoryLimit;
  if (limit === undefined || limit <= history) return [];
  const make = severity === 'error' ? error : warning;
  return [
    make(
      'argo/scale-down-revision-limit',
      [...base, 'scaleDownDelayRevisionLimit'],
      `is larger than revisionHistoryLimit (${history}); old ReplicaSets would be deleted before their delay ends`,
      { value: limit, allowed: `an integer up to revisionHistoryLimit (${history})` },
    ),
  ];
}

/**
 * Analysis arguments: `valueFrom` has exactly one source, and a `fieldRef` into `metadata` names a
 * downward-API field (Argo: "Analyses arguments must refer to valid object metadata supported by
 * downwardAPI"). Argo checks the latter for step and experiment analyses only; here every analysis.
 */
function argsDiagnostics(analysis: Obj | undefined, base: FieldPath): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!analysis) return out;
  asList(analysis.args).forEach((a, k) => {
    const vf = asObj(asObj(a)?.valueFrom);
    if (!vf) return;
    const path = [...base, 'args', k, 'valueFrom'];
    const sources = ['podTemplateHashValue', 'fieldRef'].filter((s) => isSet(vf, s));
    if (sources.length !== 1)
      out.push(
        error(
          'argo/analysis-arg-value-from',
          path,
          sources.length === 0
            ? 'names no source'
            : `names ${sources.length} sources (${sources.join(', ')})`,
          { allowed: 'exactly one of podTemplateHashValue or fieldRef' },
        ),
      );
    const fieldPath = asStr(asObj(vf.fieldRef)?.fieldPath);
    if (fieldPath?.startsWith('metadata') && !isDownwardApiMetadataPath(fieldPath))
      out.push(
        error(
          'argo/analysis-arg-field-ref',
          [...path, 'fieldRef', 'fieldPath'],
          'is not a metadata field the downward API supports',
          {
            value: fieldPath,
            allowed:
              "metadata.name, metadata.namespace, metadata.uid, metadata.labels, metadata.annotations, metadata.labels['key'] or metadata.annotations['key']",
          },
        ),
      );
  });
  return out;
}

const qualifiedName =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Kubernetes `fieldpath.ExtractFieldPathAsString` for metadata paths. */
function isDownwardApiMetadataPath(p: string): boolean {
  if (/^metadata\.(name|namespace|uid|labels|annotations)$/.test(p)) return true;
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(p);
  if (!m) return false;
  const key = m[1] === 'annotations' ? (m[2] as string).toLowerCase() : (m[2] as string);
  const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
  return qualifiedName.test(key) && name.length <= 63;
}

export const blueGreenRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const spec = specOf(obj);
  const strategy = strategyOf(obj);
  const bg = asObj(strategy?.blueGreen);
  if (!spec || !bg || isSet(strategy, 'canary')) return out;
  const active = asStr(bg.activeService);
  const preview = asStr(bg.previewService);
  if (preview && preview === active)
    out.push(
      error(
        'argo/bluegreen-services-same',
        [...BLUE_GREEN, 'previewService'],
        'is the same Service as activeService; blue-green needs two different Services',
        { value: preview, allowed: `a Service other than ${JSON.stringify(active)}` },
      ),
    );
  out.push(...revisionLimitDiagnostics(spec, bg, BLUE_GREEN, 'error'));
  out.push(...antiAffinityDiagnostics(bg, BLUE_GREEN));
  for (const key of ['prePromotionAnalysis', 'postPromotionAnalysis'])
    out.push(...argsDiagnostics(asObj(bg[key]), [...BLUE_GREEN, key]));
  if (bg.autoPromotionEnabled === false && isSet(bg, 'autoPromotionSeconds'))
    out.push(
      warning(
        'argo/auto-promotion-seconds-ignored',
        [...BLUE_GREEN, 'autoPromotionSeconds'],
        'is ignored because autoPromotionEnabled is false; the rollout waits for `promote`',
        { value: bg.autoPromotionSeconds },
      ),
    );
  return out;
};

// ---------------------------------------------------------------------------------------------------
// Canary
// ---------------------------------------------------------------------------------------------------

const routerKeys = ['nginx', 'alb', 'istio', 'smi', 'ambassador', 'appMesh', 'traefik', 'apisix'] as const;

function routers(tr: Obj | undefined): Set<string> {
  const found = new Set<string>();
  if (!tr) return found;
  for (const k of routerKeys) if (isSet(tr, k)) found.add(k);
  if (Object.keys(asObj(tr.plugins) ?? {}).length > 0) found.add('plugins');
  return found;
}

/** Argo's `requireCanaryStableServices`: which routers need canaryService and stableService. */
function needsCanaryStableServices(canary: Obj, tr: Obj, has: Set<string>): boolean {
  const pingPong = isSet(canary, 'pingPong');
  return (
    (has.has('alb') && !pingPong) ||
    (has.has('istio') && !isSet(asObj(tr.istio), 'destinationRule')) ||
    ['smi', 'apisix', 'ambassador', 'nginx', 'appMesh', 'traefik'].some((r) => has.has(r))
  );
}

export const canaryRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const spec = specOf(obj);
  const strategy = strategyOf(obj);
  const canary = asObj(strategy?.canary);
  if (!spec || !canary || isSet(strategy, 'blueGreen')) return out;
  const tr = asObj(canary.trafficRouting);
  const has = routers(tr);

  const surge = isSet(canary, 'maxSurge') ? canary.maxSurge : rolloutDefaults.maxSurge;
  const unavailable = isSet(canary, 'maxUnavailable')
    ? canary.maxUnavailable
    : rolloutDefaults.maxUnavailable;
  if (intOrPercentValue(surge) === 0 && intOrPercentValue(unavailable) === 0)
    out.push(
      error(
        'argo/max-surge-unavailable-zero',
        [...CANARY, 'maxSurge'],
        'maxSurge and maxUnavailable are both zero, so no pod could ever be replaced',
        {
          value: surge,
          allowed: 'a maxSurge or a maxUnavailable greater than 0',
        },
      ),
    );

  const canaryService = asStr(canary.canaryService);
  const stableService = asStr(canary.stableService);
  if (canaryService && canaryService === stableService)
    out.push(
      error(
        'argo/canary-services-same',
        [...CANARY, 'canaryService'],
        'is the same Service as stableService; the canary needs two different Services',
        { value: canaryService, allowed: `a Service other than ${JSON.stringify(stableService)}` },
      ),
    );

  const pingPong = asObj(canary.pingPong);
  if (pingPong) {
    const ping = asStr(pingPong.pingService) ?? '';
    const pong = asStr(pingPong.pongService) ?? '';
    for (const [key, value] of [
      ['pingService', ping],
      ['pongService', pong],
    ] as const)
      if (value === '')
        out.push(
          error('argo/ping-pong-services', [...CANARY, 'pingPong', key], 'is required with pingPong', {
            allowed: 'a Service name',
          }),
        );
    if (ping !== '' && ping === pong)
      out.push(
        error(
          'argo/ping-pong-services-same',
          [...CANARY, 'pingPong', 'pongService'],
          'is the same Service as pingService; ping-pong needs two different Services',
          { value: pong, allowed: `a Service other than ${JSON.stringify(ping)}` },
        ),
      );
    if (tr && !has.has('alb') && !has.has('istio') && !has.has('plugins'))
      out.push(
        error(
          'argo/ping-pong-router',
          [...CANARY, 'trafficRouting'],
          'pingPong works only with the ALB, Istio or plugin routers',
          {
            value: [...has],
            allowed: 'alb, istio or plugins',
          },
        ),
      );
    if (has.has('alb') && !asStr(asObj(tr?.alb)?.rootService))
      out.push(
        error(
          'argo/ping-pong-alb-root-service',
          [...CANARY, 'trafficRouting', 'alb', 'rootService'],
          'is required with ALB and pingPong',
          {
            allowed: 'the Service named in the Ingress rule',
          },
        ),
      );
  }

  if (tr && needsCanaryStableServices(canary, tr, has)) {
    for (const [key, value] of [
      ['canaryService', canaryService],
      ['stableService', stableService],
    ] as const)
      if (!value)
        out.push(
          error(
            'argo/traffic-routing-services',
            [...CANARY, key],
            `is required with trafficRouting (${[...has].join(', ')})`,
            {
              allowed: 'a Service name',
            },
          ),
        );
  }

  if (!tr) {
    if (isSet(canary, 'scaleDownDelaySeconds'))
      out.push(
        error(
          'argo/scale-down-delay-needs-traffic-routing',
          [...CANARY, 'scaleDownDelaySeconds'],
          'can only be used with trafficRouting',
          { value: canary.scaleDownDelaySeconds, allowed: 'unset, or add trafficRouting' },
        ),
      );
    if (canary.dynamicStableScale === true)
      out.push(
        error(
          'argo/dynamic-stable-scale-needs-traffic-routing',
          [...CANARY, 'dynamicStableScale'],
          'can only be used with trafficRouting',
          { value: true, allowed: 'false, or add trafficRouting' },
        ),
      );
    for (const key of ['abortScaleDownDelaySeconds', 'minPodsPerReplicaSet'])
      if (isSet(canary, key))
        out.push(
          warning(
            'argo/ignored-without-traffic-routing',
            [...CANARY, key],
            'has no effect without trafficRouting (a basic canary sizes ReplicaSets by weight)',
            { value: canary[key] },
          ),
        );
  } else {
    if (canary.dynamicStableScale === true && isSet(canary, 'scaleDownDelaySeconds'))
      out.push(
        error(
          'argo/dynamic-stable-scale-with-scale-down-delay',
          [...CANARY, 'dynamicStableScale'],
          'cannot be used together with scaleDownDelaySeconds',
          { value: true, allowed: 'dynamicStableScale or scaleDownDelaySeconds, not both' },
        ),
      );
    if (isSet(tr, 'maxTrafficWeight') && !has.has('nginx') && !has.has('plugins'))
      out.push(
        error(
          'argo/max-traffic-weight-router',
          [...CANARY, 'trafficRouting', 'maxTrafficWeight'],
          'is supported only with the nginx router and plugins',
          { value: tr.maxTrafficWeight, allowed: 'unset, or use nginx or a plugin router' },
        ),
      );
  }

  out.push(...revisionLimitDiagnostics(spec, canary, CANARY, 'warning'));
  out.push(...antiAffinityDiagnostics(canary, CANARY));

  const background = asObj(canary.analysis);
  if (background) {
    out.push(...argsDiagnostics(background, [...CANARY, 'analysis']));
    const start = asInt(background.startingStep);
    const count = asList(canary.steps).length;
    const last = Math.max(count - 1, 0);
    if (start !== undefined && (start < 0 || start > last))
      out.push(
        error(
          'argo/starting-step-range',
          [...CANARY, 'analysis', 'startingStep'],
          `is not the index of a step (there are ${count})`,
          {
            value: start,
            allowed: count > 0 ? `an integer from 0 to ${last}` : '0 (there are no steps)',
          },
        ),
      );
  }
  return out;
};

// ---------------------------------------------------------------------------------------------------
// Canary steps
// ---------------------------------------------------------------------------------------------------

const stepTypes = [
  'setWeight',
  'pause',
  'experiment',
  'analysis',
  'setCanaryScale',
  'setHeaderRoute',
  'setMirrorRoute',
  'plugin',
] as const;
/** The step types Argo refuses to combine in one step (`hasMultipleStepsType`). */
const exclusiveStepTypes = ['setWeight', 'pause', 'experiment', 'analysis'];

/** A StringMatch has exactly one of exact, prefix, regex. */
function stringMatchDiagnostics(match: unknown, path: FieldPath): Diagnostic[] {
  const m = asObj(match);
  const kinds = ['exact', 'prefix', 'regex'].filter((k) => typeof m?.[k] === 'string' && m[k] !== '');
  if (kinds.length === 1) return [];
  return [
    error(
      'argo/string-match',
      path,
      kinds.length === 0 ? 'sets no value to match' : `sets ${kinds.join(', ')}; a match takes one of them`,
      { value: match, allowed: 'exactly one of exact, prefix or regex' },
    ),
  ];
}

export const stepsRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const strategy = strategyOf(obj);
  const canary = asObj(strategy?.canary);
  if (!canary || isSet(strategy, 'blueGreen')) return out;
  const tr = asObj(canary.trafficRouting);
  const has = routers(tr);
  const maxWeight = asInt(tr?.maxTrafficWeight) ?? rolloutDefaults.maxTrafficWeight;
  const managedRoutes =
    tr && Array.isArray(tr.managedRoutes) ? tr.managedRoutes.map((r) => asStr(asObj(r)?.name)) : undefined;

  asList(canary.steps).forEach((raw, i) => {
    const step = asObj(raw);
    if (!step) return;
    const at = [...CANARY, 'steps', i];
    const types = stepTypes.filter((t) => isSet(step, t));
    if (types.length === 0) {
      const nullKey = stepTypes.find((t) => t in step);
      out.push(
        error(
          'argo/step-empty',
          at,
          nullKey
            ? `\`${nullKey}\` is empty (null), so the step does nothing${nullKey === 'pause' ? '; write `pause: {}` to pause until promoted' : ''}`
            : 'the step sets no step type',
          { allowed: `one of ${stepTypes.join(', ')}` },
        ),
      );
    }
    const exclusive = types.filter((t) => exclusiveStepTypes.includes(t));
    if (exclusive.length > 1)
      out.push(
        error(
          'argo/step-multiple-types',
          at,
          `the step sets ${exclusive.join(' and ')}; each step does one thing`,
          {
            value: exclusive,
            allowed: 'one step type per step',
          },
        ),
      );
    else if (types.length > 1)
      out.push(
        warning(
          'argo/step-combined-types',
          at,
          `the step sets ${types.join(' and ')}; Argo accepts this, but split it into one step per type to keep the order clear`,
          { value: types },
        ),
      );

    const weight = asInt(step.setWeight);
    if (weight !== undefined && (weight < 0 || weight > maxWeight))
      out.push(
        error('argo/set-weight-range', [...at, 'setWeight'], `is outside 0..${maxWeight}`, {
          value: weight,
          allowed: `an integer from 0 to ${maxWeight}${maxWeight === 100 ? '' : ' (trafficRouting.maxTrafficWeight)'}`,
        }),
      );

    const pause = asObj(step.pause);
    const dur = pause?.duration;
    if (typeof dur === 'number' || typeof dur === 'string') {
      const ms = parseIntOrDuration(dur);
      if (ms === undefined || ms < 0)
        out.push(
          error(
            'argo/pause-duration',
            [...at, 'pause', 'duration'],
            ms === undefined ? 'is not a duration' : 'must not be negative',
            {
              value: dur,
              allowed:
                'a number of seconds or a duration such as "30s" or "2m"; omit it to pause until promoted',
            },
          ),
        );
    }

    if (isSet(step, 'setCanaryScale') && !tr)
      out.push(
        error(
          'argo/set-canary-scale-needs-traffic-routing',
          [...at, 'setCanaryScale'],
          'needs trafficRouting',
          {
            allowed: 'setWeight without a router, or add trafficRouting',
          },
        ),
      );

    const header = asObj(step.setHeaderRoute);
    if (header) {
      // nginx too: Vireo routes a header through canary-by-header (Argo's nginx router does not).
      if (!['istio', 'alb', 'apisix', 'nginx', 'plugins'].some((r) => has.has(r)))
        out.push(
          error(
            'argo/header-route-router',
            [...at, 'setHeaderRoute'],
            'needs trafficRouting with Istio, ALB, APISIX, nginx (Vireo) or a plugin',
            {
              value: [...has],
              allowed: 'istio, alb, apisix, nginx or plugins',
            },
          ),
        );
      else
        asList(header.match).forEach((m, j) => {
          const value = asObj(m)?.headerValue;
          const path = [...at, 'setHeaderRoute', 'match', j, 'headerValue'];
          if (has.has('alb')) {
            const hv = asObj(value);
            if (!asStr(hv?.exact) || asStr(hv?.prefix) || asStr(hv?.regex))
              out.push(
                error('argo/header-route-alb-exact', path, 'ALB header routes match exact values only', {
                  value,
                  allowed: 'exact',
                }),
              );
          } else out.push(...stringMatchDiagnostics(value, path));
        });
    }

    const mirror = asObj(step.setMirrorRoute);
    if (mirror) {
      if (!has.has('istio') && !has.has('plugins'))
        out.push(
          error(
            'argo/mirror-route-router',
            [...at, 'setMirrorRoute'],
            'needs trafficRouting with Istio or a plugin',
            {
              value: [...has],
              allowed: 'istio or plugins',
            },
          ),
        );
      asList(mirror.match).forEach((m, j) => {
        const match = asObj(m);
        if (!match) return;
        const path = [...at, 'setMirrorRoute', 'match', j];
        for (const key of ['method', 'path'])
          if (isSet(match, key)) out.push(...stringMatchDiagnostics(match[key], [...path, key]));
        for (const [name, value] of Object.entries(asObj(match.headers) ?? {}))
          out.push(...stringMatchDiagnostics(value, [...path, 'headers', name]));
      });
    }

    if (tr)
      for (const [key, route] of [
        ['setHeaderRoute', header],
        ['setMirrorRoute', mirror],
      ] as const) {
        if (!route) continue;
        const name = asStr(route.name) ?? '';
        if (managedRoutes?.includes(name)) continue;
        out.push(
          error(
            'argo/route-not-managed',
            [...at, key, 'name'],
            managedRoutes
              ? 'is not listed in trafficRouting.managedRoutes'
              : 'needs trafficRouting.managedRoutes, which is not set',
            {
              value: name,
              allowed: managedRoutes?.length
                ? `one of ${managedRoutes.filter(Boolean).join(', ')}`
                : 'a name listed in trafficRouting.managedRoutes',
            },
          ),
        );
      }

    const experiment = asObj(step.experiment);
    if (experiment) {
      const seen = new Set<string>();
      asList(experiment.templates).forEach((t, j) => {
        const template = asObj(t);
        if (!template) return;
        const name = asStr(template.name);
        if (name !== undefined) {
          if (seen.has(name))
            out.push(
              error(
                'argo/experiment-template-name-duplicate',
                [...at, 'experiment', 'templates', j, 'name'],
                'is used by another template of this experiment',
                { value: name, allowed: 'a unique template name' },
              ),
            );
          seen.add(name);
        }
        if (!isSet(template, 'weight')) return;
        const path = [...at, 'experiment', 'templates', j, 'weight'];
        if (!tr)
          out.push(
            error(
              'argo/experiment-weight-needs-traffic-routing',
              path,
              'an experiment template weight needs trafficRouting',
              {
                value: template.weight,
                allowed: 'unset, or add trafficRouting',
              },
            ),
          );
        else if (!has.has('alb') && !has.has('smi') && !has.has('istio') && !has.has('plugins'))
          out.push(
            error(
              'argo/experiment-weight-router',
              path,
              'experiment template weights work only with SMI, ALB, Istio or plugins',
              {
                value: template.weight,
                allowed: 'unset, or use smi, alb, istio or plugins',
              },
            ),
          );
      });
      asList(experiment.analyses).forEach((a, j) => {
        out.push(...argsDiagnostics(asObj(a), [...at, 'experiment', 'analyses', j]));
      });
    }

    out.push(...argsDiagnostics(asObj(step.analysis), [...at, 'analysis']));
  });
  return out;
};

/** Every Rollout rule, in the order their findings read best. */
export const rolloutRules: Rule[] = [
  specRule,
  templateRule,
  strategyRule,
  canaryRule,
  stepsRule,
  blueGreenRule,
];
