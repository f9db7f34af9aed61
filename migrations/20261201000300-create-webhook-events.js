'use strict';

/**
 * The transactional outbox of signed webhooks (docs/webhooks.md). A state change and the event
 * that reports it are written by one statement, so an event is never lost and never invented;
 * a worker then delivers each row at least once. The row id is the `webhook-id` header, stable
 * across retries, so receivers can deduplicate.
 *
 * Scheduling columns ("nextAttemptAt", "createdAt") hold the DATABASE's clock (now()), which every
 * instance shares; "occurredAt" is the moment of the state change, as the service saw it.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('WebhookEvents', {
      id: { type: Sequelize.UUID, primaryKey: true, allowNull: false },
      type: { type: Sequelize.STRING(64), allowNull: false },
      // The body's "data" object: never a code, only what docs/webhooks.md lists.
      data: { type: Sequelize.JSONB, allowNull: false },
      occurredAt: { type: Sequelize.DATE, allowNull: false },
      status: { type: Sequelize.STRING(16), allowNull: false, defaultValue: 'PENDING' },
      // Attempts started so far; an attempt is claimed (and counted) before it is sent.
      attempts: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      // When the next attempt is due; while an attempt runs, when its lease ends.
      nextAttemptAt: { type: Sequelize.DATE, allowNull: false, defaultValue: Sequelize.literal('now()') },
      // "HTTP 503", "timeout", "ECONNREFUSED"...: never the receiver's body.
      lastError: { type: Sequelize.STRING(200), allowNull: true },
      deliveredAt: { type: Sequelize.DATE, allowNull: true },
      createdAt: { type: Sequelize.DATE, allowNull: false, defaultValue: Sequelize.literal('now()') },
      updatedAt: { type: Sequelize.DATE, allowNull: false, defaultValue: Sequelize.literal('now()') },
    });
    await queryInterface.addConstraint('WebhookEvents', {
      type: 'check',
      fields: ['status'],
      name: 'WebhookEvents_status_check',
      where: { status: ['PENDING', 'DELIVERED', 'FAILED'] },
    });
    // The worker's claim reads only due PENDING rows: this index stays as small as the backlog.
    await queryInterface.addIndex('WebhookEvents', ['nextAttemptAt'], {
      name: 'WebhookEvents_pending_due',
      where: { status: 'PENDING' },
    });
    // A verification is requested, succeeds, fails or is cancelled once: a repeated or concurrent
    // statement (a refused attempt per guess, a replayed Sinch callback) records that event once.
    // The outbox CTE inserts with ON CONFLICT DO NOTHING. Delivery reports may change, so they are exempt.
    await queryInterface.sequelize.query(
      `CREATE UNIQUE INDEX "WebhookEvents_once_per_verification" ON "WebhookEvents" ("type", ("data" ->> 'verificationId'))
       WHERE "type" <> 'verification.delivery'`,
    );
    // Listing and replaying failed events, and the retention purge of old ones.
    await queryInterface.addIndex('WebhookEvents', ['status', 'createdAt'], { name: 'WebhookEvents_status_createdAt' });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('WebhookEvents');
  },
};
