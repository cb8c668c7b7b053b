import type { Collection, Db } from 'mongodb';
import { generateApiKey, hashApiKey, looksLikeApiKey, apiKeyPrefix } from '../security/api-keys';
import { COLLECTIONS } from './collection-names';

/** An API key as stored: only its hash and a display prefix, never the key itself. */
export interface ApiKeyDocument {
  key_hash: string;
  prefix: string;
  organization_id: string;
  created_at: Date;
  revoked_at: Date | null;
}

export function apiKeysCollection(db: Db): Collection<ApiKeyDocument> {
  return db.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
}

/** Creates a key for one organization; the plaintext is returned once, for printing. */
export async function createApiKey(
  db: Db,
  organizationId: string,
  now = new Date(),
): Promise<{ key: string; prefix: string }> {
  const { key, prefix, hash } = generateApiKey();
  await apiKeysCollection(db).insertOne({
    key_hash: hash,
    prefix,
    organization_id: organizationId,
    created_at: now,
    revoked_at: null,
  });
  return { key, prefix };
}

/** The organization a presented key belongs to; null for unknown, malformed or revoked keys. */
export async function authenticateApiKey(db: Db, presented: string): Promise<string | null> {
  if (!looksLikeApiKey(presented)) return null;
  const doc = await apiKeysCollection(db).findOne({ key_hash: hashApiKey(presented), revoked_at: null });
  return doc?.organization_id ?? null;
}

/**
 * Revokes by the display prefix (`hr_` + 9 characters, as `keys create` shows) or by
 * the full key. A shorter prefix is refused by the caller: it could match many keys.
 */
export async function revokeApiKeys(db: Db, prefixOrKey: string, now = new Date()): Promise<number> {
  const filter = looksLikeApiKey(prefixOrKey)
    ? { key_hash: hashApiKey(prefixOrKey) }
    : { prefix: apiKeyPrefix(prefixOrKey) };
  const result = await apiKeysCollection(db).updateMany({ ...filter, revoked_at: null }, { $set: { revoked_at: now } });
  return result.modifiedCount;
}

export async function listApiKeys(db: Db, organizationId?: string): Promise<ApiKeyDocument[]> {
  return apiKeysCollection(db)
    .find(organizationId === undefined ? {} : { organization_id: organizationId }, { projection: { key_hash: 0 } })
    .sort({ created_at: 1 })
    .toArray();
}

/** Length of the prefix `revokeApiKeys` accepts. */
export const API_KEY_DISPLAY_PREFIX_LENGTH = apiKeyPrefix('x'.repeat(64)).length;
