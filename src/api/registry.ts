/** Every kind Vireo understands, looked up by apiVersion and kind. */
import { argoKinds } from './argo/index.js';
import { flaggerKinds } from './flagger/index.js';
import { apiVersionOf, type KindDefinition } from './kind.js';

export const allKinds: readonly KindDefinition[] = [...argoKinds, ...flaggerKinds];

const byKey = new Map(allKinds.map((k) => [`${apiVersionOf(k)}/${k.kind}`, k]));

export function findKind(apiVersion: string, kind: string): KindDefinition | undefined {
  return byKey.get(`${apiVersion}/${kind}`);
}

/** Kinds whose group matches but whose version does not, for a helpful error. */
export function kindsInGroup(group: string, kind: string): KindDefinition[] {
  return allKinds.filter((k) => k.group === group && k.kind === kind);
}
