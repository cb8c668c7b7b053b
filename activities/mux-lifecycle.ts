import type { Db } from 'mongodb';
import { matchesAllFilters } from '../src/domain/metadata-filters';
import { emitEvent } from '../src/events/emit-event';
import {
  MUX_ASSET_DELETED,
  MUX_ASSET_UPDATED,
  mergeAssetSnapshot,
  objectDeletedEventId,
  objectUpdatedEventId,
  parseMuxEvent,
  type MuxEvent,
} from '../src/inbound/mux-events';
import { findConnection, type ConnectionDocument } from '../src/store/connection-store';
import {
  completeInboundEvent,
  findInboundEvent,
  type InboundEventDocument,
  type InboundEventOutcome,
} from '../src/store/inbound-event-store';
import { applySyncedMetadata, findAssetObjectIds, findObject, removeObject, type ObjectDocument } from '../src/store/object-store';

/** Ids only: the payload stays in inbound_events, the secret in connections. */
export interface MuxLifecycleInput {
  connectionId: string;
  inboundEventId: string;
}

export type MuxLifecycleAction = 'cascade_delete' | 'refilter' | 'none';

export interface MuxLifecyclePlan {
  action: MuxLifecycleAction;
  /** Why nothing is done, when action is "none". */
  reason?: string;
  /** The bucket's objects made from the event's asset. */
  objectIds: string[];
}

export interface ApplyMuxLifecycleInput extends MuxLifecycleInput {
  objectIds: string[];
}

export interface MuxLifecycleChanges {
  deleted: string[];
  updated: string[];
  /** Matching objects whose metadata already was the asset's, or that a newer event already changed. */
  unchanged: string[];
  /** Gone meanwhile, or no longer the asset's object in this bucket. */
  skipped: string[];
}

export interface CompleteMuxLifecycleInput {
  inboundEventId: string;
  action: MuxLifecycleAction;
  outcome: InboundEventOutcome;
}

interface LoadedEvent {
  inbound: InboundEventDocument;
  connection: ConnectionDocument;
  event: MuxEvent;
}

/**
 * The side of the Mux lifecycle (docs/api.md) that touches MongoDB. Every step is
 * idempotent: the object.* events have derived ids (a second emission is a no-op) and
 * are emitted before the object changes, so a retry after a crash re-emits nothing new
 * and finishes the change; an object already changed is left alone.
 */
export function createMuxLifecycleActivities(deps: { db: Db; now: () => Date }) {
  const { db } = deps;

  async function load(input: MuxLifecycleInput): Promise<LoadedEvent | string> {
    const inbound = await findInboundEvent(db, input.inboundEventId);
    if (!inbound || inbound.connection_id !== input.connectionId || !inbound.payload) return 'inbound event not found';
    const connection = await findConnection(db, input.connectionId, inbound.organization_id);
    if (!connection) return 'connection deleted';
    const parsed = parseMuxEvent(inbound.payload);
    if (!parsed.ok) return `unreadable Mux event: ${parsed.message}`;
    return { inbound, connection, event: parsed.event };
  }

  async function planMuxLifecycle(input: MuxLifecycleInput): Promise<MuxLifecyclePlan> {
    const loaded = await load(input);
    if (typeof loaded === 'string') return { action: 'none', reason: loaded, objectIds: [] };
    const { connection, event } = loaded;
    const action: MuxLifecycleAction =
      event.type === MUX_ASSET_DELETED ? 'cascade_delete' : event.type === MUX_ASSET_UPDATED ? 'refilter' : 'none';
    if (action === 'none' || event.assetId === undefined) {
      return { action: 'none', reason: `${event.type} is not handled`, objectIds: [] };
    }
    const objectIds = await findAssetObjectIds(db, {
      organizationId: connection.organization_id,
      bucketId: connection.bucket_id,
      assetId: event.assetId,
    });
    return { action, objectIds };
  }

  async function applyMuxLifecycle(input: ApplyMuxLifecycleInput): Promise<MuxLifecycleChanges> {
    const changes: MuxLifecycleChanges = { deleted: [], updated: [], unchanged: [], skipped: [] };
    const loaded = await load(input);
    if (typeof loaded === 'string') {
      changes.skipped.push(...input.objectIds);
      return changes;
    }
    const { inbound, connection, event } = loaded;
    const occurredAt = event.createdAt ?? inbound.received_at;
    const matches = event.type === MUX_ASSET_UPDATED && matchesAllFilters(connection.metadata_filters, event.data);

    for (const objectId of input.objectIds) {
      const object = await findObject(db, objectId, { organizationId: connection.organization_id, bucketId: connection.bucket_id });
      if (!object || object.source?.asset_id !== event.assetId) {
        changes.skipped.push(objectId);
        continue;
      }
      const common = {
        bucket_id: object.bucket_id,
        object_id: object._id,
        connection_id: connection._id,
        asset_id: event.assetId,
      };
      const emit = (eventId: string, eventType: 'object.deleted' | 'object.updated', metadata: Record<string, unknown>) =>
        emitEvent(
          db,
          {
            event_id: eventId,
            organization_id: object.organization_id,
            namespace_id: object.namespace_id,
            event_type: eventType,
            occurred_at: occurredAt,
            subject: { type: 'object', id: object._id },
            metadata: { ...common, ...metadata },
          },
          deps.now(),
        );

      if (event.type === MUX_ASSET_DELETED) {
        await emit(objectDeletedEventId(object._id), 'object.deleted', { reason: 'source_deleted' });
        await removeObject(db, object._id);
        changes.deleted.push(object._id);
        continue;
      }

      // video.asset.updated: an event older than the one last applied changes nothing.
      if (isStale(object, event)) {
        changes.unchanged.push(object._id);
        continue;
      }
      if (!matches) {
        await emit(objectDeletedEventId(object._id), 'object.deleted', { reason: 'filter_mismatch' });
        await removeObject(db, object._id);
        changes.deleted.push(object._id);
        continue;
      }
      const { metadata, changedFields } = mergeAssetSnapshot(object.metadata ?? {}, event.data);
      if (changedFields.length === 0) {
        await applySyncedMetadata(db, object._id, { syncedAt: event.createdAt }, deps.now());
        changes.unchanged.push(object._id);
        continue;
      }
      await emit(objectUpdatedEventId(inbound._id, object._id), 'object.updated', { metadata, changed_fields: changedFields });
      await applySyncedMetadata(db, object._id, { metadata, syncedAt: event.createdAt }, deps.now());
      changes.updated.push(object._id);
    }
    return changes;
  }

  async function completeMuxLifecycle(input: CompleteMuxLifecycleInput): Promise<void> {
    await completeInboundEvent(db, input.inboundEventId, input.action === 'none' ? 'ignored' : 'processed', input.outcome, deps.now());
  }

  return { planMuxLifecycle, applyMuxLifecycle, completeMuxLifecycle };
}

function isStale(object: ObjectDocument, event: MuxEvent): boolean {
  const syncedAt = object.source?.synced_at;
  return syncedAt !== undefined && event.createdAt !== undefined && syncedAt.getTime() > event.createdAt.getTime();
}
