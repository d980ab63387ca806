/**
 * A local Argo release as the CLI and dashboard show it (src/views/release.ts): the record's versions
 * and runs, with what the supervisor's processes do, go through the shared builder
 * (src/views/argo-rollout.ts), which Kubernetes uses too.
 */
import { argoRolloutView } from '../../../views/argo-rollout.js';
import type { PodView, ReleaseView } from '../../../views/release.js';
import type { VersionStatus } from '../processes/supervisor.js';
import type { ArgoReleaseRecord } from './record.js';

export { versionStatus } from '../../../views/argo-rollout.js';

export function argoReleaseView(
  rec: ArgoReleaseRecord,
  status: (hash: string) => VersionStatus | undefined,
  podHash: string,
): ReleaseView {
  return argoRolloutView({
    rollout: rec.rollout,
    podHash,
    versions: Object.values(rec.versions).map((v) => {
      const s = status(v.hash);
      return {
        hash: v.hash,
        revision: v.revision,
        template: v.template,
        replicas: v.replicas,
        createdAt: v.createdAt,
        ...(s ? { observed: s } : {}),
        pods: podViews(s),
      };
    }),
    runs: Object.entries(rec.runs).map(([name, rr]) => ({ name, ...rr })),
    events: rec.events,
    routerWeight: rec.router.weight,
  });
}

/** A version's replica processes as the views show them. */
export function podViews(s: VersionStatus | undefined): PodView[] {
  return (s?.pods ?? []).map((p) => ({
    name: p.name,
    phase: p.phase,
    ...(p.reason ? { reason: p.reason } : {}),
    ready: p.ready,
    restarts: p.restarts,
    ...(p.startedAt ? { startedAt: p.startedAt } : {}),
    ...(p.pid !== undefined ? { pid: p.pid } : {}),
    port: p.port,
  }));
}
