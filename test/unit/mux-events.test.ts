import { describe, expect, it } from 'vitest';
import { EVENT_ID_PATTERN } from '../../src/domain/ids';
import {
  mergeAssetSnapshot,
  muxInboundEventId,
  objectCreatedEventId,
  objectDeletedEventId,
  objectUpdatedEventId,
  parseMuxEvent,
} from '../../src/inbound/mux-events';

describe('Mux events', () => {
  it('reads type, id, asset id and created_at', () => {
    const result = parseMuxEvent({
      type: 'video.asset.updated',
      id: '3a56ac3d-33da-4366-855b-f592d898409d',
      created_at: '2024-05-01T10:00:00.000000Z',
      object: { type: 'asset', id: 'asset1' },
      data: { id: 'asset1', status: 'ready' },
    });
    expect(result).toMatchObject({
      ok: true,
      event: { type: 'video.asset.updated', assetId: 'asset1', data: { status: 'ready' } },
    });
    expect(result.ok && result.event.createdAt?.toISOString()).toBe('2024-05-01T10:00:00.000Z');
  });

  it('falls back to object.id for the asset id; rejects handled types without one', () => {
    expect(parseMuxEvent({ type: 'video.asset.deleted', id: 'e1', object: { type: 'asset', id: 'a9' } })).toMatchObject({
      ok: true,
      event: { assetId: 'a9' },
    });
    expect(parseMuxEvent({ type: 'video.asset.deleted', id: 'e1', data: {} }).ok).toBe(false);
    expect(parseMuxEvent({ type: 'video.upload.created', id: 'e1', data: {} }).ok).toBe(true);
  });

  it('rejects bodies that are not Mux events', () => {
    for (const body of [null, [], 'x', {}, { type: 'video.asset.deleted' }, { id: 'e1' }, { type: 1, id: 'e1' }, { type: 'a', id: 'bad id' }]) {
      expect(parseMuxEvent(body).ok, JSON.stringify(body)).toBe(false);
    }
  });

  it('derives stable, valid ids', () => {
    expect(muxInboundEventId('conn_aaa', 'e1')).toBe('mux-conn_aaa-e1');
    const ids = [objectCreatedEventId('obj_1'), objectDeletedEventId('obj_1'), objectUpdatedEventId('mux-c-e1', 'obj_1')];
    for (const id of ids) expect(id).toMatch(EVENT_ID_PATTERN);
    expect(new Set(ids).size).toBe(3);
    expect(objectUpdatedEventId('mux-c-e1', 'obj_1')).toBe(objectUpdatedEventId('mux-c-e1', 'obj_1'));
    expect(objectUpdatedEventId('mux-c-e2', 'obj_1')).not.toBe(objectUpdatedEventId('mux-c-e1', 'obj_1'));
  });

  it("merges the asset's snapshot fields over the object's metadata, keeping the rest", () => {
    const current = { title: 'mine', passthrough: 'old', meta: { title: 'a' }, status: 'preparing' };
    const { metadata, changedFields } = mergeAssetSnapshot(current, {
      id: 'asset1',
      passthrough: 'new',
      status: 'preparing',
      duration: 12,
      tracks: [{ type: 'video' }],
    });
    expect(metadata).toEqual({ title: 'mine', passthrough: 'new', status: 'preparing', duration: 12 });
    expect(changedFields).toEqual(['duration', 'meta', 'passthrough']);
    expect(mergeAssetSnapshot(metadata, { passthrough: 'new', status: 'preparing', duration: 12 }).changedFields).toEqual([]);
  });
});
