import type { Response } from 'express';
import type { AppError } from './app-error';

export interface SuccessBody<T> {
  status: 'success';
  message: string;
  data: T;
}

export interface ErrorBody {
  status: 'error';
  code: string;
  message: string;
  requestId: string;
  details?: unknown[];
}

/** Sends the success envelope. */
export function sendSuccess<T>(res: Response, message: string, data: T, httpStatus = 200): void {
  const body: SuccessBody<T> = { status: 'success', message, data };
  res.status(httpStatus).json(body);
}

/** Builds the error envelope; only the error handler sends it. */
export function errorBody(error: AppError, requestId: string): ErrorBody {
  return {
    status: 'error',
    code: error.code,
    message: error.message,
    requestId,
    ...(error.details?.length ? { details: error.details } : {}),
  };
}
