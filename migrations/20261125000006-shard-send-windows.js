'use strict';

/**
 * The global send ceiling counted every send in ONE row per minute: under load every request-otp
 * queued on that row's lock. Counting in 16 rows per minute (a random one per send) and summing
 * them removes the queue; the ceiling may be overshot by the sends in flight at that instant,
 * which a circuit breaker against SMS pumping can afford.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('OtpSendWindows', 'shard', {
      type: Sequelize.SMALLINT,
      allowNull: false,
      defaultValue: 0,
    });
    await queryInterface.sequelize.query(
      'ALTER TABLE "OtpSendWindows" DROP CONSTRAINT "OtpSendWindows_pkey", ADD PRIMARY KEY ("windowStart", "shard")',
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(`
      CREATE TEMP TABLE merged AS SELECT "windowStart", sum("sends")::int AS "sends" FROM "OtpSendWindows" GROUP BY "windowStart";
      DELETE FROM "OtpSendWindows";
      ALTER TABLE "OtpSendWindows" DROP CONSTRAINT "OtpSendWindows_pkey";
      ALTER TABLE "OtpSendWindows" DROP COLUMN "shard";
      INSERT INTO "OtpSendWindows" SELECT "windowStart", "sends" FROM merged;
      ALTER TABLE "OtpSendWindows" ADD PRIMARY KEY ("windowStart");
      DROP TABLE merged;`);
  },
};
