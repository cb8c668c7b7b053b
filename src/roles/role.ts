import type { NativeConnection } from '@temporalio/worker';

/** A running part of hookrelay (api, worker, dispatcher). */
export interface Role {
  name: string;
  /** Settles when the role ends by itself (e.g. a fatal worker error). */
  done?: Promise<unknown>;
  stop(): Promise<void>;
  /**
   * The worker's connection, offered to roles started after it in the same process: a
   * dispatcher starting workflows through it gets eager workflow start (the first
   * workflow task goes straight to this worker, skipping a matching round trip).
   */
  workerConnection?: NativeConnection;
}
