import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { webhookSchemas } from '../domain/webhook-schemas';
import { createMetrics } from '../observability/metrics';
import { parseCidrList } from '../security/ssrf';
import { validateTemplate } from '../templates/engine';
import { VERSION } from '../version';
import { authPlugin } from './auth';
import type { ApiDeps } from './deps';
import { frameworkError, installErrorHandlers } from './error-handler';
import { ApiError } from './errors';
import { finishOpenApiDocument } from './openapi';
import { connectionRoutes } from './routes/connections';
import { deliveryRoutes } from './routes/deliveries';
import { muxInboundRoutes } from './routes/mux-inbound';
import { objectRoutes } from './routes/objects';
import { serviceRoutes } from './routes/service';
import { webhookOperationRoutes } from './routes/webhook-operations';
import { webhookRoutes } from './routes/webhooks';

export type { ApiDeps } from './deps';

/** Largest request body accepted; anything bigger is a 413 before it is parsed. */
export const BODY_LIMIT = 256 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received, for signature checks over raw bytes (inbound providers). */
    rawBody?: string;
  }
}

/**
 * Every body is JSON (anything else is a 415); an empty one counts as absent, so
 * optional bodies may be left out even with a JSON content type.
 */
function installJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', undefined);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });
}

/** Requests that arrive while the server closes get a 503 (in our shape) and a closed connection. */
function installShutdownGuard(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new ApiError('ServiceUnavailable', 'shutting down: retry on another instance');
  });
}

/**
 * The REST API (docs/api.md), built but not listening: `listen` is the caller's, so
 * tests and the api role share it. Validation is zod's (errors in our shape); Fastify's
 * schema compilers are off and route schemas only feed the OpenAPI document.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ role: 'api' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Our own 503 below, so that requests arriving during shutdown get our error shape.
    return503OnClosing: false,
    // Event ids may be 132 characters (evt_ + 128); longer path segments match nothing.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: frameworkError,
  });
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app, BODY_LIMIT);
  installJsonParser(app);
  installShutdownGuard(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'hookrelay API',
        version: VERSION,
        description: "Webhook subscriptions (compatible with Mixpeek's webhooks API), delivery inspection and redelivery.",
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key from `hookrelay keys create --org <id>`' },
        },
      },
    },
    transformObject: (document) =>
      'openapiObject' in document ? finishOpenApiDocument(document.openapiObject as Record<string, unknown>) : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const registry = (deps.metrics ?? createMetrics()).registry;
  await app.register(serviceRoutes, { deps, registry });

  const schemas = webhookSchemas({
    allowHttp: deps.config.HOOKRELAY_ALLOW_HTTP,
    allowedCidrs: parseCidrList(deps.config.HOOKRELAY_ALLOWED_CIDRS),
    validateTemplate: deps.validateTemplate ?? validateTemplate,
  });
  // Everything under /v1/organizations needs an API key; the scope keeps the hook there.
  await app.register(async (scope) => {
    await scope.register(authPlugin, { db: deps.db });
    await scope.register(webhookRoutes, { deps, schemas });
    await scope.register(webhookOperationRoutes, { deps });
    await scope.register(deliveryRoutes, { deps });
    await scope.register(connectionRoutes, { deps });
    await scope.register(objectRoutes, { deps });
  });
  // Inbound provider webhooks: no API key (signature instead), raw-body parser of their own.
  await app.register(muxInboundRoutes, { deps });
  return app;
}
