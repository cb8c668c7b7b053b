import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CONNECTION_ID_PATTERN,
  DELIVERY_ID_PATTERN,
  deliveryIdFor,
  EVENT_ID_PATTERN,
  isEventId,
  isWebhookId,
  newConnectionId,
  newEventId,
  newObjectId,
  newWebhookId,
  OBJECT_ID_PATTERN,
  WEBHOOK_ID_PATTERN,
} from '../../src/domain/ids';

describe('random ids', () => {
  it('have the documented shapes', () => {
    expect(newWebhookId()).toMatch(/^wh_[0-9a-f]{16}$/);
    expect(newEventId()).toMatch(/^evt_[0-9a-f]{24}$/);
    expect(newConnectionId()).toMatch(/^conn_[0-9a-f]{24}$/);
    expect(newObjectId()).toMatch(/^obj_[0-9a-f]{24}$/);
  });

  it('match their exported patterns', () => {
    expect(newWebhookId()).toMatch(WEBHOOK_ID_PATTERN);
    expect(newEventId()).toMatch(EVENT_ID_PATTERN);
    expect(newConnectionId()).toMatch(CONNECTION_ID_PATTERN);
    expect(newObjectId()).toMatch(OBJECT_ID_PATTERN);
  });

  it('do not repeat', () => {
    const ids = new Set(Array.from({ length: 1000 }, newWebhookId));
    expect(ids.size).toBe(1000);
  });
});

describe('deliveryIdFor', () => {
  it('is deterministic, URL-safe and fixed-length', () => {
    const id = deliveryIdFor('evt_abc', 'wh_0123456789abcdef', 0);
    expect(id).toBe(deliveryIdFor('evt_abc', 'wh_0123456789abcdef', 0));
    expect(id).toMatch(DELIVERY_ID_PATTERN);
    expect(deliveryIdFor(`evt_${'x'.repeat(128)}`, 'wh_0123456789abcdef', 9)).toMatch(DELIVERY_ID_PATTERN);
  });

  it('is derived as documented (stable across releases: receivers deduplicate on it)', () => {
    const expected = createHash('sha256').update('evt_123\nwh_abc123def4567890\n0').digest('hex').slice(0, 32);
    expect(deliveryIdFor('evt_123', 'wh_abc123def4567890', 0)).toBe(`msg_${expected}`);
  });

  it('differs when any part differs, including ambiguous concatenations', () => {
    const base = deliveryIdFor('evt_1', 'wh_0123456789abcdef', 1);
    expect(deliveryIdFor('evt_2', 'wh_0123456789abcdef', 1)).not.toBe(base);
    expect(deliveryIdFor('evt_1', 'wh_0123456789abcdee', 1)).not.toBe(base);
    expect(deliveryIdFor('evt_1', 'wh_0123456789abcdef', 2)).not.toBe(base);
    expect(deliveryIdFor('evt_1', 'wh_0123456789abcdef', 11)).not.toBe(deliveryIdFor('evt_11', 'wh_0123456789abcdef', 1));
  });

  it('rejects a bad channel index', () => {
    expect(() => deliveryIdFor('evt_1', 'wh_0123456789abcdef', -1)).toThrow(RangeError);
    expect(() => deliveryIdFor('evt_1', 'wh_0123456789abcdef', 1.5)).toThrow(RangeError);
  });
});

describe('id predicates', () => {
  it('recognise webhook ids', () => {
    expect(isWebhookId('wh_abc123def4567890')).toBe(true);
    expect(isWebhookId('wh_abc123def456789')).toBe(false);
    expect(isWebhookId('wh_abc123def456789g')).toBe(false);
    expect(isWebhookId('xwh_abc123def4567890')).toBe(false);
  });

  it('recognise event ids with URL-safe suffixes only', () => {
    expect(isEventId('evt_123')).toBe(true);
    expect(isEventId('evt_A-b_9')).toBe(true);
    expect(isEventId('evt_')).toBe(false);
    expect(isEventId('evt_a/b')).toBe(false);
    expect(isEventId('evt_a b')).toBe(false);
    expect(isEventId(`evt_${'a'.repeat(129)}`)).toBe(false);
  });
});
