import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import { deliveryIdFor } from '../../src/domain/ids';
import { createSecretBox, generateEncryptionKey } from '../../src/security/secret-box';
import { createApiKey } from '../../src/store/api-key-store';
import { deliveriesCollection, FINAL_DELIVERY_STATUSES } from '../../src/store/delivery-store';
import { eventsCollection } from '../../src/store/event-store';
import { ensureIndexes } from '../../src/store/indexes';
import { insertWebhook } from '../../src/store/webhook-store';
import { buildWebhookDocument } from '../../src/webhooks/new-webhook';
import { freePort } from '../../src/infra/free-port';
import { startApiProbe, type ApiSample } from './api-probe';
import { CHAOS_ORGANIZATION, insertAtSteadyRate, newInsertStats, type InsertStats } from './inserter';
import type { ChaosProfile, RoleName } from './profiles';
import { startChaosReceiver, RECEIVER_FAULTS, type ChaosReceiver, type ReceiverFault } from './receivers';
import { machineInfo, quantile, summarizeLatency, type ChaosResult, type FaultRecord } from './results';
import { createRng } from './rng';
import { SupervisedRole } from './roles';
import { planFaults, type FaultKind, type PlannedFault } from './schedule';
import { startChaosMongo, startChaosTemporal, type RestartableServer } from './servers';

export interface ChaosOptions {
  profile: ChaosProfile;
  seed: number;
  log?: (line: string) => void;
  /** Aborting stops the run early (Ctrl-C); everything started is stopped. */
  signal?: AbortSignal;
  /** Keep the scratch folder (logs, data files) even when the run passes. */
  keepScratch?: boolean;
}

const ROLES: RoleName[] = ['worker', 'dispatcher', 'api'];
const TASK_QUEUE = 'hookrelay-chaos';
/** Subscribers retry quickly so the run settles in minutes (retry policies are per webhook). */
export const CHAOS_RETRY_POLICY = {
  initial_interval: '1s',
  backoff_coefficient: 2,
  maximum_interval: '10s',
  maximum_attempts: 0,
  expiration: '1h',
};
/** After a fault ends, how long the API may still answer 5xx for it (driver reconnects). */
const API_GRACE_MS: Partial<Record<FaultKind, number>> = { 'kill-api': 1_000, 'restart-mongo': 15_000 };
const ROLE_READY_TIMEOUT_MS = 180_000;

interface Window {
  kind: FaultKind;
  from: number;
  to: number;
}

/**
 * One chaos run (issue 10): real servers and role processes, events inserted at a steady
 * rate while a seeded controller kill -9s the roles and restarts the servers, faulty
 * receivers; then, with faults stopped, a bounded wait for everything to settle and the
 * invariants checked. Everything it starts is stopped before it returns or throws.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { profile, seed } = options;
  const runStart = Date.now();
  const loadAtStart = loadavg()[0]!;
  const elapsed = () => ((Date.now() - runStart) / 1000).toFixed(1).padStart(6);
  const log = (line: string) => options.log?.(`[chaos ${elapsed()}s] ${line}`);
  const scratch = mkdtempSync(join(tmpdir(), `hookrelay-chaos-${profile.name}-`));
  const logDir = join(scratch, 'logs');
  mkdirSync(logDir, { recursive: true });
  const rng = createRng(seed);

  const cleanups: Array<() => Promise<unknown>> = [];
  const roles = new Map<RoleName, SupervisedRole>();
  const killAll = () => {
    for (const role of roles.values()) role.killNow();
  };
  process.once('exit', killAll);
  let passed = false;
  try {
    // ── servers ────────────────────────────────────────────────────────────────────
    log(`profile ${profile.name}, seed ${seed}: ${profile.events} events at ${profile.ratePerS}/s, ${profile.subscribers} subscribers; scratch ${scratch}`);
    // Server errors are worth seeing, except the stand-in's notes on clients we killed.
    const expected = /Connection reset|exception for client|CursorNotFound|Cursor id \d+ does not exist|failed to handle \{"getMore"/;
    const serverLog = (name: string) => (line: string) => {
      if (/error|fatal|exception/i.test(line) && !expected.test(line)) log(`${name}: ${line}`);
    };
    const started = await Promise.allSettled([
      startChaosTemporal(scratch, serverLog('temporal')),
      startChaosMongo(scratch, serverLog('mongo')),
    ]);
    for (const server of started) if (server.status === 'fulfilled') cleanups.push(() => server.value.stop());
    const failed = started.find((server): server is PromiseRejectedResult => server.status === 'rejected');
    if (failed) throw failed.reason;
    const [temporal, mongo] = started.map((server) => (server as PromiseFulfilledResult<RestartableServer>).value) as [RestartableServer, RestartableServer];
    log(`servers up: Temporal ${temporal.address} (${temporal.kind}), MongoDB ${mongo.address} (${mongo.kind})`);

    const mongoClient = new MongoClient(mongo.address, { serverSelectionTimeoutMS: 5_000 });
    await mongoClient.connect();
    cleanups.unshift(() => mongoClient.close());
    // Its own database: a MongoDB given by MONGODB_URL may hold earlier runs'.
    const database = `hookrelay_chaos_${seed}_${runStart.toString(36)}`;
    const db = mongoClient.db(database);
    if (mongo.kind.startsWith('external')) cleanups.unshift(() => db.dropDatabase());
    await ensureIndexes(db);

    // ── subscribers and receivers ────────────────────────────────────────────────
    const encryptionKey = generateEncryptionKey();
    const box = createSecretBox(encryptionKey);
    const secrets: string[] = [];
    const webhookIds: string[] = [];
    const receivers: ChaosReceiver[] = [];
    const patterns = [['*'], ['collection.*', 'object.*', 'cluster.*'], ['collection.documents.written', 'object.created', 'cluster.execution.completed']];
    for (let i = 0; i < profile.subscribers; i++) {
      const receiver = await startChaosReceiver({
        index: i,
        rng: rng.fork(`receiver-${i}`),
        faultRate: profile.receiverFaultRate,
        hangMs: profile.attemptTimeoutS * 1000 + 3_000,
        signingSecret: () => secrets[i]!,
      });
      receivers.push(receiver);
      cleanups.unshift(() => receiver.close());
      const { webhook, signingSecret } = buildWebhookDocument(
        {
          webhook_name: `chaos-subscriber-${i}`,
          event_types: patterns[i % patterns.length]!,
          channels: [{ channel: 'webhook', configs: { url: receiver.url, timeout: profile.attemptTimeoutS } }],
          retry_policy: CHAOS_RETRY_POLICY,
        },
        CHAOS_ORGANIZATION,
        box,
      );
      await insertWebhook(db, webhook);
      secrets.push(signingSecret);
      webhookIds.push(webhook._id);
    }
    const { key: apiKey } = await createApiKey(db, CHAOS_ORGANIZATION);

    // ── roles ────────────────────────────────────────────────────────────────────
    const apiPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URL: mongo.address,
      MONGODB_DB: database,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      HOOKRELAY_ENCRYPTION_KEY: encryptionKey,
      HOOKRELAY_ALLOW_HTTP: 'true',
      HOOKRELAY_ALLOWED_CIDRS: '127.0.0.0/8',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      LOG_LEVEL: 'info',
    };
    for (const name of ROLES) {
      const role = new SupervisedRole(name, env, logDir, runStart, log);
      roles.set(name, role);
      cleanups.unshift(() => role.stop());
      role.start();
    }
    await Promise.all([...roles.values()].map((role) => role.waitReady(ROLE_READY_TIMEOUT_MS)));
    log(`roles up: ${[...roles.values()].map((r) => `${r.role} ${(r.startupMs[0]! / 1000).toFixed(1)} s`).join(', ')}`);

    const probe = startApiProbe({ baseUrl: `http://127.0.0.1:${apiPort}`, apiKey, intervalMs: 500, timeoutMs: 15_000 });
    cleanups.unshift(() => probe.stop());

    // ── insert phase with the controller's faults ────────────────────────────────
    const eventIds = Array.from({ length: profile.events }, (_, i) => `evt_chaos_${seed}_${String(i).padStart(6, '0')}`);
    const insertPhaseMs = (profile.events / profile.ratePerS) * 1000;
    const plan = planFaults(profile, rng.fork('schedule'), insertPhaseMs, { restartMongo: mongo.restartable });
    log(`fault plan: ${plan.map((f) => `${f.kind}@${(f.atMs / 1000).toFixed(0)}s`).join(', ')}`);
    const abort = new AbortController();
    options.signal?.addEventListener('abort', () => abort.abort(), { once: true });
    const windows: Window[] = [];
    const timeline: FaultRecord[] = [];
    const insertStart = Date.now();
    const liveStats = newInsertStats(eventIds.length);
    const answeredSoFar = () => receivers.reduce((sum, r) => sum + [...r.deliveries.values()].filter((d) => d.ok > 0).length, 0);
    // Deliveries answered when the last event went in (the controller may still be restarting a role).
    let answeredWhenInsertsEnded = 0;
    const inserting = insertAtSteadyRate({ db, eventIds, ratePerS: profile.ratePerS, signal: abort.signal, stats: liveStats }).then(
      (stats) => {
        answeredWhenInsertsEnded = answeredSoFar();
        return stats;
      },
    );
    const insertedSoFar = () => liveStats.inserted;
    const progress = setInterval(() => {
      log(`progress: ${insertedSoFar()}/${profile.events} events inserted, ${answeredSoFar()}/${profile.events * profile.subscribers} deliveries answered 2xx`);
    }, 30_000);
    cleanups.unshift(async () => clearInterval(progress));
    const controlling = runController({
      plan,
      insertStart,
      roles,
      servers: { temporal, mongo },
      signal: abort.signal,
      log,
      onFault: (record, window) => {
        timeline.push(record);
        windows.push(window);
      },
    });
    let insertStats: InsertStats;
    try {
      [insertStats] = await Promise.all([inserting, controlling]);
    } catch (error) {
      abort.abort();
      throw error;
    }
    if (options.signal?.aborted) throw new Error('chaos run interrupted');
    const insertPhaseS = (insertStats.finishedAt - insertStart) / 1000;
    const controllerEndedAtS = (Date.now() - insertStart) / 1000;
    log(
      `insert phase done: ${insertStats.inserted} events in ${insertPhaseS.toFixed(0)} s (${insertStats.retries} insert retries); ` +
        `faults stopped at ${((Date.now() - insertStart) / 1000).toFixed(0)} s`,
    );

    // ── settle: faults off, wait (bounded) until everything is final ─────────────
    // The receivers keep failing until every delivery has had its first attempt, so each
    // one met the fault rate at least once, however far behind the roles fell.
    const expectedPairs = eventIds.length * profile.subscribers;
    const attemptedPairs = () => receivers.reduce((sum, r) => sum + r.deliveries.size, 0);
    const receiverFaultsUntil = Date.now() + profile.settleTimeoutS * 500;
    while (attemptedPairs() < expectedPairs && Date.now() < receiverFaultsUntil && !options.signal?.aborted) await sleep(1_000);
    for (const receiver of receivers) receiver.setFaulty(false);
    const receiverFaultsS = (Date.now() - insertStart) / 1000;
    const attemptedWhenFaultsEnded = attemptedPairs();
    log(`receiver faults off at ${receiverFaultsS.toFixed(0)} s: ${attemptedPairs()}/${expectedPairs} deliveries attempted`);
    await Promise.all([...roles.values()].map((role) => role.waitReady(ROLE_READY_TIMEOUT_MS)));
    const settleStart = Date.now();
    // The receivers' tallies are free to read; MongoDB is asked only once they are complete.
    const countOpen = async () => {
      const missing = expectedPairs - answeredSoFar();
      if (missing > 0) return { events: -1, deliveries: -1, records: -1, missing };
      const [events, deliveries, records] = await Promise.all([
        eventsCollection(db).countDocuments({ status: { $in: ['pending', 'dispatched'] } }),
        deliveriesCollection(db).countDocuments({ status: { $nin: [...FINAL_DELIVERY_STATUSES] } }),
        deliveriesCollection(db).countDocuments({}),
      ]);
      return { events, deliveries, records, missing };
    };
    let open = await countOpen();
    let lastReport = Date.now();
    while (Date.now() - settleStart < profile.settleTimeoutS * 1000 && !options.signal?.aborted) {
      if (open.events === 0 && open.deliveries === 0 && open.missing === 0 && open.records >= expectedPairs) break;
      await sleep(2_000);
      open = await countOpen().catch(() => open);
      if (Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        log(`settling: ${open.missing} receipts missing${open.events >= 0 ? `, ${open.events} events and ${open.deliveries} deliveries open` : ''}`);
      }
    }
    if (options.signal?.aborted) throw new Error('chaos run interrupted');
    const settleS = (Date.now() - settleStart) / 1000;
    log(`settled in ${settleS.toFixed(0)} s: ${open.events} events open, ${open.deliveries} deliveries open, ${open.missing} receipts missing`);
    await probe.stop();

    // ── invariants and figures ──────────────────────────────────────────────────
    const result = await collectResult({
      options,
      runStart,
      loadAtStart,
      db,
      temporal,
      mongo,
      eventIds,
      webhookIds,
      receivers,
      insertStats,
      insertPhaseS,
      answeredWhenInsertsEnded,
      settleS,
      controllerEndedAtS,
      receiverFaultsS,
      attemptedWhenFaultsEnded,
      timeline,
      windows,
      samples: probe.samples,
      roles,
    });
    passed = result.passed;
    if (!passed || options.keepScratch) result.logs = scratch;
    log(result.passed ? 'PASSED' : `FAILED:\n  - ${result.failures.join('\n  - ')}`);
    return result;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    killAll();
    process.removeListener('exit', killAll);
    if (passed && !options.keepScratch) rmSync(scratch, { recursive: true, force: true });
    else log(`logs and data kept in ${scratch}`);
  }
}

/** Role kills keep this far from a server restart, so the roles show they reconnect by themselves. */
const SERVER_RESTART_QUIET_MS = 10_000;

/**
 * Carries out the plan: each fault at its time; a role's kills one after another. A
 * server restart waits until every role serves (it must hit running processes), and no
 * role is killed while a server restarts or in the quiet time after it.
 */
async function runController(args: {
  plan: PlannedFault[];
  insertStart: number;
  roles: Map<RoleName, SupervisedRole>;
  servers: { temporal: RestartableServer; mongo: RestartableServer };
  signal: AbortSignal;
  log: (line: string) => void;
  onFault: (record: FaultRecord, window: Window) => void;
}): Promise<void> {
  const { plan, insertStart, roles, servers, signal, log } = args;
  const chains = new Map<string, Promise<void>>();
  const since = (t: number) => (t - insertStart) / 1000;
  // Server restarts due or running, and the end of the last one's quiet time.
  let serverRestarts = 0;
  let quietUntil = 0;
  const allReady = () => Promise.all([...roles.values()].map((role) => role.waitReady(ROLE_READY_TIMEOUT_MS)));
  const carryOut = async (fault: PlannedFault) => {
    const wait = insertStart + fault.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (signal.aborted) return;
    if (fault.kind === 'restart-temporal' || fault.kind === 'restart-mongo') {
      serverRestarts++;
      try {
        await allReady();
        const server = fault.kind === 'restart-temporal' ? servers.temporal : servers.mongo;
        const pids = [...roles.values()].map((role) => `${role.role} ${role.pid}`).join(', ');
        const begin = Date.now();
        log(`${fault.kind}: graceful stop (roles running: ${pids})`);
        const { downMs } = await server.restart(() => log(`${fault.kind}: stopped, starting again`));
        log(`${fault.kind}: serving again after ${(downMs / 1000).toFixed(1)} s`);
        quietUntil = Date.now() + SERVER_RESTART_QUIET_MS;
        args.onFault(
          { kind: fault.kind, plannedAtS: fault.atMs / 1000, atS: since(begin), downS: downMs / 1000 },
          { kind: fault.kind, from: begin, to: Date.now() + (API_GRACE_MS[fault.kind] ?? 5_000) },
        );
      } finally {
        serverRestarts--;
      }
      return;
    }
    const role = roles.get(fault.kind.slice('kill-'.length) as RoleName)!;
    // A role still starting up from an earlier fault is killed once it serves.
    await role.waitReady(ROLE_READY_TIMEOUT_MS);
    while ((serverRestarts > 0 || Date.now() < quietUntil) && !signal.aborted) await sleep(250);
    if (signal.aborted) return;
    const killedAt = Date.now();
    await role.kill9();
    log(`${fault.kind}: kill -9 (pid gone), restart in ${(fault.pauseMs / 1000).toFixed(1)} s`);
    await sleep(fault.pauseMs);
    role.start();
    await role.waitReady(ROLE_READY_TIMEOUT_MS);
    const downMs = Date.now() - killedAt;
    log(`${fault.kind}: ${role.role} serving again after ${(downMs / 1000).toFixed(1)} s`);
    args.onFault(
      { kind: fault.kind, plannedAtS: fault.atMs / 1000, atS: since(killedAt), downS: downMs / 1000 },
      { kind: fault.kind, from: killedAt, to: Date.now() + (API_GRACE_MS[fault.kind] ?? 0) },
    );
  };
  const tasks = plan.map((fault) => {
    const previous = chains.get(fault.kind) ?? Promise.resolve();
    const task = previous.then(() => carryOut(fault));
    chains.set(fault.kind, task);
    return task;
  });
  await Promise.all(tasks);
}

async function collectResult(args: {
  options: ChaosOptions;
  runStart: number;
  loadAtStart: number;
  db: Db;
  temporal: RestartableServer;
  mongo: RestartableServer;
  eventIds: string[];
  webhookIds: string[];
  receivers: ChaosReceiver[];
  insertStats: InsertStats;
  insertPhaseS: number;
  answeredWhenInsertsEnded: number;
  settleS: number;
  controllerEndedAtS: number;
  receiverFaultsS: number;
  attemptedWhenFaultsEnded: number;
  timeline: FaultRecord[];
  windows: Window[];
  samples: readonly ApiSample[];
  roles: Map<RoleName, SupervisedRole>;
}): Promise<ChaosResult> {
  const { options, db, receivers, eventIds, webhookIds } = args;
  const { profile, seed } = options;
  const failures: string[] = [];

  // Events and deliveries as MongoDB has them.
  const byStatus = async (collection: 'events' | 'deliveries') => {
    const rows = await (collection === 'events' ? eventsCollection(db) : deliveriesCollection(db))
      .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$status', n: { $sum: 1 } } }])
      .toArray();
    return Object.fromEntries(rows.map((row) => [row._id, row.n]));
  };
  const eventsByStatus = await byStatus('events');
  const deliveriesByStatus = await byStatus('deliveries');
  const deliveryDocs = await deliveriesCollection(db)
    .find({}, { projection: { _id: 1, status: 1, attempt_count: 1, event_id: 1, webhook_id: 1 } })
    .toArray();
  const openEvents = await eventsCollection(db)
    .find({ status: { $nin: ['delivered'] } }, { projection: { _id: 1, status: 1 } })
    .limit(20)
    .toArray();
  const attemptsRecorded = deliveryDocs.reduce((sum, d) => sum + (d.attempt_count ?? 0), 0);

  // Lost: an (event, subscriber) pair whose receiver never answered 2xx.
  const lostPairs: string[] = [];
  let extraAnswers = 0;
  let duplicateDeliveries = 0;
  const latencies: number[] = [];
  for (const receiver of receivers) {
    const webhookId = webhookIds[receiver.index]!;
    for (const eventId of eventIds) {
      const receipt = receiver.deliveries.get(deliveryIdFor(eventId, webhookId, 0));
      if (!receipt || receipt.ok === 0 || receipt.eventId !== eventId) {
        lostPairs.push(`${eventId} → subscriber ${receiver.index}`);
        continue;
      }
      if (receipt.ok > 1) {
        duplicateDeliveries++;
        extraAnswers += receipt.ok - 1;
      }
      const insertedAt = args.insertStats.insertedAt.get(eventId);
      if (insertedAt !== undefined && receipt.firstOkAt !== undefined) latencies.push(receipt.firstOkAt - insertedAt);
    }
  }

  const dispatchedAt = await eventsCollection(db)
    .find({ dispatched_at: { $exists: true } }, { projection: { _id: 1, dispatched_at: 1 } })
    .toArray();
  const dispatchLatencies: number[] = [];
  for (const event of dispatchedAt) {
    const insertedAt = args.insertStats.insertedAt.get(event._id);
    if (insertedAt !== undefined && event.dispatched_at) dispatchLatencies.push(event.dispatched_at.getTime() - insertedAt);
  }

  const eventsOpen = (eventsByStatus.pending ?? 0) + (eventsByStatus.dispatched ?? 0);
  const deliveriesOpen = deliveryDocs.filter((d) => !FINAL_DELIVERY_STATUSES.includes(d.status)).length;
  const openWorkflows = await countOpenWorkflows(args.temporal.address);
  const stuckSample = [
    ...openEvents.filter((e) => e.status === 'pending' || e.status === 'dispatched').map((e) => `event ${e._id} ${e.status}`),
    ...deliveryDocs.filter((d) => !FINAL_DELIVERY_STATUSES.includes(d.status)).slice(0, 10).map((d) => `delivery ${d._id} (${d.event_id} → ${d.webhook_id}) ${d.status}`),
  ].slice(0, 20);

  // The API probe: 5xx inside the windows where the API, MongoDB or Temporal was away, and outside.
  const apiWindows = args.windows.filter((w) => w.kind === 'kill-api' || w.kind === 'restart-mongo' || w.kind === 'restart-temporal');
  // A request counts as inside a window when its flight overlaps it.
  const inWindow = (sample: ApiSample) => apiWindows.some((w) => sample.endAt >= w.from && sample.at <= w.to);
  const serverErrors = args.samples.filter((s) => s.status >= 500);
  const unanswered = args.samples.filter((s) => s.status === 0);
  const serverErrorStatuses: Record<string, number> = {};
  for (const sample of serverErrors) serverErrorStatuses[sample.status] = (serverErrorStatuses[sample.status] ?? 0) + 1;
  const api: ChaosResult['api'] = {
    requests: args.samples.length,
    ok: args.samples.filter((s) => s.status >= 200 && s.status < 300).length,
    serverErrorsInFaultWindows: serverErrors.filter((s) => inWindow(s)).length,
    serverErrorsOutsideFaultWindows: serverErrors.filter((s) => !inWindow(s)).length,
    serverErrorStatuses,
    unanswered: unanswered.length,
    unansweredOutsideFaultWindows: unanswered.filter((s) => !inWindow(s)).length,
  };

  const receiverFaults = Object.fromEntries(RECEIVER_FAULTS.map((k) => [k, 0])) as Record<ReceiverFault, number>;
  for (const receiver of receivers) for (const kind of RECEIVER_FAULTS) receiverFaults[kind] += receiver.faults[kind];
  const injected: Record<string, number> = {};
  for (const record of args.timeline) injected[faultLabel(record.kind)] = (injected[faultLabel(record.kind)] ?? 0) + 1;
  injected['receiver HTTP 500'] = receiverFaults['500'];
  injected['receiver connection reset'] = receiverFaults.reset;
  injected['receiver hang past the timeout'] = receiverFaults.hang;
  injected['receiver 429 + Retry-After'] = receiverFaults['429'];

  const roleStats = Object.fromEntries(
    [...args.roles.values()].map((role) => {
      const sorted = [...role.startupMs].sort((a, b) => a - b);
      return [
        role.role,
        {
          starts: role.starts,
          kills: role.kills,
          startupP50S: quantile(sorted, 0.5) / 1000,
          startupMaxS: (sorted[sorted.length - 1] ?? 0) / 1000,
        },
      ];
    }),
  ) as ChaosResult['roles'];
  const unexpectedExits = [...args.roles.values()].flatMap((role) => role.unexpectedExits);

  const expected = eventIds.length * profile.subscribers;
  const badRequests = receivers.reduce((sum, r) => sum + r.badRequests, 0);
  // The invariants.
  if (args.insertStats.inserted !== eventIds.length) failures.push(`inserted ${args.insertStats.inserted} of ${eventIds.length} events`);
  if (lostPairs.length > 0) failures.push(`lost: ${lostPairs.length} (event, subscriber) pairs never answered 2xx, e.g. ${lostPairs.slice(0, 3).join('; ')}`);
  if (eventsOpen > 0) failures.push(`stuck: ${eventsOpen} events still pending or dispatched`);
  if (deliveriesOpen > 0) failures.push(`stuck: ${deliveriesOpen} delivery records not settled`);
  const notDelivered = eventIds.length - (eventsByStatus.delivered ?? 0);
  if (notDelivered > 0) failures.push(`${notDelivered} events not "delivered": ${JSON.stringify(eventsByStatus)}`);
  if (deliveryDocs.length !== expected) failures.push(`${deliveryDocs.length} delivery records, expected ${expected}`);
  const deliveriesNotDelivered = deliveryDocs.filter((d) => d.status !== 'delivered').length;
  if (deliveriesNotDelivered > 0) failures.push(`${deliveriesNotDelivered} delivery records not "delivered": ${JSON.stringify(deliveriesByStatus)}`);
  if (openWorkflows > 0) failures.push(`${openWorkflows} workflows still running`);
  if (badRequests > 0) failures.push(`${badRequests} requests with a bad signature or envelope`);
  if (api.serverErrorsOutsideFaultWindows > 0) failures.push(`API answered 5xx ${api.serverErrorsOutsideFaultWindows} times outside fault windows`);
  const non503 = serverErrors.filter((s) => s.status !== 503).length;
  if (non503 > 0) failures.push(`API answered ${non503} 5xx other than 503 (${JSON.stringify(serverErrorStatuses)})`);
  const crashes = unexpectedExits.filter((exit) => exit.phase === 'running');
  if (crashes.length > 0) failures.push(`${crashes.length} role processes ended by themselves while serving: ${crashes.map((c) => `${c.role} at ${c.atS.toFixed(0)} s`).join(', ')}`);
  const plannedCount = args.timeline.length;
  const expectedFaults = ROLES.reduce((sum, r) => sum + profile.kills[r], 0) + 1 + (args.mongo.restartable ? 1 : 0);
  if (plannedCount !== expectedFaults) failures.push(`carried out ${plannedCount} of ${expectedFaults} planned faults`);

  const finishedAt = new Date();
  return {
    profile: profile.name,
    seed,
    startedAt: new Date(args.runStart).toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: Math.round((finishedAt.getTime() - args.runStart) / 1000),
    machine: machineInfo(args.loadAtStart),
    servers: { temporal: args.temporal.kind, mongo: args.mongo.kind },
    config: {
      events: profile.events,
      ratePerS: profile.ratePerS,
      subscribers: profile.subscribers,
      receiverFaultRate: profile.receiverFaultRate,
      attemptTimeoutS: profile.attemptTimeoutS,
      retryPolicy: CHAOS_RETRY_POLICY,
    },
    events: {
      planned: eventIds.length,
      inserted: args.insertStats.inserted,
      insertRetries: args.insertStats.retries,
      insertPhaseS: Math.round(args.insertPhaseS),
      byStatus: eventsByStatus,
    },
    faults: {
      injected,
      timeline: args.timeline,
      receiver: receiverFaults,
      controllerEndedAtS: Math.round(args.controllerEndedAtS),
      receiverFaultsEndedAtS: Math.round(args.receiverFaultsS),
      attemptedWhenFaultsEnded: args.attemptedWhenFaultsEnded,
    },
    deliveries: {
      expected,
      records: deliveryDocs.length,
      byStatus: deliveriesByStatus,
      attemptsRecorded,
      attemptsReceived: receivers.reduce((sum, r) => sum + r.attempts, 0),
      badRequests,
      answeredWhenInsertsEnded: args.answeredWhenInsertsEnded,
    },
    lost: lostPairs.length,
    lostSample: lostPairs.slice(0, 20),
    duplicates: {
      deliveries: duplicateDeliveries,
      extraAnswers,
      rate: expected > 0 ? Math.round((duplicateDeliveries / expected) * 100_000) / 100_000 : 0,
    },
    stuck: { total: eventsOpen + deliveriesOpen, events: eventsOpen, deliveries: deliveriesOpen, openWorkflows, sample: stuckSample },
    settleS: Math.round(args.settleS),
    latency: summarizeLatency(latencies),
    dispatchLatency: summarizeLatency(dispatchLatencies),
    api,
    roles: roleStats,
    unexpectedExits,
    passed: failures.length === 0,
    failures,
  };
}

export function faultLabel(kind: FaultKind): string {
  switch (kind) {
    case 'kill-worker':
      return 'kill -9 worker';
    case 'kill-dispatcher':
      return 'kill -9 dispatcher';
    case 'kill-api':
      return 'kill -9 api';
    case 'restart-temporal':
      return 'Temporal server restart';
    case 'restart-mongo':
      return 'MongoDB server restart';
  }
}

/** Workflows of the run still open; -1 if visibility cannot say. */
async function countOpenWorkflows(address: string): Promise<number> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 5_000 });
    const client = new Client({ connection });
    const { count } = await client.workflow.count(`TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Running'`);
    return count;
  } catch {
    return -1;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
