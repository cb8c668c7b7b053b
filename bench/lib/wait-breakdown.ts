import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Db } from 'mongodb';
import { eventsCollection } from '../../src/store/event-store';
import type { OpenLoopSample } from './open-loop-pipeline';
import { round } from './stats';

const { EventType } = temporal.api.enums.v1;

/**
 * Where the slowest events of a window waited, as medians over them (ms):
 * - dispatch: insert to workflow started (change stream, dispatcher, start request);
 * - handOff: workflow started to its first workflow task picked up by a worker;
 * - inWorker: that pick-up to the receipt (activations, local activities, the POST).
 */
export interface WaitBreakdown {
  events: number;
  dispatchMs: number;
  handOffMs: number;
  inWorkerMs: number;
}

/**
 * Reads the `count` slowest delivered samples' documents and workflow histories. Receipt
 * times are insert time plus measured latency; the event's `created_at` is the insert.
 */
export async function slowestWaits(
  client: Client,
  db: Db,
  samples: readonly OpenLoopSample[],
  count = 10,
): Promise<WaitBreakdown | undefined> {
  const slowest = [...samples].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, count);
  const stages: Array<[number, number, number]> = [];
  for (const sample of slowest) {
    const doc = await eventsCollection(db).findOne({ _id: sample.eventId });
    const history = await client.workflow
      .getHandle(sample.eventId)
      .fetchHistory()
      .catch(() => undefined);
    const events = history?.events ?? [];
    const startedAt = wallMs(events[0]?.eventTime);
    const pickedUpAt = wallMs(events.find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)?.eventTime);
    if (!doc || startedAt === undefined || pickedUpAt === undefined) continue;
    const insertedAt = doc.created_at.getTime();
    stages.push([startedAt - insertedAt, pickedUpAt - startedAt, insertedAt + sample.latencyMs - pickedUpAt]);
  }
  if (stages.length === 0) return undefined;
  return {
    events: stages.length,
    dispatchMs: median(stages.map((stage) => stage[0])),
    handOffMs: median(stages.map((stage) => stage[1])),
    inWorkerMs: median(stages.map((stage) => stage[2])),
  };
}

function wallMs(time: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  return time ? Number(time.seconds ?? 0) * 1000 + (time.nanos ?? 0) / 1e6 : undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, 1);
}
