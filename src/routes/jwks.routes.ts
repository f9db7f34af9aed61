import { z } from 'zod';
import { JWKS_MAX_AGE_SECONDS, jwksController } from '../controllers/jwks.controller';
import type { VerificationTokenService } from '../services/verification-token.service';
import { EXAMPLE } from '../validations/api.validation';
import { jwks } from '../validations/server-api.validation';
import { json, PUBLIC, STRAY_BODY_ERRORS, type Route } from './route-table';

/** GET /.well-known/jwks.json: the public keys backends check verification tokens against. */
export function jwksRoutes(tokens: VerificationTokenService): Route[] {
  const controller = jwksController(tokens);
  return [
    {
      method: 'get',
      path: '/.well-known/jwks.json',
      operationId: 'jwks',
      tag: 'Verification tokens',
      summary: "The public keys of verify-otp's verification tokens (JWK Set)",
      description: [
        "Your backend checks a `verificationToken` against these keys with any JOSE library (Node: jose's `createRemoteJWKSet` + `jwtVerify`; Python: PyJWT's `PyJWKClient`), together with `iss`, `aud` (when the server sets VERIFICATION_TOKEN_AUDIENCE), `exp` and the `purpose` claim. See docs/integrating.md.",
        '',
        "- The set holds the current key, then any previous keys still listed for rotation; a token's `kid` names its key (RFC 7638 thumbprint).",
        `- Cacheable for ${JWKS_MAX_AGE_SECONDS} s; refetch when a token names a kid the cached set lacks.`,
        '- Served bare (RFC 7517), not in the success envelope. Answers 404 when the server runs with VERIFICATION_TOKENS=off.',
      ].join('\n'),
      security: PUBLIC,
      responses: {
        200: {
          description: 'The key set.',
          headers: {
            'Cache-Control': z
              .literal(`public, max-age=${JWKS_MAX_AGE_SECONDS}`)
              .meta({ description: 'How long a verifier may cache the set.' }),
          },
          content: json(jwks, { current: { summary: 'One Ed25519 key', value: { keys: [EXAMPLE.signingKey] } } }),
        },
      },
      errors: [...STRAY_BODY_ERRORS, 'INTERNAL_ERROR'],
      handlers: [controller.keys],
    },
  ];
}
