import { DeliveryFailureType } from '../domain/delivery-outcome';
import type { ChannelAttemptResult } from './channel-sender';
import { BlockedDestinationError, InvalidDestinationError, TransportError } from './http-transport';

/** Outcome helpers shared by the Slack, email and SMS senders. */

export function permanent(failureType: DeliveryFailureType, error: string, errorMessage: string, durationMs = 0): ChannelAttemptResult {
  return { kind: 'permanent', failureType, error, errorMessage, durationMs };
}

/** What an HttpTransport error means for the attempt; anything unexpected is rethrown (a bug). */
export function sendFailure(error: unknown): ChannelAttemptResult {
  if (error instanceof BlockedDestinationError) {
    return permanent(DeliveryFailureType.DestinationBlocked, 'destination_blocked', error.message);
  }
  if (error instanceof InvalidDestinationError) {
    return permanent(DeliveryFailureType.InvalidConfiguration, 'invalid_destination', error.message);
  }
  if (error instanceof TransportError) {
    return { kind: 'retry', error: error.code, errorMessage: error.message, durationMs: error.durationMs };
  }
  throw error;
}
