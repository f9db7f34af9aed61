'use strict';

/**
 * At most one PENDING verification per number, enforced by the database. A new code aborts the
 * older one in the same statement that inserts it; two parallel requests for one number cannot
 * both stay PENDING (the second waits on the first's index entry and retries), and no
 * transaction or row lock is needed on the hot path.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(`
      UPDATE "Verifications" v SET "status" = 'ABORTED'
      WHERE v."status" = 'PENDING' AND EXISTS (
        SELECT 1 FROM "Verifications" newer
        WHERE newer."phoneNumber" = v."phoneNumber" AND newer."status" = 'PENDING' AND newer."createdAt" > v."createdAt")`);
    await queryInterface.addIndex('Verifications', ['phoneNumber'], {
      name: 'Verifications_one_pending_per_number',
      unique: true,
      where: { status: 'PENDING' },
    });
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('Verifications', 'Verifications_one_pending_per_number');
  },
};
