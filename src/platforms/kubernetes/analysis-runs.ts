/**
 * The Kubernetes adapter for AnalysisRuns: reconcileAnalysisRun (pure) decides; this reads the run
 * from the cache, resolves secret args, takes the measurements the engine asks for through the
 * metric providers and writes the status (Argo's AnalysisRun CRD has no status subresource, so the
 * whole object is replaced, with its resourceVersion).
 *
 * Measurements may take seconds (a web provider's timeout), so they run beside the work queue: while
 * one is in flight its run is not reconciled (the engine would ask again); when it ends, its
 * observations wait in memory for the next reconcile, and are dropped only once a status that holds
 * them is written. A crash loses them, and the engine asks again: a measurement is retaken, never
 * invented.
 */

import {
  carryOutMeasurements,
  type MeasureContext,
  type MetricProvider,
  type ProviderRegistry,
} from '../../analysis/provider.js';
import { KubeJobProvider } from '../../analysis/providers/kube-job.js';
import type { AnalysisRun } from '../../api/argo/analysis.js';
import { canonicalJson } from '../../api/argo/pod-template-hash.js';
import { isCompleted, type Observation, reconcileAnalysisRun } from '../../engine/analysis/engine.js';
import { isConflict, type KubeClient, type KubeJson, RESOURCES } from './client.js';
import type { EventInput } from './events.js';
import type { Informer } from './informer.js';

/** How long one round of measurements may take before its providers are told to stop. */
const MEASURE_TIMEOUT_MS = 60_000;

export interface AnalysisHost {
  client: KubeClient;
  runs: Informer<KubeJson>;
  providers: ProviderRegistry<MetricProvider>;
  now(): number;
  /**
   * The time measurements are taken at (default `now`): the backends (Prometheus) live on the wall
   * clock, which tests that speed up the engine's clock keep apart.
   */
  measureNow?(): number;
  event(obj: KubeJson, e: EventInput): Promise<void>;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Reconcile this run again (a measurement finished). */
  enqueue(namespace: string, name: string): void;
  signal?: AbortSignal;
}

export class AnalysisRunReconciler {
  private readonly inFlight = new Set<string>();
  private readonly pending = new Map<string, Observation[]>();

  constructor(private readonly host: AnalysisHost) {}

  /** Runs with a measurement in flight (for shutdown and tests). */
  busy(): number {
    return this.inFlight.size;
  }

  async reconcile(namespace: string, name: string): Promise<{ requeueAfterMs?: number }> {
    const key = `${namespace}/${name}`;
    const obj = this.host.runs.get(namespace, name);
    if (!obj || obj.metadata.deletionTimestamp) {
      this.pending.delete(key);
      return {};
    }
    if (this.inFlight.has(key)) return {};
    const run = obj as unknown as AnalysisRun & KubeJson;
    if (isCompleted(run.status?.phase) && !this.pending.has(key)) return {};
    const argValues = await this.secretArgs(run);
    const observations = this.pending.get(key) ?? [];
    const res = reconcileAnalysisRun(run, this.host.now(), observations, { argValues });
    if (canonicalJson(res.status) !== canonicalJson(run.status)) {
      if (this.host.signal?.aborted) throw new Error('leadership lost: not writing');
      try {
        // Argo's AnalysisRun CRD has no status subresource: the whole object is written.
        const written = await this.host.client.replace<KubeJson>(RESOURCES.analysisRuns, {
          ...(run as KubeJson),
          status: res.status,
        } as KubeJson);
        this.host.runs.assume(written);
      } catch (e) {
        if (isConflict(e)) throw Object.assign(e as Error, { retryable: true });
        throw e;
      }
      if (res.status.phase !== run.status?.phase && isCompleted(res.status.phase)) {
        const failed = res.status.phase !== 'Successful';
        this.host.log(failed ? 'warn' : 'info', `analysis ${res.status.phase}`, {
          namespace,
          analysisrun: name,
          message: res.status.message,
        });
        await this.host.event(obj, {
          type: failed ? 'Warning' : 'Normal',
          reason: `AnalysisRun${res.status.phase}`,
          message: `Analysis Completed. Result: ${res.status.phase}${res.status.message ? `: ${res.status.message}` : ''}`,
        });
      }
    }
    this.pending.delete(key);
    const work = res.actions.filter((a) => a.type !== 'requeue' && a.type !== 'garbageCollect');
    const requeue = res.actions.find((a) => a.type === 'requeue');
    const runRef = {
      name,
      namespace,
      ...(run.metadata.uid ? { uid: run.metadata.uid } : {}),
      // The status the actions were computed from: the job provider numbers its Jobs by it.
      metricResults: (res.status.metricResults ?? []).map((m) => ({
        name: m.name,
        ...(m.count !== undefined ? { count: m.count } : {}),
        ...(m.error !== undefined ? { error: m.error } : {}),
      })),
    };
    const job = this.host.providers.get('job');
    for (const a of res.actions)
      if (a.type === 'garbageCollect' && job instanceof KubeJobProvider)
        await job
          .garbageCollect(a.metric, a.limit, { now: this.measureNow(), run: runRef })
          .catch((e: unknown) =>
            this.host.log('warn', `deleting old Jobs failed: ${(e as Error).message}`, {
              namespace,
              analysisrun: name,
            }),
          );
    if (work.length > 0) {
      this.inFlight.add(key);
      void this.measure(key, runRef, work, argValues);
      return {};
    }
    return requeue?.type === 'requeue' && !isCompleted(res.status.phase)
      ? { requeueAfterMs: requeue.afterMs }
      : {};
  }

  private measureNow(): number {
    return this.host.measureNow ? this.host.measureNow() : this.host.now();
  }

  private async measure(
    key: string,
    run: MeasureContext['run'] & { namespace: string },
    work: Parameters<typeof carryOutMeasurements>[0],
    argValues: Record<string, string>,
  ): Promise<void> {
    const { name, namespace } = run;
    try {
      const observations = await carryOutMeasurements(work, this.host.providers, {
        now: this.measureNow(),
        run,
        argValues,
        signal: AbortSignal.any([
          AbortSignal.timeout(MEASURE_TIMEOUT_MS),
          ...(this.host.signal ? [this.host.signal] : []),
        ]),
      });
      for (const o of observations)
        this.host.log(o.phase === 'Error' ? 'warn' : 'debug', `measured ${o.metric}`, {
          namespace,
          analysisrun: name,
          phase: o.phase,
          ...(o.phase === 'Error' ? { error: o.message } : { value: o.value }),
        });
      this.pending.set(key, [...(this.pending.get(key) ?? []), ...observations]);
    } catch (e) {
      this.host.log('error', `measuring failed: ${(e as Error).message}`, { namespace, analysisrun: name });
    } finally {
      this.inFlight.delete(key);
      this.host.enqueue(namespace, name);
    }
  }

  /** Values of args taken from Secrets (`valueFrom.secretKeyRef`); read when measuring, never logged. */
  private async secretArgs(run: AnalysisRun & KubeJson): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const a of run.spec.args ?? []) {
      const ref = (a.valueFrom as { secretKeyRef?: { name?: string; key?: string } } | undefined)
        ?.secretKeyRef;
      if (!ref?.name || !ref.key) continue;
      const secret = await this.host.client.get<KubeJson & { data?: Record<string, string> }>(
        RESOURCES.secrets,
        run.metadata.namespace,
        ref.name,
      );
      const b64 = secret?.data?.[ref.key];
      if (b64 !== undefined) out[a.name] = Buffer.from(b64, 'base64').toString('utf8');
    }
    return out;
  }
}
