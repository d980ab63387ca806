/**
 * Vireo must accept every field the upstream CRDs accept (../shared/crds): a user's existing YAML
 * works as it is. For each kind, every upstream property path must exist in Vireo's schema with the
 * same type, or be kept as written under a preserve-unknown-fields node.
 */
import { describe, expect, it } from 'vitest';
import { compareSchemas, hasShared, type JsonSchema, loadUpstreamCrds } from '../testing/upstream.js';
import { apiVersionOf } from './kind.js';
import { allKinds } from './registry.js';

const upstream = hasShared
  ? [...loadUpstreamCrds('argo-rollouts-crds.yaml'), ...loadUpstreamCrds('flagger-crds.yaml')]
  : [];

describe.skipIf(!hasShared)('compatibility with the upstream CRDs', () => {
  const expected = [
    'argoproj.io/v1alpha1/Rollout',
    'argoproj.io/v1alpha1/AnalysisTemplate',
    'argoproj.io/v1alpha1/ClusterAnalysisTemplate',
    'argoproj.io/v1alpha1/AnalysisRun',
    'argoproj.io/v1alpha1/Experiment',
    'flagger.app/v1beta1/Canary',
    'flagger.app/v1beta1/MetricTemplate',
    'flagger.app/v1beta1/AlertProvider',
  ];

  it.each(expected)('%s is modelled', (key) => {
    expect(allKinds.map((k) => `${apiVersionOf(k)}/${k.kind}`)).toContain(key);
  });

  for (const key of expected) {
    const [group, version, kind] = key.split('/') as [string, string, string];
    it(`${key} accepts every upstream field with the same type`, () => {
      const mine = allKinds.find((k) => k.group === group && k.version === version && k.kind === kind);
      const theirs = upstream.find((u) => u.group === group && u.version === version && u.kind === kind);
      expect(theirs, `upstream CRD for ${key}`).toBeDefined();
      expect(mine, `Vireo kind ${key}`).toBeDefined();
      const report = compareSchemas(theirs!.schema, mine!.schema as unknown as JsonSchema);
      expect(report.missing).toEqual([]);
      expect(report.typeMismatch).toEqual([]);
      expect(report.formatMismatch).toEqual([]);
      expect(report.checked).toBeGreaterThan(5);
    });
  }
});
