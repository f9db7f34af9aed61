/**
 * Checks real HTTP responses against the OpenAPI document the app serves:
 *
 *   const spec = await servedSpec(t.app);
 *   const res = await request(t.app).post('/api/request-otp').send({ phoneNumber });
 *   spec.expectMatches(res, 'POST', '/api/request-otp');
 *
 * It checks that the status is documented for that method and path, that the body matches the
 * schema of that status (JSON Schema 2020-12 via ajv, which reads the document itself: every $ref
 * resolves in place), that the Content-Type is one the document lists, and that every required
 * response header is present and well-formed. A path the document does not list is checked against
 * components.responses.NotFound, a listed path with another method against MethodNotAllowed.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Express } from 'express';
import request from 'supertest';
import type { JsonObject, OpenApiDocument } from '../../src/routes/openapi';

/** What the checker reads from a response; a supertest response has all of it. */
export interface ResponseLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The id under which ajv holds the document; schemas are addressed by JSON pointer inside it. */
const DOCUMENT_ID = 'urn:otp-service:openapi';
/** The document's own top-level fields, and `discriminator` (a hint for code generators): not JSON Schema keywords. */
const OPENAPI_KEYWORDS = ['openapi', 'jsonSchemaDialect', 'info', 'servers', 'tags', 'paths', 'components'];

/** A JSON pointer (RFC 6901) from its parts, as a URI fragment. */
export function pointer(parts: readonly string[]): string {
  return `#/${parts.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
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

function newAjv(options: { coerceTypes?: boolean }, document: OpenApiDocument): Ajv2020 {
  // strict mode: a typo in a schema keyword fails loudly here instead of validating nothing.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, ...options });
  addFormats(ajv);
  ajv.addVocabulary([...OPENAPI_KEYWORDS, 'discriminator']);
  ajv.addSchema(document, DOCUMENT_ID);
  return ajv;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, { required?: boolean; schema: JsonObject }>;
  content?: Record<string, { schema?: JsonObject }>;
}

/** A validator of responses against one OpenAPI document; schemas are compiled once and cached by ajv. */
export class SpecValidator {
  private readonly ajv: Ajv2020;
  /** Header values arrive as strings: a schema of `type: integer` must accept "30". */
  private readonly headerAjv: Ajv2020;

  constructor(readonly document: OpenApiDocument) {
    this.ajv = newAjv({}, document);
    this.headerAjv = newAjv({ coerceTypes: true }, document);
  }

  /** The validator of the schema at `parts` in the document (throws on an invalid schema or a dangling $ref). */
  validatorAt(parts: readonly string[], forHeaders = false): ValidateFunction {
    const ref = `${DOCUMENT_ID}${pointer(parts)}`;
    const validate = (forHeaders ? this.headerAjv : this.ajv).getSchema(ref);
    if (!validate) throw new Error(`the document has no schema at ${pointer(parts)}`);
    return validate;
  }

  /** Compiles every schema of every response, request body, parameter and header, and every component. */
  compileAll(): number {
    let count = 0;
    const visit = (value: unknown, parts: string[], forHeaders: boolean): void => {
      if (!value || typeof value !== 'object') return;
      for (const [key, child] of Object.entries(value)) {
        if (key === 'schema' && child && typeof child === 'object') {
          this.validatorAt([...parts, key], forHeaders);
          count += 1;
        } else if (key !== 'examples') {
          visit(child, [...parts, key], forHeaders || key === 'headers' || key === 'parameters');
        }
      }
    };
    visit(this.document.paths, ['paths'], false);
    visit(this.document.components.responses, ['components', 'responses'], false);
    for (const name of Object.keys(this.document.components.schemas)) {
      this.validatorAt(['components', 'schemas', name]);
      count += 1;
    }
    return count;
  }

  /** The template of a concrete or templated path. */
  private findPath(path: string): string | undefined {
    const clean = path.split('?')[0]!.replace(/(.)\/+$/, '$1');
    if (this.document.paths[clean]) return clean;
    return Object.keys(this.document.paths).find(
      (template) => template.includes('{') && templateMatcher(template).test(clean),
    );
  }

  /**
   * Where the documented response for `status` on `method path` is, or a problem explaining why there
   * is none. Undocumented paths fall back to components.responses.NotFound, undocumented methods to
   * MethodNotAllowed.
   */
  expectedResponse(
    method: string,
    path: string,
    status: number,
  ): { at: string[]; label: string } | { problem: string } {
    const verb = method.toLowerCase();
    const template = this.findPath(path);
    if (!template) {
      if (status === 404)
        return { at: ['components', 'responses', 'NotFound'], label: `undocumented path ${path} -> NotFound` };
      return {
        problem: `the spec has no path ${path} (only a 404 NOT_FOUND would match an undocumented path), but the response status is ${status}`,
      };
    }
    const item = this.document.paths[template]!;
    // Express answers HEAD with the GET handler (without a body).
    const operation = item[verb] ? verb : verb === 'head' && item.get ? 'get' : undefined;
    if (!operation) {
      if (status === 405)
        return {
          at: ['components', 'responses', 'MethodNotAllowed'],
          label: `${method.toUpperCase()} ${template} -> MethodNotAllowed`,
        };
      return {
        problem: `the spec documents ${template} only for ${Object.keys(item)
          .map((k) => k.toUpperCase())
          .join(
            ', ',
          )}; ${method.toUpperCase()} can only answer 405 METHOD_NOT_ALLOWED, but the response status is ${status}`,
      };
    }
    const responses = item[operation]!.responses as Record<string, unknown>;
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) {
      return {
        problem: `status ${status} is not documented for ${method.toUpperCase()} ${template} (documented: ${Object.keys(responses).join(', ')})`,
      };
    }
    return {
      at: ['paths', template, operation, 'responses', key],
      label: `${method.toUpperCase()} ${template} -> ${status}`,
    };
  }

  private at(parts: readonly string[]): unknown {
    return parts.reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], this.document);
  }

  /** Every way `res` differs from the spec for `method path`; empty when it matches. */
  problems(res: ResponseLike, method: string, path: string): string[] {
    const expected = this.expectedResponse(method, path, res.status);
    if ('problem' in expected) return [expected.problem];
    const response = this.at(expected.at) as ResponseObject;
    const problems: string[] = [];

    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = headerValue(res.headers, name);
      if (value === undefined) {
        if (header.required) problems.push(`header ${name}: missing (required)`);
        continue;
      }
      const validate = this.validatorAt([...expected.at, 'headers', name, 'schema'], true);
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
    if (content[mediaType]!.schema) {
      const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
      const validate = this.validatorAt([...expected.at, 'content', mediaType, 'schema']);
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
        'Fix the code, or its route table entry and zod schemas if the code is right (docs/openapi.md).',
      ].join('\n'),
    );
  }
}

/** The document `app` serves at /api/openapi.json. */
export async function servedDocument(app: Express): Promise<OpenApiDocument> {
  const res = await request(app).get('/api/openapi.json');
  if (res.status !== 200) throw new Error(`GET /api/openapi.json answered ${res.status}`);
  return res.body as OpenApiDocument;
}

/** A validator of `app`'s responses against the document it serves. */
export async function servedSpec(app: Express): Promise<SpecValidator> {
  return new SpecValidator(await servedDocument(app));
}
