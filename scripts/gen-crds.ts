// Writes manifests/crds/ from the kinds' schemas (a test checks the committed files are current).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdYaml } from '../src/cli/commands/crds.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../manifests/crds');
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) rmSync(path.join(dir, f));
for (const c of crdYaml()) writeFileSync(path.join(dir, c.file), c.text);
console.log(`wrote ${crdYaml().length} CRDs to ${path.relative(process.cwd(), dir)}`);
