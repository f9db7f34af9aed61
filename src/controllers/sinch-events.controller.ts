import type { Request, Response } from 'express';
import type { Logger } from '../config/logger';
import type { SinchEventsService } from '../services/sinch-events.service';
import { fieldProblems } from '../middlewares/validate';
import { AppError } from '../utils/app-error';
import { KNOWN_EVENTS, sinchEvent, type SinchCallbackAnswer } from '../validations/sinch-events.validation';

/** Sinch callbacks answer in Sinch's format ({action} or {}), not in our envelope: Sinch reads them. */
export function sinchEventsController(events: SinchEventsService, logger: Logger) {
  const answer = (res: Response, body: SinchCallbackAnswer) => res.status(200).json(body);
  return {
    receive: async (req: Request, res: Response): Promise<void> => {
      let body: unknown;
      try {
        body = JSON.parse((req.body as Buffer).toString('utf8'));
      } catch (error) {
        throw new AppError('INVALID_JSON', { cause: error });
      }
      const name = (body as { event?: unknown } | null)?.event;
      if (typeof name === 'string' && !(KNOWN_EVENTS as readonly string[]).includes(name)) {
        // New event types must not make Sinch retry forever: acknowledge and ignore.
        logger.warn('unknown Sinch event ignored', { event: name.slice(0, 64) });
        answer(res, {});
        return;
      }
      const parsed = sinchEvent.safeParse(body);
      if (!parsed.success) throw new AppError('VALIDATION_ERROR', { details: fieldProblems(parsed.error) });
      const event = parsed.data;
      switch (event.event) {
        case 'VerificationRequestEvent':
          answer(res, { action: events.decide(event) });
          return;
        case 'VerificationResultEvent':
          await events.applyResult(event);
          break;
        case 'VerificationSmsDeliveredEvent':
          await events.recordDelivery(event);
          break;
      }
      answer(res, {});
    },
  };
}
