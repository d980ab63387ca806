/**
 * Text renderings of a release view for the CLI, after `kubectl argo rollouts get rollout`,
 * `list rollouts` and `status`. Pure: the clock comes in as `now`, nothing is read or written.
 */
import type {
  AnalysisRunView,
  MetricRunView,
  PodView,
  ReleasePhase,
  ReleaseView,
  VersionView,
} from '../../views/release.js';

export interface TreeOptions {
  /** The moment ages are measured from. */
  now: Date;
  /** Add ANSI colours (default false). */
  color?: boolean;
  /** Cut lines longer than this many columns, ending them with `…`. */
  width?: number;
}

export interface ListOptions {
  now: Date;
}

/** Events shown under the tree (the newest ones). */
export const EVENTS_SHOWN = 5;
/** Measurements shown per metric (the newest ones, oldest first). */
export const MEASUREMENTS_SHOWN = 3;

// Icons as Argo's plugin prints them; each is one column wide.
const icon = {
  ok: '✔',
  bad: '✖',
  warning: '⚠',
  unknown: '?',
  progressing: '◌',
  waiting: '◷',
  paused: '॥',
  neutral: '•',
  rollout: '⟳',
  revision: '#',
  replicaSet: '⧉',
  pod: '□',
  analysis: 'α',
} as const;

type Tone = 'green' | 'yellow' | 'red' | 'blue';
const sgr: Record<Tone, number> = { green: 32, yellow: 33, red: 31, blue: 94 };
const ESC = '\u001b';

interface Status {
  icon: string;
  text: string;
  tone?: Tone;
}

const toneOfIcon: Partial<Record<string, Tone>> = {
  [icon.ok]: 'green',
  [icon.bad]: 'red',
  [icon.warning]: 'red',
  [icon.unknown]: 'yellow',
  [icon.progressing]: 'yellow',
  [icon.waiting]: 'yellow',
  [icon.paused]: 'yellow',
};

const status = (i: string, text: string): Status => ({ icon: i, text, tone: toneOfIcon[i] });

const phaseIcons: Record<ReleasePhase, string> = {
  Healthy: icon.ok,
  Progressing: icon.progressing,
  Paused: icon.paused,
  Degraded: icon.bad,
  Unknown: icon.warning,
};

const releaseStatus = (p: ReleasePhase): Status => {
  const s = status(phaseIcons[p], p);
  return p === 'Unknown' ? { ...s, tone: undefined } : s;
};

const versionIcons: Record<VersionView['status'], string> = {
  Healthy: icon.ok,
  Progressing: icon.progressing,
  Degraded: icon.bad,
  ScaledDown: icon.neutral,
};

/** Analysis run, metric and measurement phases. */
function analysisIcon(phase: string): string {
  switch (phase) {
    case 'Successful':
      return icon.ok;
    case 'Failed':
      return icon.bad;
    case 'Error':
      return icon.warning;
    case 'Inconclusive':
      return icon.unknown;
    case 'Running':
      return icon.progressing;
    case 'Pending':
      return icon.waiting;
    default:
      return icon.neutral;
  }
}

/** Pod status text as kubectl shows it: the waiting reason, else the phase. */
function podStatus(p: PodView): Status {
  const text = p.phase !== 'Running' && p.reason ? p.reason : p.phase;
  if (text === 'Running') return status(p.ready ? icon.ok : icon.progressing, text);
  if (text.startsWith('Init:')) return status(icon.progressing, text);
  if (text.startsWith('Signal:') || text.startsWith('ExitCode:')) return status(icon.bad, text);
  if (text.endsWith('Error') || text.startsWith('Err')) return status(icon.warning, text);
  switch (text) {
    case 'Pending':
    case 'Waiting':
    case 'Terminating':
    case 'ContainerCreating':
      return status(icon.progressing, text);
    case 'Completed':
      return status(icon.ok, text);
    case 'Failed':
    case 'InvalidImageName':
    case 'CrashLoopBackOff':
    case 'OOMKilled':
      return status(icon.bad, text);
    case 'ImagePullBackOff':
    case 'RegistryUnavailable':
      return status(icon.warning, text);
    case 'Unknown':
      return status(icon.unknown, text);
    default:
      return status(icon.neutral, text);
  }
}

const roleTones: Partial<Record<string, Tone>> = {
  stable: 'green',
  active: 'green',
  primary: 'green',
  canary: 'yellow',
  preview: 'blue',
};

// ---- time ----

/** kubectl's age format (apimachinery `duration.HumanDuration`): 45s, 3m12s, 15m, 2h5m, 20h, 3d4h, 30d, 2y10d. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Age of an RFC 3339 time at `now`, as kubectl prints it; `-` when unknown, `<invalid>` when unreadable. */
export function ageText(fromIso: string | undefined, now: Date): string {
  if (fromIso === undefined || fromIso === '') return '-';
  const t = Date.parse(fromIso);
  if (Number.isNaN(t)) return '<invalid>';
  return humanDuration(now.getTime() - t);
}

// ---- display width ----

/** ANSI SGR sequences and single code points, in order. */
function tokens(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === ESC && s[i + 1] === '[') {
      const end = s.indexOf('m', i);
      if (end >= 0) {
        out.push(s.slice(i, end + 1));
        i = end + 1;
        continue;
      }
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    out.push(ch);
    i += ch.length;
  }
  return out;
}

const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u;

/** East Asian wide and fullwidth ranges, and emoji: two columns. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function tokenWidth(t: string): number {
  if (t.startsWith(ESC)) return 0;
  const cp = t.codePointAt(0)!;
  if (zeroWidth.test(t) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  return isWide(cp) ? 2 : 1;
}

/** Terminal columns `s` takes: ANSI codes take none, wide characters two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const t of tokens(s)) w += tokenWidth(t);
  return w;
}

export function stripAnsi(s: string): string {
  return tokens(s)
    .filter((t) => !t.startsWith(ESC))
    .join('');
}

const pad = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));

/** Cut `s` to `width` columns, ending with `…` (and a colour reset if it had colours). */
function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  let out = '';
  let used = 0;
  let colored = false;
  for (const t of tokens(s)) {
    const w = tokenWidth(t);
    if (t.startsWith(ESC)) colored = true;
    else if (used + w > width - 1) break;
    out += t;
    used += w;
  }
  return `${out.replace(/ +$/, '')}…${colored ? `${ESC}[0m` : ''}`;
}

/** Columns padded to their widest cell, two spaces apart; trailing blanks dropped. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(c));
    });
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

// ---- tree ----

type Paint = (s: string, tone: Tone | undefined) => string;

const painter =
  (color: boolean): Paint =>
  (s, tone) =>
    color && tone ? `${ESC}[${sgr[tone]}m${s}${ESC}[0m` : s;

const showStatus = (s: Status, paint: Paint): string => paint(`${s.icon} ${s.text}`, s.tone);

function statusMessage(view: ReleaseView): string | undefined {
  if (view.message) return view.message;
  if (view.pauseReasons?.length) return view.pauseReasons.join(', ');
  return undefined;
}

function header(view: ReleaseView, now: Date, paint: Paint): string[] {
  const field = (label: string, value: string | number) => `${label.padEnd(17)}${value}`.trimEnd();
  const lines = [
    field('Name:', view.name),
    field('Namespace:', view.namespace),
    field('Status:', showStatus(releaseStatus(view.phase), paint)),
  ];
  let message = statusMessage(view);
  if (view.phase === 'Paused' && view.pauseEndsAt) {
    const left = Date.parse(view.pauseEndsAt) - now.getTime();
    const resumes = left > 0 ? `resumes in ${humanDuration(left)}` : 'resuming';
    message = message ? `${message} (${resumes})` : resumes;
  }
  if (message) lines.push(field('Message:', message));
  lines.push(field('Strategy:', view.strategy));
  if (view.strategy !== 'BlueGreen') {
    lines.push(field('  Step:', view.step ? `${view.step.index}/${view.step.count}` : '-'));
    lines.push(field('  SetWeight:', view.setWeight ?? '-'));
    lines.push(field('  ActualWeight:', view.actualWeight ?? '-'));
  }
  view.images.forEach((img, i) => {
    const roles = img.roles.map((r) => paint(r, roleTones[r])).join(', ');
    lines.push(field(i === 0 ? 'Images:' : '', roles ? `${img.image} (${roles})` : img.image));
  });
  const r = view.replicas;
  lines.push('Replicas:');
  lines.push(field('  Desired:', r.desired));
  lines.push(field('  Current:', r.current));
  lines.push(field('  Updated:', r.updated));
  lines.push(field('  Ready:', r.ready));
  lines.push(field('  Available:', r.available));
  return lines;
}

const branch = (last: boolean, indent: string) =>
  [`${indent}${last ? '└──' : '├──'}`, `${indent}${last ? '   ' : '│  '}`] as const;

function runCounts(run: AnalysisRunView, paint: Paint): string {
  const sum = (f: (m: MetricRunView) => number) => run.metrics.reduce((n, m) => n + f(m), 0);
  const parts: [string, number][] = [
    [icon.ok, sum((m) => m.successful)],
    [icon.bad, sum((m) => m.failed)],
    [icon.unknown, sum((m) => m.inconclusive)],
    [icon.warning, sum((m) => m.errors)],
  ];
  return parts
    .filter(([, n]) => n > 0)
    .map(([i, n]) => `${paint(i, toneOfIcon[i])} ${n}`)
    .join(',');
}

function podInfo(p: PodView): string {
  const info = [`ready:${p.ready ? 1 : 0}/1`];
  if (p.restarts > 0) info.push(`restarts:${p.restarts}`);
  if (p.port !== undefined) info.push(`port:${p.port}`);
  return info.join(',');
}

function treeRows(view: ReleaseView, now: Date, paint: Paint): string[][] {
  const rows: string[][] = [['NAME', 'KIND', 'STATUS', 'AGE', 'INFO']];
  const age = (iso?: string) => ageText(iso, now);
  const versionKind = view.dialect === 'flagger' ? 'Deployment' : 'ReplicaSet';
  rows.push([
    `${icon.rollout} ${view.name}`,
    view.kind,
    showStatus(releaseStatus(view.phase), paint),
    age(view.createdAt),
    '',
  ]);
  const revisions = [
    ...new Set([...view.versions.map((v) => v.revision), ...view.analysisRuns.map((a) => a.revision)]),
  ].sort((a, b) => b - a);
  revisions.forEach((rev, ri) => {
    const [revPrefix, revIndent] = branch(ri === revisions.length - 1, '');
    rows.push([`${revPrefix}${icon.revision} revision:${rev}`]);
    const versions = view.versions.filter((v) => v.revision === rev);
    const runs = view.analysisRuns.filter((a) => a.revision === rev);
    const total = versions.length + runs.length;
    versions.forEach((v, vi) => {
      const [prefix, indent] = branch(vi === total - 1, revIndent);
      rows.push([
        `${prefix}${icon.replicaSet} ${v.name}`,
        versionKind,
        showStatus(status(versionIcons[v.status], v.status), paint),
        age(v.createdAt),
        v.roles.map((r) => paint(r, roleTones[r])).join(','),
      ]);
      v.pods.forEach((p, pi) => {
        const [podPrefix] = branch(pi === v.pods.length - 1, indent);
        rows.push([
          `${podPrefix}${icon.pod} ${p.name}`,
          'Pod',
          showStatus(podStatus(p), paint),
          age(p.startedAt),
          podInfo(p),
        ]);
      });
    });
    runs.forEach((run, ai) => {
      const [prefix] = branch(versions.length + ai === total - 1, revIndent);
      rows.push([
        `${prefix}${icon.analysis} ${run.name}`,
        'AnalysisRun',
        showStatus(status(analysisIcon(run.phase), run.phase), paint),
        age(run.startedAt),
        runCounts(run, paint),
      ]);
    });
  });
  return rows;
}

/** The newest run of each kind that has metrics. */
function runsToDetail(view: ReleaseView): AnalysisRunView[] {
  const seen = new Set<string>();
  const out: AnalysisRunView[] = [];
  for (const run of view.analysisRuns) {
    if (run.metrics.length === 0 || seen.has(run.kind)) continue;
    seen.add(run.kind);
    out.push(run);
  }
  return out;
}

function analysisSection(run: AnalysisRunView, paint: Paint): string[] {
  const lines = [
    `Analysis: ${run.name} (${run.kind}, revision ${run.revision})  ${showStatus(status(analysisIcon(run.phase), run.phase), paint)}`,
  ];
  if (run.message) lines.push(`  Message: ${run.message}`);
  const rows = [['METRIC', 'STATUS', 'CONDITION', 'LAST MEASUREMENTS']];
  for (const m of run.metrics) {
    const last = m.measurements.slice(-MEASUREMENTS_SHOWN).map((x) => {
      const i = analysisIcon(x.phase);
      return `${x.value ?? '-'} ${paint(i, toneOfIcon[i])}`;
    });
    rows.push([
      m.name,
      showStatus(status(analysisIcon(m.phase), m.phase), paint),
      m.condition ?? '-',
      last.join(', ') || '-',
    ]);
  }
  for (const l of table(rows)) lines.push(`  ${l}`);
  return lines;
}

function eventsSection(view: ReleaseView, now: Date, paint: Paint): string[] {
  const rows = [['AGE', 'TYPE', 'REASON', 'MESSAGE']];
  for (const e of view.events.slice(-EVENTS_SHOWN))
    rows.push([
      ageText(e.at, now),
      e.type === 'Warning' ? paint(e.type, 'yellow') : e.type,
      e.reason,
      e.message.replace(/\s*\n\s*/g, ' '),
    ]);
  return ['Events:', ...table(rows).map((l) => `  ${l}`)];
}

/** `kubectl argo rollouts get rollout`: header, object tree, analysis details, recent events. */
export function renderReleaseTree(view: ReleaseView, options: TreeOptions): string {
  const paint = painter(options.color === true);
  const lines = [...header(view, options.now, paint), '', ...table(treeRows(view, options.now, paint))];
  for (const run of runsToDetail(view)) lines.push('', ...analysisSection(run, paint));
  if (view.events.length > 0) lines.push('', ...eventsSection(view, options.now, paint));
  const width = options.width;
  const out = width !== undefined && width > 0 ? lines.map((l) => truncate(l, width)) : lines;
  return `${out.join('\n')}\n`;
}

/** `kubectl argo rollouts list rollouts`; names carry the namespace when the views span several. */
export function renderReleaseList(views: ReleaseView[], options: ListOptions): string {
  if (views.length === 0) return 'No rollouts found.\n';
  const several = new Set(views.map((v) => v.namespace)).size > 1;
  const sorted = [...views].sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
  const rows = [
    ['NAME', 'KIND', 'STRATEGY', 'STATUS', 'STEP', 'SET-WEIGHT', 'READ-WEIGHT', 'READY', 'AVAILABLE', 'AGE'],
  ];
  for (const v of sorted)
    rows.push([
      several ? `${v.namespace}/${v.name}` : v.name,
      v.kind,
      v.strategy,
      v.phase,
      v.step ? `${v.step.index}/${v.step.count}` : '-',
      v.setWeight === undefined ? '-' : String(v.setWeight),
      v.actualWeight === undefined ? '-' : String(v.actualWeight),
      `${v.replicas.ready}/${v.replicas.desired}`,
      String(v.replicas.available),
      ageText(v.createdAt, options.now),
    ]);
  return `${table(rows).join('\n')}\n`;
}

/** `kubectl argo rollouts status`: the phase, then ` - ` and the message when there is one (no newline). */
export function renderStatusLine(view: ReleaseView): string {
  const message = statusMessage(view)?.replace(/\s*\n\s*/g, ' ');
  return message ? `${view.phase} - ${message}` : view.phase;
}
