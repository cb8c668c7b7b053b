import type { TargetRetry } from '../src/domain/delivery-plan';

/** The delay Temporal's RetryPolicy will wait after attempt `attempt` (1-based) fails. */
export function nextRetryDelayMs(retry: TargetRetry, attempt: number): number {
  const exponential = retry.initialIntervalMs * Math.pow(retry.backoffCoefficient, Math.max(0, attempt - 1));
  return Math.min(retry.maximumIntervalMs, exponential);
}
