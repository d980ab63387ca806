import { type Diagnostic, formatDiagnostic } from '../../api/diagnostics.js';
import { checkObjects, type LoadedObject, loadManifests } from '../../api/load.js';
import { findTraps } from '../../lint/traps.js';
import { ExitCode, type Io, type OutputFormat, readSources, renderData } from '../io.js';

export interface LintOptions {
  files: string[];
  output: OutputFormat;
  strict?: boolean;
  scrapeInterval?: number;
}

export interface LintResult {
  objects: LoadedObject[];
  diagnostics: Diagnostic[];
}

/** Loads and checks manifests: YAML, schema, semantic rules, then the traps. */
export function lintSources(
  sources: { name: string; text: string }[],
  opts: { scrapeInterval?: number } = {},
): LintResult {
  const objects: LoadedObject[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const src of sources) {
    const r = loadManifests(src.text, src.name);
    objects.push(...r.objects);
    diagnostics.push(...r.diagnostics);
  }
  diagnostics.push(...checkObjects(objects));
  // Traps are advice about objects that are otherwise valid.
  const broken = new Set(
    diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.object}`),
  );
  const clean = objects.filter((o) => !broken.has(`${o.file}:${objectName(o)}`));
  diagnostics.push(
    ...placeTraps(
      clean,
      objects.map((o) => o.object),
      opts.scrapeInterval,
    ),
  );
  return { objects, diagnostics: sortDiagnostics(diagnostics) };
}

const objectName = (o: LoadedObject) => `${o.object.kind}/${o.object.metadata?.name ?? '(no name)'}`;

function placeTraps(
  clean: LoadedObject[],
  all: LoadedObject['object'][],
  scrapeInterval?: number,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const lo of clean) {
    const found = findTraps(
      [lo.object],
      scrapeInterval ? { scrapeIntervalSeconds: scrapeInterval } : {},
      all,
    );
    for (const d of found) {
      const at = lo.locate(d.path);
      out.push({ ...d, file: lo.file, line: at.line, column: at.column, object: objectName(lo) });
    }
  }
  return out;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      (a.file ?? '').localeCompare(b.file ?? '') ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

export function runLint(opts: LintOptions, io: Io): number {
  const sources = readSources(opts.files, io.stdin);
  const { objects, diagnostics } = lintSources(
    sources,
    opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {},
  );
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  if (opts.output === 'text') {
    for (const d of diagnostics) io.out(`${formatDiagnostic(d)}\n`);
    const kinds = objects.filter((o) => o.category === 'vireo').length;
    io.out(
      `${sources.length} file(s), ${objects.length} object(s) (${kinds} Vireo kind(s)): ${errors} error(s), ${warnings} warning(s)\n`,
    );
  } else {
    io.out(
      renderData(
        {
          files: sources.map((s) => s.name),
          objects: objects.map((o) => ({
            file: o.file,
            line: o.line,
            apiVersion: o.object.apiVersion,
            kind: o.object.kind,
            name: o.object.metadata?.name,
            category: o.category,
          })),
          errors,
          warnings,
          diagnostics,
        },
        opts.output,
      ),
    );
  }
  return errors > 0 || (opts.strict && warnings > 0) ? ExitCode.findings : ExitCode.ok;
}
