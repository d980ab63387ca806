/**
 * `vireo analyze`: run an AnalysisTemplate / ClusterAnalysisTemplate (or a Flagger MetricTemplate)
 * against its real backend now, the way a release would, and print each measurement and the final
 * phase. This is how a template is tried before a release depends on it.
 *
 * Argo templates go through the real engine: `buildAnalysisRun`, then `reconcileAnalysisRun` and
 * `carryOutMeasurements` in a loop that waits out the intervals with real timers
 * (`driveAnalysisRun`). `--once` takes one measurement of each metric and lets it decide (count 1,
 * limits 0, no initialDelay). A metric with an interval and no count would run until stopped, as in
 * a background analysis; `--duration` terminates the run then (Argo's `terminate`: a metric that has
 * not failed by then is Successful).
 *
 * A MetricTemplate is one Flagger check: the query is rendered with `--namespace --target --interval
 * --var k=v`, run once, and the value compared with `--threshold-min/--threshold-max` (inclusive).
 *
 * Exit codes: 0 the analysis is Successful, 1 anything else (Failed, Error, Inconclusive, manifest
 * errors), 2 usage.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  carryOutMeasurements,
  type MetricProvider,
  type ProviderRegistry,
  providerType,
  type ResolvedCheck,
} from '../../analysis/provider.js';
import {
  type CanaryScope,
  type FlaggerCheckContext,
  templateModel,
} from '../../analysis/providers/flagger-prometheus.js';
import { realCheckProviders, realMetricProviders } from '../../analysis/providers/index.js';
import { safeAddress } from '../../analysis/providers/prometheus.js';
import { collapseWhitespace, renderTemplate } from '../../analysis/providers/promql-template.js';
import type { AnalysisRun, AnalysisTemplateSpec, Measurement, Metric } from '../../api/argo/analysis.js';
import { effectiveCount } from '../../api/argo/analysis.js';
import { formatDiagnostic } from '../../api/diagnostics.js';
import { parseGoDuration } from '../../api/duration.js';
import {
  type AnalysisAction,
  buildAnalysisRun,
  formatTime,
  isCompleted,
  type Observation,
  reconcileAnalysisRun,
  resolveMetricArgs,
  type TemplateKind,
} from '../../engine/analysis/index.js';
import type { MetricResult as CheckResult } from '../../engine/flagger/types.js';
import { evaluateThresholdRange } from '../../expr/index.js';
import {
  ExitCode,
  type Io,
  type OutputFormat,
  parseOutput,
  readSources,
  renderData,
  UsageError,
} from '../io.js';
import { lintSources } from './lint.js';

// -------------------------------------------------------------------------------------------------
// Driving an AnalysisRun with real time
// -------------------------------------------------------------------------------------------------

export interface MeasuredEvent {
  metric: string;
  measurement: Measurement;
}

export interface DriveOptions {
  providers: ProviderRegistry<MetricProvider>;
  /** Values of args from Secrets (never printed). */
  argValues?: Readonly<Record<string, string>>;
  /** Set `spec.terminate` at this epoch ms (the run then completes as Argo terminates it). */
  terminateAt?: number;
  /** Called for every measurement that completes, in order. */
  onMeasurement?: (e: MeasuredEvent) => void | Promise<void>;
  signal?: AbortSignal;
  /** Clock and sleep (tests may replace them). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const realSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

const finished = (r: { successful?: number; failed?: number; inconclusive?: number; error?: number }) =>
  (r.successful ?? 0) + (r.failed ?? 0) + (r.inconclusive ?? 0) + (r.error ?? 0);

/**
 * Runs `run` to completion: reconcile, carry out the provider actions, feed their observations to the
 * next reconcile, sleep until the requeue time. Returns the run with its final status. An aborted
 * `signal` terminates the run.
 */
export async function driveAnalysisRun(run: AnalysisRun, opts: DriveOptions): Promise<AnalysisRun> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  const seen = new Map<string, number>();
  let current = run;
  let observations: Observation[] = [];
  for (;;) {
    const t = now();
    const stopNow =
      (opts.terminateAt !== undefined && t >= opts.terminateAt) || opts.signal?.aborted === true;
    if (stopNow && current.spec.terminate !== true)
      current = { ...current, spec: { ...current.spec, terminate: true } };
    const r = reconcileAnalysisRun(
      current,
      t,
      observations,
      opts.argValues ? { argValues: opts.argValues } : {},
    );
    current = { ...current, status: r.status };
    for (const m of r.status.metricResults ?? []) {
      const total = finished(m);
      const before = seen.get(m.name) ?? 0;
      if (total === before) continue;
      seen.set(m.name, total);
      const done = (m.measurements ?? []).filter((x) => x.finishedAt !== undefined);
      for (const measurement of done.slice(Math.max(0, done.length - (total - before))))
        await opts.onMeasurement?.({ metric: m.name, measurement });
    }
    const work = r.actions.filter((a: AnalysisAction) => a.type !== 'requeue' && a.type !== 'garbageCollect');
    const ctx = {
      now: t,
      run: {
        name: current.metadata?.name ?? 'analyze',
        ...(current.metadata?.namespace ? { namespace: current.metadata.namespace } : {}),
      },
      ...(opts.argValues ? { argValues: opts.argValues } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    if (isCompleted(r.status.phase)) {
      // Best effort: stop what still runs (a terminated Job), nothing to observe.
      if (work.length > 0) await carryOutMeasurements(work, opts.providers, ctx);
      return current;
    }
    if (work.length > 0) {
      observations = await carryOutMeasurements(work, opts.providers, ctx);
      continue;
    }
    observations = [];
    const requeue = r.actions.find((a) => a.type === 'requeue');
    let wait = requeue?.type === 'requeue' ? requeue.afterMs : undefined;
    if (opts.terminateAt !== undefined)
      wait = Math.min(wait ?? Number.POSITIVE_INFINITY, Math.max(0, opts.terminateAt - now()));
    if (wait === undefined || !Number.isFinite(wait)) {
      // Nothing scheduled and not complete: only an observation could move it, and none will come.
      current = { ...current, spec: { ...current.spec, terminate: true } };
      continue;
    }
    await sleep(wait, opts.signal);
  }
}

// -------------------------------------------------------------------------------------------------
// The command
// -------------------------------------------------------------------------------------------------

export interface AnalyzeOptions {
  files: string[];
  name?: string;
  /** `name=value` pairs. */
  args: string[];
  once: boolean;
  durationMs?: number;
  output: OutputFormat;
  /** Query this Prometheus instead of the templates' address. */
  address?: string;
  thresholdMin?: number;
  thresholdMax?: number;
  namespace?: string;
  target?: string;
  interval?: string;
  /** `key=value` template variables (MetricTemplate). */
  vars: string[];
}

const TEMPLATE_KINDS = ['AnalysisTemplate', 'ClusterAnalysisTemplate', 'MetricTemplate'] as const;
type Kind = (typeof TEMPLATE_KINDS)[number];

interface Picked {
  kind: Kind;
  name: string;
  namespace?: string;
  spec: Record<string, unknown>;
}

function pairs(list: readonly string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} ${item}: expected NAME=VALUE`);
    const key = item.slice(0, eq);
    if (out.has(key)) throw new UsageError(`${flag} ${key} is given twice`);
    out.set(key, item.slice(eq + 1));
  }
  return out;
}

const relative = (ms: number) => `+${(ms / 1000).toFixed(1)}s`;

/** Loads, lints and picks the template; returns an exit code when the files have errors. */
function pickTemplate(opts: AnalyzeOptions, io: Io): { picked: Picked; all: Picked[] } | number {
  const { objects, diagnostics } = lintSources(readSources(opts.files, io.stdin));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    for (const d of errors) io.err(`${formatDiagnostic(d)}\n`);
    io.err(`cannot analyze: ${errors.length} error(s); run vireo lint for details\n`);
    return ExitCode.findings;
  }
  const all: Picked[] = objects
    .map((o) => o.object)
    .filter((o) => (TEMPLATE_KINDS as readonly string[]).includes(String(o.kind)))
    .map((o) => ({
      kind: o.kind as Kind,
      name: String(o.metadata?.name ?? ''),
      ...(o.metadata?.namespace ? { namespace: String(o.metadata.namespace) } : {}),
      spec: (o as { spec?: Record<string, unknown> }).spec ?? {},
    }));
  const chosen = opts.name ? all.filter((t) => t.name === opts.name) : all;
  const list = all.map((t) => `${t.kind}/${t.name}`).join(', ') || 'none';
  if (chosen.length === 0)
    throw new UsageError(
      opts.name
        ? `no template named ${opts.name} in the given files (found: ${list})`
        : 'no AnalysisTemplate, ClusterAnalysisTemplate or MetricTemplate in the given files',
    );
  if (chosen.length > 1)
    throw new UsageError(`the files hold ${chosen.length} templates (${list}); pick one with --name`);
  return { picked: chosen[0] as Picked, all };
}

/** What `--once` makes of a metric: one measurement now, and it decides. */
function onceMetric(m: Metric): Metric {
  const out: Metric = {
    ...m,
    count: 1,
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 0,
    consecutiveSuccessLimit: 0,
  };
  delete out.interval;
  delete out.initialDelay;
  return out;
}

export async function runAnalyze(opts: AnalyzeOptions, io: Io): Promise<number> {
  if (opts.address !== undefined && !/^https?:\/\/[^/]/.test(opts.address))
    throw new UsageError(`--address ${safeAddress(opts.address)}: must be an http(s) URL`);
  const got = pickTemplate(opts, io);
  if (typeof got === 'number') return got;
  const { picked, all } = got;
  if (picked.kind === 'MetricTemplate') return analyzeMetricTemplate(picked, opts, io);
  if (opts.thresholdMin !== undefined || opts.thresholdMax !== undefined)
    throw new UsageError(
      '--threshold-min/--threshold-max are for MetricTemplates; an AnalysisTemplate has its conditions',
    );
  if (
    opts.vars.length > 0 ||
    opts.target !== undefined ||
    opts.namespace !== undefined ||
    opts.interval !== undefined
  )
    throw new UsageError(
      '--var, --target, --namespace and --interval are for MetricTemplates; give AnalysisTemplate args with --arg',
    );
  return analyzeArgo(picked, all, opts, io);
}

async function analyzeArgo(picked: Picked, all: Picked[], opts: AnalyzeOptions, io: Io): Promise<number> {
  const given = pairs(opts.args, '--arg');
  const names = new Set<string>();
  const lookup = (kind: TemplateKind, name: string) => {
    const t = all.find((x) => x.kind === kind && x.name === name);
    if (!t) return undefined;
    const spec = structuredClone(t.spec) as AnalysisTemplateSpec;
    for (const a of spec.args ?? []) names.add(a.name);
    // A given arg wins over the template's value or Secret reference.
    for (const a of spec.args ?? []) {
      const v = given.get(a.name);
      if (v === undefined) continue;
      a.value = v;
      delete (a as { valueFrom?: unknown }).valueFrom;
    }
    if (opts.once) spec.metrics = (spec.metrics ?? []).map(onceMetric);
    return { spec };
  };
  const built = buildAnalysisRun(
    {
      name: `${picked.name}-analyze`,
      ...(picked.namespace ? { namespace: picked.namespace } : {}),
      templates: [{ templateName: picked.name, clusterScope: picked.kind === 'ClusterAnalysisTemplate' }],
    },
    lookup,
  );
  for (const k of given.keys())
    if (!names.has(k))
      throw new UsageError(
        `--arg ${k}: the template has no such arg (args: ${[...names].join(', ') || 'none'})`,
      );
  if (!built.ok) {
    const missing = /^args\.(.+) was not resolved$/.exec(built.message)?.[1];
    throw new UsageError(
      missing
        ? `the template needs arg ${missing}: give it with --arg ${missing}=VALUE`
        : `cannot build the analysis: ${built.message}`,
    );
  }
  const { run } = built;
  for (const a of built.valueFrom) {
    const ref = (a.valueFrom as { secretKeyRef?: { name?: string; key?: string } } | undefined)?.secretKeyRef;
    throw new UsageError(
      `arg ${a.name} comes from ${ref ? `Secret ${ref.name}/${ref.key}` : 'a reference Vireo cannot read here'}: give its value with --arg ${a.name}=VALUE`,
    );
  }
  let metrics: Metric[];
  try {
    metrics = run.spec.metrics.map((m) => resolveMetricArgs(m, run.spec.args));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (!opts.once && opts.durationMs === undefined) {
    const endless = metrics.find((m) => {
      try {
        return effectiveCount(m) === undefined;
      } catch {
        return false;
      }
    });
    if (endless)
      throw new UsageError(
        `metric ${endless.name} measures every ${endless.interval} without a count and would run until stopped: give --duration (e.g. --duration 1m) or --once`,
      );
  }

  const text = opts.output === 'text';
  const started = Date.now();
  if (text) {
    io.out(
      `${picked.kind}/${picked.name}: ${metrics.length} metric(s)${opts.once ? ', one measurement each (--once)' : ''}\n`,
    );
    for (const m of metrics) {
      const type = providerType(m) ?? '?';
      const cfg = (m.provider as Record<string, Record<string, unknown>> | undefined)?.[type] ?? {};
      const where = type === 'prometheus' ? ` ${safeAddress(opts.address ?? String(cfg.address ?? ''))}` : '';
      const when = m.interval
        ? `every ${m.interval}${m.count !== undefined ? `, count ${m.count}` : ''}`
        : 'once';
      const cond = [
        m.successCondition ? `success when ${m.successCondition}` : '',
        m.failureCondition ? `failure when ${m.failureCondition}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      io.out(`  ${m.name}: ${type}${where}, ${when}${cond ? `; ${cond}` : ''}\n`);
      if (typeof cfg.query === 'string') io.out(`    query: ${collapseWhitespace(cfg.query)}\n`);
    }
  }
  const measurements: (Measurement & { metric: string })[] = [];
  const final = await driveAnalysisRun(run, {
    providers: realMetricProviders(opts.address ? { prometheusAddress: opts.address } : {}),
    ...(opts.durationMs !== undefined ? { terminateAt: started + opts.durationMs } : {}),
    onMeasurement: ({ metric, measurement }) => {
      measurements.push({ metric, ...measurement });
      if (!text) return;
      const at = Date.parse(measurement.finishedAt ?? '') - started;
      const parts = [relative(Number.isFinite(at) ? at : Date.now() - started), metric, measurement.phase];
      if (measurement.value) parts.push(measurement.value);
      if (measurement.message) parts.push(`(${measurement.message})`);
      io.out(`  ${parts.join('  ')}\n`);
    },
  });
  const status = final.status ?? { phase: 'Error' };
  if (opts.output === 'text') {
    io.out(`phase: ${status.phase}\n`);
    if (status.message) io.out(`message: ${status.message}\n`);
  } else
    io.out(
      renderData(
        {
          kind: picked.kind,
          name: picked.name,
          phase: status.phase,
          ...(status.message ? { message: status.message } : {}),
          startedAt: status.startedAt ?? formatTime(started),
          ...(status.completedAt ? { completedAt: status.completedAt } : {}),
          measurements,
          metricResults: (status.metricResults ?? []).map(({ measurements: _, ...rest }) => rest),
        },
        opts.output,
      ),
    );
  return status.phase === 'Successful' ? ExitCode.ok : ExitCode.findings;
}

async function analyzeMetricTemplate(picked: Picked, opts: AnalyzeOptions, io: Io): Promise<number> {
  if (opts.durationMs !== undefined)
    throw new UsageError('--duration is for AnalysisTemplates; a MetricTemplate check runs once');
  const interval = opts.interval ?? '1m';
  if (parseGoDuration(interval) === undefined)
    throw new UsageError(`--interval ${interval}: must be a Go duration such as 1m`);
  const variables = Object.fromEntries(pairs(opts.vars, '--var'));
  const credentials = Object.fromEntries(pairs(opts.args, '--arg'));
  for (const k of Object.keys(credentials))
    if (!['token', 'username', 'password'].includes(k))
      throw new UsageError(
        `--arg ${k}: a MetricTemplate takes only its Secret's token, username and password`,
      );
  const provider = (picked.spec.provider ?? {}) as Record<string, unknown>;
  const type = String(provider.type ?? 'prometheus');
  const request: ResolvedCheck = {
    name: picked.name,
    interval,
    templateRef: { name: picked.name, namespace: picked.namespace ?? opts.namespace ?? 'default' },
    query: String(picked.spec.query ?? ''),
    templateVariables: variables,
    provider,
  };
  const scope: CanaryScope = {
    namespace: opts.namespace ?? picked.namespace ?? 'default',
    ...(opts.target !== undefined ? { target: opts.target } : {}),
  };
  const canary = opts.target ?? picked.name;
  let rendered: string | undefined;
  try {
    rendered = collapseWhitespace(renderTemplate(request.query ?? '', templateModel(request, canary, scope)));
  } catch {
    rendered = undefined; // the provider reports why
  }
  const checks = realCheckProviders(opts.address ? { prometheusAddress: opts.address } : {});
  const checker = checks.get(type);
  const started = Date.now();
  let result: CheckResult;
  if (!checker)
    result = { error: `no provider for "${type}" here (available: ${checks.types().join(', ')})` };
  else {
    const ctx: FlaggerCheckContext = { now: started, canary, argValues: credentials, scope };
    result = await checker.check(request, ctx);
  }
  const range = {
    ...(opts.thresholdMin !== undefined ? { min: opts.thresholdMin } : {}),
    ...(opts.thresholdMax !== undefined ? { max: opts.thresholdMax } : {}),
  };
  const phase =
    'error' in result ? 'Error' : evaluateThresholdRange(result.value, range) ? 'Successful' : 'Failed';
  const bounds = [
    opts.thresholdMin !== undefined ? `min ${opts.thresholdMin}` : '',
    opts.thresholdMax !== undefined ? `max ${opts.thresholdMax}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (opts.output === 'text') {
    const address = opts.address ?? String(provider.address ?? '');
    io.out(`MetricTemplate/${picked.name}: ${type} ${safeAddress(address)}, interval ${interval}\n`);
    if (rendered !== undefined) io.out(`  query: ${rendered}\n`);
    io.out(
      `  ${relative(Date.now() - started)}  ${picked.name}  ${phase}  ${'error' in result ? `(${result.error})` : String(result.value)}\n`,
    );
    io.out(`phase: ${phase}\n`);
    io.out(`thresholdRange: ${bounds || 'none (only checks that the query answers)'}\n`);
  } else
    io.out(
      renderData(
        {
          kind: picked.kind,
          name: picked.name,
          phase,
          ...(rendered !== undefined ? { query: rendered } : {}),
          ...('error' in result ? { error: result.error } : { value: result.value }),
          thresholdRange: range,
        },
        opts.output,
      ),
    );
  return phase === 'Successful' ? ExitCode.ok : ExitCode.findings;
}

// -------------------------------------------------------------------------------------------------
// Registration
// -------------------------------------------------------------------------------------------------

const collect = (value: string, previous: string[]) => [...previous, value];

function numberFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} ${v}: must be a number`);
  return n;
}

/** Adds `vireo analyze` to `program`; `setCode` receives the exit code. */
export function registerAnalyze(program: Command, io: Io, setCode: (n: number) => void): void {
  program
    .command('analyze')
    .description(
      'Run an AnalysisTemplate (or a Flagger MetricTemplate) against its metrics backend now: print each measurement and the final phase.',
    )
    .requiredOption(
      '-f, --filename <path>',
      'files with the template (and templates it nests); repeatable',
      collect,
      [],
    )
    .option('--name <name>', 'which template, when the files hold several')
    .option(
      '--arg <name=value>',
      "a template arg (also one from a Secret); for a MetricTemplate its Secret's token, username or password; repeatable",
      collect,
      [],
    )
    .option('--once', 'take one measurement of each metric and let it decide')
    .option(
      '--duration <duration>',
      'terminate the run after this long (needed for metrics with an interval and no count)',
    )
    .option(
      '--address <url>',
      "query this Prometheus instead of the template's address (e.g. a port-forward)",
    )
    .option('--threshold-min <n>', 'MetricTemplate: the value must be at least this')
    .option('--threshold-max <n>', 'MetricTemplate: the value must be at most this')
    .option(
      '--namespace <namespace>',
      'MetricTemplate: {{ namespace }} (default: the template namespace, else default)',
    )
    .option('--target <name>', 'MetricTemplate: {{ target }}, the canary target')
    .option('--interval <duration>', 'MetricTemplate: {{ interval }} (default 1m)')
    .option('--var <key=value>', 'MetricTemplate: {{ variables.key }}; repeatable', collect, [])
    .addOption(new Option('-o, --output <format>', 'output format: json or yaml (default: text)'))
    .addHelpText(
      'after',
      '\nExit codes: 0 the analysis is Successful, 1 it is not (or the manifests have errors), 2 usage error.',
    )
    .action(
      async (o: {
        filename: string[];
        name?: string;
        arg: string[];
        once?: boolean;
        duration?: string;
        address?: string;
        thresholdMin?: string;
        thresholdMax?: string;
        namespace?: string;
        target?: string;
        interval?: string;
        var: string[];
        output?: string;
      }) => {
        let durationMs: number | undefined;
        if (o.duration !== undefined) {
          durationMs = parseGoDuration(o.duration);
          if (durationMs === undefined || durationMs <= 0)
            throw new UsageError(`--duration ${o.duration}: must be a positive Go duration such as 90s`);
        }
        if (o.once && durationMs !== undefined)
          throw new UsageError('--once and --duration do not go together');
        const thresholdMin = numberFlag('--threshold-min', o.thresholdMin);
        const thresholdMax = numberFlag('--threshold-max', o.thresholdMax);
        setCode(
          await runAnalyze(
            {
              files: o.filename,
              args: o.arg,
              once: o.once === true,
              output: parseOutput(o.output),
              vars: o.var,
              ...(o.name !== undefined ? { name: o.name } : {}),
              ...(durationMs !== undefined ? { durationMs } : {}),
              ...(o.address !== undefined ? { address: o.address } : {}),
              ...(thresholdMin !== undefined ? { thresholdMin } : {}),
              ...(thresholdMax !== undefined ? { thresholdMax } : {}),
              ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
              ...(o.target !== undefined ? { target: o.target } : {}),
              ...(o.interval !== undefined ? { interval: o.interval } : {}),
            },
            io,
          ),
        );
      },
    );
}
