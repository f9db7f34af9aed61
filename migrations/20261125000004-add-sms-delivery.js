'use strict';

/**
 * Sinch's VerificationSmsDeliveredEvent tells whether the SMS reached the handset; support staff
 * need it to answer "I never got the code".
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('Verifications', 'smsDeliveryStatus', {
      type: Sequelize.STRING(16),
      allowNull: true,
    });
    await queryInterface.addColumn('Verifications', 'smsDeliveryReportedAt', { type: Sequelize.DATE, allowNull: true });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('Verifications', 'smsDeliveryReportedAt');
    await queryInterface.removeColumn('Verifications', 'smsDeliveryStatus');
  },
};
