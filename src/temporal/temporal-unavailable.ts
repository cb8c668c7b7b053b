import { isGrpcServiceError, ServiceError } from '@temporalio/client';

/** gRPC status codes that mean "the server could not be reached in time", not "it said no". */
const UNREACHABLE_CODES = new Set([
  4, // DEADLINE_EXCEEDED
  14, // UNAVAILABLE
]);

/**
 * Temporal cannot be reached (down, restarting, or slower than the call's deadline): a
 * retry later will do, so the API answers 503 rather than 500.
 */
export function isTemporalUnavailable(error: unknown): boolean {
  const grpcError = error instanceof ServiceError ? error.cause : error;
  return isGrpcServiceError(grpcError) && UNREACHABLE_CODES.has(grpcError.code);
}
