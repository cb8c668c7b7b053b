import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { newConnectionId } from '../../domain/ids';
import { METADATA_FILTER_OPERATORS, ORDERING_OPERATORS, type MetadataFilter } from '../../domain/metadata-filters';
import { findUnstorableJson } from '../../domain/storable-json';
import {
  countConnections,
  deleteConnection,
  findConnection,
  insertConnection,
  listConnections,
  type ConnectionDocument,
} from '../../store/connection-store';
import { parseBody } from '../body';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import { routeSchema } from '../openapi';
import { paginate, pageQuerySchema, pageRequest, paginationResponseSchema } from '../pagination';
import { parseInput } from '../validation';

const BASE = '/v1/organizations/connections';
const TAGS = ['Connections'];

/** Bucket ids appear in URL paths (…/buckets/{bucket_id}/objects): URL-safe characters only. */
export const BUCKET_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
export const bucketIdSchema = z
  .string({ error: 'bucket_id must be a string' })
  .regex(BUCKET_ID_PATTERN, 'bucket_id must be 1–200 letters, digits, "_", ".", ":" or "-"')
  .describe('The bucket objects of this connection live in');

const MAX_FILTERS = 50;
const FIELD_PATH = /^[^.\s]+(\.[^.\s]+)*$/;

export const metadataFilterSchema = z
  .object({
    field: z
      .string({ error: 'field must be a string' })
      .max(200, 'field is longer than 200 characters')
      .regex(FIELD_PATH, 'field must be a dotted path into the asset, e.g. "passthrough" or "meta.title"')
      .describe("Dotted path into the provider's asset (Mux: its `data`), e.g. passthrough, meta.title, status, duration"),
    operator: z
      .enum(METADATA_FILTER_OPERATORS, { error: `operator must be one of ${METADATA_FILTER_OPERATORS.join(', ')}` })
      .describe('How the field is compared with value'),
    value: z
      .unknown()
      .optional()
      .describe('Required (not null) except for exists (optional boolean, default true); gt/lt/gte/lte take a number or a string'),
  })
  .superRefine((filter, ctx) => {
    const unstorable = findUnstorableJson(filter.value);
    if (unstorable) {
      ctx.addIssue({ code: 'custom', path: ['value', ...unstorable.path], message: `value: ${unstorable.message}` });
      return;
    }
    if (filter.operator === 'exists') {
      if (filter.value !== undefined && filter.value !== null && typeof filter.value !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: ['value'], message: 'exists takes no value, or true/false' });
      }
      return;
    }
    if (filter.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${filter.operator} needs a value` });
      return;
    }
    if (filter.value === null) {
      // A null field counts as absent: test that with exists.
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${filter.operator} needs a non-null value; use exists to test for absence` });
      return;
    }
    if (ORDERING_OPERATORS.includes(filter.operator) && typeof filter.value !== 'number' && typeof filter.value !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${filter.operator} compares with a number or a string` });
    }
  })
  .meta({ title: 'MetadataFilter', description: 'One condition on the asset; all of a connection\'s filters must hold' });

const createConnectionSchema = z
  .object({
    provider: z.literal('mux', { error: 'provider must be "mux"' }).describe('The provider (only "mux" for now)'),
    connection_name: z
      .string({ error: 'connection_name must be a string' })
      .min(1, 'connection_name must not be empty')
      .max(200, 'connection_name is longer than 200 characters')
      .nullish()
      .describe('A label for people'),
    webhook_secret: z
      .string({ error: 'webhook_secret must be a string' })
      .min(1, 'webhook_secret must not be empty')
      .max(1024, 'webhook_secret is longer than 1024 characters')
      .describe("The Mux webhook's signing secret (encrypted at rest, never returned)"),
    bucket_id: bucketIdSchema,
    metadata_filters: z
      .array(metadataFilterSchema, { error: 'metadata_filters must be a list of filters' })
      .max(MAX_FILTERS, `metadata_filters may hold at most ${MAX_FILTERS} filters`)
      .default([])
      .describe('Conditions an asset must meet (all of them) for its objects to stay in the bucket'),
  })
  .meta({ title: 'ConnectionInput' });

export const connectionOutputSchema = z
  .object({
    connection_id: z.string().regex(/^conn_[a-f0-9]{24}$/),
    provider: z.literal('mux'),
    connection_name: z.string().nullable(),
    bucket_id: z.string(),
    metadata_filters: z.array(
      z.object({ field: z.string(), operator: z.enum(METADATA_FILTER_OPERATORS), value: z.unknown().optional() }),
    ),
    webhook_path: z.string().describe('Where to point the Mux webhook (on this API\'s public address); no Authorization needed'),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ title: 'Connection', description: 'An inbound provider connection; its webhook secret is never shown' });

export type ConnectionOutput = z.output<typeof connectionOutputSchema>;

const connectionParamsSchema = z.object({ connection_id: z.string().describe('The connection (conn_ + 24 hex)') });

const listResponseSchema = z.object({
  results: z.array(connectionOutputSchema),
  pagination: paginationResponseSchema,
});

export function muxWebhookPath(connectionId: string): string {
  return `/v1/webhooks/mux/${connectionId}`;
}

export function serializeConnection(doc: ConnectionDocument): ConnectionOutput {
  return {
    connection_id: doc._id,
    provider: doc.provider,
    connection_name: doc.connection_name ?? null,
    bucket_id: doc.bucket_id,
    metadata_filters: doc.metadata_filters.map((filter) => ({ ...filter })),
    webhook_path: muxWebhookPath(doc._id),
    created_at: doc.created_at.toISOString(),
    updated_at: doc.updated_at.toISOString(),
  };
}

/** Inbound provider connections (docs/api.md), scoped to the caller's organization. */
export async function connectionRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  const { db, box } = deps;

  for (const url of [BASE, `${BASE}/`]) {
    app.post(
      url,
      {
        schema: routeSchema({
          operationId: url.endsWith('/') ? 'createConnectionTrailingSlash' : 'createConnection',
          summary: 'Create a Mux connection',
          description:
            'Point the Mux webhook at `webhook_path` on this API. Events for assets whose metadata stops matching ' +
            '`metadata_filters` remove their objects from `bucket_id`.',
          tags: TAGS,
          body: createConnectionSchema,
          responses: { 201: { description: 'Created', schema: connectionOutputSchema } },
          errors: [400, 401, 413, 415, 422],
        }),
      },
      async (request, reply) => {
        const input = parseBody(createConnectionSchema, request.body);
        const now = new Date();
        const connection: ConnectionDocument = {
          _id: newConnectionId(),
          organization_id: request.organizationId,
          provider: input.provider,
          connection_name: input.connection_name ?? null,
          bucket_id: input.bucket_id,
          metadata_filters: input.metadata_filters.map(
            (filter): MetadataFilter => (filter.value === undefined ? { field: filter.field, operator: filter.operator } : { ...filter }),
          ),
          webhook_secret_sealed: box.seal(input.webhook_secret),
          created_at: now,
          updated_at: now,
        };
        await insertConnection(db, connection);
        return reply.code(201).send(serializeConnection(connection));
      },
    );
  }

  app.get(
    BASE,
    {
      schema: routeSchema({
        operationId: 'listConnections',
        summary: 'List connections',
        description: 'Newest first. Page with `cursor` (pagination.next_cursor) or `offset`.',
        tags: TAGS,
        query: pageQuerySchema,
        responses: { 200: { description: 'A page of connections', schema: listResponseSchema } },
        errors: [401, 422],
      }),
    },
    async (request) => {
      const query = parseInput(pageQuerySchema, request.query, 'query');
      const [rows, total] = await Promise.all([
        listConnections(db, request.organizationId, pageRequest(query)),
        query.include_total ? countConnections(db, request.organizationId) : undefined,
      ]);
      const { items, pagination } = paginate(rows, query, total);
      return { results: items.map(serializeConnection), pagination };
    },
  );

  app.get(
    `${BASE}/:connection_id`,
    {
      schema: routeSchema({
        operationId: 'getConnection',
        summary: 'Get a connection',
        tags: TAGS,
        params: connectionParamsSchema,
        responses: { 200: { description: 'The connection', schema: connectionOutputSchema } },
        errors: [401, 404],
      }),
    },
    async (request) => {
      const { connection_id } = parseInput(connectionParamsSchema, request.params, 'path');
      const connection = await findConnection(db, connection_id, request.organizationId);
      if (!connection) throw notFound('connection', connection_id);
      return serializeConnection(connection);
    },
  );

  app.delete(
    `${BASE}/:connection_id`,
    {
      schema: routeSchema({
        operationId: 'deleteConnection',
        summary: 'Delete a connection',
        description:
          'Idempotent: 204 also when the connection does not exist (or belongs to another organization). ' +
          'Its webhook URL answers 404 afterwards; objects already in the bucket stay.',
        tags: TAGS,
        params: connectionParamsSchema,
        responses: { 204: { description: 'Deleted (or already gone)' } },
        errors: [401],
      }),
    },
    async (request, reply) => {
      const { connection_id } = parseInput(connectionParamsSchema, request.params, 'path');
      await deleteConnection(db, connection_id, request.organizationId);
      return reply.code(204).send();
    },
  );
}
