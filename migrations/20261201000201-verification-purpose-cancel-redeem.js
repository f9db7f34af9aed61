'use strict';

const STATUSES = ['PENDING', 'SUCCESSFUL', 'FAILED', 'EXPIRED', 'ABORTED'];

/**
 * What the integrator's backend needs to know and do about a verification:
 * - purpose: what the code was requested for (signup, password_reset...), echoed in the token, so a
 *   proof made for one action cannot be replayed for another.
 * - CANCELLED: the backend called off a PENDING verification (POST /api/verifications/:id/cancel);
 *   Sinch has no cancel, so this status is ours alone, and verify-otp refuses it without asking Sinch.
 * - tokenRedeemedAt: POST /api/verifications/redeem sets it once, in one conditional UPDATE, which
 *   makes the verification token single-use for backends that want that on top of its short life.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('Verifications', 'purpose', { type: Sequelize.STRING(32), allowNull: true });
    await queryInterface.addColumn('Verifications', 'tokenRedeemedAt', { type: Sequelize.DATE, allowNull: true });
    await queryInterface.removeConstraint('Verifications', 'Verifications_status_check');
    await queryInterface.addConstraint('Verifications', {
      type: 'check',
      fields: ['status'],
      name: 'Verifications_status_check',
      where: { status: [...STATUSES, 'CANCELLED'] },
    });
  },

  async down(queryInterface) {
    // ABORTED is the nearest older status: ended by something other than the code.
    await queryInterface.sequelize.query(
      `UPDATE "Verifications" SET "status" = 'ABORTED' WHERE "status" = 'CANCELLED'`,
    );
    await queryInterface.removeConstraint('Verifications', 'Verifications_status_check');
    await queryInterface.addConstraint('Verifications', {
      type: 'check',
      fields: ['status'],
      name: 'Verifications_status_check',
      where: { status: STATUSES },
    });
    await queryInterface.removeColumn('Verifications', 'tokenRedeemedAt');
    await queryInterface.removeColumn('Verifications', 'purpose');
  },
};
