import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { DeliveryFailureType, MAX_RETRY_AFTER_MS, MIN_RETRY_AFTER_MS, parseRetryAfter } from '../domain/delivery-outcome';
import { COLLECTIONS } from '../store/collection-names';
import { DEFAULT_SMS_MESSAGE_TEMPLATE } from '../templates/defaults';
import { templateContext, type TemplateEngine } from '../templates/engine';
import type { ChannelAttempt, ChannelAttemptResult, ChannelSender } from './channel-sender';
import { permanent } from './channel-outcomes';
import { BlockedDestinationError, InvalidDestinationError, TransportError, type HttpTransport } from './http-transport';

/** The Twilio-compatible API settings (SMS_API_URL, SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM). */
export interface SmsSettings {
  apiUrl: string | undefined;
  accountSid: string | undefined;
  authToken: string | undefined;
  from: string | undefined;
}

export interface SmsChannelDeps {
  db: Db;
  transport: HttpTransport;
  engine: TemplateEngine;
  settings: SmsSettings;
}

/** Twilio's limit for one message body. */
export const SMS_MAX_LENGTH = 1600;
const SUMMARY_MAX_CHARS = 2048;
const E164 = /^\+[1-9]\d{7,14}$/;

/**
 * Progress of one number within one round (a workflow run) of a delivery, kept on the
 * webhook_deliveries document as `sms_progress.<run>.<number>`:
 * - sending: claimed, the request is (or was) in flight;
 * - sent: the provider accepted it (2xx), never sent again in this round;
 * - retry: the provider certainly did not take it (429, 5xx, or the request never left:
 *   connection refused, DNS, TLS, a timeout waiting for a connection): the next attempt
 *   sends it;
 * - failed: the provider refused it for good (4xx);
 * - unknown: the request may have reached the provider (timeout, reset, or an attempt
 *   that ended without recording its result): not re-sent, since a text cannot be
 *   unsent; the delivery fails and says so.
 */
export type SmsNumberState = 'sending' | 'sent' | 'retry' | 'failed' | 'unknown';

export interface SmsNumberProgress {
  state: SmsNumberState;
  attempt: number;
  at: Date;
  status_code?: number | null;
  /** Provider message sid (SM…) when it was sent. */
  sid?: string | null;
  error?: string | null;
  detail?: string | null;
  retry_after_ms?: number | null;
}

interface SmsConfigs {
  phone_numbers?: unknown;
  message_template?: unknown;
}

/**
 * SMS through a Twilio-compatible REST API: `POST {SMS_API_URL}/2010-04-01/Accounts/
 * {SID}/Messages.json`, Basic auth SID:token, form fields To, From, Body; one message per
 * number, all numbers of an attempt in parallel, through the SSRF-guarded transport.
 *
 * Idempotency: before sending to a number the attempt claims it in MongoDB (a
 * conditional update), and records what the provider answered afterwards; a retry sends
 * only the numbers in state `retry` (see SmsNumberState), so no retry texts a number
 * twice. Progress is per workflow run: a redelivery (a new run) sends again.
 *
 * Outcome: every number sent → delivered; any number to retry → retry (after the
 * longest Retry-After of a 429); otherwise (some refused or unknown) → permanent.
 * The attempt's response excerpt is a per-number summary.
 */
export function createSmsChannel(deps: SmsChannelDeps): ChannelSender {
  const deliveries = deps.db.collection(COLLECTIONS.deliveries);

  return {
    async send(attempt: ChannelAttempt): Promise<ChannelAttemptResult> {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const { apiUrl, accountSid, authToken, from } = deps.settings;
      const missing = [
        ['SMS_API_URL', apiUrl],
        ['SMS_ACCOUNT_SID', accountSid],
        ['SMS_AUTH_TOKEN', authToken],
        ['SMS_FROM', from],
      ]
        .filter(([, value]) => !value)
        .map(([name]) => name);
      if (missing.length > 0 || !apiUrl || !accountSid || !authToken || !from) {
        return permanent(
          DeliveryFailureType.InvalidConfiguration,
          'sms_not_configured',
          `SMS channel cannot send: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set on the worker`,
        );
      }
      const configs = attempt.channel.configs as SmsConfigs;
      const numbers = [...new Set(Array.isArray(configs.phone_numbers) ? configs.phone_numbers.filter((n): n is string => typeof n === 'string') : [])];
      if (numbers.length === 0) {
        return permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_configuration', 'SMS channel has no phone_numbers');
      }
      const invalid = numbers.filter((number) => !E164.test(number));
      if (invalid.length > 0) {
        return permanent(
          DeliveryFailureType.InvalidConfiguration,
          'invalid_configuration',
          `SMS channel has phone numbers not in E.164 form: ${invalid.join(', ')}`,
        );
      }

      let body: string;
      try {
        const source = typeof configs.message_template === 'string' ? configs.message_template : DEFAULT_SMS_MESSAGE_TEMPLATE;
        body = truncateSms(deps.engine.renderText('message_template', source, templateContext(attempt.event, attempt.webhook)));
      } catch (error) {
        return permanent(DeliveryFailureType.TemplateRenderFailed, 'template_render_failed', (error as Error).message);
      }
      if (body.trim() === '') {
        return permanent(DeliveryFailureType.TemplateRenderFailed, 'template_render_failed', 'message_template rendered an empty message');
      }

      const round = roundKey(attempt.runId);
      const pathOf = (number: string) => `sms_progress.${round}.${number}`;
      await ensureDeliveryRecord(deliveries, attempt);
      const known = await readProgress(deliveries, attempt.deliveryId, round);

      const url = `${apiUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
      const headers = {
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      };
      let stop: ChannelAttemptResult | undefined;
      const statuses: number[] = [];

      const settle = async (number: string, progress: SmsNumberProgress) => {
        await deliveries.updateOne({ _id: attempt.deliveryId as never }, { $set: { [pathOf(number)]: progress, updated_at: new Date() } });
        return progress;
      };

      const handle = async (number: string): Promise<SmsNumberProgress> => {
        const previous = known[number];
        if (previous?.state === 'sent' || previous?.state === 'failed' || previous?.state === 'unknown') return previous;
        if (previous?.state === 'sending') {
          // An earlier attempt claimed the number and ended without recording the answer.
          return settle(number, {
            ...previous,
            state: 'unknown',
            error: 'outcome_unknown',
            detail: `attempt ${previous.attempt} ended without recording the provider's answer`,
          });
        }
        const claimed = await deliveries.updateOne(
          {
            _id: attempt.deliveryId as never,
            $or: [{ [pathOf(number)]: { $exists: false } }, { [`${pathOf(number)}.state`]: 'retry' }],
          },
          { $set: { [pathOf(number)]: { state: 'sending', attempt: attempt.attempt, at: attempt.now } } },
        );
        if (claimed.matchedCount === 0) {
          // Someone else holds it (an overlapping attempt): report what is stored, never send.
          const now = await readProgress(deliveries, attempt.deliveryId, round);
          return now[number] ?? { state: 'unknown', attempt: attempt.attempt, at: attempt.now, error: 'outcome_unknown', detail: 'claimed elsewhere' };
        }
        const base = { attempt: attempt.attempt, at: attempt.now };
        try {
          const result = await deps.transport.send({
            url,
            headers,
            body: new URLSearchParams({ To: number, From: from, Body: body }).toString(),
            timeoutMs: attempt.attemptTimeoutMs,
          });
          statuses.push(result.status);
          const answer = parseProviderAnswer(result.responseExcerpt);
          const status = result.status;
          if (status >= 200 && status <= 299) {
            return settle(number, { ...base, state: 'sent', status_code: status, sid: answer.sid ?? null, error: null, detail: answer.status ?? null });
          }
          const detail = answer.message ? `${answer.code ? `${answer.code} ` : ''}${answer.message}` : result.responseExcerpt.slice(0, 200);
          if (status === 429 || status === 503) {
            const afterMs = parseRetryAfter(result.headers['retry-after'], attempt.now);
            return settle(number, {
              ...base,
              state: 'retry',
              status_code: status,
              error: `http_${status}`,
              detail,
              retry_after_ms: afterMs === undefined ? null : Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, afterMs)),
            });
          }
          if (status >= 400 && status <= 499 && status !== 408) {
            return settle(number, { ...base, state: 'failed', status_code: status, error: `http_${status}`, detail });
          }
          return settle(number, { ...base, state: 'retry', status_code: status, error: `http_${status}`, detail });
        } catch (error) {
          if (error instanceof BlockedDestinationError || error instanceof InvalidDestinationError) {
            // Refused before anything left: nothing was sent.
            stop ??=
              error instanceof BlockedDestinationError
                ? permanent(DeliveryFailureType.DestinationBlocked, 'destination_blocked', `SMS_API_URL: ${error.message}`)
                : permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_destination', `SMS_API_URL: ${error.message}`);
            return settle(number, { ...base, state: 'retry', status_code: null, error: 'not_sent', detail: error.message });
          }
          if (error instanceof TransportError) {
            // Safe to send again only if the request never left (no connection, DNS, TLS,
            // or a timeout while waiting for a connection).
            return settle(number, {
              ...base,
              state: error.requestSent ? 'unknown' : 'retry',
              status_code: null,
              error: error.code,
              detail: error.message,
            });
          }
          // A bug: leave the claim (it reads as unknown on the next attempt) and let the activity record it.
          throw error;
        }
      };

      const results = await Promise.all(numbers.map(async (number) => [number, await handle(number)] as const));
      const facts = {
        durationMs: elapsed(),
        statusCode: statuses.length > 0 && statuses.every((s) => s === statuses[0]) ? statuses[0]! : null,
        responseExcerpt: summarize(results).slice(0, SUMMARY_MAX_CHARS),
      };
      if (stop) return { ...stop, ...facts };

      const retrying = results.filter(([, p]) => p.state === 'retry');
      const sent = results.filter(([, p]) => p.state === 'sent');
      const unknown = results.filter(([, p]) => p.state === 'unknown');
      const failed = results.filter(([, p]) => p.state === 'failed');
      const counts = `${sent.length} of ${results.length} sent`;
      if (retrying.length > 0) {
        const afterMs = Math.max(0, ...retrying.map(([, p]) => p.retry_after_ms ?? 0));
        return {
          kind: 'retry',
          ...(afterMs > 0 ? { afterMs } : {}),
          error: retrying[0]![1].error ?? 'sms_retry',
          errorMessage: `SMS: ${counts}, ${retrying.length} to retry (${retrying.map(([n, p]) => `${n} ${p.error}`).join(', ')})`,
          ...facts,
        };
      }
      if (sent.length === results.length) return { kind: 'delivered', ...facts };
      const problems = [
        ...failed.map(([n, p]) => `${n} refused (${p.error}${p.detail ? `: ${p.detail}` : ''})`),
        ...unknown.map(([n, p]) => `${n} outcome unknown (${p.error}), not re-sent`),
      ];
      return {
        kind: 'permanent',
        failureType: DeliveryFailureType.PermanentFailure,
        error: unknown.length > 0 ? 'sms_outcome_unknown' : 'sms_refused',
        errorMessage: `SMS: ${counts}; ${problems.join('; ')}`.slice(0, SUMMARY_MAX_CHARS),
        ...facts,
      };
    },
  };
}

/**
 * Cuts a message to the provider's limit (UTF-16 code units, as the provider counts),
 * ending with "…", never between the two halves of a surrogate pair.
 */
export function truncateSms(text: string, max = SMS_MAX_LENGTH): string {
  if (text.length <= max) return text;
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

function roundKey(runId: string | null): string {
  return runId ? runId.replace(/[^A-Za-z0-9_-]/g, '_') : 'default';
}

type DeliveriesCollection = ReturnType<Db['collection']>;

/**
 * The delivery record exists before the first number is claimed, with the same fields
 * the attempt log creates it with, so claims never race an upsert.
 */
async function ensureDeliveryRecord(deliveries: DeliveriesCollection, attempt: ChannelAttempt): Promise<void> {
  await deliveries.updateOne(
    { _id: attempt.deliveryId as never },
    {
      $setOnInsert: {
        event_id: attempt.event._id,
        webhook_id: attempt.webhook._id,
        organization_id: attempt.event.organization_id,
        event_type: attempt.event.event_type,
        channel_index: attempt.channelIndex,
        channel: attempt.channel.channel,
        status: 'pending',
        attempts: [],
        attempt_count: 0,
        next_retry_at: null,
        delivered_at: null,
        created_at: attempt.now,
        updated_at: attempt.now,
      },
    },
    { upsert: true },
  );
}

async function readProgress(deliveries: DeliveriesCollection, deliveryId: string, round: string): Promise<Record<string, SmsNumberProgress>> {
  const doc = await deliveries.findOne({ _id: deliveryId as never }, { projection: { [`sms_progress.${round}`]: 1 } });
  const progress = (doc as { sms_progress?: Record<string, Record<string, SmsNumberProgress>> } | null)?.sms_progress?.[round];
  return progress ?? {};
}

interface ProviderAnswer {
  sid?: string;
  status?: string;
  code?: number;
  message?: string;
}

/** Twilio answers JSON; the excerpt may be cut short, so fields are also picked out by pattern. */
function parseProviderAnswer(excerpt: string): ProviderAnswer {
  try {
    const parsed = JSON.parse(excerpt) as Record<string, unknown>;
    return {
      ...(typeof parsed.sid === 'string' ? { sid: parsed.sid } : {}),
      ...(typeof parsed.status === 'string' ? { status: parsed.status } : {}),
      ...(typeof parsed.code === 'number' ? { code: parsed.code } : {}),
      ...(typeof parsed.message === 'string' ? { message: parsed.message.slice(0, 200) } : {}),
    };
  } catch {
    const sid = /"sid"\s*:\s*"([A-Za-z0-9]+)"/.exec(excerpt)?.[1];
    const code = /"code"\s*:\s*(\d+)/.exec(excerpt)?.[1];
    const message = /"message"\s*:\s*"([^"]{1,200})/.exec(excerpt)?.[1];
    return {
      ...(sid ? { sid } : {}),
      ...(code ? { code: Number(code) } : {}),
      ...(message ? { message } : {}),
    };
  }
}

function summarize(results: ReadonlyArray<readonly [string, SmsNumberProgress]>): string {
  return results
    .map(([number, p]) => {
      switch (p.state) {
        case 'sent':
          return `${number}: sent${p.sid ? ` ${p.sid}` : ''} (attempt ${p.attempt})`;
        case 'failed':
          return `${number}: refused HTTP ${p.status_code}${p.detail ? ` ${p.detail}` : ''}`;
        case 'retry':
          return `${number}: to retry, ${p.status_code ? `HTTP ${p.status_code}` : p.error}${p.detail ? ` ${p.detail}` : ''}`;
        case 'unknown':
          return `${number}: outcome unknown (${p.error}), not re-sent`;
        case 'sending':
          return `${number}: sending`;
      }
    })
    .join('\n');
}
