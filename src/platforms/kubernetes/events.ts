/**
 * Kubernetes Events (core/v1) for the objects the controller acts on, with Argo's reasons and
 * source component, so `kubectl describe rollout` and `kubectl get events` read as they do with
 * Argo Rollouts. The same event repeated within ten minutes bumps `count` on the existing Event, as
 * client-go's correlator does, instead of writing a new one each reconcile.
 *
 * Recording never fails a reconcile: a failed write is logged and dropped (events are advisory).
 */
import type { KubeClient, KubeJson } from './client.js';
import { RESOURCES } from './client.js';

export interface EventInput {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const REPEAT_WINDOW_MS = 10 * 60_000;
/** Remembered events for aggregation, oldest dropped first. */
const MAX_REMEMBERED = 4096;

export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly opts: {
      component?: string;
      instance?: string;
      now: () => number;
      onError?: (e: unknown) => void;
      /** Called for every event recorded (metrics, logs). */
      onEvent?: (obj: KubeJson, e: EventInput) => void;
    },
  ) {}

  async record(obj: KubeJson, e: EventInput): Promise<void> {
    this.opts.onEvent?.(obj, e);
    const namespace = obj.metadata.namespace ?? 'default';
    const nowMs = this.opts.now();
    const now = new Date(nowMs).toISOString().replace(/\.\d+Z$/, 'Z');
    const key = `${obj.metadata.uid}\u0000${e.type}\u0000${e.reason}\u0000${e.message}`;
    const seen = this.recent.get(key);
    try {
      if (seen && nowMs - seen.at < REPEAT_WINDOW_MS) {
        seen.count += 1;
        seen.at = nowMs;
        await this.client.patch(RESOURCES.events, seen.namespace, seen.name, {
          count: seen.count,
          lastTimestamp: now,
        });
        return;
      }
      const created = await this.client.create(RESOURCES.events, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: '', generateName: `${obj.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: this.opts.component ?? 'rollouts-controller' },
        reportingComponent: this.opts.component ?? 'rollouts-controller',
        reportingInstance: this.opts.instance ?? '',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
      this.recent.set(key, { name: created.metadata.name, namespace, count: 1, at: nowMs });
      if (this.recent.size > MAX_REMEMBERED) {
        const oldest = this.recent.keys().next().value;
        if (oldest !== undefined) this.recent.delete(oldest);
      }
    } catch (err) {
      this.recent.delete(key);
      this.opts.onError?.(err);
    }
  }
}
