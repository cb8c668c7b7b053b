// Checks the MongoDB stand-in against the real driver for the features hookrelay relies on
// (README, Real MongoDB versus the stand-in). Starts its own servers so it does not
// depend on the shared global setup.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { MongoClient, type ChangeStream, type ChangeStreamInsertDocument, type Collection, type ResumeToken } from 'mongodb';
import { startMongoStandin, type MongoServerHandle } from '../../src/infra/mongo-server';

const START_TIMEOUT = 180_000; // a cold provisioning runs Maven

interface Doc {
  key: string;
  n?: number;
  attempts?: number[];
}

interface StatusDoc {
  _id: string;
  status: string;
}

/**
 * Reads and writes by id with a further condition, as hookrelay's stores make them: the
 * stand-in answers them from the `_id` index (as MongoDB does) and applies the whole query.
 * The documents go in out of id order: read from the index they come back in id order,
 * as from MongoDB's index scan; a scan of the memory backend returns them as inserted.
 */
async function expectIdQueriesWithConditions(c: Collection<StatusDoc>): Promise<void> {
  const ids = (docs: StatusDoc[]) => docs.map((d) => d._id);
  await c.insertMany([{ _id: 'c', status: 'done' }, { _id: 'b', status: 'pending' }, { _id: 'a', status: 'pending' }]);
  expect(ids(await c.find({ _id: { $in: ['c', 'b', 'a'] }, status: { $exists: true } }).toArray())).toEqual(['a', 'b', 'c']);

  const moved = await c.updateMany({ _id: { $in: ['a', 'c', 'zz'] }, status: 'pending' }, { $set: { status: 'dispatched' } });
  expect(moved.matchedCount).toBe(1);
  expect(await c.findOne({ _id: 'b', status: 'dispatched' })).toBeNull();
  expect(await c.findOne({ _id: 'a', status: 'dispatched' })).toEqual({ _id: 'a', status: 'dispatched' });
  const either = await c.find({ _id: { $in: ['a', 'b', 'c'] }, $or: [{ status: 'dispatched' }, { status: 'done' }] }).toArray();
  expect(ids(either)).toEqual(['a', 'c']);

  // An upsert whose condition fails on an existing id collides with it, as in MongoDB.
  await expect(
    c.updateOne({ _id: 'c', status: { $nin: ['done'] } }, { $set: { status: 'pending' } }, { upsert: true }),
  ).rejects.toMatchObject({ code: 11000 });
  expect(await c.findOne({ _id: 'c' })).toEqual({ _id: 'c', status: 'done' });
  expect((await c.deleteMany({ _id: { $in: ['a', 'b'] }, status: 'pending' })).deletedCount).toBe(1);
  expect(ids(await c.find({ _id: { $in: ['a', 'b', 'c'] } }).toArray()).sort()).toEqual(['a', 'c']);
  // A regular expression is not an id to look up: the query matches as MongoDB's would.
  expect(ids(await c.find({ _id: { $in: [/^c/] }, status: 'done' }).toArray())).toEqual(['c']);
}

describe('mongo stand-in, memory backend', () => {
  let server: MongoServerHandle;
  let client: MongoClient;

  beforeAll(async () => {
    server = await startMongoStandin({ backend: 'memory' });
    client = await new MongoClient(server.url, { serverSelectionTimeoutMS: 5_000 }).connect();
  }, START_TIMEOUT);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  const coll = (name: string): Collection<Doc> => client.db('standin_test').collection<Doc>(name);

  it('inserts and finds', async () => {
    const c = coll('crud');
    await c.insertOne({ key: 'a', n: 1 });
    expect(await c.findOne({ key: 'a' }, { projection: { _id: 0 } })).toEqual({ key: 'a', n: 1 });
    expect(server.kind).toBe('standin');
  });

  it('rejects a duplicate on a unique index with code 11000', async () => {
    const c = coll('unique');
    await c.createIndex({ key: 1 }, { unique: true });
    await c.insertOne({ key: 'dup' });
    await expect(c.insertOne({ key: 'dup' })).rejects.toMatchObject({ code: 11000 });
  });

  it('delivers inserts on a change stream and resumes after a token', async () => {
    const c = coll('events');
    const pipeline = [{ $match: { operationType: 'insert' } }];
    const stream = c.watch<Doc, ChangeStreamInsertDocument<Doc>>(pipeline, { maxAwaitTimeMS: 200 });
    await stream.tryNext(); // opens the cursor so the next insert is after its start
    await c.insertOne({ key: 'first' });
    const first = await stream.next();
    expect(first.operationType).toBe('insert');
    expect(first.fullDocument).toMatchObject({ key: 'first' });
    const token: ResumeToken = stream.resumeToken;
    await stream.close();

    // Written while no stream is open: must arrive after resuming.
    await c.insertOne({ key: 'while-closed' });
    const resumed = c.watch<Doc, ChangeStreamInsertDocument<Doc>>(pipeline, { resumeAfter: token, maxAwaitTimeMS: 200 });
    try {
      const next = await resumed.next();
      expect(next.fullDocument).toMatchObject({ key: 'while-closed' });
    } finally {
      await resumed.close();
    }
  });

  it('records in the oplog only the collections a change stream was opened on', async () => {
    const db = client.db('standin_watched');
    const oplog = client.db('local').collection('oplog.rs');
    const entries = (ns: string) => oplog.countDocuments({ ns });
    await db.collection('later').insertOne({ key: 'before any stream' });
    const stream = db.collection<Doc>('later').watch([], { maxAwaitTimeMS: 200 });
    await stream.tryNext(); // opens the cursor
    await db.collection('later').insertOne({ key: 'after' });
    await db.collection('never').insertOne({ key: 'unwatched' });
    expect(await entries('standin_watched.later')).toBe(1);
    expect(await entries('standin_watched.never')).toBe(0);
    await stream.close();
  });

  it('upserts with findOneAndUpdate', async () => {
    const c = coll('upsert');
    const created = await c.findOneAndUpdate({ key: 'u' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
    expect(created).toMatchObject({ key: 'u', n: 1 });
    const updated = await c.findOneAndUpdate({ key: 'u' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
    expect(updated).toMatchObject({ key: 'u', n: 2 });
    expect(await c.countDocuments({ key: 'u' })).toBe(1);
  });

  it('keeps the last entries with $push and $slice', async () => {
    const c = coll('slice');
    await c.insertOne({ key: 's', attempts: [] });
    for (let i = 1; i <= 5; i++) {
      await c.updateOne({ key: 's' }, { $push: { attempts: { $each: [i], $slice: -3 } } });
    }
    expect((await c.findOne({ key: 's' }))?.attempts).toEqual([3, 4, 5]);
  });

  it('answers a query naming _id beside other fields from the _id index', async () => {
    const c = client.db('standin_test').collection<StatusDoc>('by_id');
    await expectIdQueriesWithConditions(c);
    // Without an _id condition the memory backend scans, in insertion order.
    expect((await c.find({ status: { $exists: true } }).toArray()).map((d) => d._id)).toEqual(['c', 'a']);
  });
});

describe('mongo stand-in, change-stream waits and oplog cap', () => {
  let server: MongoServerHandle;
  let client: MongoClient;
  let getMores = 0;

  beforeAll(async () => {
    server = await startMongoStandin({ backend: 'memory', oplogMaxEntries: 100 });
    client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5_000, monitorCommands: true });
    client.on('commandStarted', (event) => {
      if (event.commandName === 'getMore') getMores++;
    });
    await client.connect();
  }, START_TIMEOUT);

  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });

  it('parks an empty getMore until a write arrives instead of answering at once', async () => {
    const c = client.db('standin_wait').collection<Doc>('events');
    // A wait far longer than the test's timeout: only a wake-up on the insert can end it in time.
    const stream = c.watch<Doc, ChangeStreamInsertDocument<Doc>>([], { maxAwaitTimeMS: 60_000 });
    try {
      const before = getMores;
      const next = stream.next(); // opens the cursor, then waits in getMore
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Answered at once, an idle stream polls thousands of times a second.
      expect(getMores - before).toBeLessThanOrEqual(2);
      await client.db('standin_wait').collection('unrelated').insertOne({ key: 'elsewhere' });
      await c.insertOne({ key: 'wakes' });
      expect((await next).fullDocument).toMatchObject({ key: 'wakes' });
    } finally {
      await stream.close();
    }
  }, 15_000);

  it('caps the oplog and streams every entry written while it is trimmed', async () => {
    const c = client.db('standin_cap').collection<Doc>('events');
    const stream = c.watch<Doc, ChangeStreamInsertDocument<Doc>>([], { maxAwaitTimeMS: 200 });
    try {
      await stream.tryNext();
      // The stream reads each batch before the next one is written, so it is never more
      // than 50 entries behind (the cap keeps 100), however slowly the machine runs; the
      // pauses let the cap's trims (every 500 ms) happen while it streams.
      const seen: string[] = [];
      for (let i = 0; i < 300; i += 50) {
        await c.insertMany(Array.from({ length: 50 }, (_, k) => ({ key: `k${i + k}` })));
        while (seen.length < i + 50) seen.push((await stream.next()).fullDocument.key);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      expect(seen).toEqual(Array.from({ length: 300 }, (_, k) => `k${k}`));
      const oplog = client.db('local').collection('oplog.rs');
      const deadline = Date.now() + 5_000;
      let entries = await oplog.countDocuments();
      while (entries > 100 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        entries = await oplog.countDocuments();
      }
      expect(entries).toBeLessThanOrEqual(100);
    } finally {
      await stream.close();
    }
  }, 15_000);
});

describe('mongo stand-in, h2 backend', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'hookrelay-standin-h2-'));
  });

  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts the stand-in on `dir`, runs fn, and stops it gracefully (the H2 store is flushed and closed). */
  const withServer = async <T>(dir: string, fn: (c: Collection<Doc>) => Promise<T>, env?: NodeJS.ProcessEnv): Promise<T> => {
    const server = await startMongoStandin({ backend: 'h2', dataDir: dir, env });
    const client = await new MongoClient(server.url, { serverSelectionTimeoutMS: 5_000 }).connect();
    try {
      return await fn(client.db('standin_test').collection<Doc>('durable'));
    } finally {
      await client.close();
      await server.stop();
    }
  };

  const insertsOnly = [{ $match: { operationType: 'insert' } }];

  /** The next change within `ms`, or a clear failure (the server is still stopped afterwards). */
  const nextWithin = async (stream: ChangeStream<Doc, ChangeStreamInsertDocument<Doc>>, ms = 15_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const change = await stream.tryNext(); // one getMore, waiting at most maxAwaitTimeMS
      if (change) return change;
    }
    throw new Error(`no change arrived within ${ms} ms`);
  };

  /** The resume token of a first insert, made on a fresh store in `dir` that is then stopped. */
  const tokenOfFirstInsert = (dir: string) => withServer(dir, async (c) => {
    const stream = c.watch<Doc, ChangeStreamInsertDocument<Doc>>(insertsOnly, { maxAwaitTimeMS: 200 });
    try {
      await stream.tryNext();
      await c.insertOne({ key: 'before the restart' });
      await nextWithin(stream);
      return stream.resumeToken;
    } finally {
      await stream.close();
    }
  });

  /** After a restart: a write made before any stream reopens, then the stream resumed from `token`. */
  const resumeAfterRestart = (dir: string, token: ResumeToken, env?: NodeJS.ProcessEnv) => withServer(dir, async (c) => {
    // The stored oplog says the collection is watched, so this write is recorded.
    await c.insertOne({ key: 'after the restart' });
    const resumed = c.watch<Doc, ChangeStreamInsertDocument<Doc>>(insertsOnly, { resumeAfter: token, maxAwaitTimeMS: 200 });
    try {
      return (await nextWithin(resumed)).fullDocument;
    } finally {
      await resumed.close();
    }
  }, env);

  it('resumes a change stream after a restart, with the writes made before it reopened', async () => {
    const token = await tokenOfFirstInsert(dataDir);
    expect(await resumeAfterRestart(dataDir, token)).toMatchObject({ key: 'after the restart' });
  }, START_TIMEOUT);

  it('resumes after a restart with the clock stepped back: new oplog entries still sort after the stored ones', async () => {
    // Oplog timestamps are (wall-clock second, counter from 0 per process): a restart within the
    // same second, or with the clock stepped back, would stamp new writes before the token.
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-standin-h2-clock-'));
    try {
      const token = await tokenOfFirstInsert(dir);
      const steppedBack = { ...process.env, JAVA_TOOL_OPTIONS: '-Dstandin.clockOffsetMs=-3600000' };
      expect(await resumeAfterRestart(dir, token, steppedBack)).toMatchObject({ key: 'after the restart' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, START_TIMEOUT);

  it('reads and writes by _id with further conditions on a collection reopened after a restart', async () => {
    // H2 keeps documents in id order, so a scan would return them in that order too: this
    // checks what the queries answer, on the `_id` index the restart reopened.
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-standin-h2-ids-'));
    try {
      await withServer(dir, (c) => c.insertOne({ key: 'opened before' }));
      await withServer(dir, (c) => expectIdQueriesWithConditions(c as unknown as Collection<StatusDoc>));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, START_TIMEOUT);

  it('keeps data across a graceful restart', async () => {
    await withServer(dataDir, (c) => c.insertOne({ key: 'kept', n: 42 }));
    const found = await withServer(dataDir, (c) => c.findOne({ key: 'kept' }, { projection: { _id: 0 } }));
    expect(found).toEqual({ key: 'kept', n: 42 });
  }, START_TIMEOUT);
});
