import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import type { StoredChannel } from '../../src/store/webhook-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startSmtpServer, type SmtpTestServer } from './channels-servers';

describe('email channel over a real SMTP server', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let smtp: SmtpTestServer;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    ctx = await createTestContext('channels-email', { SMTP_URL: smtp.url, SMTP_FROM: 'alerts@hookrelay.test' });
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await ctx?.close();
    await smtp?.close();
  });

  // Every test has its own organization, so an event reaches only that test's webhook.
  let org = '';
  beforeEach(({ task }) => {
    org = `org_${task.id.replace(/[^a-z0-9]/gi, '')}`;
  });

  function email(configs: Record<string, unknown>): StoredChannel {
    return { channel: 'email', configs: { to_addresses: ['ops@example.com'], content_type: 'html', ...configs } };
  }

  async function settled(eventId: string, webhookId: string) {
    return eventually(async () => {
      const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhookId });
      return delivery && ['delivered', 'failed', 'canceled'].includes(delivery.status) ? delivery : undefined;
    }, 30_000, `delivery of ${eventId} settled`);
  }

  it('sends the rendered email to to/cc/bcc recipients; Bcc is in the envelope only', async () => {
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [
        email({
          to_addresses: ['ops@example.com', 'oncall@example.com'],
          cc_addresses: ['lead@example.com'],
          bcc_addresses: ['audit@example.com', 'hidden@example.org'],
          subject_template: 'Docs written: {{ metadata.document_count }} in {{ subject.id }}',
          body_template: '<p>Collection <b>{{ metadata.collection_id }}</b> got {{ metadata.document_count }} documents.</p>',
        }),
      ],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_mail', document_count: 7 } });
    const delivery = await settled(eventId, webhook._id);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts[0]).toMatchObject({ n: 1, error: null });
    expect(delivery.attempts[0]!.response_excerpt).toMatch(/queued as test/);

    const mail = smtp.accepted.find((m) => m.headers['x-hookrelay-event-id'] === eventId)!;
    expect(mail).toBeDefined();
    expect(mail.mailFrom).toBe('alerts@hookrelay.test');
    expect([...mail.rcptTo].sort()).toEqual(
      ['audit@example.com', 'hidden@example.org', 'lead@example.com', 'oncall@example.com', 'ops@example.com'].sort(),
    );
    expect(mail.headers.to).toBe('ops@example.com, oncall@example.com');
    expect(mail.headers.cc).toBe('lead@example.com');
    expect(mail.headers).not.toHaveProperty('bcc');
    expect(mail.raw).not.toContain('audit@example.com');
    expect(mail.raw).not.toContain('hidden@example.org');
    expect(mail.headers.from).toBe('alerts@hookrelay.test');
    expect(mail.headers.subject).toBe('Docs written: 7 in col_mail');
    expect(mail.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(mail.body).toContain('<p>Collection <b>col_mail</b> got 7 documents.</p>');
    expect(mail.headers['message-id']).toBe(`<${delivery._id}@hookrelay.test>`);
    expect(mail.headers['auto-submitted']).toBe('auto-generated');
  });

  it('renders each content type with its MIME type', async () => {
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [
        email({ content_type: 'plain_text', subject_template: 'plain {{ event_id }}', body_template: 'Count: {{ metadata.document_count }} {{ metadata.note }}' }),
        email({ content_type: 'markdown', subject_template: 'markdown {{ event_id }}', body_template: '## {{ subject.id }}\n\n*note*: {{ metadata.note }}' }),
        email({ content_type: 'json', subject_template: 'json {{ event_id }}' }),
        email({ content_type: 'html', subject_template: 'html {{ event_id }}' }),
      ],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_types', document_count: 2, note: '<script>x()</script>' } });
    await eventually(async () => {
      const docs = await deliveriesCollection(ctx.db).find({ event_id: eventId, webhook_id: webhook._id }).toArray();
      return docs.length === 4 && docs.every((d) => d.status === 'delivered');
    }, 30_000, 'four email deliveries');
    const bySubject = (prefix: string) => smtp.accepted.find((m) => m.headers.subject === `${prefix} ${eventId}`)!;

    const plain = bySubject('plain');
    expect(plain.headers['content-type']).toMatch(/^text\/plain/);
    expect(plain.body).toContain('Count: 2 <script>x()</script>');

    const markdown = bySubject('markdown');
    expect(markdown.headers['content-type']).toMatch(/^multipart\/alternative/);
    const [textPart, htmlPart] = markdown.parts;
    expect(textPart!.contentType).toMatch(/^text\/plain/);
    expect(textPart!.body).toContain('## col_types');
    expect(htmlPart!.contentType).toMatch(/^text\/html/);
    expect(htmlPart!.body).toContain('<h2>col_types</h2>');
    expect(htmlPart!.body).toContain('<em>note</em>');
    expect(htmlPart!.body).toContain('&lt;script&gt;x()&lt;/script&gt;');
    expect(htmlPart!.body).not.toContain('<script>');

    const json = bySubject('json');
    expect(json.headers['content-type']).toMatch(/^text\/plain/);
    expect(JSON.parse(json.body)).toMatchObject({ event_id: eventId, metadata: { collection_id: 'col_types', document_count: 2 } });

    const html = bySubject('html');
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('&lt;script&gt;x()&lt;/script&gt;');
    expect(html.body).not.toContain('<script>');
  });

  it('fails permanently on a 550 answer, without retrying', async () => {
    smtp.answer = (mail) => (mail.headers.subject === 'reject me' ? { code: 550, message: 'mailbox unavailable' } : 'accept');
    const { webhook } = await createWebhook(ctx, { organizationId: org, channels: [email({ subject_template: 'reject me' })] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId, webhook._id);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempt_count).toBe(1);
    expect(delivery.attempts[0]).toMatchObject({ n: 1, error: 'smtp_550', status_code: null });
    expect(delivery.attempts[0]!.error_message).toMatch(/^SMTP 550: .*mailbox unavailable/);
    await eventually(async () => (await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status === 'failed', 10_000, 'event failed');
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // FAST_RETRY would have retried by now
    expect(smtp.received.filter((m) => m.headers['x-hookrelay-event-id'] === eventId)).toHaveLength(1);
  });

  it('retries a 451 answer and then delivers, with the same Message-ID', async () => {
    let rejected = 0;
    smtp.answer = (mail) => (mail.headers.subject === 'try again' && rejected++ === 0 ? { code: 451, message: 'greylisted, try later' } : 'accept');
    const { webhook } = await createWebhook(ctx, { organizationId: org, channels: [email({ subject_template: 'try again' })] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId, webhook._id);
    expect(delivery.status).toBe('delivered');
    expect(delivery.attempts.map((a) => a.error)).toEqual(['smtp_451', null]);
    expect(delivery.attempts[0]!.error_message).toMatch(/greylisted/);
    const tries = smtp.received.filter((m) => m.headers['x-hookrelay-event-id'] === eventId);
    expect(tries).toHaveLength(2);
    expect(tries[0]!.headers['message-id']).toBe(tries[1]!.headers['message-id']);
  });

  it('records a template that fails at render time as a permanent TemplateRenderFailed', async () => {
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [email({ body_template: '{% for i in (1..100000000) %}{{ i }}{% endfor %}' })],
    });
    const before = smtp.received.length;
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId, webhook._id);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ error: 'template_render_failed' });
    expect(delivery.attempts[0]!.error_message).toMatch(/^body_template failed to render: .*limit exceeded/);
    expect(smtp.received.length).toBe(before);
  });
});
