/**
 * Go's `time.ParseDuration`, which Argo (DurationString) and Flagger (interval, timeout) use:
 * a sequence of decimal numbers with units ns, us (µs), ms, s, m, h, e.g. `1m30s`, `1.5h`, `-2s`;
 * "0" alone is allowed. Written here because no npm package follows Go's grammar exactly.
 */
const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds, or undefined when `text` is not a Go duration. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (unitMs[m[2] as string] as number);
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/**
 * Argo's pause duration: an integer is seconds; a string is a Go duration, or digits meaning seconds
 * (Argo's `DurationString` for pause accepts "10" as 10s).
 */
export function parseIntOrDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value * 1000 : undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  return parseGoDuration(value);
}

/** `90000` → `1m30s`; whole seconds and larger, as Go prints them (no trailing zero units). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  let out = '';
  if (h) out += `${h}h`;
  if (h || m) out += `${m}m`;
  out += `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  return (neg ? '-' : '') + out;
}
