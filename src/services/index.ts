import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { initModels, type Models } from '../models';
import { systemClock, type Clock } from '../utils/clock';
import { createSinchClient, type SinchCallObserver, type SinchClient } from './sinch.client';
import { createUserService, type UserService } from './user.service';
import { createVerificationService, type OtpEvents, type VerificationService } from './verification.service';

export interface Services {
  models: Models;
  users: UserService;
  sinch: SinchClient;
  verifications: VerificationService;
}

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  clock?: Clock;
  sinch?: SinchClient;
  observeSinch?: SinchCallObserver;
  events?: OtpEvents;
}

/** Wires models, the Sinch client and the services: the plain objects createApp receives. */
export function createServices(options: ServiceOptions): Services {
  const clock = options.clock ?? systemClock;
  const models = initModels(options.sequelize);
  const sinch = options.sinch ?? createSinchClient(options.config.sinch, options.logger, options.observeSinch);
  const users = createUserService(options.sequelize, models, options.config.otp, clock);
  const verifications = createVerificationService({
    sequelize: options.sequelize,
    sinch,
    users,
    config: options.config,
    logger: options.logger,
    clock,
    events: options.events,
  });
  return { models, users, sinch, verifications };
}
