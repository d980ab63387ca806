// Writes the CRDs from the kinds' schemas into manifests/crds/ (for kubectl) and charts/vireo/crds/
// (Helm installs only a chart's own crds/ folder). A test checks both committed copies are current.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdYaml } from '../src/cli/commands/crds.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const crds = crdYaml();
for (const rel of ['manifests/crds', 'charts/vireo/crds']) {
  const dir = path.join(root, rel);
  mkdirSync(dir, { recursive: true });
  // Removes files of kinds that no longer exist.
  for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) rmSync(path.join(dir, f));
  for (const c of crds) writeFileSync(path.join(dir, c.file), c.text);
  console.log(`wrote ${crds.length} CRDs to ${path.relative(process.cwd(), dir) || '.'}`);
}
