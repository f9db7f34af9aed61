import { z } from 'zod';

const state = z.enum(['UP', 'DOWN', 'DEGRADED']);

const health = z.strictObject({
  status: state,
  timestamp: z.iso.datetime(),
  uptimeSeconds: z.int().min(0),
  checks: z
    .object({ database: state })
    .catchall(state)
    .meta({ description: "Each check's state; `database` is always present." }),
  details: z
    .record(z.string(), z.record(z.string(), z.unknown()))
    .optional()
    .meta({ description: 'Particulars of checks that report them (e.g. when an open circuit will be probed).' }),
});
export type Health = z.infer<typeof health>;

/** GET /health when it can serve: `UP`, or `DEGRADED` when an optional dependency is not. */
export const healthReady = health.extend({ status: z.enum(['UP', 'DEGRADED']) });
/** GET /health when a critical dependency is down (this body, not the error envelope). */
export const healthDown = health.extend({ status: z.literal('DOWN') });

export const liveness = z.strictObject({ status: z.literal('UP'), timestamp: z.iso.datetime() });
export type Liveness = z.infer<typeof liveness>;
