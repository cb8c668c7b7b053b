import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { installRuntime } from '../support/context';

/**
 * Histories recorded by earlier versions of the workflow (test/fixtures/histories, one
 * per path through it) replay without a determinism error against the current bundle:
 * a deploy does not break the workflows running at the time. A change to the workflow's
 * commands needs a `patched()` branch, and a history recorded before it is added here.
 */
const HISTORIES = join(__dirname, '../fixtures/histories');

describe('workflow replay', () => {
  const files = readdirSync(HISTORIES).filter((file) => file.endsWith('.json'));

  beforeAll(() => installRuntime());

  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)('replays %s', async (file) => {
    // Stored as protobufjs objects (History.toObject, longs and enums as strings).
    const history = temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file);
  });
});
