import { createServer, type AddressInfo, type Server } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { startTestApi, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { createWebhook, emitTestEvent, eventually, startDispatcher } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const ORG = 'org_temporal_down';

/** A loopback port that drops every connection at once: no Temporal answers there. */
async function droppingServer(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** What the API answers when Temporal cannot be reached: 503 and nothing changed, not a 500. */
describe('redeliver while Temporal is unreachable', () => {
  let ctx: TestContext;
  let dispatcher: Dispatcher;
  let receiver: Receiver;
  let api: TestApi;
  let unreachable: TestApi;
  let unreachableConnection: Connection;
  let nowhere: Server;

  beforeAll(async () => {
    ctx = await createTestContext('api-temporal-down');
    await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
    receiver = await startReceiver();
    api = await startTestApi(ctx, { org: ORG });
    // The same API over the same database, with a Temporal client whose server is gone.
    nowhere = await droppingServer();
    unreachableConnection = Connection.lazy({ address: `127.0.0.1:${(nowhere.address() as AddressInfo).port}` });
    unreachable = await startTestApi(ctx, { org: ORG, deps: { temporal: new Client({ connection: unreachableConnection }) } });
  });

  afterAll(async () => {
    await Promise.all([api?.close(), unreachable?.close()]);
    await unreachableConnection?.close();
    await new Promise((resolve) => (nowhere ? nowhere.close(resolve) : resolve(undefined)));
    await dispatcher?.stop();
    await receiver?.close();
    await ctx?.close();
  });

  it('answers 503 with Retry-After and leaves the deliveries as they were; the same call succeeds once Temporal answers', async () => {
    const { webhook } = await createWebhook(ctx, { url: receiver.url, organizationId: ORG });
    const eventId = await emitTestEvent(ctx, { organizationId: ORG });
    await eventually(async () => (await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status === 'delivered', 30_000, 'delivered');
    const before = await deliveriesCollection(ctx.db).findOne({ event_id: eventId, webhook_id: webhook._id });
    expect(before?.status).toBe('delivered');

    const askedAt = Date.now();
    const refused = await unreachable.request('POST', `/v1/organizations/webhooks/events/${eventId}/redeliver`);
    expect(refused.status, refused.text).toBe(503);
    // Within the route's 5 s wait, not after the client's own retries (about 20 s).
    expect(Date.now() - askedAt).toBeLessThan(15_000);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body.error).toMatchObject({ type: 'ServiceUnavailable', message: expect.stringContaining('workflow service') });
    // The reopened record was put back: no delivery waits for a run that never started.
    const after = await deliveriesCollection(ctx.db).findOne({ _id: before!._id });
    expect(after).toMatchObject({ status: 'delivered', next_retry_at: before!.next_retry_at, updated_at: before!.updated_at });
    expect(after?.reopen_token).toBeUndefined();
    expect(receiver.requests).toHaveLength(1);

    const accepted = await api.request('POST', `/v1/organizations/webhooks/events/${eventId}/redeliver`);
    expect(accepted.status, accepted.text).toBe(202);
    await eventually(async () => receiver.requests.length === 2, 30_000, 'redelivered');
  });
});
