import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { isTemporalUnavailable } from '../../src/temporal/temporal-unavailable';

/** The shape @grpc/grpc-js gives a failed call: a message, a numeric code, details and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('isTemporalUnavailable', () => {
  it('is true for a server out of reach, too slow or rate limiting, bare or wrapped by the client', () => {
    expect(isTemporalUnavailable(grpcError(14, 'No connection established'))).toBe(true);
    expect(isTemporalUnavailable(grpcError(4, 'Deadline exceeded'))).toBe(true);
    expect(isTemporalUnavailable(grpcError(8, 'namespace rate limit exceeded'))).toBe(true);
    expect(isTemporalUnavailable(new ServiceError('Failed to start Workflow', { cause: grpcError(14, 'No connection established') }))).toBe(true);
  });

  it('is false for answers the server gave and for anything else', () => {
    expect(isTemporalUnavailable(grpcError(3, 'invalid argument'))).toBe(false);
    expect(isTemporalUnavailable(grpcError(6, 'already exists'))).toBe(false);
    expect(isTemporalUnavailable(new ServiceError('Failed', { cause: grpcError(7, 'permission denied') }))).toBe(false);
    expect(isTemporalUnavailable(new ServiceError('Failed'))).toBe(false);
    expect(isTemporalUnavailable(new Error('UNAVAILABLE'))).toBe(false);
    expect(isTemporalUnavailable(undefined)).toBe(false);
  });
});
