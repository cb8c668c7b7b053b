import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { createTestContext, type TestContext } from '../support/context';
import { historyText } from '../support/history-text';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Answer, type Receiver } from '../support/receiver';
import { startSmsServer, startSmtpServer, type SmsTestServer, type SmtpTestServer } from './channels-servers';

describe('one webhook, four channels; payload_template', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let smtp: SmtpTestServer;
  let sms: SmsTestServer;
  const receivers: Receiver[] = [];
  let org = '';

  beforeAll(async () => {
    smtp = await startSmtpServer();
    sms = await startSmsServer();
    ctx = await createTestContext('channels-fanout', {
      SMTP_URL: smtp.url,
      SMS_API_URL: sms.url,
      SMS_ACCOUNT_SID: 'AC00000000000000000000000000000001',
      SMS_AUTH_TOKEN: 'token',
      SMS_FROM: '+15550000000',
    });
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
  });

  beforeEach(({ task }) => {
    org = `org_${task.id.replace(/[^a-z0-9]/gi, '')}`;
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await ctx?.close();
    await smtp?.close();
    await sms?.close();
  });

  async function receiver(answers: Answer[] = [], fallback: Answer = 200): Promise<Receiver> {
    const r = await startReceiver(answers, fallback);
    receivers.push(r);
    return r;
  }

  it('delivers the event on every channel; a failing channel retries without holding back the others', async () => {
    const hook = await receiver();
    const slack = await receiver([500, 500], { status: 200, body: 'ok' });
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [
        { channel: 'webhook', configs: { url: hook.url, timeout: 5 } },
        { channel: 'slack', configs: { webhook_url: slack.url } },
        { channel: 'email', configs: { to_addresses: ['team@example.com'], subject_template: 'fanout {{ event_id }}', content_type: 'plain_text' } },
        { channel: 'sms', configs: { phone_numbers: ['+14155559001'], message_template: 'fanout {{ event_id }}' } },
      ],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });

    // The three healthy channels finish while Slack is still failing.
    const early = await eventually(async () => {
      const docs = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
      const delivered = docs.filter((d) => d.status === 'delivered').map((d) => d.channel).sort();
      return delivered.length === 3 ? docs : undefined;
    }, 20_000, 'webhook, email and sms delivered');
    expect(early.filter((d) => d.status === 'delivered').map((d) => d.channel).sort()).toEqual(['email', 'sms', 'webhook']);
    const slackDelivery = early.find((d) => d.channel === 'slack');
    if (slackDelivery) expect(slackDelivery.status).not.toBe('delivered');

    expect(JSON.parse(hook.requests[0]!.body)).toMatchObject({ event_id: eventId });
    expect(smtp.accepted.some((m) => m.headers.subject === `fanout ${eventId}`)).toBe(true);
    expect(sms.to('+14155559001').map((r) => r.form.Body)).toEqual([`fanout ${eventId}`]);

    const event = await eventually(async () => {
      const doc = await eventsCollection(ctx.db).findOne({ _id: eventId });
      return doc?.status === 'delivered' ? doc : undefined;
    }, 20_000, 'event delivered');
    expect(event.status).toBe('delivered');
    expect(slack.requests).toHaveLength(3);
    const docs = await deliveriesCollection(ctx.db).find({ event_id: eventId, webhook_id: webhook._id }).sort({ channel_index: 1 }).toArray();
    expect(docs.map((d) => [d.channel_index, d.channel, d.status, d.attempt_count])).toEqual([
      [0, 'webhook', 'delivered', 1],
      [1, 'slack', 'delivered', 3],
      [2, 'email', 'delivered', 1],
      [3, 'sms', 'delivered', 1],
    ]);

    // Workflow history carries ids and status codes only: no Slack URL, addresses or numbers.
    const history = await historyText(ctx.client, eventId);
    expect(history).toContain('deliver:');
    for (const forbidden of [slack.url, new URL(slack.url).host, 'team@example.com', '+14155559001', `fanout ${eventId}`]) {
      expect(history).not.toContain(forbidden);
    }
  });

  it('renders payload_template string values at any depth into the signed JSON body', async () => {
    const hook = await receiver();
    const { signingSecret } = await createWebhook(ctx, {
      organizationId: org,
      channels: [
        {
          channel: 'webhook',
          configs: {
            url: hook.url,
            timeout: 5,
            payload_template: {
              type: 'mixpeek.{{ event_type }}',
              id: '{{ event_id }}',
              data: {
                collection: '{{ metadata.collection_id | upcase }}',
                count: '{{ metadata.document_count }}',
                summary: '{{ metadata.document_count }} documents in {{ subject.id }}',
                tags: ['static', '{{ namespace_id }}', 7, true, null],
              },
              raw_metadata: '{{ metadata }}',
            },
          },
        },
      ],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_tpl', document_count: 9 } });
    const [request] = await hook.waitFor(1);
    const body = new Webhook(signingSecret).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(body).toEqual({
      type: 'mixpeek.collection.documents.written',
      id: eventId,
      data: {
        collection: 'COL_TPL',
        count: 9,
        summary: '9 documents in col_tpl',
        tags: ['static', 'ns_test', 7, true, null],
      },
      raw_metadata: { collection_id: 'col_tpl', document_count: 9 },
    });
    expect(request!.headers['content-type']).toBe('application/json');
  });

  it('fails a payload_template that breaks at render time permanently, with the error in the attempt log', async () => {
    const hook = await receiver();
    await createWebhook(ctx, {
      organizationId: org,
      channels: [{ channel: 'webhook', configs: { url: hook.url, payload_template: { ok: '{{ event_id }}', big: { list: ['{% for i in (1..100000000) %}{{ i }}{% endfor %}'] } } } }],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await eventually(async () => {
      const doc = await deliveriesCollection(ctx.db).findOne({ event_id: eventId });
      return doc?.status === 'failed' ? doc : undefined;
    }, 20_000, 'delivery failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ error: 'template_render_failed', status_code: null });
    expect(delivery.attempts[0]!.error_message).toMatch(/^payload_template\.big\.list\[0\] failed to render: .*memory alloc limit exceeded/);
    expect(hook.requests).toHaveLength(0);
    await eventually(async () => (await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status === 'failed', 10_000, 'event failed');
  });
});
