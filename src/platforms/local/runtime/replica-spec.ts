/**
 * What a replica process runs, from a pod template: its first container's command, args, env (values;
 * `secretKeyRef` resolved by the caller), workingDir, image and probes. Shared by both adapters.
 */
import type { ReplicaSpec } from '../processes/supervisor.js';
import type { PodTemplate } from './record.js';

export type SecretLookup = (name: string, key: string) => string | undefined;

export function replicaSpecOf(
  template: PodTemplate | undefined,
  secret: SecretLookup,
  minReadySeconds?: number,
): ReplicaSpec {
  const c = (template?.spec?.containers?.[0] ?? {}) as {
    image?: string;
    command?: string[];
    args?: string[];
    workingDir?: string;
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name?: string; key?: string } } }[];
    readinessProbe?: ReplicaSpec['readinessProbe'];
    livenessProbe?: ReplicaSpec['livenessProbe'];
  };
  const env = (c.env ?? []).map((e) => {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref?.name && ref.key) return { name: e.name, value: secret(ref.name, ref.key) ?? '' };
    return { name: e.name, ...(e.value !== undefined ? { value: e.value } : {}) };
  });
  return {
    image: c.image ?? '',
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    env,
    ...(c.readinessProbe ? { readinessProbe: c.readinessProbe } : {}),
    ...(c.livenessProbe ? { livenessProbe: c.livenessProbe } : {}),
    ...(minReadySeconds ? { minReadySeconds } : {}),
  };
}
