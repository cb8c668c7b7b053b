import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/api/errors';
import { decodeCursor, encodeCursor, pageQuerySchema, pageRequest, paginate } from '../../src/api/pagination';
import { patternsSelecting } from '../../src/store/webhook-store';

const row = (i: number) => ({ _id: `wh_${String(i).padStart(16, '0')}`, created_at: new Date(1_700_000_000_000 - i * 1000) });

describe('cursors', () => {
  it('round-trip a position and are URL-safe', () => {
    const position = { createdAt: new Date('2025-01-02T03:04:05.678Z'), id: 'wh_abcdef0123456789' };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('refuse anything this API did not hand out, as a 422 on query.cursor', () => {
    for (const bad of ['', 'not-base64!', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1]').toString('base64url'), Buffer.from('["x","y"]').toString('base64url')]) {
      let error: unknown;
      try {
        decodeCursor(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(422);
      expect((error as ApiError).details).toEqual([expect.objectContaining({ loc: ['query', 'cursor'] })]);
    }
  });
});

describe('page query', () => {
  it('defaults and coerces query strings', () => {
    expect(pageQuerySchema.parse({})).toEqual({ limit: 20, include_total: false });
    expect(pageQuerySchema.parse({ limit: '5', offset: '10', include_total: 'true' })).toEqual({ limit: 5, offset: 10, include_total: true });
  });

  it('refuses out-of-range values and cursor with offset', () => {
    expect(pageQuerySchema.safeParse({ limit: '0' }).success).toBe(false);
    expect(pageQuerySchema.safeParse({ limit: '101' }).success).toBe(false);
    expect(pageQuerySchema.safeParse({ limit: '2.5' }).success).toBe(false);
    expect(pageQuerySchema.safeParse({ offset: '10001' }).success).toBe(false);
    const both = pageQuerySchema.safeParse({ offset: '1', cursor: 'abc' });
    expect(both.success).toBe(false);
    expect(both.error!.issues[0]!.path).toEqual(['offset']);
  });
});

describe('paginate', () => {
  it('cuts the look-ahead row and points at the next page', () => {
    const query = pageQuerySchema.parse({ limit: '2' });
    const { items, pagination } = paginate([row(1), row(2), row(3)], query, 7);
    expect(items).toEqual([row(1), row(2)]);
    expect(pagination.next_cursor).toBe(encodeCursor({ createdAt: row(2).created_at, id: row(2)._id }));
    expect(pagination).toMatchObject({ page: 1, page_size: 2, total: null, total_pages: null, previous_page: null });
    expect(pagination.next_page).toBe(`?limit=2&cursor=${pagination.next_cursor}`);
    expect(pageRequest(pageQuerySchema.parse({ limit: '2', cursor: pagination.next_cursor! }))).toEqual({
      limit: 2,
      offset: undefined,
      after: { createdAt: row(2).created_at, id: row(2)._id },
    });
  });

  it('describes offset pages with totals', () => {
    const query = pageQuerySchema.parse({ limit: '2', offset: '2', include_total: 'true' });
    const { pagination } = paginate([row(3), row(4), row(5)], query, 5);
    expect(pagination).toMatchObject({
      total: 5,
      total_pages: 3,
      page: 2,
      next_page: '?limit=2&offset=4&include_total=true',
      previous_page: '?limit=2&offset=0&include_total=true',
    });
  });

  it('has no next page on the last one', () => {
    const { items, pagination } = paginate([row(1)], pageQuerySchema.parse({ limit: '2' }), undefined);
    expect(items).toHaveLength(1);
    expect(pagination).toMatchObject({ next_cursor: null, next_page: null });
  });
});

describe('patternsSelecting', () => {
  it('lists every stored pattern that selects a type', () => {
    expect(patternsSelecting('cluster.execution.completed').sort()).toEqual(
      ['*', 'cluster.*', 'cluster.execution.*', 'cluster.execution.completed'].sort(),
    );
    expect(patternsSelecting('webhook.test').sort()).toEqual(['*', 'webhook.*', 'webhook.test'].sort());
  });
});
