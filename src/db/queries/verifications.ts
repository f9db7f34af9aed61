import type { VerificationStatus } from '../../models';
import type { Statement, Statements } from '../statements';

/** A verification as the server-side API reports it. */
export interface VerificationRecord {
  id: string;
  phoneNumber: string;
  method: string;
  purpose: string | null;
  status: VerificationStatus;
  attempts: number;
  createdAt: Date;
  expiresAt: Date;
  verifiedAt: Date | null;
  smsDeliveryStatus: 'DELIVERED' | 'FAILED' | null;
  tokenRedeemedAt: Date | null;
}

const COLUMNS = `"id", "phoneNumber", "method", "purpose", "status", "attempts", "createdAt", "expiresAt", "verifiedAt", "smsDeliveryStatus", "tokenRedeemedAt"`;

const FIND_BY_ID: Statement = {
  name: 'server_verification_find_v1',
  text: `SELECT ${COLUMNS} FROM "Verifications" WHERE "id" = $1`,
};

/**
 * Cancels a PENDING verification and returns the row as it now is, in one round trip: the
 * cancelled row, or (nothing to cancel) the row as it was. `cancelled` says which.
 */
const CANCEL: Statement = {
  name: 'server_verification_cancel_v1',
  text: `WITH cancelled AS (
     UPDATE "Verifications" SET "status" = 'CANCELLED', "updatedAt" = $2
     WHERE "id" = $1 AND "status" = 'PENDING'
     RETURNING ${COLUMNS}
   )
   SELECT *, true AS "cancelled" FROM cancelled
   UNION ALL
   SELECT ${COLUMNS}, false AS "cancelled" FROM "Verifications"
   WHERE "id" = $1 AND NOT EXISTS (SELECT 1 FROM cancelled)`,
};

/**
 * Marks a SUCCESSFUL verification's token redeemed, once. Parallel redeems of one token queue on
 * the row lock; PostgreSQL re-checks "tokenRedeemedAt" IS NULL on the row the winner left, so
 * exactly one UPDATE matches. `found` tells a lost race (409) from a verification that is gone.
 */
const REDEEM: Statement = {
  name: 'server_verification_redeem_v1',
  text: `WITH redeemed AS (
     UPDATE "Verifications" SET "tokenRedeemedAt" = $3, "updatedAt" = $3
     WHERE "id" = $1 AND "phoneNumber" = $2 AND "status" = 'SUCCESSFUL' AND "tokenRedeemedAt" IS NULL
     RETURNING 1
   )
   SELECT EXISTS (SELECT 1 FROM redeemed) AS "redeemed",
     EXISTS (SELECT 1 FROM "Verifications" WHERE "id" = $1 AND "phoneNumber" = $2 AND "status" = 'SUCCESSFUL') AS "found"`,
};

export interface VerificationQueries {
  findById(id: string): Promise<VerificationRecord | undefined>;
  /** Cancels the verification if PENDING; the row as it now is (or undefined), and whether this call cancelled it. */
  cancel(id: string, now: Date): Promise<{ record: VerificationRecord; cancelled: boolean } | undefined>;
  /** 'redeemed' the first time; 'already_redeemed' after; 'not_found' when no SUCCESSFUL verification matches. */
  redeemToken(id: string, phoneNumber: string, now: Date): Promise<'redeemed' | 'already_redeemed' | 'not_found'>;
}

/** What the server-side API reads and writes of the Verifications table. */
export function verificationQueries(statements: Statements): VerificationQueries {
  return {
    async findById(id) {
      const [row] = await statements.run<VerificationRecord>(FIND_BY_ID, [id]);
      return row;
    },

    async cancel(id, now) {
      const [row] = await statements.run<VerificationRecord & { cancelled: boolean }>(CANCEL, [id, now]);
      if (!row) return undefined;
      const { cancelled, ...record } = row;
      return { record, cancelled };
    },

    async redeemToken(id, phoneNumber, now) {
      const [row] = await statements.run<{ redeemed: boolean; found: boolean }>(REDEEM, [id, phoneNumber, now]);
      if (row?.redeemed) return 'redeemed';
      return row?.found ? 'already_redeemed' : 'not_found';
    },
  };
}
