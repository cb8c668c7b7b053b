import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/infra/free-port';
import { eventsCollection } from '../../src/store/event-store';
import { createTestContext, type TestContext } from '../support/context';
import { cliEnvironment, createWebhook, emitTestEvent, eventually } from '../support/fixtures';
import { startReceiver, type Receiver } from '../support/receiver';

const BIN = resolve(__dirname, '../../bin/hookrelay.js');
const ORG = 'org_role_metrics';

/** Separate worker and dispatcher processes each serve their own registry on HOOKRELAY_METRICS_PORT. */
describe('metrics of a worker and a dispatcher deployed on their own', { timeout: 120_000 }, () => {
  let ctx: TestContext;
  let receiver: Receiver;
  const children: ChildProcess[] = [];

  /** `hookrelay <role>` with the test's servers, resolved once it logs that its metrics listen. */
  async function startRole(role: 'worker' | 'dispatcher', metricsPort: number): Promise<void> {
    const child = spawn(process.execPath, [BIN, role], {
      env: cliEnvironment(ctx, {
        HOOKRELAY_ENCRYPTION_KEY: ctx.config.HOOKRELAY_ENCRYPTION_KEY!,
        HOOKRELAY_ALLOW_HTTP: 'true',
        HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8',
        HOOKRELAY_METRICS_PORT: String(metricsPort),
        LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    await new Promise<void>((resolveStarted, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"msg":"metrics listening"')) resolveStarted();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`hookrelay ${role} exited with ${code}:\n${output}`)));
    });
  }

  async function scrape(port: number): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  }

  beforeAll(async () => {
    ctx = await createTestContext('role-metrics');
    receiver = await startReceiver();
  });

  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      ),
    );
    await receiver?.close();
    await ctx?.close();
  });

  it('shows the attempts on the worker\'s port and the dispatch lag on the dispatcher\'s', async () => {
    const [workerPort, dispatcherPort] = [await freePort(), await freePort()];
    await Promise.all([startRole('worker', workerPort), startRole('dispatcher', dispatcherPort)]);

    await createWebhook(ctx, { url: receiver.url, organizationId: ORG });
    const eventId = await emitTestEvent(ctx, { organizationId: ORG });
    await eventually(async () => (await eventsCollection(ctx.db).findOne({ _id: eventId }))?.status === 'delivered', 60_000, 'delivered');

    const worker = await scrape(workerPort);
    expect(worker).toMatch(/^hookrelay_delivery_attempts_total\{channel="webhook",outcome="delivered"\} 1$/m);
    expect(worker).toContain('hookrelay_process_cpu_seconds_total');
    const dispatcher = await scrape(dispatcherPort);
    expect(dispatcher).toMatch(/^hookrelay_dispatch_lag_seconds_count 1$/m);
    expect(dispatcher).not.toMatch(/^hookrelay_delivery_attempts_total\{/m);

    const health = await fetch(`http://127.0.0.1:${workerPort}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const other = await fetch(`http://127.0.0.1:${workerPort}/v1/organizations/webhooks`);
    expect(other.status).toBe(404);
  });
});
