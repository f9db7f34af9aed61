import type { Request, Response } from 'express';
import type { VerificationService } from '../services/verification/verification.service';
import type {
  RequestOtpBody,
  RequestOtpData,
  ResendOtpBody,
  VerifyOtpBody,
  VerifyOtpData,
} from '../validations/otp.validation';
import { sendSuccess } from '../utils/response';

export function otpController(verifications: VerificationService) {
  return {
    requestOtp: async (req: Request<unknown, unknown, RequestOtpBody>, res: Response): Promise<void> => {
      const { result, replayed } = await verifications.requestCode({
        ...req.body,
        acceptLanguage: req.get('accept-language'),
        idempotencyKey: req.get('idempotency-key'),
      });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      sendSuccess<RequestOtpData>(res, 'Verification code sent.', result);
    },

    resendOtp: async (req: Request<unknown, unknown, ResendOtpBody>, res: Response): Promise<void> => {
      const result = await verifications.resendCode({ ...req.body, acceptLanguage: req.get('accept-language') });
      sendSuccess<RequestOtpData>(res, 'A new verification code was sent.', result);
    },

    verifyOtp: async (req: Request<unknown, unknown, VerifyOtpBody>, res: Response): Promise<void> => {
      const data = await verifications.verifyCode(req.body);
      sendSuccess<VerifyOtpData>(res, 'Phone number verified.', data);
    },
  };
}
