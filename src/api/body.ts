import type { z } from 'zod';
import { fieldError } from './errors';
import { parseInput } from './validation';

/**
 * A request body through its schema. An absent body (no bytes, or `null`) is a 422
 * naming the body when one is required, and an empty object when it is optional.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, options: { optional?: boolean } = {}): z.output<T> {
  if (body === undefined || body === null) {
    if (!options.optional) throw fieldError(['body'], 'request body is required: a JSON object', 'missing');
    return parseInput(schema, {}, 'body');
  }
  return parseInput(schema, body, 'body');
}
