/**
 * Semantic checks on a Canary: what Flagger's validation rejects, what the upstream CRD's `oneOf`
 * rejects (Vireo's structural schema cannot say it), and what would make Flagger's scheduler stall
 * or silently ignore a setting (flagger.md §1.1, §1.2, §1.6, §1.7, §2; upstream
 * `pkg/controller/scheduler.go`, `scheduler_metrics.go`, `webhook.go`).
 *
 * Severity: `error` when Flagger rejects the object, crashes, or the release can never finish;
 * `warning` when Flagger accepts it but ignores or replaces the value, or when only the upstream
 * CRD would reject it (Vireo accepts it and says what it does instead).
 */
import { type Diagnostic, error, type FieldPath, warning } from '../diagnostics.js';
import { parseGoDuration } from '../duration.js';
import type { ManifestObject, Rule } from '../kind.js';
import {
  analysisField,
  BUILTIN_METRICS,
  deploymentStrategy,
  getAnalysis,
  skipAnalysis,
} from './canary-defaults.js';
import { TARGET_KINDS, WEBHOOK_TYPES } from './constants.js';
import { arr, has, isHttpUrl, isObj, type Loose, nonEmpty, num, obj, str } from './loose.js';

type Path = (string | number)[];

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** `targetRef.kind` must be one Flagger can release, and `targetRef.name` must be set. */
export const checkTargetRef: Rule = (o) => {
  const out: Diagnostic[] = [];
  const ref = obj(o.spec, 'targetRef');
  const kind = ref?.kind;
  if (typeof kind !== 'string' || !(TARGET_KINDS as readonly string[]).includes(kind))
    out.push(
      error(
        'flagger/target-kind',
        ['spec', 'targetRef', 'kind'],
        kind === undefined || kind === null
          ? 'the target kind is required'
          : 'Flagger cannot release this kind',
        { value: kind ?? undefined, allowed: TARGET_KINDS.join(', ') },
      ),
    );
  if (!nonEmpty(str(ref, 'name')))
    out.push(
      error(
        'flagger/target-name',
        ['spec', 'targetRef', 'name'],
        'the name of the workload to release is required',
        {
          value: ref?.name ?? undefined,
          allowed: 'a non-empty name',
        },
      ),
    );
  return out;
};

/** `service.port` is required: the primary, canary and apex Services are generated with it. */
export const checkServicePort: Rule = (o) => {
  const port = obj(o.spec, 'service')?.port;
  if (isInt(port) && port >= 1 && port <= 65535) return [];
  // Knative routes through its own Service: Flagger generates no ClusterIP Services, so no port.
  const target = obj(o.spec, 'targetRef');
  const knative =
    str(o.spec, 'provider') === 'knative' ||
    String(target?.apiVersion ?? '').startsWith('serving.knative.dev/');
  if (knative && (port === undefined || port === null)) return [];
  return [
    error(
      'flagger/service-port',
      ['spec', 'service', 'port'],
      port === undefined || port === null
        ? 'the port of the generated Services is required'
        : 'is not a valid port number',
      { value: port ?? undefined, allowed: 'an integer from 1 to 65535' },
    ),
  ];
};

/** No analysis block: Flagger promotes every change at once. The upstream CRD also requires it. */
export const checkAnalysisPresent: Rule = (o) => {
  if (analysisField(o)) return [];
  return [
    warning(
      'flagger/analysis-missing',
      ['spec', 'analysis'],
      'without an analysis every change is promoted at once, unchecked; the upstream Flagger CRD requires this field',
      { allowed: 'an analysis block, e.g. {interval: 1m, threshold: 5, stepWeight: 10}' },
    ),
  ];
};

/** Interval, threshold and the traffic-shifting mode of the analysis block. */
export const checkAnalysisSchedule: Rule = (o) => {
  const key = analysisField(o);
  const a = getAnalysis(o);
  if (!key || !a) return [];
  const out: Diagnostic[] = [];
  const base: Path = ['spec', key];
  const provider = str(o.spec, 'provider');

  // interval: a Go duration; "" and absent mean 60s; below 10s is clamped.
  const interval = str(a, 'interval');
  if (nonEmpty(interval)) {
    const ms = parseGoDuration(interval);
    if (ms === undefined)
      out.push(
        error('flagger/analysis-interval', [...base, 'interval'], 'is not a duration', {
          value: interval,
          allowed: 'a duration such as "30s" or "1m"',
        }),
      );
    else if (ms < 10_000)
      out.push(
        warning(
          'flagger/analysis-interval-min',
          [...base, 'interval'],
          'Flagger never ticks faster than every 10s',
          {
            value: interval,
            allowed: '10s or more',
          },
        ),
      );
  }

  // The upstream CRD's oneOf requires interval and threshold; Flagger itself defaults them.
  if (key === 'analysis') {
    if (!nonEmpty(interval) && !(has(a, 'interval') && typeof a.interval !== 'string'))
      out.push(
        warning(
          'flagger/analysis-upstream-required',
          [...base, 'interval'],
          'Vireo uses 60s, but the upstream Flagger CRD rejects an analysis without interval',
          { allowed: 'a duration such as "1m"' },
        ),
      );
    if (!has(a, 'threshold'))
      out.push(
        warning(
          'flagger/analysis-upstream-required',
          [...base, 'threshold'],
          'Vireo uses 1, but the upstream Flagger CRD rejects an analysis without threshold',
          { allowed: 'the number of failed checks before rollback, e.g. 5' },
        ),
      );
  }

  const threshold = num(a, 'threshold');
  if (threshold !== undefined && threshold <= 0)
    out.push(
      warning(
        'flagger/threshold-min',
        [...base, 'threshold'],
        'a threshold of 0 or less counts as 1: the first failed check rolls back',
        {
          value: threshold,
          allowed: '1 or more',
        },
      ),
    );

  const iterations = a.iterations;
  if (typeof iterations === 'number' && (!Number.isInteger(iterations) || iterations < 0))
    out.push(
      error('flagger/iterations-range', [...base, 'iterations'], 'must be a whole number of checks', {
        value: iterations,
        allowed: 'an integer of 0 or more',
      }),
    );

  // stepWeights: a ladder of increasing weights in 1..100, not together with stepWeight.
  const steps = arr(a, 'stepWeights');
  const hasSteps = steps.length > 0;
  const hasStep = has(a, 'stepWeight');
  if (hasStep && hasSteps)
    out.push(
      error(
        'flagger/step-weights-conflict',
        [...base, 'stepWeights'],
        'stepWeight and stepWeights cannot be used together (Flagger would step by stepWeight up to the last stepWeights entry)',
        { value: steps, allowed: 'either stepWeight or stepWeights' },
      ),
    );
  steps.forEach((w, i) => {
    if (!isInt(w) || w < 1 || w > 100)
      out.push(
        error('flagger/step-weights-range', [...base, 'stepWeights', i], 'is not a traffic weight', {
          value: w,
          allowed: 'an integer from 1 to 100',
        }),
      );
    const prev = steps[i - 1];
    if (i > 0 && typeof w === 'number' && typeof prev === 'number' && w <= prev)
      out.push(
        error(
          'flagger/step-weights-order',
          [...base, 'stepWeights', i],
          'the weights must increase strictly',
          {
            value: w,
            allowed: `more than ${prev}`,
          },
        ),
      );
  });

  const maxW = a.maxWeight;
  if (typeof maxW === 'number') {
    if (!Number.isInteger(maxW) || maxW < 0 || maxW > 100)
      out.push(
        error(
          'flagger/max-weight-range',
          [...base, 'maxWeight'],
          'is not a traffic weight; the canary could never reach it',
          {
            value: maxW,
            allowed: 'an integer from 1 to 100',
          },
        ),
      );
    else if (maxW === 0)
      out.push(
        warning('flagger/max-weight-range', [...base, 'maxWeight'], 'a maxWeight of 0 counts as 100', {
          value: maxW,
          allowed: 'an integer from 1 to 100',
        }),
      );
    if (hasSteps)
      out.push(
        warning(
          'flagger/max-weight-ignored',
          [...base, 'maxWeight'],
          'ignored: with stepWeights the last entry is the maximum weight',
          {
            value: maxW,
          },
        ),
      );
  }

  // Mode: the upstream CRD's oneOf accepts exactly one of iterations, stepWeight, stepWeights.
  const strategy = deploymentStrategy(o);
  const step = num(a, 'stepWeight');
  let stalled = false;
  if (!skipAnalysis(o) && strategy === 'canary' && !hasSteps && !(step !== undefined && step > 0)) {
    stalled = true;
    out.push(
      error(
        'flagger/step-weight-zero',
        [...base, 'stepWeight'],
        hasStep
          ? 'a step of 0 or less never raises the canary weight: the analysis never finishes'
          : 'a progressive canary needs stepWeight or stepWeights, else the weight never rises and the analysis never finishes',
        {
          value: a.stepWeight ?? undefined,
          allowed: 'an integer from 1 to 100, or use stepWeights or iterations',
        },
      ),
    );
  }
  const hasIterations = has(a, 'iterations');
  if (hasIterations && (hasStep || hasSteps)) {
    if (typeof iterations === 'number' && iterations > 0)
      out.push(
        warning(
          'flagger/analysis-mode',
          [...base, hasStep ? 'stepWeight' : 'stepWeights'],
          'ignored: iterations > 0 runs blue/green or A/B testing; the upstream Flagger CRD accepts only one of iterations, stepWeight, stepWeights',
          { value: hasStep ? a.stepWeight : steps },
        ),
      );
    else
      out.push(
        warning(
          'flagger/analysis-mode',
          [...base, 'iterations'],
          'has no effect next to stepWeight(s); the upstream Flagger CRD accepts only one of iterations, stepWeight, stepWeights',
          { value: iterations },
        ),
      );
  } else if (!hasIterations && !hasStep && !hasSteps && !stalled) {
    out.push(
      warning(
        'flagger/analysis-mode',
        base,
        'the upstream Flagger CRD requires one of iterations, stepWeight or stepWeights',
        { allowed: 'iterations (blue/green, A/B) or stepWeight / stepWeights (canary)' },
      ),
    );
  }

  // Provider-specific strategy limits.
  const match = arr(a, 'match');
  const iterCount = typeof iterations === 'number' ? iterations : 0;
  if (provider === 'kubernetes') {
    if (!(iterCount >= 1))
      out.push(
        warning(
          'flagger/kubernetes-iterations',
          [...base, 'iterations'],
          'the kubernetes provider only runs blue/green; Flagger uses iterations: 10',
          { value: iterations ?? undefined, allowed: 'an integer of 1 or more' },
        ),
      );
    if (match.length > 0)
      out.push(
        warning(
          'flagger/match-unsupported',
          [...base, 'match'],
          'ignored: the kubernetes provider cannot route by request (no A/B testing)',
          {
            allowed: 'a provider with L7 routing, e.g. istio or gatewayapi:v1',
          },
        ),
      );
  } else if (match.length > 0 && !(iterCount > 0)) {
    out.push(
      warning(
        'flagger/match-without-iterations',
        [...base, 'match'],
        'A/B testing needs iterations; without them only matching requests are shifted progressively',
        { allowed: 'set iterations for A/B testing' },
      ),
    );
  }

  // Mirroring: Istio (canary pre-stage and blue/green), Gateway API (blue/green only).
  if (a.mirror === true && provider !== undefined) {
    const supported = provider === 'istio' || (provider.startsWith('gatewayapi') && iterCount > 0);
    if (!supported)
      out.push(
        warning(
          'flagger/mirror-unsupported',
          [...base, 'mirror'],
          `ignored: the ${provider} provider does not mirror traffic${provider.startsWith('gatewayapi') ? ' in a progressive canary' : ''}`,
          { value: true, allowed: 'istio, or gatewayapi with iterations (blue/green)' },
        ),
      );
  }
  const mirrorWeight = a.mirrorWeight;
  if (
    typeof mirrorWeight === 'number' &&
    (!Number.isInteger(mirrorWeight) || mirrorWeight < 0 || mirrorWeight > 100)
  )
    out.push(
      error('flagger/mirror-weight-range', [...base, 'mirrorWeight'], 'is not a percentage', {
        value: mirrorWeight,
        allowed: 'an integer from 0 to 100',
      }),
    );

  for (const field of ['primaryReadyThreshold', 'canaryReadyThreshold'] as const) {
    const v = a[field];
    if (typeof v === 'number' && (v < 0 || v > 100))
      out.push(
        error(
          'flagger/ready-threshold-range',
          [...base, field],
          'is not a percentage; above 100 the pods never count as ready',
          {
            value: v,
            allowed: 'an integer from 0 to 100',
          },
        ),
      );
  }

  const promotionStep = num(a, 'stepWeightPromotion');
  if (promotionStep !== undefined && promotionStep < 0)
    out.push(
      error(
        'flagger/step-weight-promotion-range',
        [...base, 'stepWeightPromotion'],
        'a negative step never moves traffic back to the primary: the promotion never finishes',
        { value: promotionStep, allowed: 'an integer from 0 (all at once) to 100' },
      ),
    );

  return out;
};

/** Session affinity: a cookie name, different from the primary cookie name. */
export const checkSessionAffinity: Rule = (o) => {
  const key = analysisField(o);
  const sa = obj(getAnalysis(o), 'sessionAffinity');
  if (!key || !sa) return [];
  const out: Diagnostic[] = [];
  const base: Path = ['spec', key, 'sessionAffinity'];
  const cookie = str(sa, 'cookieName');
  if (!nonEmpty(cookie))
    out.push(
      error(
        'flagger/session-affinity-cookie-name',
        [...base, 'cookieName'],
        'the canary cookie name is required',
        {
          value: sa.cookieName ?? undefined,
          allowed: 'a cookie name, e.g. flagger-cookie',
        },
      ),
    );
  else if (str(sa, 'primaryCookieName') === cookie)
    out.push(
      error(
        'flagger/session-affinity-cookie',
        [...base, 'primaryCookieName'],
        'must differ from cookieName, else primary and canary users carry the same cookie',
        { value: cookie, allowed: `a name other than ${JSON.stringify(cookie)}` },
      ),
    );
  const provider = str(o.spec, 'provider');
  if (provider !== undefined && provider !== 'istio' && !provider.startsWith('gatewayapi'))
    out.push(
      warning(
        'flagger/session-affinity-unsupported',
        base,
        `ignored: the ${provider} provider has no session affinity`,
        {
          allowed: 'istio or gatewayapi',
        },
      ),
    );
  return out;
};

/** Metrics: exactly one source each, a sane range, a duration window. */
export const checkMetrics: Rule = (o) => {
  const key = analysisField(o);
  if (!key) return [];
  const out: Diagnostic[] = [];
  arr(getAnalysis(o), 'metrics').forEach((m, i) => {
    if (!isObj(m)) return;
    const p: Path = ['spec', key, 'metrics', i];
    const name = str(m, 'name');
    const builtin = name !== undefined && (BUILTIN_METRICS as readonly string[]).includes(name);
    const hasTemplate = has(m, 'templateRef');
    const hasQuery = nonEmpty(str(m, 'query'));
    const sources = Number(builtin) + Number(hasTemplate) + Number(hasQuery);
    if (sources === 0)
      out.push(
        error(
          'flagger/metric-source',
          [...p, 'name'],
          'is not a builtin metric, and the metric has neither templateRef nor query: every check would fail',
          { value: m.name ?? undefined, allowed: `${BUILTIN_METRICS.join(', ')}, or a templateRef` },
        ),
      );
    else if (sources > 1)
      out.push(
        error(
          'flagger/metric-source',
          [...p, hasQuery ? 'query' : 'templateRef'],
          builtin
            ? `the builtin ${name} check would run as well: give the metric another name or drop this field`
            : 'use either templateRef or the deprecated query, not both: Flagger would run both',
          { allowed: 'exactly one of a builtin name, templateRef, query' },
        ),
      );
    const ref = obj(m, 'templateRef');
    if (ref && !nonEmpty(str(ref, 'name')))
      out.push(
        error(
          'flagger/template-ref-name',
          [...p, 'templateRef', 'name'],
          'the MetricTemplate name is required',
          {
            value: ref.name ?? undefined,
            allowed: 'the name of a MetricTemplate',
          },
        ),
      );

    const range = obj(m, 'thresholdRange');
    const min = num(range, 'min');
    const max = num(range, 'max');
    if (min !== undefined && max !== undefined && min > max)
      out.push(
        error(
          'flagger/metric-threshold-range',
          [...p, 'thresholdRange'],
          'min is above max: every check fails',
          {
            value: range,
            allowed: 'min <= max',
          },
        ),
      );
    if (!has(range, 'min') && !has(range, 'max') && !has(m, 'threshold'))
      out.push(
        warning(
          'flagger/metric-no-threshold',
          p,
          range
            ? 'thresholdRange has neither min nor max: the check always passes'
            : name === 'request-success-rate'
              ? 'no thresholdRange: the check always passes'
              : 'no thresholdRange: the check fails whenever the value is above 0',
          { allowed: 'thresholdRange with min and/or max' },
        ),
      );

    const interval = str(m, 'interval');
    if (nonEmpty(interval) && parseGoDuration(interval) === undefined)
      out.push(
        error('flagger/metric-interval', [...p, 'interval'], 'is not a duration', {
          value: interval,
          allowed: 'a duration such as "1m" or "30s"',
        }),
      );
  });
  return out;
};

/** Webhooks: an absolute http(s) URL, a known type, a duration timeout. */
export const checkWebhooks: Rule = (o) => {
  const key = analysisField(o);
  if (!key) return [];
  const out: Diagnostic[] = [];
  arr(getAnalysis(o), 'webhooks').forEach((w, i) => {
    if (!isObj(w)) return;
    const p: Path = ['spec', key, 'webhooks', i];
    const url = str(w, 'url');
    if (!nonEmpty(url))
      out.push(
        error('flagger/webhook-url', [...p, 'url'], 'the webhook URL is required', {
          value: w.url ?? undefined,
          allowed: 'an absolute http(s) URL',
        }),
      );
    else if (!isHttpUrl(url))
      out.push(
        error('flagger/webhook-url', [...p, 'url'], 'is not an absolute http(s) URL', {
          value: url,
          allowed: 'e.g. http://flagger-loadtester.test/',
        }),
      );
    if (has(w, 'type') && !(WEBHOOK_TYPES as readonly unknown[]).includes(w.type))
      out.push(
        error('flagger/webhook-type', [...p, 'type'], 'is not a webhook type', {
          value: w.type,
          allowed: WEBHOOK_TYPES.filter((t) => t !== '').join(', '),
        }),
      );
    const timeout = str(w, 'timeout');
    if (nonEmpty(timeout) && parseGoDuration(timeout) === undefined)
      out.push(
        error(
          'flagger/webhook-timeout',
          [...p, 'timeout'],
          'is not a duration (Flagger would silently use 10s)',
          {
            value: timeout,
            allowed: 'a duration such as "30s"',
          },
        ),
      );
  });
  return out;
};

/** Alerts need the name of an AlertProvider. */
export const checkAlerts: Rule = (o) => {
  const key = analysisField(o);
  if (!key) return [];
  const out: Diagnostic[] = [];
  arr(getAnalysis(o), 'alerts').forEach((al, i) => {
    if (!isObj(al)) return;
    const ref = obj(al, 'providerRef');
    if (!nonEmpty(str(ref, 'name')))
      out.push(
        error(
          'flagger/alert-provider-ref',
          ['spec', key, 'alerts', i, 'providerRef', 'name'],
          'the AlertProvider name is required',
          {
            value: ref?.name ?? undefined,
            allowed: 'the name of an AlertProvider',
          },
        ),
      );
  });
  return out;
};

const REF_BY_PROVIDER: { test: (p: string) => boolean; path: FieldPath; what: string; allowed: string }[] = [
  {
    test: (p) => p === 'nginx',
    path: ['spec', 'ingressRef'],
    what: 'the nginx provider needs the Ingress to clone',
    allowed: 'ingressRef: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: ...}',
  },
  {
    test: (p) => p === 'apisix',
    path: ['spec', 'routeRef'],
    what: 'the apisix provider needs the ApisixRoute to clone',
    allowed: 'routeRef: {apiVersion: apisix.apache.org/v2, kind: ApisixRoute, name: ...}',
  },
  {
    test: (p) => p.startsWith('gatewayapi'),
    path: ['spec', 'service', 'gatewayRefs'],
    what: 'the Gateway API provider needs the Gateways the HTTPRoute attaches to',
    allowed: 'a list of Gateway references, e.g. [{name: gateway, namespace: istio-ingress}]',
  },
];

/** Deadline, autoscaler overrides and the references a provider cannot work without. */
export const checkSpecMisc: Rule = (o) => {
  const out: Diagnostic[] = [];
  const spec = isObj(o.spec) ? (o.spec as Loose) : undefined;
  const deadline = num(spec, 'progressDeadlineSeconds');
  if (deadline !== undefined && deadline <= 0)
    out.push(
      error(
        'flagger/progress-deadline',
        ['spec', 'progressDeadlineSeconds'],
        'a deadline of 0 or less fails every rollout at once',
        {
          value: deadline,
          allowed: 'a positive number of seconds (default 600)',
        },
      ),
    );

  const replicas = obj(obj(spec, 'autoscalerRef'), 'primaryScalerReplicas');
  const minR = num(replicas, 'minReplicas');
  const maxR = num(replicas, 'maxReplicas');
  if (minR !== undefined && maxR !== undefined && minR > maxR)
    out.push(
      error(
        'flagger/primary-scaler-replicas',
        ['spec', 'autoscalerRef', 'primaryScalerReplicas'],
        'minReplicas is above maxReplicas',
        {
          value: replicas,
          allowed: 'minReplicas <= maxReplicas',
        },
      ),
    );

  const provider = str(spec, 'provider');
  if (provider !== undefined) {
    for (const r of REF_BY_PROVIDER) {
      if (!r.test(provider)) continue;
      const [, a, b] = r.path as [string, string, string | undefined];
      const present = b === undefined ? has(spec, a) : arr(obj(spec, a), b).length > 0;
      if (!present) out.push(error('flagger/provider-ref-required', r.path, r.what, { allowed: r.allowed }));
    }
  }
  return out;
};

/** Every Canary rule, in reporting order. */
export const canaryRules: Rule[] = [
  checkTargetRef,
  checkServicePort,
  checkAnalysisPresent,
  checkAnalysisSchedule,
  checkSessionAffinity,
  checkMetrics,
  checkWebhooks,
  checkAlerts,
  checkSpecMisc,
];

/** Runs every Canary rule (convenience for tests and `vireo lint`). */
export function lintCanary(o: ManifestObject): Diagnostic[] {
  return canaryRules.flatMap((r) => r(o, { objects: [o] }));
}
