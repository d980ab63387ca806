import { earliestAbortText, formatSeconds, type Plan, planFor } from '../../plan/plan.js';
import { ExitCode, type Io, type OutputFormat, renderData } from '../io.js';
import { lintedReleases } from './releases.js';

export interface PlanOptions {
  files: string[];
  output: OutputFormat;
  /** Which Rollout or Canary, when the files hold several. */
  name?: string;
}

export function runPlan(opts: PlanOptions, io: Io): number {
  const picked = lintedReleases(opts.files, io, 'plan', opts.name);
  if (typeof picked === 'number') return picked;
  const { objects, chosen } = picked;
  const all = objects.map((o) => o.object);
  const plans = chosen.map((o) => planFor(o.object, all));
  if (opts.output !== 'text') {
    io.out(renderData(plans.length === 1 ? plans[0] : { items: plans }, opts.output));
  } else {
    io.out(plans.map(renderPlan).join('\n'));
  }
  return ExitCode.ok;
}

const timeOf = (s: number | null) => (s === null ? 'until promoted' : formatSeconds(s));

export function renderPlan(p: Plan): string {
  const lines: string[] = [];
  lines.push(
    `${p.object} (${p.dialect === 'argo' ? 'Argo Rollouts' : 'Flagger'} ${p.strategy}, ${p.replicas} replica(s))`,
  );
  const header = ['#', 'starts', 'weight', 'replicas', 'lasts', 'step', 'analyses'];
  const rows = p.steps.map((s) => [
    String(s.index),
    `+${formatSeconds(s.startsAt)}`,
    `${s.weight}%`,
    Object.entries(s.replicas)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
    timeOf(s.seconds),
    s.description,
    s.analyses.join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), ...rows.map(fmt));
  lines.push(`then: ${p.promotion.description} (weight ${p.promotion.weight}%)`);
  lines.push(
    `minimum time to full promotion: ${formatSeconds(p.minTotalSeconds)}${p.manualGates ? ` plus ${p.manualGates} manual gate(s)` : ''}`,
  );
  lines.push(`earliest automatic abort: ${earliestAbortText(p)}`);
  for (const a of p.abortPaths) lines.push(`  - at +${formatSeconds(a.atSeconds)}: ${a.source}: ${a.rule}`);
  for (const n of p.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
