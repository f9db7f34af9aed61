import { z } from 'zod';
import { metricsController } from '../controllers/metrics.controller';
import type { Metrics } from '../observability/metrics';
import { STRAY_BODY_ERRORS, type Route } from './route-table';

export function metricsRoutes(metrics: Metrics, token: string | undefined): Route[] {
  const controller = metricsController(metrics, token);
  return [
    {
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      tag: 'Operations',
      summary: 'Prometheus metrics',
      description:
        'Metrics in the Prometheus text exposition format. When the server sets METRICS_TOKEN, send `Authorization: Bearer <METRICS_TOKEN>`; without METRICS_TOKEN the route is open, so expose it only on an internal network.',
      security: [{}, { metricsBearer: [] }],
      responses: {
        200: {
          description: 'The metrics.',
          content: {
            'text/plain': {
              schema: z.string(),
              examples: {
                sample: {
                  value:
                    '# HELP otp_requests_total Codes requested.\n# TYPE otp_requests_total counter\notp_requests_total 42\n',
                },
              },
            },
          },
        },
      },
      errors: [
        ...STRAY_BODY_ERRORS,
        {
          code: 'UNAUTHORIZED',
          when: 'METRICS_TOKEN is set and the `Authorization: Bearer` token is missing or wrong.',
          headers: { 'WWW-Authenticate': z.literal('Bearer').meta({ description: 'The scheme to use: `Bearer`.' }) },
        },
        'INTERNAL_ERROR',
      ],
      handlers: [controller.scrape],
    },
  ];
}
