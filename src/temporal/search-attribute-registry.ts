import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CLI_SEARCH_ATTRIBUTE_TYPES } from '../domain/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;
const INDEXED_TYPES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

export class MissingSearchAttributesError extends Error {
  override readonly name = 'MissingSearchAttributesError';
}

/**
 * Makes sure hookrelay's search attributes exist in the namespace: registers missing
 * ones through the operator service, and stops with a message naming them when the
 * server does not allow that (e.g. a managed namespace without operator rights).
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string,
): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(CLI_SEARCH_ATTRIBUTE_TYPES).filter((name) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((name) => [name, INDEXED_TYPES[CLI_SEARCH_ATTRIBUTE_TYPES[name]!]!]),
      ),
    });
  } catch (error) {
    const needed = missing.map((name) => `${name}=${CLI_SEARCH_ATTRIBUTE_TYPES[name]}`).join(', ');
    throw new MissingSearchAttributesError(
      `Temporal namespace "${namespace}" lacks the search attributes ${needed} and they could not be registered (${(error as Error).message}); register them with \`temporal operator search-attribute create\``,
    );
  }
  return missing;
}
