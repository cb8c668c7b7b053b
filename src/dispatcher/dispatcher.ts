import type { Client } from '@temporalio/client';
import type { ChangeStream, ChangeStreamInsertDocument, Db, ResumeToken } from 'mongodb';
import type { Logger } from '../observability/logger';
import type { RecentEvents } from '../store/recent-events';
import {
  eventsCollection,
  findStalePendingEvents,
  InvalidStoredEventError,
  markDispatched,
  parseStoredEvent,
  rejectEvent,
  type EventDocument,
} from '../store/event-store';
import { startEventWorkflow } from '../temporal/start-event-workflow';
import { dispatcherState } from './dispatcher-state';
import { FairQueue } from './fair-queue';
import { StreamCheckpoint } from './stream-checkpoint';

export interface DispatcherOptions {
  db: Db;
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** How often the sweep looks for events still pending (change streams available). */
  sweepIntervalMs?: number;
  /** How old a pending event must be before the sweep starts it. */
  sweepGraceMs?: number;
  /** Sweep interval when the server has no change streams: the sweep is all there is. */
  sweepOnlyIntervalMs?: number;
  /** Most events started per batch and per sweep. */
  batchSize?: number;
  /** Workflow starts in flight at once. */
  concurrency?: number;
  /** Most changes read from the stream and not yet checkpointed (how far fairness sees). */
  readAhead?: number;
  /** Request eager workflow start: only useful when `client` shares a worker's connection. */
  eagerStart?: boolean;
  /** Checkpoint key in `dispatcher_state`. */
  stateId?: string;
  /** Observes dispatcher lag: insert (created_at) to workflow start. */
  onStarted?: (event: EventDocument, lagMs: number) => void;
  /** A worker in the same process reads events from here instead of MongoDB. */
  recentEvents?: RecentEvents;
}

// Server answers that mean "no change streams here" (standalone mongod, some compatibles).
const CHANGE_STREAMS_UNSUPPORTED = new Set([40573, 136, 115]);
// The stored token points at oplog that is gone: start afresh, the sweep covers the gap.
const RESUME_TOKEN_LOST = new Set([286, 280, 260]);

/**
 * Turns inserts into `webhook_events` into workflow starts (docs/architecture.md, One
 * event, step by step): a change stream resumed from a stored token, plus a sweep for
 * anything the stream missed.
 */
export class Dispatcher {
  private readonly options: Required<Omit<DispatcherOptions, 'onStarted' | 'recentEvents'>> &
    Pick<DispatcherOptions, 'onStarted' | 'recentEvents'>;
  private readonly state;
  private stream: ChangeStream<EventDocument, ChangeStreamInsertDocument<EventDocument>> | undefined;
  private stopped = true;
  private sweepOnly = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private streamLoop: Promise<void> | undefined;
  private onStreamReady: (() => void) | undefined;
  private wakeStream: (() => void) | undefined;

  constructor(options: DispatcherOptions) {
    this.options = {
      sweepIntervalMs: 5_000,
      sweepGraceMs: 10_000,
      sweepOnlyIntervalMs: 1_000,
      batchSize: 200,
      concurrency: 32,
      readAhead: 10_000,
      stateId: 'webhook_events',
      eagerStart: false,
      ...options,
    };
    this.state = dispatcherState(options.db, this.options.stateId);
  }

  get mode(): 'change-stream' | 'sweep-only' {
    return this.sweepOnly ? 'sweep-only' : 'change-stream';
  }

  /**
   * Starts the stream and the sweep. Resolves once the change stream is open (or known to
   * be unavailable), so inserts made after this returns are seen by the stream.
   */
  async start(): Promise<void> {
    this.stopped = false;
    const ready = new Promise<void>((resolve) => (this.onStreamReady = resolve));
    this.streamLoop = this.runStream();
    this.scheduleSweep(0);
    await Promise.race([ready, this.streamLoop, sleep(10_000)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.sweepTimer);
    this.wakeStream?.();
    await this.stream?.close().catch(() => undefined);
    await Promise.allSettled([this.streamLoop, this.sweeping]);
  }

  /** Runs one sweep now (also used by tests and the CLI). Returns how many were started. */
  async sweepOnce(graceMs = this.sweepOnly ? 0 : this.options.sweepGraceMs): Promise<number> {
    const olderThan = new Date(Date.now() - graceMs);
    let total = 0;
    for (;;) {
      const events = await findStalePendingEvents(this.options.db, olderThan, this.options.batchSize);
      if (events.length === 0 || this.stopped) return total;
      const started = await this.dispatch(events);
      total += started;
      // A full batch of which none started (Temporal down) would only be read again: the next sweep tries.
      if (events.length < this.options.batchSize || started === 0) return total;
    }
  }

  private scheduleSweep(delayMs: number): void {
    if (this.stopped) return;
    // One loop: a sweep scheduled anew (the server turned out to have no change streams)
    // replaces the one waiting.
    clearTimeout(this.sweepTimer);
    this.sweepTimer = setTimeout(() => {
      if (this.stopped) return;
      this.sweeping = this.sweepOnce()
        .then((started) => {
          if (started > 0) this.options.logger.info({ started }, 'sweep started pending events');
        })
        .catch((error: Error) => this.options.logger.warn({ err: error }, 'sweep failed; will retry'))
        .finally(() =>
          this.scheduleSweep(this.sweepOnly ? this.options.sweepOnlyIntervalMs : this.options.sweepIntervalMs),
        );
    }, delayMs);
  }

  private async runStream(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopped && !this.sweepOnly) {
      try {
        await this.consumeStream();
        backoffMs = 500;
      } catch (error) {
        if (this.stopped) return;
        const code = (error as { code?: number }).code ?? -1;
        if (CHANGE_STREAMS_UNSUPPORTED.has(code) || /replica set|change stream.*not supported/i.test(String(error))) {
          this.sweepOnly = true;
          this.onStreamReady?.();
          this.options.logger.warn(
            'MongoDB server has no change streams; dispatching from the sweep alone, every %d ms',
            this.options.sweepOnlyIntervalMs,
          );
          this.scheduleSweep(0);
          return;
        }
        if (RESUME_TOKEN_LOST.has(code) || error instanceof StreamInvalidatedError) {
          this.options.logger.warn({ err: error }, 'change stream cannot resume from its checkpoint; restarting it, the sweep covers the gap');
          // Should this write fail too, the next try resumes from the old token and ends up here again.
          await this.state.clear().catch((clearError: Error) => this.options.logger.warn({ err: clearError }, 'could not clear the checkpoint'));
        } else {
          this.options.logger.warn({ err: error }, 'change stream failed; resuming from the last checkpoint');
        }
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  private async consumeStream(): Promise<void> {
    const token = (await this.state.load()) as ResumeToken | undefined;
    const stream = eventsCollection(this.options.db).watch<EventDocument, ChangeStreamInsertDocument<EventDocument>>(
      [{ $match: { operationType: 'insert' } }],
      token ? { resumeAfter: token } : {},
    );
    this.stream = stream;
    // Events wait per organization and are started round-robin across organizations, up
    // to `concurrency` at once: a burst from one organization delays its own events, not
    // the others'. To see past a burst the reader reads ahead, up to `readAhead` changes.
    const queue = new FairQueue<{ event: EventDocument; seq: number }>();
    const checkpoint = new StreamCheckpoint<ResumeToken>();
    const changed = new Wakeup();
    this.wakeStream = () => changed.notify();
    let failure: { error: unknown } | undefined;
    const fail = (error: unknown) => {
      failure ??= { error };
      changed.notify();
    };
    const readAhead = Math.max(1, this.options.readAhead);
    const reader = (async () => {
      let change = await stream.tryNext(); // opens the stream: later inserts are seen
      this.onStreamReady?.();
      while (!this.stopped && !failure) {
        // The pipeline passes inserts only, but an invalidate (the collection was dropped or
        // renamed) always comes through: it ends the stream, and resuming from a token
        // before it only reaches it again.
        const { operationType } = (change ?? {}) as { operationType?: string };
        if (operationType !== undefined && operationType !== 'insert') {
          fail(new StreamInvalidatedError(operationType));
          return;
        }
        if (change) {
          const seq = checkpoint.add(change._id);
          queue.push(String(change.fullDocument?.organization_id ?? ''), { event: change.fullDocument, seq });
          changed.notify();
        }
        while (checkpoint.outstanding >= readAhead && !this.stopped && !failure) await changed.wait();
        if (this.stopped || failure) return;
        change = await stream.next();
      }
    })();
    // Closing the stream on stop() fails a pending read: that is the end, not a failure.
    reader.catch((error: unknown) => {
      if (!this.stopped) fail(error);
    });

    // Bookkeeping: started events are marked `dispatched`, then the checkpoint moves past
    // every change handled so far, in one pair of writes however many finished meanwhile.
    // It runs beside the starts, so an event never waits for another's writes.
    const startedIds: string[] = [];
    let bookkeeping: Promise<void> | undefined;
    let dirty = false;
    // A failed write stops the stream, which resumes from the last checkpoint written;
    // nothing more is written meanwhile, as a later checkpoint could pass events whose
    // marking failed.
    let writeFailed = false;
    const writeBookkeeping = async () => {
      while (dirty && !writeFailed) {
        dirty = false;
        const ids = startedIds.splice(0);
        const advance = checkpoint.takeAdvance();
        await markDispatched(this.options.db, ids);
        if (advance !== undefined) await this.state.save(advance);
      }
    };
    const scheduleBookkeeping = () => {
      dirty = true;
      if (writeFailed) return;
      bookkeeping ??= writeBookkeeping()
        .catch((error: unknown) => {
          writeFailed = true;
          fail(error);
        })
        .finally(() => {
          bookkeeping = undefined;
          if (dirty && !writeFailed) scheduleBookkeeping(); // work that came as this run ended
          changed.notify();
        });
    };

    const inFlight = new Set<Promise<void>>();
    try {
      while (!this.stopped && !failure) {
        if (queue.size === 0 || inFlight.size >= this.options.concurrency) {
          await changed.wait();
          continue;
        }
        const { key: organization, item: { event, seq } } = queue.shift()!;
        // Eager start hands the first task straight to the worker, ahead of everything
        // queued in Temporal; the worker takes it whenever it has a slot free (see
        // src/temporal/workflow-task-slots.ts). Only for an organization with no other event
        // waiting here: a burst's events then go through Temporal's task queue, which
        // serves organizations in turn, while an organization sending at its usual pace
        // skips that queue (and the server's backlog of the burst's starts before it).
        const eager = this.options.eagerStart && !queue.has(organization);
        const start = this.startOne(event, { eager })
          .then((started) => {
            if (started) startedIds.push(event._id);
            checkpoint.markDone(seq); // after its id is queued: a checkpoint never passes an unmarked event
            scheduleBookkeeping();
          })
          .catch(fail)
          .finally(() => {
            inFlight.delete(start);
            changed.notify();
          });
        inFlight.add(start);
      }
    } finally {
      await stream.close().catch(() => undefined);
      await reader.catch(() => undefined);
      await Promise.allSettled(inFlight);
      while (bookkeeping) await bookkeeping;
      // What started before the stop (or a read failure) is recorded, unless a write failed.
      dirty = true;
      await writeBookkeeping().catch(() => undefined);
    }
    if (failure) throw failure.error;
  }

  /** Starts the events' workflows and marks the started ones `dispatched`. */
  private async dispatch(raw: EventDocument[]): Promise<number> {
    const started = await this.startEvents(raw);
    await markDispatched(this.options.db, started);
    return started.length;
  }

  /**
   * Starts the events' workflows (the sweep's: never eagerly, they come as a batch);
   * returns the ids of those started (or already running).
   */
  private async startEvents(raw: EventDocument[]): Promise<string[]> {
    const started: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < raw.length) {
        const event = raw[next++]!;
        if (await this.startOne(event)) started.push(event._id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, raw.length) }, worker));
    return started;
  }

  /**
   * Starts one event's workflow; false if it was left pending (the sweep retries it) or
   * was invalid. A document the engine wrote wrongly is failed with the reason, never
   * silently skipped.
   */
  private async startOne(raw: EventDocument, options: { eager: boolean } = { eager: false }): Promise<boolean> {
    let event: EventDocument;
    try {
      event = parseStoredEvent(raw);
    } catch (error) {
      if (!(error instanceof InvalidStoredEventError)) throw error;
      // Whatever its `_id` (another producer's may not be a string): failing it, rather
      // than throwing, lets the stream and the sweep go past it.
      const id: unknown = raw?._id;
      this.options.logger.warn({ event_id: typeof id === 'string' ? id : String(id), reason: error.message }, 'invalid event document; marked failed');
      if (id !== undefined) await rejectEvent(this.options.db, id, `invalid event document: ${error.message}`);
      return false;
    }
    this.options.recentEvents?.remember(event);
    return this.startWithRetry(event, options.eager);
  }

  private async startWithRetry(event: EventDocument, eager: boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await startEventWorkflow(this.options.client, this.options.taskQueue, event, {
          eager,
        });
        this.options.onStarted?.(event, Date.now() - new Date(event.created_at).getTime());
        return true;
      } catch (error) {
        if (this.stopped || attempt >= 5) {
          // Left pending: the sweep tries again later, so nothing is lost.
          this.options.logger.warn({ err: error, event_id: event._id }, 'could not start the event workflow');
          return false;
        }
        await sleep(200 * 2 ** attempt);
      }
    }
  }
}

/** The change stream was invalidated: it ended, and cannot be resumed from before that. */
class StreamInvalidatedError extends Error {
  override readonly name = 'StreamInvalidatedError';
  constructor(operationType: string) {
    super(`change stream ended by a change of type "${operationType}"`);
  }
}

/** Wakes whoever waits when something they may be waiting for has changed. */
class Wakeup {
  private waiters: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
