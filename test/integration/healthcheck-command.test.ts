import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsCollection } from '../../src/store/event-store';
import { startTestApi, type TestApi } from '../support/api';
import { createTestContext, type TestContext } from '../support/context';
import { cliEnvironment } from '../support/fixtures';

const run = promisify(execFile);
const BIN = resolve(__dirname, '../../bin/hookrelay.js');

describe('hookrelay healthcheck (the container health checks of docker-compose.yml)', { timeout: 180_000 }, () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext('healthcheck');
  });

  afterAll(async () => {
    await ctx?.close();
  });

  async function healthcheck(role: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
    try {
      const { stdout } = await run(process.execPath, [BIN, 'healthcheck', role], {
        env: cliEnvironment(ctx, env),
        timeout: 60_000,
      });
      return { code: 0, stdout };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string };
      return { code: failure.code ?? -1, stdout: failure.stdout ?? '' };
    }
  }

  it('api: healthy when /readyz answers 200, unhealthy when nothing listens', async () => {
    const api: TestApi = await startTestApi(ctx);
    try {
      const port = new URL(api.url).port;
      const healthy = await healthcheck('api', { HOST: '0.0.0.0', PORT: port });
      expect(healthy, healthy.stdout).toMatchObject({ code: 0 });
      expect(healthy.stdout).toContain(`healthy: api ready (http://127.0.0.1:${port}/readyz)`);
    } finally {
      await api.close();
    }
    const down = await healthcheck('api', { PORT: new URL(api.url).port });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^unhealthy: /);
  });

  it("worker: unhealthy until this host's worker polls the task queue, then healthy", async () => {
    const before = await healthcheck('worker');
    expect(before.code).toBe(1);
    expect(before.stdout).toContain(`polled the workflow task queue "${ctx.taskQueue}"`);

    await ctx.startWorker();
    let after = await healthcheck('worker');
    for (let attempt = 0; attempt < 20 && after.code !== 0; attempt++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await healthcheck('worker');
    }
    expect(after, after.stdout).toMatchObject({ code: 0 });
    expect(after.stdout).toContain(`healthy: worker polling "${ctx.taskQueue}" (${process.pid}@`);
  });

  it('dispatcher: healthy while events get dispatched, unhealthy when one waits in pending too long', async () => {
    const healthy = await healthcheck('dispatcher');
    expect(healthy, healthy.stdout).toMatchObject({ code: 0 });

    const longAgo = new Date(Date.now() - 3 * 60_000);
    await eventsCollection(ctx.db).insertOne({
      _id: 'evt_stuck_healthcheck',
      organization_id: 'org_health',
      namespace_id: null,
      event_type: 'object.created',
      occurred_at: longAgo,
      subject: { type: 'object', id: 'obj_1' },
      metadata: { bucket_id: 'b' },
      status: 'pending',
      created_at: longAgo,
    } as never);
    const stuck = await healthcheck('dispatcher');
    expect(stuck.code).toBe(1);
    expect(stuck.stdout).toContain('unhealthy: 1 event(s) pending for more than 120 s');

    const unreachable = await healthcheck('dispatcher', { MONGODB_URL: 'mongodb://127.0.0.1:1/' });
    expect(unreachable.code).toBe(1);
  });

  it('names the roles it knows', async () => {
    const result = await run(process.execPath, [BIN, 'healthcheck', 'nope']).catch((error: { code: number; stderr: string }) => error);
    expect((result as { code: number }).code).toBe(1);
    expect((result as { stderr: string }).stderr).toContain('usage: hookrelay healthcheck api|worker|dispatcher');
  });
});
