import { describe, expect, it } from 'vitest';
import {
  classifyHttpStatus,
  DeliveryFailureType,
  finalStatusForFailure,
  MAX_RETRY_AFTER_MS,
  MIN_RETRY_AFTER_MS,
  NON_RETRYABLE_DELIVERY_FAILURE_TYPES,
  parseRetryAfter,
} from '../../src/domain/delivery-outcome';

const NOW = Date.parse('2025-10-28T10:00:00Z');

describe('classifyHttpStatus', () => {
  it.each([200, 201, 202, 204, 299])('%d is delivered', (status) => {
    expect(classifyHttpStatus(status, null, NOW)).toEqual({ kind: 'delivered' });
  });

  it('410 is gone', () => {
    expect(classifyHttpStatus(410, '30', NOW)).toEqual({ kind: 'gone' });
  });

  it.each([300, 301, 302, 400, 401, 404, 408, 413, 500, 502, 504])('%d retries on the policy backoff', (status) => {
    expect(classifyHttpStatus(status, '30', NOW)).toEqual({ kind: 'retry' });
  });

  it.each([429, 503])('%d honours Retry-After in seconds', (status) => {
    expect(classifyHttpStatus(status, '30', NOW)).toEqual({ kind: 'retry', afterMs: 30_000 });
  });

  it('honours Retry-After as an HTTP date', () => {
    expect(classifyHttpStatus(429, 'Tue, 28 Oct 2025 10:02:00 GMT', NOW)).toEqual({ kind: 'retry', afterMs: 120_000 });
    expect(classifyHttpStatus(503, 'Tue, 28 Oct 2025 10:02:00 GMT', new Date(NOW))).toEqual({ kind: 'retry', afterMs: 120_000 });
  });

  it('caps a long Retry-After and floors a zero one', () => {
    expect(classifyHttpStatus(429, '86400', NOW)).toEqual({ kind: 'retry', afterMs: MAX_RETRY_AFTER_MS });
    expect(classifyHttpStatus(429, '0', NOW)).toEqual({ kind: 'retry', afterMs: MIN_RETRY_AFTER_MS });
    expect(classifyHttpStatus(503, 'Mon, 27 Oct 2025 10:00:00 GMT', NOW)).toEqual({ kind: 'retry', afterMs: MIN_RETRY_AFTER_MS });
  });

  it('falls back to the policy when Retry-After is absent or garbage', () => {
    expect(classifyHttpStatus(429, undefined, NOW)).toEqual({ kind: 'retry' });
    expect(classifyHttpStatus(503, 'soon', NOW)).toEqual({ kind: 'retry' });
    expect(classifyHttpStatus(503, '-5', NOW)).toEqual({ kind: 'retry' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 5 ', NOW)).toBe(5_000);
  });

  it('reads the three HTTP-date forms as GMT', () => {
    const now = Date.parse('1994-11-06T08:49:00Z');
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(37_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(37_000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(37_000);
  });

  it('reads asctime as GMT whatever the local time zone', () => {
    const originalTimeZone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const now = Date.parse('1994-11-06T08:49:00Z');
      expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(37_000);
    } finally {
      if (originalTimeZone === undefined) delete process.env.TZ;
      else process.env.TZ = originalTimeZone;
    }
  });

  it('returns 0 for a date in the past', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
  });

  it.each([null, undefined, '', 'later', '1.5', '-1', '12abc', '2025-10-28T10:02:00Z', '1x'])('rejects %j', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });
});

describe('failure types', () => {
  it('every type except the retryable one is non-retryable', () => {
    expect(NON_RETRYABLE_DELIVERY_FAILURE_TYPES).not.toContain(DeliveryFailureType.RetryableFailure);
    expect(NON_RETRYABLE_DELIVERY_FAILURE_TYPES).toEqual(
      expect.arrayContaining([
        'DeliveryPermanentFailure',
        'DestinationBlocked',
        'WebhookGone',
        'WebhookDeleted',
        'WebhookInactive',
        'InvalidConfiguration',
        'TemplateRenderFailed',
      ]),
    );
  });

  it('maps configuration-side failures to canceled and receiver-side ones to failed', () => {
    expect(finalStatusForFailure(DeliveryFailureType.DestinationBlocked)).toBe('canceled');
    expect(finalStatusForFailure(DeliveryFailureType.WebhookInactive)).toBe('canceled');
    expect(finalStatusForFailure(DeliveryFailureType.WebhookDeleted)).toBe('canceled');
    expect(finalStatusForFailure(DeliveryFailureType.InvalidConfiguration)).toBe('canceled');
    expect(finalStatusForFailure(DeliveryFailureType.WebhookGone)).toBe('failed');
    expect(finalStatusForFailure(DeliveryFailureType.PermanentFailure)).toBe('failed');
    expect(finalStatusForFailure(DeliveryFailureType.TemplateRenderFailed)).toBe('failed');
  });
});
