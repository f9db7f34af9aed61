import { Router, type RequestHandler } from 'express';
import type { CodeType, OtpMethod } from '../config';
import type { otpController } from '../controllers/otp.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateHeader } from '../middlewares/validate';
import {
  idempotencyKeyHeader,
  requestOtpBody,
  resendOtpBody,
  verifyOtpBodyFor,
  verifyOtpByPhoneBodyFor,
} from '../validations/otp.validation';

export interface OtpRouteLimits {
  requestOtp: RequestHandler[];
  verifyOtp: RequestHandler[];
}

export function otpRoutes(
  controller: ReturnType<typeof otpController>,
  limits: OtpRouteLimits,
  options: { verifyByPhoneNumber: boolean; codeType: CodeType; methods: readonly OtpMethod[] },
): Router {
  const router = Router();
  const codes = { codeType: options.codeType, methods: options.methods };
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
  // A resend sends a code too: it shares request-otp's per-IP limiter (one counter for both routes).
  router
    .route('/api/resend-otp')
    .post(...limits.requestOtp, requireJson(), validateBody(resendOtpBody), controller.resendOtp)
    .all(methodNotAllowed(['POST']));
  router
    .route('/api/verify-otp')
    .post(
      ...limits.verifyOtp,
      requireJson(),
      validateBody(options.verifyByPhoneNumber ? verifyOtpByPhoneBodyFor(codes) : verifyOtpBodyFor(codes)),
      controller.verifyOtp,
    )
    .all(methodNotAllowed(['POST']));
  return router;
}
