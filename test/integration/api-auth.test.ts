import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitEvent } from '../../src/events/emit-event';
import { revokeApiKeys } from '../../src/store/api-key-store';
import { findWebhook } from '../../src/store/webhook-store';
import { startTestApi, webhookBody, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'bin', 'hookrelay.js');
const WEBHOOKS = '/v1/organizations/webhooks';

describe('API keys and organization scoping', () => {
  let ctx: TestContext;
  let api: TestApi;

  beforeAll(async () => {
    ctx = await createTestContext('api-auth');
    api = await startTestApi(ctx, { org: 'org_owner' });
  });

  afterAll(async () => {
    await api?.close();
    await ctx?.close();
  });

  function cli(...args: string[]) {
    return run(process.execPath, [CLI, ...args], {
      env: { ...process.env, MONGODB_URL: ctx.config.MONGODB_URL, MONGODB_DB: ctx.config.MONGODB_DB, LOG_LEVEL: 'silent' },
      timeout: 60_000,
    });
  }

  it('answers 401 in the error shape for a missing, malformed or unknown key', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['empty', { authorization: '' }],
      ['wrong scheme', { authorization: `Basic ${api.key}` }],
      ['bearer without key', { authorization: 'Bearer' }],
      ['not a key', { authorization: 'Bearer sk_live_something' }],
      ['unknown key', { authorization: `Bearer hr_${'A'.repeat(40)}` }],
      ['two tokens', { authorization: `Bearer ${api.key} extra` }],
    ];
    for (const [label, headers] of cases) {
      const response = await api.request('POST', `${WEBHOOKS}/list`, { key: null, headers });
      expect(response.status, label).toBe(401);
      expect(response.body, label).toMatchObject({ success: false, status: 401, error: { type: 'Unauthorized' } });
      expect(response.headers.get('www-authenticate'), label).toBe('Bearer');
    }
    const lowercase = await api.request('POST', `${WEBHOOKS}/list`, { key: null, headers: { authorization: `bearer ${api.key}` } });
    expect(lowercase.status).toBe(200);
  });

  it('checks the key before reading the body (no 400/413 for unauthenticated callers)', async () => {
    const malformed = await api.request('POST', WEBHOOKS, { key: null, raw: '{oops' });
    expect(malformed.status).toBe(401);
    const huge = await api.request('POST', WEBHOOKS, { key: 'hr_nope', raw: 'x'.repeat(400 * 1024) });
    expect(huge.status).toBe(401);
  });

  it('refuses a revoked key', async () => {
    const key = await api.keyFor('org_revoked');
    expect((await api.request('POST', `${WEBHOOKS}/list`, { key })).status).toBe(200);
    expect(await revokeApiKeys(ctx.db, key.slice(0, 12))).toBe(1);
    const response = await api.request('POST', `${WEBHOOKS}/list`, { key });
    expect(response.status).toBe(401);
    expect(response.body.error.message).toMatch(/revoked/);
  });

  it('hookrelay keys create prints a usable key alone on stdout; keys revoke turns it off', async () => {
    const created = await cli('keys', 'create', '--org', 'org_cli');
    const lines = created.stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    const key = lines[0]!;
    expect(key).toMatch(/^hr_[A-Za-z0-9_-]{32,}$/);

    const createdHook = await api.request('POST', WEBHOOKS, { key, body: webhookBody('https://cli.example.com/h') });
    expect(createdHook.status).toBe(201);
    expect((await findWebhook(ctx.db, createdHook.body.webhook_id))!.organization_id).toBe('org_cli');

    const listed = await cli('keys', 'list', '--org', 'org_cli');
    expect(listed.stdout).toContain(key.slice(0, 12));
    expect(listed.stdout).not.toContain(key);

    await expect(cli('keys', 'revoke', 'hr_')).rejects.toMatchObject({ code: 1 });
    const revoked = await cli('keys', 'revoke', key.slice(0, 12));
    expect(revoked.stdout).toMatch(/revoked 1 API key/);
    expect((await api.request('POST', `${WEBHOOKS}/list`, { key })).status).toBe(401);
    await expect(cli('keys', 'create')).rejects.toMatchObject({ code: 1 });
  }, 120_000);

  it("treats another organization's webhook and event exactly like missing ones", async () => {
    const owned = await api.request('POST', WEBHOOKS, { body: webhookBody('https://owner.example.com/h', {}, { headers: { 'X-Owner': 'owner-only' } }) });
    expect(owned.status).toBe(201);
    const id = owned.body.webhook_id as string;
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: 'org_owner',
      event_type: 'collection.documents.written',
      metadata: { collection_id: 'col_1' },
    });
    const intruder = await api.keyFor('org_intruder');
    const unknownId = 'wh_0123456789abcdef';
    const unknownEvent = 'evt_doesnotexist';

    const routes: Array<[string, string, unknown?]> = [
      ['GET', `${WEBHOOKS}/{id}`],
      ['PUT', `${WEBHOOKS}/{id}`, webhookBody('https://intruder.example.com/h')],
      ['PATCH', `${WEBHOOKS}/{id}`, { is_active: false }],
      ['POST', `${WEBHOOKS}/{id}/test`],
      ['GET', `${WEBHOOKS}/{id}/secret`],
      ['POST', `${WEBHOOKS}/{id}/secret/rotate`],
      ['GET', `${WEBHOOKS}/{id}/deliveries`],
      ['GET', `${WEBHOOKS}/events/{event}`],
      ['POST', `${WEBHOOKS}/events/{event}/redeliver`],
    ];
    for (const [method, template, body] of routes) {
      const foreign = await api.request(method, template.replace('{id}', id).replace('{event}', eventId), { key: intruder, body });
      const missing = await api.request(method, template.replace('{id}', unknownId).replace('{event}', unknownEvent), { key: intruder, body });
      expect(foreign.status, `${method} ${template}`).toBe(404);
      expect(missing.status, `${method} ${template}`).toBe(404);
      // Same answer but for the id itself.
      expect(foreign.text.replaceAll(id, 'ID').replaceAll(eventId, 'ID')).toBe(
        missing.text.replaceAll(unknownId, 'ID').replaceAll(unknownEvent, 'ID'),
      );
    }

    const deleted = await api.request('DELETE', `${WEBHOOKS}/${id}`, { key: intruder });
    expect(deleted.status).toBe(204);
    const list = await api.request('POST', `${WEBHOOKS}/list`, { key: intruder });
    expect(list.body.results).toEqual([]);
    expect(list.body.total).toBe(0);

    // Nothing of the owner's changed.
    const still = await api.request('GET', `${WEBHOOKS}/${id}`);
    expect(still.status).toBe(200);
    expect(still.body).toEqual((({ signing_secret: _s, ...rest }) => rest)(owned.body));
    expect((await api.request('GET', `${WEBHOOKS}/events/${eventId}`)).status).toBe(200);
  });

  it('never returned a stored header value in clear', () => {
    expect(api.transcript.join('\n')).not.toContain('owner-only');
  });
});
