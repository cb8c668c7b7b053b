import type { z } from 'zod';
import { validationError, type RequestPart } from './errors';

/**
 * Validation is zod's, not Fastify's, so every 422 has our shape. `input` is reported
 * only to tell "missing" from "wrong type"; it never reaches the response.
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, part: RequestPart): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw validationError(part, result.error);
  return result.data;
}
