import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Db } from 'mongodb';
import { EVENT_STATUSES } from '../../domain/event-envelope';
import type { Logger } from '../../observability/logger';
import { eventsCollection } from '../../store/event-store';
import type { ApiDeps } from '../deps';
import { errorBody } from '../errors';
import { routeSchema } from '../openapi';

const TAGS = ['Service'];
const CHECK_TIMEOUT_MS = 3_000;
const EVENTS_GAUGE = 'hookrelay_webhook_events';

const healthSchema = z.object({ status: z.literal('ok') });
const readySchema = z.object({
  status: z.literal('ready'),
  checks: z.record(z.string(), z.string()).describe('Each dependency: "ok" or what is wrong'),
});

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Events by status, counted from MongoDB when Prometheus scrapes (one indexed count
 * per status). Replaces an earlier gauge of the same name so a registry shared by
 * several app instances (tests) keeps working.
 */
function registerEventsGauge(registry: Registry, db: Db, logger: Logger): void {
  registry.removeSingleMetric(EVENTS_GAUGE);
  new Gauge({
    name: EVENTS_GAUGE,
    help: 'Events in webhook_events by status, counted at scrape time',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await Promise.all(EVENT_STATUSES.map((status) => eventsCollection(db).countDocuments({ status })));
        EVENT_STATUSES.forEach((status, i) => this.set({ status }, counts[i]!));
      } catch (error) {
        logger.warn({ err: error }, 'could not count events for /metrics');
      }
    },
  });
}

/** Liveness, readiness and Prometheus metrics (no API key: for orchestrators and scrapers). */
export async function serviceRoutes(app: FastifyInstance, { deps, registry }: { deps: ApiDeps; registry: Registry }) {
  const { db, temporal, config } = deps;
  registerEventsGauge(registry, db, deps.logger);

  app.get(
    '/healthz',
    {
      schema: routeSchema({
        operationId: 'healthz',
        summary: 'Liveness',
        tags: TAGS,
        auth: false,
        responses: { 200: { description: 'The process is up', schema: healthSchema } },
      }),
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: routeSchema({
        operationId: 'readyz',
        summary: 'Readiness: MongoDB and Temporal reachable',
        tags: TAGS,
        auth: false,
        responses: { 200: { description: 'Ready', schema: readySchema } },
        errors: [503],
      }),
    },
    async (_request, reply) => {
      const checks = await Promise.all([
        check('mongodb', () => db.command({ ping: 1 })),
        check('temporal', () => temporal.workflowService.describeNamespace({ namespace: config.TEMPORAL_NAMESPACE })),
      ]);
      const results = Object.fromEntries(checks);
      const down = checks.filter(([, result]) => result !== 'ok').map(([name]) => name);
      if (down.length === 0) return { status: 'ready' as const, checks: results };
      return reply.code(503).send(errorBody('ServiceUnavailable', `not ready: ${down.join(' and ')} unreachable`, { checks: results }));
    },
  );

  app.get(
    '/metrics',
    {
      schema: routeSchema({
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: TAGS,
        auth: false,
        produces: ['text/plain'],
        responses: { 200: { description: 'Prometheus text exposition format', schema: z.string() } },
      }),
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}

async function check(name: string, probe: () => Promise<unknown>): Promise<[string, string]> {
  try {
    await withTimeout(probe(), name);
    return [name, 'ok'];
  } catch (error) {
    return [name, `unreachable: ${(error as Error).message}`];
  }
}
