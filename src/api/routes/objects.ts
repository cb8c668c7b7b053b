import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { newObjectId } from '../../domain/ids';
import { findUnstorableJson } from '../../domain/storable-json';
import { emitEvent } from '../../events/emit-event';
import { objectCreatedEventId, objectDeletedEventId } from '../../inbound/mux-events';
import { findConnection } from '../../store/connection-store';
import {
  countObjects,
  findObject,
  insertObject,
  listObjects,
  removeObject,
  type ObjectDocument,
} from '../../store/object-store';
import { parseBody } from '../body';
import type { ApiDeps } from '../deps';
import { fieldError, notFound } from '../errors';
import { routeSchema } from '../openapi';
import { paginate, pageQuery, pageRequest, paginationResponseSchema } from '../pagination';
import { parseInput } from '../validation';
import { bucketIdSchema } from './connections';

const BASE = '/v1/organizations/buckets/:bucket_id/objects';
const TAGS = ['Objects'];
const ASSET_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

const bucketParamsSchema = z.object({ bucket_id: bucketIdSchema });
const objectParamsSchema = z.object({
  bucket_id: bucketIdSchema,
  object_id: z.string().describe('The object (obj_ + 24 hex)'),
});

const assetIdSchema = z
  .string({ error: 'asset_id must be a string' })
  .regex(ASSET_ID, 'asset_id must be 1–200 letters, digits, "_", ".", ":" or "-"');

const createObjectSchema = z
  .object({
    namespace_id: z
      .string({ error: 'namespace_id must be a string' })
      .min(1, 'namespace_id must not be empty')
      .max(200, 'namespace_id is longer than 200 characters')
      .nullish()
      .describe('Namespace of the object (carried on its events)'),
    metadata: z
      .record(z.string(), z.unknown(), { error: 'metadata must be an object' })
      .superRefine((metadata, ctx) => {
        const problem = findUnstorableJson(metadata);
        if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: `metadata: ${problem.message}` });
      })
      .default({})
      .describe("The object's metadata"),
    source: z
      .object(
        {
          provider: z.literal('mux', { error: 'source.provider must be "mux"' }),
          connection_id: z.string({ error: 'source.connection_id must be a string' }).describe('The connection syncing the asset'),
          asset_id: assetIdSchema.describe('The Mux asset id'),
        },
        { error: 'source must be an object with provider, connection_id and asset_id' },
      )
      .nullish()
      .describe('Where the object came from: a Mux asset synced through a connection of this bucket'),
  })
  .meta({ title: 'ObjectInput' });

export const objectOutputSchema = z
  .object({
    object_id: z.string(),
    bucket_id: z.string(),
    namespace_id: z.string().nullable(),
    source: z
      .object({
        provider: z.literal('mux'),
        connection_id: z.string(),
        asset_id: z.string(),
        synced_at: z.iso.datetime().nullable().describe('Time of the newest provider event applied'),
      })
      .nullable(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ title: 'BucketObject', description: 'An object in a bucket' });

export type ObjectOutput = z.output<typeof objectOutputSchema>;

const listQuerySchema = pageQuery({
  asset_id: assetIdSchema.optional().describe("Only objects made from this provider asset"),
  connection_id: z.string().max(200).optional().describe('Only objects synced through this connection'),
});

const listResponseSchema = z.object({
  results: z.array(objectOutputSchema),
  pagination: paginationResponseSchema,
});

export function serializeObject(doc: ObjectDocument): ObjectOutput {
  return {
    object_id: doc._id,
    bucket_id: doc.bucket_id,
    namespace_id: doc.namespace_id ?? null,
    source: doc.source
      ? {
          provider: doc.source.provider,
          connection_id: doc.source.connection_id,
          asset_id: doc.source.asset_id,
          synced_at: doc.source.synced_at ? doc.source.synced_at.toISOString() : null,
        }
      : null,
    metadata: doc.metadata ?? {},
    created_at: doc.created_at.toISOString(),
    updated_at: doc.updated_at.toISOString(),
  };
}

/** What every object.* event says about the object besides its id. */
function sourceFields(doc: ObjectDocument): Record<string, string> {
  return doc.source ? { connection_id: doc.source.connection_id, asset_id: doc.source.asset_id } : {};
}

/**
 * A small bucket-object API (the `objects` collection, docs/architecture.md), enough to exercise the inbound
 * lifecycle without a media platform. Registering and deleting emit object.created and
 * object.deleted into webhook_events, with ids derived from the object id.
 */
export async function objectRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  const { db } = deps;

  async function loadOwn(request: FastifyRequest): Promise<ObjectDocument> {
    const { bucket_id, object_id } = parseInput(objectParamsSchema, request.params, 'path');
    const object = await findObject(db, object_id, { organizationId: request.organizationId, bucketId: bucket_id });
    if (!object) throw notFound('object', object_id);
    return object;
  }

  app.post(
    BASE,
    {
      schema: routeSchema({
        operationId: 'createObject',
        summary: 'Register an object in a bucket',
        description: 'Emits object.created. A Mux `source` must name a connection of this organization that syncs this bucket.',
        tags: TAGS,
        params: bucketParamsSchema,
        body: createObjectSchema,
        bodyOptional: true,
        responses: { 201: { description: 'Registered', schema: objectOutputSchema } },
        errors: [400, 401, 413, 415, 422],
      }),
    },
    async (request, reply) => {
      const { bucket_id } = parseInput(bucketParamsSchema, request.params, 'path');
      const input = parseBody(createObjectSchema, request.body, { optional: true });
      if (input.source) {
        const connection = await findConnection(db, input.source.connection_id, request.organizationId);
        if (!connection) {
          throw fieldError(['body', 'source', 'connection_id'], `connection ${input.source.connection_id} not found`);
        }
        if (connection.bucket_id !== bucket_id) {
          throw fieldError(
            ['body', 'source', 'connection_id'],
            `connection ${connection._id} syncs bucket ${connection.bucket_id}, not ${bucket_id}`,
          );
        }
      }
      const now = new Date();
      const object: ObjectDocument = {
        _id: newObjectId(),
        organization_id: request.organizationId,
        bucket_id,
        namespace_id: input.namespace_id ?? null,
        source: input.source ? { provider: 'mux', connection_id: input.source.connection_id, asset_id: input.source.asset_id } : null,
        metadata: input.metadata,
        created_at: now,
        updated_at: now,
      };
      await insertObject(db, object);
      await emitEvent(
        db,
        {
          event_id: objectCreatedEventId(object._id),
          organization_id: object.organization_id,
          namespace_id: object.namespace_id,
          event_type: 'object.created',
          occurred_at: now,
          subject: { type: 'object', id: object._id },
          metadata: { bucket_id, object_id: object._id, ...sourceFields(object), metadata: object.metadata },
        },
        now,
      );
      return reply.code(201).send(serializeObject(object));
    },
  );

  app.get(
    BASE,
    {
      schema: routeSchema({
        operationId: 'listObjects',
        summary: "List a bucket's objects",
        description: 'Newest first. Filter by `asset_id` or `connection_id`; page with `cursor` or `offset`.',
        tags: TAGS,
        params: bucketParamsSchema,
        query: listQuerySchema,
        responses: { 200: { description: 'A page of objects', schema: listResponseSchema } },
        errors: [401, 422],
      }),
    },
    async (request) => {
      const { bucket_id } = parseInput(bucketParamsSchema, request.params, 'path');
      const query = parseInput(listQuerySchema, request.query, 'query');
      const filter = { assetId: query.asset_id, connectionId: query.connection_id };
      const [rows, total] = await Promise.all([
        listObjects(db, request.organizationId, bucket_id, filter, pageRequest(query)),
        query.include_total ? countObjects(db, request.organizationId, bucket_id, filter) : undefined,
      ]);
      const { items, pagination } = paginate(rows, query, total);
      return { results: items.map(serializeObject), pagination };
    },
  );

  app.get(
    `${BASE}/:object_id`,
    {
      schema: routeSchema({
        operationId: 'getObject',
        summary: 'Get an object',
        tags: TAGS,
        params: objectParamsSchema,
        responses: { 200: { description: 'The object', schema: objectOutputSchema } },
        errors: [401, 404, 422],
      }),
    },
    async (request) => serializeObject(await loadOwn(request)),
  );

  app.delete(
    `${BASE}/:object_id`,
    {
      schema: routeSchema({
        operationId: 'deleteObject',
        summary: 'Delete an object',
        description:
          'Emits object.deleted. Idempotent: 204 also when the object does not exist (or belongs to another organization).',
        tags: TAGS,
        params: objectParamsSchema,
        responses: { 204: { description: 'Deleted (or already gone)' } },
        errors: [401, 422],
      }),
    },
    async (request, reply) => {
      const { bucket_id, object_id } = parseInput(objectParamsSchema, request.params, 'path');
      const object = await findObject(db, object_id, { organizationId: request.organizationId, bucketId: bucket_id });
      if (object) {
        // Emitted first, with the object's own derived id: a retry after a failure
        // re-emits nothing and finishes the removal.
        const now = new Date();
        await emitEvent(
          db,
          {
            event_id: objectDeletedEventId(object._id),
            organization_id: object.organization_id,
            namespace_id: object.namespace_id,
            event_type: 'object.deleted',
            occurred_at: now,
            subject: { type: 'object', id: object._id },
            metadata: { bucket_id, object_id: object._id, ...sourceFields(object), reason: 'api_request' },
          },
          now,
        );
        await removeObject(db, object._id);
      }
      return reply.code(204).send();
    },
  );
}
