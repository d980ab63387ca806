/**
 * Argo Rollouts `EvaluateResult` (`utils/evaluate/evaluate.go`): the phase of one measurement from
 * the provider's raw result and the metric's successCondition / failureCondition.
 *
 * - neither condition set → Successful (whatever the result);
 * - only successCondition: true → Successful, false → Failed;
 * - only failureCondition: true → Failed, false → Successful;
 * - both: failure true → Failed (even when success is also true), success true → Successful,
 *   neither → Inconclusive;
 * - an expression that does not compile, does not run or is not boolean → Error, with the message.
 *   As upstream, successCondition is evaluated first and an error there skips failureCondition.
 */
import type { Metric } from '../../api/argo/analysis.js';
import { evaluateCondition } from '../../expr/index.js';

export type MeasurementOutcome = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

export interface EvaluatedResult {
  phase: MeasurementOutcome;
  /** Set for Error: the expression error. */
  message?: string;
}

export function evaluateResult(
  result: unknown,
  metric: Pick<Metric, 'successCondition' | 'failureCondition'>,
): EvaluatedResult {
  const success = metric.successCondition ?? '';
  const failure = metric.failureCondition ?? '';
  let successTrue = false;
  let failureTrue = false;
  try {
    if (success !== '') successTrue = evaluateCondition(success, result);
    if (failure !== '') failureTrue = evaluateCondition(failure, result);
  } catch (err) {
    return { phase: 'Error', message: err instanceof Error ? err.message : String(err) };
  }
  if (success === '' && failure === '') return { phase: 'Successful' };
  if (success !== '' && failure === '') failureTrue = !successTrue;
  if (success === '' && failure !== '') successTrue = !failureTrue;
  if (failureTrue) return { phase: 'Failed' };
  if (!successTrue) return { phase: 'Inconclusive' };
  return { phase: 'Successful' };
}
