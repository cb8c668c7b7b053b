import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import { CACHE_SCOPES, listEventTypes, metadataJsonSchema } from '../../domain/event-catalog';
import { emitEvent } from '../../events/emit-event';
import { findWebhook, replaceSigningSecrets, type WebhookDocument } from '../../store/webhook-store';
import {
  currentSigningSecret,
  DEFAULT_ROTATION_GRACE_MS,
  rotateSecretRequestSchema,
  rotateSigningSecrets,
} from '../../webhooks/rotate-secret';
import { parseBody } from '../body';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { routeSchema } from '../openapi';
import { signingSecretSchema } from '../serializers';
import { workflowUiUrl } from '../temporal-links';
import { parseInput } from '../validation';
import { webhookParamsSchema } from './webhooks';

const BASE = '/v1/organizations/webhooks';
const TAGS = ['Webhook operations'];
// Concurrent rotations retry their compare-and-set this many times before giving up.
const ROTATE_ATTEMPTS = 5;

const eventTypesResponseSchema = z.object({
  results: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      cache_scope: z.enum(CACHE_SCOPES).describe('What receivers should invalidate by default'),
      schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the whole delivered payload'),
      metadata_schema: z.record(z.string(), z.unknown()).describe('JSON Schema of `metadata`'),
    }),
  ),
});

const testRequestSchema = z
  .object({
    message: z.string({ error: 'message must be a string' }).max(1000, 'message is longer than 1000 characters').nullish(),
  })
  .describe('Optional text carried in metadata.message');

const testResponseSchema = z.object({
  event_id: z.string(),
  event_type: z.literal('webhook.test'),
  webhook_id: z.string(),
  status: z.literal('pending'),
  workflow_id: z.string(),
  workflow_url: z.string().describe('The delivery workflow in the Temporal UI'),
});

const secretResponseSchema = z.object({ signing_secret: signingSecretSchema });

const rotateResponseSchema = z.object({
  webhook_id: z.string(),
  signing_secret: signingSecretSchema.describe('The new current secret'),
  previous_secrets_expire_at: z.iso
    .datetime()
    .nullable()
    .describe('Until then deliveries also carry a signature with the previous secret(s)'),
});

/** Catalog, test sends and signing-secret management. */
export async function webhookOperationRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  const { db, box, config } = deps;

  async function loadOwn(request: FastifyRequest): Promise<WebhookDocument> {
    const { webhook_id } = parseInput(webhookParamsSchema, request.params, 'path');
    const webhook = await findWebhook(db, webhook_id, request.organizationId);
    if (!webhook) throw notFound('webhook', webhook_id);
    return webhook;
  }

  app.get(
    `${BASE}/event-types`,
    {
      schema: routeSchema({
        operationId: 'listEventTypes',
        summary: 'List event types',
        description: 'The catalog: every event type with its default cache scope and JSON Schemas.',
        tags: TAGS,
        responses: { 200: { description: 'The catalog', schema: eventTypesResponseSchema } },
        errors: [401],
      }),
    },
    async () => ({
      results: listEventTypes().map((entry) => ({ ...entry, metadata_schema: metadataJsonSchema(entry.name)! })),
    }),
  );

  app.post(
    `${BASE}/:webhook_id/test`,
    {
      schema: routeSchema({
        operationId: 'testWebhook',
        summary: 'Send a test event',
        description: 'Emits a `webhook.test` event for this webhook only; it is delivered through the normal pipeline.',
        tags: TAGS,
        params: webhookParamsSchema,
        body: testRequestSchema,
        bodyOptional: true,
        responses: { 202: { description: 'Accepted: the event is queued', schema: testResponseSchema } },
        errors: [400, 401, 404, 409, 413, 415, 422],
      }),
    },
    async (request, reply) => {
      const webhook = await loadOwn(request);
      const body = parseBody(testRequestSchema, request.body, { optional: true });
      if (!webhook.is_active) {
        throw new ApiError('Conflict', `webhook ${webhook._id} is inactive: activate it to send a test event`, {
          webhook_id: webhook._id,
          disabled_reason: webhook.disabled_reason,
        });
      }
      const { eventId } = await emitEvent(db, {
        organization_id: request.organizationId,
        event_type: 'webhook.test',
        metadata: { webhook_id: webhook._id, message: body.message ?? `Test event for ${webhook.webhook_name}` },
        target_webhook_ids: [webhook._id],
      });
      return reply.code(202).send({
        event_id: eventId,
        event_type: 'webhook.test',
        webhook_id: webhook._id,
        status: 'pending',
        workflow_id: eventId,
        workflow_url: workflowUiUrl(config, eventId),
      });
    },
  );

  app.get(
    `${BASE}/:webhook_id/secret`,
    {
      schema: routeSchema({
        operationId: 'getWebhookSecret',
        summary: "Get a webhook's signing secret",
        tags: TAGS,
        params: webhookParamsSchema,
        responses: { 200: { description: 'The current signing secret', schema: secretResponseSchema } },
        errors: [401, 404],
      }),
    },
    async (request) => {
      const webhook = await loadOwn(request);
      const secret = currentSigningSecret(webhook.signing_secrets, box);
      if (secret === undefined) throw new Error(`webhook ${webhook._id} has no current signing secret`);
      return { signing_secret: secret };
    },
  );

  app.post(
    `${BASE}/:webhook_id/secret/rotate`,
    {
      schema: routeSchema({
        operationId: 'rotateWebhookSecret',
        summary: 'Rotate the signing secret',
        description: 'The previous secret keeps signing alongside the new one for the grace period (default 24h).',
        tags: TAGS,
        params: webhookParamsSchema,
        body: rotateSecretRequestSchema,
        bodyOptional: true,
        responses: { 200: { description: 'The new secret', schema: rotateResponseSchema } },
        errors: [400, 401, 404, 413, 415, 422],
      }),
    },
    async (request) => {
      let webhook = await loadOwn(request);
      const body = parseBody(rotateSecretRequestSchema, request.body, { optional: true });
      const graceMs = body?.grace_period ? parseDuration(body.grace_period) : DEFAULT_ROTATION_GRACE_MS;
      for (let attempt = 1; ; attempt++) {
        const rotation = rotateSigningSecrets(webhook.signing_secrets, box, new Date(), graceMs);
        const expected = webhook.signing_secrets[0]?.sealed;
        if (await replaceSigningSecrets(db, webhook._id, request.organizationId, expected, rotation.secrets)) {
          return {
            webhook_id: webhook._id,
            signing_secret: rotation.signingSecret,
            previous_secrets_expire_at: rotation.previousExpireAt?.toISOString() ?? null,
          };
        }
        if (attempt >= ROTATE_ATTEMPTS) throw new ApiError('Conflict', 'the secret is being rotated concurrently; try again');
        webhook = await loadOwn(request);
      }
    },
  );
}
