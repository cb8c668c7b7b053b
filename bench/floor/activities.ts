import { Context } from '@temporalio/activity';
import { performance } from 'node:perf_hooks';

/** Called when an activity starts: its workflow id and performance.now() in the floor process. */
export type ActivityObserver = (workflowId: string, at: number) => void;

/** The floor's only activity does nothing but note when it ran. */
export function createFloorActivities(observe: ActivityObserver) {
  return {
    async noop(_index: number): Promise<void> {
      observe(Context.current().info.workflowExecution?.workflowId ?? '', performance.now());
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
