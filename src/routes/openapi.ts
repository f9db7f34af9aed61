/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas: every schema in it
 * is zod's own JSON Schema output (`z.toJSONSchema`), error statuses come from ERROR_CATALOGUE.
 * Only the prose below (tags, security schemes, the introduction) is written here; the prose of
 * each route is in its route table, the prose of each shape in its zod schema's `.meta()`.
 */
import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../utils/app-error';
import { ERROR_BODIES, RESPONSE_HEADERS, requestIdRequestHeader } from '../validations/api.validation';
import type { Operation, RequestBody, ResponseSpec, RouteError, SecurityScheme, Tag } from './route-table';

export type JsonObject = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: Tag; description: string }>;
  paths: Record<string, Record<string, JsonObject>>;
  components: {
    schemas: Record<string, JsonObject>;
    responses: Record<string, JsonObject>;
    securitySchemes: Record<string, JsonObject>;
  };
}

const TAGS: Record<Tag, string> = {
  Verification: 'Send and check one-time codes: the two routes a frontend needs.',
  'Verification tokens':
    "The public keys your backend checks verify-otp's `verificationToken` against (docs/integrating.md): no secret needed.",
  'Server API':
    'For your backend, never a browser: read, cancel, and redeem verifications, with an API key (`npm run api-key -- create <name>`).',
  Health: 'For load balancers and orchestrators.',
  Documentation: 'This document and its rendering.',
  Demo: 'A page to try the flow by hand.',
  Emulator:
    'Only when the service runs its built-in Sinch emulator (a zero-config development start, or SINCH_EMULATOR=true).',
  'Sinch callbacks': "Called by Sinch, authenticated by Sinch's signature.",
  Operations: 'Monitoring.',
};

const SECURITY_SCHEMES: Record<SecurityScheme, JsonObject> = {
  sinchApplicationSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      '`Application {applicationKey}:{signature}`, where the signature is base64(HMAC-SHA256(base64-decoded application secret, "POST\\n" + base64(MD5(raw body)) + "\\n" + Content-Type + "\\nx-timestamp:" + x-timestamp + "\\n" + path)). Sinch computes it; see Sinch\'s "callback signed request" documentation.',
  },
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key made with `npm run api-key -- create <name>` (`otp_` and 43 characters). A missing, unknown or revoked key gets the same 401 `UNAUTHORIZED` with `WWW-Authenticate: Bearer`. Each key may make RATE_LIMIT_SERVER_API_PER_KEY_MINUTE requests a minute (default 600); the per-IP limits of the public routes do not apply.',
  },
  metricsBearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'The value of METRICS_TOKEN, required only when the server sets it.',
  },
};

const INTRODUCTION = `Phone-number verification by SMS one-time code (through the Sinch Verification API).

## The flow
1. \`POST /api/request-otp\` with \`{"phoneNumber": "+46701234567"}\`: a code is sent. Keep \`data.verificationId\`; start the resend countdown from \`data.resendAvailableAt\`.
2. \`POST /api/verify-otp\` with \`{"verificationId", "code"}\`: 200 means verified.
3. Send \`data.verificationToken\` to your backend, which checks it against \`GET /.well-known/jwks.json\` (and its \`purpose\` claim) before it trusts the number; or asks the server API with an API key.

## Conventions
- Requests with a body: \`Content-Type: application/json\`, at most 10 kB, no unknown fields.
- Success: \`{"status": "success", "message", "data"}\`. Error: \`{"status": "error", "code", "message", "requestId", "details"?}\`.
- **Switch on \`code\`, never on \`message\`.** Codes are stable; messages are plain sentences you may show to users and may be reworded. The table below lists every code.
- Every response has an \`X-Request-Id\` header (also \`requestId\` in errors): quote it when reporting a problem.
- 429 and 503 carry \`Retry-After\` (seconds): disable the button and count down. 429 also carries the IETF \`RateLimit\` / \`RateLimit-Policy\` headers.
- A path not listed here answers 404 \`NOT_FOUND\` (\`components.responses.NotFound\`); a listed path called with another method answers 405 \`METHOD_NOT_ALLOWED\` with an \`Allow\` header (\`components.responses.MethodNotAllowed\`).
- A request that carries a JSON body is parsed before routing, on any path: malformed JSON gets 400 \`INVALID_JSON\` and over 10 kB gets 413 \`PAYLOAD_TOO_LARGE\`, even on routes that take no body.
- 5xx answers never contain internals; their message is generic.`;

/** OpenAPI 3.1's default dialect: JSON Schema 2020-12 plus the OAS vocabulary. Swagger UI supports only this one. */
const OAS_DIALECT = 'https://spec.openapis.org/oas/3.1/dialect/base';
const JSON_MEDIA = 'application/json';
const COMPONENT = '#/components/schemas/';
/**
 * What a client may send is the `input` side of a schema (a `.default()` field is optional there);
 * response schemas are strict objects without transforms, for which both sides are the same.
 */
const JSON_SCHEMA = { target: 'draft-2020-12', io: 'input' } as const;

const idOf = (schema: z.core.$ZodType): string | undefined => z.globalRegistry.get(schema)?.id;
const ref = (id: string): JsonObject => ({ $ref: `${COMPONENT}${id}` });

/** zod's output without `$schema` and `$id`, which belong to a standalone schema: the document declares its dialect. */
function embedded(output: object): JsonObject {
  const schema = { ...output } as JsonObject;
  delete schema.$schema;
  delete schema.$id;
  return schema;
}

/**
 * Conversions, as JSON text: a schema object always converts the same, and the apps a process builds
 * (the tests build dozens) share them. Parsed again on each use, so no two documents share an object.
 */
const converted = new WeakMap<z.core.$ZodType, string>();
let components: Record<string, string> = {};

/** The component of a zod schema given an id with `.meta({ id })`; it refers to other components by $ref. */
function componentSchema(id: string): JsonObject {
  if (!(id in components)) {
    const { schemas } = z.toJSONSchema(z.globalRegistry, { ...JSON_SCHEMA, uri: (name) => `${COMPONENT}${name}` });
    components = Object.fromEntries(
      Object.entries(schemas).map(([name, json]) => [name, JSON.stringify(embedded(json))]),
    );
  }
  const json = components[id];
  if (json === undefined) throw new Error(`OpenAPI: no zod schema has the id ${id}`);
  return JSON.parse(json) as JsonObject;
}

/** A zod schema as the document holds it: a $ref when it has an id, otherwise inline. */
function schemaOf(schema: z.core.$ZodType): JsonObject {
  const id = idOf(schema);
  if (id) return ref(id);
  let json = converted.get(schema);
  if (json === undefined) {
    const output = embedded(z.toJSONSchema(schema, JSON_SCHEMA));
    const defs = output.$defs;
    delete output.$defs;
    json = JSON.stringify(output);
    // Schemas with an id inside this one come out as local $defs; the components hold the same schemas.
    if (defs) json = json.replaceAll('"#/$defs/', `"${COMPONENT}`);
    converted.set(schema, json);
  }
  return JSON.parse(json) as JsonObject;
}

/** The fields of a zod shape, each with its JSON Schema and whether it is required. */
function fieldsOf(shape: z.ZodRawShape): Array<{ name: string; required: boolean; schema: JsonObject }> {
  return Object.entries(shape).map(([name, schema]) => ({
    name,
    required: !z.safeParse(schema, undefined).success,
    schema: schemaOf(schema),
  }));
}

function parameters(where: 'path' | 'header' | 'query', shape: z.ZodRawShape = {}): JsonObject[] {
  return fieldsOf(shape).map(({ name, required, schema: { description, examples, ...schema } }) => ({
    name,
    in: where,
    required,
    description,
    schema,
    ...(Array.isArray(examples) ? { example: (examples as unknown[])[0] } : {}),
  }));
}

function headers(shape: z.ZodRawShape): JsonObject {
  const all = fieldsOf({ 'X-Request-Id': RESPONSE_HEADERS.requestId, ...shape });
  return Object.fromEntries(
    all.map(({ name, required, schema: { description, ...schema } }) => [name, { description, required, schema }]),
  );
}

function response({ description, headers: shape = {}, content }: ResponseSpec): JsonObject {
  return {
    description,
    headers: headers(shape),
    ...(content && {
      content: Object.fromEntries(
        Object.entries(content).map(([media, { schema, examples }]) => [
          media,
          { schema: schemaOf(schema), ...(examples && { examples }) },
        ]),
      ),
    }),
  };
}

function requestBody({ schema, description, fields, examples }: RequestBody): JsonObject {
  const json = schemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  for (const [name, text] of Object.entries(fields ?? {}))
    properties[name] = { ...properties[name], description: text };
  return { required: true, description, content: { [JSON_MEDIA]: { schema: json, examples } } };
}

/** Codes whose answer always says when to retry: every 429 and 503, and the idempotency wait. */
function hasRetryAfter(code: ErrorCode): boolean {
  const { status } = ERROR_CATALOGUE[code];
  return status === 429 || status === 503 || code === 'IDEMPOTENCY_REQUEST_IN_PROGRESS';
}

type ErrorEntry = Exclude<RouteError, ErrorCode>;

/** The headers of the error answers of one status: required when every code at that status sends them. */
function errorHeaders(status: number, entries: ErrorEntry[]): z.ZodRawShape {
  const retrying = entries.filter((e) => hasRetryAfter(e.code)).map((e) => e.code);
  const retryAfter =
    retrying.length === entries.length
      ? RESPONSE_HEADERS.retryAfter
      : RESPONSE_HEADERS.retryAfter
          .optional()
          .meta({ description: `Seconds to wait before retrying; sent with ${retrying.join(', ')}.` });
  return Object.assign(
    retrying.length ? { 'Retry-After': retryAfter } : {},
    // The per-IP limiter runs first on every route that can answer 429, so its fields are always there.
    status === 429
      ? { RateLimit: RESPONSE_HEADERS.rateLimit, 'RateLimit-Policy': RESPONSE_HEADERS.rateLimitPolicy }
      : {},
    ...entries.map((e) => e.headers ?? {}),
  ) as z.ZodRawShape;
}

/** One answer per status: the error body of each code possible there, an example of each, their headers. */
function errorResponses(errors: RouteError[]): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorEntry[]>();
  for (const error of errors) {
    const entry = typeof error === 'string' ? { code: error } : error;
    const status = ERROR_CATALOGUE[entry.code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), entry]);
  }
  const responses: Record<string, JsonObject> = {};
  for (const [status, entries] of [...byStatus].sort(([a], [b]) => a - b)) {
    const meta = entries.map(({ code, when }) => {
      const { id, description, examples } = z.globalRegistry.get(ERROR_BODIES[code]) ?? {};
      return { code, id, when: when ?? description, example: (examples as unknown[] | undefined)?.[0] };
    });
    const refs = Object.fromEntries(meta.map(({ code, id }) => [code, `${COMPONENT}${id}`]));
    const json = response({
      description: meta.map(({ code, when }) => `**${code}**: ${when}`).join('\n\n'),
      headers: errorHeaders(status, entries),
    });
    json.content = {
      [JSON_MEDIA]: {
        schema:
          meta.length === 1
            ? ref(meta[0]!.id!)
            : {
                oneOf: Object.values(refs).map(($ref) => ({ $ref })),
                discriminator: { propertyName: 'code', mapping: refs },
              },
        examples: Object.fromEntries(meta.map(({ code, example }) => [code, { summary: code, value: example }])),
      },
    };
    responses[String(status)] = json;
  }
  return responses;
}

function operation(op: Operation): JsonObject {
  const { request = {} } = op;
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: op.description,
    security: op.security,
    parameters: [
      ...parameters('path', request.params),
      ...parameters('header', { 'X-Request-Id': requestIdRequestHeader, ...request.headers }),
      ...parameters('query', request.query),
    ],
    ...(request.body && { requestBody: requestBody(request.body) }),
    responses: {
      ...Object.fromEntries(Object.entries(op.responses).map(([status, spec]) => [status, response(spec)])),
      ...errorResponses(op.errors),
    },
  };
}

function errorCodeTable(): string {
  const rows = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).map((code) => {
    const when = z.globalRegistry.get(ERROR_BODIES[code])?.description ?? '';
    return `| \`${code}\` | ${ERROR_CATALOGUE[code].status} | ${when.replace(/\|/g, '\\|')} |`;
  });
  return ['## Error codes', '| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The component schemas that paths and responses reach, following $refs through components. */
function reachableSchemas(document: OpenApiDocument): Record<string, JsonObject> {
  const reached = new Map<string, JsonObject>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object')
      for (const [key, child] of Object.entries(value)) {
        if (key !== '$ref' || typeof child !== 'string') visit(child);
        else if (child.startsWith(COMPONENT) && !reached.has(child.slice(COMPONENT.length))) {
          const schema = componentSchema(child.slice(COMPONENT.length));
          reached.set(child.slice(COMPONENT.length), schema);
          visit(schema);
        }
      }
  };
  visit([document.paths, document.components.responses]);
  return Object.fromEntries([...reached].sort(([a], [b]) => a.localeCompare(b)));
}

/** Builds the OpenAPI 3.1 document of `operations` (the routes an instance serves). Pure. */
export function openApiDocument(operations: readonly Operation[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const op of operations) paths[op.path] = { ...paths[op.path], [op.method]: operation(op) };
  const used =
    <K extends string>(names: K[]) =>
    (name: K) =>
      names.includes(name);
  const tags = (Object.keys(TAGS) as Tag[]).filter(used(operations.map((op) => op.tag)));
  const schemes = operations.flatMap((op) => op.security.flatMap((s) => Object.keys(s) as SecurityScheme[]));

  const document: OpenApiDocument = {
    openapi: '3.1.0',
    jsonSchemaDialect: OAS_DIALECT,
    info: {
      title: 'OTP verification service',
      version: '0.1.0',
      description: `${INTRODUCTION}\n\n${errorCodeTable()}`,
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: tags.map((name) => ({ name, description: TAGS[name] })),
    paths,
    components: {
      schemas: {},
      responses: {
        NotFound: { ...errorResponses(['NOT_FOUND'])['404'], description: 'Any path not in this document.' },
        MethodNotAllowed: {
          ...errorResponses([{ code: 'METHOD_NOT_ALLOWED', headers: { Allow: RESPONSE_HEADERS.allow } }])['405'],
          description: 'A documented path called with a method it does not take; `Allow` lists the accepted methods.',
        },
      },
      securitySchemes: Object.fromEntries(
        (Object.keys(SECURITY_SCHEMES) as SecurityScheme[])
          .filter(used(schemes))
          .map((name) => [name, SECURITY_SCHEMES[name]]),
      ),
    },
  };
  document.components.schemas = reachableSchemas(document);
  return document;
}
