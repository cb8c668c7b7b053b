import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChannel } from '../../src/store/channel-secrets';
import { findWebhook, webhooksCollection } from '../../src/store/webhook-store';
import { SEED_CREATE_BODY, startTestApi, webhookBody, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';

// Planted secrets: no response of this file may contain them.
const PLANTED = ['super-secret', 'planted-header-value-1', 'planted-header-value-2', 'hooks.slack.com/services/T000/B000/planted'];

const WEBHOOKS = '/v1/organizations/webhooks';

describe('webhooks API: create, read, update, delete, list', () => {
  let ctx: TestContext;
  let api: TestApi;
  let strictApi: TestApi;

  beforeAll(async () => {
    ctx = await createTestContext('api-webhooks');
    api = await startTestApi(ctx);
    // Production destination rules: https only.
    strictApi = await startTestApi(ctx, { deps: { config: { ...ctx.config, HOOKRELAY_ALLOW_HTTP: false } } });
  });

  afterAll(async () => {
    await api?.close();
    await strictApi?.close();
    await ctx?.close();
  });

  async function create(body: unknown = webhookBody('https://receiver.example.com/hook')) {
    const response = await api.request('POST', WEBHOOKS, { body });
    expect(response.status, response.text).toBe(201);
    return response.body;
  }

  describe('create', () => {
    it("accepts the seed page's curl body verbatim and answers with a Mixpeek webhook and its signing secret", async () => {
      const response = await strictApi.request('POST', WEBHOOKS, { raw: SEED_CREATE_BODY });
      expect(response.status, response.text).toBe(201);
      const webhook = response.body;
      expect(webhook).toMatchObject({
        webhook_name: 'prod-notifications',
        event_types: ['collection.documents.written', 'cluster.completed'],
        channels: [
          {
            channel: 'webhook',
            configs: { url: 'https://hooks.example.com/mixpeek', headers: { 'X-Mixpeek-Secret': '********' }, timeout: 10 },
          },
        ],
        is_active: true,
        retry_policy: null,
        disabled_reason: null,
      });
      expect(webhook.webhook_id).toMatch(/^wh_[0-9a-f]{16}$/);
      expect(webhook.signing_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(new Date(webhook.created_at).toISOString()).toBe(webhook.created_at);
      expect(webhook.updated_at).toBe(webhook.created_at);
      expect(webhook).not.toHaveProperty('organization_id');
      expect(webhook).not.toHaveProperty('signing_secrets');

      // Stored sealed, not in clear; scoped to the key's organization.
      const stored = await findWebhook(ctx.db, webhook.webhook_id);
      expect(stored!.organization_id).toBe(strictApi.org);
      const header = (stored!.channels[0]!.configs.headers as Record<string, string>)['X-Mixpeek-Secret'];
      expect(header).not.toBe('super-secret');
      expect((openChannel(stored!.channels[0]!, ctx.box).configs.headers as Record<string, string>)['X-Mixpeek-Secret']).toBe('super-secret');

      const read = await strictApi.request('GET', `${WEBHOOKS}/${webhook.webhook_id}`);
      expect(read.status).toBe(200);
      expect(read.body).not.toHaveProperty('signing_secret');
      const { signing_secret: _secret, ...withoutSecret } = webhook;
      expect(read.body).toEqual(withoutSecret);
    });

    it('accepts the trailing-slash path too', async () => {
      const response = await api.request('POST', `${WEBHOOKS}/`, { raw: SEED_CREATE_BODY });
      expect(response.status).toBe(201);
      expect(response.body.signing_secret).toMatch(/^whsec_/);
    });

    it('accepts every channel type, wildcards and a retry policy', async () => {
      const webhook = await create({
        webhook_name: 'all channels',
        event_types: ['*', 'object.*', 'cluster.execution.failed'],
        channels: [
          { channel: 'webhook', configs: { url: 'https://a.example.com/h', headers: { 'X-Token': 'planted-header-value-1' } } },
          { channel: 'slack', configs: { webhook_url: 'https://hooks.slack.com/services/T000/B000/planted', channel: '#alerts' } },
          { channel: 'email', configs: { to_addresses: ['oncall@example.com'], subject_template: 'Event {{ event_type }}' } },
          { channel: 'sms', configs: { phone_numbers: ['+14155550123'] } },
        ],
        retry_policy: { initial_interval: '10s', maximum_attempts: 5 },
      });
      expect(webhook.event_types).toEqual(['*', 'object.*', 'cluster.execution.failed']);
      expect(webhook.channels.map((c: { channel: string }) => c.channel)).toEqual(['webhook', 'slack', 'email', 'sms']);
      expect(webhook.channels[0].configs).toMatchObject({ headers: { 'X-Token': '********' }, timeout: 10 });
      expect(webhook.channels[1].configs.webhook_url).toBe('********');
      expect(webhook.channels[2].configs).toMatchObject({ to_addresses: ['oncall@example.com'], content_type: 'html' });
      expect(webhook.retry_policy).toEqual({ initial_interval: '10s', maximum_attempts: 5 });
    });

    it('answers 422 listing every offending field', async () => {
      const response = await api.request('POST', WEBHOOKS, {
        body: {
          webhook_name: '',
          event_types: ['collection.documents.written', 'no.such.type', 'cluster.*.failed'],
          channels: [
            {
              channel: 'webhook',
              configs: {
                url: 'ftp://files.example.com/x',
                headers: { 'X-Ok': 'fine', 'X-Bad': 'a\r\nInjected: yes', 'Bad Name': 'x' },
                timeout: 600,
                payload_template: { id: '{{ event_id }}', broken: '{{ event_id | no_such_filter }}' },
              },
            },
            { channel: 'slack', configs: {} },
            { channel: 'email', configs: { to_addresses: ['not-an-address'], body_template: '{% if %}unclosed' } },
            { channel: 'sms', configs: { phone_numbers: ['555-1234'] } },
            { channel: 'fax', configs: {} },
            { channel: 'webhook', configs: { url: 'https://10.1.2.3/internal' } },
          ],
          retry_policy: { initial_interval: 'soon' },
        },
      });
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ success: false, status: 422, error: { type: 'ValidationError' } });
      const details = response.body.error.details as Array<{ loc: Array<string | number>; msg: string; type: string }>;
      const locs = details.map((d) => d.loc.join('.'));
      expect(locs).toEqual(
        expect.arrayContaining([
          'body.webhook_name',
          'body.event_types.1',
          'body.event_types.2',
          'body.channels.0.configs.url',
          'body.channels.0.configs.headers.X-Bad',
          'body.channels.0.configs.headers.Bad Name',
          'body.channels.0.configs.timeout',
          'body.channels.1.configs.webhook_url',
          'body.channels.0.configs.payload_template.broken',
          'body.channels.2.configs.to_addresses.0',
          'body.channels.2.configs.body_template',
          'body.channels.3.configs.phone_numbers.0',
          'body.channels.4.channel',
          'body.channels.5.configs.url',
          'body.retry_policy.initial_interval',
        ]),
      );
      expect(details.find((d) => d.loc.join('.') === 'body.channels.1.configs.webhook_url')!.type).toBe('missing');
      expect(details.find((d) => d.loc.join('.') === 'body.channels.5.configs.url')!.msg).toMatch(/blocked/);
      for (const detail of details) expect(typeof detail.msg).toBe('string');
      // FastAPI-style clients find the same list under `detail`.
      expect(response.body.detail).toEqual(details);
    });

    it('refuses plain http unless HOOKRELAY_ALLOW_HTTP is set', async () => {
      const body = webhookBody('http://receiver.example.com/hook');
      const refused = await strictApi.request('POST', WEBHOOKS, { body });
      expect(refused.status).toBe(422);
      expect(refused.body.error.details[0]).toMatchObject({ loc: ['body', 'channels', 0, 'configs', 'url'] });
      expect(refused.body.error.details[0].msg).toMatch(/https/);
      expect((await api.request('POST', WEBHOOKS, { body })).status).toBe(201);
    });

    it('refuses a masked placeholder as a new secret', async () => {
      const response = await api.request('POST', WEBHOOKS, {
        body: webhookBody('https://a.example.com/h', {}, { headers: { 'X-Token': '********' } }),
      });
      expect(response.status).toBe(422);
      expect(response.body.error.details[0].loc).toEqual(['body', 'channels', 0, 'configs']);
    });

    it('answers 400 for malformed JSON, 413 for an oversized body, 415 for another media type, 422 for no body', async () => {
      const malformed = await api.request('POST', WEBHOOKS, { raw: '{"webhook_name": "x",' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({ success: false, status: 400, error: { type: 'InvalidJson' } });

      const poisoned = await api.request('POST', WEBHOOKS, { raw: '{"__proto__": {"admin": true}}' });
      expect(poisoned.status).toBe(400);

      const huge = JSON.stringify(webhookBody('https://a.example.com/h', { webhook_name: 'x'.repeat(300 * 1024) }));
      const tooLarge = await api.request('POST', WEBHOOKS, { raw: huge });
      expect(tooLarge.status).toBe(413);
      expect(tooLarge.body).toMatchObject({ success: false, status: 413, error: { type: 'PayloadTooLarge' } });

      const text = await api.request('POST', WEBHOOKS, { raw: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);
      expect(text.body.error.type).toBe('UnsupportedMediaType');

      const empty = await api.request('POST', WEBHOOKS, { raw: '' });
      expect(empty.status).toBe(422);
      expect(empty.body.error.details).toEqual([{ loc: ['body'], msg: expect.any(String), type: 'missing' }]);

      const array = await api.request('POST', WEBHOOKS, { body: [1, 2] });
      expect(array.status).toBe(422);
    });
  });

  describe('get', () => {
    it('answers 404 in the error shape for unknown and malformed ids', async () => {
      for (const id of ['wh_0000000000000000', 'not-an-id', 'x'.repeat(200)]) {
        const response = await api.request('GET', `${WEBHOOKS}/${id}`);
        expect(response.status).toBe(404);
        expect(response.body).toMatchObject({ success: false, status: 404, error: { type: 'NotFound', details: { resource: 'webhook', id } } });
      }
      const tooLong = await api.request('GET', `${WEBHOOKS}/${'x'.repeat(400)}`);
      expect(tooLong.status).toBe(404);
      expect(tooLong.body.error.type).toBe('NotFound');
      const badUrl = await api.request('GET', `${WEBHOOKS}/%E0%A4%A`);
      expect(badUrl.status).toBe(400);
      expect(badUrl.body.error.type).toBe('BadRequest');
    });
  });

  describe('update', () => {
    it('PUT replaces the definition; a masked header value sent back keeps the stored secret', async () => {
      const created = await create(
        webhookBody('https://a.example.com/one', { event_types: ['object.created'] }, { headers: { 'X-Keep': 'planted-header-value-2' } }),
      );
      const read = (await api.request('GET', `${WEBHOOKS}/${created.webhook_id}`)).body;
      const put = await api.request('PUT', `${WEBHOOKS}/${created.webhook_id}`, {
        body: {
          ...read,
          webhook_name: 'renamed',
          event_types: ['object.*'],
          channels: [
            { channel: 'webhook', configs: { url: 'https://b.example.com/two', headers: { 'X-New': 'fresh-value' } } },
            read.channels[0],
          ],
        },
      });
      expect(put.status, put.text).toBe(200);
      expect(put.body).toMatchObject({
        webhook_id: created.webhook_id,
        webhook_name: 'renamed',
        event_types: ['object.*'],
        created_at: created.created_at,
      });
      expect(put.body.channels[1].configs.headers).toEqual({ 'X-Keep': '********' });
      expect(put.body).not.toHaveProperty('signing_secret');
      expect(new Date(put.body.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(created.updated_at).getTime());

      // Reordered channels keep their own secrets (matched by URL).
      const stored = await findWebhook(ctx.db, created.webhook_id);
      const opened = stored!.channels.map((c) => openChannel(c, ctx.box).configs.headers);
      expect(opened).toEqual([{ 'X-New': 'fresh-value' }, { 'X-Keep': 'planted-header-value-2' }]);
    });

    it('PUT validates like create and answers 404 for unknown ids', async () => {
      const created = await create();
      const invalid = await api.request('PUT', `${WEBHOOKS}/${created.webhook_id}`, { body: { webhook_name: 'only a name' } });
      expect(invalid.status).toBe(422);
      expect(invalid.body.error.details.map((d: { loc: string[] }) => d.loc.join('.'))).toEqual(['body.event_types', 'body.channels']);
      const unknown = await api.request('PUT', `${WEBHOOKS}/wh_0000000000000000`, { body: webhookBody('https://a.example.com/h') });
      expect(unknown.status).toBe(404);
    });

    it('PUT refuses a masked value for a header that is not stored', async () => {
      const created = await create();
      const response = await api.request('PUT', `${WEBHOOKS}/${created.webhook_id}`, {
        body: webhookBody('https://a.example.com/h', {}, { headers: { 'X-Other': '********' } }),
      });
      expect(response.status).toBe(422);
      expect(response.body.error.details[0].loc).toEqual(['body', 'channels', 0, 'configs']);
    });

    it('PUT keeps a masked Slack webhook URL', async () => {
      const created = await create({
        webhook_name: 'slack',
        event_types: ['*'],
        channels: [{ channel: 'slack', configs: { webhook_url: 'https://hooks.slack.com/services/T000/B000/planted' } }],
      });
      const put = await api.request('PUT', `${WEBHOOKS}/${created.webhook_id}`, { body: { ...created, webhook_name: 'slack 2' } });
      expect(put.status, put.text).toBe(200);
      const stored = await findWebhook(ctx.db, created.webhook_id);
      expect(openChannel(stored!.channels[0]!, ctx.box).configs.webhook_url).toBe('https://hooks.slack.com/services/T000/B000/planted');
    });

    it('PATCH changes only the fields given', async () => {
      const created = await create(webhookBody('https://a.example.com/h', { retry_policy: { maximum_attempts: 3 } }, { headers: { 'X-K': 'v' } }));
      const patched = await api.request('PATCH', `${WEBHOOKS}/${created.webhook_id}`, { body: { is_active: false } });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ is_active: false, webhook_name: created.webhook_name, retry_policy: { maximum_attempts: 3 } });
      expect(patched.body.channels).toEqual(created.channels);

      const reset = await api.request('PATCH', `${WEBHOOKS}/${created.webhook_id}`, { body: { retry_policy: null } });
      expect(reset.body.retry_policy).toBeNull();

      const empty = await api.request('PATCH', `${WEBHOOKS}/${created.webhook_id}`, { body: {} });
      expect(empty.status).toBe(422);
      const invalid = await api.request('PATCH', `${WEBHOOKS}/${created.webhook_id}`, { body: { event_types: [] } });
      expect(invalid.status).toBe(422);
      expect(invalid.body.error.details[0].loc).toEqual(['body', 'event_types']);
      expect((await api.request('PATCH', `${WEBHOOKS}/wh_0000000000000000`, { body: { is_active: true } })).status).toBe(404);
    });

    it('reactivating a webhook hookrelay disabled clears its disabled_reason', async () => {
      const created = await create();
      await webhooksCollection(ctx.db).updateOne(
        { _id: created.webhook_id },
        { $set: { is_active: false, disabled_reason: 'receiver answered 410 Gone' } },
      );
      const disabled = await api.request('GET', `${WEBHOOKS}/${created.webhook_id}`);
      expect(disabled.body).toMatchObject({ is_active: false, disabled_reason: 'receiver answered 410 Gone' });
      const patched = await api.request('PATCH', `${WEBHOOKS}/${created.webhook_id}`, { body: { is_active: true } });
      expect(patched.body).toMatchObject({ is_active: true, disabled_reason: null });
    });
  });

  describe('delete', () => {
    it('answers 204 every time, also for unknown ids', async () => {
      const created = await create();
      const first = await api.request('DELETE', `${WEBHOOKS}/${created.webhook_id}`);
      expect(first.status).toBe(204);
      expect(first.text).toBe('');
      expect((await api.request('DELETE', `${WEBHOOKS}/${created.webhook_id}`)).status).toBe(204);
      expect((await api.request('DELETE', `${WEBHOOKS}/wh_ffffffffffffffff`)).status).toBe(204);
      expect((await api.request('GET', `${WEBHOOKS}/${created.webhook_id}`)).status).toBe(404);
    });
  });

  describe('list', () => {
    let key: string;
    const ids: string[] = [];

    beforeAll(async () => {
      key = await api.keyFor('org_list');
      for (let i = 0; i < 25; i++) {
        const body = webhookBody(`https://list.example.com/${i}`, {
          webhook_name: `list-${i}`,
          event_types: i % 5 === 0 ? ['*'] : i % 5 === 1 ? ['cluster.*'] : ['object.created'],
          is_active: i % 2 === 0,
        });
        const response = await api.request('POST', WEBHOOKS, { key, body });
        expect(response.status).toBe(201);
        ids.push(response.body.webhook_id);
      }
    });

    const list = (query = '', body?: unknown) => api.request('POST', `${WEBHOOKS}/list${query}`, { key, body });

    it('pages newest first with a cursor until the last page', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const response = await list(`?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        expect(response.status).toBe(200);
        pages++;
        seen.push(...response.body.results.map((w: { webhook_id: string }) => w.webhook_id));
        expect(response.body.total).toBe(25);
        expect(response.body.pagination.page_size).toBe(10);
        cursor = response.body.pagination.next_cursor;
        if (cursor) expect(response.body.pagination.next_page).toContain(`cursor=${cursor}`);
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('pages by offset, with totals on request', async () => {
      const first = await list('?limit=10&include_total=true');
      expect(first.body.pagination).toMatchObject({ total: 25, total_pages: 3, page: 1, page_size: 10, previous_page: null });
      const second = await list('?limit=10&offset=10&include_total=true');
      expect(second.body.pagination).toMatchObject({ total: 25, total_pages: 3, page: 2, next_page: '?limit=10&offset=20&include_total=true' });
      expect(second.body.pagination.previous_page).toBe('?limit=10&offset=0&include_total=true');
      const byCursor = await list(`?limit=10&cursor=${first.body.pagination.next_cursor}`);
      expect(second.body.results).toEqual(byCursor.body.results);
      const last = await list('?limit=10&offset=20');
      expect(last.body.results).toHaveLength(5);
      expect(last.body.pagination).toMatchObject({ next_cursor: null, next_page: null, total: null, total_pages: null });
      const beyond = await list('?offset=100');
      expect(beyond.body.results).toEqual([]);
    });

    it('defaults to 20 per page and filters by event type (wildcards included) and is_active', async () => {
      const all = await list();
      expect(all.body.results).toHaveLength(20);
      expect(all.body.pagination.next_cursor).toEqual(expect.any(String));

      const cluster = await list('?limit=100', { event_type: 'cluster.execution.completed' });
      // "*" (i % 5 == 0) and "cluster.*" (i % 5 == 1) subscribers.
      expect(cluster.body.total).toBe(10);
      for (const webhook of cluster.body.results) expect(['*', 'cluster.*']).toContain(webhook.event_types[0]);

      const inactive = await list('?limit=100', { is_active: false });
      expect(inactive.body.total).toBe(12);
      expect(inactive.body.results.every((w: { is_active: boolean }) => !w.is_active)).toBe(true);

      const both = await list('?limit=100', { event_type: 'object.created', is_active: true });
      expect(both.body.results.every((w: { is_active: boolean; event_types: string[] }) => w.is_active)).toBe(true);
      expect(both.body.total).toBe(both.body.results.length);
    });

    it('answers 422 for bad paging parameters and filters', async () => {
      for (const [query, loc] of [
        ['?limit=0', 'query.limit'],
        ['?limit=101', 'query.limit'],
        ['?limit=abc', 'query.limit'],
        ['?offset=-1', 'query.offset'],
        ['?include_total=maybe', 'query.include_total'],
        ['?cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
        ['?cursor=%%%', 'query.cursor'],
        [`?offset=10&cursor=x`, 'query.offset'],
      ] as const) {
        const response = await list(query);
        expect(response.status, query).toBe(422);
        expect(response.body.error.details.map((d: { loc: string[] }) => d.loc.join('.')), query).toContain(loc);
      }
      const badFilter = await list('', { is_active: 'yes' });
      expect(badFilter.status).toBe(422);
      expect(badFilter.body.error.details[0].loc).toEqual(['body', 'is_active']);
    });
  });

  it('never returned a stored header value or Slack URL in clear', () => {
    const everything = [...api.transcript, ...strictApi.transcript].join('\n');
    expect(api.transcript.length).toBeGreaterThan(30);
    for (const planted of PLANTED) expect(everything).not.toContain(planted);
  });
});
