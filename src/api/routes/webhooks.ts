import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { WebhookSchemas } from '../../domain/webhook-schemas';
import type { StoredChannel, WebhookChanges, WebhookDocument } from '../../store/webhook-store';
import {
  countWebhooks,
  deleteWebhook,
  findWebhook,
  insertWebhook,
  listWebhooks,
  updateWebhook,
} from '../../store/webhook-store';
import { assertNoMaskedSecrets, MaskedSecretError, sealChannels, unmaskSlackUrls } from '../../webhooks/channel-updates';
import { buildWebhookDocument } from '../../webhooks/new-webhook';
import { parseBody } from '../body';
import type { ApiDeps } from '../deps';
import { fieldError, notFound } from '../errors';
import { routeSchema } from '../openapi';
import { paginate, pageQuerySchema, pageRequest, paginationResponseSchema } from '../pagination';
import { createdWebhookSchema, serializeWebhook, webhookOutputSchema } from '../serializers';
import { parseInput } from '../validation';

const BASE = '/v1/organizations/webhooks';
const TAGS = ['Webhooks'];

export const webhookParamsSchema = z.object({ webhook_id: z.string().describe('The webhook (wh_ + 16 hex)') });

const listFilterSchema = z
  .object({
    event_type: z
      .string({ error: 'event_type must be a string' })
      .min(1, 'event_type must not be empty')
      .max(200, 'event_type is longer than 200 characters')
      .nullish()
      .describe('Webhooks that receive this event type (directly, via "*" or a prefix wildcard)'),
    is_active: z.boolean({ error: 'is_active must be true or false' }).nullish().describe('Filter by active status'),
  })
  .describe('Filters (all optional)');

const listResponseSchema = z.object({
  results: z.array(webhookOutputSchema),
  pagination: paginationResponseSchema,
  total: z.number().int().describe('All webhooks matching the filters'),
});

/** Masked placeholders without a stored secret behind them are a client mistake (422). */
function sealOrReject<T>(seal: () => T): T {
  try {
    return seal();
  } catch (error) {
    if (error instanceof MaskedSecretError) throw fieldError(['body', 'channels', error.channelIndex, 'configs'], error.message);
    throw error;
  }
}

/** Webhook CRUD and listing (Mixpeek's API, docs/api.md). */
export async function webhookRoutes(app: FastifyInstance, { deps, schemas }: { deps: ApiDeps; schemas: WebhookSchemas }) {
  const { db, box } = deps;

  async function loadOwn(request: FastifyRequest): Promise<WebhookDocument> {
    const { webhook_id } = parseInput(webhookParamsSchema, request.params, 'path');
    const webhook = await findWebhook(db, webhook_id, request.organizationId);
    if (!webhook) throw notFound('webhook', webhook_id);
    return webhook;
  }

  for (const url of [BASE, `${BASE}/`]) {
    app.post(
      url,
      {
        schema: routeSchema({
          operationId: url.endsWith('/') ? 'createWebhookTrailingSlash' : 'createWebhook',
          summary: 'Create a webhook',
          description: 'Returns the webhook and its signing secret (shown here once; later only by GET …/{webhook_id}/secret).',
          tags: TAGS,
          body: schemas.create.meta({ title: 'WebhookInput' }),
          responses: { 201: { description: 'Created', schema: createdWebhookSchema } },
          errors: [400, 401, 413, 415, 422],
        }),
      },
      async (request, reply) => {
        const input = parseBody(schemas.create, request.body);
        const channels = input.channels as StoredChannel[];
        sealOrReject(() => assertNoMaskedSecrets(channels));
        const { webhook, signingSecret } = buildWebhookDocument({ ...input, channels }, request.organizationId, box);
        await insertWebhook(db, webhook);
        return reply.code(201).send({ ...serializeWebhook(webhook), signing_secret: signingSecret });
      },
    );
  }

  app.post(
    `${BASE}/list`,
    {
      schema: routeSchema({
        operationId: 'listWebhooks',
        summary: 'List webhooks',
        description: 'Newest first. Page with `cursor` (pagination.next_cursor) or `offset`.',
        tags: TAGS,
        query: pageQuerySchema,
        body: listFilterSchema,
        bodyOptional: true,
        responses: { 200: { description: 'A page of webhooks', schema: listResponseSchema } },
        errors: [400, 401, 413, 415, 422],
      }),
    },
    async (request) => {
      const query = parseInput(pageQuerySchema, request.query, 'query');
      const body = parseBody(listFilterSchema, request.body, { optional: true });
      const filter = { eventType: body.event_type ?? undefined, isActive: body.is_active ?? undefined };
      const [rows, total] = await Promise.all([
        listWebhooks(db, request.organizationId, filter, pageRequest(query)),
        countWebhooks(db, request.organizationId, filter),
      ]);
      const { items, pagination } = paginate(rows, query, total);
      return { results: items.map(serializeWebhook), pagination, total };
    },
  );

  app.get(
    `${BASE}/:webhook_id`,
    {
      schema: routeSchema({
        operationId: 'getWebhook',
        summary: 'Get a webhook',
        tags: TAGS,
        params: webhookParamsSchema,
        responses: { 200: { description: 'The webhook', schema: webhookOutputSchema } },
        errors: [401, 404],
      }),
    },
    async (request) => serializeWebhook(await loadOwn(request)),
  );

  app.put(
    `${BASE}/:webhook_id`,
    {
      schema: routeSchema({
        operationId: 'replaceWebhook',
        summary: 'Replace a webhook',
        description: `Replaces the whole definition. Send back a masked secret ("********") to keep the stored one.`,
        tags: TAGS,
        params: webhookParamsSchema,
        body: schemas.update.meta({ title: 'WebhookInput' }),
        responses: { 200: { description: 'The updated webhook', schema: webhookOutputSchema } },
        errors: [400, 401, 404, 413, 415, 422],
      }),
    },
    async (request) => {
      const previous = await loadOwn(request);
      const input = parseBody(schemas.update, unmaskSlackUrls(request.body, previous.channels, box));
      const channels = sealOrReject(() => sealChannels(input.channels as StoredChannel[], previous.channels, box));
      const changes: WebhookChanges = {
        webhook_name: input.webhook_name,
        event_types: input.event_types,
        channels,
        is_active: input.is_active,
        retry_policy: input.retry_policy ?? null,
        disabled_reason: input.is_active ? null : previous.disabled_reason,
      };
      const updated = await updateWebhook(db, previous._id, request.organizationId, changes);
      if (!updated) throw notFound('webhook', previous._id);
      return serializeWebhook(updated);
    },
  );

  app.patch(
    `${BASE}/:webhook_id`,
    {
      schema: routeSchema({
        operationId: 'updateWebhook',
        summary: 'Update some fields of a webhook',
        description: 'Only the fields given change; `channels` is replaced as a whole; `retry_policy: null` restores the defaults.',
        tags: TAGS,
        params: webhookParamsSchema,
        body: schemas.patch.meta({ title: 'WebhookPatch' }),
        responses: { 200: { description: 'The updated webhook', schema: webhookOutputSchema } },
        errors: [400, 401, 404, 413, 415, 422],
      }),
    },
    async (request) => {
      const previous = await loadOwn(request);
      const input = parseBody(schemas.patch, unmaskSlackUrls(request.body, previous.channels, box));
      const changes: WebhookChanges = {};
      if (input.webhook_name !== undefined) changes.webhook_name = input.webhook_name;
      if (input.event_types !== undefined) changes.event_types = input.event_types;
      if (input.channels !== undefined) {
        const next = input.channels as StoredChannel[];
        changes.channels = sealOrReject(() => sealChannels(next, previous.channels, box));
      }
      if (input.is_active !== undefined) {
        changes.is_active = input.is_active;
        if (input.is_active) changes.disabled_reason = null;
      }
      if (input.retry_policy !== undefined) changes.retry_policy = input.retry_policy;
      const updated = await updateWebhook(db, previous._id, request.organizationId, changes);
      if (!updated) throw notFound('webhook', previous._id);
      return serializeWebhook(updated);
    },
  );

  app.delete(
    `${BASE}/:webhook_id`,
    {
      schema: routeSchema({
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook',
        description: 'Idempotent: 204 also when the webhook does not exist (or belongs to another organization).',
        tags: TAGS,
        params: webhookParamsSchema,
        responses: { 204: { description: 'Deleted (or already gone)' } },
        errors: [401],
      }),
    },
    async (request, reply) => {
      const { webhook_id } = parseInput(webhookParamsSchema, request.params, 'path');
      await deleteWebhook(db, webhook_id, request.organizationId);
      return reply.code(204).send();
    },
  );
}
