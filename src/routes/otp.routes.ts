import { Router, type RequestHandler } from 'express';
import type { otpController } from '../controllers/otp.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateHeader } from '../middlewares/validate';
import {
  idempotencyKeyHeader,
  requestOtpBody,
  verifyOtpBody,
  verifyOtpByPhoneBody,
} from '../validations/otp.validation';

export interface OtpRouteLimits {
  requestOtp: RequestHandler[];
  verifyOtp: RequestHandler[];
}

export function otpRoutes(
  controller: ReturnType<typeof otpController>,
  limits: OtpRouteLimits,
  options: { verifyByPhoneNumber: boolean },
): Router {
  const router = Router();
  router
    .route('/api/request-otp')
    .post(
      ...limits.requestOtp,
      requireJson(),
      validateHeader('Idempotency-Key', idempotencyKeyHeader),
      validateBody(requestOtpBody),
      controller.requestOtp,
    )
    .all(methodNotAllowed(['POST']));
  router
    .route('/api/verify-otp')
    .post(
      ...limits.verifyOtp,
      requireJson(),
      validateBody(options.verifyByPhoneNumber ? verifyOtpByPhoneBody : verifyOtpBody),
      controller.verifyOtp,
    )
    .all(methodNotAllowed(['POST']));
  return router;
}
