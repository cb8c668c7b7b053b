import type { Filter } from 'mongodb';

/** A position in a newest-first listing: the last item seen. */
export interface PagePosition {
  createdAt: Date;
  id: string;
}

/**
 * What one page read asks for. Listings sort by (created_at, _id) descending, so a
 * cursor is stable under inserts; `offset` is for clients that page by number.
 */
export interface PageRequest {
  limit: number;
  offset?: number;
  after?: PagePosition;
}

export const NEWEST_FIRST = { created_at: -1, _id: -1 } as const;

/** Items strictly after `after` in newest-first order. */
export function afterPosition<T extends { created_at: Date; _id: string }>(after: PagePosition | undefined): Filter<T> {
  if (!after) return {};
  return {
    $or: [{ created_at: { $lt: after.createdAt } }, { created_at: after.createdAt, _id: { $lt: after.id } }],
  } as Filter<T>;
}
