import {
  AccessDeniedError,
  ConnectionAcquireTimeoutError,
  ConnectionError,
  ConnectionRefusedError,
  DatabaseError,
  TimeoutError,
  UniqueConstraintError,
  ValidationError,
} from 'sequelize';
import { normalizeError } from '../../src/middlewares/error-handler';
import { AppError } from '../../src/utils/app-error';

/** A driver error as pg reports it: a message, the SQLSTATE in `code`, and the SQL it ran. */
function pgError(message: string, code?: string): Error & { sql: string; code?: string } {
  return Object.assign(new Error(message), { sql: 'SELECT 1', ...(code ? { code } : {}) });
}

/** What body-parser (express.json) passes to next(): an Error with a `type` and a status. */
function bodyParserError(type: string, status: number): Error {
  return Object.assign(new Error(`body-parser: ${type}`), { type, status, expose: true });
}

describe('normalizeError', () => {
  test('When the error is already an AppError, then it is returned as is', () => {
    const original = new AppError('INVALID_CODE', { details: [{ attemptsRemaining: 2 }] });

    expect(normalizeError(original)).toBe(original);
  });

  test.each([
    ['a string', 'something broke'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['NaN', Number.NaN],
    ['a boolean', false],
    ['a symbol', Symbol('oops')],
    ['a plain object', { message: 'not an Error' }],
    ['an object without a prototype', Object.create(null) as object],
    ['an array', ['a', 'b']],
    ['a function', () => undefined],
    ['a plain Error', new Error('boom')],
    ['a TypeError', new TypeError('x is not a function')],
    ['an object with a numeric type', { type: 42 }],
    ['an object with an unknown body error type', { type: 'entity.something.else' }],
    ['an object whose type names an Object.prototype member', { type: 'constructor' }],
    ['an object whose type is toString', { type: 'toString' }],
    ['an object whose type is __proto__', { type: '__proto__' }],
    ['a Sequelize unique constraint error', new UniqueConstraintError({ message: 'dup' })],
    ['a Sequelize validation error', new ValidationError('bad', [])],
    [
      'a DatabaseError for a syntax error (42601)',
      new DatabaseError(pgError('syntax error at or near "SELEC"', '42601')),
    ],
    [
      'a DatabaseError for a missing relation (42P01)',
      new DatabaseError(pgError('relation "Users" does not exist', '42P01')),
    ],
  ])('When %s is thrown, then 500 INTERNAL_ERROR keeping the original as cause', (_what, thrown) => {
    const error = normalizeError(thrown);

    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'INTERNAL_ERROR',
      httpStatus: 500,
      message: 'Something went wrong on our side. Try again later.',
      isServerError: true,
    });
    expect(error.cause).toBe(thrown);
  });

  test.each([
    ['entity.parse.failed', 400, 'INVALID_JSON', 400],
    ['entity.verify.failed', 403, 'INVALID_JSON', 400],
    ['request.aborted', 400, 'INVALID_JSON', 400],
    ['request.size.invalid', 400, 'INVALID_JSON', 400],
    ['entity.too.large', 413, 'PAYLOAD_TOO_LARGE', 413],
    ['charset.unsupported', 415, 'UNSUPPORTED_MEDIA_TYPE', 415],
    ['encoding.unsupported', 415, 'UNSUPPORTED_MEDIA_TYPE', 415],
  ])('When body-parser fails with %s, then %s becomes our %s (%i)', (type, status, code, httpStatus) => {
    const thrown = bodyParserError(type, status);

    expect(normalizeError(thrown)).toMatchObject({ code, httpStatus, cause: thrown });
  });

  test.each([
    ['a ConnectionError', new ConnectionError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))],
    ['a ConnectionRefusedError', new ConnectionRefusedError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))],
    ['an AccessDeniedError', new AccessDeniedError(new Error('password authentication failed'))],
    ['a ConnectionAcquireTimeoutError', new ConnectionAcquireTimeoutError(new Error('Operation timeout'))],
    ['a Sequelize TimeoutError', new TimeoutError(pgError('canceling statement due to lock timeout', '55P03'))],
    [
      'a DatabaseError 57P01 (admin shutdown)',
      new DatabaseError(pgError('terminating connection due to administrator command', '57P01')),
    ],
    [
      'a DatabaseError 57014 (statement timeout)',
      new DatabaseError(pgError('canceling statement due to statement timeout', '57014')),
    ],
    ['a DatabaseError 08006 (connection failure)', new DatabaseError(pgError('connection failure', '08006'))],
    [
      'a DatabaseError 08003 (connection does not exist)',
      new DatabaseError(pgError('connection does not exist', '08003')),
    ],
    [
      'a DatabaseError 53300 (too many connections)',
      new DatabaseError(pgError('sorry, too many clients already', '53300')),
    ],
    ['a DatabaseError 40P01 (deadlock)', new DatabaseError(pgError('deadlock detected', '40P01'))],
    [
      'a DatabaseError 40001 (serialization failure)',
      new DatabaseError(pgError('could not serialize access', '40001')),
    ],
    [
      'a DatabaseError without SQLSTATE after the connection ended',
      new DatabaseError(pgError('Connection terminated unexpectedly')),
    ],
    ['a DatabaseError without SQLSTATE on ECONNRESET', new DatabaseError(pgError('read ECONNRESET'))],
  ])('When %s is thrown, then 503 SERVICE_UNAVAILABLE with Retry-After', (_what, thrown) => {
    const error = normalizeError(thrown);

    expect(error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      httpStatus: 503,
      retryAfterSeconds: expect.any(Number),
      cause: thrown,
    });
    expect(error.message).toBe('The service is temporarily unavailable. Try again shortly.');
  });
});
