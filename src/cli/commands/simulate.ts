import { formatDiagnostic } from '../../api/diagnostics.js';
import { formatReport, isCanary, isRollout, type ScenarioName, simulate } from '../../sim/simulate.js';
import { ExitCode, type Io, type OutputFormat, readSources, renderData, UsageError } from '../io.js';
import { lintSources } from './lint.js';

export interface SimulateCliOptions {
  files: string[];
  scenario: ScenarioName;
  seed: number;
  output: OutputFormat;
  name?: string;
  rps?: number;
  maxMs?: number;
  degradeAfterMs?: number;
  crashAfterMs?: number;
  /** Exit 1 unless the outcome is this one. */
  expect?: 'promoted' | 'aborted';
}

export function runSimulate(opts: SimulateCliOptions, io: Io): number {
  const sources = readSources(opts.files, io.stdin);
  const { objects, diagnostics } = lintSources(sources);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    for (const d of errors) io.err(`${formatDiagnostic(d)}\n`);
    io.err(`cannot simulate: ${errors.length} error(s); run vireo lint for details\n`);
    return ExitCode.findings;
  }
  const releases = objects.filter((o) => isRollout(o.object) || isCanary(o.object));
  const chosen = opts.name ? releases.filter((o) => o.object.metadata?.name === opts.name) : releases;
  if (chosen.length === 0)
    throw new UsageError(
      opts.name
        ? `no Rollout or Canary named ${opts.name} in the given files (found: ${releases.map((r) => r.object.metadata?.name).join(', ') || 'none'})`
        : 'no Rollout or Canary in the given files',
    );
  if (chosen.length > 1)
    throw new UsageError(
      `the files hold ${chosen.length} releases (${chosen.map((r) => r.object.metadata?.name).join(', ')}); pick one with --name`,
    );
  const release = chosen[0]?.object;
  if (!release) return ExitCode.usage;
  let report: ReturnType<typeof simulate>;
  try {
    report = simulate(
      release,
      objects.map((o) => o.object),
      {
        scenario: opts.scenario,
        seed: opts.seed,
        ...(opts.rps !== undefined ? { rps: opts.rps } : {}),
        ...(opts.maxMs !== undefined ? { maxMs: opts.maxMs } : {}),
        ...(opts.degradeAfterMs !== undefined ? { degradeAfterMs: opts.degradeAfterMs } : {}),
        ...(opts.crashAfterMs !== undefined ? { crashAfterMs: opts.crashAfterMs } : {}),
      },
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  io.out(opts.output === 'text' ? formatReport(report) : renderData(report, opts.output));
  if (opts.expect && report.outcome !== opts.expect) {
    io.err(`expected outcome ${opts.expect}, got ${report.outcome}: ${report.reason}\n`);
    return ExitCode.findings;
  }
  return ExitCode.ok;
}
