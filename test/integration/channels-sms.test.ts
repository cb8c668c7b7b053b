import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection, type DeliveryDocument } from '../../src/store/delivery-store';
import type { ChannelAttempt } from '../../src/delivery/channel-sender';
import { createHttpTransport, TransportError } from '../../src/delivery/http-transport';
import { createSmsChannel } from '../../src/delivery/sms-channel';
import { parseCidrList } from '../../src/security/ssrf';
import type { StoredChannel, WebhookDocument } from '../../src/store/webhook-store';
import { createTemplateEngine } from '../../src/templates/engine';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startSmsServer, type SmsTestServer } from './channels-servers';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'sms-auth-token-for-tests';
const FROM = '+15550000000';

type WithProgress = DeliveryDocument & { sms_progress?: Record<string, Record<string, { state: string; sid?: string | null }>> };

describe('SMS channel against a real Twilio-like HTTP server', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let sms: SmsTestServer;
  let org = '';
  let numberBase = 14155550100;

  beforeAll(async () => {
    sms = await startSmsServer();
    ctx = await createTestContext('channels-sms', {
      SMS_API_URL: sms.url,
      SMS_ACCOUNT_SID: SID,
      SMS_AUTH_TOKEN: TOKEN,
      SMS_FROM: FROM,
    });
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
  });

  beforeEach(({ task }) => {
    org = `org_${task.id.replace(/[^a-z0-9]/gi, '')}`;
    sms.answer = () => undefined;
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await ctx?.close();
    await sms?.close();
  });

  /** Fresh numbers per test, so requests of different tests never mix. */
  function numbers(count: number): string[] {
    return Array.from({ length: count }, () => `+${++numberBase}`);
  }

  function smsChannel(phoneNumbers: string[], extra: Record<string, unknown> = {}): StoredChannel {
    return { channel: 'sms', configs: { phone_numbers: phoneNumbers, ...extra } };
  }

  async function settled(eventId: string): Promise<WithProgress> {
    return eventually(async () => {
      const delivery = await deliveriesCollection(ctx.db).findOne({ event_id: eventId });
      return delivery && ['delivered', 'failed', 'canceled'].includes(delivery.status) ? (delivery as WithProgress) : undefined;
    }, 30_000, `delivery of ${eventId} settled`);
  }

  it('sends one message per number: POST, Basic auth, form fields To/From/Body', async () => {
    const [a, b] = numbers(2);
    const { webhook } = await createWebhook(ctx, {
      organizationId: org,
      channels: [smsChannel([a!, b!], { message_template: '{{ event_type }}: {{ metadata.document_count }} docs in {{ subject.id }}' })],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org, metadata: { collection_id: 'col_sms', document_count: 4 } });
    const delivery = await settled(eventId);
    expect(delivery).toMatchObject({ status: 'delivered', channel: 'sms', webhook_id: webhook._id, channel_index: 0, attempt_count: 1 });

    for (const number of [a!, b!]) {
      const [request, ...more] = sms.to(number);
      expect(more).toHaveLength(0);
      expect(request!.method).toBe('POST');
      expect(request!.path).toBe(`/2010-04-01/Accounts/${SID}/Messages.json`);
      expect(request!.headers.authorization).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
      expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(request!.form).toEqual({ To: number, From: FROM, Body: 'collection.documents.written: 4 docs in col_sms' });
    }
    const excerpt = delivery.attempts[0]!.response_excerpt!;
    expect(excerpt).toMatch(new RegExp(`\\${a}: sent SM\\d+ \\(attempt 1\\)`));
    expect(excerpt).toMatch(new RegExp(`\\${b}: sent SM\\d+ \\(attempt 1\\)`));
    expect(delivery.attempts[0]!.status_code).toBe(201);
  });

  it('re-sends only the numbers not yet sent when the provider answers 5xx for one', async () => {
    const [ok, flaky] = numbers(2);
    sms.answer = (request, n) => (request.form.To === flaky && n < 2 ? { status: 500 } : undefined);
    await createWebhook(ctx, { organizationId: org, channels: [smsChannel([ok!, flaky!])] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('delivered');
    expect(sms.to(ok!)).toHaveLength(1);
    expect(sms.to(flaky!)).toHaveLength(3);
    expect(delivery.attempts.map((attempt) => attempt.error)).toEqual(['http_500', 'http_500', null]);
    expect(delivery.attempts[0]!.response_excerpt).toContain(`${flaky}: to retry, HTTP 500`);
    expect(delivery.attempts[2]!.response_excerpt).toMatch(new RegExp(`\\${ok}: sent SM\\d+ \\(attempt 1\\)`));
    expect(delivery.attempts[2]!.response_excerpt).toMatch(new RegExp(`\\${flaky}: sent SM\\d+ \\(attempt 3\\)`));
    const [round] = Object.values(delivery.sms_progress ?? {});
    expect(round![ok!]!.state).toBe('sent');
    expect(round![flaky!]!.state).toBe('sent');
  });

  it('waits for Retry-After on 429', async () => {
    const [number] = numbers(1);
    sms.answer = (_request, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '2' }, body: { code: 20429, message: 'Too Many Requests' } } : undefined);
    await createWebhook(ctx, { organizationId: org, channels: [smsChannel([number!])] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('delivered');
    const [first, second] = sms.to(number!);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2_000);
    expect(delivery.attempts.map((attempt) => [attempt.status_code, attempt.error])).toEqual([
      [429, 'http_429'],
      [201, null],
    ]);
  });

  it('fails permanently on a 4xx for a number, keeps the others sent, and retries nothing', async () => {
    const [good, bad] = numbers(2);
    sms.answer = (request) =>
      request.form.To === bad ? { status: 400, body: { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 } } : undefined;
    await createWebhook(ctx, { organizationId: org, channels: [smsChannel([good!, bad!])] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]!.error).toBe('sms_refused');
    expect(delivery.attempts[0]!.error_message).toContain(`1 of 2 sent; ${bad} refused (http_400: 21211 The 'To' number is not a valid phone number.)`);
    expect(delivery.attempts[0]!.response_excerpt).toContain(`${bad}: refused HTTP 400 21211`);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // FAST_RETRY would have retried by now
    expect(sms.to(good!)).toHaveLength(1);
    expect(sms.to(bad!)).toHaveLength(1);
  });

  it('never re-sends a number whose request may have reached the provider (timeout)', async () => {
    const [slow, fine] = numbers(2);
    sms.answer = (request) => (request.form.To === slow ? 'hang' : undefined);
    // A one-second attempt timeout keeps the test short (not settable through the API for SMS).
    await createWebhook(ctx, { organizationId: org, channels: [smsChannel([slow!, fine!], { timeout: 1 })] });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await settled(eventId);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ error: 'sms_outcome_unknown' });
    expect(delivery.attempts[0]!.error_message).toContain(`${slow} outcome unknown (timeout), not re-sent`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sms.to(slow!)).toHaveLength(1);
    expect(sms.to(fine!)).toHaveLength(1);
  });

  it('truncates a long message to 1600 characters without splitting an emoji', async () => {
    const [number] = numbers(1);
    await createWebhook(ctx, {
      organizationId: org,
      channels: [smsChannel([number!], { message_template: `${'x'.repeat(1598)}😀{{ event_type }}` })],
    });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    await settled(eventId);
    const body = sms.to(number!)[0]!.form.Body!;
    expect(body).toBe(`${'x'.repeat(1598)}…`);
  });
});

describe('SMS progress across attempts and rounds (sender called directly, real MongoDB and HTTP)', () => {
  let ctx: TestContext;
  let sms: SmsTestServer;

  beforeAll(async () => {
    sms = await startSmsServer();
    ctx = await createTestContext('channels-sms-rounds');
  });

  afterAll(async () => {
    await ctx?.close();
    await sms?.close();
  });

  function sender() {
    return createSmsChannel({
      db: ctx.db,
      transport: ctx.transport,
      engine: createTemplateEngine(),
      settings: { apiUrl: sms.url, accountSid: SID, authToken: TOKEN, from: FROM },
    });
  }

  function attempt(deliveryId: string, runId: string, n: number, phoneNumbers: string[]): ChannelAttempt {
    const event = {
      _id: `evt_${deliveryId}`,
      organization_id: 'org_rounds',
      namespace_id: null,
      event_type: 'collection.documents.written',
      occurred_at: new Date(),
      subject: { type: 'collection', id: 'col_r' },
      metadata: { collection_id: 'col_r', document_count: 1 },
      cache_scope: { scope: 'collection' as const, collection_id: 'col_r' },
      status: 'dispatched' as const,
      created_at: new Date(),
    };
    const channel: StoredChannel = { channel: 'sms', configs: { phone_numbers: phoneNumbers } };
    const webhook = { _id: 'wh_00000000000000aa', webhook_name: 'rounds', channels: [channel] } as unknown as WebhookDocument;
    return { event, webhook, channel, deliveryId, channelIndex: 0, runId, attempt: n, attemptTimeoutMs: 2_000, now: new Date() };
  }

  it('a number left "sending" by an attempt that died is not re-sent; a redelivery (new run) sends again', async () => {
    const deliveryId = 'msg_rounds_1';
    const [stuck, fresh] = ['+14155551001', '+14155551002'];
    // Attempt 1 of run A died after claiming `stuck` (nothing recorded).
    await ctx.db.collection('webhook_deliveries').insertOne({
      _id: deliveryId as never,
      sms_progress: { runA: { [stuck]: { state: 'sending', attempt: 1, at: new Date() } } },
    });
    const second = await sender().send(attempt(deliveryId, 'runA', 2, [stuck, fresh]));
    expect(second).toMatchObject({ kind: 'permanent', error: 'sms_outcome_unknown' });
    expect(sms.to(stuck)).toHaveLength(0);
    expect(sms.to(fresh)).toHaveLength(1);

    const third = await sender().send(attempt(deliveryId, 'runA', 3, [stuck, fresh]));
    expect(third.kind).toBe('permanent');
    expect(sms.requests).toHaveLength(1); // nothing sent again within the run

    const redelivery = await sender().send(attempt(deliveryId, 'runB', 1, [stuck, fresh]));
    expect(redelivery.kind).toBe('delivered');
    expect(sms.to(stuck)).toHaveLength(1);
    expect(sms.to(fresh)).toHaveLength(2);
  });

  it('re-sends a number whose request timed out waiting for a connection: it never left', async () => {
    // One connection to the provider, held by a hanging request: the SMS requests queue behind it.
    const narrow = createHttpTransport({ allowHttp: true, allowedCidrs: parseCidrList('127.0.0.0/8'), userAgent: 'hookrelay/test', connectionsPerOrigin: 1 });
    try {
      const channel = createSmsChannel({
        db: ctx.db,
        transport: narrow,
        engine: createTemplateEngine(),
        settings: { apiUrl: sms.url, accountSid: SID, authToken: TOKEN, from: FROM },
      });
      const numbers = ['+14155551011', '+14155551012'];
      sms.answer = (request) => (request.path === '/blocker' ? 'hang' : undefined);
      const blocker = narrow.send({ url: `${sms.url}/blocker`, headers: {}, body: '', timeoutMs: 1_500 }).catch((error: unknown) => error);
      await eventually(async () => sms.requests.some((r) => r.path === '/blocker'), 5_000, 'blocker on the wire');

      const first = await channel.send({ ...attempt('msg_rounds_3', 'runA', 1, numbers), attemptTimeoutMs: 500 });
      expect(first).toMatchObject({ kind: 'retry', error: 'timeout' });
      for (const number of numbers) expect(first.responseExcerpt).toContain(`${number}: to retry, timeout`);
      expect(sms.requests.filter((r) => numbers.includes(r.form.To!))).toHaveLength(0);
      const blocked = (await blocker) as TransportError;
      expect(blocked).toBeInstanceOf(TransportError);
      expect([blocked.code, blocked.requestSent]).toEqual(['timeout', true]); // that one did go out

      const second = await channel.send({ ...attempt('msg_rounds_3', 'runA', 2, numbers), attemptTimeoutMs: 2_000 });
      expect(second.kind).toBe('delivered');
      for (const number of numbers) expect(sms.to(number)).toHaveLength(1);
    } finally {
      sms.answer = () => undefined;
      await narrow.close().catch(() => undefined);
    }
  });

  it('reports missing SMS settings as a permanent InvalidConfiguration', async () => {
    const unconfigured = createSmsChannel({
      db: ctx.db,
      transport: ctx.transport,
      engine: createTemplateEngine(),
      settings: { apiUrl: sms.url, accountSid: undefined, authToken: undefined, from: FROM },
    });
    expect(await unconfigured.send(attempt('msg_rounds_2', 'runA', 1, ['+14155551003']))).toMatchObject({
      kind: 'permanent',
      failureType: 'InvalidConfiguration',
      error: 'sms_not_configured',
      errorMessage: 'SMS channel cannot send: SMS_ACCOUNT_SID, SMS_AUTH_TOKEN are not set on the worker',
    });
  });
});
