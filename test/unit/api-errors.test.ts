import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, ERROR_TYPES, errorBody, notFound } from '../../src/api/errors';
import { parseInput } from '../../src/api/validation';
import { finishOpenApiDocument } from '../../src/api/openapi';

describe('error registry', () => {
  it('maps every type to one status', () => {
    expect(ERROR_TYPES).toMatchObject({ ValidationError: 422, InvalidJson: 400, Unauthorized: 401, NotFound: 404, PayloadTooLarge: 413 });
    for (const [type, status] of Object.entries(ERROR_TYPES)) {
      expect(new ApiError(type as keyof typeof ERROR_TYPES, 'x').status).toBe(status);
    }
  });

  it("builds Mixpeek's error shape", () => {
    expect(errorBody('NotFound', 'webhook wh_1 not found', { resource: 'webhook', id: 'wh_1' })).toEqual({
      success: false,
      status: 404,
      error: { message: 'webhook wh_1 not found', type: 'NotFound', details: { resource: 'webhook', id: 'wh_1' } },
    });
    expect(notFound('event', 'evt_1').details).toEqual({ resource: 'event', id: 'evt_1' });
  });
});

describe('parseInput', () => {
  const schema = z.object({ name: z.string(), items: z.array(z.number().max(3)), nested: z.object({ flag: z.boolean() }) });

  it('lists every offending field with its location', () => {
    let error: ApiError | undefined;
    try {
      parseInput(schema, { items: [1, 9, 'x'], nested: { flag: 'no' } }, 'body');
    } catch (e) {
      error = e as ApiError;
    }
    expect(error!.status).toBe(422);
    expect(error!.details).toEqual([
      { loc: ['body', 'name'], msg: expect.any(String), type: 'missing' },
      { loc: ['body', 'items', 1], msg: expect.any(String), type: 'too_big' },
      { loc: ['body', 'items', 2], msg: expect.any(String), type: 'invalid_type' },
      { loc: ['body', 'nested', 'flag'], msg: expect.any(String), type: 'invalid_type' },
    ]);
    const body = errorBody(error!.type, error!.message, error!.details);
    expect(body.detail).toEqual(error!.details);
  });

  it('never echoes the input in the error', () => {
    let error: ApiError | undefined;
    try {
      parseInput(z.object({ token: z.number() }), { token: 'secret-value' }, 'body');
    } catch (e) {
      error = e as ApiError;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect(JSON.stringify(error!.details) + error!.message).not.toContain('secret-value');
  });
});

describe('finishOpenApiDocument', () => {
  it('hoists titled schemas into components and marks optional bodies', () => {
    const shared = { title: 'Thing', type: 'object', properties: { a: { type: 'string' } } };
    const doc = finishOpenApiDocument({
      openapi: '3.1.0',
      paths: {
        '/a': {
          post: {
            'x-hookrelay-optional-body': true,
            requestBody: { required: true, content: { 'application/json': { schema: { ...shared } } } },
            responses: { 200: { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { ...shared } } } } } },
          },
        },
      },
    }) as any;
    expect(doc.components.schemas.Thing).toEqual(shared);
    const operation = doc.paths['/a'].post;
    expect(operation).not.toHaveProperty('x-hookrelay-optional-body');
    expect(operation.requestBody.required).toBe(false);
    expect(operation.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Thing' });
    expect(operation.responses[200].content['application/json'].schema.items).toEqual({ $ref: '#/components/schemas/Thing' });
  });
});
