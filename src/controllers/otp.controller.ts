import type { Request, Response } from 'express';
import type { VerificationService } from '../services/verification.service';
import type { RequestOtpBody, RequestOtpData, VerifyOtpBody, VerifyOtpData } from '../validations/otp.validation';
import { sendSuccess } from '../utils/response';

export function otpController(verifications: VerificationService) {
  return {
    requestOtp: async (req: Request<unknown, unknown, RequestOtpBody>, res: Response): Promise<void> => {
      const { result, replayed } = await verifications.requestCode({
        ...req.body,
        idempotencyKey: req.get('idempotency-key'),
      });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      sendSuccess<RequestOtpData>(res, 'Verification code sent.', result);
    },

    verifyOtp: async (req: Request<unknown, unknown, VerifyOtpBody>, res: Response): Promise<void> => {
      const data = await verifications.verifyCode(req.body);
      sendSuccess<VerifyOtpData>(res, 'Phone number verified.', data);
    },
  };
}
