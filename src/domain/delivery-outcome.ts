/**
 * What one delivery attempt's result means for the retry loop. Workflow-safe: no
 * imports, and `now` is always passed in.
 */

/**
 * Failure types thrown as Temporal ApplicationFailure `type`s by the delivery activity.
 * Every type except DeliveryRetryableFailure is non-retryable.
 */
export const DeliveryFailureType = {
  /** The receiver or channel rejected the delivery for good (e.g. 4xx from an SMS/Slack API that will not change). */
  PermanentFailure: 'DeliveryPermanentFailure',
  /** The destination resolved to an address the SSRF guard refuses. */
  DestinationBlocked: 'DestinationBlocked',
  /** The receiver answered 410 Gone: the webhook gets disabled. */
  WebhookGone: 'WebhookGone',
  /** The webhook was deleted after the event was dispatched. */
  WebhookDeleted: 'WebhookDeleted',
  /** The webhook was paused (is_active=false) or disabled after the event was dispatched. */
  WebhookInactive: 'WebhookInactive',
  /** The stored channel configuration cannot be used (bad URL, missing SMTP/SMS settings…). */
  InvalidConfiguration: 'InvalidConfiguration',
  /** A payload/blocks/subject/body/message template failed to render for this event. */
  TemplateRenderFailed: 'TemplateRenderFailed',
  /** Anything worth trying again: non-2xx answers, timeouts, resets, DNS errors. */
  RetryableFailure: 'DeliveryRetryableFailure',
} as const;

export type DeliveryFailureType = (typeof DeliveryFailureType)[keyof typeof DeliveryFailureType];

export const ALL_DELIVERY_FAILURE_TYPES: readonly DeliveryFailureType[] = Object.values(DeliveryFailureType);

/** For RetryPolicy.nonRetryableErrorTypes. */
export const NON_RETRYABLE_DELIVERY_FAILURE_TYPES: readonly DeliveryFailureType[] = ALL_DELIVERY_FAILURE_TYPES.filter(
  (type) => type !== DeliveryFailureType.RetryableFailure,
);

/**
 * Final delivery status for a permanent failure type. Reasons that lie outside the
 * attempt itself (configuration, blocked destination, webhook gone from our side) end
 * as `canceled`; a receiver or render that fails this delivery ends as `failed`.
 */
export function finalStatusForFailure(type: DeliveryFailureType): 'failed' | 'canceled' {
  switch (type) {
    case DeliveryFailureType.DestinationBlocked:
    case DeliveryFailureType.WebhookDeleted:
    case DeliveryFailureType.WebhookInactive:
    case DeliveryFailureType.InvalidConfiguration:
      return 'canceled';
    case DeliveryFailureType.PermanentFailure:
    case DeliveryFailureType.WebhookGone:
    case DeliveryFailureType.TemplateRenderFailed:
    case DeliveryFailureType.RetryableFailure:
      return 'failed';
  }
}

/** Longest Retry-After we honour; a receiver asking for more gets this. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** Shortest Retry-After we honour, so "Retry-After: 0" cannot turn into a tight loop. */
export const MIN_RETRY_AFTER_MS = 1000;

export type HttpStatusOutcome =
  | { kind: 'delivered' }
  | { kind: 'gone' }
  | { kind: 'retry'; afterMs?: number };

const STATUSES_HONOURING_RETRY_AFTER: ReadonlySet<number> = new Set([429, 503]);

/**
 * 2xx → delivered; 410 → gone; 429/503 with a usable Retry-After → retry after it
 * (clamped to [MIN_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS]); anything else → retry on the
 * policy's own backoff (redirects are not followed, so 3xx retries too).
 */
export function classifyHttpStatus(
  status: number,
  retryAfterHeader: string | null | undefined,
  now: number | Date,
): HttpStatusOutcome {
  if (status >= 200 && status <= 299) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  if (STATUSES_HONOURING_RETRY_AFTER.has(status)) {
    const afterMs = parseRetryAfter(retryAfterHeader, now);
    if (afterMs !== undefined) {
      return { kind: 'retry', afterMs: Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, afterMs)) };
    }
  }
  return { kind: 'retry' };
}

const DELTA_SECONDS = /^\d+$/;
// RFC 9110 §5.6.7: IMF-fixdate, obsolete RFC 850 and asctime forms, all in GMT.
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parses a Retry-After header (delta-seconds or HTTP-date) into a non-negative delay in
 * milliseconds from `now`; undefined when absent or unparseable. A date in the past is 0.
 * Not clamped: callers apply their own bounds.
 */
export function parseRetryAfter(header: string | null | undefined, now: number | Date): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (value === '') return undefined;
  if (DELTA_SECONDS.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : Number.MAX_SAFE_INTEGER;
  }
  let timestamp: number;
  if (IMF_FIXDATE.test(value) || RFC850_DATE.test(value)) {
    timestamp = Date.parse(value);
  } else if (ASCTIME_DATE.test(value)) {
    // asctime carries no zone; it is GMT by definition, not local time.
    timestamp = Date.parse(`${value} GMT`);
  } else {
    return undefined;
  }
  if (Number.isNaN(timestamp)) return undefined;
  const nowMs = typeof now === 'number' ? now : now.getTime();
  return Math.max(0, timestamp - nowMs);
}
