import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { webhooksCollection } from '../../src/store/webhook-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Answer, type Receiver } from '../support/receiver';

describe('Slack channel against a real HTTP server standing in for an incoming webhook', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  const receivers: Receiver[] = [];
  let org = '';

  beforeAll(async () => {
    ctx = await createTestContext('channels-slack');
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
  });

  async function slack(answers: Answer[], fallback: Answer = { status: 200, body: 'ok' }) {
    const r = await startReceiver(answers, fallback);
    receivers.push(r);
    return { receiver: r, webhookUrl: r.url.replace(/\/hook$/, '/services/T000/B000/XXXXSECRET') };
  }

  async function settled(eventId: string) {
    return eventually(async () => {
      const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId });
      return delivery && ['delivered', 'failed', 'canceled'].includes(delivery.status) ? delivery : undefined;
    }, 30_000, `delivery of ${eventId} settled`);
  }

  it('posts the rendered message as JSON to the webhook URL, which is stored sealed', async () => {
    const { receiver, webhookUrl } = await slack([]);
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [
        {
          channel: 'slack',
          configs: {
            webhook_url: webhookUrl,
            channel: '#alerts',
            username: 'hookrelay',
            icon_emoji: ':bell:',
            icon_url: 'https://example.com/icon.png',
            blocks_template:
              '[{"type":"section","text":{"type":"mrkdwn","text":"*{{ event_type }}* on `{{ subject.id }}`: {{ metadata.document_count }} docs"}}]',
          },
        },
      ],
    });
    const stored = await webhooksCollection(ctx.db).findOne({ _id: webhook._id });
    expect(JSON.stringify(stored)).not.toContain('XXXXSECRET');

    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_slack', document_count: 5 } });
    const [request] = await receiver.waitFor(1);
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/services/T000/B000/XXXXSECRET');
    expect(request!.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toEqual({
      text: expect.stringContaining('*collection.documents.written*'),
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*collection.documents.written* on `col_slack`: 5 docs' } }],
      channel: '#alerts',
      username: 'hookrelay',
      icon_emoji: ':bell:',
      icon_url: 'https://example.com/icon.png',
    });
    const delivery = await settled(eventId);
    expect(delivery).toMatchObject({ status: 'delivered', channel: 'slack', attempt_count: 1 });
    expect(delivery.attempts[0]).toMatchObject({ status_code: 200, error: null, response_excerpt: 'ok' });
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'action_prohibited'],
    [404, 'no_service'],
    [404, 'channel_not_found'],
  ])('treats HTTP %i %s as a permanent failure, without retrying', async (status, word) => {
    const { receiver, webhookUrl } = await slack([], { status, body: word });
    await createWebhook(ctx, { organizationId: org, channels: [{ channel: 'slack', configs: { webhook_url: webhookUrl } }] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ status_code: status, error: `slack_${word}`, response_excerpt: word });
    expect(delivery.attempts[0]!.error_message).toBe(`Slack answered HTTP ${status}: ${word}`);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // FAST_RETRY would have retried by now
    expect(receiver.requests).toHaveLength(1);
  });

  it('waits for Retry-After on 429, then delivers', async () => {
    const { receiver, webhookUrl } = await slack([{ status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' }]);
    await createWebhook(ctx, { organizationId: org, channels: [{ channel: 'slack', configs: { webhook_url: webhookUrl } }] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const [first, second] = await receiver.waitFor(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts.map((a) => [a.status_code, a.error])).toEqual([
      [429, 'http_429'],
      [200, null],
    ]);
  });

  it('retries 5xx answers until Slack accepts', async () => {
    const { receiver, webhookUrl } = await slack([500, { status: 503, body: 'service_unavailable' }]);
    await createWebhook(ctx, { organizationId: org, channels: [{ channel: 'slack', configs: { webhook_url: webhookUrl } }] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await receiver.waitFor(3);
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts.map((a) => a.status_code)).toEqual([500, 503, 200]);
  });

  it('records a blocks_template that fails at render time as TemplateRenderFailed, sending nothing', async () => {
    const { receiver, webhookUrl } = await slack([]);
    await createWebhook(ctx, {
      organizationId: org,
      channels: [{ channel: 'slack', configs: { webhook_url: webhookUrl, blocks_template: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' } }],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts[0]).toMatchObject({ error: 'template_render_failed' });
    expect(delivery.attempts[0]!.error_message).toMatch(/^blocks_template failed to render/);
    expect(receiver.requests).toHaveLength(0);
  });
});
