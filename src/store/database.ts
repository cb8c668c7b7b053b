import { MongoClient, type Db } from 'mongodb';
import { ensureIndexes } from './indexes';

export interface MongoHandle {
  client: MongoClient;
  db: Db;
  close(): Promise<void>;
}

/** Connects, checks the server answers, and makes sure hookrelay's indexes exist. */
export async function connectMongo(url: string, dbName: string): Promise<MongoHandle> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000, appName: 'hookrelay' });
  await client.connect();
  const db = client.db(dbName);
  await ensureIndexes(db);
  return { client, db, close: () => client.close() };
}
