import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../utils/app-error';

export interface FieldProblem {
  field: string;
  message: string;
}

/** Turns zod issues into one entry per field, naming unknown fields individually. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue): FieldProblem[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: [...issue.path, key].join('.'),
        message: `${key} is not a recognised field`,
      }));
    }
    return [
      {
        field: issue.path.join('.') || '(body)',
        message: issue.path.length ? issue.message : 'the body must be a JSON object',
      },
    ];
  });
}

/**
 * Validates the body with a zod schema and writes the parsed (trimmed, typed) value back to
 * `req.body`; on failure passes one VALIDATION_ERROR to the error handler and never responds itself.
 */
export function validateBody(schema: z.ZodType): RequestHandler {
  return (req, _res, next) => {
    const result = schema.safeParse(req.body ?? undefined);
    if (!result.success) {
      next(new AppError('VALIDATION_ERROR', { details: fieldProblems(result.error) }));
      return;
    }
    req.body = result.data;
    next();
  };
}

/** Validates one optional request header (absent is fine); a malformed value is a VALIDATION_ERROR. */
export function validateHeader(name: string, schema: z.ZodType<string>): RequestHandler {
  return (req, _res, next) => {
    const value = req.get(name);
    if (value === undefined) return next();
    const result = schema.safeParse(value);
    next(
      result.success
        ? undefined
        : new AppError('VALIDATION_ERROR', {
            details: [{ field: name, message: result.error.issues[0]?.message ?? 'invalid' }],
          }),
    );
  };
}

/** Validates the path parameters; a malformed one is a VALIDATION_ERROR naming it. */
export function validateParams(schema: z.ZodType<Record<string, string>>): RequestHandler {
  return (req, _res, next) => {
    const result = schema.safeParse(req.params);
    if (!result.success) {
      next(new AppError('VALIDATION_ERROR', { details: fieldProblems(result.error) }));
      return;
    }
    Object.assign(req.params, result.data);
    next();
  };
}
