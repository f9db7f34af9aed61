import type { healthController } from '../controllers/health.controller';
import { RESPONSE_HEADERS } from '../validations/api.validation';
import { healthDown, healthReady, liveness, type Health } from '../validations/health.validation';
import { json, PUBLIC, STRAY_BODY_ERRORS, type Route } from './route-table';

const health = <S extends Health['status']>(status: S, checks: Health['checks']) => ({
  status,
  timestamp: '2026-11-25T18:00:00.000Z',
  uptimeSeconds: 3600,
  checks,
});

export function healthRoutes(controller: ReturnType<typeof healthController>): Route[] {
  return [
    {
      method: 'get',
      path: '/health',
      operationId: 'health',
      tag: 'Health',
      summary: 'Readiness: can this instance serve requests?',
      description:
        "Route traffic on this. 200 when the database answers within 2 s: `status` is `UP`, or `DEGRADED` when an optional dependency is not (the Sinch circuit breaker is open or probing, or Redis is away and per-IP limits are counted per instance). 503 with `status: DOWN` when a critical dependency (the database) fails. `checks` gives each dependency's state; `details` the particulars some of them report.",
      security: PUBLIC,
      responses: {
        200: {
          description: 'Ready (`UP`), possibly with an optional dependency failing (`DEGRADED`).',
          content: json(healthReady, {
            up: { summary: 'All up', value: health('UP', { database: 'UP', sinch: 'UP' }) },
            degraded: {
              summary: 'Sinch circuit open',
              value: {
                ...health('DEGRADED', { database: 'UP', sinch: 'DOWN' }),
                details: { sinch: { circuit: 'open', retryAt: '2026-11-25T18:00:30.000Z' } },
              },
            },
          }),
        },
        503: {
          description:
            'Not ready: a critical check is DOWN (note: this body is the health object, not the error envelope).',
          headers: { 'Retry-After': RESPONSE_HEADERS.retryAfter },
          content: json(healthDown, { down: { value: health('DOWN', { database: 'DOWN', sinch: 'UP' }) } }),
        },
      },
      errors: [...STRAY_BODY_ERRORS, 'INTERNAL_ERROR'],
      handlers: [controller.ready],
    },
    {
      method: 'get',
      path: '/health/live',
      operationId: 'liveness',
      tag: 'Health',
      summary: 'Liveness: is the process running?',
      description:
        'Always 200 while the process runs; checks nothing else. Use it to decide restarts, not routing (that is `/health`).',
      security: PUBLIC,
      responses: {
        200: {
          description: 'The process runs.',
          content: json(liveness, { up: { value: { status: 'UP', timestamp: '2026-11-25T18:00:00.000Z' } } }),
        },
      },
      errors: [...STRAY_BODY_ERRORS, 'INTERNAL_ERROR'],
      handlers: [controller.live],
    },
  ];
}
