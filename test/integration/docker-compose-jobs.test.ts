import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { CLI_SEARCH_ATTRIBUTE_TYPES } from '../../src/domain/search-attributes';
import { provisionTemporalCli } from '../../src/infra/temporal-server';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/** A job's shell script as its container runs it: compose turns `$$` into `$`. */
function jobScript(service: string): string {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command: string[]; entrypoint: string[] }>;
  };
  const job = compose.services[service]!;
  expect(job.entrypoint).toEqual(['/bin/sh', '-euc']);
  return job.command.join('\n').replace(/\$\$/g, '$');
}

describe('docker-compose temporal-setup job, run against a real Temporal server', () => {
  it('creates the namespace, registers the five search attributes with their types, and can run again', async () => {
    const cli = await provisionTemporalCli();
    const namespace = `compose-${randomBytes(4).toString('hex')}`;
    const env = {
      ...process.env,
      PATH: `${dirname(cli)}:${process.env.PATH}`,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: namespace,
    };
    const script = jobScript('temporal-setup');
    const first = await run('sh', ['-euc', script], { env, timeout: 120_000 });
    expect(first.stdout).toContain('HookrelayWebhookIds');

    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const { IndexedValueType } = temporal.api.enums.v1;
      const expected = { Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST };
      for (const [name, type] of Object.entries(CLI_SEARCH_ATTRIBUTE_TYPES)) {
        expect(customAttributes?.[name], name).toBe(expected[type as keyof typeof expected]);
      }
    } finally {
      await connection.close();
    }

    // A second `docker compose up` runs the job again: it must succeed without changes.
    await expect(run('sh', ['-euc', script], { env, timeout: 120_000 })).resolves.toBeDefined();
  }, 240_000);
});
