import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startMongoServer, type MongoServerHandle } from '../../src/infra/mongo-server';
import { startTemporalDevServer, type TemporalServerHandle } from '../../src/infra/temporal-server';
import { buildWorkflowBundle } from '../../src/temporal/workflow-bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    mongoUrl: string;
    workflowBundlePath: string;
  }
}

/**
 * Starts one real Temporal dev server and one MongoDB-wire server for the whole run.
 * Test files isolate themselves by database name and task queue (test/support/context.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const scratch = mkdtempSync(join(tmpdir(), 'hookrelay-test-'));
  let temporal: TemporalServerHandle | undefined;
  let mongo: MongoServerHandle | undefined;
  const teardown = async () => {
    await Promise.allSettled([temporal?.stop(), mongo?.stop()]);
    rmSync(scratch, { recursive: true, force: true });
  };
  // An interrupted run must not leave servers behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void teardown().finally(() => process.exit(130)));
  }
  try {
    [temporal, mongo] = await Promise.all([
      startTemporalDevServer({ ui: false }).catch((error: Error) => {
        throw new Error(`Temporal dev server could not start: ${error.message}`);
      }),
      startMongoServer({ backend: 'memory' }).catch((error: Error) => {
        throw new Error(`MongoDB server could not start: ${error.message}`);
      }),
    ]);
    const bundlePath = join(scratch, 'workflow-bundle.js');
    writeFileSync(bundlePath, await buildWorkflowBundle());
    project.provide('temporalAddress', temporal.address);
    project.provide('mongoUrl', mongo.url);
    project.provide('workflowBundlePath', bundlePath);
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
