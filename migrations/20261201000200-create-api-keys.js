'use strict';

/**
 * API keys of the server-side API (/api/verifications/*). Only a SHA-256 hash of each key is kept:
 * a leaked table reveals no usable key. `prefix` (the key's first characters) finds the row and
 * identifies the key in listings; the hash is then compared in constant time.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('ApiKeys', {
      id: { type: Sequelize.UUID, primaryKey: true, allowNull: false },
      name: { type: Sequelize.STRING(64), allowNull: false },
      prefix: { type: Sequelize.STRING(16), allowNull: false, unique: true },
      keyHash: { type: Sequelize.STRING(64), allowNull: false },
      lastUsedAt: { type: Sequelize.DATE, allowNull: true },
      revokedAt: { type: Sequelize.DATE, allowNull: true },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      updatedAt: { type: Sequelize.DATE, allowNull: false },
    });
    // `npm run api-key -- revoke <name>` names one key: a name is unique among the keys still in use.
    await queryInterface.addIndex('ApiKeys', ['name'], {
      name: 'ApiKeys_active_name',
      unique: true,
      where: { revokedAt: null },
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('ApiKeys');
  },
};
