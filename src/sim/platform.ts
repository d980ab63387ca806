/**
 * A simulated platform: named workloads (ReplicaSets, Deployments) whose pods become ready a fixed
 * delay after they are created, and may crash a fixed time after becoming ready (CrashLoopBackOff:
 * they never come back in this model). Scaling down removes the newest pods first; a rolling update
 * (`replace`) keeps the old pods serving until the new ones are ready.
 */
import type { Role } from './traffic.js';

interface Pod {
  role: Role;
  readyAt: number;
  crashAt?: number;
  /** An old pod of a rolling update: serves until then, then is gone. */
  goneAt?: number;
}

interface Workload {
  role: Role;
  pods: Pod[];
}

export interface PlatformOptions {
  /** Time from pod creation to ready. */
  readyDelayMs: number;
  /** If set, pods of this role crash this long after becoming ready. */
  crash?: { role: Role; afterMs: number };
}

export class Platform {
  private readonly workloads = new Map<string, Workload>();

  constructor(private readonly opts: PlatformOptions) {}

  /** Set a workload's pod count (creating it, running `role`, if needed). */
  scale(name: string, replicas: number, now: number, role: Role): void {
    const w = this.workloads.get(name) ?? { role, pods: [] };
    this.workloads.set(name, w);
    w.pods = w.pods.filter((p) => p.goneAt === undefined || p.goneAt > now);
    const current = w.pods.filter((p) => p.goneAt === undefined);
    while (current.length > replicas) w.pods.splice(w.pods.indexOf(current.pop() as Pod), 1);
    for (let i = current.length; i < replicas; i++) w.pods.push(this.newPod(now, w.role));
  }

  /** Start pods already ready (the state before the simulation starts). */
  seed(name: string, replicas: number, role: Role): void {
    this.workloads.set(name, { role, pods: Array.from({ length: replicas }, () => ({ role, readyAt: -1 })) });
  }

  /**
   * Roll every pod to `role`: new pods start now, old ones keep serving until the new ones are ready
   * (a rolling update with surge, collapsed to one step).
   */
  replace(name: string, now: number, role: Role): void {
    const w = this.workloads.get(name) ?? { role, pods: [] };
    const current = w.pods.filter((p) => p.goneAt === undefined);
    const fresh = current.map(() => this.newPod(now, role));
    const handover = now + this.opts.readyDelayMs;
    for (const p of current) p.goneAt = handover;
    this.workloads.set(name, { role, pods: [...current, ...fresh] });
  }

  private newPod(now: number, role: Role): Pod {
    const readyAt = now + this.opts.readyDelayMs;
    const crash = this.opts.crash;
    return crash && crash.role === role
      ? { role, readyAt, crashAt: readyAt + crash.afterMs }
      : { role, readyAt };
  }

  private serving(p: Pod, now: number): boolean {
    return (
      p.readyAt <= now &&
      (p.crashAt === undefined || now < p.crashAt) &&
      (p.goneAt === undefined || now < p.goneAt)
    );
  }

  /** Remove a workload (it has no pods left when the controller deletes it). */
  delete(name: string): void {
    this.workloads.delete(name);
  }

  has(name: string): boolean {
    return this.workloads.has(name);
  }

  role(name: string): Role | undefined {
    return this.workloads.get(name)?.role;
  }

  /** Desired pods (spec.replicas). */
  replicas(name: string): number {
    return this.workloads.get(name)?.pods.filter((p) => p.goneAt === undefined).length ?? 0;
  }

  /** Ready pods of the current template (status.availableReplicas of a ReplicaSet). */
  available(name: string, now: number): number {
    const w = this.workloads.get(name);
    if (!w) return 0;
    return w.pods.filter((p) => p.goneAt === undefined && this.serving(p, now)).length;
  }

  /** Whether a rolling update is done: every desired pod ready, no old pod left. */
  rolledOut(name: string, now: number): boolean {
    const w = this.workloads.get(name);
    if (!w) return false;
    return w.pods.every((p) => (p.goneAt === undefined ? this.serving(p, now) : p.goneAt <= now));
  }

  /** Pods that answer requests, by the version they run. */
  servingByRole(name: string, now: number): Record<Role, number> {
    const out: Record<Role, number> = { old: 0, new: 0 };
    for (const p of this.workloads.get(name)?.pods ?? []) if (this.serving(p, now)) out[p.role]++;
    return out;
  }

  names(): string[] {
    return [...this.workloads.keys()];
  }

  /** Ready pods running `role`, over all workloads. */
  availableOf(role: Role, now: number): number {
    let n = 0;
    for (const name of this.workloads.keys()) n += this.servingByRole(name, now)[role];
    return n;
  }

  /** The next time a pod becomes ready or crashes, after `now`. */
  nextChange(now: number): number | undefined {
    let next: number | undefined;
    for (const w of this.workloads.values()) {
      for (const p of w.pods) {
        for (const t of [p.readyAt, p.crashAt, p.goneAt]) {
          if (t !== undefined && t > now && (next === undefined || t < next)) next = t;
        }
      }
    }
    return next;
  }
}
