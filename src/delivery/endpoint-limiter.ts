/**
 * Bounds the attempts in flight to one endpoint within a worker process, so a slow
 * receiver cannot occupy every activity slot. An attempt that finds its endpoint full
 * is deferred (the workflow waits and tries again) instead of waiting in a slot.
 */
export interface EndpointLimiter {
  /** A release function when a slot was free; undefined when the endpoint is full. */
  tryAcquire(endpoint: string): (() => void) | undefined;
  inFlight(endpoint: string): number;
}

export function createEndpointLimiter(maxPerEndpoint: number): EndpointLimiter {
  const inFlight = new Map<string, number>();
  return {
    tryAcquire(endpoint) {
      const current = inFlight.get(endpoint) ?? 0;
      if (current >= maxPerEndpoint) return undefined;
      inFlight.set(endpoint, current + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const remaining = (inFlight.get(endpoint) ?? 1) - 1;
        if (remaining <= 0) inFlight.delete(endpoint);
        else inFlight.set(endpoint, remaining);
      };
    },
    inFlight: (endpoint) => inFlight.get(endpoint) ?? 0,
  };
}
