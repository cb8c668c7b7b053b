import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { toDeliveryPayload } from '../../src/domain/event-envelope';
import { generateSigningSecret, signPayload } from '../../src/security/signing';
import type { BenchContext } from './context';
import { openLoop, pollUntil, withConcurrency } from './load';
import { beginWindow, type WindowFootprint } from './measure';
import { benchEvent } from './pipeline';
import { steadyRate, summarizeLatencies, type LatencySummary, type RateSummary } from './stats';

/**
 * hookrelay's worker sends at most HOOKRELAY_ENDPOINT_CONCURRENCY (20 by default) attempts
 * to one endpoint at a time: the throughput scenarios' receivers each get at most that
 * many requests at once per subscriber, and the transport floor uses that many connections.
 */
export const CONNECTIONS_PER_ORIGIN = 20;

/** POSTs the pipeline's payload and headers straight to the receiver: no Temporal, no MongoDB. */
function createPoster(ctx: BenchContext) {
  const pool = new Pool(ctx.receiver.url, { connections: CONNECTIONS_PER_ORIGIN });
  const template = benchEvent('org_bench_transport');
  const secret = generateSigningSecret();
  const timestamp = Math.floor(Date.now() / 1000);
  let sequence = 0;
  return {
    /** Sends one request (`onSend` sees its event id just before); resolves once answered. */
    async post(onSend?: (eventId: string) => void): Promise<void> {
      const eventId = `evt_transport_${ctx.runTag}_${sequence++}`;
      const body = JSON.stringify(toDeliveryPayload({ ...template, _id: eventId }));
      const id = `msg_${eventId}`;
      onSend?.(eventId);
      const response = await pool.request({
        path: `/ok/transport`,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'hookrelay-bench',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signPayload({ id, timestamp, body }, [secret]),
        },
        body,
      });
      await response.body.dump();
    },
    close: () => pool.close(),
  };
}

export interface TransportLatency {
  ratePerS: number;
  sent: number;
  /** Send-to-receipt, ms: the moment before the request to its arrival in the receiver. */
  latencyMs: LatencySummary;
}

/** The transport floor at a fixed open-loop rate: undici POSTs, no Temporal in between. */
export async function transportLatency(
  ctx: BenchContext,
  options: { ratePerS: number; warmupS: number; durationS: number; drainS: number },
): Promise<TransportLatency> {
  const poster = createPoster(ctx);
  ctx.receiver.reset();
  const sentAt = new Map<string, number>();
  const measured = new Set<string>();
  const warmupCount = Math.round(options.ratePerS * options.warmupS);
  let errors = 0;
  try {
    const loop = await openLoop({
      ratePerS: options.ratePerS,
      durationMs: (options.warmupS + options.durationS) * 1000,
      signal: ctx.signal,
      tick: (index) => {
        const send = poster.post((eventId) => {
          sentAt.set(eventId, performance.now());
          if (index >= warmupCount) measured.add(eventId);
        });
        send.catch(() => errors++);
      },
    });
    await pollUntil(() => ctx.receiver.receipts.length + errors >= loop.sent, options.drainS * 1000, 50, ctx.signal);
    const latencies = ctx.receiver.receipts.flatMap((receipt) =>
      measured.has(receipt.eventId) ? [receipt.at - sentAt.get(receipt.eventId)!] : [],
    );
    return { ratePerS: options.ratePerS, sent: loop.sent, latencyMs: summarizeLatencies(latencies) };
  } finally {
    await poster.close();
  }
}

export interface TransportThroughput {
  requests: number;
  concurrency: number;
  /** Requests received per second (steady state: 20 %..90 %). */
  rate: RateSummary;
  footprint: WindowFootprint;
}

/** The transport floor at saturation: `concurrency` requests in flight, closed loop. */
export async function transportThroughput(
  ctx: BenchContext,
  options: { requests: number; concurrency?: number },
): Promise<TransportThroughput> {
  const concurrency = options.concurrency ?? CONNECTIONS_PER_ORIGIN;
  const poster = createPoster(ctx);
  ctx.receiver.reset();
  const window = beginWindow(ctx.sampler, []);
  try {
    await withConcurrency(options.requests, concurrency, () => poster.post(), ctx.signal);
    const times = ctx.receiver.receipts.map((receipt) => receipt.at);
    const footprint = window.end(times.length);
    return { requests: options.requests, concurrency, rate: steadyRate(times, options.requests), footprint };
  } finally {
    await poster.close();
  }
}
