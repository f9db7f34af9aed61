import { z } from 'zod';

/** GET /api/openapi.json: described by its own standard, so only its outline is checked here. */
export const openApiDocumentBody = z
  .looseObject({ openapi: z.literal('3.1.0'), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document.' });
