import type { Sequelize } from 'sequelize';
import { ApiKey } from './api-key.model';
import { User } from './user.model';
import { Verification } from './verification.model';

export { ApiKey, User, Verification };
export type { VerificationStatus } from './verification.model';

export interface Models {
  User: typeof User;
  Verification: typeof Verification;
  ApiKey: typeof ApiKey;
}

/**
 * Registers every model on `sequelize`. Each call binds fresh subclasses, so two app instances
 * in one process (tests do this) never share a connection pool through a module-level class.
 * The schema itself comes from migrations only.
 */
export function initModels(sequelize: Sequelize): Models {
  class BoundUser extends User {}
  class BoundVerification extends Verification {}
  class BoundApiKey extends ApiKey {}
  return {
    User: BoundUser.initModel(sequelize),
    Verification: BoundVerification.initModel(sequelize),
    ApiKey: BoundApiKey.initModel(sequelize),
  };
}
