import type { Collection, Db, Filter } from 'mongodb';
import { COLLECTIONS } from './collection-names';
import { afterPosition, NEWEST_FIRST, type PageRequest } from './pagination';

export type ChannelKind = 'webhook' | 'slack' | 'email' | 'sms';

/** A channel as stored: secret fields (header values, Slack URL) are sealed. */
export interface StoredChannel {
  channel: ChannelKind;
  configs: Record<string, unknown>;
}

/** A signing secret as stored; the newest first. Old ones keep signing until expires_at. */
export interface StoredSigningSecret {
  sealed: string;
  created_at: Date;
  expires_at: Date | null;
}

export interface StoredRetryPolicy {
  initial_interval?: string;
  backoff_coefficient?: number;
  maximum_interval?: string;
  maximum_attempts?: number;
  expiration?: string;
}

export interface WebhookDocument {
  _id: string;
  organization_id: string;
  webhook_name: string;
  event_types: string[];
  channels: StoredChannel[];
  is_active: boolean;
  signing_secrets: StoredSigningSecret[];
  retry_policy: StoredRetryPolicy | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export function webhooksCollection(db: Db): Collection<WebhookDocument> {
  return db.collection<WebhookDocument>(COLLECTIONS.webhooks);
}

/** Organization scoping is part of every lookup: another organization's id is "not found". */
export async function findWebhook(
  db: Db,
  webhookId: string,
  organizationId?: string,
): Promise<WebhookDocument | null> {
  const filter: Filter<WebhookDocument> = { _id: webhookId };
  if (organizationId !== undefined) filter.organization_id = organizationId;
  return webhooksCollection(db).findOne(filter);
}

/**
 * Candidate subscribers of an event: the organization's active webhooks. Pattern
 * matching (`*`, `prefix.*`) happens in code, so the query stays a simple indexed one.
 */
export async function findActiveWebhooks(
  db: Db,
  organizationId: string,
  webhookIds?: readonly string[],
): Promise<WebhookDocument[]> {
  const filter: Filter<WebhookDocument> = { organization_id: organizationId, is_active: true };
  if (webhookIds) filter._id = { $in: [...webhookIds] };
  return webhooksCollection(db).find(filter).toArray();
}

/** Turns a webhook off after a permanent answer such as 410 Gone, saying why. */
export async function disableWebhook(db: Db, webhookId: string, reason: string, now = new Date()): Promise<void> {
  await webhooksCollection(db).updateOne(
    { _id: webhookId },
    { $set: { is_active: false, disabled_reason: reason, updated_at: now } },
  );
}

export async function insertWebhook(db: Db, webhook: WebhookDocument): Promise<void> {
  await webhooksCollection(db).insertOne(webhook);
}

export interface WebhookListFilter {
  /** Webhooks that would receive this type: exact, `*` or a matching `prefix.*`. */
  eventType?: string;
  isActive?: boolean;
}

/**
 * The stored patterns that select `eventType`: the type itself, "*", and one
 * "prefix.*" per leading segment run. An $in over them keeps the query indexed.
 */
export function patternsSelecting(eventType: string): string[] {
  const segments = eventType.split('.');
  const prefixes = segments.slice(0, -1).map((_, i) => `${segments.slice(0, i + 1).join('.')}.*`);
  return [...new Set([eventType, '*', ...prefixes])];
}

function listFilter(organizationId: string, filter: WebhookListFilter): Filter<WebhookDocument> {
  const query: Filter<WebhookDocument> = { organization_id: organizationId };
  if (filter.eventType !== undefined) query.event_types = { $in: patternsSelecting(filter.eventType) };
  if (filter.isActive !== undefined) query.is_active = filter.isActive;
  return query;
}

/** One page of an organization's webhooks, newest first; reads one extra to tell if more follow. */
export async function listWebhooks(
  db: Db,
  organizationId: string,
  filter: WebhookListFilter,
  page: PageRequest,
): Promise<WebhookDocument[]> {
  return webhooksCollection(db)
    .find({ ...listFilter(organizationId, filter), ...afterPosition<WebhookDocument>(page.after) })
    .sort(NEWEST_FIRST)
    .skip(page.offset ?? 0)
    .limit(page.limit + 1)
    .toArray();
}

export async function countWebhooks(db: Db, organizationId: string, filter: WebhookListFilter): Promise<number> {
  return webhooksCollection(db).countDocuments(listFilter(organizationId, filter));
}

export type WebhookChanges = Partial<
  Pick<WebhookDocument, 'webhook_name' | 'event_types' | 'channels' | 'is_active' | 'retry_policy' | 'disabled_reason'>
>;

/** Applies changes within the organization; null when there is no such webhook there. */
export async function updateWebhook(
  db: Db,
  webhookId: string,
  organizationId: string,
  changes: WebhookChanges,
  now = new Date(),
): Promise<WebhookDocument | null> {
  const result = await webhooksCollection(db).updateOne(
    { _id: webhookId, organization_id: organizationId },
    { $set: { ...changes, updated_at: now } },
  );
  return result.matchedCount === 0 ? null : findWebhook(db, webhookId, organizationId);
}

/** Idempotent: deleting what is not there (or not ours) is not an error. */
export async function deleteWebhook(db: Db, webhookId: string, organizationId: string): Promise<boolean> {
  const result = await webhooksCollection(db).deleteOne({ _id: webhookId, organization_id: organizationId });
  return result.deletedCount === 1;
}

/**
 * Replaces the signing secrets only if the newest one is still `expectedNewest`
 * (compare-and-set), so two concurrent rotations cannot lose a secret already shown.
 */
export async function replaceSigningSecrets(
  db: Db,
  webhookId: string,
  organizationId: string,
  expectedNewest: string | undefined,
  secrets: StoredSigningSecret[],
): Promise<boolean> {
  const filter: Filter<WebhookDocument> = { _id: webhookId, organization_id: organizationId };
  if (expectedNewest !== undefined) filter['signing_secrets.0.sealed'] = expectedNewest;
  const result = await webhooksCollection(db).updateOne(filter, { $set: { signing_secrets: secrets } });
  return result.matchedCount === 1;
}
