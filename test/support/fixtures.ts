import { Client } from '@temporalio/client';
import pino from 'pino';
import { Dispatcher, type DispatcherOptions } from '../../src/dispatcher/dispatcher';
import { emitEvent } from '../../src/events/emit-event';
import type { StoredChannel, StoredRetryPolicy, WebhookDocument } from '../../src/store/webhook-store';
import { insertWebhook } from '../../src/store/webhook-store';
import { buildWebhookDocument } from '../../src/webhooks/new-webhook';
import type { TestContext } from './context';

export const ORG = 'org_test';

/** Retries in about a second instead of the production schedule's minutes. */
export const FAST_RETRY: StoredRetryPolicy = {
  initial_interval: '1s',
  backoff_coefficient: 1,
  maximum_interval: '1s',
  maximum_attempts: 10,
  expiration: '5m',
};

export interface WebhookFixture {
  webhook: WebhookDocument;
  signingSecret: string;
}

export async function createWebhook(
  ctx: TestContext,
  options: {
    url?: string;
    channels?: StoredChannel[];
    eventTypes?: string[];
    headers?: Record<string, string>;
    timeout?: number;
    retryPolicy?: StoredRetryPolicy | null;
    organizationId?: string;
  },
): Promise<WebhookFixture> {
  const channels = options.channels ?? [
    {
      channel: 'webhook' as const,
      configs: { url: options.url, headers: options.headers ?? {}, timeout: options.timeout ?? 5 },
    },
  ];
  const { webhook, signingSecret } = buildWebhookDocument(
    {
      webhook_name: `hook-${Math.random().toString(36).slice(2, 8)}`,
      event_types: options.eventTypes ?? ['collection.documents.written'],
      channels,
      retry_policy: options.retryPolicy === undefined ? FAST_RETRY : options.retryPolicy,
    },
    options.organizationId ?? ORG,
    ctx.box,
  );
  await insertWebhook(ctx.db, webhook);
  return { webhook, signingSecret };
}

export async function emitTestEvent(
  ctx: TestContext,
  overrides: { eventId?: string; eventType?: string; organizationId?: string; metadata?: Record<string, unknown> } = {},
): Promise<string> {
  const { eventId } = await emitEvent(ctx.db, {
    event_id: overrides.eventId,
    organization_id: overrides.organizationId ?? ORG,
    namespace_id: 'ns_test',
    event_type: overrides.eventType ?? 'collection.documents.written',
    metadata: overrides.metadata ?? { collection_id: 'col_products', document_count: 3 },
  });
  return eventId;
}

/**
 * A dispatcher on the test's database and task queue. `eager` starts workflows through
 * the worker's own connection, as `hookrelay start` does when both run in one process.
 */
export async function startDispatcher(
  ctx: TestContext,
  options: Partial<DispatcherOptions> & { eager?: boolean } = {},
): Promise<Dispatcher> {
  const { eager, ...rest } = options;
  const dispatcher = new Dispatcher({
    db: ctx.db,
    client: eager ? new Client({ connection: ctx.nativeConnection, namespace: ctx.config.TEMPORAL_NAMESPACE }) : ctx.client,
    eagerStart: eager ?? false,
    taskQueue: ctx.taskQueue,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    sweepIntervalMs: 500,
    sweepGraceMs: 1_000,
    ...rest,
  });
  await dispatcher.start();
  return dispatcher;
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${label} not reached in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

/** The environment of a `hookrelay` command run against the test's servers and task queue. */
export function cliEnvironment(ctx: TestContext, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MONGODB_URL: ctx.config.MONGODB_URL,
    MONGODB_DB: ctx.config.MONGODB_DB,
    TEMPORAL_ADDRESS: ctx.config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: ctx.taskQueue,
    ...extra,
  };
}
