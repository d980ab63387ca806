import { formatDiagnostic } from '../../api/diagnostics.js';
import type { LoadedObject } from '../../api/load.js';
import { ExitCode, type Io, readSources, UsageError } from '../io.js';
import { lintSources } from './lint.js';

export const isRelease = (o: LoadedObject): boolean =>
  (o.object.apiVersion === 'argoproj.io/v1alpha1' && o.object.kind === 'Rollout') ||
  (o.object.apiVersion === 'flagger.app/v1beta1' && o.object.kind === 'Canary');

/**
 * Read and lint `files`, then pick the Rollouts and Canaries (the one named `name`, if given).
 * Lint errors are printed and returned as the exit code: a command never works on a broken manifest.
 */
export function lintedReleases(
  files: string[],
  io: Io,
  verb: string,
  name?: string,
): { objects: LoadedObject[]; chosen: LoadedObject[] } | number {
  const { objects, diagnostics } = lintSources(readSources(files, io.stdin));
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    for (const d of errors) io.err(`${formatDiagnostic(d)}\n`);
    io.err(`cannot ${verb}: ${errors.length} error(s); run vireo lint for details\n`);
    return ExitCode.findings;
  }
  const releases = objects.filter(isRelease);
  const chosen = name ? releases.filter((o) => o.object.metadata?.name === name) : releases;
  if (chosen.length === 0)
    throw new UsageError(
      name
        ? `no Rollout or Canary named ${name} in the given files (found: ${releases.map((r) => r.object.metadata?.name).join(', ') || 'none'})`
        : 'no Rollout or Canary in the given files',
    );
  return { objects, chosen };
}
