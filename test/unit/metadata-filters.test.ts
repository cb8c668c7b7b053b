import { describe, expect, it } from 'vitest';
import {
  failingFilters,
  filterHolds,
  jsonEquals,
  matchesAllFilters,
  valueAtPath,
  type MetadataFilter,
} from '../../src/domain/metadata-filters';

// The `data` object of a Mux video.asset.updated event.
const ASSET = {
  id: 'abc123',
  status: 'ready',
  passthrough: 'customer-42',
  duration: 120.5,
  created_at: '1565220904',
  meta: { title: 'Launch keynote', creator_id: 'u_7', external_id: null },
  tags: ['news', 'keynote'],
  tracks: [{ type: 'video', max_width: 1920 }, { type: 'audio' }],
};

const holds = (filter: MetadataFilter) => filterHolds(filter, ASSET);

describe('valueAtPath', () => {
  it('follows dotted paths into objects and arrays', () => {
    expect(valueAtPath(ASSET, 'status')).toBe('ready');
    expect(valueAtPath(ASSET, 'meta.title')).toBe('Launch keynote');
    expect(valueAtPath(ASSET, 'tracks.0.max_width')).toBe(1920);
    expect(valueAtPath(ASSET, 'tracks.1.type')).toBe('audio');
  });

  it('is undefined for missing steps, non-index array steps and inherited properties', () => {
    expect(valueAtPath(ASSET, 'meta.missing')).toBeUndefined();
    expect(valueAtPath(ASSET, 'status.length')).toBeUndefined();
    expect(valueAtPath(ASSET, 'tracks.first')).toBeUndefined();
    expect(valueAtPath(ASSET, 'tracks.01')).toBeUndefined();
    expect(valueAtPath(ASSET, 'meta.constructor')).toBeUndefined();
    expect(valueAtPath(ASSET, '__proto__')).toBeUndefined();
    expect(valueAtPath(null, 'a')).toBeUndefined();
  });
});

describe('jsonEquals', () => {
  it('compares JSON values structurally', () => {
    expect(jsonEquals({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEquals([1, 2], [2, 1])).toBe(false);
    expect(jsonEquals({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEquals('1', 1)).toBe(false);
    expect(jsonEquals(null, {})).toBe(false);
    expect(jsonEquals([], {})).toBe(false);
  });
});

describe('filterHolds', () => {
  it('equals / not_equals', () => {
    expect(holds({ field: 'status', operator: 'equals', value: 'ready' })).toBe(true);
    expect(holds({ field: 'status', operator: 'equals', value: 'errored' })).toBe(false);
    expect(holds({ field: 'meta', operator: 'equals', value: { external_id: null, creator_id: 'u_7', title: 'Launch keynote' } })).toBe(true);
    expect(holds({ field: 'missing', operator: 'equals', value: null })).toBe(false);
    expect(holds({ field: 'status', operator: 'not_equals', value: 'errored' })).toBe(true);
    expect(holds({ field: 'status', operator: 'not_equals', value: 'ready' })).toBe(false);
    expect(holds({ field: 'missing', operator: 'not_equals', value: 'x' })).toBe(true);
    expect(holds({ field: 'duration', operator: 'equals', value: '120.5' })).toBe(false);
  });

  it('contains / not_contains on strings and arrays', () => {
    expect(holds({ field: 'meta.title', operator: 'contains', value: 'Keynote' })).toBe(false); // case-sensitive
    expect(holds({ field: 'meta.title', operator: 'contains', value: 'keynote' })).toBe(true);
    expect(holds({ field: 'meta.title', operator: 'contains', value: 'Launch' })).toBe(true);
    expect(holds({ field: 'tags', operator: 'contains', value: 'news' })).toBe(true);
    expect(holds({ field: 'tags', operator: 'contains', value: 'sports' })).toBe(false);
    expect(holds({ field: 'tracks', operator: 'contains', value: { type: 'audio' } })).toBe(true);
    expect(holds({ field: 'duration', operator: 'contains', value: 1 })).toBe(false);
    expect(holds({ field: 'meta.title', operator: 'contains', value: 1 })).toBe(false);
    expect(holds({ field: 'meta.title', operator: 'not_contains', value: 'draft' })).toBe(true);
    expect(holds({ field: 'tags', operator: 'not_contains', value: 'news' })).toBe(false);
    expect(holds({ field: 'missing', operator: 'not_contains', value: 'x' })).toBe(true);
  });

  it('gt / lt / gte / lte on numbers, strings and numeric strings', () => {
    expect(holds({ field: 'duration', operator: 'gt', value: 60 })).toBe(true);
    expect(holds({ field: 'duration', operator: 'gt', value: 120.5 })).toBe(false);
    expect(holds({ field: 'duration', operator: 'gte', value: 120.5 })).toBe(true);
    expect(holds({ field: 'duration', operator: 'lt', value: 121 })).toBe(true);
    expect(holds({ field: 'duration', operator: 'lte', value: 120 })).toBe(false);
    // Mux sends created_at as a string of unix seconds.
    expect(holds({ field: 'created_at', operator: 'gt', value: 1500000000 })).toBe(true);
    expect(holds({ field: 'created_at', operator: 'lt', value: 1500000000 })).toBe(false);
    expect(holds({ field: 'meta.title', operator: 'gte', value: 'Launch' })).toBe(true);
    expect(holds({ field: 'meta.title', operator: 'lt', value: 'A' })).toBe(false);
    // Not comparable, or absent: does not hold.
    expect(holds({ field: 'meta.title', operator: 'gt', value: 5 })).toBe(false);
    expect(holds({ field: 'meta.title', operator: 'lt', value: 5 })).toBe(false);
    expect(holds({ field: 'missing', operator: 'lt', value: 5 })).toBe(false);
    expect(holds({ field: 'meta.external_id', operator: 'lt', value: 5 })).toBe(false);
    expect(holds({ field: 'tags', operator: 'gt', value: 'a' })).toBe(false);
  });

  it('exists, with value false meaning absent; null counts as absent', () => {
    expect(holds({ field: 'passthrough', operator: 'exists' })).toBe(true);
    expect(holds({ field: 'passthrough', operator: 'exists', value: true })).toBe(true);
    expect(holds({ field: 'passthrough', operator: 'exists', value: false })).toBe(false);
    expect(holds({ field: 'meta.external_id', operator: 'exists' })).toBe(false);
    expect(holds({ field: 'meta.external_id', operator: 'exists', value: false })).toBe(true);
    expect(holds({ field: 'nope', operator: 'exists' })).toBe(false);
  });

  it('an unknown operator never holds', () => {
    expect(filterHolds({ field: 'status', operator: 'regex' as never, value: '.*' }, ASSET)).toBe(false);
  });
});

describe('matchesAllFilters', () => {
  const filters: MetadataFilter[] = [
    { field: 'status', operator: 'equals', value: 'ready' },
    { field: 'passthrough', operator: 'contains', value: 'customer' },
    { field: 'duration', operator: 'gte', value: 30 },
  ];

  it('needs every filter to hold', () => {
    expect(matchesAllFilters(filters, ASSET)).toBe(true);
    expect(matchesAllFilters(filters, { ...ASSET, duration: 10 })).toBe(false);
    expect(failingFilters(filters, { ...ASSET, duration: 10, status: 'errored' }).map((f) => f.field)).toEqual(['status', 'duration']);
  });

  it('matches everything when there are no filters', () => {
    expect(matchesAllFilters([], ASSET)).toBe(true);
    expect(matchesAllFilters([], {})).toBe(true);
  });
});
