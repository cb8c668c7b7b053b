import type { Collection, Db, Filter } from 'mongodb';
import { COLLECTIONS } from './collection-names';
import { afterPosition, NEWEST_FIRST, type PageRequest } from './pagination';

/** Where a synced object came from. */
export interface ObjectSource {
  provider: 'mux';
  connection_id: string;
  asset_id: string;
  /** `created_at` of the newest provider event applied to the object (older ones are skipped). */
  synced_at?: Date;
}

/** A bucket object (docs/architecture.md, Data): what Mux assets map to. */
export interface ObjectDocument {
  _id: string;
  organization_id: string;
  bucket_id: string;
  namespace_id: string | null;
  source: ObjectSource | null;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export function objectsCollection(db: Db): Collection<ObjectDocument> {
  return db.collection<ObjectDocument>(COLLECTIONS.objects);
}

export async function insertObject(db: Db, object: ObjectDocument): Promise<void> {
  await objectsCollection(db).insertOne(object);
}

export async function findObject(
  db: Db,
  objectId: string,
  scope?: { organizationId: string; bucketId: string },
): Promise<ObjectDocument | null> {
  const filter: Filter<ObjectDocument> = { _id: objectId };
  if (scope) {
    filter.organization_id = scope.organizationId;
    filter.bucket_id = scope.bucketId;
  }
  return objectsCollection(db).findOne(filter);
}

export interface ObjectListFilter {
  assetId?: string;
  connectionId?: string;
}

function listFilter(organizationId: string, bucketId: string, filter: ObjectListFilter): Filter<ObjectDocument> {
  const query: Filter<ObjectDocument> = { organization_id: organizationId, bucket_id: bucketId };
  if (filter.assetId !== undefined) query['source.asset_id'] = filter.assetId;
  if (filter.connectionId !== undefined) query['source.connection_id'] = filter.connectionId;
  return query;
}

/** One page of a bucket's objects, newest first; reads one extra to tell if more follow. */
export async function listObjects(
  db: Db,
  organizationId: string,
  bucketId: string,
  filter: ObjectListFilter,
  page: PageRequest,
): Promise<ObjectDocument[]> {
  return objectsCollection(db)
    .find({ ...listFilter(organizationId, bucketId, filter), ...afterPosition<ObjectDocument>(page.after) })
    .sort(NEWEST_FIRST)
    .skip(page.offset ?? 0)
    .limit(page.limit + 1)
    .toArray();
}

export async function countObjects(db: Db, organizationId: string, bucketId: string, filter: ObjectListFilter): Promise<number> {
  return objectsCollection(db).countDocuments(listFilter(organizationId, bucketId, filter));
}

/** Ids of a bucket's objects made from one provider asset, in a stable order. */
export async function findAssetObjectIds(
  db: Db,
  scope: { organizationId: string; bucketId: string; assetId: string },
): Promise<string[]> {
  const rows = await objectsCollection(db)
    .find(
      { organization_id: scope.organizationId, bucket_id: scope.bucketId, 'source.asset_id': scope.assetId },
      { projection: { _id: 1 } },
    )
    .sort({ _id: 1 })
    .toArray();
  return rows.map((row) => row._id);
}

/** Removes one object; false when it was already gone. */
export async function removeObject(db: Db, objectId: string): Promise<boolean> {
  const result = await objectsCollection(db).deleteOne({ _id: objectId });
  return result.deletedCount === 1;
}

/**
 * Replaces an object's metadata after a provider event, unless a newer provider event
 * was applied meanwhile (compare on source.synced_at).
 */
export async function applySyncedMetadata(
  db: Db,
  objectId: string,
  change: { metadata?: Record<string, unknown>; syncedAt?: Date },
  now: Date,
): Promise<boolean> {
  const filter: Filter<ObjectDocument> = { _id: objectId };
  const set: Record<string, unknown> = {};
  if (change.metadata !== undefined) {
    set.metadata = change.metadata;
    set.updated_at = now;
  }
  if (change.syncedAt !== undefined) {
    filter.$or = [{ 'source.synced_at': { $exists: false } }, { 'source.synced_at': { $lte: change.syncedAt } }];
    set['source.synced_at'] = change.syncedAt;
  }
  if (Object.keys(set).length === 0) return true;
  const result = await objectsCollection(db).updateOne(filter, { $set: set });
  return result.matchedCount === 1;
}
