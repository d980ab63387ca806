/**
 * Metric checks as Argo Rollouts and Flagger perform them.
 */

import { ExprError } from './errors.js';
import { compileInternal, type EvaluateOptions } from './evaluator.js';
import { typeName } from './values.js';

/**
 * Argo Rollouts' EvalCondition: runs a successCondition / failureCondition with `result` bound to
 * the measurement and Argo's helpers (asInt, asFloat, isNaN, isInf, isNil, default) available.
 * A non-boolean outcome is a 'type' ExprError, as Argo reports "expected bool, but got …".
 */
export function evaluateCondition(
  expression: string,
  result: unknown,
  options: EvaluateOptions = {},
): boolean {
  const compiled = compileInternal(expression, { ...options, argoHelpers: true });
  const { value } = compiled.runRaw({ result }, options);
  if (typeof value !== 'boolean') {
    throw new ExprError(
      'type',
      `condition must evaluate to a boolean, got ${typeName(value)}`,
      1,
      expression,
    );
  }
  return value;
}

/**
 * Flagger's thresholdRange check: the metric fails when `min` is set and value < min, or `max` is
 * set and value > max; the bounds themselves pass. A NaN value fails as soon as any bound is set
 * (Flagger's plain comparisons would let NaN through, which is never what a canary wants).
 */
export function evaluateThresholdRange(
  value: number,
  range: { min?: number | null; max?: number | null },
): boolean {
  const hasMin = typeof range.min === 'number';
  const hasMax = typeof range.max === 'number';
  if (!hasMin && !hasMax) return true;
  if (Number.isNaN(value)) return false;
  if (hasMin && value < (range.min as number)) return false;
  if (hasMax && value > (range.max as number)) return false;
  return true;
}
