import type { Request, Response } from 'express';
import type { VerificationTokenService } from '../services/verification-token.service';

/**
 * How long verifiers may cache the key set. Short enough that a rotation reaches them well within a
 * token's lifetime (the previous key stays listed for that long); jose and most JWKS clients also
 * refetch at once when a token names a kid they have not seen.
 */
export const JWKS_MAX_AGE_SECONDS = 300;

export function jwksController(tokens: VerificationTokenService) {
  return {
    /** The bare JWK Set (RFC 7517), not the envelope: JOSE libraries read it as is. */
    keys: (_req: Request, res: Response): void => {
      res.setHeader('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      res.json(tokens.jwks());
    },
  };
}
