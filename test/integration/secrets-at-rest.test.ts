import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { BSON } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatcher/dispatcher';
import { emitEvent } from '../../src/events/emit-event';
import { signMuxPayload } from '../../src/inbound/mux-signature';
import { generateEncryptionKey, looksSealed } from '../../src/security/secret-box';
import { connectionsCollection, insertConnection } from '../../src/store/connection-store';
import { deliveriesCollection } from '../../src/store/delivery-store';
import { webhooksCollection } from '../../src/store/webhook-store';
import { startTestApi, webhookBody, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { eventually, startDispatcher } from '../support/fixtures';
import { historyText } from '../support/history-text';
import { startReceiver, type Receiver } from '../support/receiver';

/**
 * Secrets at rest (issue 10 item 4): signing secrets, custom header
 * values, Slack incoming-webhook URLs and provider secrets never appear in clear in any
 * MongoDB document nor in any workflow history; a changed HOOKRELAY_ENCRYPTION_KEY stops
 * a role at start-up with a clear message instead of delivering garbage.
 */

const BIN = join(__dirname, '..', '..', 'bin', 'hookrelay.js');
const ORG = 'org_secrets';
const EVENT_TYPE = 'collection.documents.written';

const unique = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

interface Secret {
  what: string;
  value: string;
}

describe('secrets at rest and in workflow histories', () => {
  let ctx: TestContext;
  let api: TestApi;
  let dispatcher: Dispatcher;
  let worker: Worker;
  let hooks: Receiver;
  let slack: Receiver;
  const secrets: Secret[] = [];
  const workflowIds: string[] = [];
  let webhookId = '';
  let connectionId = '';

  /** The secret and the encodings a careless store might keep it in. */
  function remember(what: string, value: string): void {
    secrets.push(
      { what, value },
      { what: `${what} (base64)`, value: Buffer.from(value).toString('base64') },
      { what: `${what} (hex)`, value: Buffer.from(value).toString('hex') },
    );
  }

  function remembered(what: string): string {
    return secrets.find((secret) => secret.what === what)!.value;
  }

  /** Every secret found in `text`, by name. */
  function foundIn(text: string): string[] {
    return secrets.filter(({ value }) => text.includes(value)).map(({ what }) => what);
  }

  async function rawDatabaseText(): Promise<{ text: string; collections: string[] }> {
    const collections = (await ctx.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    const parts: string[] = [];
    for (const name of collections) {
      const documents = await ctx.db.collection(name).find({}).toArray();
      parts.push(`${name}: ${BSON.EJSON.stringify(documents, { relaxed: false })}`);
    }
    return { text: parts.join('\n'), collections };
  }

  beforeAll(async () => {
    ctx = await createTestContext('secrets-at-rest');
    api = await startTestApi(ctx, { org: ORG });
    worker = await ctx.startWorker();
    dispatcher = await startDispatcher(ctx);
    // Each answers once with an error first, so the histories also hold a failed attempt's message.
    hooks = await startReceiver([503]);
    slack = await startReceiver([{ status: 500, body: 'slack is down' }]);
  });

  afterAll(async () => {
    await dispatcher?.stop();
    await api?.close();
    await hooks?.close();
    await slack?.close();
    await ctx?.close();
  });

  it('stores every secret sealed: no document of any collection holds one in clear', async () => {
    const headerSecret = unique('x-mixpeek-secret');
    const otherHeader = unique('bearer-token');
    const slackUrl = slack.url.replace(/\/hook$/, `/services/T0000/B0000/${unique('slackpath')}`);
    const created = await api.request('POST', '/v1/organizations/webhooks', {
      body: webhookBody(
        hooks.url,
        {
          event_types: [EVENT_TYPE, 'webhook.test'],
          channels: [
            { channel: 'webhook', configs: { url: hooks.url, timeout: 5, headers: { 'X-Mixpeek-Secret': headerSecret, Authorization: `Bearer ${otherHeader}` } } },
            { channel: 'slack', configs: { webhook_url: slackUrl, channel: '#alerts' } },
          ],
        },
      ),
    });
    expect(created.status, created.text).toBe(201);
    webhookId = created.body.webhook_id;
    remember('signing secret', created.body.signing_secret);
    remember('signing secret key bytes', created.body.signing_secret.replace(/^whsec_/, ''));
    remember('custom header value', headerSecret);
    remember('second custom header value', otherHeader);
    remember('Slack URL', slackUrl);
    remember('Slack URL secret path', new URL(slackUrl).pathname);

    // Rotation stores a second signing secret; both sign during the grace period.
    const rotated = await api.request('POST', `/v1/organizations/webhooks/${webhookId}/secret/rotate`, { body: { grace_period: '1h' } });
    expect(rotated.status, rotated.text).toBe(200);
    remember('rotated signing secret', rotated.body.signing_secret);

    // An update that keeps one header (sent back masked) and adds another re-seals correctly.
    const other = await api.request('POST', '/v1/organizations/webhooks', {
      // Subscribed to something else: it is never delivered to (its host is not on this machine).
      body: webhookBody('https://hooks.example.com/other', { event_types: ['cluster.completed'] }, { headers: { 'X-Kept': unique('kept') } }),
    });
    expect(other.status, other.text).toBe(201);
    remember('second webhook signing secret', other.body.signing_secret);
    const added = unique('added-header');
    remember('header value added by PATCH', added);
    const patched = await api.request('PATCH', `/v1/organizations/webhooks/${other.body.webhook_id}`, {
      body: { channels: [{ channel: 'webhook', configs: { url: 'https://hooks.example.com/other', headers: { 'X-Kept': '********', 'X-Added': added } } }] },
    });
    expect(patched.status, patched.text).toBe(200);

    const muxSecret = unique('mux-signing-secret');
    remember('Mux webhook secret', muxSecret);
    const connection = await api.request('POST', '/v1/organizations/connections', {
      body: { provider: 'mux', webhook_secret: muxSecret, bucket_id: 'bkt_secrets' },
    });
    expect(connection.status, connection.text).toBe(201);
    connectionId = connection.body.connection_id;

    const { text, collections } = await rawDatabaseText();
    expect(collections).toEqual(expect.arrayContaining(['api_keys', 'connections', 'webhooks']));
    expect(foundIn(text)).toEqual([]);

    // Sealed, not dropped: each secret field holds a sealed value.
    const stored = (await webhooksCollection(ctx.db).findOne({ _id: webhookId }))!;
    expect(stored.signing_secrets).toHaveLength(2);
    for (const { sealed } of stored.signing_secrets) expect(looksSealed(sealed)).toBe(true);
    const headers = stored.channels[0]!.configs.headers as Record<string, string>;
    expect(Object.values(headers).every(looksSealed)).toBe(true);
    expect(looksSealed(stored.channels[1]!.configs.webhook_url as string)).toBe(true);
    const storedConnection = (await connectionsCollection(ctx.db).findOne({ _id: connectionId }))!;
    expect(looksSealed(storedConnection.webhook_secret_sealed)).toBe(true);
    expect(Object.keys(storedConnection).some((key) => /secret/.test(key) && key !== 'webhook_secret_sealed')).toBe(false);

    // And no API answer so far echoed a stored header value, Slack URL or provider secret.
    const transcript = api.transcript.join('\n');
    for (const what of ['custom header value', 'second custom header value', 'header value added by PATCH', 'Slack URL', 'Mux webhook secret']) {
      expect(transcript.includes(remembered(what)), what).toBe(false);
    }
  });

  it('delivers with the secrets, yet no workflow history (nor any document written meanwhile) contains one', async () => {
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: ORG,
      namespace_id: 'ns_secrets',
      event_type: EVENT_TYPE,
      metadata: { collection_id: 'col_secrets', document_count: 1 },
    });
    workflowIds.push(eventId);
    const test = await api.request('POST', `/v1/organizations/webhooks/${webhookId}/test`, { body: { message: 'secrets' } });
    expect(test.status, test.text).toBe(202);
    workflowIds.push(test.body.workflow_id);

    // Inbound: a signed Mux event runs the lifecycle workflow of the connection.
    const muxEvent = { type: 'video.asset.deleted', id: randomUUID(), created_at: new Date().toISOString(), data: { id: 'asset-secrets', status: 'deleted' } };
    const raw = JSON.stringify(muxEvent);
    const inbound = await api.request('POST', `/v1/webhooks/mux/${connectionId}`, {
      key: null,
      raw,
      headers: { 'content-type': 'application/json', 'mux-signature': signMuxPayload(remembered('Mux webhook secret'), raw, Math.floor(Date.now() / 1000)) },
    });
    expect(inbound.status, inbound.text).toBe(200);
    workflowIds.push(`mux-${connectionId}-${muxEvent.id}`);

    for (const id of workflowIds) {
      await eventually(async () => (await ctx.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED', 60_000, `workflow ${id} completed`);
    }
    // The secrets were opened where they are used: the receivers saw them.
    const delivered = hooks.requests.filter((request) => request.headers['x-mixpeek-secret'] === remembered('custom header value'));
    expect(delivered.length).toBeGreaterThanOrEqual(2); // after a 503, the event and the test event
    expect(delivered[0]!.headers.authorization).toBe(`Bearer ${remembered('second custom header value')}`);
    expect(slack.requests.filter((request) => request.path === remembered('Slack URL secret path')).length).toBeGreaterThanOrEqual(2);

    const histories: string[] = [];
    for (const id of workflowIds) {
      const history = await historyText(ctx.client, id);
      expect(history.length, id).toBeGreaterThan(500);
      expect(foundIn(history), `history of ${id}`).toEqual([]);
      histories.push(history);
    }
    // The failed attempts are in the histories, named by webhook and channel rather than by URL.
    const all = histories.join('\n');
    expect(all).toContain(`HTTP 503 (webhook ${webhookId}, channel #0 (webhook))`);
    expect(all).toContain(`HTTP 500 (webhook ${webhookId}, channel #1 (slack))`);

    const { text, collections } = await rawDatabaseText();
    expect(collections).toEqual(expect.arrayContaining(['webhook_deliveries', 'webhook_events', 'inbound_events']));
    expect(foundIn(text)).toEqual([]);
  });

  interface Exit {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }

  /** `hookrelay worker` as an operator starts it, against this test's servers. */
  function runWorker(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Exit> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'worker'], {
        env: {
          ...process.env,
          MONGODB_URL: ctx.config.MONGODB_URL,
          MONGODB_DB: ctx.config.MONGODB_DB,
          TEMPORAL_ADDRESS: ctx.config.TEMPORAL_ADDRESS,
          TEMPORAL_NAMESPACE: ctx.config.TEMPORAL_NAMESPACE,
          TEMPORAL_TASK_QUEUE: ctx.taskQueue,
          HOOKRELAY_ALLOW_HTTP: 'true',
          HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8',
          LOG_LEVEL: 'warn',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`hookrelay worker was still running after ${timeoutMs} ms: it started despite the wrong key\n${stdout}${stderr}`));
      }, timeoutMs);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  function expectKeyRefusal(exit: Exit): void {
    expect(exit.code, `${exit.stdout}${exit.stderr}`).not.toBe(0);
    expect(exit.signal).toBeNull();
    const lines = exit.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines, exit.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^hookrelay worker: HOOKRELAY_ENCRYPTION_KEY does not match the key the stored secrets were sealed with/);
    expect(lines[0]).not.toMatch(/\n|\bat \S+ \(/); // no stack trace
  }

  it('a worker started with a different HOOKRELAY_ENCRYPTION_KEY exits at once with a clear message and delivers nothing', async () => {
    // This test's worker steps aside, so a wrongly started worker would be the one to run the delivery.
    worker.shutdown();
    await eventually(async () => worker.getState() === 'STOPPED', 30_000, 'in-process worker stopped');
    const before = { hooks: hooks.requests.length, slack: slack.requests.length };
    const { eventId } = await emitEvent(ctx.db, {
      organization_id: ORG,
      namespace_id: 'ns_secrets',
      event_type: EVENT_TYPE,
      metadata: { collection_id: 'col_after_key_change', document_count: 1 },
    });
    await eventually(async () => {
      const described = await ctx.client.workflow.getHandle(eventId).describe().catch(() => undefined);
      return described?.status.name === 'RUNNING';
    }, 30_000, 'pending delivery workflow started');

    const exit = await runWorker({ HOOKRELAY_ENCRYPTION_KEY: generateEncryptionKey() });
    expectKeyRefusal(exit);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(hooks.requests.length).toBe(before.hooks);
    expect(slack.requests.length).toBe(before.slack);
    const attempts = await deliveriesCollection(ctx.db).find({ event_id: eventId }).toArray();
    expect(attempts.flatMap((delivery) => delivery.attempts)).toEqual([]);
    await ctx.client.workflow.getHandle(eventId).terminate('test cleanup: no worker left for this queue');
  }, 120_000);

  it('also refuses a database that holds only inbound connections (no webhook to sample)', async () => {
    const db = ctx.mongo.db(`${ctx.config.MONGODB_DB}_conn_only`);
    try {
      const now = new Date();
      await insertConnection(db, {
        _id: `conn_${randomBytes(12).toString('hex')}`,
        organization_id: ORG,
        provider: 'mux',
        connection_name: null,
        bucket_id: 'bkt_only',
        metadata_filters: [],
        webhook_secret_sealed: ctx.box.seal(unique('mux-only')),
        created_at: now,
        updated_at: now,
      });
      const exit = await runWorker({
        MONGODB_DB: db.databaseName,
        TEMPORAL_TASK_QUEUE: `${ctx.taskQueue}-conn-only`,
        HOOKRELAY_ENCRYPTION_KEY: generateEncryptionKey(),
      });
      expectKeyRefusal(exit);
    } finally {
      await db.dropDatabase().catch(() => undefined);
    }
  }, 120_000);
});
