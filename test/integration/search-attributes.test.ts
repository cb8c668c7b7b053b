import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI_SEARCH_ATTRIBUTE_TYPES } from '../../src/domain/search-attributes';
import { eventually } from '../support/fixtures';
import { ensureSearchAttributes } from '../../src/temporal/search-attribute-registry';

describe('search attribute registration at worker start', () => {
  let connection: Connection;
  const namespace = `ns-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await eventually(async () => {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    }, 20_000, 'namespace visible');
  });

  afterAll(async () => {
    await connection?.close();
  });

  it('registers the missing attributes in a fresh namespace, then finds nothing missing', async () => {
    const registered = await ensureSearchAttributes(connection, namespace);
    expect(registered.sort()).toEqual(Object.keys(CLI_SEARCH_ATTRIBUTE_TYPES).sort());
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    for (const name of registered) expect(customAttributes).toHaveProperty(name);
    expect(await ensureSearchAttributes(connection, namespace)).toEqual([]);
  });
});
