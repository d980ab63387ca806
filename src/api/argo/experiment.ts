/**
 * Argo Rollouts `Experiment` (argoproj.io/v1alpha1): runs one ReplicaSet per template (optionally
 * with a Service) plus AnalysisRuns, for a duration or until terminated. A canary `experiment` step
 * creates one. Every field of the upstream CRD (v1.9.1) is modelled with the same type.
 *
 * Upstream: `pkg/apis/rollouts/v1alpha1/experiment_types.go`. Like upstream, the kind has no status
 * subresource: `kubectl argo rollouts retry experiment` clears the status with a patch of the object.
 */
import { type Diagnostic, error } from '../diagnostics.js';
import type { KindDefinition, Rule } from '../kind.js';
import { labelSelector, podTemplateSpec } from '../kube.js';
import { duration, enumOf, objectHeader, type Static, Type } from '../schema.js';
import { analysisPhases } from './analysis.js';
import {
  dryRunList,
  fieldRef,
  measurementRetentionList,
  podTemplateMetadata,
  rolloutDefaults,
} from './rollout.js';
import { asList, asObj, asStr, checkSelector } from './rollout-rules.js';

export const templateStatusCodes = ['Progressing', 'Running', 'Successful', 'Failed', 'Error'] as const;
export const experimentConditionTypes = [
  'InvalidSpec',
  'Completed',
  'Progressing',
  'Running',
  'ReplicaFailure',
] as const;

const time = () => Type.String({ format: 'date-time' });

/** An AnalysisTemplate argument as an Experiment passes it: a value, a Secret key or a field. */
const experimentArgument = () =>
  Type.Object({
    name: Type.String(),
    value: Type.Optional(Type.String()),
    valueFrom: Type.Optional(
      Type.Object(
        {
          secretKeyRef: Type.Optional(Type.Object({ name: Type.String(), key: Type.String() })),
          fieldRef: Type.Optional(fieldRef()),
        },
        { description: 'Where to read the value from; exactly one source.' },
      ),
    ),
  });

export const ExperimentSpecSchema = Type.Object({
  templates: Type.Array(
    Type.Object({
      name: Type.String({ description: 'Name of the template; names its ReplicaSet.' }),
      replicas: Type.Optional(Type.Integer({ default: 1, description: 'Pod count (default 1).' })),
      minReadySeconds: Type.Optional(
        Type.Integer({
          description: 'Seconds a new pod must be ready, without crashing, to count as available.',
        }),
      ),
      selector: labelSelector(),
      template: podTemplateSpec(),
      service: Type.Optional(
        Type.Object(
          { name: Type.Optional(Type.String({ description: 'Service name; generated when empty.' })) },
          { description: 'Create a Service selecting this template’s pods.' },
        ),
      ),
    }),
    { description: 'The ReplicaSets to run.' },
  ),
  duration: Type.Optional(
    duration({
      description:
        'How long to run once every template is available (Go duration); unset = until terminated.',
    }),
  ),
  progressDeadlineSeconds: Type.Optional(
    Type.Integer({
      default: rolloutDefaults.progressDeadlineSeconds,
      description:
        'Seconds a template may take to become available before the experiment fails (default 600).',
    }),
  ),
  terminate: Type.Optional(Type.Boolean({ description: 'Stop the experiment now.' })),
  scaleDownDelaySeconds: Type.Optional(
    Type.Integer({
      default: rolloutDefaults.scaleDownDelaySeconds,
      description: 'Delay before the ReplicaSets are scaled down at the end (default 30).',
    }),
  ),
  analyses: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ description: 'Name of this analysis within the experiment.' }),
        templateName: Type.String({ description: 'AnalysisTemplate (or ClusterAnalysisTemplate) to run.' }),
        clusterScope: Type.Optional(
          Type.Boolean({ description: 'Look the name up as a ClusterAnalysisTemplate.' }),
        ),
        args: Type.Optional(Type.Array(experimentArgument())),
        requiredForCompletion: Type.Optional(
          Type.Boolean({ description: 'The experiment does not complete until this analysis completes.' }),
        ),
      }),
      { description: 'AnalysisRuns started with the experiment.' },
    ),
  ),
  dryRun: Type.Optional(dryRunList()),
  measurementRetention: Type.Optional(measurementRetentionList()),
  analysisRunMetadata: Type.Optional(
    podTemplateMetadata('Labels and annotations to put on the AnalysisRuns.'),
  ),
});

export const ExperimentStatusSchema = Type.Object(
  {
    phase: Type.Optional(enumOf(analysisPhases)),
    message: Type.Optional(Type.String()),
    templateStatuses: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          replicas: Type.Integer(),
          updatedReplicas: Type.Integer(),
          readyReplicas: Type.Integer(),
          availableReplicas: Type.Integer(),
          collisionCount: Type.Optional(Type.Integer()),
          status: Type.Optional(enumOf(templateStatusCodes)),
          message: Type.Optional(Type.String()),
          lastTransitionTime: Type.Optional(time()),
          serviceName: Type.Optional(Type.String()),
          podTemplateHash: Type.Optional(Type.String()),
        }),
      ),
    ),
    availableAt: Type.Optional(time()),
    conditions: Type.Optional(
      Type.Array(
        Type.Object({
          type: Type.String({ description: `One of ${experimentConditionTypes.join(', ')}.` }),
          status: Type.String({ description: 'True, False or Unknown.' }),
          reason: Type.String(),
          message: Type.String(),
          lastUpdateTime: time(),
          lastTransitionTime: time(),
        }),
      ),
    ),
    analysisRuns: Type.Optional(
      Type.Array(
        Type.Object({
          name: Type.String(),
          analysisRun: Type.String({ description: 'Name of the AnalysisRun.' }),
          phase: enumOf(analysisPhases),
          message: Type.Optional(Type.String()),
        }),
      ),
    ),
  },
  { description: 'Written by the controller.' },
);

export const ExperimentSchema = Type.Object({
  ...objectHeader('argoproj.io/v1alpha1', 'Experiment'),
  spec: ExperimentSpecSchema,
  status: Type.Optional(ExperimentStatusSchema),
});

export type Experiment = Static<typeof ExperimentSchema>;
export type ExperimentSpec = Static<typeof ExperimentSpecSchema>;
export type ExperimentStatus = Static<typeof ExperimentStatusSchema>;

/**
 * Template and analysis names identify ReplicaSets and AnalysisRuns, so they must be unique; each
 * template's selector must match its pod labels (as for a ReplicaSet).
 */
export const experimentRule: Rule = (obj) => {
  const out: Diagnostic[] = [];
  const spec = asObj(obj.spec);
  if (!spec) return out;
  for (const listKey of ['templates', 'analyses']) {
    const seen = new Set<string>();
    asList(spec[listKey]).forEach((item, i) => {
      const name = asStr(asObj(item)?.name);
      if (name === undefined) return;
      if (seen.has(name))
        out.push(
          error(
            listKey === 'templates'
              ? 'argo/experiment-template-name-duplicate'
              : 'argo/experiment-analysis-name-duplicate',
            ['spec', listKey, i, 'name'],
            `is used by another item of ${listKey}`,
            { value: name, allowed: 'a unique name' },
          ),
        );
      seen.add(name);
    });
  }
  asList(spec.templates).forEach((item, i) => {
    const template = asObj(item);
    if (!template) return;
    const labels = asObj(asObj(template.template)?.metadata)?.labels;
    out.push(
      ...checkSelector(
        template.selector,
        labels,
        ['spec', 'templates', i, 'selector'],
        ['spec', 'templates', i, 'template', 'metadata', 'labels'],
      ),
    );
  });
  return out;
};

export const experimentKind: KindDefinition = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  kind: 'Experiment',
  plural: 'experiments',
  singular: 'experiment',
  shortNames: ['exp'],
  scope: 'Namespaced',
  schema: ExperimentSchema,
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Experiment status' },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since resource was created',
    },
  ],
  rules: [experimentRule],
};

export const kinds: KindDefinition[] = [experimentKind];
