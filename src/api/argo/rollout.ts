/**
 * Argo Rollouts `Rollout` (argoproj.io/v1alpha1): a Deployment replacement with canary and blue-green
 * strategies. Every field of the upstream CRD (v1.9.1) is modelled with the same type, so existing
 * Rollout YAML loads unchanged; static documented defaults are `default` keywords and the conditional
 * ones are applied by `applyRolloutDefaults`. The InvalidSpec checks live in `rollout-rules.ts`.
 *
 * Upstream: `pkg/apis/rollouts/v1alpha1/types.go`, `utils/defaults/defaults.go`.
 */
import type { KindDefinition } from '../kind.js';
import { labelSelector, podTemplateSpec } from '../kube.js';
import {
  enumOf,
  freeform,
  duration as goDuration,
  intOrDuration,
  intOrPercent,
  mapOf,
  objectHeader,
  type Static,
  stringMap,
  Type,
} from '../schema.js';
import { rolloutDefaults, rolloutRules } from './rollout-rules.js';

/** Argo's defaults (`utils/defaults/defaults.go`); defined beside the rules, which need them too. */
export { rolloutDefaults };

// ---------------------------------------------------------------------------------------------------
// Shared pieces (also used by experiment.ts)
// ---------------------------------------------------------------------------------------------------

/** Argo's `PodTemplateMetadata`: extra labels and annotations (ephemeral metadata, AnalysisRun metadata). */
export const podTemplateMetadata = (description?: string) =>
  Type.Object(
    {
      labels: Type.Optional(stringMap()),
      annotations: Type.Optional(stringMap()),
    },
    description ? { description } : {},
  );

/** Metrics of the AnalysisRun that are measured but never fail the run. */
export const dryRunList = () =>
  Type.Array(
    Type.Object({
      metricName: Type.String({ description: 'Metric name, or `*` for every metric.' }),
    }),
    {
      description:
        'Metrics to run in dry-run mode: measured and reported, but they never change the run phase.',
    },
  );

/** How many measurements to keep per metric. */
export const measurementRetentionList = () =>
  Type.Array(
    Type.Object({
      metricName: Type.String({ description: 'Metric name, or `*` for every metric.' }),
      limit: Type.Integer({ description: 'Number of measurements to keep (default 10).' }),
    }),
    { description: 'How many measurements to keep per metric in the AnalysisRun status.' },
  );

export const fieldRef = () =>
  Type.Object({
    fieldPath: Type.String({
      description:
        "Path in the Rollout, e.g. `metadata.name`, `metadata.labels['env']`, `spec.template.metadata.labels.version`, `status.alb.canaryTargetGroup.name`.",
    }),
  });

/** Argument passed from the Rollout to an AnalysisRun (`AnalysisRunArgument`). */
export const analysisRunArgument = () =>
  Type.Object({
    name: Type.String({ description: 'Name of the argument, as declared in the AnalysisTemplate.' }),
    value: Type.Optional(Type.String({ description: 'Literal value.' })),
    valueFrom: Type.Optional(
      Type.Object(
        {
          podTemplateHashValue: Type.Optional(
            enumOf(['Stable', 'Latest'], {
              description: 'The pod-template-hash of the stable or of the latest (canary) ReplicaSet.',
            }),
          ),
          fieldRef: Type.Optional(fieldRef()),
        },
        { description: 'Where to read the value from; exactly one source.' },
      ),
    ),
  });

const analysisTemplateRef = () =>
  Type.Object({
    templateName: Type.Optional(
      Type.String({ description: 'Name of the AnalysisTemplate (or ClusterAnalysisTemplate).' }),
    ),
    clusterScope: Type.Optional(
      Type.Boolean({ description: 'Look the name up as a ClusterAnalysisTemplate.' }),
    ),
  });

const rolloutAnalysisProps = () => ({
  templates: Type.Optional(
    Type.Array(analysisTemplateRef(), { description: 'Templates merged into one AnalysisRun.' }),
  ),
  args: Type.Optional(Type.Array(analysisRunArgument(), { description: 'Arguments for the templates.' })),
  dryRun: Type.Optional(dryRunList()),
  measurementRetention: Type.Optional(measurementRetentionList()),
  analysisRunMetadata: Type.Optional(
    podTemplateMetadata('Labels and annotations to put on the AnalysisRun.'),
  ),
});

/** `RolloutAnalysis`: an analysis run from a step, or before/after a blue-green promotion. */
export const rolloutAnalysis = (description?: string) =>
  Type.Object(rolloutAnalysisProps(), description ? { description } : {});

/** `RolloutAnalysisBackground`: a canary analysis that runs while the steps execute. */
const rolloutAnalysisBackground = () =>
  Type.Object(
    {
      ...rolloutAnalysisProps(),
      startingStep: Type.Optional(
        Type.Integer({
          description: 'Index of the step at which the background analysis starts (default 0).',
        }),
      ),
    },
    { description: 'Background analysis that runs during the canary steps.' },
  );

const antiAffinity = () =>
  Type.Object(
    {
      preferredDuringSchedulingIgnoredDuringExecution: Type.Optional(
        Type.Object({
          weight: Type.Integer({
            description: 'Weight of the injected preferred anti-affinity term, 1 to 100.',
          }),
        }),
      ),
      requiredDuringSchedulingIgnoredDuringExecution: Type.Optional(
        Type.Object({}, { description: 'Inject a required anti-affinity term.' }),
      ),
    },
    {
      description:
        'Keep new pods off nodes that run pods of the previous version; exactly one of the two kinds.',
    },
  );

const stringMatch = (description?: string) =>
  Type.Object(
    {
      exact: Type.Optional(Type.String()),
      prefix: Type.Optional(Type.String()),
      regex: Type.Optional(Type.String()),
    },
    { description: description ?? 'A string match: exactly one of exact, prefix or regex.' },
  );

// ---------------------------------------------------------------------------------------------------
// Canary steps
// ---------------------------------------------------------------------------------------------------

const experimentStep = () =>
  Type.Object(
    {
      templates: Type.Array(
        Type.Object({
          name: Type.String({ description: 'Name of the template; names its ReplicaSet in the Experiment.' }),
          specRef: enumOf(['canary', 'stable'], {
            description: 'Take the pod template from the canary (new) or the stable ReplicaSet.',
          }),
          replicas: Type.Optional(
            Type.Integer({ description: 'Replica count of the template (default 1).' }),
          ),
          metadata: Type.Optional(podTemplateMetadata('Labels and annotations for the ReplicaSet pods.')),
          selector: Type.Optional(labelSelector()),
          weight: Type.Optional(
            Type.Integer({ description: 'Percentage of traffic for this template (needs trafficRouting).' }),
          ),
          service: Type.Optional(
            Type.Object(
              { name: Type.Optional(Type.String({ description: 'Service name; generated when empty.' })) },
              { description: 'Create a Service selecting this template’s pods.' },
            ),
          ),
        }),
      ),
      duration: Type.Optional(
        goDuration({
          description: 'How long the experiment runs (Go duration); unset = until the step ends.',
        }),
      ),
      analyses: Type.Optional(
        Type.Array(
          Type.Object({
            name: Type.String({ description: 'Name of this analysis within the experiment.' }),
            templateName: Type.String(),
            clusterScope: Type.Optional(Type.Boolean()),
            args: Type.Optional(Type.Array(analysisRunArgument())),
            requiredForCompletion: Type.Optional(
              Type.Boolean({
                description: 'The experiment does not complete until this analysis completes.',
              }),
            ),
          }),
        ),
      ),
      dryRun: Type.Optional(dryRunList()),
      analysisRunMetadata: Type.Optional(
        podTemplateMetadata('Labels and annotations to put on the AnalysisRuns.'),
      ),
      scaleDownDelaySeconds: Type.Optional(
        Type.Integer({
          description: 'Delay before the experiment ReplicaSets are scaled down (default 30).',
        }),
      ),
    },
    { description: 'Run an Experiment; the step completes when it succeeds.' },
  );

export const canaryStep = () =>
  Type.Object(
    {
      setWeight: Type.Optional(
        Type.Integer({ description: 'Percentage of traffic (or of pods, without a router) for the canary.' }),
      ),
      pause: Type.Optional(
        Type.Object(
          {
            duration: Type.Optional(
              intOrDuration({
                description: 'Seconds, or a Go duration such as `30s`; unset = wait for promote.',
              }),
            ),
          },
          { description: 'Pause the rollout, for a duration or until promoted.' },
        ),
      ),
      experiment: Type.Optional(experimentStep()),
      analysis: Type.Optional(rolloutAnalysis('Run an AnalysisRun; the step completes when it succeeds.')),
      setCanaryScale: Type.Optional(
        Type.Object(
          {
            weight: Type.Optional(
              Type.Integer({ description: 'Canary size as a percentage of spec.replicas.' }),
            ),
            replicas: Type.Optional(Type.Integer({ description: 'Canary size as a pod count.' })),
            matchTrafficWeight: Type.Optional(
              Type.Boolean({ description: 'Size the canary from the current traffic weight again.' }),
            ),
          },
          {
            description:
              'Size the canary ReplicaSet independently of its traffic weight (needs trafficRouting).',
          },
        ),
      ),
      setHeaderRoute: Type.Optional(
        Type.Object(
          {
            name: Type.Optional(
              Type.String({ description: 'Route name; must be listed in trafficRouting.managedRoutes.' }),
            ),
            match: Type.Optional(
              Type.Array(
                Type.Object({
                  headerName: Type.String(),
                  headerValue: stringMatch(),
                }),
                { description: 'Header matches; with none, the route is removed.' },
              ),
            ),
          },
          { description: 'Send requests that match headers to the canary.' },
        ),
      ),
      setMirrorRoute: Type.Optional(
        Type.Object(
          {
            name: Type.String({ description: 'Route name; must be listed in trafficRouting.managedRoutes.' }),
            match: Type.Optional(
              Type.Array(
                Type.Object({
                  method: Type.Optional(stringMatch()),
                  path: Type.Optional(stringMatch()),
                  headers: Type.Optional(mapOf(stringMatch())),
                }),
                {
                  description: 'Matches (OR between items, AND within one); with none, the route is removed.',
                },
              ),
            ),
            percentage: Type.Optional(
              Type.Integer({ description: 'Percentage of matched traffic to mirror.' }),
            ),
          },
          { description: 'Mirror matching traffic to the canary.' },
        ),
      ),
      plugin: Type.Optional(
        Type.Object(
          {
            name: Type.String({ description: 'Name of the step plugin, as configured in the controller.' }),
            config: Type.Optional(freeform({ description: 'Plugin configuration, passed as written.' })),
          },
          { description: 'Run a step plugin.' },
        ),
      ),
    },
    { description: 'One canary step; set exactly one step type.' },
  );

// ---------------------------------------------------------------------------------------------------
// Traffic routing (RolloutTrafficRouting)
// ---------------------------------------------------------------------------------------------------

const istioVirtualService = () =>
  Type.Object({
    name: Type.String({ description: 'Name of the VirtualService.' }),
    routes: Type.Optional(
      Type.Array(Type.String(), { description: 'HTTP routes to edit; may be omitted when there is one.' }),
    ),
    tlsRoutes: Type.Optional(
      Type.Array(
        Type.Object({
          port: Type.Optional(Type.Integer({ format: 'int64' })),
          sniHosts: Type.Optional(Type.Array(Type.String())),
        }),
        { description: 'TLS routes to edit, matched by port and SNI hosts.' },
      ),
    ),
    tcpRoutes: Type.Optional(
      Type.Array(Type.Object({ port: Type.Optional(Type.Integer({ format: 'int64' })) }), {
        description: 'TCP routes to edit, matched by port.',
      }),
    ),
  });

export const trafficRouting = () =>
  Type.Object(
    {
      nginx: Type.Optional(
        Type.Object({
          annotationPrefix: Type.Optional(
            Type.String({
              default: rolloutDefaults.nginxAnnotationPrefix,
              description:
                'Annotation prefix of the ingress-nginx controller (default nginx.ingress.kubernetes.io).',
            }),
          ),
          stableIngress: Type.Optional(
            Type.String({ description: 'Ingress that routes to the stable Service.' }),
          ),
          stableIngresses: Type.Optional(
            Type.Array(Type.String(), { description: 'Several stable Ingresses.' }),
          ),
          additionalIngressAnnotations: Type.Optional(
            stringMap({ description: 'Extra annotations for the canary Ingress, e.g. canary-by-header.' }),
          ),
          canaryIngressAnnotations: Type.Optional(
            stringMap({ description: 'Annotations for the canary Ingress.' }),
          ),
        }),
      ),
      alb: Type.Optional(
        Type.Object({
          ingress: Type.Optional(
            Type.String({ description: 'Ingress managed by the AWS Load Balancer Controller.' }),
          ),
          ingresses: Type.Optional(Type.Array(Type.String())),
          servicePort: Type.Integer({ description: 'Service port the ingress action routes to.' }),
          rootService: Type.Optional(
            Type.String({ description: 'Service named in the ingress rule (needed with pingPong).' }),
          ),
          annotationPrefix: Type.Optional(
            Type.String({ description: 'Annotation prefix of the ALB controller.' }),
          ),
          stickinessConfig: Type.Optional(
            Type.Object({
              enabled: Type.Boolean(),
              durationSeconds: Type.Integer({ format: 'int64' }),
            }),
          ),
        }),
      ),
      istio: Type.Optional(
        Type.Object({
          virtualService: Type.Optional(istioVirtualService()),
          virtualServices: Type.Optional(Type.Array(istioVirtualService())),
          destinationRule: Type.Optional(
            Type.Object(
              {
                name: Type.String(),
                canarySubsetName: Type.String(),
                stableSubsetName: Type.String(),
                additionalSubsetNames: Type.Optional(Type.Array(Type.String())),
              },
              {
                description:
                  'Subset-based splitting: the controller edits the subsets’ pod-template-hash labels.',
              },
            ),
          ),
        }),
      ),
      smi: Type.Optional(
        Type.Object({
          rootService: Type.Optional(Type.String({ description: 'Service that clients call.' })),
          trafficSplitName: Type.Optional(Type.String({ description: 'TrafficSplit to create or update.' })),
        }),
      ),
      ambassador: Type.Optional(
        Type.Object({
          mappings: Type.Array(Type.String(), { description: 'Ambassador Mappings to clone.' }),
        }),
      ),
      appMesh: Type.Optional(
        Type.Object({
          virtualService: Type.Optional(
            Type.Object({
              name: Type.String(),
              routes: Type.Optional(Type.Array(Type.String())),
            }),
          ),
          virtualNodeGroup: Type.Optional(
            Type.Object({
              canaryVirtualNodeRef: Type.Object({ name: Type.String() }),
              stableVirtualNodeRef: Type.Object({ name: Type.String() }),
            }),
          ),
        }),
      ),
      traefik: Type.Optional(
        Type.Object({
          weightedTraefikServiceName: Type.String({ description: 'Weighted TraefikService to edit.' }),
        }),
      ),
      apisix: Type.Optional(
        Type.Object({
          route: Type.Optional(
            Type.Object({
              name: Type.String({ description: 'ApisixRoute name.' }),
              rules: Type.Optional(Type.Array(Type.String(), { description: 'Rules of the route to edit.' })),
            }),
          ),
        }),
      ),
      plugins: Type.Optional(
        freeform({ description: 'Traffic router plugins: `{<plugin name>: <its configuration>}`.' }),
      ),
      managedRoutes: Type.Optional(
        Type.Array(Type.Object({ name: Type.String() }), {
          description:
            'Routes the controller may add (setHeaderRoute, setMirrorRoute); order sets precedence.',
        }),
      ),
      maxTrafficWeight: Type.Optional(
        Type.Integer({
          description: 'Total weight that setWeight is relative to (default 100; nginx and plugins only).',
        }),
      ),
    },
    { description: 'Traffic routers that shift traffic by weight instead of by pod count.' },
  );

// ---------------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------------

export const canaryStrategy = () =>
  Type.Object(
    {
      canaryService: Type.Optional(
        Type.String({ description: 'Service the controller points at canary pods only.' }),
      ),
      stableService: Type.Optional(
        Type.String({ description: 'Service the controller points at stable pods only.' }),
      ),
      steps: Type.Optional(Type.Array(canaryStep(), { description: 'Steps, in order.' })),
      trafficRouting: Type.Optional(trafficRouting()),
      maxUnavailable: Type.Optional(
        intOrPercent({
          default: rolloutDefaults.maxUnavailable,
          description:
            'Pods that may be unavailable during the update; a percentage rounds down (default 25%).',
        }),
      ),
      maxSurge: Type.Optional(
        intOrPercent({
          default: rolloutDefaults.maxSurge,
          description: 'Pods that may be created above replicas; a percentage rounds up (default 25%).',
        }),
      ),
      analysis: Type.Optional(rolloutAnalysisBackground()),
      antiAffinity: Type.Optional(antiAffinity()),
      canaryMetadata: Type.Optional(
        podTemplateMetadata('Labels and annotations on pods while they are the canary.'),
      ),
      stableMetadata: Type.Optional(
        podTemplateMetadata('Labels and annotations on pods while they are stable.'),
      ),
      scaleDownDelaySeconds: Type.Optional(
        Type.Integer({
          description:
            'Delay before the previous stable ReplicaSet is scaled down; trafficRouting only (default 30 with it).',
        }),
      ),
      scaleDownDelayRevisionLimit: Type.Optional(
        Type.Integer({ description: 'How many old ReplicaSets may stay up during their scale-down delay.' }),
      ),
      abortScaleDownDelaySeconds: Type.Optional(
        Type.Integer({
          description:
            'Delay before the canary is scaled down on abort; 0 = never (default 30 with trafficRouting).',
        }),
      ),
      dynamicStableScale: Type.Optional(
        Type.Boolean({
          description: 'Scale the stable ReplicaSet down as traffic moves to the canary (trafficRouting).',
        }),
      ),
      pingPong: Type.Optional(
        Type.Object(
          { pingService: Type.String(), pongService: Type.String() },
          { description: 'Two Services that swap the stable and canary roles (ALB, Istio or plugins).' },
        ),
      ),
      minPodsPerReplicaSet: Type.Optional(
        Type.Integer({ description: 'Lowest non-zero pod count of the canary and stable (trafficRouting).' }),
      ),
      replicaProgressThreshold: Type.Optional(
        Type.Object(
          {
            type: enumOf(['Percent', 'Pod', 'Pods'], {
              description: "Percent, or Pod (Argo's documented spelling; Pods is accepted too).",
            }),
            value: Type.Integer(),
          },
          {
            description:
              'How many canary pods must be available before a step completes (default 100 Percent).',
          },
        ),
      ),
    },
    { description: 'Canary: move to the new version step by step.' },
  );

export const blueGreenStrategy = () =>
  Type.Object(
    {
      activeService: Type.String({ description: 'Service switched to the new version on promotion.' }),
      previewService: Type.Optional(
        Type.String({ description: 'Service that points at the new version before promotion.' }),
      ),
      previewReplicaCount: Type.Optional(
        Type.Integer({ description: 'Preview size before promotion; scaled to full on promotion.' }),
      ),
      autoPromotionEnabled: Type.Optional(
        Type.Boolean({
          default: rolloutDefaults.autoPromotionEnabled,
          description: 'Promote automatically once the preview is available (default true).',
        }),
      ),
      autoPromotionSeconds: Type.Optional(
        Type.Integer({ description: 'Wait this long after the preview is available before auto-promotion.' }),
      ),
      maxUnavailable: Type.Optional(
        intOrPercent({
          default: rolloutDefaults.maxUnavailable,
          description: 'Pods that may be unavailable during a restart (default 25%).',
        }),
      ),
      scaleDownDelaySeconds: Type.Optional(
        Type.Integer({
          default: rolloutDefaults.scaleDownDelaySeconds,
          description: 'Delay before the previous active ReplicaSet is scaled down (default 30).',
        }),
      ),
      scaleDownDelayRevisionLimit: Type.Optional(
        Type.Integer({ description: 'How many old ReplicaSets may stay up during their scale-down delay.' }),
      ),
      prePromotionAnalysis: Type.Optional(
        rolloutAnalysis('Analysis run before the active Service is switched.'),
      ),
      postPromotionAnalysis: Type.Optional(
        rolloutAnalysis('Analysis run after the active Service is switched.'),
      ),
      antiAffinity: Type.Optional(antiAffinity()),
      previewMetadata: Type.Optional(
        podTemplateMetadata('Labels and annotations on pods while they are the preview.'),
      ),
      activeMetadata: Type.Optional(
        podTemplateMetadata('Labels and annotations on pods while they are active.'),
      ),
      abortScaleDownDelaySeconds: Type.Optional(
        Type.Integer({
          default: rolloutDefaults.abortScaleDownDelaySeconds,
          description: 'Delay before the preview is scaled down on abort; 0 = never (default 30).',
        }),
      ),
    },
    { description: 'Blue-green: run the new version beside the old one, then switch the active Service.' },
  );

// ---------------------------------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------------------------------

export const RolloutSpecSchema = Type.Object({
  replicas: Type.Optional(
    Type.Integer({ default: rolloutDefaults.replicas, description: 'Desired pod count (default 1).' }),
  ),
  selector: Type.Optional(labelSelector()),
  template: Type.Optional(podTemplateSpec()),
  workloadRef: Type.Optional(
    Type.Object(
      {
        apiVersion: Type.Optional(Type.String()),
        kind: Type.Optional(Type.String()),
        name: Type.Optional(Type.String()),
        scaleDown: Type.Optional(
          enumOf(['never', 'onsuccess', 'progressively'], {
            default: rolloutDefaults.workloadScaleDown,
            description:
              'What to do with the referenced Deployment once the Rollout is healthy (default never).',
          }),
        ),
      },
      { description: 'Take the pod template (and selector) from this workload, e.g. a Deployment.' },
    ),
  ),
  minReadySeconds: Type.Optional(
    Type.Integer({
      description: 'Seconds a new pod must be ready, without crashing, to count as available.',
    }),
  ),
  rollbackWindow: Type.Optional(
    Type.Object(
      { revisions: Type.Optional(Type.Integer()) },
      { description: 'A rollback to one of the last N revisions skips steps and analysis.' },
    ),
  ),
  strategy: Type.Optional(
    Type.Object(
      {
        blueGreen: Type.Optional(blueGreenStrategy()),
        canary: Type.Optional(canaryStrategy()),
      },
      { description: 'Exactly one of canary or blueGreen.' },
    ),
  ),
  revisionHistoryLimit: Type.Optional(
    Type.Integer({
      default: rolloutDefaults.revisionHistoryLimit,
      description: 'Old ReplicaSets to keep (default 10).',
    }),
  ),
  paused: Type.Optional(Type.Boolean({ description: 'Pause the rollout at its current step.' })),
  progressDeadlineSeconds: Type.Optional(
    Type.Integer({
      default: rolloutDefaults.progressDeadlineSeconds,
      description:
        'Seconds without progress before the update counts as failed; not counted while paused (default 600).',
    }),
  ),
  progressDeadlineAbort: Type.Optional(
    Type.Boolean({ description: 'Abort the update when progressDeadlineSeconds is exceeded.' }),
  ),
  restartAt: Type.Optional(
    Type.String({ format: 'date-time', description: 'Restart every pod created before this time.' }),
  ),
  analysis: Type.Optional(
    Type.Object(
      {
        successfulRunHistoryLimit: Type.Optional(
          Type.Integer({
            default: rolloutDefaults.successfulRunHistoryLimit,
            description: 'Successful AnalysisRuns and Experiments to keep (default 5).',
          }),
        ),
        unsuccessfulRunHistoryLimit: Type.Optional(
          Type.Integer({
            default: rolloutDefaults.unsuccessfulRunHistoryLimit,
            description: 'Failed, errored or inconclusive AnalysisRuns and Experiments to keep (default 5).',
          }),
        ),
      },
      { description: 'How many finished AnalysisRuns and Experiments to keep.' },
    ),
  ),
});

// ---------------------------------------------------------------------------------------------------
// Status (RolloutStatus)
// ---------------------------------------------------------------------------------------------------

export const rolloutPhases = ['Healthy', 'Progressing', 'Paused', 'Degraded'] as const;
export const rolloutConditionTypes = [
  'InvalidSpec',
  'Available',
  'Progressing',
  'ReplicaFailure',
  'Paused',
  'Completed',
  'Healthy',
] as const;
export const pauseReasons = [
  'InconclusiveAnalysisRun',
  'InconclusiveExperiment',
  'CanaryPauseStep',
  'BlueGreenPause',
] as const;

const time = (description?: string) =>
  Type.String({ format: 'date-time', ...(description ? { description } : {}) });

const rolloutAnalysisRunStatus = () =>
  Type.Object({
    name: Type.String({ description: 'Name of the AnalysisRun.' }),
    status: Type.String({
      description: 'Its phase: Pending, Running, Successful, Failed, Error or Inconclusive.',
    }),
    message: Type.Optional(Type.String()),
  });

const trafficWeightDestination = () =>
  Type.Object({
    weight: Type.Integer(),
    serviceName: Type.Optional(Type.String()),
    podTemplateHash: Type.Optional(Type.String()),
  });

const targetGroup = () =>
  Type.Object({
    name: Type.String(),
    arn: Type.String(),
    fullName: Type.Optional(Type.String()),
  });

const albStatus = () =>
  Type.Object({
    ingress: Type.Optional(Type.String()),
    loadBalancer: Type.Optional(targetGroup()),
    canaryTargetGroup: Type.Optional(targetGroup()),
    stableTargetGroup: Type.Optional(targetGroup()),
  });

export const RolloutStatusSchema = Type.Object(
  {
    abort: Type.Optional(Type.Boolean({ description: 'Set by `abort`: go back to the stable version.' })),
    pauseConditions: Type.Optional(
      Type.Array(
        Type.Object({
          reason: Type.String({ description: `Why: ${pauseReasons.join(', ')}.` }),
          startTime: time(),
        }),
      ),
    ),
    controllerPause: Type.Optional(
      Type.Boolean({ description: 'The controller (not the user) paused the rollout.' }),
    ),
    abortedAt: Type.Optional(time()),
    currentPodHash: Type.Optional(
      Type.String({ description: 'pod-template-hash of the current spec.template.' }),
    ),
    currentStepHash: Type.Optional(
      Type.String({ description: 'Hash of the canary steps; a change resets the step index.' }),
    ),
    replicas: Type.Optional(Type.Integer()),
    updatedReplicas: Type.Optional(Type.Integer()),
    readyReplicas: Type.Optional(Type.Integer()),
    availableReplicas: Type.Optional(Type.Integer()),
    currentStepIndex: Type.Optional(Type.Integer()),
    collisionCount: Type.Optional(Type.Integer()),
    observedGeneration: Type.Optional(
      Type.String({ description: 'metadata.generation last seen, as a string.' }),
    ),
    conditions: Type.Optional(
      Type.Array(
        Type.Object({
          type: Type.String({ description: `One of ${rolloutConditionTypes.join(', ')}.` }),
          status: Type.String({ description: 'True, False or Unknown.' }),
          reason: Type.String(),
          message: Type.String(),
          lastUpdateTime: time(),
          lastTransitionTime: time(),
        }),
      ),
    ),
    canary: Type.Optional(
      Type.Object({
        currentStepAnalysisRunStatus: Type.Optional(rolloutAnalysisRunStatus()),
        currentBackgroundAnalysisRunStatus: Type.Optional(rolloutAnalysisRunStatus()),
        currentExperiment: Type.Optional(
          Type.String({ description: 'Name of the Experiment of the current step.' }),
        ),
        weights: Type.Optional(
          Type.Object({
            canary: trafficWeightDestination(),
            stable: trafficWeightDestination(),
            additional: Type.Optional(Type.Array(trafficWeightDestination())),
            verified: Type.Optional(Type.Boolean({ description: 'The router confirmed the weights (ALB).' })),
          }),
        ),
        stablePingPong: Type.Optional(Type.String({ description: 'Which of ping or pong is stable.' })),
        stepPluginStatuses: Type.Optional(
          Type.Array(
            Type.Object({
              index: Type.Integer({ description: 'Step index.' }),
              name: Type.String(),
              operation: Type.String({ description: 'Run, Terminate or Abort.' }),
              phase: Type.Optional(Type.String()),
              message: Type.Optional(Type.String()),
              startedAt: Type.Optional(time()),
              updatedAt: Type.Optional(time()),
              finishedAt: Type.Optional(time()),
              backoff: Type.Optional(Type.String()),
              executions: Type.Optional(Type.Integer()),
              disabled: Type.Optional(Type.Boolean()),
              status: Type.Optional(freeform({ description: 'Plugin state, kept as written.' })),
            }),
          ),
        ),
      }),
    ),
    blueGreen: Type.Optional(
      Type.Object({
        previewSelector: Type.Optional(Type.String()),
        activeSelector: Type.Optional(Type.String()),
        scaleUpPreviewCheckPoint: Type.Optional(Type.Boolean()),
        prePromotionAnalysisRunStatus: Type.Optional(rolloutAnalysisRunStatus()),
        postPromotionAnalysisRunStatus: Type.Optional(rolloutAnalysisRunStatus()),
      }),
    ),
    HPAReplicas: Type.Optional(
      Type.Integer({ description: 'Replicas as the scale subresource reports them.' }),
    ),
    selector: Type.Optional(
      Type.String({ description: 'Label selector as a string, for the scale subresource.' }),
    ),
    stableRS: Type.Optional(Type.String({ description: 'pod-template-hash of the stable ReplicaSet.' })),
    restartedAt: Type.Optional(time()),
    promoteFull: Type.Optional(
      Type.Boolean({ description: 'Set by `promote --full`: skip the remaining steps.' }),
    ),
    phase: Type.Optional(enumOf(rolloutPhases)),
    message: Type.Optional(Type.String()),
    workloadObservedGeneration: Type.Optional(Type.String()),
    alb: Type.Optional(albStatus()),
    albs: Type.Optional(Type.Array(albStatus())),
  },
  { description: 'Written by the controller.' },
);

export const RolloutSchema = Type.Object({
  ...objectHeader('argoproj.io/v1alpha1', 'Rollout'),
  spec: RolloutSpecSchema,
  status: Type.Optional(RolloutStatusSchema),
});

export type Rollout = Static<typeof RolloutSchema>;
export type RolloutSpec = Static<typeof RolloutSpecSchema>;
export type RolloutStatus = Static<typeof RolloutStatusSchema>;
export type CanaryStrategy = Static<ReturnType<typeof canaryStrategy>>;
export type BlueGreenStrategy = Static<ReturnType<typeof blueGreenStrategy>>;
export type CanaryStep = Static<ReturnType<typeof canaryStep>>;
export type RolloutTrafficRouting = Static<ReturnType<typeof trafficRouting>>;
export type RolloutAnalysis = Static<ReturnType<typeof rolloutAnalysis>>;
export type AnalysisRunArgument = Static<ReturnType<typeof analysisRunArgument>>;
export type RolloutPhase = (typeof rolloutPhases)[number];

// ---------------------------------------------------------------------------------------------------
// Conditional defaults
// ---------------------------------------------------------------------------------------------------

/**
 * The Rollout with every default Argo applies filled in (a new object; the input is not changed), so
 * the engine reads effective values only. Static defaults are also in the schema; these depend on
 * other fields (`utils/defaults/defaults.go`):
 * - canary `scaleDownDelaySeconds` and `abortScaleDownDelaySeconds` default to 30 only with
 *   trafficRouting; a basic (pod-count) canary has neither. `scaleDownDelaySeconds` is left unset
 *   with `dynamicStableScale`, because Argo rejects the two together.
 * - `maxSurge`/`maxUnavailable` 25% apply to the canary; blue-green has only `maxUnavailable` 25%.
 * - `analysis` history limits (5/5) are filled in even when `spec.analysis` is absent.
 * `trafficRouting.maxTrafficWeight` is not filled in (Argo allows it only with nginx and plugins);
 * read it with `?? rolloutDefaults.maxTrafficWeight`. Run the semantic rules on the object as written,
 * not on this result.
 */
export function applyRolloutDefaults(rollout: Rollout): Rollout {
  // Only the spec gets defaults; the status is shared, not copied (the engine calls this every pass).
  const out: Rollout = { ...rollout, spec: structuredClone(rollout.spec) };
  const spec = out.spec;
  spec.replicas ??= rolloutDefaults.replicas;
  spec.revisionHistoryLimit ??= rolloutDefaults.revisionHistoryLimit;
  spec.progressDeadlineSeconds ??= rolloutDefaults.progressDeadlineSeconds;
  spec.analysis = {
    ...spec.analysis,
    successfulRunHistoryLimit:
      spec.analysis?.successfulRunHistoryLimit ?? rolloutDefaults.successfulRunHistoryLimit,
    unsuccessfulRunHistoryLimit:
      spec.analysis?.unsuccessfulRunHistoryLimit ?? rolloutDefaults.unsuccessfulRunHistoryLimit,
  };
  if (spec.workloadRef) spec.workloadRef.scaleDown ??= rolloutDefaults.workloadScaleDown;

  const canary = spec.strategy?.canary;
  if (canary) {
    canary.maxSurge ??= rolloutDefaults.maxSurge;
    canary.maxUnavailable ??= rolloutDefaults.maxUnavailable;
    const tr = canary.trafficRouting;
    if (tr) {
      if (!canary.dynamicStableScale) canary.scaleDownDelaySeconds ??= rolloutDefaults.scaleDownDelaySeconds;
      canary.abortScaleDownDelaySeconds ??= rolloutDefaults.abortScaleDownDelaySeconds;
      if (tr.nginx) tr.nginx.annotationPrefix ??= rolloutDefaults.nginxAnnotationPrefix;
    }
  }
  const blueGreen = spec.strategy?.blueGreen;
  if (blueGreen) {
    blueGreen.autoPromotionEnabled ??= rolloutDefaults.autoPromotionEnabled;
    blueGreen.maxUnavailable ??= rolloutDefaults.maxUnavailable;
    blueGreen.scaleDownDelaySeconds ??= rolloutDefaults.scaleDownDelaySeconds;
    blueGreen.abortScaleDownDelaySeconds ??= rolloutDefaults.abortScaleDownDelaySeconds;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Kind
// ---------------------------------------------------------------------------------------------------

export const rolloutKind: KindDefinition = {
  group: 'argoproj.io',
  version: 'v1alpha1',
  kind: 'Rollout',
  plural: 'rollouts',
  singular: 'rollout',
  shortNames: ['ro'],
  scope: 'Namespaced',
  schema: RolloutSchema,
  subresources: {
    status: true,
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.HPAReplicas',
      labelSelectorPath: '.status.selector',
    },
  },
  printerColumns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', description: 'Number of desired pods' },
    {
      name: 'Current',
      type: 'integer',
      jsonPath: '.status.replicas',
      description: 'Total number of non-terminated pods targeted by this rollout',
    },
    {
      name: 'Up-to-date',
      type: 'integer',
      jsonPath: '.status.updatedReplicas',
      description:
        'Total number of non-terminated pods targeted by this rollout that have the desired template spec',
    },
    {
      name: 'Available',
      type: 'integer',
      jsonPath: '.status.availableReplicas',
      description:
        'Total number of available pods (ready for at least minReadySeconds) targeted by this rollout',
    },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since resource was created',
    },
  ],
  rules: rolloutRules,
};

export const kinds: KindDefinition[] = [rolloutKind];
