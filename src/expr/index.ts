/**
 * Safe evaluator for the expr-lang (github.com/expr-lang/expr v1.17) language used by Argo Rollouts'
 * AnalysisTemplate successCondition / failureCondition.
 *
 * - Values: integer literals are ints (JS bigint internally), every JS number from the environment is
 *   a float64 (as Argo's Prometheus results are); pass a bigint to hand in an int. Results come back
 *   as plain JS (ints as numbers, maps as objects, time / duration as ExprTime / ExprDuration).
 * - Safety: no eval, only own properties of plain objects and arrays are readable, functions in
 *   the environment are never called, and parse depth, expression length, evaluation steps, string
 *   and collection sizes are all bounded; `matches` runs on a linear-time RE2-style matcher.
 * - Like expr.Compile(condition, expr.Env(env)), each run first type-checks the expression against
 *   the environment (checker.ts), so `false and 1 + "a"` fails even though it would never run.
 * - Every failure is an ExprError with kind 'syntax' | 'type' | 'runtime' | 'limit' and a column.
 */

export { evaluateCondition, evaluateThresholdRange } from './conditions.js';
export { ExprError, type ExprErrorKind } from './errors.js';
export {
  type CompiledExpression,
  type CompileOptions,
  compile,
  type EvaluateOptions,
  evaluate,
  type RunOptions,
} from './evaluator.js';
export { ExprDuration, ExprTime } from './values.js';
