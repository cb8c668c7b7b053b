import { z } from 'zod';
import type { PagePosition, PageRequest } from '../store/pagination';
import { ApiError } from './errors';

/**
 * Page-through for listings (Mixpeek's PaginationResponse): `limit` 1–100 (default 20),
 * either `offset` or an opaque `cursor` (base64url of the last item's created_at and
 * id), and `include_total` for the counts.
 */

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
export const MAX_OFFSET = 10_000;

const wholeNumber = (field: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${field} must be a whole number` })
    .int(`${field} must be a whole number`)
    .min(min, `${field} must be at least ${min}`)
    .max(max, `${field} must be at most ${max}`);

const pageQueryFields = {
  limit: wholeNumber('limit', 1, MAX_LIMIT).default(DEFAULT_LIMIT).describe(`Items per page (1–${MAX_LIMIT})`),
  offset: wholeNumber('offset', 0, MAX_OFFSET).optional().describe('Items to skip (page by number); not with cursor'),
  cursor: z.string().max(512, 'cursor is not one this API returned').optional().describe('pagination.next_cursor of the previous page'),
  include_total: z
    .stringbool({ error: 'include_total must be true or false' })
    .default(false)
    .meta({ type: 'boolean' })
    .describe('Also count all matching items (pagination.total, total_pages)'),
};

/** The paging query parameters plus a listing's own filters. */
export function pageQuery<T extends z.ZodRawShape>(filters: T) {
  return z.object({ ...pageQueryFields, ...filters }).superRefine((query, ctx) => {
    const { offset, cursor } = query as { offset?: number; cursor?: string };
    if (offset !== undefined && cursor !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['offset'], message: 'give either cursor or offset, not both' });
    }
  });
}

export const pageQuerySchema = pageQuery({});

export type PageQuery = Pick<z.output<typeof pageQuerySchema>, 'limit' | 'offset' | 'cursor' | 'include_total'>;

export const paginationResponseSchema = z
  .object({
    total: z.number().int().nullable().describe('All matching items (include_total=true only)'),
    page: z.number().int().nullable().describe('1-based page number when paging by offset'),
    page_size: z.number().int().nullable(),
    total_pages: z.number().int().nullable().describe('include_total=true only'),
    next_page: z.string().nullable().describe('Query string of the next page, null on the last one'),
    previous_page: z.string().nullable().describe('Query string of the previous page (offset paging only)'),
    next_cursor: z.string().nullable().describe('Pass as cursor to get the next page; null on the last one'),
  })
  .meta({ title: 'PaginationResponse' });

export type PaginationResponse = z.output<typeof paginationResponseSchema>;

export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.getTime(), position.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition {
  const invalid = () =>
    new ApiError('ValidationError', 'cursor is not one this API returned', [
      { loc: ['query', 'cursor'], msg: 'cursor is not one this API returned: pass pagination.next_cursor as it is', type: 'value_error' },
    ]);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw invalid();
  const [time, id] = decoded as [unknown, unknown];
  if (typeof time !== 'number' || !Number.isFinite(time) || typeof id !== 'string' || id.length === 0 || id.length > 200) {
    throw invalid();
  }
  return { createdAt: new Date(time), id };
}

export function pageRequest(query: PageQuery): PageRequest {
  return {
    limit: query.limit,
    offset: query.offset,
    after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
  };
}

/**
 * Cuts the extra item the store read and describes where the next page is.
 * `rows` holds up to limit + 1 items in listing order.
 */
export function paginate<T extends { created_at: Date; _id: string }>(
  rows: T[],
  query: PageQuery,
  total: number | undefined,
): { items: T[]; pagination: PaginationResponse } {
  const items = rows.slice(0, query.limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > query.limit && last ? encodeCursor({ createdAt: last.created_at, id: last._id }) : null;
  const extra = query.include_total ? '&include_total=true' : '';
  const byOffset = query.cursor === undefined;
  const offset = query.offset ?? 0;
  let nextPage: string | null = null;
  if (nextCursor) {
    nextPage = byOffset && query.offset !== undefined
      ? `?limit=${query.limit}&offset=${offset + query.limit}${extra}`
      : `?limit=${query.limit}&cursor=${nextCursor}${extra}`;
  }
  return {
    items,
    pagination: {
      total: query.include_total ? (total ?? null) : null,
      page: byOffset ? Math.floor(offset / query.limit) + 1 : null,
      page_size: query.limit,
      total_pages: query.include_total && total !== undefined ? Math.ceil(total / query.limit) : null,
      next_page: nextPage,
      previous_page: byOffset && offset > 0 ? `?limit=${query.limit}&offset=${Math.max(0, offset - query.limit)}${extra}` : null,
      next_cursor: nextCursor,
    },
  };
}
