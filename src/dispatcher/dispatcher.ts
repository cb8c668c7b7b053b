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
 * Turns inserts into `webhook_events` into workflow starts (DESIGN.md §5): a change
 * stream resumed from a stored token, plus a sweep for anything the stream missed.
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

  constructor(options: DispatcherOptions) {
    this.options = {
      sweepIntervalMs: 5_000,
      sweepGraceMs: 10_000,
      sweepOnlyIntervalMs: 1_000,
      batchSize: 200,
      concurrency: 32,
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
      total += await this.dispatch(events);
      if (events.length < this.options.batchSize) return total;
    }
  }

  private scheduleSweep(delayMs: number): void {
    if (this.stopped) return;
    this.sweepTimer = setTimeout(() => {
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
        if (RESUME_TOKEN_LOST.has(code)) {
          this.options.logger.warn({ err: error }, 'resume token no longer in the oplog; restarting the stream, the sweep covers the gap');
          await this.state.clear();
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
    const queue: ChangeStreamInsertDocument<EventDocument>[] = [];
    let wake: () => void = () => undefined;
    // The reader keeps pulling while a batch is dispatched; whatever queued meanwhile
    // becomes the next batch, so a burst costs one checkpoint write, not one per event.
    const reader = (async () => {
      const first = await stream.tryNext(); // opens the stream: later inserts are seen
      this.onStreamReady?.();
      if (first) queue.push(first);
      wake();
      while (!this.stopped) {
        queue.push(await stream.next());
        wake();
      }
    })();
    const readerFailed = reader.then(() => undefined);
    // A batch's bookkeeping (marking it dispatched, then its checkpoint) runs while the next
    // batch starts, so an event never waits for the writes of the one before it. The
    // checkpoints stay in order, and a failed one stops the stream: it resumes from the
    // last checkpoint written.
    let bookkeeping: Promise<void> = Promise.resolve();
    let behind = 0;
    let bookkeepingError: { error: unknown } | undefined;
    let failBookkeeping: (error: unknown) => void = () => undefined;
    const bookkeepingFailed = new Promise<never>((_, reject) => (failBookkeeping = reject));
    bookkeepingFailed.catch(() => undefined);
    const throwIfBookkeepingFailed = () => {
      if (bookkeepingError) throw bookkeepingError.error;
    };
    try {
      while (!this.stopped) {
        throwIfBookkeepingFailed();
        if (queue.length === 0) {
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), readerFailed, bookkeepingFailed]);
          continue;
        }
        const batch = queue.splice(0, this.options.batchSize);
        const started = await this.startEvents(batch.map((change) => change.fullDocument));
        throwIfBookkeepingFailed(); // a later checkpoint must never follow a failed one
        const token = batch[batch.length - 1]!._id;
        behind++;
        bookkeeping = bookkeeping
          .then(async () => {
            await markDispatched(this.options.db, started);
            await this.state.save(token);
          })
          .finally(() => behind--);
        bookkeeping.catch((error: unknown) => {
          bookkeepingError ??= { error };
          failBookkeeping(error);
        });
        // At most one batch's bookkeeping runs behind the starts.
        if (behind > 1) await Promise.race([bookkeeping, bookkeepingFailed]);
      }
    } finally {
      await stream.close().catch(() => undefined);
      await reader.catch(() => undefined);
      await bookkeeping.catch(() => undefined);
    }
  }

  /** Starts the events' workflows and marks the started ones `dispatched`. */
  private async dispatch(raw: EventDocument[]): Promise<number> {
    const started = await this.startEvents(raw);
    await markDispatched(this.options.db, started);
    return started.length;
  }

  /** Starts the events' workflows; returns the ids of those started (or already running). */
  private async startEvents(raw: EventDocument[]): Promise<string[]> {
    const started: string[] = [];
    const events = await this.validated(raw);
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++]!;
        this.options.recentEvents?.remember(event);
        if (await this.startWithRetry(event)) started.push(event._id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, events.length) }, worker));
    return started;
  }

  /** A document the engine wrote wrongly is failed with the reason, never silently skipped. */
  private async validated(raw: EventDocument[]): Promise<EventDocument[]> {
    const valid: EventDocument[] = [];
    for (const doc of raw) {
      try {
        valid.push(parseStoredEvent(doc));
      } catch (error) {
        if (!(error instanceof InvalidStoredEventError) || typeof doc?._id !== 'string') throw error;
        this.options.logger.warn({ event_id: doc._id, reason: error.message }, 'invalid event document; marked failed');
        await rejectEvent(this.options.db, doc._id, `invalid event document: ${error.message}`);
      }
    }
    return valid;
  }

  private async startWithRetry(event: EventDocument): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await startEventWorkflow(this.options.client, this.options.taskQueue, event, {
          eager: this.options.eagerStart,
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
