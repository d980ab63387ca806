import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { crdFileName, toCrd } from '../../api/crd.js';
import { allKinds } from '../../api/registry.js';
import { ExitCode, type Io, type OutputFormat, renderData } from '../io.js';

/** The CRD manifests as YAML text, one document per kind. */
export function crdYaml(): { file: string; text: string }[] {
  return allKinds.map((k) => ({ file: crdFileName(k), text: stringify(toCrd(k), { lineWidth: 0 }) }));
}

export function runCrds(opts: { outDir?: string; output: OutputFormat }, io: Io): number {
  if (opts.outDir) {
    mkdirSync(opts.outDir, { recursive: true });
    for (const c of crdYaml()) writeFileSync(path.join(opts.outDir, c.file), c.text);
    io.err(`wrote ${allKinds.length} CRDs to ${opts.outDir}\n`);
    return ExitCode.ok;
  }
  if (opts.output === 'json')
    io.out(renderData({ apiVersion: 'v1', kind: 'List', items: allKinds.map(toCrd) }, 'json'));
  else
    io.out(
      crdYaml()
        .map((c) => `---\n${c.text}`)
        .join(''),
    );
  return ExitCode.ok;
}
