import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Ajv2020 from 'ajv/dist/2020';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/emit-event';
import { freePort } from '../../src/infra/free-port';
import { createMetrics } from '../../src/observability/metrics';
import { SEED_CREATE_BODY, startTestApi, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { eventually } from '../support/fixtures';

const WEBHOOKS = '/v1/organizations/webhooks';

/** The routes this API defines, with their methods; the document must list them (and any others the app serves). */
const ROUTES: Record<string, string[]> = {
  '/healthz': ['get'],
  '/readyz': ['get'],
  '/metrics': ['get'],
  [WEBHOOKS]: ['post'],
  [`${WEBHOOKS}/`]: ['post'],
  [`${WEBHOOKS}/list`]: ['post'],
  [`${WEBHOOKS}/{webhook_id}`]: ['get', 'put', 'patch', 'delete'],
  [`${WEBHOOKS}/event-types`]: ['get'],
  [`${WEBHOOKS}/{webhook_id}/test`]: ['post'],
  [`${WEBHOOKS}/{webhook_id}/secret`]: ['get'],
  [`${WEBHOOKS}/{webhook_id}/secret/rotate`]: ['post'],
  [`${WEBHOOKS}/{webhook_id}/deliveries`]: ['get'],
  [`${WEBHOOKS}/events/{event_id}`]: ['get'],
  [`${WEBHOOKS}/events/{event_id}/redeliver`]: ['post'],
};

/**
 * Every (path, method) the app really serves, read from Fastify's route tree, in
 * OpenAPI spelling; HEAD (automatic for GET) and the documentation's own routes left out.
 */
function servedRoutes(app: TestApi['app']): Set<string> {
  const served = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│   | {4})*)[├└]── (.+?) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    stack.length = match[1]!.length / 4;
    stack.push(match[2]!);
    const path = stack.join('').replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    if (path.startsWith('/docs') || path === '/openapi.json') continue;
    for (const method of match[3]!.split(', ')) if (method !== 'HEAD' && method !== 'OPTIONS') served.add(`${method.toLowerCase()} ${path}`);
  }
  return served;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, any>;

/** Walks every object of a JSON document. */
function* walk(node: unknown, path = '#'): Generator<[string, Json]> {
  if (node === null || typeof node !== 'object') return;
  yield [path, node as Json];
  for (const [key, value] of Object.entries(node)) yield* walk(value, `${path}/${key}`);
}

describe('service endpoints and the OpenAPI document', () => {
  let ctx: TestContext;
  let api: TestApi;

  beforeAll(async () => {
    ctx = await createTestContext('api-service');
    api = await startTestApi(ctx, { deps: { metrics: createMetrics() } });
  });

  afterAll(async () => {
    await api?.close();
    await ctx?.close();
  });

  it('answers /healthz and /readyz without a key', async () => {
    const health = await api.request('GET', '/healthz', { key: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await api.request('GET', '/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { mongodb: 'ok', temporal: 'ok' } });
  });

  it('answers /readyz 503 naming what is down', async () => {
    const deadMongo = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300 });
    const deadTemporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const broken = await startTestApi(ctx, { deps: { db: deadMongo.db('x'), temporal: deadTemporal, metrics: createMetrics() } });
    try {
      const response = await broken.request('GET', '/readyz', { key: null });
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ success: false, status: 503, error: { type: 'ServiceUnavailable' } });
      expect(response.body.error.message).toMatch(/mongodb and temporal/);
      expect(response.body.error.details.checks.mongodb).toMatch(/^unreachable/);
      expect(response.body.error.details.checks.temporal).toMatch(/^unreachable/);
      // Liveness does not depend on them.
      expect((await broken.request('GET', '/healthz', { key: null })).status).toBe(200);
    } finally {
      await broken.close();
      await deadMongo.close();
    }
  }, 30_000);

  it('serves Prometheus metrics, with events by status counted from MongoDB', async () => {
    for (let i = 0; i < 3; i++) {
      await emitEvent(ctx.db, { organization_id: 'org_metrics', event_type: 'object.created', metadata: { bucket_id: 'b', object_id: `o${i}` } });
    }
    const response = await api.request('GET', '/metrics', { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(response.text).toContain('# TYPE hookrelay_webhook_events gauge');
    // No worker or dispatcher runs in this file: the events stay pending.
    expect(response.text).toMatch(/^hookrelay_webhook_events\{status="pending"\} 3$/m);
    expect(response.text).toMatch(/^hookrelay_webhook_events\{status="delivered"\} 0$/m);
    expect(response.text).toContain('# TYPE hookrelay_delivery_attempt_duration_seconds histogram');
    expect(response.text).toContain('# TYPE hookrelay_dispatch_lag_seconds histogram');
  });

  it('serves a structurally valid OpenAPI 3 document listing every route', async () => {
    const response = await api.request('GET', '/openapi.json', { key: null });
    expect(response.status).toBe(200);
    const doc = response.body as Json;
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));

    const documented = new Set(
      Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item as Json)
          .filter((key) => HTTP_METHODS.includes(key))
          .map((method) => `${method} ${path}`),
      ),
    );
    for (const [path, methods] of Object.entries(ROUTES)) {
      for (const method of methods) expect(documented, `${method} ${path}`).toContain(`${method} ${path}`);
    }
    const served = servedRoutes(api.app);
    expect(served.size).toBeGreaterThanOrEqual(17);
    expect([...documented].sort()).toEqual([...served].sort());

    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries(item as Json)) {
        if (!HTTP_METHODS.includes(method)) continue;
        const where = `${method.toUpperCase()} ${path}`;
        expect(operation.operationId, where).toEqual(expect.any(String));
        expect(operationIds.has(operation.operationId), `${where}: duplicate operationId`).toBe(false);
        operationIds.add(operation.operationId);
        expect(Object.keys(operation.responses).length, where).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(operation.responses as Json)) {
          expect(status, where).toMatch(/^([1-5]\d\d|[1-5]XX|default)$/);
          expect(response.description, `${where} ${status}`).toEqual(expect.any(String));
        }
        const pathParams = (operation.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
        expect(pathParams.sort(), where).toEqual([...templated].sort());
        for (const parameter of operation.parameters ?? []) {
          expect(['query', 'header', 'path', 'cookie'], where).toContain(parameter.in);
          expect(parameter.schema ?? parameter.content, where).toBeDefined();
          if (parameter.in === 'path') expect(parameter.required, where).toBe(true);
        }
        if (path.startsWith('/v1/organizations/')) expect(operation.security, where).toEqual([{ bearerAuth: [] }]);
        if (operation.requestBody) expect(operation.requestBody.content['application/json'].schema, where).toBeDefined();
      }
    }

    // Every $ref resolves, and every schema compiles as JSON Schema 2020-12 (OpenAPI 3.1's dialect).
    const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    for (const [name, schema] of Object.entries(doc.components.schemas as Json)) ajv.addSchema(schema, `#/components/schemas/${name}`);
    for (const [path, node] of walk(doc)) {
      if (typeof node.$ref === 'string') {
        const target = node.$ref.replace('#/components/schemas/', '');
        expect(doc.components.schemas, `${path}: ${node.$ref}`).toHaveProperty([target]);
      }
    }
    const validator = (schema: Json) => ajv.compile({ ...schema, $defs: undefined });
    for (const [name, schema] of Object.entries(doc.components.schemas as Json)) expect(() => validator(schema), name).not.toThrow();

    // The documented shapes match what the API really answers.
    const validate = (name: string, value: unknown) => {
      const check = ajv.getSchema(`#/components/schemas/${name}`)!;
      expect(check(value), `${name}: ${JSON.stringify(check.errors)}`).toBe(true);
    };
    const created = await api.request('POST', WEBHOOKS, { raw: SEED_CREATE_BODY });
    validate('CreatedWebhook', created.body);
    validate('Webhook', (await api.request('GET', `${WEBHOOKS}/${created.body.webhook_id}`)).body);
    validate('ErrorResponse', (await api.request('GET', `${WEBHOOKS}/wh_0000000000000000`)).body);
    validate('ErrorResponse', (await api.request('POST', WEBHOOKS, { body: { webhook_name: 1 } })).body);
    validate('ErrorResponse', (await api.request('POST', WEBHOOKS, { key: null })).body);
    validate('PaginationResponse', (await api.request('POST', `${WEBHOOKS}/list?limit=1`)).body.pagination);
    validate('WebhookInput', JSON.parse(SEED_CREATE_BODY));
  });

  it('serves the interactive documentation at /docs', async () => {
    const response = await fetch(`${api.url}/docs`, { redirect: 'follow' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/swagger/i);
  });

  it('answers unknown routes and methods with 404 in the error shape', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', `${WEBHOOKS}/list`],
      ['PUT', WEBHOOKS],
      ['GET', `${WEBHOOKS}/wh_0000000000000000/unknown`],
      ['POST', '/v1/organizations/other'],
    ] as const) {
      const response = await api.request(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body, `${method} ${path}`).toMatchObject({ success: false, status: 404, error: { type: 'NotFound' } });
    }
  });

  it('`hookrelay api` serves the API on PORT and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'bin', 'hookrelay.js'), 'api'], {
      env: {
        ...process.env,
        MONGODB_URL: ctx.config.MONGODB_URL,
        MONGODB_DB: ctx.config.MONGODB_DB,
        TEMPORAL_ADDRESS: ctx.config.TEMPORAL_ADDRESS,
        TEMPORAL_TASK_QUEUE: ctx.config.TEMPORAL_TASK_QUEUE,
        HOOKRELAY_ENCRYPTION_KEY: ctx.config.HOOKRELAY_ENCRYPTION_KEY,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        return response.status === 200 ? response : undefined;
      }, 30_000, `hookrelay api on port ${port} (${stderr})`);
      expect(await ready.json()).toMatchObject({ status: 'ready' });
      const listed = await fetch(`http://127.0.0.1:${port}${WEBHOOKS}/list`, { method: 'POST', headers: { authorization: `Bearer ${api.key}` } });
      expect(listed.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
