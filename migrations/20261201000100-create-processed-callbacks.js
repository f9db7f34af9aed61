'use strict';

/**
 * The callbacks this service already acted on, shared by every instance: a signed Sinch callback
 * replayed (or retried) within the memory window is acknowledged and changes nothing. The key is a
 * SHA-256 of what the callback reports, so the table holds no phone number and no Sinch payload.
 * Rows past expiresAt are deleted by the retention purge.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('ProcessedCallbacks', {
      key: { type: Sequelize.STRING(64), primaryKey: true, allowNull: false },
      expiresAt: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('ProcessedCallbacks', ['expiresAt'], { name: 'ProcessedCallbacks_expiresAt' });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('ProcessedCallbacks');
  },
};
