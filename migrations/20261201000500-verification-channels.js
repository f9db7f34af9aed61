'use strict';

/**
 * A verification keeps its id across resends and fallbacks, each a new Sinch verification:
 * - `locale`: the language Sinch said it used (its Content-Language answer), returned to the client;
 * - `sends`: how many Sinch verifications it has started; numbers each one's Sinch `reference`
 *   (unique per start, as Sinch requires) and lets only the latest resend record its Sinch id;
 * - `fallbackAt`: when the automatic fallback claimed it, so it falls back at most once, on one instance.
 * The partial index serves the sweep for SMS still unreported after OTP_FALLBACK_AFTER_SECONDS.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('Verifications', 'locale', { type: Sequelize.STRING(35), allowNull: true });
    await queryInterface.addColumn('Verifications', 'sends', {
      type: Sequelize.INTEGER,
      allowNull: false,
      defaultValue: 1,
    });
    await queryInterface.addColumn('Verifications', 'fallbackAt', { type: Sequelize.DATE, allowNull: true });
    await queryInterface.sequelize.query(`
      CREATE INDEX "Verifications_awaiting_delivery_report" ON "Verifications" ("expiresAt")
      WHERE "status" = 'PENDING' AND "method" = 'sms' AND "smsDeliveryStatus" IS NULL AND "fallbackAt" IS NULL`);
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('Verifications', 'Verifications_awaiting_delivery_report');
    await queryInterface.removeColumn('Verifications', 'fallbackAt');
    await queryInterface.removeColumn('Verifications', 'sends');
    await queryInterface.removeColumn('Verifications', 'locale');
  },
};
