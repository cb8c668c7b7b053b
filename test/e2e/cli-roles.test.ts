import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/infra/free-port';
import { generateEncryptionKey, createSecretBox } from '../../src/security/secret-box';
import { eventsCollection } from '../../src/store/event-store';
import { insertWebhook } from '../../src/store/webhook-store';
import { buildWebhookDocument } from '../../src/webhooks/new-webhook';
import { eventually } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const run = promisify(execFile);
const BIN = join(__dirname, '..', '..', 'bin', 'hookrelay.js');

/** The product as an operator runs it: `hookrelay start` as a process, `hookrelay emit` as another. */
describe('hookrelay start / emit as processes', () => {
  const suffix = randomBytes(4).toString('hex');
  let env: NodeJS.ProcessEnv;
  let mongo: MongoClient;
  let receiver: Receiver;
  let server: ChildProcess;
  let output = '';

  beforeAll(async () => {
    env = {
      ...process.env,
      MONGODB_URL: inject('mongoUrl'),
      MONGODB_DB: `test_cli_${suffix}`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `test-cli-${suffix}`,
      HOOKRELAY_ENCRYPTION_KEY: generateEncryptionKey(),
      HOOKRELAY_ALLOW_HTTP: 'true',
      HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8',
      PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    };
    mongo = await MongoClient.connect(env.MONGODB_URL!);
    receiver = await startReceiver();
    const { webhook } = buildWebhookDocument(
      {
        webhook_name: 'cli',
        event_types: ['collection.*'],
        channels: [{ channel: 'webhook', configs: { url: receiver.url, timeout: 5 } }],
      },
      'org_cli',
      createSecretBox(env.HOOKRELAY_ENCRYPTION_KEY!),
    );
    await insertWebhook(mongo.db(env.MONGODB_DB), webhook);
    server = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(async () => output.includes('dispatcher running'), 60_000, `hookrelay start ready (output: ${output})`);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await receiver?.close();
    await mongo?.db(env.MONGODB_DB).dropDatabase().catch(() => undefined);
    await mongo?.close();
  });

  it('emit prints the event id, and the running service delivers it', async () => {
    const { stdout } = await run(process.execPath, [
      BIN,
      'emit',
      '--type',
      'collection.documents.written',
      '--org',
      'org_cli',
      '--namespace',
      'ns_cli',
      '--metadata',
      '{"collection_id":"col_cli","document_count":2}',
    ], { env });
    const eventId = stdout.trim();
    expect(eventId).toMatch(/^evt_[A-Za-z0-9_-]+$/);
    const [request] = await receiver.waitFor(1, 30_000);
    expect(JSON.parse(request!.body)).toMatchObject({ event_id: eventId, metadata: { collection_id: 'col_cli' } });
    await eventually(async () => {
      const event = await eventsCollection(mongo.db(env.MONGODB_DB)).findOne({ _id: eventId });
      return event?.status === 'delivered';
    }, 30_000, 'event delivered');
  });

  it('emit rejects an unknown event type with one clear line and exit code 1', async () => {
    const failure = await run(process.execPath, [BIN, 'emit', '--type', 'no.such.type', '--org', 'org_cli'], { env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(/^hookrelay emit: invalid event: event_type: "no.such.type" is not a known event type/);
  });

  it('a bad configuration value stops start-up naming the variable', async () => {
    const failure = await run(process.execPath, [BIN, 'worker'], { env: { ...env, PORT: 'not-a-port' } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr.trim()).toMatch(/^hookrelay worker: invalid configuration: PORT/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toMatch(/stopping/);
  });
});
