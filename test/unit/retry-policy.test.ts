import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  resolveRetryPolicy,
  retryPolicySchema,
  retrySchedule,
} from '../../src/domain/retry-policy';

function messages(input: unknown): string[] {
  const result = retryPolicySchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

describe('resolveRetryPolicy', () => {
  it('resolves the defaults to plain milliseconds', () => {
    expect(resolveRetryPolicy()).toEqual({
      initialIntervalMs: 5_000,
      backoffCoefficient: 4,
      maximumIntervalMs: 36_000_000,
      maximumAttempts: 0,
      expirationMs: 259_200_000,
    });
    expect(resolveRetryPolicy(null)).toEqual(resolveRetryPolicy({}));
  });

  it('overrides only the fields given', () => {
    expect(resolveRetryPolicy({ initial_interval: '30s', maximum_attempts: 5 })).toEqual({
      initialIntervalMs: 30_000,
      backoffCoefficient: 4,
      maximumIntervalMs: 36_000_000,
      maximumAttempts: 5,
      expirationMs: 259_200_000,
    });
  });

  it('produces a structured-clone-safe plain object', () => {
    const resolved = resolveRetryPolicy({ expiration: '1d' });
    expect(structuredClone(resolved)).toEqual(resolved);
    expect(Object.values(resolved).every((value) => typeof value === 'number')).toBe(true);
  });
});

describe('the default schedule', () => {
  it('is the documented one: 5s ×4 up to 10h, within 3 days', () => {
    const waits = retrySchedule(resolveRetryPolicy());
    expect(waits.slice(0, 7)).toEqual([5_000, 20_000, 80_000, 320_000, 1_280_000, 5_120_000, 20_480_000]);
    expect(waits.slice(7)).toEqual(Array(6).fill(36_000_000));
    // 14 attempts: the first plus 13 retries.
    expect(waits.length + 1).toBe(14);
    expect(waits.reduce((sum, wait) => sum + wait, 0)).toBeLessThanOrEqual(259_200_000);
  });

  it('stops at maximum_attempts', () => {
    expect(retrySchedule(resolveRetryPolicy({ maximum_attempts: 3 }))).toEqual([5_000, 20_000]);
    expect(retrySchedule(resolveRetryPolicy({ maximum_attempts: 1 }))).toEqual([]);
  });
});

describe('retryPolicySchema', () => {
  it('accepts a full valid policy and keeps the strings as written', () => {
    const input = {
      initial_interval: '10s',
      backoff_coefficient: 2,
      maximum_interval: '1h',
      maximum_attempts: 20,
      expiration: '1d',
    };
    expect(retryPolicySchema.parse(input)).toEqual(input);
  });

  it('accepts an empty policy and the defaults themselves', () => {
    expect(retryPolicySchema.safeParse({}).success).toBe(true);
    expect(retryPolicySchema.safeParse(DEFAULT_RETRY_POLICY).success).toBe(true);
  });

  it.each([
    [{ initial_interval: '500ms' }, /initial_interval must be between 1s and 1h/],
    [{ initial_interval: '2h', maximum_interval: '3h' }, /initial_interval must be between 1s and 1h/],
    [{ initial_interval: 'soon' }, /initial_interval: "soon" is not a duration/],
    [{ initial_interval: 5 }, /initial_interval must be a duration string/],
    [{ backoff_coefficient: 0.5 }, /backoff_coefficient must be at least 1/],
    [{ backoff_coefficient: 11 }, /backoff_coefficient must be at most 10/],
    [{ maximum_interval: '25h' }, /maximum_interval must be between 0s and 1d/],
    [{ initial_interval: '1m', maximum_interval: '30s' }, /maximum_interval \(30s\) must be at least initial_interval \(1m\)/],
    [{ maximum_attempts: -1 }, /maximum_attempts must be 0/],
    [{ maximum_attempts: 1001 }, /at most 1000/],
    [{ maximum_attempts: 2.5 }, /whole number/],
    [{ expiration: '30s' }, /expiration must be between 1m and 30d/],
    [{ expiration: '31d' }, /expiration must be between 1m and 30d/],
  ])('rejects %j', (input, message) => {
    expect(messages(input).join('\n')).toMatch(message);
  });

  it('checks maximum_interval against the default initial_interval and vice versa', () => {
    expect(messages({ maximum_interval: '2s' }).join('\n')).toMatch(/maximum_interval \(2s\) must be at least initial_interval \(5s, the default\)/);
    expect(messages({ initial_interval: '1h' })).toEqual([]);
  });

  it('accepts the bounds themselves', () => {
    expect(messages({ initial_interval: '1s', maximum_interval: '24h', backoff_coefficient: 1, maximum_attempts: 1000, expiration: '30d' })).toEqual([]);
    expect(messages({ initial_interval: '1h', backoff_coefficient: 10, maximum_attempts: 0, expiration: '1m' })).toEqual([]);
  });
});
