import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one process. Roles in the same process share one registry;
 * `/metrics` serves it (plus events by status, collected from MongoDB on scrape).
 */
export interface Metrics {
  registry: Registry;
  observeAttempt: (channel: string, outcome: string, durationMs: number) => void;
  observeDispatchLag: (lagMs: number) => void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // prom-client's names already start with `process_` or `nodejs_`: hookrelay_process_cpu_seconds_total, …
  collectDefaultMetrics({ register: registry, prefix: 'hookrelay_' });
  const attempts = new Counter({
    name: 'hookrelay_delivery_attempts_total',
    help: 'Delivery attempts by channel and outcome (delivered, retry, gone, permanent)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'hookrelay_delivery_attempt_duration_seconds',
    help: 'Duration of one delivery attempt, by channel',
    labelNames: ['channel'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const dispatchLag = new Histogram({
    name: 'hookrelay_dispatch_lag_seconds',
    help: 'Time from an event insert (created_at) to its workflow start',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  return {
    registry,
    observeAttempt(channel, outcome, durationMs) {
      attempts.inc({ channel, outcome });
      attemptDuration.observe({ channel }, durationMs / 1000);
    },
    observeDispatchLag(lagMs) {
      dispatchLag.observe(Math.max(0, lagMs) / 1000);
    },
  };
}
