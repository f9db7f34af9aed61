import type { Config, OtpMethod } from '../../config';
import type { Logger } from '../../config/logger';
import { createSinchCircuit } from './sinch.circuit';
import { sinchMayHaveActed } from './sinch.errors';
import { reportRequest, startRequest } from './sinch.requests';
import { reportAnswer, startAnswer } from './sinch.responses';
import { createSinchTransport } from './sinch.transport';
import type {
  ReportOutcome,
  SinchCallObserver,
  SinchClient,
  SinchContext,
  StartRequest,
  StartResult,
} from './sinch.types';

export type {
  CircuitInfo,
  ReportOutcome,
  SinchCallObserver,
  SinchClient,
  SinchOperation,
  StartRequest,
  StartResult,
} from './sinch.types';
export { SinchTransportError, sinchMayHaveActed } from './sinch.errors';
export { formatExpiry, startRequest } from './sinch.requests';

/**
 * The Sinch Verification client: one axios instance with keep-alive, Basic or Application-signed
 * authentication, a timeout, a circuit breaker, and translation of every failure into an AppError.
 * It never logs the Authorization header, the secret, the code or a whole axios error.
 */
export function createSinchClient(
  sinch: Config['sinch'],
  logger: Logger,
  observe: SinchCallObserver = () => undefined,
): SinchClient {
  const ctx: SinchContext = { sinch, logger };
  const transport = createSinchTransport(ctx, observe);
  const circuit = createSinchCircuit(ctx);

  function start(request: StartRequest): Promise<StartResult> {
    return circuit.guarded(async () => {
      const { body, headers } = startRequest(request);
      const response = await transport.send('start', 'POST', '/verifications', body, headers);
      return startAnswer(ctx, response);
    });
  }

  function report(sinchId: string, method: OtpMethod, code: string): Promise<ReportOutcome> {
    return circuit.guarded(async () => {
      const { path, body } = reportRequest(sinchId, method, code);
      const response = await transport.send('report', 'PUT', path, body);
      return reportAnswer(ctx, response);
    });
  }

  return {
    start,
    report,
    mayHaveActed: sinchMayHaveActed,
    circuit: () => circuit.info(),
    close: () => transport.close(),
  };
}
