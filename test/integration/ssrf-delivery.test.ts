import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

/**
 * The whole pipeline with the production guard (no allow-list): deliveries to internal
 * destinations are canceled before any connection is made.
 */
describe('SSRF guard in the delivery pipeline', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let receiver: Receiver;

  beforeAll(async () => {
    ctx = await createTestContext('ssrf', { HOOKRELAY_ALLOWED_CIDRS: '' });
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await receiver?.close();
    await ctx?.close();
  });

  const port = () => new URL(receiver.url).port;
  const destinations: Array<[string, () => string]> = [
    ['loopback', () => `http://127.0.0.1:${port()}/hook`],
    ['private 10/8', () => 'http://10.0.0.1/hook'],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data'],
    ['IPv6 loopback', () => `http://[::1]:${port()}/hook`],
    ['IPv4-mapped loopback', () => `http://[::ffff:127.0.0.1]:${port()}/hook`],
  ];

  it.each(destinations)('refuses %s before connecting', async (_name, url) => {
    const org = `org_${Math.random().toString(36).slice(2, 10)}`;
    const { webhook } = await createWebhook(ctx, { url: url(), organizationId: org });
    const eventId = await emitTestEvent(ctx, { organizationId: org });
    const delivery = await eventually(async () => {
      const doc = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
      return doc?.status === 'canceled' ? doc : undefined;
    }, 20_000, 'delivery canceled');
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ error: 'destination_blocked', status_code: null });
    expect(receiver.connections).toBe(0);
  });
});
