import { performance } from 'node:perf_hooks';
import type { Db } from 'mongodb';
import { buildEventDocument, FINAL_EVENT_STATUSES } from '../../src/domain/event-envelope';
import { eventsCollection, insertEvent, type EventDocument } from '../../src/store/event-store';
import { insertWebhook, type StoredRetryPolicy } from '../../src/store/webhook-store';
import { buildWebhookDocument } from '../../src/webhooks/new-webhook';
import type { BenchContext } from './context';
import { launchHookrelay, probeDelta, type HookrelayProcess, type HookrelayRole, type ProbeSnapshot } from './hookrelay-process';
import { CLOSE_WAIT_MS, pollUntil } from './load';
import { beginWindow, type WindowFootprint } from './measure';
import { memoryMB } from './process-sampler';
import { round, steadyRate, summarizeLatencies, type LatencySummary, type RateSummary } from './stats';
import { historyShape, runningWorkflows, unsuccessfulWorkflows, type HistoryShape } from './temporal-history';

/** Every bench event has this type; every subscriber subscribes to it. */
export const BENCH_EVENT_TYPE = 'collection.documents.written';

/** The dead subscriber's policy: retry every second, for longer than any run lasts. */
export const KEEP_RETRYING: StoredRetryPolicy = {
  initial_interval: '1s',
  backoff_coefficient: 1,
  maximum_interval: '1s',
  maximum_attempts: 0,
  expiration: '1h',
};

/** An event as the engine would write it (validated against the catalog), status pending. */
export function benchEvent(organizationId: string): EventDocument {
  return buildEventDocument(
    {
      organization_id: organizationId,
      namespace_id: 'ns_bench',
      event_type: BENCH_EVENT_TYPE,
      metadata: { collection_id: 'col_bench', document_count: 1 },
    },
    new Date(),
  );
}

/**
 * Creates the organization's subscribers directly in MongoDB, as the API would store
 * them: `healthy` webhooks to `/ok/…` (answer 200 at once) and `hanging` ones to
 * `/hang/…` with a 1 s attempt timeout and a policy that keeps retrying.
 */
export async function seedSubscribers(
  ctx: BenchContext,
  db: Db,
  options: { organizationId: string; healthy: number; hanging?: number },
): Promise<void> {
  const subscriber = (n: number) => `${options.organizationId}-${n}`;
  const channels: Array<{ url: string; timeout?: number; retry: StoredRetryPolicy | null }> = [
    // Healthy: the channel's default timeout (10 s) and retry policy.
    ...Array.from({ length: options.healthy }, (_, n) => ({ url: ctx.receiver.okUrl(subscriber(n)), retry: null })),
    ...Array.from({ length: options.hanging ?? 0 }, (_, n) => ({
      url: ctx.receiver.hangUrl(subscriber(n)),
      timeout: 1,
      retry: KEEP_RETRYING,
    })),
  ];
  for (const [index, { url, timeout, retry }] of channels.entries()) {
    await insertBenchWebhook(ctx, db, { organizationId: options.organizationId, name: `bench-${index}`, url, timeout, retry });
  }
}

/**
 * Stores one webhook of the organization, subscribed to BENCH_EVENT_TYPE, with one
 * `webhook` channel to `url`; without `timeout` and `retry`, the channel's defaults (10 s).
 */
export async function insertBenchWebhook(
  ctx: BenchContext,
  db: Db,
  options: { organizationId: string; name: string; url: string; timeout?: number; retry?: StoredRetryPolicy | null },
): Promise<void> {
  const { url, timeout } = options;
  const { webhook } = buildWebhookDocument(
    {
      webhook_name: options.name,
      event_types: [BENCH_EVENT_TYPE],
      channels: [{ channel: 'webhook', configs: timeout ? { url, timeout } : { url } }],
      retry_policy: options.retry ?? null,
    },
    options.organizationId,
    ctx.box,
  );
  await insertWebhook(db, webhook);
}

/** hookrelay processes on a fresh database and task queue, measured by the sampler. */
export interface HookrelayScope {
  database: string;
  taskQueue: string;
  db: Db;
  processes: HookrelayProcess[];
  close(): Promise<void>;
}

/**
 * Starts `node bin/hookrelay.js <role>` for each role on a fresh database and task queue
 * and waits until they serve: a canary event (organization without subscribers) must
 * reach its final status, which needs both the dispatcher and the worker. `env` adds
 * variables to every role's environment.
 */
export async function openHookrelayScope(
  ctx: BenchContext,
  scenario: string,
  roles: HookrelayRole[],
  env?: Record<string, string>,
): Promise<HookrelayScope> {
  const database = `bench_${scenario}_${ctx.runTag}`;
  const taskQueue = `bench-${scenario}-${ctx.runTag}`;
  const db = ctx.mongo.db(database);
  const processes: HookrelayProcess[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // The dispatcher stops first, the worker last, as `hookrelay start` stops its roles.
    for (const child of [...processes].reverse()) {
      ctx.sampler.untrack(trackName(child.role));
      await child.stop();
    }
    await db.dropDatabase().catch(() => undefined);
  };
  const undefer = ctx.defer(close);
  const canaryStop = new AbortController();
  try {
    for (const role of roles) {
      const child = await launchHookrelay(role, {
        mongoUrl: ctx.mongoUrl,
        database,
        temporalAddress: ctx.temporalAddress,
        taskQueue,
        encryptionKey: ctx.encryptionKey,
        env,
      });
      processes.push(child);
      ctx.sampler.track(trackName(role), child.pid, { threads: true });
    }
    const started = performance.now();
    await Promise.race([waitUntilServing(db, 90_000, canaryStop.signal), ...processes.map((child) => child.exited)]);
    ctx.log(`  hookrelay ${roles.join(' + ')} serving after ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    canaryStop.abort();
    await close();
    undefer();
    throw error;
  }
  return {
    database,
    taskQueue,
    db,
    processes,
    close: async () => {
      await close();
      undefer();
    },
  };
}

/** Sampler name of a hookrelay process: "hookrelay" for `start`, else the role. */
export function trackName(role: HookrelayRole): string {
  return role === 'start' ? 'hookrelay' : role;
}

/**
 * Inserts a canary event (an organization without subscribers) every half second until
 * one reaches its final status, which needs the dispatcher's change stream open and the
 * worker polling. Canaries inserted before the stream opened are deleted afterwards, so
 * the dispatcher's sweep never starts them in the middle of a measurement.
 */
async function waitUntilServing(db: Db, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const canaries: string[] = [];
  const events = eventsCollection(db);
  let lastInsert = 0;
  const served = await pollUntil(async () => {
    if (Date.now() - lastInsert >= 500) {
      const canary = benchEvent(CANARY_ORGANIZATION);
      canaries.push(canary._id);
      lastInsert = Date.now();
      await insertEvent(db, canary);
    }
    const done = await events.countDocuments({ _id: { $in: canaries }, status: { $in: [...FINAL_EVENT_STATUSES] } });
    return done > 0;
  }, timeoutMs, 100, signal);
  if (signal.aborted) return;
  await events.deleteMany({ organization_id: CANARY_ORGANIZATION, status: 'pending' });
  if (!served) throw new Error(`hookrelay did not deliver a canary event within ${timeoutMs} ms`);
}

const CANARY_ORGANIZATION = 'org_bench_canary';

/** Events of the organization whose workflow has not recorded a final status yet. */
function unfinishedEvents(db: Db, organizationId: string): Promise<number> {
  return eventsCollection(db).countDocuments({ organization_id: organizationId, status: { $in: ['pending', 'dispatched'] } });
}

/** Cores each process kept busy while hookrelay stood by with nothing to do. */
export interface StandbyCost {
  windowS: number;
  /** e.g. { hookrelay: 0.05, mongodb: 0.3 }: fractions of one core. */
  coresBusy: Record<string, number>;
}

/**
 * Watches the scope's processes for `seconds` with no events: what hookrelay costs at
 * rest (change stream, sweeps, pollers), and what it makes the servers do meanwhile.
 */
export async function measureStandby(ctx: BenchContext, scope: HookrelayScope, seconds: number): Promise<StandbyCost> {
  ctx.log(`  hookrelay standing by for ${seconds} s`);
  const window = beginWindow(ctx.sampler, scope.processes.map((child) => trackName(child.role)));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const footprint = window.end(0);
  return {
    windowS: footprint.windowS,
    coresBusy: Object.fromEntries(
      Object.entries(footprint.processes).map(([name, process]) => [name, round(process.cpuS / footprint.windowS, 3)]),
    ),
  };
}

export interface BacklogRun {
  fanOut: number;
  events: number;
  /** Deliveries to healthy subscribers the run should produce (events × fanOut). */
  expected: number;
  received: number;
  complete: boolean;
  /** Seconds the inserter took to write the whole backlog. */
  insertS: number;
  /** Healthy deliveries per second (steady state: 20 %..90 % of the expected receipts). */
  deliveries: RateSummary;
  /** deliveries.steadyPerS / fanOut. */
  eventsPerS: number;
  /** Insert-to-receipt of every healthy delivery (backlog: dominated by queueing). */
  latencyMs: LatencySummary;
  /** Repeated deliveries of an (event, subscriber) that had already been received. */
  duplicates: number;
  /** Event workflows that closed without completing (terminated, failed) during the run. */
  unsuccessfulWorkflows: number;
  /** Requests that reached hanging subscribers (attempts at the dead endpoint). */
  hangingAttempts: number;
  footprint: WindowFootprint;
  /** MongoDB collection calls of the hookrelay processes per healthy delivery. */
  mongoCallsPerDelivery: Record<string, number>;
  /** Main-thread event-loop utilization of each hookrelay process during the run. */
  eventLoopUtilization: Record<string, number>;
  /** Per hookrelay process: RSS just before the run (idle) and V8 heap in use after it, MB. */
  memory: Record<string, { rssBeforeMB: number; heapUsedAfterMB: number }>;
  /** The last event's workflow history. */
  history?: HistoryShape;
}

/**
 * Saturation run: inserts `events` events for the organization into `webhook_events` as
 * fast as MongoDB takes them (insertMany, 100 at a time), then counts receipts until
 * all `events × fanOut` healthy deliveries arrived and, when `waitForWorkflows`, every
 * event has its final status (recorded by the workflow's last step). CPU and memory cover that whole window.
 */
export async function runBacklog(
  ctx: BenchContext,
  scope: HookrelayScope,
  options: { organizationId: string; events: number; fanOut: number; timeoutS: number; waitForWorkflows: boolean },
): Promise<BacklogRun> {
  const expected = options.events * options.fanOut;
  const documents = Array.from({ length: options.events }, () => benchEvent(options.organizationId));
  const insertedAt = new Map<string, number>();
  ctx.receiver.reset();
  const unsuccessfulBefore = await unsuccessfulWorkflows(ctx.temporal, scope.taskQueue);
  const probesBefore = await probeAll(scope.processes);
  const rssBefore = scope.processes.map((child) => memoryMB(child.pid).rss);
  const window = beginWindow(ctx.sampler, scope.processes.map((child) => trackName(child.role)));
  const t0 = performance.now();
  const deadline = t0 + options.timeoutS * 1000;

  const events = eventsCollection(scope.db);
  for (let i = 0; i < documents.length && !ctx.signal.aborted; i += 100) {
    const batch = documents.slice(i, i + 100);
    const at = performance.now();
    for (const document of batch) insertedAt.set(document._id, at);
    await events.insertMany(batch, { ordered: false });
  }
  const insertS = (performance.now() - t0) / 1000;
  const gaveUp = new AbortController();
  let complete = await Promise.race([
    ctx.receiver.waitForReceipts(expected, Math.max(0, deadline - performance.now())),
    // hookrelay's own failure (workflows terminated or failed, none left running): no
    // more deliveries will come, so waiting for the timeout would only waste time.
    pollUntil(
      async () =>
        (await unsuccessfulWorkflows(ctx.temporal, scope.taskQueue)) > unsuccessfulBefore &&
        (await runningWorkflows(ctx.temporal, scope.taskQueue)) === 0,
      Math.max(0, deadline - performance.now()),
      2000,
      gaveUp.signal,
    ).then(() => false),
  ]);
  gaveUp.abort();
  if (complete && options.waitForWorkflows) {
    complete = await pollUntil(
      async () => (await unfinishedEvents(scope.db, options.organizationId)) === 0,
      Math.min(CLOSE_WAIT_MS, Math.max(0, deadline - performance.now())),
      250,
      ctx.signal,
    );
  }
  const receipts = [...ctx.receiver.receipts];
  const hangingAttempts = ctx.receiver.hangingAttempts;
  const duplicates = ctx.receiver.duplicates;
  const footprint = window.end(receipts.length);
  const probesAfter = await probeAll(scope.processes);
  const unsuccessful = (await unsuccessfulWorkflows(ctx.temporal, scope.taskQueue)) - unsuccessfulBefore;

  // A run cut short is measured over what arrived (and reported incomplete).
  const deliveries = steadyRate(
    receipts.map((receipt) => receipt.at),
    Math.min(expected, receipts.length),
  );
  const latencies = receipts.flatMap((receipt) => {
    const at = insertedAt.get(receipt.eventId);
    return at === undefined ? [] : [receipt.at - at];
  });
  const mongoCallsPerDelivery: Record<string, number> = {};
  const eventLoopUtilization: Record<string, number> = {};
  const memory: BacklogRun['memory'] = {};
  scope.processes.forEach((child, i) => {
    const delta = probeDelta(probesBefore[i]!, probesAfter[i]!);
    eventLoopUtilization[trackName(child.role)] = round(delta.eventLoopUtilization, 3);
    memory[trackName(child.role)] = { rssBeforeMB: round(rssBefore[i]!, 1), heapUsedAfterMB: round(delta.heapUsedMB, 1) };
    for (const [key, count] of Object.entries(delta.mongoCalls)) {
      mongoCallsPerDelivery[key] = (mongoCallsPerDelivery[key] ?? 0) + count;
    }
  });
  for (const key of Object.keys(mongoCallsPerDelivery)) {
    mongoCallsPerDelivery[key] = round(mongoCallsPerDelivery[key]! / Math.max(1, receipts.length), 3);
  }
  return {
    fanOut: options.fanOut,
    events: options.events,
    expected,
    received: receipts.length,
    complete,
    insertS: round(insertS, 2),
    deliveries,
    eventsPerS: round(deliveries.steadyPerS / options.fanOut, 1),
    latencyMs: summarizeLatencies(latencies),
    duplicates,
    unsuccessfulWorkflows: unsuccessful,
    hangingAttempts,
    footprint,
    mongoCallsPerDelivery,
    eventLoopUtilization,
    memory,
    history: await historyShape(ctx.temporal, documents[documents.length - 1]!._id),
  };
}

function probeAll(processes: HookrelayProcess[]): Promise<ProbeSnapshot[]> {
  return Promise.all(processes.map((child) => child.probe()));
}
