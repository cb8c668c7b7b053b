import type { Db } from 'mongodb';
import { COLLECTIONS } from './collection-names';
import { INBOUND_EVENT_RETENTION_SECONDS } from './inbound-event-store';

/**
 * Indexes every query of ours is shaped for. createIndex is idempotent, so every role
 * runs this at start-up.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  await Promise.all([
    db.collection(COLLECTIONS.events).createIndex({ status: 1, created_at: 1 }),
    db.collection(COLLECTIONS.events).createIndex({ organization_id: 1, created_at: -1 }),
    db.collection(COLLECTIONS.webhooks).createIndex({ organization_id: 1, created_at: -1, _id: -1 }),
    db.collection(COLLECTIONS.webhooks).createIndex({ organization_id: 1, event_types: 1, is_active: 1 }),
    db.collection(COLLECTIONS.deliveries).createIndex({ webhook_id: 1, created_at: -1, _id: -1 }),
    db.collection(COLLECTIONS.deliveries).createIndex({ event_id: 1 }),
    db.collection(COLLECTIONS.apiKeys).createIndex({ key_hash: 1 }, { unique: true }),
    db.collection(COLLECTIONS.apiKeys).createIndex({ prefix: 1 }),
    db.collection(COLLECTIONS.connections).createIndex({ organization_id: 1, created_at: -1, _id: -1 }),
    db.collection(COLLECTIONS.objects).createIndex({ organization_id: 1, bucket_id: 1, created_at: -1, _id: -1 }),
    db.collection(COLLECTIONS.objects).createIndex({ organization_id: 1, bucket_id: 1, 'source.asset_id': 1 }),
    db.collection(COLLECTIONS.objects).createIndex({ 'source.connection_id': 1, 'source.asset_id': 1 }),
    // Mux sends one event (one id) to every endpoint of an environment: dedup is per connection.
    db.collection(COLLECTIONS.inboundEvents).createIndex({ connection_id: 1, provider_event_id: 1 }, { unique: true }),
    db.collection(COLLECTIONS.inboundEvents).createIndex({ received_at: 1 }, { expireAfterSeconds: INBOUND_EVENT_RETENTION_SECONDS }),
  ]);
}
