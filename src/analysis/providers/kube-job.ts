/**
 * The Argo `job` metric provider for the Kubernetes platform: each measurement is a real batch/v1 Job,
 * created from `metric.provider.job` and judged by its conditions, as Argo's job provider does
 * (`metricproviders/job/job.go`); the local platform's counterpart is job.ts.
 *
 * - Name `<analysisrun uid>.<metric>.<n>`, n = the metric's count + error + 1 (the measurements taken
 *   so far, from `ctx.run.metricResults`): the same measurement gets the same name after a restart.
 *   The Job controller copies the name into a pod label, which the API server limits to 63 characters;
 *   a longer name keeps the uid and n and shortens the metric to a prefix plus a hash of the whole name
 *   (Argo rejected such Jobs with 422 until upstream PR #4305; that PR's exact form was not available
 *   here, so long names may differ from a recent Argo's).
 * - Metadata: the spec's `metadata.labels`/`annotations`, plus label `analysisrun.argoproj.io/uid`
 *   and annotations `analysisrun.argoproj.io/name` and `.../metric-name` (annotations, as Argo: a run
 *   or metric name may be no valid label value). Owner: the AnalysisRun as controller (option `owner`),
 *   so the garbage collector deletes the Job with its run.
 * - `run` creates it and answers Running with `job-name` in the measurement metadata. AlreadyExists
 *   (a restart between create and the status write) adopts the Job if it belongs to this run.
 * - `resume` reads it: condition Complete=True -> Successful, Failed=True -> Failed with the
 *   condition's reason and message; otherwise Running again, polled with a square-root back-off on the
 *   measurement's age. A Job that is gone is an Error.
 * - `terminate` deletes it with propagationPolicy Background (its pods go too).
 * - API failures (transport, 403, 422...) are Error measurements naming the Job and the API's reason,
 *   with the run's secret arg values masked (a 422 may quote the spec).
 *
 * Differences from Argo, on purpose: only condition status True counts (Argo matches the type alone);
 * if both Complete and Failed were True, Failed wins; `garbageCollect` deletes only the metric's own
 * Jobs (Argo's selects every Job of the run); deletion is Background (Argo: Foreground), so terminate
 * does not wait for the pods.
 */
import { createHash } from 'node:crypto';
import type { Measurement, Metric } from '../../api/argo/analysis.js';
import type { Observation } from '../../engine/analysis/engine.js';
import {
  isAlreadyExists,
  KubeApiError,
  type KubeClient,
  type KubeJson,
  RESOURCES,
} from '../../platforms/kubernetes/client.js';
import type { MeasureContext, MetricProvider } from '../provider.js';
import { JOB_NAME_KEY } from './job.js';

export { JOB_NAME_KEY };

/** Job label holding the AnalysisRun's uid (selects a run's Jobs). */
export const RUN_UID_LABEL = 'analysisrun.argoproj.io/uid';
/** Job annotation holding the AnalysisRun's name. */
export const RUN_NAME_ANNOTATION = 'analysisrun.argoproj.io/name';
/** Job annotation holding the metric's name. */
export const METRIC_NAME_ANNOTATION = 'analysisrun.argoproj.io/metric-name';

/** Label values (the Job controller labels pods with the Job's name) are at most 63 characters. */
const MAX_NAME = 63;

export type OwnerReference = NonNullable<KubeJson['metadata']['ownerReferences']>[number];
export type RunRef = MeasureContext['run'];

export interface KubeJobOptions {
  client: KubeClient;
  /** The Jobs' owner (default: the AnalysisRun as controller); undefined = no owner reference. */
  owner?: (run: RunRef) => OwnerReference | undefined;
  /** First poll delay in ms (default 1000); later ones grow as √(age·pollMs), at most maxPollMs. */
  pollMs?: number;
  /** Longest poll delay in ms (default 10000). */
  maxPollMs?: number;
}

/** The AnalysisRun as the Job's controlling owner, as Argo sets it. */
export function analysisRunOwner(run: RunRef): OwnerReference | undefined {
  if (!run.uid) return undefined;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisRun',
    name: run.name,
    uid: run.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * `<uid>.<metric>.<index>`; when that is over 63 characters, the metric part becomes a prefix of it and
 * 8 hex digits of its SHA-256, so distinct metrics keep distinct names.
 */
export function kubeJobName(uid: string, metric: string, index: number): string {
  const full = `${uid}.${metric}.${index}`;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(metric).digest('hex').slice(0, 8);
  const room = MAX_NAME - `${uid}..${index}`.length - hash.length - 1;
  // Name segments must end alphanumeric: no '.' or '-' before the hash's '-'.
  const prefix = metric.slice(0, Math.max(0, room)).replace(/[.-]+$/, '');
  return `${uid}.${prefix ? `${prefix}-` : ''}${hash}.${index}`;
}

interface JobCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

export interface JobVerdict {
  phase: 'Successful' | 'Failed' | 'Running';
  message?: string;
}

/**
 * What a Job's status says about the measurement. Only the terminal conditions count: the Job
 * controller sets SuccessCriteriaMet / FailureTarget first and Complete / Failed once its pods are done.
 */
export function jobVerdict(job: { [key: string]: unknown; status?: unknown }): JobVerdict {
  const status = isObject(job.status) ? job.status : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as JobCondition[]) : [];
  const isTrue = (type: string) => conditions.find((c) => c?.type === type && c.status === 'True');
  const failed = isTrue('Failed');
  if (failed) {
    const text = [failed.reason, failed.message].filter((s) => typeof s === 'string' && s !== '').join(': ');
    return { phase: 'Failed', message: text || 'the Job failed' };
  }
  if (isTrue('Complete')) return { phase: 'Successful' };
  return { phase: 'Running' };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const stringMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
  return out;
};

/** Epoch ms of a measurement's startedAt (RFC 3339 or ms), undefined when absent or unreadable. */
function startedMs(m: Measurement): number | undefined {
  const v = (m as { startedAt?: unknown }).startedAt;
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

class JobError extends Error {}

export class KubeJobProvider implements MetricProvider {
  readonly type = 'job';
  private readonly client: KubeClient;
  private readonly owner: (run: RunRef) => OwnerReference | undefined;
  private readonly pollMs: number;
  private readonly maxPollMs: number;

  constructor(o: KubeJobOptions) {
    this.client = o.client;
    this.owner = o.owner ?? analysisRunOwner;
    this.pollMs = o.pollMs ?? 1000;
    this.maxPollMs = o.maxPollMs ?? 10_000;
  }

  /** The Job `run` creates for this metric and context (exported for tests and `kubectl`-like views). */
  jobFor(metric: Metric, ctx: MeasureContext): KubeJson {
    const job = (metric.provider as Record<string, unknown> | undefined)?.job;
    if (!isObject(job) || !isObject(job.spec)) throw new JobError('job: metric.provider.job.spec is missing');
    const { uid, namespace, name: runName } = ctx.run;
    if (!uid || !namespace)
      throw new JobError(
        `job: AnalysisRun ${runName} has no ${uid ? 'namespace' : 'uid'} (not read from the API server?)`,
      );
    const results = ctx.run.metricResults;
    // Without them every measurement would be number 1 and adopt the first Job: refuse instead.
    if (!results)
      throw new JobError(`job: no metric results of AnalysisRun ${runName} were given to number the Job`);
    const r = results.find((x) => x.name === metric.name);
    const index = (r?.count ?? 0) + (r?.error ?? 0) + 1;
    const meta = isObject(job.metadata) ? job.metadata : {};
    const owner = this.owner(ctx.run);
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: kubeJobName(uid, metric.name, index),
        namespace,
        labels: { ...stringMap(meta.labels), [RUN_UID_LABEL]: uid },
        annotations: {
          ...stringMap(meta.annotations),
          [RUN_NAME_ANNOTATION]: runName,
          [METRIC_NAME_ANNOTATION]: metric.name,
        },
        ...(owner ? { ownerReferences: [owner] } : {}),
      },
      spec: structuredClone(job.spec),
    };
  }

  async run(metric: Metric, ctx: MeasureContext): Promise<Observation> {
    let job: KubeJson;
    try {
      job = this.jobFor(metric, ctx);
    } catch (e) {
      return this.error(metric, ctx, e instanceof Error ? e.message : String(e));
    }
    const { name, namespace } = job.metadata;
    const ref = `${namespace}/${name}`;
    try {
      await this.client.create(RESOURCES.jobs, job);
    } catch (e) {
      if (!isAlreadyExists(e)) return this.error(metric, ctx, apiFailure(ref, 'create', e));
      // Made before a restart (the measurement was not recorded yet): adopt it if it is this run's.
      let existing: KubeJson | undefined;
      try {
        existing = await this.client.get(RESOURCES.jobs, namespace, name);
      } catch (e2) {
        return this.error(metric, ctx, apiFailure(ref, 'read (it already exists)', e2));
      }
      if (!existing) return this.error(metric, ctx, `job ${ref}: it already existed, then vanished`);
      const controller = existing.metadata.ownerReferences?.find((o) => o.controller);
      const ours = controller
        ? controller.uid === ctx.run.uid
        : existing.metadata.labels?.[RUN_UID_LABEL] === ctx.run.uid;
      if (!ours)
        return this.error(
          metric,
          ctx,
          `job ${ref} already exists and belongs to ${controller ? `${controller.kind} ${controller.name}` : 'no AnalysisRun'}, not to AnalysisRun ${ctx.run.name}`,
        );
    }
    return {
      metric: metric.name,
      phase: 'Running',
      resumeAt: ctx.now + this.pollMs,
      metadata: { [JOB_NAME_KEY]: name },
    };
  }

  async resume(metric: Metric, measurement: Measurement, ctx: MeasureContext): Promise<Observation> {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    if (!name) return this.error(metric, ctx, 'job metadata reference missing');
    const namespace = ctx.run.namespace;
    if (!namespace)
      return this.error(metric, ctx, `job ${name}: AnalysisRun ${ctx.run.name} has no namespace`);
    const ref = `${namespace}/${name}`;
    let job: KubeJson | undefined;
    try {
      job = await this.client.get(RESOURCES.jobs, namespace, name);
    } catch (e) {
      return this.error(metric, ctx, apiFailure(ref, 'read', e));
    }
    if (!job) return this.error(metric, ctx, `job ${ref} not found (deleted before it finished?)`);
    const v = jobVerdict(job);
    if (v.phase !== 'Running')
      return { metric: metric.name, phase: v.phase, ...(v.message ? { message: v.message } : {}) };
    return { metric: metric.name, phase: 'Running', resumeAt: ctx.now + this.nextPoll(measurement, ctx.now) };
  }

  async terminate(_metric: Metric, measurement: Measurement, ctx: MeasureContext): Promise<void> {
    const name = measurement.metadata?.[JOB_NAME_KEY];
    const namespace = ctx.run.namespace;
    if (!name || !namespace) return;
    try {
      await this.client.delete(RESOURCES.jobs, namespace, name, { propagationPolicy: 'Background' });
    } catch (e) {
      throw new Error(mask(apiFailure(`${namespace}/${name}`, 'delete', e), ctx));
    }
  }

  /**
   * Deletes the metric's oldest Jobs of this run beyond `limit` (the engine's `garbageCollect` action:
   * measurements dropped from the status). Not called by `carryOutMeasurements` yet.
   */
  async garbageCollect(metricName: string, limit: number, ctx: MeasureContext): Promise<string[]> {
    const { uid, namespace } = ctx.run;
    if (!uid || !namespace) return [];
    const { items } = await this.client.list(RESOURCES.jobs, namespace, {
      labelSelector: `${RUN_UID_LABEL}=${uid}`,
    });
    const mine = items
      .filter((j) => j.metadata.annotations?.[METRIC_NAME_ANNOTATION] === metricName)
      .sort(
        (a, b) =>
          (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
          jobIndex(a.metadata.name) - jobIndex(b.metadata.name),
      );
    const doomed = mine.slice(0, Math.max(0, mine.length - limit)).map((j) => j.metadata.name);
    for (const name of doomed)
      await this.client.delete(RESOURCES.jobs, namespace, name, { propagationPolicy: 'Background' });
    return doomed;
  }

  // -----------------------------------------------------------------------------------------------

  /** √(age·pollMs), between pollMs and maxPollMs: 1 s at first, 2 s after 4 s, 5 s after 25 s… */
  private nextPoll(measurement: Measurement, now: number): number {
    const started = startedMs(measurement);
    const age = started === undefined ? 0 : Math.max(0, now - started);
    return Math.min(this.maxPollMs, Math.max(this.pollMs, Math.round(Math.sqrt(age * this.pollMs))));
  }

  private error(metric: Metric, ctx: MeasureContext, message: string): Observation {
    return { metric: metric.name, phase: 'Error', message: mask(message, ctx) };
  }
}

/** The measurement number at the end of a Job name (0 if none). */
function jobIndex(name: string): number {
  const n = Number(name.slice(name.lastIndexOf('.') + 1));
  return Number.isInteger(n) ? n : 0;
}

/** `job ns/name: <what> failed (<code> <reason>): <the API's message>`. */
function apiFailure(ref: string, what: string, e: unknown): string {
  if (!(e instanceof KubeApiError))
    return `job ${ref}: ${what} failed: ${(e as Error)?.message ?? String(e)}`;
  // The client's message starts with the request line; the API's own text follows it.
  const detail = e.message.replace(/^[A-Z]+ \S+: (\d{3} \S* ?)?/, '');
  const why = e.code === 0 ? 'API server unreachable' : `${e.code} ${e.reason}`;
  return `job ${ref}: ${what} failed (${why}): ${detail}`;
}

/** Hides the run's resolved secret values (an API error may quote the spec they were put into). */
function mask(text: string, ctx: MeasureContext): string {
  let out = text;
  for (const s of Object.values(ctx.argValues ?? {})) if (s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** The Kubernetes platform's `job` provider. */
export function kubeJobProvider(o: KubeJobOptions): KubeJobProvider {
  return new KubeJobProvider(o);
}
