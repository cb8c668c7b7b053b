import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/** gRPC status codes that mean "not now", not "no". */
const RETRY_LATER_CODES = new Set([
  4, // DEADLINE_EXCEEDED: slower than the call's deadline
  8, // RESOURCE_EXHAUSTED: over the namespace's rate limit, or the server is overloaded
  14, // UNAVAILABLE: down or restarting
]);

/**
 * Temporal cannot take the call right now (down, restarting, rate limiting, or slower
 * than the call's deadline): a retry later will do, so the API answers 503 rather than 500.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  const grpcError = error instanceof ServiceError ? error.cause : error;
  return isGrpcServiceError(grpcError) && RETRY_LATER_CODES.has(grpcError.code);
}
