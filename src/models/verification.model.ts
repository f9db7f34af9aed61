import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';

/** CANCELLED is ours alone: the integrator's backend called the verification off (Sinch has no cancel). */
export const VERIFICATION_STATUSES = ['PENDING', 'SUCCESSFUL', 'FAILED', 'EXPIRED', 'ABORTED', 'CANCELLED'] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** One code sent to one number: our id, Sinch's id, and how it ended. */
export class Verification extends Model<InferAttributes<Verification>, InferCreationAttributes<Verification>> {
  declare id: string;
  declare sinchVerificationId: string;
  declare phoneNumber: string;
  declare method: CreationOptional<string>;
  declare status: CreationOptional<VerificationStatus>;
  declare attempts: CreationOptional<number>;
  declare expiresAt: Date;
  declare verifiedAt: CreationOptional<Date | null>;
  /** From Sinch's SMS-delivered callback: DELIVERED or FAILED; null until it arrives. */
  declare smsDeliveryStatus: CreationOptional<'DELIVERED' | 'FAILED' | null>;
  declare smsDeliveryReportedAt: CreationOptional<Date | null>;
  /** What the code was requested for (one of OTP_PURPOSES); null when the request named none. */
  declare purpose: CreationOptional<string | null>;
  /** When POST /api/verifications/redeem first accepted this verification's token. */
  declare tokenRedeemedAt: CreationOptional<Date | null>;
  /** The language Sinch said it used (Content-Language), canonical BCP 47; null when it named none. */
  declare locale: CreationOptional<string | null>;
  /** Sinch verifications started for this one (the first send, then each resend or fallback). */
  declare sends: CreationOptional<number>;
  /** When the automatic fallback claimed this verification (it falls back at most once). */
  declare fallbackAt: CreationOptional<Date | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  static initModel(sequelize: Sequelize): typeof Verification {
    return this.init(
      {
        id: { type: DataTypes.UUID, primaryKey: true },
        sinchVerificationId: { type: DataTypes.STRING(64), allowNull: false, unique: true },
        phoneNumber: { type: DataTypes.STRING(16), allowNull: false },
        method: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'sms' },
        status: {
          type: DataTypes.STRING(16),
          allowNull: false,
          defaultValue: 'PENDING',
          validate: { isIn: [VERIFICATION_STATUSES] },
        },
        attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
        expiresAt: { type: DataTypes.DATE, allowNull: false },
        verifiedAt: { type: DataTypes.DATE, allowNull: true },
        smsDeliveryStatus: { type: DataTypes.STRING(16), allowNull: true },
        smsDeliveryReportedAt: { type: DataTypes.DATE, allowNull: true },
        purpose: { type: DataTypes.STRING(32), allowNull: true },
        tokenRedeemedAt: { type: DataTypes.DATE, allowNull: true },
        locale: { type: DataTypes.STRING(35), allowNull: true },
        sends: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
        fallbackAt: { type: DataTypes.DATE, allowNull: true },
        createdAt: DataTypes.DATE,
        updatedAt: DataTypes.DATE,
      },
      { sequelize, tableName: 'Verifications', modelName: 'Verification' },
    );
  }
}
