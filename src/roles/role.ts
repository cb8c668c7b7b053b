/** A running part of hookrelay (api, worker, dispatcher). */
export interface Role {
  name: string;
  /** Settles when the role ends by itself (e.g. a fatal worker error). */
  done?: Promise<unknown>;
  stop(): Promise<void>;
}
