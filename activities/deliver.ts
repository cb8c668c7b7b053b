import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { AttemptsInFlight } from '../src/delivery/attempts-in-flight';
import type { ChannelSenders, ChannelAttemptResult } from '../src/delivery/channel-sender';
import type { DeliverResult, DeliveryTarget } from '../src/domain/delivery-plan';
import type { EndpointBreaker } from '../src/delivery/endpoint-breaker';
import type { EndpointLimiter, ReleaseSlot } from '../src/delivery/endpoint-limiter';
import { DeliveryFailureType, finalStatusForFailure } from '../src/domain/delivery-outcome';
import { openChannel, type Sealer } from '../src/store/channel-secrets';
import { deliveredInRun, recordAttempt, type DeliveryKey, type DeliveryStatus } from '../src/store/delivery-store';
import type { RecentEvents } from '../src/store/recent-events';
import type { ResolvedWebhooks } from '../src/store/resolved-webhooks';
import type { NotifyTurn } from '../src/temporal/delivery-turns';
import type { ReceiverWaits } from '../src/temporal/workflow-task-slots';
import { disableWebhook, findWebhook } from '../src/store/webhook-store';
import { nextRetryDelayMs } from './retry-schedule';

export interface DeliverInput {
  eventId: string;
  target: DeliveryTarget;
  /**
   * Attempts already made before this activity's own attempt 1: a local attempt (the
   * first, or one after a deferral) counts on from there, and so does a retrying activity.
   */
  attemptOffset?: number;
  /**
   * This attempt may have been made before in this run, its result lost: local
   * activities run again when their workflow task is rejected or its worker dies, and a
   * first round that failed as a whole may have delivered. Nothing is sent if the record
   * shows the delivery made by this run.
   */
  mayBeDelivered?: boolean;
}

export interface DeliverDeps {
  db: Db;
  box: Sealer;
  senders: ChannelSenders;
  now: () => Date;
  events: RecentEvents;
  resolved: ResolvedWebhooks;
  /** Makes this process's attempts at one delivery in one run one at a time. */
  inFlight: AttemptsInFlight;
  /** Bounds attempts in flight per (webhook, channel) in this process. */
  limiter?: EndpointLimiter;
  /** Tells a workflow that a slot of the endpoint its deferred attempt is queued for freed up. */
  notifyTurn?: NotifyTurn;
  /** Leaves an endpoint that keeps failing alone for a while. */
  breaker?: EndpointBreaker;
  /** Told while a local attempt waits on its receiver: the worker takes other tasks meanwhile. */
  receiverWaits?: ReceiverWaits;
  onAttempt?: (channel: string, outcome: ChannelAttemptResult['kind'], durationMs: number) => void;
}

/**
 * One attempt at one (webhook, channel). Loads what it needs by id, sends, records the
 * attempt, then returns (delivered, or deferred when its endpoint is at its concurrency
 * limit) or throws: a retryable ApplicationFailure whose `nextRetryDelay` is the webhook's
 * schedule, a receiver's Retry-After or the circuit breaker's wait, or a non-retryable
 * one for permanent outcomes. Failure messages carry ids and status codes
 * only: they are stored in workflow history, receiver URLs and bodies must not be.
 */
export function createDeliverActivity(deps: DeliverDeps) {
  const attempt = createDeliveryAttempt(deps);
  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    return attempt(input, Context.current().info.attempt + (input.attemptOffset ?? 0));
  };
}

/**
 * The deliver activity's body, for an attempt whose number the caller knows: inside
 * another activity (the first round), that activity's own attempt count says nothing.
 */
export function createDeliveryAttempt(deps: DeliverDeps) {
  return async function attempt(input: DeliverInput, attemptNumber: number): Promise<DeliverResult> {
    // One ticket per delivery and run: a deferred attempt that comes back keeps its place
    // in the endpoint's queue. A repeat of an attempt still out here (its round failed or
    // timed out meanwhile) waits a while for it, so that the record then says whether it
    // delivered; if it is still out, the repeat is deferred, having sent nothing.
    const run = Context.current().info.workflowExecution;
    const ticket = run ? `${run.runId}/${input.target.deliveryId}` : input.target.deliveryId;
    return deps.inFlight.oneAtATime(ticket, () => attemptOnce(deps, input, attemptNumber, ticket), {
      waitMs: EARLIER_ATTEMPT_WAIT_MS,
      result: () => ({
        outcome: 'deferred',
        attemptsUsed: attemptNumber - 1,
        retryInMs: Math.round(EARLIER_ATTEMPT_RETRY_MS * (0.5 + Math.random())),
      }),
    });
  };
}

/**
 * How long a repeat waits for an earlier attempt at its delivery still out in this
 * process: short enough to leave its own attempt its whole timeout within the activity's
 * (the attempt's timeout + 15 s).
 */
const EARLIER_ATTEMPT_WAIT_MS = 5_000;
/** About when a repeat that found the earlier attempt still out comes back. */
const EARLIER_ATTEMPT_RETRY_MS = 2_000;

/** One attempt, with no other attempt of its delivery and run out in this process. */
async function attemptOnce(deps: DeliverDeps, input: DeliverInput, attemptNumber: number, ticket: string): Promise<DeliverResult> {
  const { target } = input;
  const info = Context.current().info;
  const run = info.workflowExecution;
  const endpoint = `${target.webhookId}#${target.channelIndex}`;
  // The endpoint's limit is checked before anything is read: an attempt that finds it
  // full should cost next to nothing.
  const release = deps.limiter?.tryAcquire(endpoint, ticket);
  if (deps.limiter && !release) {
    const { notifyTurn } = deps;
    const turn = notifyTurn && run && { ticket, notify: () => notifyTurn(run, target.deliveryId) };
    const { waitMs, queued } = deps.limiter.defer(endpoint, target.attemptTimeoutMs, turn);
    if (queued) return { outcome: 'deferred', attemptsUsed: attemptNumber - 1, retryInMs: waitMs, queued };
    // Jitter, so attempts deferred together do not all come back in the same instant.
    const retryInMs = Math.round(waitMs * (0.9 + Math.random() * 0.2));
    return { outcome: 'deferred', attemptsUsed: attemptNumber - 1, retryInMs };
  }
  try {
    // An attempt made again because its result was lost (its workflow task was
    // rejected, its worker died) sends nothing if the one before it delivered.
    const repeated = input.mayBeDelivered || (!info.isLocal && info.attempt > 1);
    if (repeated && run && (await deliveredInRun(deps.db, target.deliveryId, run.runId))) return { outcome: 'delivered' };
    return await attemptDelivery(deps, input, attemptNumber, endpoint, release);
  } finally {
    release?.(false); // a no-op when the send released it already
  }
}

/** The attempt itself, holding a slot of its endpoint (`release` frees it once the receiver answered). */
async function attemptDelivery(
  deps: DeliverDeps,
  { eventId, target }: DeliverInput,
  attemptNumber: number,
  endpoint: string,
  release: ReleaseSlot | undefined,
): Promise<DeliverResult> {
  const info = Context.current().info;
  const where = `webhook ${target.webhookId}, channel #${target.channelIndex} (${target.channel})`;
  // A first attempt uses the webhook as the event was just resolved to; retries read it fresh.
  const resolvedWebhook = attemptNumber === 1 ? deps.resolved.get(eventId, target.webhookId) : undefined;
  const [event, webhook] = await Promise.all([
    deps.events.load(deps.db, eventId),
    resolvedWebhook ?? findWebhook(deps.db, target.webhookId),
  ]);
  if (!event) {
    throw ApplicationFailure.nonRetryable(`event ${eventId} not found`, DeliveryFailureType.InvalidConfiguration);
  }
  const key: DeliveryKey = {
    deliveryId: target.deliveryId,
    eventId,
    webhookId: target.webhookId,
    organizationId: event.organization_id,
    eventType: event.event_type,
    channelIndex: target.channelIndex,
    channel: target.channel,
  };
  const startedAt = deps.now();

  const record = async (result: ChannelAttemptResult, status: DeliveryStatus, nextRetryAt: Date | null = null) => {
    deps.onAttempt?.(target.channel, result.kind, result.durationMs);
    await recordAttempt(
      deps.db,
      key,
      {
        n: attemptNumber,
        at: startedAt,
        status_code: result.statusCode ?? null,
        duration_ms: Math.round(result.durationMs),
        error: result.kind === 'delivered' ? null : result.error,
        error_message: result.kind === 'delivered' ? null : result.errorMessage,
        response_excerpt: result.responseExcerpt ?? null,
        run: info.workflowExecution?.runId ?? null,
      },
      { status, nextRetryAt },
    );
  };
  const stop = async (failureType: DeliveryFailureType, error: string, message: string): Promise<never> => {
    await record({ kind: 'permanent', failureType, error, errorMessage: message, durationMs: 0 }, finalStatusForFailure(failureType));
    throw ApplicationFailure.nonRetryable(`${message} (${where})`, failureType);
  };

  if (!webhook) return stop(DeliveryFailureType.WebhookDeleted, 'webhook_deleted', 'webhook was deleted');
  if (!webhook.is_active) return stop(DeliveryFailureType.WebhookInactive, 'webhook_inactive', 'webhook is inactive');
  const stored = webhook.channels[target.channelIndex];
  if (!stored || stored.channel !== target.channel) {
    return stop(DeliveryFailureType.InvalidConfiguration, 'channel_removed', 'channel no longer exists');
  }
  const sender = deps.senders[stored.channel];
  if (!sender) {
    return stop(DeliveryFailureType.InvalidConfiguration, 'channel_unavailable', `${stored.channel} channel is not configured on this worker`);
  }
  let channel;
  try {
    channel = openChannel(stored, deps.box);
  } catch (error) {
    return stop(DeliveryFailureType.InvalidConfiguration, 'secret_unreadable', (error as Error).message);
  }

  // A retryable failure: recorded, then retried by Temporal after delayMs (Retry-After wins).
  const retryLater = async (result: Extract<ChannelAttemptResult, { kind: 'retry' }>, delayMs: number): Promise<never> => {
    await record(result, 'retrying', new Date(startedAt.getTime() + result.durationMs + delayMs));
    const summary = result.statusCode ? `HTTP ${result.statusCode}` : result.error;
    throw ApplicationFailure.create({
      message: `${summary} (${where})`,
      type: DeliveryFailureType.RetryableFailure,
      // Explicit, so Temporal waits what the record says, counting from the first attempt.
      nextRetryDelay: delayMs,
      // The workflow reads the wait here when it hands over from the first attempt.
      details: [{ retryAfterMs: delayMs }],
    });
  };

  const admission = deps.breaker?.admit(endpoint) ?? { send: true, probe: false };
  if (!admission.send) {
    // Not sent, yet an attempt: the retry policy's maximum_attempts still bounds a
    // delivery to an endpoint that stays dead, and the record says why nothing went out.
    return retryLater(
      {
        kind: 'retry',
        error: 'circuit_open',
        errorMessage: `not sent: the endpoint failed ${deps.breaker!.failureThreshold} attempts in a row and is left alone for a while`,
        durationMs: 0,
      },
      Math.max(admission.waitMs, nextRetryDelayMs(target.retry, attemptNumber)),
    );
  }

  let result: ChannelAttemptResult;
  // A local attempt holds its workflow task open while the receiver answers.
  const workflowId = info.isLocal ? info.workflowExecution?.workflowId : undefined;
  const leaveWait = workflowId === undefined ? undefined : deps.receiverWaits?.enter(workflowId);
  try {
    result = await sender.send({
      event,
      webhook,
      channel,
      deliveryId: target.deliveryId,
      channelIndex: target.channelIndex,
      runId: info.workflowExecution?.runId ?? null,
      attempt: attemptNumber,
      attemptTimeoutMs: target.attemptTimeoutMs,
      now: startedAt,
    });
  } catch (error) {
    result = { kind: 'retry', error: 'internal_error', errorMessage: (error as Error).message, durationMs: deps.now().getTime() - startedAt.getTime() };
  } finally {
    leaveWait?.();
    release?.();
  }
  if (result.kind === 'retry') deps.breaker?.failed(endpoint, admission.probe);
  else deps.breaker?.succeeded(endpoint); // it answered, even if with a permanent error

  switch (result.kind) {
    case 'delivered':
      await record(result, 'delivered');
      return { outcome: 'delivered' };
    case 'gone':
      await disableWebhook(deps.db, webhook._id, `receiver answered 410 Gone on ${startedAt.toISOString()}`);
      deps.resolved.forgetWebhook(webhook._id);
      await record(result, 'failed');
      throw ApplicationFailure.nonRetryable(`${result.errorMessage} (${where})`, DeliveryFailureType.WebhookGone);
    case 'permanent':
      await record(result, finalStatusForFailure(result.failureType));
      throw ApplicationFailure.nonRetryable(`${result.error} (${where})`, result.failureType);
    case 'retry':
      return retryLater(result, result.afterMs ?? nextRetryDelayMs(target.retry, attemptNumber));
  }
}
