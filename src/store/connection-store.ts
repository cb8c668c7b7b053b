import type { Collection, Db, Filter } from 'mongodb';
import type { MetadataFilter } from '../domain/metadata-filters';
import { COLLECTIONS } from './collection-names';
import { afterPosition, NEWEST_FIRST, type PageRequest } from './pagination';

export type ConnectionProvider = 'mux';

/**
 * An inbound provider connection (docs/architecture.md, Data). The provider's webhook signing secret
 * is sealed at rest and opened only where a request is verified.
 */
export interface ConnectionDocument {
  _id: string;
  organization_id: string;
  provider: ConnectionProvider;
  connection_name: string | null;
  bucket_id: string;
  metadata_filters: MetadataFilter[];
  /** Sealed with the secret box; never leaves in a response. */
  webhook_secret_sealed: string;
  created_at: Date;
  updated_at: Date;
}

export function connectionsCollection(db: Db): Collection<ConnectionDocument> {
  return db.collection<ConnectionDocument>(COLLECTIONS.connections);
}

export async function insertConnection(db: Db, connection: ConnectionDocument): Promise<void> {
  await connectionsCollection(db).insertOne(connection);
}

/** Organization scoping is part of every API lookup: another organization's id is "not found". */
export async function findConnection(db: Db, connectionId: string, organizationId?: string): Promise<ConnectionDocument | null> {
  const filter: Filter<ConnectionDocument> = { _id: connectionId };
  if (organizationId !== undefined) filter.organization_id = organizationId;
  return connectionsCollection(db).findOne(filter);
}

/** One page of an organization's connections, newest first; reads one extra to tell if more follow. */
export async function listConnections(db: Db, organizationId: string, page: PageRequest): Promise<ConnectionDocument[]> {
  return connectionsCollection(db)
    .find({ organization_id: organizationId, ...afterPosition<ConnectionDocument>(page.after) })
    .sort(NEWEST_FIRST)
    .skip(page.offset ?? 0)
    .limit(page.limit + 1)
    .toArray();
}

export async function countConnections(db: Db, organizationId: string): Promise<number> {
  return connectionsCollection(db).countDocuments({ organization_id: organizationId });
}

/** Idempotent: deleting what is not there (or not ours) is not an error. */
export async function deleteConnection(db: Db, connectionId: string, organizationId: string): Promise<boolean> {
  const result = await connectionsCollection(db).deleteOne({ _id: connectionId, organization_id: organizationId });
  return result.deletedCount === 1;
}
