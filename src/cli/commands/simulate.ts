import { formatReport, type ScenarioName, simulate } from '../../sim/simulate.js';
import { ExitCode, type Io, type OutputFormat, renderData, UsageError } from '../io.js';
import { lintedReleases } from './releases.js';

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
  promoteAfterMs?: number;
  /** Exit 1 unless the outcome is this one. */
  expect?: 'promoted' | 'aborted';
}

export function runSimulate(opts: SimulateCliOptions, io: Io): number {
  const picked = lintedReleases(opts.files, io, 'simulate', opts.name);
  if (typeof picked === 'number') return picked;
  const { objects, chosen } = picked;
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
        ...(opts.promoteAfterMs !== undefined ? { promoteAfterMs: opts.promoteAfterMs } : {}),
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
