import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/emit-event';
import { revokeApiKeys } from '../../src/store/api-key-store';
import { eventsCollection } from '../../src/store/event-store';
import { startTestApi, webhookBody, type ApiResponse, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';

/**
 * Every route of the served /openapi.json (so a new route is covered without touching
 * this file) × {no key, malformed key, revoked key, another organization's key}:
 * 401, 401, 401 and 404 (or, for collection routes, only the caller's own data), never
 * organization A's data. Path parameters name resources owned by organization A.
 */

const ORG_A = 'org_matrix_a';
const ORG_B = 'org_matrix_b';
const BUCKET = 'bkt_matrix';

// Routes without an API key, on purpose: probes and scrapers, and the signature-authenticated
// Mux inbound webhook (covered by mux-connections-api and mux-lifecycle tests).
const PUBLIC_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'POST /v1/webhooks/mux/{connection_id}'];

// Path parameters that name a stored resource: another organization's id is "not found".
// bucket_id only scopes a collection (each organization has its own buckets of any name).
const RESOURCE_PARAMS = new Set(['webhook_id', 'event_id', 'connection_id', 'object_id']);

interface Operation {
  method: string;
  template: string;
  operationId: string;
  params: string[];
  hasBody: boolean;
}

describe('auth matrix over every route of /openapi.json', () => {
  let ctx: TestContext;
  let api: TestApi;
  let operations: Operation[] = [];
  let publicRoutes: string[] = [];
  const owned: Record<string, string> = {};
  /** Strings that only organization A's data contains. */
  const markers: string[] = [];
  const keys: Record<string, string> = {};
  let snapshot: Record<string, string> = {};

  beforeAll(async () => {
    ctx = await createTestContext('api-auth-matrix');
    api = await startTestApi(ctx, { org: ORG_A });

    const hookName = `matrix-a-${Math.random().toString(36).slice(2, 10)}`;
    const hookUrl = `https://a-only-${Math.random().toString(36).slice(2, 10)}.example.com/hook`;
    const webhook = await api.request('POST', '/v1/organizations/webhooks', {
      body: webhookBody(hookUrl, { webhook_name: hookName }, { headers: { 'X-A-Only': 'a-header-value' } }),
    });
    expect(webhook.status, webhook.text).toBe(201);
    const connection = await api.request('POST', '/v1/organizations/connections', {
      body: { provider: 'mux', connection_name: `${hookName}-conn`, webhook_secret: 'a-mux-secret', bucket_id: BUCKET },
    });
    expect(connection.status, connection.text).toBe(201);
    const object = await api.request('POST', `/v1/organizations/buckets/${BUCKET}/objects`, {
      body: { namespace_id: 'ns_matrix_a', metadata: { title: `${hookName}-object` } },
    });
    expect(object.status, object.text).toBe(201);
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: ORG_A,
      namespace_id: 'ns_matrix_a',
      event_type: 'collection.documents.written',
      metadata: { collection_id: `col_${hookName}` },
    });
    await eventsCollection(ctx.db).updateOne({ _id: eventId }, { $set: { status: 'dispatched', dispatched_at: new Date() } });

    Object.assign(owned, {
      webhook_id: webhook.body.webhook_id,
      connection_id: connection.body.connection_id,
      object_id: object.body.object_id,
      event_id: eventId,
      bucket_id: BUCKET,
    });
    markers.push(owned.webhook_id!, owned.connection_id!, owned.object_id!, eventId, hookName, hookUrl, ORG_A, webhook.body.signing_secret);

    keys.b = await api.keyFor(ORG_B);
    keys.revoked = await api.keyFor(ORG_A);
    expect((await api.request('POST', '/v1/organizations/webhooks/list', { key: keys.revoked })).status).toBe(200);
    expect(await revokeApiKeys(ctx.db, keys.revoked)).toBe(1);

    snapshot = await readOwned();

    const document = (await api.request('GET', '/openapi.json', { key: null })).body as {
      paths: Record<string, Record<string, { operationId: string; security?: unknown[]; parameters?: Array<{ in: string; name: string }>; requestBody?: unknown }>>;
    };
    for (const [template, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const route = `${method.toUpperCase()} ${template}`;
        if (!operation.security || operation.security.length === 0) {
          publicRoutes.push(route);
          continue;
        }
        operations.push({
          method: method.toUpperCase(),
          template,
          operationId: operation.operationId,
          params: [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!),
          hasBody: operation.requestBody !== undefined,
        });
      }
    }
  });

  afterAll(async () => {
    await api?.close();
    await ctx?.close();
  });

  /** A's resources as A sees them. */
  async function readOwned(): Promise<Record<string, string>> {
    const paths = {
      webhook: `/v1/organizations/webhooks/${owned.webhook_id}`,
      secret: `/v1/organizations/webhooks/${owned.webhook_id}/secret`,
      connection: `/v1/organizations/connections/${owned.connection_id}`,
      object: `/v1/organizations/buckets/${BUCKET}/objects/${owned.object_id}`,
      event: `/v1/organizations/webhooks/events/${owned.event_id}`,
    };
    const result: Record<string, string> = {};
    for (const [name, path] of Object.entries(paths)) {
      const response = await api.request('GET', path);
      expect(response.status, `${name}: ${response.text}`).toBe(200);
      result[name] = response.text;
    }
    return result;
  }

  function pathOf(operation: Operation): string {
    return operation.template.replace(/\{([^}]+)\}/g, (_match, name: string) => {
      const value = owned[name];
      if (value === undefined) throw new Error(`${operation.method} ${operation.template}: no organization A value for {${name}}; add one to the matrix`);
      return encodeURIComponent(value);
    });
  }

  /** A request body that is valid for the operation, so a 404/401 is about who asks, not what. */
  function bodyOf(operation: Operation): unknown {
    switch (operation.operationId) {
      case 'createWebhook':
      case 'createWebhookTrailingSlash':
      case 'replaceWebhook':
        return webhookBody('https://b.example.com/hook');
      case 'updateWebhook':
        return { is_active: false };
      case 'createConnection':
      case 'createConnectionTrailingSlash':
        return { provider: 'mux', webhook_secret: 'b-secret', bucket_id: BUCKET };
      case 'createObject':
        return { metadata: { by: 'b' } };
      default:
        return operation.hasBody ? {} : undefined;
    }
  }

  function call(operation: Operation, auth: { key?: string | null; headers?: Record<string, string> }): Promise<ApiResponse> {
    return api.request(operation.method, pathOf(operation), { ...auth, body: bodyOf(operation) });
  }

  /** Organization A's data in a response, leaving out the ids the caller itself put in the path. */
  function leakedMarkers(response: ApiResponse, operation: Operation): string[] {
    let text = response.text;
    for (const name of operation.params) text = text.replaceAll(owned[name]!, '<path>');
    return markers.filter((marker) => text.includes(marker));
  }

  const label = (operation: Operation, who: string) => `${operation.method} ${operation.template} with ${who}`;

  it('finds the routes in the served document; only the known public routes go without a key', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(publicRoutes.sort()).toEqual([...PUBLIC_ROUTES].sort());
    for (const operation of operations) expect(operation.template.startsWith('/v1/organizations/'), label(operation, '')).toBe(true);
  });

  it.each([
    ['no key', {}],
    ['an empty Authorization header', { authorization: '' }],
    ['a malformed key', { authorization: 'Bearer hr_!!not-a-key!!' }],
    ['a malformed Authorization header', { authorization: 'Basic b3JnX21hdHJpeF9hOnNlY3JldA==' }],
    ['a well-formed unknown key', { authorization: `Bearer hr_${'Q'.repeat(43)}` }],
  ])('every route answers 401 to %s', async (who, headers) => {
    for (const operation of operations) {
      const response = await call(operation, { key: null, headers });
      expect(response.status, `${label(operation, who)}: ${response.text}`).toBe(401);
      expect(response.body?.error?.type, label(operation, who)).toBe('Unauthorized');
      expect(response.headers.get('www-authenticate'), label(operation, who)).toBe('Bearer');
      expect(leakedMarkers(response, operation), label(operation, who)).toEqual([]);
    }
  });

  it('every route answers 401 to a revoked key of the same organization', async () => {
    for (const operation of operations) {
      const response = await call(operation, { key: keys.revoked });
      expect(response.status, `${label(operation, 'a revoked key')}: ${response.text}`).toBe(401);
      expect(response.body?.error?.type).toBe('Unauthorized');
      expect(leakedMarkers(response, operation), label(operation, 'a revoked key')).toEqual([]);
    }
  });

  it("another organization's key: 404 for A's resources, only its own data in collections", async () => {
    const checked = { notFound: 0, collections: 0, deletes: 0 };
    for (const operation of operations) {
      const who = label(operation, "organization B's key");
      const response = await call(operation, { key: keys.b });
      expect(leakedMarkers(response, operation), who).toEqual([]);
      const namesResource = operation.params.some((name) => RESOURCE_PARAMS.has(name));
      if (!namesResource) {
        // A collection: B works on its own (possibly empty) data.
        expect(response.status, `${who}: ${response.text}`).toBeGreaterThanOrEqual(200);
        expect(response.status, `${who}: ${response.text}`).toBeLessThan(300);
        checked.collections += 1;
      } else if (operation.method === 'DELETE') {
        // Deletes are idempotent: 204 for unknown and foreign ids alike, and nothing of A's goes.
        expect(response.status, `${who}: ${response.text}`).toBe(204);
        checked.deletes += 1;
      } else {
        expect(response.status, `${who}: ${response.text}`).toBe(404);
        expect(response.body?.error?.type, who).toBe('NotFound');
        checked.notFound += 1;
      }
    }
    expect(checked.notFound).toBeGreaterThanOrEqual(10);
    expect(checked.collections).toBeGreaterThanOrEqual(5);
    expect(checked.deletes).toBeGreaterThanOrEqual(3);

    // B's lists hold none of A's resources.
    for (const path of ['/v1/organizations/connections', `/v1/organizations/buckets/${BUCKET}/objects`]) {
      const listed = await api.request('GET', path, { key: keys.b });
      expect(listed.status).toBe(200);
      expect(listed.body.results.length).toBeGreaterThan(0); // B's own, created above
      expect(markers.filter((marker) => listed.text.includes(marker)), path).toEqual([]);
    }
    const webhooks = await api.request('POST', '/v1/organizations/webhooks/list', { key: keys.b });
    expect(markers.filter((marker) => webhooks.text.includes(marker))).toEqual([]);
  });

  it("leaves organization A's resources exactly as they were, and A still reaches them", async () => {
    expect(await readOwned()).toEqual(snapshot);
    const own = await api.request('POST', '/v1/organizations/webhooks/list');
    expect(own.text).toContain(owned.webhook_id);
    // The markers are real: A's own answers contain them.
    expect(snapshot.webhook).toContain(markers[4]);
    expect(snapshot.object).toContain(owned.object_id);
  });
});
