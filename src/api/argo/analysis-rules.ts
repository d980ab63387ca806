/**
 * Semantic rules of AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun: what Argo Rollouts
 * checks when it validates metrics (`utils/analysis/factory.go` `ValidateMetrics`/`ValidateMetric`,
 * `GetDryRunMetrics`, `GetMeasurementRetentionMetrics`, `MergeArgs`), what its providers reject when
 * a measurement starts (web, datadog, prometheus), and what fails when `{{...}}` placeholders are
 * resolved (`utils/template/template.go`). Messages are Vireo's own; the codes are stable.
 *
 * Values that still hold a `{{args.x}}` placeholder are not checked as numbers or durations: Argo
 * resolves the placeholders first (an AnalysisRun's args) and validates the result.
 *
 * Not checked here: a metric with `interval` and no `count` runs until the run is terminated, which is
 * only allowed in a Rollout's background analysis (Argo rejects it for step, pre/post-promotion and
 * experiment analyses). Whether a template is used that way is only known from the Rollout, so the
 * Rollout lint warns; `effectiveCount()` in analysis.ts returns `undefined` for such a metric.
 */
import { compile, ExprError } from '../../expr/index.js';
import { compileRegex } from '../../expr/regex.js';
import { type Diagnostic, error, warning } from '../diagnostics.js';
import { parseGoDuration } from '../duration.js';
import type { ManifestObject, Rule, RuleContext } from '../kind.js';
import { providerNames } from './metric-providers.js';

type Obj = Record<string, unknown>;
type Path = (string | number)[];

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';

// ---------------------------------------------------------------------------------------------
// Helpers shared with analysis.ts
// ---------------------------------------------------------------------------------------------

/** An int-or-string metric field (count, failureLimit…) as Argo will read it. */
export type IntField =
  | { kind: 'absent' }
  | { kind: 'int'; value: number }
  /** Holds `{{...}}`; the number is known once the AnalysisRun's args are resolved. */
  | { kind: 'placeholder' }
  /** Neither an integer nor a placeholder. Go's `IntOrString.IntValue()` silently reads 0 here. */
  | { kind: 'invalid' };

/** Go's `strconv.Atoi` grammar: optional sign, decimal digits. */
const INT_TEXT = /^[+-]?\d+$/;

export function readIntField(value: unknown): IntField {
  if (value === undefined || value === null) return { kind: 'absent' };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { kind: 'int', value } : { kind: 'invalid' };
  if (typeof value === 'string') {
    if (INT_TEXT.test(value)) return { kind: 'int', value: Number(value) };
    if (value.includes('{{')) return { kind: 'placeholder' };
  }
  return { kind: 'invalid' };
}

export interface PlaceholderScan {
  /** Tag texts between `{{` and `}}`, trimmed as Argo trims them (`{{ args.x }}` → `args.x`). */
  tags: string[];
  /** A `{{` with no `}}` after it (fasttemplate: "cannot find end tag"). */
  unterminated: boolean;
}

/** Finds `{{...}}` tags the way fasttemplate does: each `{{` up to the next `}}`, no nesting. */
export function scanPlaceholders(text: string): PlaceholderScan {
  const tags: string[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('{{', at);
    if (open < 0) return { tags, unterminated: false };
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return { tags, unterminated: true };
    tags.push(text.slice(open + 2, close).trim());
    at = close + 2;
  }
}

/** The arg name of an `args.NAME` tag, or undefined for any other tag. */
export const argNameOfTag = (tag: string): string | undefined =>
  tag.startsWith('args.') ? tag.slice(5) : undefined;

/** Every string in a value (object keys included), with its path. */
function* stringsIn(value: unknown, path: Path): Generator<[string, Path]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value))
    for (let i = 0; i < value.length; i++) yield* stringsIn(value[i], [...path, i]);
  else if (isObj(value))
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('{{')) yield [k, [...path, k]];
      yield* stringsIn(v, [...path, k]);
    }
}

/**
 * Whether a dryRun/measurementRetention `metricName` selects `name`. Argo matches it as an unanchored
 * Go regular expression (`regexp.MatchString`); an exact name therefore matches itself. `*` is
 * documented on the Go type as "all metrics" and accepted here as such.
 */
export function metricNameMatches(pattern: string, name: string): boolean {
  if (pattern === name || pattern === '*') return true;
  // Argo matches with Go's RE2; the condition language's RE2 matcher runs in linear time, so a
  // pathological pattern cannot hang the linter the way a backtracking RegExp would.
  try {
    let budget = 1_000_000;
    return compileRegex(pattern).test(name, (n) => {
      budget -= n;
      if (budget < 0) throw new Error('regex budget exceeded');
    });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Per-metric checks
// ---------------------------------------------------------------------------------------------

const hasPlaceholder = (v: string) => v.includes('{{');

function checkDuration(value: unknown, path: Path, out: Diagnostic[]) {
  if (!nonEmptyString(value) || hasPlaceholder(value)) return;
  if (parseGoDuration(value) === undefined)
    out.push(
      error('argo/invalid-duration', path, 'is not a Go duration', {
        value,
        allowed: 'a duration such as "30s", "5m" or "1h30m"',
      }),
    );
}

/** Lowest allowed value of each int-or-string metric field (failureLimit -1 disables it, v1.8+). */
const LIMIT_MINIMUM: Record<string, { min: number; allowed: string }> = {
  failureLimit: { min: -1, allowed: '-1 (no failure limit) or more' },
  inconclusiveLimit: { min: 0, allowed: '0 or more' },
  consecutiveErrorLimit: { min: 0, allowed: '0 or more' },
  consecutiveSuccessLimit: { min: 0, allowed: '0 (off) or more' },
};

function checkMetric(m: Obj, p: Path, out: Diagnostic[]) {
  checkDuration(m.interval, [...p, 'interval'], out);
  checkDuration(m.initialDelay, [...p, 'initialDelay'], out);

  const fields: Record<string, IntField> = {};
  for (const key of ['count', ...Object.keys(LIMIT_MINIMUM)]) {
    const f = readIntField(m[key]);
    fields[key] = f;
    if (f.kind === 'invalid')
      out.push(
        error(
          'argo/metric-not-integer',
          [...p, key],
          'must be an integer or an {{args.x}} placeholder holding one',
          {
            value: m[key],
            allowed: 'an integer, e.g. 3 or "3"',
          },
        ),
      );
  }
  const int = (key: string) => {
    const f = fields[key];
    return f?.kind === 'int' ? f.value : undefined;
  };

  const count = int('count');
  if (count !== undefined && count < 0)
    out.push(
      error('argo/metric-count-negative', [...p, 'count'], 'must not be negative', {
        value: m.count,
        allowed: '0 or more',
      }),
    );
  for (const [key, { min, allowed }] of Object.entries(LIMIT_MINIMUM)) {
    const v = int(key);
    if (v !== undefined && v < min)
      out.push(error('argo/metric-limit-range', [...p, key], 'is too small', { value: m[key], allowed }));
  }
  if (count !== undefined && count > 0) {
    // Argo: "count must be >= failureLimit" (and inconclusiveLimit, consecutiveSuccessLimit).
    for (const key of ['failureLimit', 'inconclusiveLimit', 'consecutiveSuccessLimit']) {
      const v = int(key);
      if (v !== undefined && v > count)
        out.push(
          error(
            'argo/metric-limit-exceeds-count',
            [...p, key],
            `is greater than count (${count}), so it can never be reached`,
            {
              value: m[key],
              allowed: `at most count (${count})`,
            },
          ),
        );
    }
  }
  if (count !== undefined && count > 1 && !nonEmptyString(m.interval))
    out.push(
      error(
        'argo/metric-count-requires-interval',
        [...p, 'count'],
        'more than one measurement needs an interval between them',
        {
          value: m.count,
          allowed: 'count 0 or 1, or set interval',
        },
      ),
    );
  // failureLimit -1 turns failure counting off; then consecutiveSuccessLimit (0 = off) must be on.
  const csl = fields.consecutiveSuccessLimit;
  if (int('failureLimit') === -1 && (csl?.kind === 'absent' || (csl?.kind === 'int' && csl.value === 0)))
    out.push(
      error(
        'argo/metric-limits-disabled',
        [...p, 'failureLimit'],
        'failureLimit -1 disables failure counting, and consecutiveSuccessLimit is off too, so the metric could never conclude',
        { value: m.failureLimit, allowed: 'failureLimit 0 or more, or a consecutiveSuccessLimit above 0' },
      ),
    );

  for (const key of ['successCondition', 'failureCondition']) {
    const c = m[key];
    if (typeof c === 'string' && c.trim() !== '' && !c.includes('{{')) {
      // Parse the condition now, so a typo fails at lint time with its column, not at the first measurement.
      try {
        compile(c);
      } catch (e) {
        if (e instanceof ExprError && (e.kind === 'syntax' || e.kind === 'limit'))
          out.push({
            ...error('argo/condition-syntax', [...p, key], e.message, {
              value: c,
              allowed: 'an expr-lang expression such as "result[0] >= 0.95" or "all(result, {# < 500})"',
            }),
            valueOffset: Math.max(0, e.column - 1),
          });
      }
    }
    if (typeof c !== 'string' || c.trim() !== '') continue;
    if (c === '')
      out.push(
        warning('argo/metric-condition-empty', [...p, key], 'is empty and is treated as not set', {
          value: c,
        }),
      );
    else
      out.push(
        error(
          'argo/metric-condition-empty',
          [...p, key],
          'holds only whitespace, which is not an expression',
          {
            value: c,
            allowed: 'an expression such as "result[0] >= 0.95"',
          },
        ),
      );
  }

  const provider = m.provider;
  if (isObj(provider)) checkProvider(provider, [...p, 'provider'], out);
}

function checkProvider(provider: Obj, p: Path, out: Diagnostic[]) {
  const set: string[] = [];
  for (const name of providerNames) {
    const v = provider[name];
    if (v === undefined || v === null) continue;
    // Argo counts each key of `plugin` as one provider.
    if (name === 'plugin') set.push(...(isObj(v) ? Object.keys(v).map((k) => `plugin.${k}`) : []));
    else set.push(name);
  }
  if (set.length === 0)
    out.push(
      error('argo/metric-provider-missing', p, 'no metric provider is set', {
        allowed: `one of ${providerNames.join(', ')}`,
      }),
    );
  else if (set.length > 1)
    out.push(
      error(
        'argo/metric-provider-multiple',
        p,
        `sets ${set.length} providers (${set.join(', ')}); a metric takes exactly one`,
        {
          value: set,
          allowed: 'exactly one provider',
        },
      ),
    );

  if (isObj(provider.prometheus)) checkPrometheus(provider.prometheus, [...p, 'prometheus'], out);
  if (isObj(provider.web)) checkWeb(provider.web, [...p, 'web'], out);
  if (isObj(provider.datadog)) checkDatadog(provider.datadog, [...p, 'datadog'], out);
  if (isObj(provider.cloudWatch))
    checkDuration(provider.cloudWatch.interval, [...p, 'cloudWatch', 'interval'], out);
  if (isObj(provider.skywalking))
    checkDuration(provider.skywalking.interval, [...p, 'skywalking', 'interval'], out);
}

function checkPrometheus(prom: Obj, p: Path, out: Diagnostic[]) {
  if (!nonEmptyString(prom.query))
    out.push(
      error('argo/prometheus-query-missing', [...p, 'query'], 'a Prometheus metric needs a query', {
        allowed: 'a PromQL query',
      }),
    );
  if (!nonEmptyString(prom.address))
    out.push(
      warning(
        'argo/prometheus-address-missing',
        [...p, 'address'],
        'no Prometheus address; the controller must then be given ARGO_ROLLOUTS_PROMETHEUS_ADDRESS',
        { allowed: 'a URL such as http://prometheus.monitoring:9090' },
      ),
    );
  const range = prom.rangeQuery;
  if (isObj(range)) {
    if (!nonEmptyString(range.step))
      out.push(
        error(
          'argo/prometheus-range-step-missing',
          [...p, 'rangeQuery', 'step'],
          'a range query needs a step',
          {
            allowed: 'a duration such as "1m"',
          },
        ),
      );
    else checkDuration(range.step, [...p, 'rangeQuery', 'step'], out);
  }
}

function checkWeb(web: Obj, p: Path, out: Diagnostic[]) {
  if (web.url === '')
    out.push(
      error('argo/web-url-empty', [...p, 'url'], 'must not be empty', {
        value: web.url,
        allowed: 'an http(s) URL',
      }),
    );
  const hasBody = nonEmptyString(web.body);
  const hasJson = web.jsonBody !== undefined && web.jsonBody !== null;
  if (hasBody && hasJson)
    out.push(
      error('argo/web-body-and-json-body', [...p, 'jsonBody'], 'body and jsonBody cannot both be set', {
        allowed: 'either body or jsonBody',
      }),
    );
  const method = web.method ?? 'GET';
  if ((hasBody || hasJson) && (method === 'GET' || method === ''))
    out.push(
      error(
        'argo/web-body-requires-post-or-put',
        [...p, 'method'],
        'a request body is only sent with POST or PUT',
        {
          value: web.method ?? 'GET (default)',
          allowed: 'POST or PUT',
        },
      ),
    );
}

function checkDatadog(dd: Obj, p: Path, out: Diagnostic[]) {
  checkDuration(dd.interval, [...p, 'interval'], out);
  const hasQuery = nonEmptyString(dd.query);
  const queries = isObj(dd.queries) ? Object.keys(dd.queries).length : 0;
  const apiVersion = dd.apiVersion ?? 'v1';
  if (!hasQuery && queries === 0)
    out.push(
      error('argo/datadog-query-missing', p, 'a Datadog metric needs query or queries', {
        allowed: 'query (API v1/v2) or queries with apiVersion v2',
      }),
    );
  if (hasQuery && queries > 0)
    out.push(
      error('argo/datadog-query-and-queries', [...p, 'queries'], 'query and queries cannot both be set', {
        allowed: 'one of them',
      }),
    );
  if (apiVersion === 'v1' && !hasQuery && queries > 0)
    out.push(
      error(
        'argo/datadog-queries-need-v2',
        [...p, 'apiVersion'],
        'queries are only supported by the v2 API (apiVersion defaults to v1)',
        {
          value: dd.apiVersion ?? 'v1 (default)',
          allowed: 'v2',
        },
      ),
    );
  if (nonEmptyString(dd.formula) && queries === 0)
    out.push(
      error('argo/datadog-formula-without-queries', [...p, 'formula'], 'a formula needs queries', {
        value: dd.formula,
      }),
    );
  if (!nonEmptyString(dd.formula) && queries > 1)
    out.push(
      error(
        'argo/datadog-formula-missing',
        [...p, 'queries'],
        `${queries} queries need a formula that combines them`,
        {
          value: Object.keys(dd.queries as Obj),
          allowed: 'a formula such as "a / b"',
        },
      ),
    );
}

// ---------------------------------------------------------------------------------------------
// Which args a template's placeholders may use
// ---------------------------------------------------------------------------------------------

type TemplateKind = 'AnalysisTemplate' | 'ClusterAnalysisTemplate';
const templateKey = (kind: string, name: string) => `${kind}/${name}`;
const refKey = (ref: Obj) =>
  typeof ref.templateName === 'string'
    ? templateKey(
        ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate',
        ref.templateName,
      )
    : undefined;

/** Every list of `{templateName, clusterScope}` references inside an argoproj.io object. */
function* templateLists(value: unknown): Generator<Obj[]> {
  if (Array.isArray(value)) {
    const refs = value.filter((v): v is Obj => isObj(v) && typeof v.templateName === 'string');
    if (refs.length > 0) yield refs;
    for (const v of value) yield* templateLists(v);
  } else if (isObj(value)) for (const v of Object.values(value)) yield* templateLists(v);
}

/**
 * The arg names a template's metrics may use. Argo merges the args of every template that ends up in
 * one AnalysisRun (templates listed together by a Rollout or Experiment, and templates nested with
 * `spec.templates`), so a metric may use an arg another template of the run declares. Templates
 * loaded together are grouped that way; `complete` is false when a group refers to a template that
 * was not loaded, in which case an undeclared arg cannot be told apart from one declared there.
 */
function declaredArgsForTemplate(
  obj: ManifestObject,
  ctx: RuleContext,
): { names: Set<string>; complete: boolean } {
  const templates = new Map<string, ManifestObject>();
  for (const o of ctx.objects)
    if (
      o.apiVersion?.startsWith('argoproj.io/') &&
      (o.kind === 'AnalysisTemplate' || o.kind === 'ClusterAnalysisTemplate')
    )
      if (typeof o.metadata?.name === 'string') templates.set(templateKey(o.kind, o.metadata.name), o);
  const self = typeof obj.metadata?.name === 'string' ? templateKey(obj.kind, obj.metadata.name) : undefined;
  if (self && !templates.has(self)) templates.set(self, obj);

  // Union-find over template keys; unloaded templates are nodes too and mark their group incomplete.
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(k, r);
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(ra, rb);
  };
  const sources: ManifestObject[] = [...ctx.objects];
  if (!ctx.objects.includes(obj)) sources.push(obj);
  for (const o of sources) {
    if (!o.apiVersion?.startsWith('argoproj.io/')) continue;
    const owner =
      (o.kind === 'AnalysisTemplate' || o.kind === 'ClusterAnalysisTemplate') &&
      typeof o.metadata?.name === 'string'
        ? templateKey(o.kind as TemplateKind, o.metadata.name)
        : undefined;
    for (const list of templateLists(o.spec)) {
      const keys = list.map(refKey).filter((k): k is string => k !== undefined);
      if (owner) keys.push(owner);
      for (const k of keys) find(k);
      for (let i = 1; i < keys.length; i++) union(keys[0] as string, keys[i] as string);
    }
  }

  const names = new Set<string>();
  let complete = true;
  const addArgs = (t: ManifestObject) => {
    for (const a of asArray(isObj(t.spec) ? t.spec.args : undefined))
      if (isObj(a) && typeof a.name === 'string') names.add(a.name);
  };
  if (!self) {
    addArgs(obj);
    return { names, complete };
  }
  const group = find(self);
  for (const key of parent.keys()) {
    if (find(key) !== group) continue;
    const t = key === self ? obj : templates.get(key);
    if (t) addArgs(t);
    else complete = false;
  }
  return { names, complete };
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

type Flavour = 'template' | 'run';

const specOf = (obj: ManifestObject): Obj | undefined => (isObj(obj.spec) ? obj.spec : undefined);

/** Metrics present, names unique, each metric and its provider valid. */
const metricsRule =
  (flavour: Flavour): Rule =>
  (obj) => {
    const spec = specOf(obj);
    if (!spec) return [];
    const out: Diagnostic[] = [];
    const metrics = spec.metrics;
    const nested = asArray(spec.templates).length > 0;
    if (
      (metrics === undefined || (Array.isArray(metrics) && metrics.length === 0)) &&
      !(flavour === 'template' && nested)
    )
      out.push(
        error('argo/analysis-no-metrics', ['spec', 'metrics'], 'at least one metric is required', {
          allowed:
            flavour === 'template' ? 'one or more metrics, or nested templates' : 'one or more metrics',
        }),
      );
    const seen = new Set<string>();
    asArray(metrics).forEach((m, i) => {
      if (!isObj(m)) return;
      const p: Path = ['spec', 'metrics', i];
      if (typeof m.name === 'string') {
        if (seen.has(m.name))
          out.push(
            error(
              'argo/metric-name-duplicate',
              [...p, 'name'],
              `another metric is already named ${JSON.stringify(m.name)}`,
              {
                value: m.name,
                allowed: 'a name used by no other metric',
              },
            ),
          );
        seen.add(m.name);
      }
      checkMetric(m, p, out);
    });
    asArray(spec.templates).forEach((t, i) => {
      if (isObj(t) && !nonEmptyString(t.templateName))
        out.push(
          error(
            'argo/template-ref-name-missing',
            ['spec', 'templates', i, 'templateName'],
            'a nested template reference needs a templateName',
            {
              allowed:
                'the name of an AnalysisTemplate (or a ClusterAnalysisTemplate with clusterScope: true)',
            },
          ),
        );
    });
    return out;
  };

/** Arg names unique; value and valueFrom not both; valueFrom names one source; runs have every value. */
const argsRule =
  (flavour: Flavour): Rule =>
  (obj) => {
    const spec = specOf(obj);
    if (!spec) return [];
    const out: Diagnostic[] = [];
    const seen = new Set<string>();
    asArray(spec.args).forEach((a, i) => {
      if (!isObj(a)) return;
      const p: Path = ['spec', 'args', i];
      if (typeof a.name === 'string') {
        if (seen.has(a.name))
          out.push(
            error(
              'argo/arg-name-duplicate',
              [...p, 'name'],
              `another arg is already named ${JSON.stringify(a.name)}`,
              {
                value: a.name,
                allowed: 'a name used by no other arg',
              },
            ),
          );
        seen.add(a.name);
      }
      const hasValue = a.value !== undefined && a.value !== null;
      const vf = a.valueFrom;
      const hasValueFrom = vf !== undefined && vf !== null;
      if (hasValue && hasValueFrom)
        out.push(
          error('argo/arg-value-and-value-from', p, 'an arg takes value or valueFrom, not both', {
            allowed: 'either value or valueFrom',
          }),
        );
      if (isObj(vf)) {
        const sources = ['secretKeyRef', 'fieldRef'].filter((k) => vf[k] !== undefined && vf[k] !== null);
        if (sources.length !== 1)
          out.push(
            error(
              'argo/arg-value-from-one-of',
              [...p, 'valueFrom'],
              sources.length === 0 ? 'valueFrom names no source' : 'valueFrom names more than one source',
              { value: sources, allowed: 'exactly one of secretKeyRef or fieldRef' },
            ),
          );
      }
      if (flavour === 'run' && !hasValue && !hasValueFrom)
        out.push(
          error(
            'argo/arg-unresolved',
            p,
            `arg ${JSON.stringify(a.name)} has no value; an AnalysisRun needs every arg resolved`,
            {
              allowed: 'value or valueFrom',
            },
          ),
        );
    });
    return out;
  };

/** dryRun and measurementRetention rules must each select a metric, and not repeat. */
const metricSelectorsRule =
  (flavour: Flavour): Rule =>
  (obj) => {
    const spec = specOf(obj);
    if (!spec) return [];
    const out: Diagnostic[] = [];
    const names = asArray(spec.metrics)
      .map((m) => (isObj(m) && typeof m.name === 'string' ? m.name : undefined))
      .filter((n): n is string => n !== undefined);
    // With nested templates the run's metrics also come from elsewhere; matching cannot be judged here.
    // Without any metric, analysis-no-metrics already says what is wrong.
    const known = (flavour === 'run' || asArray(spec.templates).length === 0) && names.length > 0;
    for (const field of ['dryRun', 'measurementRetention'] as const) {
      const label = field === 'dryRun' ? 'dry-run' : 'measurement-retention';
      const seen = new Set<string>();
      asArray(spec[field]).forEach((entry, i) => {
        if (!isObj(entry) || typeof entry.metricName !== 'string') return;
        const p: Path = ['spec', field, i, 'metricName'];
        const pattern = entry.metricName;
        if (seen.has(pattern))
          out.push(
            error(
              `argo/${label}-duplicate`,
              p,
              `another ${field} rule already names ${JSON.stringify(pattern)}`,
              { value: pattern },
            ),
          );
        seen.add(pattern);
        if (known && !names.some((n) => metricNameMatches(pattern, n)))
          out.push(
            error(`argo/${label}-unmatched`, p, 'matches no metric of this analysis', {
              value: pattern,
              allowed: names.length
                ? `a metric name or regular expression matching one of ${names.join(', ')}`
                : 'a metric name',
            }),
          );
        else if (field === 'dryRun' && pattern === '*')
          out.push(
            warning(
              'argo/dry-run-wildcard',
              p,
              'Argo Rollouts reads metricName as a regular expression, where "*" is invalid',
              {
                value: pattern,
                allowed: '".*" for all metrics',
              },
            ),
          );
        if (field === 'measurementRetention' && typeof entry.limit === 'number' && entry.limit < 1)
          out.push(
            error(
              'argo/measurement-retention-limit',
              ['spec', field, i, 'limit'],
              'must keep at least one measurement',
              {
                value: entry.limit,
                allowed: '1 or more',
              },
            ),
          );
      });
    }
    return out;
  };

/** `{{...}}` placeholders in metrics must resolve: only `{{args.NAME}}` of a declared arg does. */
const placeholdersRule =
  (flavour: Flavour): Rule =>
  (obj, ctx) => {
    const spec = specOf(obj);
    if (!spec) return [];
    const metrics = asArray(spec.metrics);
    if (metrics.length === 0) return [];
    let declared: { names: Set<string>; complete: boolean };
    if (flavour === 'run') {
      const names = new Set<string>();
      for (const a of asArray(spec.args)) if (isObj(a) && typeof a.name === 'string') names.add(a.name);
      declared = { names, complete: true };
    } else declared = declaredArgsForTemplate(obj, ctx);
    const out: Diagnostic[] = [];
    metrics.forEach((m, i) => {
      for (const [text, path] of stringsIn(m, ['spec', 'metrics', i])) {
        if (!text.includes('{{')) continue;
        const { tags, unterminated } = scanPlaceholders(text);
        for (const tag of tags) {
          const arg = argNameOfTag(tag);
          if (arg === undefined)
            out.push(
              error(
                'argo/placeholder-unresolvable',
                path,
                `{{${tag}}} is not an arg placeholder and cannot be resolved`,
                {
                  value: text,
                  allowed: '{{args.NAME}} for a declared arg',
                },
              ),
            );
          else if (!declared.names.has(arg) && declared.complete)
            out.push(
              error(
                'argo/arg-undeclared',
                path,
                `uses {{args.${arg}}}, but no arg ${JSON.stringify(arg)} is declared`,
                {
                  value: text,
                  allowed: declared.names.size
                    ? `one of ${[...declared.names].join(', ')}`
                    : 'declare it under spec.args',
                },
              ),
            );
        }
        if (unterminated)
          out.push(
            error('argo/placeholder-unterminated', path, 'has "{{" with no closing "}}"', {
              value: text,
              allowed: '{{args.NAME}}',
            }),
          );
      }
    });
    return out;
  };

export const analysisTemplateRules: Rule[] = [
  metricsRule('template'),
  argsRule('template'),
  metricSelectorsRule('template'),
  placeholdersRule('template'),
];

export const analysisRunRules: Rule[] = [
  metricsRule('run'),
  argsRule('run'),
  metricSelectorsRule('run'),
  placeholdersRule('run'),
];
