import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { WEBHOOK_ID_PATTERN } from '../../domain/ids';
import {
  countWebhookDeliveries,
  DELIVERY_STATUSES,
  findEventDeliveries,
  listWebhookDeliveries,
  reopenDeliveries,
  releaseReopenedDeliveries,
  restoreReopenedDeliveries,
} from '../../store/delivery-store';
import { findEvent } from '../../store/event-store';
import { findWebhook, webhooksCollection } from '../../store/webhook-store';
import { startRedeliveryWorkflow, type RedeliveryStart } from '../../temporal/start-redelivery-workflow';
import { parseBody } from '../body';
import type { ApiDeps } from '../deps';
import { ApiError, fieldError, notFound, type FieldError } from '../errors';
import { routeSchema } from '../openapi';
import { paginate, pageQuery, pageRequest, paginationResponseSchema } from '../pagination';
import { deliveryOutputSchema, eventOutputSchema, serializeDelivery, serializeEvent } from '../serializers';
import { workflowUiUrl } from '../temporal-links';
import { parseInput } from '../validation';
import { webhookParamsSchema } from './webhooks';

const BASE = '/v1/organizations/webhooks';
const TAGS = ['Deliveries'];
/** How long a redelivery waits for Temporal to accept the new run before answering 503. */
const REDELIVERY_START_DEADLINE_MS = 5_000;

const deliveriesQuerySchema = pageQuery({
  status: z
    .enum(DELIVERY_STATUSES, { error: `status must be one of ${DELIVERY_STATUSES.join(', ')}` })
    .optional()
    .describe('Only deliveries in this status'),
});

const deliveriesResponseSchema = z.object({
  results: z.array(deliveryOutputSchema),
  pagination: paginationResponseSchema,
});

const eventParamsSchema = z.object({ event_id: z.string().describe('The event (evt_…)') });

const workflowLinkSchema = z.object({
  workflow_id: z.string(),
  namespace: z.string(),
  ui_url: z.string().describe('The workflow in the Temporal Web UI'),
});

const eventResponseSchema = z.object({
  event: eventOutputSchema,
  targets: z.array(deliveryOutputSchema).describe('One entry per (webhook, channel) attempted, with its attempts'),
  workflow: workflowLinkSchema.describe("The event's delivery workflow (workflow id = event id)"),
});

const redeliverRequestSchema = z
  .object({
    webhook_ids: z
      .array(z.string().regex(WEBHOOK_ID_PATTERN, 'must be a webhook id (wh_ + 16 hex characters)'), {
        error: 'webhook_ids must be a list of webhook ids',
      })
      .min(1, 'webhook_ids, when given, must name at least one webhook')
      .max(100, 'webhook_ids may name at most 100 webhooks')
      .nullish()
      .describe('Redeliver to these webhooks only (default: every subscriber of the event)'),
  })
  .describe('Optional');

const redeliverResponseSchema = z.object({
  event_id: z.string(),
  webhook_ids: z.array(z.string()).nullable(),
  workflow_id: z.string().describe('The new workflow run delivering the event again'),
  run_id: z.string(),
  workflow_url: z.string(),
});

/** Delivery inspection and redelivery. */
export async function deliveryRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  const { db, config, temporal } = deps;

  app.get(
    `${BASE}/:webhook_id/deliveries`,
    {
      schema: routeSchema({
        operationId: 'listWebhookDeliveries',
        summary: "List a webhook's deliveries",
        description: 'One entry per (event, channel) with its attempt log, newest first. Filter by `status`.',
        tags: TAGS,
        params: webhookParamsSchema,
        query: deliveriesQuerySchema,
        responses: { 200: { description: 'A page of deliveries', schema: deliveriesResponseSchema } },
        errors: [401, 404, 422],
      }),
    },
    async (request) => {
      const { webhook_id } = parseInput(webhookParamsSchema, request.params, 'path');
      const query = parseInput(deliveriesQuerySchema, request.query, 'query');
      const webhook = await findWebhook(db, webhook_id, request.organizationId);
      if (!webhook) throw notFound('webhook', webhook_id);
      const filter = { status: query.status };
      const [rows, total] = await Promise.all([
        listWebhookDeliveries(db, webhook._id, request.organizationId, filter, pageRequest(query)),
        query.include_total ? countWebhookDeliveries(db, webhook._id, request.organizationId, filter) : undefined,
      ]);
      const { items, pagination } = paginate(rows, query, total);
      return { results: items.map(serializeDelivery), pagination };
    },
  );

  app.get(
    `${BASE}/events/:event_id`,
    {
      schema: routeSchema({
        operationId: 'getEvent',
        summary: 'Inspect an event',
        description: 'The event, the outcome of each (webhook, channel) with its attempts, and a link to its workflow.',
        tags: TAGS,
        params: eventParamsSchema,
        responses: { 200: { description: 'The event and its deliveries', schema: eventResponseSchema } },
        errors: [401, 404],
      }),
    },
    async (request) => {
      const { event_id } = parseInput(eventParamsSchema, request.params, 'path');
      const event = await findEvent(db, event_id, request.organizationId);
      if (!event) throw notFound('event', event_id);
      const deliveries = await findEventDeliveries(db, event._id, request.organizationId);
      return {
        event: serializeEvent(event),
        targets: deliveries.map(serializeDelivery),
        workflow: { workflow_id: event._id, namespace: config.TEMPORAL_NAMESPACE, ui_url: workflowUiUrl(config, event._id) },
      };
    },
  );

  app.post(
    `${BASE}/events/:event_id/redeliver`,
    {
      schema: routeSchema({
        operationId: 'redeliverEvent',
        summary: 'Redeliver an event',
        description:
          'Starts a new delivery workflow run for every subscriber of the event, or for the webhooks named. ' +
          'Receivers see the same webhook-id as before, so they can deduplicate.',
        tags: TAGS,
        params: eventParamsSchema,
        body: redeliverRequestSchema,
        bodyOptional: true,
        responses: { 202: { description: 'Accepted: the new run has started', schema: redeliverResponseSchema } },
        errors: [400, 401, 404, 409, 413, 415, 422, 503],
      }),
    },
    async (request, reply) => {
      const { event_id } = parseInput(eventParamsSchema, request.params, 'path');
      const event = await findEvent(db, event_id, request.organizationId);
      if (!event) throw notFound('event', event_id);
      const body = parseBody(redeliverRequestSchema, request.body, { optional: true });
      if (event.status === 'pending') {
        throw new ApiError('Conflict', `event ${event._id} has not been dispatched yet; it will be delivered shortly`, {
          event_id: event._id,
          status: event.status,
        });
      }
      const webhookIds = body.webhook_ids ? [...new Set(body.webhook_ids)] : undefined;
      if (webhookIds) await assertActiveWebhooks(webhookIds, body.webhook_ids!, request.organizationId);
      // Only records the new run will settle again: not those of webhooks since deactivated or deleted.
      const reopened = await reopenDeliveries(db, event._id, webhookIds ?? (await activeTargetsOf(event._id, request.organizationId)));
      let run: RedeliveryStart;
      try {
        // Bounded, so a caller hears "unavailable, retry" rather than waiting on the client's own retries.
        run = await temporal.withDeadline(Date.now() + REDELIVERY_START_DEADLINE_MS, () =>
          startRedeliveryWorkflow(temporal, config.TEMPORAL_TASK_QUEUE, event, webhookIds),
        );
      } catch (error) {
        // Most likely no run started: the records go back to what they were (a run that did
        // start records its attempts over them), and the caller may retry.
        await restoreReopenedDeliveries(db, reopened).catch((restoreError: unknown) =>
          request.log.error({ err: restoreError, event_id: event._id }, 'could not restore the deliveries of a redelivery that did not start'),
        );
        throw error;
      }
      // Best effort: the run's first recorded attempt on each record clears the token as well.
      await releaseReopenedDeliveries(db, reopened).catch((releaseError: unknown) =>
        request.log.warn({ err: releaseError, event_id: event._id }, 'could not release the deliveries of a started redelivery'),
      );
      return reply.code(202).send({
        event_id: event._id,
        webhook_ids: webhookIds ?? null,
        workflow_id: run.workflowId,
        run_id: run.runId,
        workflow_url: workflowUiUrl(config, run.workflowId),
      });
    },
  );

  /** Webhooks with a delivery record for the event that are still active. */
  async function activeTargetsOf(eventId: string, organizationId: string): Promise<string[]> {
    const delivered = [...new Set((await findEventDeliveries(db, eventId, organizationId)).map((d) => d.webhook_id))];
    const active = await webhooksCollection(db)
      .find({ _id: { $in: delivered }, organization_id: organizationId, is_active: true }, { projection: { _id: 1 } })
      .toArray();
    return active.map((w) => w._id);
  }

  /** Named webhooks must exist in the organization and be active (inactive ones are never delivered to). */
  async function assertActiveWebhooks(ids: string[], given: string[], organizationId: string): Promise<void> {
    const found = await webhooksCollection(db)
      .find({ _id: { $in: ids }, organization_id: organizationId }, { projection: { _id: 1, is_active: 1 } })
      .toArray();
    const problems: FieldError[] = [];
    given.forEach((id, index) => {
      const webhook = found.find((w) => w._id === id);
      const msg = !webhook ? `webhook ${id} not found` : !webhook.is_active ? `webhook ${id} is inactive: activate it first` : undefined;
      if (msg) problems.push({ loc: ['body', 'webhook_ids', index], msg, type: 'value_error' });
    });
    if (problems.length === 1) throw fieldError(problems[0]!.loc, problems[0]!.msg);
    if (problems.length > 1) throw new ApiError('ValidationError', `${problems.length} of webhook_ids cannot be redelivered to`, problems);
  }
}
