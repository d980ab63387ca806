import { describe, expect, it } from 'vitest';
import { evaluateResult } from './evaluate.js';

describe('evaluateResult (Argo EvaluateResult)', () => {
  const S = 'result >= 0.9';
  const F = 'result < 0.5';
  it.each([
    ['neither condition set', {}, 0.1, 'Successful'],
    ['only success, true', { successCondition: S }, 0.95, 'Successful'],
    ['only success, false', { successCondition: S }, 0.7, 'Failed'],
    ['only failure, true', { failureCondition: F }, 0.1, 'Failed'],
    ['only failure, false', { failureCondition: F }, 0.7, 'Successful'],
    ['both, failure true', { successCondition: S, failureCondition: F }, 0.1, 'Failed'],
    ['both, success true', { successCondition: S, failureCondition: F }, 0.95, 'Successful'],
    ['both, neither true', { successCondition: S, failureCondition: F }, 0.7, 'Inconclusive'],
    ['both true: failure wins', { successCondition: 'true', failureCondition: 'true' }, 1, 'Failed'],
    ['vector result with index', { successCondition: 'result[0] >= 0.9' }, [0.95], 'Successful'],
  ] as const)('%s', (_, metric, result, phase) => {
    expect(evaluateResult(result, metric)).toEqual({ phase });
  });

  it.each([
    ['syntax error', { successCondition: 'result >=' }],
    ['non-boolean', { successCondition: 'result + 1' }],
    ['error in failure condition', { failureCondition: 'result[5] > 1' }],
  ] as const)('%s → Error with the message', (_, metric) => {
    const out = evaluateResult([0.5], metric);
    expect(out.phase).toBe('Error');
    expect(out.message).toMatch(/error/);
  });
});
