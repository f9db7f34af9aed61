import type { OtpMethod } from '../../config';
import type { VerificationStatus } from '../../models';
import { sqlState, type Statement, type Statements } from '../statements';
import { claimedCte } from './processed-callbacks';
import { chargeFailure, failureBudgetOpensAt, lockUser, markVerified, markVerifiedIf, refundFailure } from './users';
import { isoTimestamp, outboxCte } from './webhook-outbox';

/**
 * The only writer of "Verifications". The request and verify paths run prepared SQL through
 * Sequelize's pool (src/db/statements.ts), each a single statement so that no transaction is held
 * across a Sinch call; statements that also touch "Users" compose that module's fragments.
 */

export interface VerificationRow {
  id: string;
  sinchVerificationId: string;
  phoneNumber: string;
  /** How the current code went out; a resend or fallback changes it. */
  method: OtpMethod;
  /** The language Sinch said it used for the current code; null when it named none. */
  locale: string | null;
  status: VerificationStatus;
  /** One of OTP_PURPOSES, or null when request-otp named none. */
  purpose: string | null;
  attempts: number;
  expiresAt: Date;
  verifiedAt: Date | null;
  createdAt: Date;
}

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

/** What claiming an attempt found and took. */
export interface AttemptClaim {
  /** The verification the code is for; undefined when none matches. */
  target?: VerificationRow;
  /** Whether one failure was charged to the number's budget (it had room, and the target could take a code). */
  charged: boolean;
  /** The attempt count after this claim, or null when no attempt was taken. */
  attempts: number | null;
  /** When the number's failure budget opens again, if it is closed. */
  budgetOpensAt?: Date;
}

/**
 * Inserts the new PENDING verification and aborts the number's older one (Sinch aborts it too).
 * The partial unique index allows one PENDING row per number, so a racing insert waits and fails.
 * Records verification.requested when webhooks are on ($7). $8 is the purpose, $9 the language Sinch said it used.
 */
const ACTIVATE: Statement = {
  name: 'otp_activate_v4',
  text: `WITH aborted AS (
     UPDATE "Verifications" SET "status" = 'ABORTED', "updatedAt" = $5
     WHERE "phoneNumber" = $3 AND "status" = 'PENDING'
     RETURNING 1
   ), created AS (
     INSERT INTO "Verifications" ("id", "sinchVerificationId", "phoneNumber", "method", "status", "attempts", "expiresAt", "createdAt", "updatedAt", "purpose", "locale")
     SELECT $1, $2, $3, $6, 'PENDING', 0, $4, $5, $5, $8, $9 FROM (SELECT count(*) FROM aborted) AS after_abort
     RETURNING *
   ), ${outboxCte({
     name: 'requested_event',
     type: 'verification.requested',
     source: 'created',
     occurredAt: '$5',
     enabled: '$7',
     extra: { expiresAt: isoTimestamp('s."expiresAt"') },
   })}
   SELECT (SELECT count(*) FROM aborted)::int AS "aborted", (SELECT count(*) FROM created)::int AS "created"`,
};

const COLUMNS = `"id", "sinchVerificationId", "phoneNumber", "method", "locale", "status", "purpose", "attempts", "expiresAt", "verifiedAt", "createdAt"`;

/** By our id; a given number ($2) must match it, so an id cannot be spent with another number. */
const BY_ID = `SELECT ${COLUMNS} FROM "Verifications"
     WHERE "id" = $1::uuid AND ($2::varchar IS NULL OR "phoneNumber" = $2::varchar)`;

/**
 * The number's latest ($1 is NULL). Codes requested within one millisecond share createdAt: among
 * those the PENDING one is the newest (inserting it aborted the others) and an ABORTED one never is.
 */
const LATEST_FOR_NUMBER = `SELECT ${COLUMNS} FROM "Verifications"
     WHERE $1::uuid IS NULL AND "phoneNumber" = $2::varchar
     ORDER BY "createdAt" DESC, ("status" = 'PENDING') DESC, ("status" = 'ABORTED') ASC
     LIMIT 1`;

/**
 * Finds the verification a code is for and, if it can take one, charges one failure to the number's
 * budget and one attempt to the verification, atomically and before Sinch hears the code: parallel
 * guesses each take a slot or are refused here. Locks Users before Verifications, like every
 * statement here, so they never deadlock. Also says when a closed failure budget opens again.
 * A verification that could take the code but finds the budget spent gets verification.failed
 * (once: the outbox keeps one per verification) when webhooks are on ($6).
 */
function claimStatement(name: string, target: string): Statement {
  const canTakeCode = `"status" = 'PENDING' AND "attempts" < $5 AND "expiresAt" > $3`;
  return {
    name,
    text: `WITH target AS (${target}), charge AS (
     ${chargeFailure({
       phoneNumber: '(SELECT "phoneNumber" FROM target)',
       now: '$3',
       max: '$4',
       condition: `EXISTS (SELECT 1 FROM target WHERE ${canTakeCode})`,
     })}
   ), attempt AS (
     UPDATE "Verifications" SET "attempts" = "attempts" + 1, "updatedAt" = $3
     WHERE "id" = (SELECT "id" FROM target) AND ${canTakeCode} AND EXISTS (SELECT 1 FROM charge)
     RETURNING "attempts"
   ), budget_spent AS (
     SELECT * FROM "Verifications"
     WHERE "id" = (SELECT "id" FROM target) AND ${canTakeCode} AND NOT EXISTS (SELECT 1 FROM charge)
   ), ${outboxCte({
     name: 'budget_event',
     type: 'verification.failed',
     source: 'budget_spent',
     occurredAt: '$3',
     enabled: '$6',
     extra: { reason: `'failure_budget_exhausted'`, attempts: 's."attempts"' },
   })}
   SELECT target.*, EXISTS (SELECT 1 FROM charge) AS "charged", (SELECT "attempts" FROM attempt) AS "claimedAttempts",
     (SELECT ${failureBudgetOpensAt('"otpFailureTimes"', '$4', '$3')} FROM "Users"
       WHERE "Users"."phoneNumber" = target."phoneNumber") AS "budgetOpensAt"
   FROM (SELECT 1) AS one LEFT JOIN target ON true`,
  };
}

const CLAIM_BY_ID = claimStatement('otp_claim_by_id_v3', BY_ID);
const CLAIM_LATEST = claimStatement('otp_claim_latest_v3', LATEST_FOR_NUMBER);
const FIND_BY_ID: Statement = { name: 'otp_find_by_id_v2', text: BY_ID };

/**
 * Moves a verification out of PENDING, refunding the charged failure ($4) when the code was not judged
 * wrong. Only while it still holds the Sinch verification ($8) that was judged: Sinch's answer about a
 * code a resend replaced says nothing about the new one. A move to FAILED records verification.failed
 * with reason $6 when webhooks are on ($7).
 */
const SETTLE: Statement = {
  name: 'otp_settle_v4',
  text: `WITH refunded AS (${refundFailure('$2', '$4')}), settled AS (
     UPDATE "Verifications" SET "status" = $3::varchar, "updatedAt" = $5
     WHERE "id" = $1 AND "status" = 'PENDING' AND "sinchVerificationId" = $8 AND (SELECT count(*) FROM refunded) >= 0
     RETURNING *
   ), ${outboxCte({
     name: 'failed_event',
     type: 'verification.failed',
     source: 'settled',
     occurredAt: '$5',
     enabled: '$7',
     when: `s."status" = 'FAILED'`,
     extra: { reason: '$6::text', attempts: 's."attempts"' },
   })}
   SELECT count(*)::int AS "settled" FROM settled`,
};

/**
 * Marks the verification SUCCESSFUL and the user verified; the failure charged at $3 is refunded.
 * Records verification.succeeded when webhooks are on ($4). A verification the integrator's backend
 * cancelled while Sinch was judging the code stays CANCELLED ("succeeded" 0): the backend's decision
 * wins, though the number did prove itself.
 */
const SUCCEED: Statement = {
  name: 'otp_succeed_v4',
  text: `WITH verified_user AS (${markVerified('$2', '$3')}), succeeded AS (
     UPDATE "Verifications" SET "status" = 'SUCCESSFUL', "verifiedAt" = $3, "updatedAt" = $3
     WHERE "id" = $1 AND "status" <> 'CANCELLED' AND (SELECT count(*) FROM verified_user) >= 0
     RETURNING *
   ), ${outboxCte({
     name: 'succeeded_event',
     type: 'verification.succeeded',
     source: 'succeeded',
     occurredAt: '$3',
     enabled: '$4',
     extra: { verifiedAt: isoTimestamp('s."verifiedAt"'), attempts: 's."attempts"' },
   })}
   SELECT count(*)::int AS "succeeded" FROM succeeded`,
};

/** Gives an attempt back when Sinch certainly never judged the code. */
const RETURN_ATTEMPT: Statement = {
  name: 'otp_return_attempt_v1',
  text: `UPDATE "Verifications" SET "attempts" = "attempts" - 1 WHERE "id" = $1 AND "attempts" > 0`,
};

/**
 * Claims a callback's memory key ($4, until $5), then moves a PENDING verification to Sinch's final
 * status and, on success, marks the user verified: one statement, so the claim and the change
 * commit together and a replayed callback changes nothing. The user row is locked before the
 * verification row, like every statement that touches both. A move to SUCCESSFUL or FAILED
 * records verification.succeeded or .failed when webhooks are on ($6).
 * $1 Sinch id, $2 our status, $3 now.
 */
const APPLY_RESULT: Statement = {
  name: 'otp_apply_result_v3',
  text: `WITH ${claimedCte({ key: '$4', expiresAt: '$5', now: '$3' })},
   target AS (
     SELECT "phoneNumber" FROM "Verifications"
     WHERE "sinchVerificationId" = $1 AND "status" = 'PENDING' AND EXISTS (SELECT 1 FROM claimed)
   ), locked_user AS (${lockUser('(SELECT "phoneNumber" FROM target)')}),
   moved AS (
     UPDATE "Verifications"
     SET "status" = $2::varchar, "updatedAt" = $3,
       "verifiedAt" = CASE WHEN $2::varchar = 'SUCCESSFUL' THEN $3::timestamptz ELSE "verifiedAt" END
     WHERE "sinchVerificationId" = $1 AND "status" = 'PENDING' AND EXISTS (SELECT 1 FROM claimed)
       AND (SELECT count(*) FROM locked_user) >= 0
     RETURNING *
   ), verified_user AS (${markVerifiedIf('(SELECT "phoneNumber" FROM moved)', '$3', "$2::varchar = 'SUCCESSFUL'")}),
   ${outboxCte({
     name: 'succeeded_event',
     type: 'verification.succeeded',
     source: 'moved',
     occurredAt: '$3',
     enabled: '$6',
     when: `s."status" = 'SUCCESSFUL'`,
     extra: { verifiedAt: isoTimestamp('s."verifiedAt"'), attempts: 's."attempts"' },
   })}, ${outboxCte({
     name: 'failed_event',
     type: 'verification.failed',
     source: 'moved',
     occurredAt: '$3',
     enabled: '$6',
     when: `s."status" = 'FAILED'`,
     extra: { reason: `'ended_by_provider'`, attempts: 's."attempts"' },
   })}
   SELECT EXISTS (SELECT 1 FROM claimed) AS "first", EXISTS (SELECT 1 FROM moved) AS "applied"`,
};

/**
 * Claims the delivery report's memory key ($4, until $5), then records the result unless it is
 * already the recorded one, with verification.delivery when webhooks are on ($6).
 * $1 Sinch id, $2 DELIVERED | FAILED, $3 now.
 */
const RECORD_DELIVERY: Statement = {
  name: 'otp_record_delivery_v3',
  text: `WITH ${claimedCte({ key: '$4', expiresAt: '$5', now: '$3' })},
   recorded AS (
     UPDATE "Verifications" SET "smsDeliveryStatus" = $2, "smsDeliveryReportedAt" = $3, "updatedAt" = $3
     WHERE "sinchVerificationId" = $1 AND "smsDeliveryStatus" IS DISTINCT FROM $2 AND EXISTS (SELECT 1 FROM claimed)
     RETURNING *
   ), ${outboxCte({
     name: 'delivery_event',
     type: 'verification.delivery',
     source: 'recorded',
     occurredAt: '$3',
     enabled: '$6',
     extra: {
       smsDeliveryStatus: 's."smsDeliveryStatus"',
       smsDeliveryReportedAt: isoTimestamp('s."smsDeliveryReportedAt"'),
     },
   })}
   SELECT EXISTS (SELECT 1 FROM claimed) AS "first", EXISTS (SELECT 1 FROM recorded) AS "applied"`,
};

/**
 * Takes the next send number of a verification that can still take a code, for a resend. Answers the
 * row as it was (to explain a refusal) and the number taken (null when it could not take one).
 * $1 our id, $2 now.
 */
const CLAIM_RESEND: Statement = {
  name: 'otp_claim_resend_v1',
  text: `WITH target AS (SELECT ${COLUMNS} FROM "Verifications" WHERE "id" = $1::uuid), claimed AS (
     UPDATE "Verifications" SET "sends" = "sends" + 1
     WHERE "id" = $1::uuid AND "status" = 'PENDING' AND "expiresAt" > $2
     RETURNING "sends"
   )
   SELECT target.*, (SELECT "sends" FROM claimed) AS "claimedSend" FROM target`,
};

/** The conditions under which an SMS may still fall back to another method (once, while it can take a code). */
const CAN_FALL_BACK = `"status" = 'PENDING' AND "method" = 'sms' AND "fallbackAt" IS NULL AND "expiresAt" > $1`;

/** Claims the fallback of the verification whose SMS ($2, Sinch's id) failed. $1 now. */
const CLAIM_FALLBACK: Statement = {
  name: 'otp_claim_fallback_v1',
  text: `UPDATE "Verifications" SET "fallbackAt" = $1, "sends" = "sends" + 1, "updatedAt" = $1
   WHERE "sinchVerificationId" = $2 AND ${CAN_FALL_BACK}
   RETURNING ${COLUMNS}, "sends" AS "claimedSend"`,
};

/**
 * Claims up to $4 fallbacks of SMS with no delivery report that went out before $2 (their
 * expiresAt, which is always sent + OTP_TTL_SECONDS, is at most $2), leaving out the test numbers
 * ($3, never reported). SKIP LOCKED: instances sweeping at once each claim different rows. $1 now.
 */
const CLAIM_OVERDUE_FALLBACKS: Statement = {
  name: 'otp_claim_overdue_fallbacks_v1',
  text: `UPDATE "Verifications" SET "fallbackAt" = $1, "sends" = "sends" + 1, "updatedAt" = $1
   WHERE "id" IN (
     SELECT "id" FROM "Verifications"
     WHERE ${CAN_FALL_BACK} AND "smsDeliveryStatus" IS NULL AND "expiresAt" <= $2 AND NOT ("phoneNumber" = ANY($3::varchar[]))
     ORDER BY "expiresAt" LIMIT $4 FOR UPDATE SKIP LOCKED
   ) AND ${CAN_FALL_BACK} AND "smsDeliveryStatus" IS NULL
   RETURNING ${COLUMNS}, "sends" AS "claimedSend"`,
};

/**
 * Points a verification at the Sinch verification of its send number $2, with a fresh attempt count
 * and expiry; only if no later send was claimed meanwhile and it can still take a code. Records
 * verification.resent (why: $8, resend or fallback) when webhooks are on ($9).
 * $1 our id, $3 Sinch id, $4 method, $5 locale, $6 expiresAt, $7 now.
 */
const REPLACE_SEND: Statement = {
  name: 'otp_replace_send_v2',
  text: `WITH replaced AS (
     UPDATE "Verifications"
     SET "sinchVerificationId" = $3, "method" = $4, "locale" = $5, "attempts" = 0, "expiresAt" = $6,
       "smsDeliveryStatus" = NULL, "smsDeliveryReportedAt" = NULL, "updatedAt" = $7
     WHERE "id" = $1 AND "sends" = $2 AND "status" = 'PENDING'
     RETURNING *
   ), ${outboxCte({
     name: 'resent_event',
     type: 'verification.resent',
     source: 'replaced',
     occurredAt: '$7',
     enabled: '$9',
     extra: { expiresAt: isoTimestamp('s."expiresAt"'), locale: 's."locale"', reason: '$8::text' },
   })}
   SELECT count(*)::int AS "replaced" FROM replaced`,
};

/** A verification claimed for a resend or a fallback, and the send number it took. */
export interface SendClaim {
  target: VerificationRow;
  send: number;
}

/** A new Sinch verification for an existing verification (a resend or a fallback). */
export interface ReplacedSend {
  id: string;
  send: number;
  /** Asked for (resend-otp) or started by the service after an SMS failed (fallback). */
  why: 'resend' | 'fallback';
  sinchId: string;
  method: OtpMethod;
  locale?: string;
  expiresAt: Date;
  now: Date;
}

/** A callback applied at most once: `first` is false for a copy already processed. */
export interface CallbackOutcome {
  first: boolean;
  applied: boolean;
}

/** Where the memory of a processed callback is kept, and until when. */
export interface CallbackMemory {
  key: string;
  expiresAt: Date;
}

/** One batch of the retention purge ($1 cutoff, $2 batch size): verifications created before the cutoff. */
export const PURGE_OLD_VERIFICATIONS = `DELETE FROM "Verifications" WHERE "id" IN (
     SELECT "id" FROM "Verifications" WHERE "createdAt" < $1 ORDER BY "createdAt" LIMIT $2 FOR UPDATE SKIP LOCKED
   ) RETURNING 1`;

export interface NewVerification {
  id: string;
  sinchId: string;
  phoneNumber: string;
  method: OtpMethod;
  /** The language Sinch said it used. */
  locale?: string;
  purpose: string | null;
  expiresAt: Date;
  now: Date;
}

/** Starting a verification and its later sends (resend, fallback): the request side. */
export interface SendQueries {
  /** Inserts the new PENDING verification, aborting the number's older one; resolves how many were aborted. */
  activate(v: NewVerification, retries: number): Promise<number>;
  /** The verification as it was and, when it can still take a code, the next send number. */
  claimResend(verificationId: string, now: Date): Promise<{ target?: VerificationRow; send: number | null }>;
  /** Claims the one fallback of the verification whose SMS (Sinch's id) failed; undefined when it has none left. */
  claimFallback(sinchId: string, now: Date): Promise<SendClaim | undefined>;
  /** Claims up to `limit` fallbacks of SMS sent before `sentBefore` that have no delivery report. */
  claimOverdueFallbacks(
    now: Date,
    sentBefore: Date,
    ttlSeconds: number,
    excluded: readonly string[],
    limit: number,
  ): Promise<SendClaim[]>;
  /** Records a resend's or fallback's Sinch verification; false when a later send or the end of the verification came first. */
  replaceSend(send: ReplacedSend): Promise<boolean>;
}

/** Checking a code: claim an attempt, then settle it. */
export interface AttemptQueries {
  /** By `verificationId` (and the number, when given), or the number's latest when no id is given. */
  claimAttempt(
    key: { verificationId?: string; phoneNumber?: string },
    now: Date,
    limits: { maxFailuresPerHour: number; maxAttempts: number },
  ): Promise<AttemptClaim>;
  findById(verificationId: string): Promise<VerificationRow | undefined>;
  /** `failedBecause` is the webhook's reason when `status` is FAILED. */
  settle(
    v: VerificationRow,
    status: VerificationStatus,
    refundChargedAt: Date | undefined,
    at: Date,
    failedBecause?: 'attempts_exhausted' | 'ended_by_provider',
  ): Promise<void>;
  /** False when the verification was cancelled meanwhile (it then stays CANCELLED). */
  succeed(v: VerificationRow, at: Date): Promise<boolean>;
  returnAttempt(verificationId: string): Promise<void>;
}

/** Sinch's callbacks, each applied once. */
export interface CallbackQueries {
  /** Applies Sinch's final status to a PENDING verification, once per callback memory key. */
  applyResult(sinchId: string, status: VerificationStatus, at: Date, memory: CallbackMemory): Promise<CallbackOutcome>;
  /** Records whether the SMS reached the handset, once per callback memory key. */
  recordDelivery(sinchId: string, delivered: boolean, at: Date, memory: CallbackMemory): Promise<CallbackOutcome>;
}

/** What the server-side API reads and changes. */
export interface ReportQueries {
  /** The server-side API's view of a verification. */
  findReport(verificationId: string): Promise<VerificationRecord | undefined>;
  /** Cancels the verification if PENDING; the row as it now is (or undefined), and whether this call cancelled it. */
  cancel(verificationId: string, at: Date): Promise<{ record: VerificationRecord; cancelled: boolean } | undefined>;
  /** 'redeemed' the first time; 'already_redeemed' after; 'not_found' when no SUCCESSFUL verification matches. */
  redeemToken(
    verificationId: string,
    phoneNumber: string,
    at: Date,
  ): Promise<'redeemed' | 'already_redeemed' | 'not_found'>;
}

/** Every statement on "Verifications", in the four groups above. */
export type VerificationQueries = SendQueries & AttemptQueries & CallbackQueries & ReportQueries;

const REPORT_COLUMNS = `"id", "phoneNumber", "method", "purpose", "status", "attempts", "createdAt", "expiresAt", "verifiedAt", "smsDeliveryStatus", "tokenRedeemedAt"`;

/** A verification for the server-side API. */
const REPORT: Statement = {
  name: 'server_verification_report_v1',
  text: `SELECT ${REPORT_COLUMNS} FROM "Verifications" WHERE "id" = $1`,
};

/**
 * Cancels a PENDING verification and returns the row as it now is, in one round trip: the
 * cancelled row, or (nothing to cancel) the row as it was. `cancelled` says which. Records
 * verification.cancelled when webhooks are on ($3).
 */
const CANCEL: Statement = {
  name: 'server_verification_cancel_v2',
  text: `WITH cancelled AS (
     UPDATE "Verifications" SET "status" = 'CANCELLED', "updatedAt" = $2
     WHERE "id" = $1 AND "status" = 'PENDING'
     RETURNING ${REPORT_COLUMNS}
   ), ${outboxCte({ name: 'cancelled_event', type: 'verification.cancelled', source: 'cancelled', occurredAt: '$2', enabled: '$3' })}
   SELECT *, true AS "cancelled" FROM cancelled
   UNION ALL
   SELECT ${REPORT_COLUMNS}, false AS "cancelled" FROM "Verifications"
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

/** `webhooks`: record webhook events with the changes that cause them (config.webhooks.enabled). */
export function verificationQueries(statements: Statements, options: { webhooks?: boolean } = {}): VerificationQueries {
  const webhooks = options.webhooks === true;
  return {
    ...sendQueries(statements, webhooks),
    ...attemptQueries(statements, webhooks),
    ...callbackQueries(statements, webhooks),
    ...reportQueries(statements, webhooks),
  };
}

function sendQueries(statements: Statements, webhooks: boolean): SendQueries {
  return {
    activate: (v, retries) => activate(statements, webhooks, v, retries),

    async claimResend(verificationId, now) {
      const [row] = await statements.run<VerificationRow & { claimedSend: number | null }>(CLAIM_RESEND, [
        verificationId,
        now,
      ]);
      if (!row) return { send: null };
      const { claimedSend, ...target } = row;
      return { target, send: claimedSend };
    },

    async claimFallback(sinchId, now) {
      const [row] = await statements.run<VerificationRow & { claimedSend: number }>(CLAIM_FALLBACK, [now, sinchId]);
      return row && sendClaim(row);
    },

    async claimOverdueFallbacks(now, sentBefore, ttlSeconds, excluded, limit) {
      const rows = await statements.run<VerificationRow & { claimedSend: number }>(CLAIM_OVERDUE_FALLBACKS, [
        now,
        new Date(sentBefore.getTime() + ttlSeconds * 1000),
        [...excluded],
        limit,
      ]);
      return rows.map(sendClaim);
    },

    async replaceSend(send) {
      const [row] = await statements.run<{ replaced: number }>(REPLACE_SEND, [
        send.id,
        send.send,
        send.sinchId,
        send.method,
        send.locale ?? null,
        send.expiresAt,
        send.now,
        send.why,
        webhooks,
      ]);
      return (row?.replaced ?? 0) > 0;
    },
  };
}

function attemptQueries(statements: Statements, webhooks: boolean): AttemptQueries {
  return {
    async claimAttempt(key, now, limits) {
      const [row] = await statements.run<
        Partial<VerificationRow> & { charged: boolean; claimedAttempts: number | null; budgetOpensAt: Date | null }
      >(key.verificationId ? CLAIM_BY_ID : CLAIM_LATEST, [
        key.verificationId ?? null,
        key.phoneNumber ?? null,
        now,
        limits.maxFailuresPerHour,
        limits.maxAttempts,
        webhooks,
      ]);
      return {
        target: row?.id ? (row as VerificationRow) : undefined,
        charged: row?.charged === true,
        attempts: row?.claimedAttempts ?? null,
        budgetOpensAt: row?.budgetOpensAt ? new Date(row.budgetOpensAt) : undefined,
      };
    },

    async findById(verificationId) {
      const [row] = await statements.run<VerificationRow>(FIND_BY_ID, [verificationId, null]);
      return row;
    },

    async settle(v, status, refundChargedAt, at, failedBecause) {
      await statements.run(SETTLE, [
        v.id,
        v.phoneNumber,
        status,
        refundChargedAt ?? null,
        at,
        failedBecause ?? null,
        webhooks,
        v.sinchVerificationId,
      ]);
    },

    async succeed(v, at) {
      const [row] = await statements.run<{ succeeded: number }>(SUCCEED, [v.id, v.phoneNumber, at, webhooks]);
      return (row?.succeeded ?? 0) > 0;
    },

    async returnAttempt(verificationId) {
      await statements.run(RETURN_ATTEMPT, [verificationId]);
    },
  };
}

function callbackQueries(statements: Statements, webhooks: boolean): CallbackQueries {
  return {
    async applyResult(sinchId, status, at, memory) {
      const [row] = await statements.run<CallbackOutcome>(APPLY_RESULT, [
        sinchId,
        status,
        at,
        memory.key,
        memory.expiresAt,
        webhooks,
      ]);
      return { first: row?.first === true, applied: row?.applied === true };
    },

    async recordDelivery(sinchId, delivered, at, memory) {
      const [row] = await statements.run<CallbackOutcome>(RECORD_DELIVERY, [
        sinchId,
        delivered ? 'DELIVERED' : 'FAILED',
        at,
        memory.key,
        memory.expiresAt,
        webhooks,
      ]);
      return { first: row?.first === true, applied: row?.applied === true };
    },
  };
}

function reportQueries(statements: Statements, webhooks: boolean): ReportQueries {
  return {
    async findReport(verificationId) {
      const [row] = await statements.run<VerificationRecord>(REPORT, [verificationId]);
      return row;
    },

    async cancel(verificationId, at) {
      const [row] = await statements.run<VerificationRecord & { cancelled: boolean }>(CANCEL, [
        verificationId,
        at,
        webhooks,
      ]);
      if (!row) return undefined;
      const { cancelled, ...record } = row;
      return { record, cancelled };
    },

    async redeemToken(verificationId, phoneNumber, at) {
      const [row] = await statements.run<{ redeemed: boolean; found: boolean }>(REDEEM, [
        verificationId,
        phoneNumber,
        at,
      ]);
      if (row?.redeemed) return 'redeemed';
      return row?.found ? 'already_redeemed' : 'not_found';
    },
  };
}

/** SendQueries.activate; a lost race on the one-PENDING index is retried up to `retries` times. */
async function activate(
  statements: Statements,
  webhooks: boolean,
  v: NewVerification,
  retries: number,
): Promise<number> {
  try {
    const [row] = await statements.run<{ aborted: number }>(ACTIVATE, [
      v.id,
      v.sinchId,
      v.phoneNumber,
      v.expiresAt,
      v.now,
      v.method,
      webhooks,
      v.purpose,
      v.locale ?? null,
    ]);
    return row?.aborted ?? 0;
  } catch (error) {
    // Each lost race on the one-PENDING index means another request's row was committed meanwhile.
    const { code, constraint } = sqlState(error);
    if (retries > 0 && code === '23505' && constraint === 'Verifications_one_pending_per_number') {
      return activate(statements, webhooks, v, retries - 1);
    }
    throw error;
  }
}

function sendClaim({ claimedSend, ...target }: VerificationRow & { claimedSend: number }): SendClaim {
  return { target, send: claimedSend };
}
