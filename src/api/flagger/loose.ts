/**
 * Safe readers over loosely shaped input. Rules and default functions see user YAML that may or may
 * not have passed schema validation, so every read checks the type and never throws.
 */

export type Loose = Record<string, unknown>;

export const isObj = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The object at `v[key]`, or undefined when it is absent or not a mapping. */
export const obj = (v: unknown, key: string): Loose | undefined => {
  if (!isObj(v)) return undefined;
  const x = v[key];
  return isObj(x) ? x : undefined;
};

/** The list at `v[key]`, or an empty list. */
export const arr = (v: unknown, key: string): unknown[] => {
  if (!isObj(v)) return [];
  const x = v[key];
  return Array.isArray(x) ? x : [];
};

/** The string at `v[key]`, or undefined when absent or not a string. */
export const str = (v: unknown, key: string): string | undefined => {
  if (!isObj(v)) return undefined;
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
};

/** The finite number at `v[key]`, or undefined when absent or not a number. */
export const num = (v: unknown, key: string): number | undefined => {
  if (!isObj(v)) return undefined;
  const x = v[key];
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
};

export const bool = (v: unknown, key: string): boolean => isObj(v) && v[key] === true;

/** True when `v[key]` is present (not undefined and not null, as Kubernetes treats null as absent). */
export const has = (v: unknown, key: string): boolean => isObj(v) && v[key] !== undefined && v[key] !== null;

/** True for a non-empty string after trimming. */
export const nonEmpty = (s: string | undefined): s is string => typeof s === 'string' && s.trim() !== '';

/** An absolute http(s) URL, as Flagger's HTTP clients need. */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}
