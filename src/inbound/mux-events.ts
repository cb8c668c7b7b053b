import { createHash } from 'node:crypto';
import { jsonEquals } from '../domain/metadata-filters';

/**
 * Mux webhook events as hookrelay reads them, and the identifiers derived from them.
 * A Mux event looks like `{type, id, created_at, object: {type, id}, data: {...asset},
 * environment, attempts}`; `data` is the asset for `video.asset.*` types.
 */

export const MUX_ASSET_DELETED = 'video.asset.deleted';
export const MUX_ASSET_UPDATED = 'video.asset.updated';
export const HANDLED_MUX_EVENT_TYPES: readonly string[] = [MUX_ASSET_DELETED, MUX_ASSET_UPDATED];

export function isHandledMuxEventType(type: string): boolean {
  return HANDLED_MUX_EVENT_TYPES.includes(type);
}

/** Mux event ids are UUIDs; anything URL-safe of sensible length is accepted. */
const MUX_EVENT_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const MUX_ASSET_ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const MAX_EVENT_TYPE_LENGTH = 200;

export interface MuxEvent {
  id: string;
  type: string;
  /** When Mux created the event; undefined when absent or unreadable. */
  createdAt: Date | undefined;
  /** `data.id` (or `object.id`) for asset events. */
  assetId: string | undefined;
  data: Record<string, unknown>;
}

export type MuxEventParseResult = { ok: true; event: MuxEvent } | { ok: false; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads the fields hookrelay relies on from a parsed (signature-checked) Mux body. */
export function parseMuxEvent(body: unknown): MuxEventParseResult {
  if (!isRecord(body)) return { ok: false, message: 'a Mux event must be a JSON object' };
  const { id, type } = body;
  if (typeof type !== 'string' || type === '' || type.length > MAX_EVENT_TYPE_LENGTH) {
    return { ok: false, message: 'a Mux event needs a string "type"' };
  }
  if (typeof id !== 'string' || !MUX_EVENT_ID.test(id)) {
    return { ok: false, message: 'a Mux event needs an "id" (1–200 letters, digits, "_", ".", ":" or "-")' };
  }
  const data = isRecord(body.data) ? body.data : {};
  const object = isRecord(body.object) ? body.object : {};
  const candidate = typeof data.id === 'string' ? data.id : typeof object.id === 'string' ? object.id : undefined;
  const assetId = candidate !== undefined && MUX_ASSET_ID.test(candidate) ? candidate : undefined;
  if (isHandledMuxEventType(type) && assetId === undefined) {
    return { ok: false, message: `a ${type} event needs the asset id in data.id` };
  }
  const createdAt = typeof body.created_at === 'string' ? new Date(body.created_at) : undefined;
  return {
    ok: true,
    event: { id, type, assetId, data, createdAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : undefined },
  };
}

/**
 * The inbound event's id: also its workflow id. Scoped by connection, because Mux sends
 * the same event (same id) to every webhook endpoint of an environment, and two
 * connections may be two endpoints of one environment.
 */
export function muxInboundEventId(connectionId: string, muxEventId: string): string {
  return `mux-${connectionId}-${muxEventId}`;
}

function derivedEventId(...parts: string[]): string {
  return `evt_${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32)}`;
}

/**
 * Event ids of the object.* events hookrelay emits, derived so that emitting twice is
 * a no-op (webhook_events' unique _id). An object is created and deleted once, so those
 * ids depend on the object alone: whoever deletes it (the API or a Mux cascade), one
 * object.deleted goes out. An update is one per (inbound event, object).
 */
export function objectCreatedEventId(objectId: string): string {
  return derivedEventId('object.created', objectId);
}

export function objectDeletedEventId(objectId: string): string {
  return derivedEventId('object.deleted', objectId);
}

export function objectUpdatedEventId(inboundEventId: string, objectId: string): string {
  return derivedEventId('object.updated', inboundEventId, objectId);
}

/**
 * Asset fields copied into an object's metadata on `video.asset.updated`: what a user
 * filters and searches on, not the whole asset (tracks, renditions and the like stay
 * with Mux). Absent fields are left out.
 */
export const MUX_SNAPSHOT_FIELDS = [
  'passthrough',
  'meta',
  'status',
  'duration',
  'aspect_ratio',
  'resolution_tier',
  'max_resolution_tier',
  'video_quality',
  'playback_ids',
] as const;

export function muxAssetSnapshot(data: Record<string, unknown>): Record<string, unknown> {
  const snapshot: Record<string, unknown> = {};
  for (const field of MUX_SNAPSHOT_FIELDS) {
    if (Object.prototype.hasOwnProperty.call(data, field) && data[field] !== undefined) snapshot[field] = data[field];
  }
  return snapshot;
}

/**
 * An object's metadata after an update: the asset's snapshot fields replace the stored
 * ones (a snapshot field the asset no longer has is removed); the object's other
 * metadata (set by whoever registered it) is kept.
 */
export function mergeAssetSnapshot(
  current: Record<string, unknown>,
  data: Record<string, unknown>,
): { metadata: Record<string, unknown>; changedFields: string[] } {
  const snapshot = muxAssetSnapshot(data);
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) {
    if (!(MUX_SNAPSHOT_FIELDS as readonly string[]).includes(key)) metadata[key] = value;
  }
  Object.assign(metadata, snapshot);
  const keys = new Set([...Object.keys(current), ...Object.keys(metadata)]);
  const changedFields = [...keys].filter((key) => !jsonEquals(current[key], metadata[key])).sort();
  return { metadata, changedFields };
}
