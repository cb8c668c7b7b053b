import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/env';
import type { Logger } from '../observability/logger';
import { createSecretBox, type SecretBox } from '../security/secret-box';
import { connectMongo, type MongoHandle } from '../store/database';
import { RecentEvents } from '../store/recent-events';
import { StartupError } from './startup-error';
import { verifyEncryptionKey } from './verify-encryption-key';

/** What every role shares: MongoDB, the secret box and a Temporal client. */
export interface Services {
  config: Config;
  logger: Logger;
  mongo: MongoHandle;
  box: SecretBox;
  temporal: Client;
  /** Events read or dispatched lately in this process (the dispatcher fills it for a worker beside it). */
  recentEvents: RecentEvents;
  close(): Promise<void>;
}

export async function openServices(config: Config, logger: Logger): Promise<Services> {
  if (!config.MONGODB_URL) throw new StartupError('MONGODB_URL is required (hookrelay dev provides one)');
  if (!config.HOOKRELAY_ENCRYPTION_KEY) {
    throw new StartupError('HOOKRELAY_ENCRYPTION_KEY is required: 32 random bytes, base64 (openssl rand -base64 32)');
  }
  const box = createSecretBox(config.HOOKRELAY_ENCRYPTION_KEY);
  const mongo = await connectMongo(config.MONGODB_URL, config.MONGODB_DB).catch((error: Error) => {
    throw new StartupError(`cannot reach MongoDB at ${redact(config.MONGODB_URL!)}: ${error.message}`);
  });
  try {
    await verifyEncryptionKey(mongo.db, box);
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS }).catch((error: Error) => {
      throw new StartupError(`cannot reach Temporal at ${config.TEMPORAL_ADDRESS}: ${error.message}`);
    });
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    return {
      config,
      logger,
      mongo,
      box,
      temporal,
      recentEvents: new RecentEvents(),
      async close() {
        await connection.close().catch(() => undefined);
        await mongo.close();
      },
    };
  } catch (error) {
    await mongo.close();
    throw error;
  }
}

/** Connection strings may carry credentials; logs and errors never show them. */
export function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
