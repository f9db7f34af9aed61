import type { Sequelize } from 'sequelize';
import { User } from './user.model';
import { Verification } from './verification.model';

export { User, Verification };
export type { VerificationStatus } from './verification.model';

export interface Models {
  User: typeof User;
  Verification: typeof Verification;
}

/**
 * Registers every model on `sequelize`. Each call binds fresh subclasses, so two app instances
 * in one process (tests do this) never share a connection pool through a module-level class.
 * The schema itself comes from migrations only.
 */
export function initModels(sequelize: Sequelize): Models {
  class BoundUser extends User {}
  class BoundVerification extends Verification {}
  return { User: BoundUser.initModel(sequelize), Verification: BoundVerification.initModel(sequelize) };
}
