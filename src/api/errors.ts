import type { z } from 'zod';

/**
 * The one registry of API error types (Mixpeek's ErrorResponse shape). `type` names are
 * a public contract: clients branch on them, so they never change once shipped.
 */
export const ERROR_TYPES = {
  BadRequest: 400,
  InvalidJson: 400,
  Unauthorized: 401,
  /** An inbound provider webhook whose signature is missing, stale or wrong. */
  InvalidSignature: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  ValidationError: 422,
  InternalError: 500,
  ServiceUnavailable: 503,
} as const;

export type ErrorType = keyof typeof ERROR_TYPES;

/** One offending field, as in the OpenAPI's ValidationError (FastAPI's shape). */
export interface FieldError {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

export type ErrorDetails = Record<string, unknown> | FieldError[] | null;

export interface ErrorBody {
  success: false;
  status: number;
  error: { message: string; type: ErrorType; details: ErrorDetails };
  /** 422 only: the same field list under FastAPI's HTTPValidationError key. */
  detail?: FieldError[];
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly details: ErrorDetails = null,
  ) {
    super(message);
    this.status = ERROR_TYPES[type];
  }
}

export function errorBody(type: ErrorType, message: string, details: ErrorDetails = null): ErrorBody {
  const body: ErrorBody = { success: false, status: ERROR_TYPES[type], error: { message, type, details } };
  if (type === 'ValidationError' && Array.isArray(details)) body.detail = details;
  return body;
}

/** Unknown ids and other organizations' ids get the same answer. */
export function notFound(resource: string, id: string): ApiError {
  return new ApiError('NotFound', `${resource} ${id} not found`, { resource, id });
}

export type RequestPart = 'body' | 'query' | 'path';

/** A zod failure as a 422 listing every offending field, located like FastAPI does. */
export function validationError(part: RequestPart, error: z.ZodError): ApiError {
  const fields = error.issues.map((issue) => toFieldError(part, issue));
  const summary = fields
    .slice(0, 3)
    .map((field) => field.msg)
    .join('; ');
  const more = fields.length > 3 ? ` (and ${fields.length - 3} more)` : '';
  return new ApiError('ValidationError', `invalid request ${part}: ${summary}${more}`, fields);
}

/** A single-field 422 raised by a handler (e.g. a referenced webhook does not exist). */
export function fieldError(loc: Array<string | number>, msg: string, type = 'value_error'): ApiError {
  return new ApiError('ValidationError', msg, [{ loc, msg, type }]);
}

function toFieldError(part: RequestPart, issue: z.core.$ZodIssue): FieldError {
  const loc = [part, ...issue.path.map((key) => (typeof key === 'number' ? key : String(key)))];
  const missing = issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined && issue.path.length > 0;
  return { loc, msg: issue.message, type: missing ? 'missing' : issue.code };
}
