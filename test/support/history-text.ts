import type { Client } from '@temporalio/client';

/**
 * A workflow's whole history as searchable text: every string field plus every
 * payload's bytes decoded (payload data is binary in the proto objects).
 */
export async function historyText(client: Client, workflowId: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const parts: string[] = [];
  const walk = (value: unknown): void => {
    if (value === null || value === undefined) return;
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
    else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object') Object.values(value as Record<string, unknown>).forEach(walk);
  };
  walk(history);
  return parts.join('\n');
}
