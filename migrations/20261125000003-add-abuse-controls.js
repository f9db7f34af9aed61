'use strict';

/**
 * State for the abuse limits, kept in PostgreSQL so every instance enforces the same limits:
 * - Users.otpSendTimes / otpFailureTimes: the rolling windows per number (sends in the last day,
 *   wrong codes in the last hour), checked and updated in one conditional statement, so parallel
 *   requests cannot slip past a limit between a read and a write.
 * - OtpSendWindows: one counter per minute for the global send ceiling.
 * - IdempotencyKeys: first responses to request-otp, replayed for a repeated Idempotency-Key.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('Users', 'otpSendTimes', {
      type: Sequelize.ARRAY(Sequelize.DATE),
      allowNull: false,
      defaultValue: [],
    });
    await queryInterface.addColumn('Users', 'otpFailureTimes', {
      type: Sequelize.ARRAY(Sequelize.DATE),
      allowNull: false,
      defaultValue: [],
    });
    await queryInterface.createTable('OtpSendWindows', {
      windowStart: { type: Sequelize.DATE, primaryKey: true, allowNull: false },
      sends: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
    });
    await queryInterface.createTable('IdempotencyKeys', {
      key: { type: Sequelize.STRING(255), primaryKey: true, allowNull: false },
      fingerprint: { type: Sequelize.STRING(64), allowNull: false },
      state: { type: Sequelize.STRING(16), allowNull: false },
      responseStatus: { type: Sequelize.INTEGER, allowNull: true },
      responseBody: { type: Sequelize.JSONB, allowNull: true },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      expiresAt: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('IdempotencyKeys', ['expiresAt'], { name: 'IdempotencyKeys_expiresAt' });
    // The retention purge deletes by age in batches; without this it would scan the table.
    await queryInterface.addIndex('Verifications', ['createdAt'], { name: 'Verifications_createdAt' });
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('Verifications', 'Verifications_createdAt');
    await queryInterface.dropTable('IdempotencyKeys');
    await queryInterface.dropTable('OtpSendWindows');
    await queryInterface.removeColumn('Users', 'otpFailureTimes');
    await queryInterface.removeColumn('Users', 'otpSendTimes');
  },
};
