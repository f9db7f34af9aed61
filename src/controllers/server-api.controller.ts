import type { Request, Response } from 'express';
import type { ServerVerificationService } from '../services/server-verification.service';
import { sendSuccess } from '../utils/response';
import type { RedeemBody, VerificationIdParams } from '../validations/server-api.validation';

export function serverApiController(verifications: ServerVerificationService) {
  return {
    get: async (req: Request<VerificationIdParams>, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification found.', await verifications.get(req.params.id));
    },

    cancel: async (req: Request<VerificationIdParams>, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification cancelled.', await verifications.cancel(req.params.id));
    },

    redeem: async (req: Request<unknown, unknown, RedeemBody>, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification token redeemed.', await verifications.redeem(req.body.token));
    },
  };
}
