import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { isTemporalUnavailable } from '../temporal/temporal-unavailable';
import { ApiError, ERROR_TYPES, errorBody, type ErrorType } from './errors';

/** Fastify's own client errors, in our registry's names. */
const FASTIFY_CODES: Record<string, ErrorType> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PayloadTooLarge',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UnsupportedMediaType',
  FST_ERR_CTP_INVALID_JSON_BODY: 'InvalidJson',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'InvalidJson',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BadRequest',
};

const BY_STATUS: Record<number, ErrorType> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'ValidationError',
  503: 'ServiceUnavailable',
};

const MESSAGES: Partial<Record<ErrorType, string>> = {
  PayloadTooLarge: 'request body is larger than the limit',
  UnsupportedMediaType: 'unsupported Content-Type: send application/json',
  InvalidJson: 'request body is not valid JSON',
};

/**
 * Every error leaves in Mixpeek's shape. Client mistakes keep their 4xx; MongoDB or
 * Temporal out of reach is a 503 with Retry-After; anything else is a 500 whose message
 * reveals nothing (the log has the stack).
 */
export function installErrorHandlers(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      if (error.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(error.status).send(errorBody(error.type, error.message, error.details));
    }
    const type = (error.code && FASTIFY_CODES[error.code]) || (isClientStatus(error.statusCode) ? BY_STATUS[error.statusCode!] ?? 'BadRequest' : undefined);
    if (type) {
      const details = type === 'PayloadTooLarge' ? { limit_bytes: bodyLimit } : null;
      return reply.code(ERROR_TYPES[type]).send(errorBody(type, MESSAGES[type] ?? error.message, details));
    }
    const unavailable = unavailableDependency(error);
    if (unavailable) {
      // A restart or failover, not a bug: say so, and that a retry will do.
      request.log.warn({ err: error }, `${unavailable} unavailable`);
      return reply
        .code(503)
        .header('retry-after', '5')
        .send(errorBody('ServiceUnavailable', UNAVAILABLE_MESSAGES[unavailable]));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send(errorBody('InternalError', 'internal error'));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send(errorBody('NotFound', `no route ${request.method} ${path}`, { method: request.method, path }));
  });
}

const UNAVAILABLE_MESSAGES = {
  MongoDB: 'the database is unavailable: retry shortly',
  Temporal: 'the workflow service is unavailable: retry shortly',
} as const;

/** Which dependency an error says is out of reach, if any. */
function unavailableDependency(error: unknown): 'MongoDB' | 'Temporal' | undefined {
  if (isDatabaseUnavailable(error)) return 'MongoDB';
  if (isTemporalUnavailable(error)) return 'Temporal';
  return undefined;
}

/** Server answers that mean "not the primary / shutting down right now" (restarts, failovers). */
const MONGO_TRANSIENT_CODES = new Set([91, 189, 10107, 11600, 11602, 13435, 13436]);

/** MongoDB cannot be reached (down, restarting, failing over): a 503, never a 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  return (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoNotConnectedError ||
    (error instanceof MongoServerError && typeof error.code === 'number' && MONGO_TRANSIENT_CODES.has(error.code))
  );
}

function isClientStatus(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * Errors the router raises before any route runs: an undecodable URL is a 400; a path
 * segment longer than any id names nothing, so it is a 404 like any unknown id.
 */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0];
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.code(404).send(errorBody('NotFound', `no resource at ${request.method} ${path}`, { method: request.method, path }));
    return;
  }
  void reply.code(400).send(errorBody('BadRequest', error.code === 'FST_ERR_BAD_URL' ? 'malformed URL' : error.message));
}
