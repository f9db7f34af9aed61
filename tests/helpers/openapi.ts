/**
 * Checks real HTTP responses against the OpenAPI document, so the spec cannot drift from the code:
 *
 *   const res = await request(t.app).post('/api/request-otp').send({ phoneNumber });
 *   expectMatchesSpec(res, 'POST', '/api/request-otp');
 *
 * It checks that the status is documented for that method and path, that the body matches the
 * schema of that status (JSON Schema 2020-12 via ajv, `#/components/schemas/...` refs resolved),
 * that the Content-Type is one the spec lists, and that every required response header is present
 * and well-formed. A path the spec does not list is checked against the documented 404 NOT_FOUND,
 * a listed path with another method against the documented 405 METHOD_NOT_ALLOWED.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import {
  openApiDocument,
  type HeaderObject,
  type HttpMethod,
  type JsonSchema,
  type OpenApiDocument,
  type OperationObject,
  type Reference,
  type ResponseObject,
} from '../../src/docs/openapi';

/** What the checker reads from a response; a supertest response has all of it. */
export interface ResponseLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

/** Where schema refs point once the components are registered with ajv under their own id. */
const COMPONENTS_ID = 'urn:otp-service:openapi:components';
const COMPONENT_REF = '#/components/schemas/';

function isReference(value: unknown): value is Reference {
  return typeof value === 'object' && value !== null && typeof (value as { $ref?: unknown }).$ref === 'string';
}

/** A deep copy in which document-relative schema refs point into the registered components bundle. */
function retarget(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(retarget);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [
        key,
        key === '$ref' && typeof child === 'string' && child.startsWith(COMPONENT_REF)
          ? `${COMPONENTS_ID}#/$defs/${child.slice(COMPONENT_REF.length)}`
          : retarget(child),
      ]),
    );
  }
  return value;
}

function formatErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const at = `${where}${e.instancePath}`;
    const params =
      e.keyword === 'enum'
        ? ` (allowed: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
        : e.keyword === 'additionalProperties'
          ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
          : e.keyword === 'const'
            ? ` (${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)})`
            : '';
    return `${at}: ${e.message ?? e.keyword}${params} [schema ${e.schemaPath}]`;
  });
}

/** Turns a path template into a matcher: `/api/items/{id}` matches `/api/items/42`. */
function templateMatcher(template: string): RegExp {
  const escaped = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]+')}$`);
}

function headerValue(headers: ResponseLike['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A validator of responses against one OpenAPI document; schemas are compiled once and cached. */
export class SpecValidator {
  private readonly ajv: Ajv2020;
  /** Header values arrive as strings: a schema of `type: integer` must accept "30". */
  private readonly headerAjv: Ajv2020;
  private readonly compiled = new WeakMap<object, ValidateFunction>();
  private readonly compiledHeaders = new WeakMap<object, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    // strict mode: a typo in a schema keyword fails loudly here instead of validating nothing.
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    this.headerAjv = new Ajv2020({ allErrors: true, strict: true, coerceTypes: true });
    for (const ajv of [this.ajv, this.headerAjv]) {
      addFormats(ajv);
      ajv.addSchema({ $id: COMPONENTS_ID, $defs: retarget(document.components.schemas) as Record<string, JsonSchema> });
    }
  }

  /** Compiles a schema found anywhere in the document (throws on an invalid schema). */
  validator(schema: JsonSchema, forHeaders = false): ValidateFunction {
    const cache = forHeaders ? this.compiledHeaders : this.compiled;
    let validate = cache.get(schema);
    if (!validate) {
      validate = (forHeaders ? this.headerAjv : this.ajv).compile(retarget(schema) as JsonSchema);
      cache.set(schema, validate);
    }
    return validate;
  }

  /** Compiles every schema of every response, request body, parameter and header: a broken one throws. */
  compileAll(): number {
    let count = 0;
    const visit = (value: unknown, forHeaders: boolean): void => {
      if (!value || typeof value !== 'object') return;
      const record = value as Record<string, unknown>;
      if (record.schema && typeof record.schema === 'object') {
        this.validator(record.schema as JsonSchema, forHeaders);
        count += 1;
      }
      for (const [key, child] of Object.entries(record)) {
        if (key !== 'schema' && key !== 'examples')
          visit(child, forHeaders || key === 'headers' || key === 'parameters');
      }
    };
    visit(this.document.paths, false);
    visit({ ...this.document.components, schemas: undefined }, false);
    for (const name of Object.keys(this.document.components.schemas)) {
      this.validator({ $ref: `${COMPONENT_REF}${name}` });
      count += 1;
    }
    return count;
  }

  private resolve<T>(value: T | Reference): T {
    if (!isReference(value)) return value;
    const [, section, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(value.$ref) ?? [];
    const target =
      section && name
        ? (this.document.components as unknown as Record<string, Record<string, unknown>>)[section]?.[name]
        : undefined;
    if (target === undefined) throw new Error(`OpenAPI document has a dangling reference ${value.$ref}`);
    return target as T;
  }

  /** The operation for a concrete or templated path, with the template that matched. */
  private findPath(path: string): string | undefined {
    const clean = path.split('?')[0]!.replace(/(.)\/+$/, '$1');
    if (this.document.paths[clean]) return clean;
    return Object.keys(this.document.paths).find(
      (template) => template.includes('{') && templateMatcher(template).test(clean),
    );
  }

  /**
   * The documented response for `status` on `method path`, or a problem explaining why there is none.
   * Undocumented paths fall back to components.responses.NotFound, undocumented methods to MethodNotAllowed.
   */
  expectedResponse(
    method: string,
    path: string,
    status: number,
  ): { response: ResponseObject; label: string } | { problem: string } {
    const verb = method.toLowerCase() as HttpMethod;
    const template = this.findPath(path);
    if (!template) {
      if (status === 404)
        return {
          response: this.resolve(this.document.components.responses.NotFound!),
          label: `undocumented path ${path} -> components.responses.NotFound`,
        };
      return {
        problem: `the spec has no path ${path} (only a 404 NOT_FOUND would match an undocumented path), but the response status is ${status}`,
      };
    }
    const item = this.document.paths[template]!;
    // Express answers HEAD with the GET handler (without a body).
    const operation: OperationObject | undefined = item[verb] ?? (verb === 'head' ? item.get : undefined);
    if (!operation) {
      if (status === 405)
        return {
          response: this.resolve(this.document.components.responses.MethodNotAllowed!),
          label: `${method.toUpperCase()} ${template} -> components.responses.MethodNotAllowed`,
        };
      const documented = Object.keys(item)
        .filter((k) => k !== 'summary' && k !== 'description')
        .map((k) => k.toUpperCase());
      return {
        problem: `the spec documents ${template} only for ${documented.join(', ')}; ${method.toUpperCase()} can only answer 405 METHOD_NOT_ALLOWED, but the response status is ${status}`,
      };
    }
    const responses = operation.responses;
    const entry = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!entry) {
      return {
        problem: `status ${status} is not documented for ${method.toUpperCase()} ${template} (documented: ${Object.keys(responses).join(', ')})`,
      };
    }
    return { response: this.resolve(entry), label: `${method.toUpperCase()} ${template} -> ${status}` };
  }

  /** Every way `res` differs from the spec for `method path`; empty when it matches. */
  problems(res: ResponseLike, method: string, path: string): string[] {
    const expected = this.expectedResponse(method, path, res.status);
    if ('problem' in expected) return [expected.problem];
    const { response } = expected;
    const problems: string[] = [];

    for (const [name, entry] of Object.entries(response.headers ?? {})) {
      const header = this.resolve<HeaderObject>(entry);
      const value = headerValue(res.headers, name);
      if (value === undefined) {
        if (header.required) problems.push(`header ${name}: missing (required)`);
        continue;
      }
      const validate = this.validator(header.schema, true);
      if (!validate(value))
        problems.push(...formatErrors(`header ${name} (${JSON.stringify(value)})`, validate.errors));
    }

    const contentType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    const content = response.content;
    if (!content) {
      if (res.text)
        problems.push(
          `body: the spec documents no body for this response, but one was sent (${contentType ?? 'no content type'})`,
        );
      return problems;
    }
    if (method.toUpperCase() === 'HEAD') return problems;
    const mediaType =
      contentType &&
      Object.keys(content).find(
        (m) => m.toLowerCase() === contentType || (m.endsWith('/*') && contentType.startsWith(m.slice(0, -1))),
      );
    if (!mediaType) {
      problems.push(
        `content-type: ${contentType ?? '(none)'} is not documented (documented: ${Object.keys(content).join(', ')})`,
      );
      return problems;
    }
    const schema = content[mediaType]!.schema;
    if (schema) {
      const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
      const validate = this.validator(schema);
      if (!validate(isJson ? res.body : res.text)) problems.push(...formatErrors('body', validate.errors));
    }
    return problems;
  }

  /** Throws a readable error when `res` does not match the spec for `method path`. */
  expectMatches(res: ResponseLike, method: string, path: string): void {
    const problems = this.problems(res, method, path);
    if (problems.length === 0) return;
    const body =
      res.body !== undefined &&
      !(typeof res.body === 'object' && res.body !== null && Object.keys(res.body).length === 0 && res.text)
        ? JSON.stringify(res.body)
        : (res.text ?? '');
    throw new Error(
      [
        `Response does not match the OpenAPI spec for ${method.toUpperCase()} ${path} (status ${res.status}):`,
        ...problems.map((p) => `  - ${p}`),
        `Body: ${body.length > 800 ? `${body.slice(0, 800)}...` : body}`,
        'Fix the code, or the spec in src/docs/openapi.ts if the code is right.',
      ].join('\n'),
    );
  }
}

let shared: SpecValidator | undefined;

/** The validator of the full document (emulator-only routes included), built once per test file. */
export function specValidator(): SpecValidator {
  shared ??= new SpecValidator(openApiDocument());
  return shared;
}

/**
 * Fails (throws) with a readable list of differences when a real response does not match the
 * OpenAPI document for `method path`: status, body schema, content type and required headers.
 * `path` is the request path (query string ignored) or the spec's path template.
 */
export function expectMatchesSpec(res: ResponseLike, method: string, path: string): void {
  specValidator().expectMatches(res, method, path);
}

// ---------------------------------------------------------------------------------------------
// The routes an Express 5 app registers, for the route-coverage test.
// ---------------------------------------------------------------------------------------------

/** The parts of Express 5's (router 2.x) layers that tell which routes exist. */
interface ExpressLayer {
  route?: { path: unknown; methods: Record<string, boolean | undefined> };
  handle?: { stack?: unknown };
  /** The mount path of a `router.use(path, ...)` layer (router >= 2.3). */
  rawPath?: unknown;
  /** True for a `router.use(...)` layer mounted at '/'. */
  slash?: boolean;
}

export interface RegisteredRoute {
  /** Upper case, or `ALL` for a route that only has an `.all()` handler. */
  method: string;
  /** As an OpenAPI path template: `:id` becomes `{id}`. */
  path: string;
}

function joinPath(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/** Express path syntax to an OpenAPI template; anything that has no OpenAPI equivalent is refused loudly. */
function toTemplates(path: unknown, where: string): string[] {
  if (Array.isArray(path)) return path.flatMap((p) => toTemplates(p, where));
  if (typeof path !== 'string')
    throw new Error(
      `${where}: a ${path instanceof RegExp ? 'RegExp' : typeof path} path cannot be mapped to an OpenAPI path; use a string path`,
    );
  if (/[{}*()?]/.test(path))
    throw new Error(
      `${where}: the path ${path} uses optional or wildcard syntax, which has no OpenAPI equivalent; register plain paths`,
    );
  return [path.replace(/:(\w+)/g, '{$1}')];
}

function walk(stack: ExpressLayer[], prefix: string): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  for (const layer of stack) {
    if (layer.route) {
      const methods = Object.keys(layer.route.methods).filter((m) => m !== '_all' && layer.route!.methods[m]);
      for (const template of toTemplates(layer.route.path, `route under ${prefix || '/'}`)) {
        const path = joinPath(prefix, template);
        if (methods.length === 0) routes.push({ method: 'ALL', path });
        for (const method of methods) routes.push({ method: method.toUpperCase(), path });
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      const mount = layer.rawPath ?? (layer.slash ? '/' : undefined);
      if (mount === undefined)
        throw new Error(
          `a router mounted under ${prefix || '/'} has no readable mount path (router >= 2.3 sets layer.rawPath)`,
        );
      for (const template of toTemplates(mount, `router under ${prefix || '/'}`))
        routes.push(...walk(layer.handle.stack as ExpressLayer[], joinPath(prefix, template)));
    }
    // Any other layer is middleware (parsers, static files, the 404 and error handlers): not a route.
  }
  return routes;
}

/**
 * Every method + path registered with `router.get/post/.../route()` anywhere in the app, with mount
 * paths of nested routers applied. Middleware mounted with `use()` (static files, parsers) is not a route.
 */
export function registeredRoutes(app: unknown): RegisteredRoute[] {
  const router = (app as { router?: { stack?: unknown } }).router;
  if (!router || !Array.isArray(router.stack))
    throw new Error('app.router.stack is missing: an Express 5 app was expected');
  return walk(router.stack as ExpressLayer[], '');
}
