/**
 * Sinch's status and reason of a verification (reference §5), in this service's words. The one
 * mapping, read by the report answer (sinch.responses.ts) and the result callback (sinch-events.service.ts).
 */
export type SinchVerdict =
  | { result: 'PENDING' }
  | { result: 'SUCCESSFUL' }
  /** FAIL "Invalid code": a wrong code. */
  | { result: 'INVALID_CODE' }
  /** FAIL "Expired". */
  | { result: 'EXPIRED' }
  /** Superseded by a newer verification to the same number. */
  | { result: 'ABORTED' }
  /** DENIED, ERROR or a FAIL for another reason: the verification cannot succeed any more. */
  | { result: 'REJECTED'; status: string; reason?: string };

/** The verdict for a status and reason as Sinch sends them (any case); undefined for a status Sinch never documented. */
export function verdictOf(status: unknown, reason: unknown): SinchVerdict | undefined {
  const why = typeof reason === 'string' ? reason : undefined;
  const name = typeof status === 'string' ? status.toUpperCase() : undefined;
  switch (name) {
    case 'PENDING':
      return { result: 'PENDING' };
    case 'SUCCESSFUL':
      return { result: 'SUCCESSFUL' };
    case 'FAIL':
      if (why?.toLowerCase() === 'invalid code') return { result: 'INVALID_CODE' };
      if (why?.toLowerCase() === 'expired') return { result: 'EXPIRED' };
      return { result: 'REJECTED', status: name, reason: why };
    case 'ABORTED':
      return { result: 'ABORTED' };
    case 'DENIED':
    case 'ERROR':
      return { result: 'REJECTED', status: name, reason: why };
    default:
      return undefined;
  }
}
