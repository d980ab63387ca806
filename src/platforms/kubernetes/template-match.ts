/**
 * Finding the ReplicaSet of a template whose hash does not say so (issue 6, `undo`). `vireo undo`
 * copies an old ReplicaSet's template into the Rollout; that template carries the API server's
 * defaults (imagePullPolicy, terminationMessagePath, dnsPolicy, ...), so it hashes differently from
 * the template the ReplicaSet was made from. Argo then compares the Rollout's template, defaulted, with
 * each ReplicaSet's template without the hash label, and reuses the ReplicaSet that matches. Vireo
 * does the same; the defaulted form comes from the real API server (a server-side dry-run create of
 * the ReplicaSet the controller would make, see rollouts.ts), never from a table of defaults kept here.
 * Pure.
 */
import { canonicalJson } from '../../api/argo/pod-template-hash.js';
import { HASH_LABEL } from './objects.js';

interface TemplateJson {
  metadata?: { labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** A pod template as canonical JSON, without the `rollouts-pod-template-hash` label. */
export function templateKey(template: unknown): string {
  const t = structuredClone((template ?? {}) as TemplateJson);
  const labels = t.metadata?.labels;
  if (labels && HASH_LABEL in labels) {
    delete labels[HASH_LABEL];
    if (Object.keys(labels).length === 0 && t.metadata) delete t.metadata.labels;
  }
  return canonicalJson(t);
}

interface ReplicaSetLike {
  metadata: { labels?: Record<string, string | undefined>; creationTimestamp?: string };
  spec?: unknown;
}

/**
 * The hash label of the first ReplicaSet (oldest first, as Argo looks) whose template equals
 * `defaulted` ignoring the hash label, or undefined.
 */
export function matchingReplicaSetHash(
  defaulted: unknown,
  replicaSets: readonly ReplicaSetLike[],
): string | undefined {
  const want = templateKey(defaulted);
  const oldestFirst = [...replicaSets].sort((a, b) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
  );
  for (const rs of oldestFirst) {
    const hash = rs.metadata.labels?.[HASH_LABEL];
    const template = (rs.spec as { template?: unknown } | undefined)?.template;
    if (hash && template !== undefined && templateKey(template) === want) return hash;
  }
  return undefined;
}
