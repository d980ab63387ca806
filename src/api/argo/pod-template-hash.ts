/**
 * The `rollouts-pod-template-hash` of a pod template. Argo hashes the template (plus a collision
 * count) with FNV-32a over Go's spew dump and encodes the decimal number with
 * `rand.SafeEncodeString`; the Go dump cannot be reproduced byte for byte in TypeScript, so Vireo
 * hashes a canonical JSON form (keys sorted) instead and keeps Argo's encoding, so hashes look like
 * Argo's (`6cf78c66c5`) and are stable across restarts and platforms. Equal templates give equal
 * hashes; an undo back to an old template finds the old version again.
 */

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alikes (0/o, 1/l). */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE[s.charCodeAt(i) % SAFE.length];
  return out;
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The hash of `template` (a PodTemplateSpec); `collisionCount` as Argo's status.collisionCount. */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalJson(template) + (collisionCount > 0 ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(text)));
}
