import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Db } from 'mongodb';
import { authenticateApiKey } from '../store/api-key-store';
import { ApiError } from './errors';

declare module 'fastify' {
  interface FastifyRequest {
    /** The organization of the caller's API key; every query is scoped to it. */
    organizationId: string;
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The presented key, or the reason there is none. */
function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') {
    throw new ApiError('Unauthorized', 'missing API key: send Authorization: Bearer <api key>');
  }
  const match = BEARER.exec(header);
  if (!match) throw new ApiError('Unauthorized', 'malformed Authorization header: expected Bearer <api key>');
  return match[1]!;
}

/**
 * Bearer API keys, checked before the body is read (an unauthenticated caller cannot
 * make the server parse anything). Registered inside the scope it protects.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, options: { db: Db }) => {
    app.decorateRequest('organizationId', '');
    app.addHook('onRequest', async (request) => {
      const organizationId = await authenticateApiKey(options.db, bearerToken(request));
      if (organizationId === null) throw new ApiError('Unauthorized', 'invalid or revoked API key');
      request.organizationId = organizationId;
    });
  },
  { name: 'hookrelay-auth' },
);
