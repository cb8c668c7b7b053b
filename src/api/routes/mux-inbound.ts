import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CONNECTION_ID_PATTERN } from '../../domain/ids';
import {
  HANDLED_MUX_EVENT_TYPES,
  isHandledMuxEventType,
  muxInboundEventId,
  parseMuxEvent,
} from '../../inbound/mux-events';
import { MUX_SIGNATURE_HEADER, MUX_SIGNATURE_MESSAGES, verifyMuxSignature } from '../../inbound/mux-signature';
import { findConnection, type ConnectionDocument } from '../../store/connection-store';
import { findInboundEvent, recordInboundEvent } from '../../store/inbound-event-store';
import { startMuxLifecycleWorkflow } from '../../temporal/start-mux-lifecycle-workflow';
import type { ApiDeps } from '../deps';
import { ApiError, errorBody, notFound } from '../errors';
import { routeSchema, toJsonSchema } from '../openapi';

const PATH = '/v1/webhooks/mux/:connection_id';
// The key @fastify/swagger reads a response's description from (see ../openapi.ts).
const RESPONSE_DESCRIPTION = 'x-response-description';

const paramsSchema = z.object({ connection_id: z.string().describe('The connection (conn_ + 24 hex); it scopes the request') });
const headersSchema = z.object({
  'mux-signature': z.string().describe('t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the webhook secret>'),
});
const muxEventSchema = z
  .looseObject({
    type: z.string().describe(`Mux event type; ${HANDLED_MUX_EVENT_TYPES.join(' and ')} are acted on`),
    id: z.string().describe('Mux event id (deduplicated: Mux re-sends)'),
    created_at: z.string().optional(),
    object: z.looseObject({ type: z.string(), id: z.string() }).optional(),
    data: z.looseObject({}).optional().describe('The asset, for video.asset.* events'),
  })
  .meta({ title: 'MuxWebhookEvent', description: 'A Mux webhook event, exactly as Mux sends it' });
const receivedSchema = z.object({
  received: z.literal(true),
  handled: z.boolean().describe('Whether hookrelay acts on this event type; false still means "stop retrying"'),
});

function inboundRouteSchema() {
  const schema = routeSchema({
    operationId: 'receiveMuxWebhook',
    summary: 'Receive a Mux webhook',
    description:
      'No Authorization header: the connection id in the path scopes the request and the `Mux-Signature` ' +
      'header (checked against the raw body, ±5 minutes) authenticates it. Answers at once; ' +
      `${HANDLED_MUX_EVENT_TYPES.join(' and ')} then cascade-delete or re-filter the bucket's objects in a workflow.`,
    tags: ['Inbound webhooks'],
    auth: false,
    params: paramsSchema,
    body: muxEventSchema,
    responses: { 200: { description: 'Received (also for a re-sent event, which changes nothing again)', schema: receivedSchema } },
    errors: [400, 401, 404, 413, 503],
  }) as Record<string, unknown>;
  schema.headers = toJsonSchema(headersSchema);
  const response = schema.response as Record<string, Record<string, unknown>>;
  response['401'] = { ...response['401'], [RESPONSE_DESCRIPTION]: 'Missing, malformed, stale or non-matching Mux-Signature' };
  response['404'] = { ...response['404'], [RESPONSE_DESCRIPTION]: 'No such connection' };
  return schema;
}

/** JSON.parse without `__proto__` keys (they would be own properties, but nothing needs them). */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
}

/**
 * `POST /v1/webhooks/mux/{connection_id}` (docs/api.md, Authentication). Registered as its own
 * encapsulated plugin: its content-type parser keeps the raw bytes for the signature
 * and does not affect the rest of the API. Checks run in this order, each answering
 * before the next can reveal anything: connection (404, before the body is read),
 * body size (413), signature (401), JSON (400).
 */
export async function muxInboundRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  const { db, box, temporal, config } = deps;
  const connections = new WeakMap<FastifyRequest, ConnectionDocument>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  async function lookUpConnection(request: FastifyRequest): Promise<void> {
    const { connection_id: connectionId } = request.params as { connection_id: string };
    const connection = CONNECTION_ID_PATTERN.test(connectionId) ? await findConnection(db, connectionId) : null;
    if (!connection || connection.provider !== 'mux') throw notFound('connection', connectionId);
    connections.set(request, connection);
  }

  app.post(PATH, { schema: inboundRouteSchema(), onRequest: lookUpConnection }, async (request: FastifyRequest, reply: FastifyReply) => {
    const connection = connections.get(request)!;
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);

    const verdict = verifyMuxSignature({
      header: request.headers[MUX_SIGNATURE_HEADER],
      rawBody,
      secret: box.open(connection.webhook_secret_sealed),
    });
    if (!verdict.ok) {
      request.log.warn({ connectionId: connection._id, reason: verdict.reason }, 'rejected Mux webhook');
      // Not thrown: the API's 401s advertise Bearer auth, which this route does not use.
      return reply.code(401).send(errorBody('InvalidSignature', MUX_SIGNATURE_MESSAGES[verdict.reason]));
    }

    let body: unknown;
    try {
      body = parseJson(rawBody.toString('utf8'));
    } catch {
      throw new ApiError('InvalidJson', 'request body is not valid JSON');
    }
    const parsed = parseMuxEvent(body);
    if (!parsed.ok) throw new ApiError('BadRequest', parsed.message);
    const event = parsed.event;
    const handled = isHandledMuxEventType(event.type);
    const inboundEventId = muxInboundEventId(connection._id, event.id);

    const recorded = await recordInboundEvent(db, {
      _id: inboundEventId,
      provider: 'mux',
      provider_event_id: event.id,
      connection_id: connection._id,
      organization_id: connection.organization_id,
      event_type: event.type,
      handled,
      // Only what the workflow needs is kept: the payload of handled types.
      payload: handled ? (body as Record<string, unknown>) : null,
      status: handled ? 'received' : 'ignored',
      received_at: new Date(),
    });
    // A re-send starts the workflow only if the first delivery got no further than the
    // record; Temporal rejects a second start of the same workflow id anyway.
    const mustStart = handled && (recorded || (await findInboundEvent(db, inboundEventId))?.status === 'received');
    if (mustStart) {
      try {
        await startMuxLifecycleWorkflow(temporal, config.TEMPORAL_TASK_QUEUE, {
          inboundEventId,
          connectionId: connection._id,
          organizationId: connection.organization_id,
          eventType: event.type,
        });
      } catch (error) {
        request.log.error({ err: error, inboundEventId }, 'could not start the Mux lifecycle workflow');
        // Mux retries a non-2xx answer; the retry finds the record and starts the workflow.
        throw new ApiError('ServiceUnavailable', 'the event could not be queued for processing; retry later');
      }
    }
    request.log.info({ connectionId: connection._id, muxEventId: event.id, type: event.type, handled, duplicate: !recorded }, 'Mux webhook received');
    return { received: true as const, handled };
  });
}
