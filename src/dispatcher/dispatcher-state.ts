import type { Db } from 'mongodb';
import { COLLECTIONS } from '../store/collection-names';

interface DispatcherStateDocument {
  _id: string;
  resume_token: unknown;
  updated_at: Date;
}

/** The change-stream checkpoint: where a restarted dispatcher picks up. */
export function dispatcherState(db: Db, id: string) {
  const collection = db.collection<DispatcherStateDocument>(COLLECTIONS.dispatcherState);
  return {
    async load(): Promise<unknown> {
      return (await collection.findOne({ _id: id }))?.resume_token ?? undefined;
    },
    async save(token: unknown, now = new Date()): Promise<void> {
      await collection.updateOne({ _id: id }, { $set: { resume_token: token, updated_at: now } }, { upsert: true });
    },
    async clear(): Promise<void> {
      await collection.deleteOne({ _id: id });
    },
  };
}
