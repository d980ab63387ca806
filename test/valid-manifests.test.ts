/**
 * Valid Argo Rollouts and Flagger manifests (from both projects' documented shapes: every router,
 * provider, strategy and webhook kind, YAML merge keys, placeholders) must lint without errors:
 * a false error is the worst kind of linter bug, because it blocks YAML that works upstream.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../src/api/diagnostics.js';
import { lintSources } from '../src/cli/commands/lint.js';

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'valid');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

describe('valid manifests lint without errors', () => {
  it('has a corpus', () => expect(files.length).toBeGreaterThanOrEqual(10));

  it.each(files)('%s', (file) => {
    const text = readFileSync(path.join(dir, file), 'utf8');
    const { objects, diagnostics } = lintSources([{ name: file, text }]);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map(formatDiagnostic)).toEqual([]);
    expect(objects.some((o) => o.category === 'vireo')).toBe(true);
  });
});
