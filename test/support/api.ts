import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiDeps } from '../../src/api/app';
import { createLogger } from '../../src/observability/logger';
import { createApiKey } from '../../src/store/api-key-store';
import type { TestContext } from './context';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined for empty or non-JSON bodies). */
  body: T;
}

export interface RequestOptions {
  /** API key sent as `Authorization: Bearer <key>`; null sends no Authorization header. */
  key?: string | null;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  /** Sent as is (malformed JSON, oversized bodies…). */
  raw?: string;
  headers?: Record<string, string>;
}

export interface TestApi {
  app: FastifyInstance;
  url: string;
  /** Default API key of `request` (organization `org`). */
  key: string;
  org: string;
  /** Every response body this API returned, for the no-secrets-in-clear scan. */
  transcript: string[];
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** A new key for another organization. */
  keyFor(org: string): Promise<string>;
  close(): Promise<void>;
}

/** The real app on a loopback port, called over real HTTP. */
export async function startTestApi(ctx: TestContext, options: { org?: string; deps?: Partial<ApiDeps> } = {}): Promise<TestApi> {
  const org = options.org ?? 'org_api';
  const app = await buildApp({
    db: ctx.db,
    box: ctx.box,
    temporal: ctx.client,
    config: ctx.config,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options.deps,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const transcript: string[] = [];
  const { key } = await createApiKey(ctx.db, org);

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    const presented = opts.key === undefined ? key : opts.key;
    if (presented !== null) headers.authorization = `Bearer ${presented}`;
    let body: string | undefined = opts.raw;
    if (body === undefined && opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    transcript.push(text);
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed as T };
  }

  return {
    app,
    url,
    key,
    org,
    transcript,
    request,
    keyFor: async (other) => (await createApiKey(ctx.db, other)).key,
    close: () => app.close(),
  };
}

/** The seed page's "Create a Webhook" body, verbatim. */
export const SEED_CREATE_BODY = `{
    "webhook_name": "prod-notifications",
    "event_types": [
      "collection.documents.written",
      "cluster.completed"
    ],
    "channels": [
      {
        "channel": "webhook",
        "configs": {
          "url": "https://hooks.example.com/mixpeek",
          "headers": { "X-Mixpeek-Secret": "super-secret"},
          "timeout": 10
        }
      }
    ]
  }`;

/** A webhook body for a loopback receiver. */
export function webhookBody(url: string, overrides: Record<string, unknown> = {}, configs: Record<string, unknown> = {}) {
  return {
    webhook_name: `hook-${Math.random().toString(36).slice(2, 8)}`,
    event_types: ['collection.documents.written'],
    channels: [{ channel: 'webhook', configs: { url, timeout: 5, ...configs } }],
    retry_policy: { initial_interval: '1s', backoff_coefficient: 1, maximum_interval: '1s', maximum_attempts: 10, expiration: '5m' },
    ...overrides,
  };
}
