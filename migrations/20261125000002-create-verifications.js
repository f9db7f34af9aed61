'use strict';

/** @type {import('sequelize-cli').Migration} */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('Verifications', {
      id: { type: Sequelize.UUID, primaryKey: true, allowNull: false },
      // Rows are written only after Sinch accepted the start, so every row has Sinch's id.
      sinchVerificationId: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      phoneNumber: { type: Sequelize.STRING(16), allowNull: false },
      method: { type: Sequelize.STRING(16), allowNull: false, defaultValue: 'sms' },
      status: { type: Sequelize.STRING(16), allowNull: false, defaultValue: 'PENDING' },
      attempts: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      expiresAt: { type: Sequelize.DATE, allowNull: false },
      verifiedAt: { type: Sequelize.DATE, allowNull: true },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      updatedAt: { type: Sequelize.DATE, allowNull: false },
    });
    // A CHECK instead of a PostgreSQL ENUM: adding a status later is a one-line migration.
    await queryInterface.addConstraint('Verifications', {
      type: 'check',
      fields: ['status'],
      name: 'Verifications_status_check',
      where: { status: ['PENDING', 'SUCCESSFUL', 'FAILED', 'EXPIRED', 'ABORTED'] },
    });
    await queryInterface.addConstraint('Verifications', {
      type: 'check',
      fields: ['attempts'],
      name: 'Verifications_attempts_check',
      where: { attempts: { [Sequelize.Op.gte]: 0 } },
    });
    // Serves "latest verification for this number" and the per-number history.
    await queryInterface.addIndex('Verifications', ['phoneNumber', 'createdAt'], {
      name: 'Verifications_phoneNumber_createdAt',
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('Verifications');
  },
};
