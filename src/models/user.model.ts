import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';

/** A phone number that has asked for a code at least once. */
export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<string>;
  declare phoneNumber: string;
  declare isVerified: CreationOptional<boolean>;
  declare verifiedAt: CreationOptional<Date | null>;
  /** Sends in the last day (rolling window for the per-number send limits). */
  declare otpSendTimes: CreationOptional<Date[]>;
  /** Wrong codes in the last hour (the failure budget, across all verifications). */
  declare otpFailureTimes: CreationOptional<Date[]>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof User {
    // `this`, not `User`: initModels binds a fresh subclass per Sequelize instance.
    return this.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
        phoneNumber: { type: DataTypes.STRING(16), allowNull: false, unique: true },
        isVerified: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
        verifiedAt: { type: DataTypes.DATE, allowNull: true },
        otpSendTimes: { type: DataTypes.ARRAY(DataTypes.DATE), allowNull: false, defaultValue: [] },
        otpFailureTimes: { type: DataTypes.ARRAY(DataTypes.DATE), allowNull: false, defaultValue: [] },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'Users', modelName: 'User' },
    );
  }
}
