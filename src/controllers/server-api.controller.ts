import type { Request, Response } from 'express';
import type { ServerVerificationService } from '../services/server-verification.service';
import { sendSuccess } from '../utils/response';
import type { RedeemBody, VerificationIdParams } from '../validations/server-api.validation';

/** The path's id, as validateParams(verificationIdParams) checked it. */
const idOf = (req: Request): string => (req.params as VerificationIdParams).id;

export function serverApiController(verifications: ServerVerificationService) {
  return {
    get: async (req: Request, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification found.', await verifications.get(idOf(req)));
    },

    cancel: async (req: Request, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification cancelled.', await verifications.cancel(idOf(req)));
    },

    redeem: async (req: Request<unknown, unknown, RedeemBody>, res: Response): Promise<void> => {
      sendSuccess(res, 'Verification token redeemed.', await verifications.redeem(req.body.token));
    },
  };
}
