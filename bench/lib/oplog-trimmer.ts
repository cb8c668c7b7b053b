import type { MongoClient } from 'mongodb';

/** Oplog entries older than this are removed from the stand-in. */
const OPLOG_WINDOW_MS = 30_000;
const TRIM_EVERY_MS = 5_000;

/**
 * The MongoDB stand-in keeps every oplog entry and answers each change-stream poll by
 * scanning the whole oplog, so without a cap every scenario would run slower than the
 * one before it. A replica set's oplog is capped; this keeps the stand-in's to a recent
 * window, enough for a running change stream (the bench never resumes an old one).
 * Only for the stand-in: a real mongod manages its own oplog.
 */
export function startOplogTrimmer(client: MongoClient): { stop(): Promise<void> } {
  const oplog = client.db('local').collection('oplog.rs');
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = oplog.deleteMany({ wall: { $lt: new Date(Date.now() - OPLOG_WINDOW_MS) } }).catch(() => undefined);
  }, TRIM_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
