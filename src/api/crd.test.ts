import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { crdYaml } from '../cli/commands/crds.js';
import { prune } from '../testing/prune.js';
import { hasShared, repoDir, sharedDir } from '../testing/upstream.js';
import { toCrd } from './crd.js';
import { apiVersionOf } from './kind.js';
import { checkObjects, loadManifests } from './load.js';
import { allKinds } from './registry.js';
import { structuralViolations } from './structural.js';

describe('generated CRDs', () => {
  it.each(allKinds.map((k) => [`${k.plural}.${k.group}`, k] as const))('%s is structural', (_name, kind) => {
    const crd = toCrd(kind) as {
      spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    };
    expect(structuralViolations(crd.spec.versions[0]!.schema.openAPIV3Schema)).toEqual([]);
  });

  it('carry no Vireo-only keys and no defaults', () => {
    const text = JSON.stringify(allKinds.map(toCrd));
    expect(text).not.toMatch(/"x-vireo-/);
    expect(text).not.toMatch(/"default":/);
  });

  it('Rollout has the status and scale subresources, short name and printer columns', () => {
    const ro = allKinds.find((k) => k.kind === 'Rollout')!;
    const crd = toCrd(ro) as {
      metadata: { name: string };
      spec: {
        names: { shortNames: string[] };
        versions: { subresources: Record<string, unknown>; additionalPrinterColumns: unknown[] }[];
      };
    };
    expect(crd.metadata.name).toBe('rollouts.argoproj.io');
    expect(crd.spec.names.shortNames).toContain('ro');
    expect(crd.spec.versions[0]!.subresources.status).toEqual({});
    expect(crd.spec.versions[0]!.subresources.scale).toMatchObject({
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.HPAReplicas',
    });
    expect(crd.spec.versions[0]!.additionalPrinterColumns.length).toBeGreaterThan(0);
  });

  // Helm reads CRDs only from the chart's own crds/ folder, so the generator writes both copies.
  it.each(['manifests/crds', 'charts/vireo/crds'])('%s/ is up to date (run npm run gen:crds)', (rel) => {
    const dir = path.join(repoDir, rel);
    const committed = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const generated = crdYaml();
    expect(committed).toEqual(generated.map((g) => g.file).sort());
    for (const g of generated) expect(readFileSync(path.join(dir, g.file), 'utf8'), g.file).toBe(g.text);
  });
});

const exampleFiles = [
  ...readdirSync(path.join(repoDir, 'examples')).map((f) => path.join(repoDir, 'examples', f)),
  ...(hasShared
    ? readdirSync(path.join(sharedDir, 'examples')).map((f) => path.join(sharedDir, 'examples', f))
    : []),
].filter((f) => f.endsWith('.yaml'));

describe('examples round-trip through the schemas and CRDs', () => {
  it.each(exampleFiles.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    const { objects, diagnostics } = loadManifests(readFileSync(file, 'utf8'), file);
    expect(diagnostics).toEqual([]);
    expect(checkObjects(objects).filter((d) => d.severity === 'error')).toEqual([]);
    const vireo = objects.filter((o) => o.category === 'vireo');
    expect(vireo.length).toBeGreaterThan(0);
    for (const o of vireo) {
      const crd = toCrd(o.definition!) as { spec: { versions: { schema: { openAPIV3Schema: object } }[] } };
      // What the API server would store is exactly what was written...
      expect(prune(crd.spec.versions[0]!.schema.openAPIV3Schema, o.object)).toEqual(o.object);
      // ...and the YAML/JSON round trip changes nothing.
      expect(parse(JSON.stringify(o.object))).toEqual(o.object);
      expect(apiVersionOf(o.definition!)).toBe(o.object.apiVersion);
    }
  });
});
