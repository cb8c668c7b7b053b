import type { FastifySchema } from 'fastify';
import { z } from 'zod';
import { ERROR_TYPES } from './errors';

/**
 * Route documentation from zod: every request and response schema is a zod schema,
 * converted to JSON Schema (2020-12, as OpenAPI 3.1 uses) for @fastify/swagger. Fastify
 * does not validate or serialize with them (src/api/app.ts turns its compilers off).
 */

export type JsonSchema = Record<string, unknown>;

// @fastify/swagger takes a response's description from here, leaving the schema's own.
const RESPONSE_DESCRIPTION = 'x-response-description';

/** Marks an operation whose request body may be left out (swagger assumes it is required). */
export const OPTIONAL_BODY = 'x-hookrelay-optional-body';

export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return json;
}

const fieldErrorSchema = z.object({
  loc: z.array(z.union([z.string(), z.number().int()])).describe('Where: "body", "query" or "path", then the field path'),
  msg: z.string(),
  type: z.string(),
});

export const errorResponseSchema = z
  .object({
    success: z.literal(false),
    status: z.number().int().describe('HTTP status code for this error'),
    error: z.object({
      message: z.string().describe('Human-readable error message'),
      type: z.enum(Object.keys(ERROR_TYPES) as [keyof typeof ERROR_TYPES]).describe('Stable error type identifier'),
      details: z
        .union([z.array(fieldErrorSchema), z.record(z.string(), z.unknown()), z.null()])
        .describe('Validation errors: one entry per offending field; otherwise structured context such as the id'),
    }),
    detail: z.array(fieldErrorSchema).optional().describe('422 only: the same field list, as FastAPI clients expect'),
  })
  .meta({ title: 'ErrorResponse', description: "Mixpeek's error shape" });

const errorJson = toJsonSchema(errorResponseSchema, 'output');

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad request (malformed JSON)',
  401: 'Missing, malformed, unknown or revoked API key',
  404: 'Not found (also for resources of another organization)',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  415: 'Unsupported media type (send application/json)',
  422: 'Validation error: every offending field in error.details',
  500: 'Internal error',
  503: 'Service unavailable',
};

export interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  body?: z.ZodType;
  /** The body may be omitted entirely (all its fields are optional). */
  bodyOptional?: boolean;
  query?: z.ZodType;
  params?: z.ZodType;
  /** Success responses: status → description and schema (none for an empty body). */
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  /** Error statuses this route may answer with, besides 500. */
  errors?: number[];
  /** Routes under /v1/organizations need a Bearer key (the default). */
  auth?: boolean;
  /** Non-JSON success body (e.g. Prometheus text). */
  produces?: string[];
}

export function routeSchema(doc: RouteDoc): FastifySchema {
  const response: Record<string, JsonSchema> = {};
  for (const [status, { description, schema }] of Object.entries(doc.responses)) {
    response[status] = schema ? { ...toJsonSchema(schema, 'output'), [RESPONSE_DESCRIPTION]: description } : { description, type: 'null' };
  }
  for (const status of [...(doc.errors ?? []), 500]) {
    response[String(status)] = { ...errorJson, [RESPONSE_DESCRIPTION]: ERROR_DESCRIPTIONS[status] ?? 'Error' };
  }
  const schema: FastifySchema & Record<string, unknown> = {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: doc.tags,
    response,
  };
  if (doc.description) schema.description = doc.description;
  if (doc.body) schema.body = toJsonSchema(doc.body);
  if (doc.bodyOptional) schema[OPTIONAL_BODY] = true;
  if (doc.query) schema.querystring = toJsonSchema(doc.query);
  if (doc.params) schema.params = toJsonSchema(doc.params);
  if (doc.produces) schema.produces = doc.produces;
  schema.security = doc.auth === false ? [] : [{ bearerAuth: [] }];
  return schema;
}

/**
 * Schemas given a `title` with .meta() become components: the first occurrence is kept
 * under components.schemas and every occurrence is replaced by a $ref, so the shared
 * shapes (errors, webhooks, deliveries) appear once.
 */
function hoistTitled(node: unknown, components: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => hoistTitled(item, components));
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = hoistTitled(value, components);
  if (typeof copy.title === 'string' && /^[A-Z][A-Za-z]+$/.test(copy.title) && (copy.type === 'object' || copy.anyOf)) {
    components[copy.title] ??= copy;
    return { $ref: `#/components/schemas/${copy.title}` };
  }
  return copy;
}

/** Final touches on the generated document: optional request bodies, shared components. */
export function finishOpenApiDocument(document: Record<string, unknown>): Record<string, unknown> {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      if (operation[OPTIONAL_BODY]) {
        delete operation[OPTIONAL_BODY];
        const body = operation.requestBody as { required?: boolean } | undefined;
        if (body) body.required = false;
      }
    }
  }
  const components = (document.components ?? {}) as Record<string, unknown>;
  const schemas = (components.schemas ?? {}) as Record<string, unknown>;
  document.paths = hoistTitled(paths, schemas);
  document.components = { ...components, schemas };
  return document;
}
