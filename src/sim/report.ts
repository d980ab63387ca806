/** What a simulation reports, and how it prints. */
import { formatDuration } from '../api/duration.js';

export type Outcome = 'promoted' | 'aborted' | 'undecided';

export interface TimelineEntry {
  /** Milliseconds since the release started (negative: before it, while the old version settles). */
  atMs: number;
  /** Who speaks: the rollout/canary controller, an analysis run, the platform, the router. */
  source: string;
  message: string;
}

export interface SimulationReport {
  kind: 'Rollout' | 'Canary';
  name: string;
  scenario: string;
  scenarioDescription: string;
  seed: number;
  outcome: Outcome;
  /** Why: the abort message, the promotion, or what the release is still waiting for. */
  reason: string;
  /** Time from the start of the release to the decision (promotion committed, or abort). */
  decidedAfterMs?: number;
  /** Simulated time covered after the release started. */
  simulatedMs: number;
  /** Users' requests served by the new version before the decision (or the end of the simulation). */
  newVersion: { requests: number; failed: number };
  /** Synthetic requests a load-test webhook sent to the new version (not users'), when any. */
  loadTest?: { requests: number; failed: number };
  /** Final phase as the controller wrote it (Argo status.phase / Flagger status.phase). */
  finalPhase: string;
  /** Assumptions the simulator made that a reader should know (e.g. how it read a query). */
  notes: string[];
  timeline: TimelineEntry[];
}

/** `m:ss` (or `h:mm:ss`) since the release started. */
export function clock(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const total = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${sign}${h}:${String(m).padStart(2, '0')}:${s}` : `${sign}${m}:${s}`;
}

export function formatReport(r: SimulationReport): string {
  const lines: string[] = [];
  lines.push(`${r.kind} ${r.name}, scenario ${r.scenario} (${r.scenarioDescription}), seed ${r.seed}`);
  lines.push('');
  const width = Math.max(...r.timeline.map((e) => e.source.length), 6);
  for (const e of r.timeline)
    lines.push(`${clock(e.atMs).padStart(8)}  ${e.source.padEnd(width)}  ${e.message}`);
  lines.push('');
  lines.push(`outcome:        ${r.outcome}`);
  lines.push(`reason:         ${r.reason}`);
  lines.push(
    `decided after:  ${r.decidedAfterMs === undefined ? `no decision in ${formatDuration(r.simulatedMs)}` : formatDuration(r.decidedAfterMs)}`,
  );
  lines.push(`final phase:    ${r.finalPhase || '(none)'}`);
  const pct =
    r.newVersion.requests > 0
      ? ` (${((100 * r.newVersion.failed) / r.newVersion.requests).toFixed(1)} %)`
      : '';
  lines.push(`new version:    ${r.newVersion.requests} requests, ${r.newVersion.failed} failed${pct}`);
  if (r.loadTest)
    lines.push(
      `load test:      ${r.loadTest.requests} requests, ${r.loadTest.failed} failed (not counted above)`,
    );
  for (const n of r.notes) lines.push(`note:           ${n}`);
  return `${lines.join('\n')}\n`;
}
