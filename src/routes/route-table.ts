/**
 * The route table: each route is declared once, as its OpenAPI operation plus its handlers. The
 * router serves the table (`routerFor`) and the OpenAPI document is generated from the same entries
 * (`openApiDocument` in ./openapi.ts), so a served route cannot be missing from the document.
 */
import { Router, type RequestHandler } from 'express';
import type { z } from 'zod';
import { methodNotAllowed } from '../middlewares/not-found';
import type { ErrorCode } from '../utils/app-error';

export type Method = 'get' | 'post';

/** The document's tags (one per operation); their descriptions are in ./openapi.ts. */
export type Tag =
  | 'Verification'
  | 'Verification tokens'
  | 'Server API'
  | 'Health'
  | 'Documentation'
  | 'Demo'
  | 'Emulator'
  | 'Sinch callbacks'
  | 'Operations';

/** The document's security schemes; their descriptions are in ./openapi.ts. */
export type SecurityScheme = 'sinchApplicationSignature' | 'metricsBearer' | 'apiKey';
export type SecurityRequirement = Partial<Record<SecurityScheme, []>>;

/** For `security`: anyone may call the route. */
export const PUBLIC: SecurityRequirement[] = [];

export interface Example<T = unknown> {
  summary?: string;
  value: T;
}

export interface Content {
  schema: z.ZodType;
  examples?: Record<string, Example>;
}

/** A JSON body, with named examples the compiler checks against the schema. */
export function json<S extends z.ZodType>(
  schema: S,
  examples?: Record<string, Example<z.input<S>>>,
): Record<string, Content> {
  return { 'application/json': { schema, ...(examples ? { examples } : {}) } };
}

export interface ResponseSpec {
  description: string;
  /**
   * Header name -> schema: `.optional()` for a header that is not always sent, `.meta({ description })`
   * for what it holds. `X-Request-Id` is on every answer and need not be listed.
   */
  headers?: z.ZodRawShape;
  /** Media type -> body. */
  content?: Record<string, Content>;
}

export interface RequestBody {
  schema: z.ZodType;
  description: string;
  /** A description per top-level field, merged into the generated schema. */
  fields?: Record<string, string>;
  examples: Record<string, Example>;
}

/** A JSON request body whose every field is described (the compiler insists) and whose examples fit it. */
export function jsonBody<S extends z.ZodObject>(
  schema: S,
  doc: {
    description: string;
    fields: Record<keyof z.input<S> & string, string>;
    examples: Record<string, Example<z.input<S>>>;
  },
): RequestBody {
  return { schema, ...doc };
}

/**
 * An error code the route can answer (its status comes from ERROR_CATALOGUE). The object form
 * rewords the code's general explanation for this route, or adds headers this route sends with it.
 */
export type RouteError = ErrorCode | { code: ErrorCode; when?: string; headers?: z.ZodRawShape };

/** What the OpenAPI document says about one route. */
export interface Operation {
  method: Method;
  /** An OpenAPI path template: `/api/things/{id}` (served by Express as `/api/things/:id`). */
  path: string;
  operationId: string;
  tag: Tag;
  summary: string;
  /** For someone wiring up a client: what it does, what to do next, what to watch out for. */
  description: string;
  /** `PUBLIC`, or the schemes that may authenticate a call (`[{}, {scheme: []}]`: optional). */
  security: SecurityRequirement[];
  request?: {
    /** One field per `{name}` in `path`. */
    params?: z.ZodRawShape;
    headers?: z.ZodRawShape;
    query?: z.ZodRawShape;
    body?: RequestBody;
  };
  /** The answers that are not the error envelope: the success, and any other (e.g. /health's 503). */
  responses: Record<number, ResponseSpec>;
  /** Every error code the route can answer, grouped by status in the document. */
  errors: RouteError[];
}

export interface Route extends Operation {
  handlers: RequestHandler[];
  /** Reads the raw request body itself (e.g. to check a signature over it): served before the JSON parser. */
  rawBody?: true;
}

/**
 * A JSON body may be sent to any route: the app-wide JSON parser reads it before routing. Routes
 * that take no body list these, so a client knows what such a request gets.
 */
export const STRAY_BODY_ERRORS: RouteError[] = [
  {
    code: 'INVALID_JSON',
    when: 'The request carried a JSON body that is not valid JSON. This route takes no body, but any body sent as `application/json` is parsed.',
  },
  { code: 'PAYLOAD_TOO_LARGE', when: 'The request carried a JSON body over 10 kB (this route takes no body).' },
  {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    when: 'The request carried a JSON body in a charset or Content-Encoding the server does not read (this route takes no body).',
  },
];

/** Serves `routes`: each path once with its methods, and 405 METHOD_NOT_ALLOWED (with `Allow`) for any other. */
export function routerFor(routes: readonly Route[]): Router {
  const router = Router();
  const byPath = new Map<string, Route[]>();
  for (const route of routes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  for (const [path, group] of byPath) {
    const served = router.route(path.replace(/\{(\w+)\}/g, ':$1'));
    for (const route of group) served[route.method](...route.handlers);
    served.all(methodNotAllowed(group.map((route) => route.method.toUpperCase())));
  }
  return router;
}
