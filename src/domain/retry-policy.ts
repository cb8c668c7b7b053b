import { z } from 'zod';
import { formatDuration, InvalidDurationError, parseDuration } from './duration';

/**
 * A webhook's `retry_policy` (docs/architecture.md, Delivery rules): durations as strings in the API and in
 * MongoDB, resolved to plain millisecond numbers for Temporal's activity RetryPolicy.
 */

/**
 * Defaults, close to the Standard Webhooks schedule (5 s, 5 m, 30 m, 2 h, 5 h, 10 h, …
 * within 3 days). Waits before each retry, with initial 5 s × 4ⁿ capped at 10 h:
 *   5s, 20s, 1m20s, 5m20s, 21m20s, 1h25m20s, 5h41m20s, then 10h, 10h, …
 * Attempt 8 happens ≈ 7h35m after the first; later ones every 10 h, at ≈ 17.6 h, 27.6 h,
 * 37.6 h, 47.6 h, 57.6 h and 67.6 h: 14 attempts in all before the 3-day window closes.
 */
export const DEFAULT_RETRY_POLICY = {
  initial_interval: '5s',
  backoff_coefficient: 4,
  maximum_interval: '10h',
  maximum_attempts: 0,
  expiration: '3d',
} as const;

/** Plain numbers only, so it can cross into workflow code and Temporal's RetryPolicy. */
export interface ResolvedRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 = unlimited within expirationMs. */
  maximumAttempts: number;
  /** Total time allowed for all attempts (Temporal scheduleToCloseTimeout). */
  expirationMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const RETRY_POLICY_BOUNDS = {
  initialIntervalMs: { min: SECOND, max: HOUR },
  backoffCoefficient: { min: 1, max: 10 },
  maximumIntervalMs: { max: DAY },
  maximumAttempts: { min: 0, max: 1000 },
  expirationMs: { min: MINUTE, max: 30 * DAY },
} as const;

/** A duration string within [minMs, maxMs]; keeps the caller's spelling. */
function boundedDuration(field: string, minMs: number, maxMs: number) {
  return z.string({ error: `${field} must be a duration string such as "5s", "2h" or "3d"` }).superRefine((value, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: error instanceof InvalidDurationError ? `${field}: ${error.message}` : `${field} is not a duration`,
      });
      return;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `${field} must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}, got "${value}"`,
      });
    }
  });
}

const retryPolicyFields = z.object({
  initial_interval: boundedDuration(
    'initial_interval',
    RETRY_POLICY_BOUNDS.initialIntervalMs.min,
    RETRY_POLICY_BOUNDS.initialIntervalMs.max,
  ).optional(),
  backoff_coefficient: z
    .number({ error: 'backoff_coefficient must be a number' })
    .min(RETRY_POLICY_BOUNDS.backoffCoefficient.min, 'backoff_coefficient must be at least 1')
    .max(RETRY_POLICY_BOUNDS.backoffCoefficient.max, 'backoff_coefficient must be at most 10')
    .optional(),
  // Lower bound (≥ initial_interval) is checked on the whole policy below.
  maximum_interval: boundedDuration('maximum_interval', 0, RETRY_POLICY_BOUNDS.maximumIntervalMs.max).optional(),
  maximum_attempts: z
    .number({ error: 'maximum_attempts must be a whole number' })
    .int('maximum_attempts must be a whole number')
    .min(0, 'maximum_attempts must be 0 (unlimited within expiration) or more')
    .max(RETRY_POLICY_BOUNDS.maximumAttempts.max, 'maximum_attempts must be at most 1000')
    .optional(),
  expiration: boundedDuration('expiration', RETRY_POLICY_BOUNDS.expirationMs.min, RETRY_POLICY_BOUNDS.expirationMs.max).optional(),
});

/**
 * Any subset of the fields; omitted ones take DEFAULT_RETRY_POLICY. The cross-field rule
 * (maximum_interval ≥ initial_interval) is checked with defaults filled in.
 */
export const retryPolicySchema = retryPolicyFields.superRefine((policy, ctx) => {
  let resolved: ResolvedRetryPolicy;
  try {
    resolved = resolveRetryPolicy(policy);
  } catch {
    return; // field-level issues already reported
  }
  if (resolved.maximumIntervalMs < resolved.initialIntervalMs) {
    const maxSource = policy.maximum_interval ?? `${DEFAULT_RETRY_POLICY.maximum_interval}, the default`;
    const initialSource = policy.initial_interval ?? `${DEFAULT_RETRY_POLICY.initial_interval}, the default`;
    ctx.addIssue({
      code: 'custom',
      path: [policy.maximum_interval !== undefined ? 'maximum_interval' : 'initial_interval'],
      message: `maximum_interval (${maxSource}) must be at least initial_interval (${initialSource})`,
    });
  }
});

export type RetryPolicyInput = z.input<typeof retryPolicySchema>;
export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** Fills omitted fields from DEFAULT_RETRY_POLICY and converts durations to ms. */
export function resolveRetryPolicy(policy?: RetryPolicy | null): ResolvedRetryPolicy {
  const merged = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(policy ?? {}) };
  return {
    initialIntervalMs: parseDuration(merged.initial_interval),
    backoffCoefficient: merged.backoff_coefficient,
    maximumIntervalMs: parseDuration(merged.maximum_interval),
    maximumAttempts: merged.maximum_attempts,
    expirationMs: parseDuration(merged.expiration),
  };
}

/**
 * The waits between attempts a resolved policy produces (without Retry-After overrides),
 * stopping at maximumAttempts or when the next attempt would start after expiration.
 * Useful for documentation, tests and the API's explanations.
 */
export function retrySchedule(policy: ResolvedRetryPolicy, limit = 1000): number[] {
  const waits: number[] = [];
  let elapsed = 0;
  let wait = policy.initialIntervalMs;
  const attemptsAllowed = policy.maximumAttempts === 0 ? Number.POSITIVE_INFINITY : policy.maximumAttempts;
  while (waits.length + 1 < attemptsAllowed && waits.length < limit) {
    const capped = Math.min(wait, policy.maximumIntervalMs);
    if (elapsed + capped > policy.expirationMs) break;
    waits.push(capped);
    elapsed += capped;
    wait = capped * policy.backoffCoefficient;
  }
  return waits;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
