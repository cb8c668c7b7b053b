import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowStartOptions } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';

export type StartResult = 'started' | 'already_started';

/**
 * Starts a workflow at most once per workflow id: a second start, whether the first run
 * is still going or finished, is rejected by Temporal and counts as success. That is what
 * makes duplicate triggers (several dispatchers, provider re-sends) harmless.
 */
export async function startOnce(
  client: Client,
  workflowType: string,
  options: Omit<WorkflowStartOptions, 'workflowIdReusePolicy'>,
): Promise<StartResult> {
  try {
    await client.workflow.start(workflowType, { ...options, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE });
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    throw error;
  }
}
