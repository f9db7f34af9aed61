'use strict';

/**
 * A verification keeps its id across resends and fallbacks, each a new Sinch verification:
 * - `locale`: the language Sinch said it used (its Content-Language answer), returned to the client;
 * - `sends`: how many Sinch verifications it has started; numbers each one's Sinch `reference`
 *   (unique per start, as Sinch requires) and lets only the latest resend record its Sinch id;
 * - `fallbackAt`: when the automatic fallback claimed it, so it falls back at most once, on one instance.
 * The partial index serves the sweep for SMS still unreported after OTP_FALLBACK_AFTER_SECONDS.
 * A verification may be resent several times, each with its verification.resent webhook event: that
 * type joins verification.delivery outside the once-per-verification index of the outbox.
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
    await replaceOncePerVerificationIndex(queryInterface, `'verification.delivery', 'verification.resent'`);
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(`DELETE FROM "WebhookEvents" WHERE "type" = 'verification.resent'`);
    await replaceOncePerVerificationIndex(queryInterface, `'verification.delivery'`);
    await queryInterface.removeIndex('Verifications', 'Verifications_awaiting_delivery_report');
    await queryInterface.removeColumn('Verifications', 'fallbackAt');
    await queryInterface.removeColumn('Verifications', 'sends');
    await queryInterface.removeColumn('Verifications', 'locale');
  },
};

/** The outbox's one-event-per-verification index, for every type but the repeatable ones. */
async function replaceOncePerVerificationIndex(queryInterface, repeatable) {
  await queryInterface.sequelize.query(`DROP INDEX IF EXISTS "WebhookEvents_once_per_verification"`);
  await queryInterface.sequelize.query(
    `CREATE UNIQUE INDEX "WebhookEvents_once_per_verification" ON "WebhookEvents" ("type", ("data" ->> 'verificationId'))
     WHERE "type" NOT IN (${repeatable})`,
  );
}
