/**
 * Argo Rollouts analysis kinds (argoproj.io/v1alpha1): AnalysisTemplate, ClusterAnalysisTemplate and
 * AnalysisRun, with the field names and types of the upstream CRDs (argo-rollouts v1.9.1,
 * `pkg/apis/rollouts/v1alpha1/analysis_types.go`). Providers are in metric-providers.ts, semantic
 * rules in analysis-rules.ts.
 *
 * Also the pure helpers the analysis engine builds on: `effectiveCount` (Argo `Metric.EffectiveCount`),
 * `metricDefaults` and `resolveArgs` (Argo `MergeArgs`).
 */
import type { KindDefinition } from '../kind.js';
import { enumOf, intOrString, objectHeader, type Static, stringMap, Type } from '../schema.js';
import { analysisRunRules, analysisTemplateRules, readIntField } from './analysis-rules.js';
import { metricProvider } from './metric-providers.js';

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';
const API_VERSION = `${GROUP}/${VERSION}`;

/** Documented defaults of the metric limits (`analysis_types.go`, `analysis/analysis.go`). */
export const METRIC_LIMIT_DEFAULTS = {
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  consecutiveSuccessLimit: 0,
} as const;

// -------------------------------------------------------------------------------------------------
// Metric
// -------------------------------------------------------------------------------------------------

/**
 * `interval` and `initialDelay` are Go duration strings, but plain `Type.String` rather than
 * `duration()`: like every string of a metric they may hold an `{{args.x}}` placeholder, resolved when
 * the AnalysisRun runs. analysis-rules.ts checks them as durations when no placeholder is left.
 */
export const MetricSchema = Type.Object(
  {
    name: Type.String({ description: 'Name of the metric, unique in the analysis.' }),
    interval: Type.Optional(
      Type.String({
        description:
          'Go duration between measurements (e.g. 30s, 5m). With neither interval nor count one measurement is taken; with interval and no count the metric runs until the run is terminated (Rollout background analysis only).',
      }),
    ),
    initialDelay: Type.Optional(
      Type.String({ description: 'Go duration to wait after the run starts before the first measurement.' }),
    ),
    count: Type.Optional(
      intOrString({
        description:
          'Number of measurements. May be an {{args.x}} placeholder holding an integer. When count > 1, interval is required.',
      }),
    ),
    successCondition: Type.Optional(
      Type.String({ description: 'Expression over `result`; a measurement is Successful when it is true.' }),
    ),
    failureCondition: Type.Optional(
      Type.String({
        description:
          'Expression over `result`; a measurement is Failed when it is true. With both conditions set and neither true, it is Inconclusive.',
      }),
    ),
    failureLimit: Type.Optional(
      intOrString({
        default: METRIC_LIMIT_DEFAULTS.failureLimit,
        description:
          'The metric fails when more measurements than this fail. -1 disables it (then consecutiveSuccessLimit must be set).',
      }),
    ),
    inconclusiveLimit: Type.Optional(
      intOrString({
        default: METRIC_LIMIT_DEFAULTS.inconclusiveLimit,
        description: 'The metric is Inconclusive when more measurements than this are Inconclusive.',
      }),
    ),
    consecutiveErrorLimit: Type.Optional(
      intOrString({
        default: METRIC_LIMIT_DEFAULTS.consecutiveErrorLimit,
        description: 'The metric is Error when more measurements than this error in a row.',
      }),
    ),
    consecutiveSuccessLimit: Type.Optional(
      intOrString({
        default: METRIC_LIMIT_DEFAULTS.consecutiveSuccessLimit,
        description:
          'The metric is Successful after this many successful measurements in a row. 0 turns it off.',
      }),
    ),
    provider: metricProvider(),
  },
  { description: 'One metric: how to measure it and when it counts as failed.' },
);
export type Metric = Static<typeof MetricSchema>;

// -------------------------------------------------------------------------------------------------
// Args, dry-run, retention, nested templates
// -------------------------------------------------------------------------------------------------

export const ArgumentSchema = Type.Object(
  {
    name: Type.String({ description: 'Referenced in metrics as {{args.NAME}}.' }),
    value: Type.Optional(
      Type.String({ description: 'Value; an arg with neither value nor valueFrom is required.' }),
    ),
    valueFrom: Type.Optional(
      Type.Object(
        {
          secretKeyRef: Type.Optional(
            Type.Object(
              {
                name: Type.String({ description: 'Secret in the namespace of the AnalysisRun.' }),
                key: Type.String(),
              },
              { description: 'A key of a Secret.' },
            ),
          ),
          fieldRef: Type.Optional(
            Type.Object(
              {
                fieldPath: Type.String({
                  description: "Path of a field of the Rollout, e.g. metadata.labels['env'].",
                }),
              },
              { description: 'A field of the owning object.' },
            ),
          ),
        },
        { description: 'Where the value comes from; set one source.' },
      ),
    ),
  },
  { description: 'An argument of the analysis.' },
);
export type Argument = Static<typeof ArgumentSchema>;

export const DryRunSchema = Type.Object({
  metricName: Type.String({
    description:
      'Metric to run in dry-run mode: measured, but never failing the run. Matched as a regular expression.',
  }),
});

export const MeasurementRetentionSchema = Type.Object({
  metricName: Type.String({
    description: 'Metric whose measurements to keep; matched as a regular expression.',
  }),
  limit: Type.Integer({ description: 'Number of measurements to keep (default 10 when no rule applies).' }),
});

export const AnalysisTemplateRefSchema = Type.Object({
  templateName: Type.Optional(Type.String({ description: 'Name of the template.' })),
  clusterScope: Type.Optional(Type.Boolean({ description: 'Refer to a ClusterAnalysisTemplate.' })),
});

const metricsField = (description: string) => Type.Array(MetricSchema, { description });
const commonSpecFields = {
  args: Type.Optional(
    Type.Array(ArgumentSchema, { description: 'Arguments used as {{args.NAME}} in metrics.' }),
  ),
  dryRun: Type.Optional(Type.Array(DryRunSchema, { description: 'Metrics measured in dry-run mode.' })),
  measurementRetention: Type.Optional(
    Type.Array(MeasurementRetentionSchema, { description: 'How many measurements to keep per metric.' }),
  ),
};

// -------------------------------------------------------------------------------------------------
// AnalysisTemplate / ClusterAnalysisTemplate
// -------------------------------------------------------------------------------------------------

export const AnalysisTemplateSpecSchema = Type.Object({
  metrics: Type.Optional(metricsField('Metrics to measure. Required unless nested templates supply them.')),
  ...commonSpecFields,
  templates: Type.Optional(
    Type.Array(AnalysisTemplateRefSchema, {
      description: 'Other templates whose metrics and args are merged into this one.',
    }),
  ),
});
export type AnalysisTemplateSpec = Static<typeof AnalysisTemplateSpecSchema>;

export const AnalysisTemplateSchema = Type.Object({
  ...objectHeader(API_VERSION, 'AnalysisTemplate'),
  spec: AnalysisTemplateSpecSchema,
});
export type AnalysisTemplate = Static<typeof AnalysisTemplateSchema>;

export const ClusterAnalysisTemplateSchema = Type.Object({
  ...objectHeader(API_VERSION, 'ClusterAnalysisTemplate'),
  spec: AnalysisTemplateSpecSchema,
});
export type ClusterAnalysisTemplate = Static<typeof ClusterAnalysisTemplateSchema>;

// -------------------------------------------------------------------------------------------------
// AnalysisRun
// -------------------------------------------------------------------------------------------------

export const analysisPhases = [
  'Pending',
  'Running',
  'Successful',
  'Failed',
  'Error',
  'Inconclusive',
] as const;
export type AnalysisPhase = (typeof analysisPhases)[number];

const phase = (description: string) => enumOf(analysisPhases, { description });
const time = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));
const counter = (description: string) => Type.Optional(Type.Integer({ description }));

export const AnalysisRunSpecSchema = Type.Object({
  metrics: metricsField('Metrics to measure, copied from the templates.'),
  ...commonSpecFields,
  terminate: Type.Optional(
    Type.Boolean({ description: 'Stop the run: no new measurements, in-flight ones are terminated.' }),
  ),
  ttlStrategy: Type.Optional(
    Type.Object(
      {
        secondsAfterCompletion: Type.Optional(
          Type.Integer({ description: 'Delete the run this long after it completes.' }),
        ),
        secondsAfterFailure: Type.Optional(
          Type.Integer({ description: 'Delete a Failed run this long after it completes.' }),
        ),
        secondsAfterSuccess: Type.Optional(
          Type.Integer({ description: 'Delete a Successful run this long after it completes.' }),
        ),
      },
      { description: 'When to delete the run once it has completed.' },
    ),
  ),
});
export type AnalysisRunSpec = Static<typeof AnalysisRunSpecSchema>;

export const MeasurementSchema = Type.Object({
  phase: phase('Result of this measurement.'),
  message: Type.Optional(Type.String({ description: 'Why it has this phase, e.g. the error.' })),
  startedAt: time('When the measurement started.'),
  finishedAt: time('When the value was collected.'),
  value: Type.Optional(Type.String({ description: 'The measured value, as text.' })),
  metadata: Type.Optional(stringMap({ description: 'Provider data, e.g. the Job name or Kayenta run id.' })),
  resumeAt: time('When to look at an in-flight measurement again.'),
});
export type Measurement = Static<typeof MeasurementSchema>;

const runSummary = (description: string) =>
  Type.Object(
    {
      count: counter('Measured metrics.'),
      successful: counter('Successful metrics.'),
      failed: counter('Failed metrics.'),
      inconclusive: counter('Inconclusive metrics.'),
      error: counter('Errored metrics.'),
    },
    { description },
  );

export const MetricResultSchema = Type.Object({
  name: Type.String({ description: 'Name of the metric.' }),
  phase: phase('Overall phase of the metric.'),
  measurements: Type.Optional(Type.Array(MeasurementSchema, { description: 'The latest measurements.' })),
  message: Type.Optional(Type.String({ description: 'Message of the latest measurement.' })),
  count: counter('Measurements without error (successful + failed + inconclusive).'),
  successful: counter('Successful measurements.'),
  failed: counter('Failed measurements.'),
  inconclusive: counter('Inconclusive measurements.'),
  error: counter('Measurements that errored.'),
  consecutiveError: counter('Errors in a row; reset by a measurement without error.'),
  consecutiveSuccess: counter('Successful measurements in a row.'),
  dryRun: Type.Optional(Type.Boolean({ description: 'The metric runs in dry-run mode.' })),
  metadata: Type.Optional(stringMap({ description: 'Provider data, e.g. the resolved query.' })),
});
export type MetricResult = Static<typeof MetricResultSchema>;

export const AnalysisRunStatusSchema = Type.Object({
  // Argo writes `phase: ""` when it creates a run (the status struct is never omitted), so an
  // object read from a cluster may hold the empty phase until the first reconcile.
  phase: enumOf(['', ...analysisPhases], {
    description:
      'Phase of the run: the worst phase of its metrics once all completed. Empty before the first reconcile.',
  }),
  message: Type.Optional(Type.String({ description: 'Why the run has this phase.' })),
  metricResults: Type.Optional(Type.Array(MetricResultSchema, { description: 'Results per metric.' })),
  startedAt: time('When the run started.'),
  completedAt: time('When the run completed.'),
  runSummary: Type.Optional(runSummary('Counts of metric phases.')),
  dryRunSummary: Type.Optional(runSummary('Counts of metric phases of dry-run metrics.')),
});
export type AnalysisRunStatus = Static<typeof AnalysisRunStatusSchema>;

export const AnalysisRunSchema = Type.Object({
  ...objectHeader(API_VERSION, 'AnalysisRun'),
  spec: AnalysisRunSpecSchema,
  status: Type.Optional(AnalysisRunStatusSchema),
});
export type AnalysisRun = Static<typeof AnalysisRunSchema>;

// -------------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------------

/** A metric's `count` (or another int-or-string field) that is not an integer. */
export class MetricIntError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
  ) {
    super(
      `${field} ${JSON.stringify(value)} is not an integer${
        typeof value === 'string' && value.includes('{{') ? ' (resolve the {{args}} placeholders first)' : ''
      }`,
    );
    this.name = 'MetricIntError';
  }
}

/**
 * The integer an int-or-string metric field holds, or `undefined` when absent. A string must be an
 * integer (`"3"`); anything else, an unresolved `{{args.x}}` included, throws `MetricIntError`
 * (Go's `IntValue()` would silently read 0).
 */
export function metricInt(metric: Partial<Record<string, unknown>>, field: string): number | undefined {
  const f = readIntField(metric[field]);
  if (f.kind === 'absent') return undefined;
  if (f.kind === 'int') return f.value;
  throw new MetricIntError(field, metric[field]);
}

/**
 * How many measurements a metric takes (Argo `Metric.EffectiveCount`): its count; with no count (or
 * count 0) one measurement when there is no interval, and `undefined` (no limit: the metric runs until
 * the run is terminated) when there is one. `count` must already be resolved: a string has to parse
 * as an integer, otherwise `MetricIntError` is thrown.
 */
export function effectiveCount(metric: Pick<Metric, 'count' | 'interval'>): number | undefined {
  const count = metricInt(metric, 'count') ?? 0;
  if (count !== 0) return count;
  return metric.interval ? undefined : 1;
}

export type MetricWithDefaults = Metric & {
  failureLimit: number | string;
  inconclusiveLimit: number | string;
  consecutiveErrorLimit: number | string;
  consecutiveSuccessLimit: number | string;
};

/**
 * The metric with the documented limit defaults filled in where absent: failureLimit 0,
 * inconclusiveLimit 0, consecutiveErrorLimit 4, consecutiveSuccessLimit 0 (off). Values that are set,
 * placeholders included, are kept as written. Returns a new object.
 */
export function metricDefaults(metric: Metric): MetricWithDefaults {
  return {
    ...metric,
    failureLimit: metric.failureLimit ?? METRIC_LIMIT_DEFAULTS.failureLimit,
    inconclusiveLimit: metric.inconclusiveLimit ?? METRIC_LIMIT_DEFAULTS.inconclusiveLimit,
    consecutiveErrorLimit: metric.consecutiveErrorLimit ?? METRIC_LIMIT_DEFAULTS.consecutiveErrorLimit,
    consecutiveSuccessLimit: metric.consecutiveSuccessLimit ?? METRIC_LIMIT_DEFAULTS.consecutiveSuccessLimit,
  };
}

/** An arg as a Rollout or Experiment passes it (its valueFrom may also be podTemplateHashValue…). */
export interface ArgInput {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface ResolvedArgs {
  /** The template's args with the incoming values applied, in the template's order. */
  args: ArgInput[];
  /** Required args (no value, no valueFrom) that nothing supplied. Argo: "args.NAME was not resolved". */
  missing: string[];
  /** Incoming args the template does not declare; Argo ignores them. */
  unused: string[];
  /** Args that end up with both value and valueFrom, which the AnalysisRun rejects. */
  conflicting: string[];
}

/**
 * Merges the args passed by a Rollout (or Experiment) into a template's args, as Argo's `MergeArgs`:
 * an incoming arg with the name of a template arg sets its value, or else its valueFrom; incoming args
 * the template does not declare are ignored. A template arg with neither value nor valueFrom is
 * required: reported in `missing` when nothing supplied it.
 */
export function resolveArgs(
  templateArgs: readonly ArgInput[] = [],
  rolloutArgs: readonly ArgInput[] = [],
): ResolvedArgs {
  const args = templateArgs.map((a) => ({ ...a }));
  const unused: string[] = [];
  for (const incoming of rolloutArgs) {
    const target = args.find((a) => a.name === incoming.name);
    if (!target) {
      unused.push(incoming.name);
      continue;
    }
    if (incoming.value !== undefined && incoming.value !== null) target.value = incoming.value;
    else if (incoming.valueFrom !== undefined && incoming.valueFrom !== null)
      target.valueFrom = incoming.valueFrom;
  }
  const has = (v: unknown) => v !== undefined && v !== null;
  return {
    args,
    missing: args.filter((a) => !has(a.value) && !has(a.valueFrom)).map((a) => a.name),
    unused,
    conflicting: args.filter((a) => has(a.value) && has(a.valueFrom)).map((a) => a.name),
  };
}

// -------------------------------------------------------------------------------------------------
// Kinds
// -------------------------------------------------------------------------------------------------

const ageColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since resource was created',
} as const;

export const kinds: KindDefinition[] = [
  {
    group: GROUP,
    version: VERSION,
    kind: 'AnalysisTemplate',
    plural: 'analysistemplates',
    singular: 'analysistemplate',
    shortNames: ['at'],
    scope: 'Namespaced',
    schema: AnalysisTemplateSchema,
    printerColumns: [ageColumn],
    rules: analysisTemplateRules,
  },
  {
    group: GROUP,
    version: VERSION,
    kind: 'ClusterAnalysisTemplate',
    plural: 'clusteranalysistemplates',
    singular: 'clusteranalysistemplate',
    shortNames: ['cat'],
    scope: 'Cluster',
    schema: ClusterAnalysisTemplateSchema,
    printerColumns: [ageColumn],
    rules: analysisTemplateRules,
  },
  {
    group: GROUP,
    version: VERSION,
    kind: 'AnalysisRun',
    plural: 'analysisruns',
    singular: 'analysisrun',
    shortNames: ['ar'],
    scope: 'Namespaced',
    schema: AnalysisRunSchema,
    // As upstream (`subresources: {}`): Argo writes an AnalysisRun's status together with the object,
    // and tools that do the same must keep working against Vireo's CRD.
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'AnalysisRun status' },
      ageColumn,
    ],
    rules: analysisRunRules,
  },
];
