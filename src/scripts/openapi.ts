/**
 * Prints the OpenAPI document that a zero-config instance serves at /api/openapi.json: with the
 * built-in emulator and metrics, so every route is in it. `npm run lint:openapi` lints this output.
 * Nothing outside the process is contacted: the database is never queried, the emulator and the
 * app listen on 127.0.0.1 only for the one request.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Sequelize } from 'sequelize';
import { createApp } from '../app';
import { loadConfig } from '../config';
import { createLogger } from '../config/logger';
import { createSinchEmulator } from '../emulator/sinch-emulator';
import { createMetrics } from '../observability/metrics';
import { createServices } from '../services';

async function main(): Promise<void> {
  const config = loadConfig({});
  const logger = createLogger({ level: 'error', format: 'json', silent: true });
  // Never queried: building the app only keeps a reference.
  const sequelize = new Sequelize('postgres://127.0.0.1/unused', { logging: false });
  const emulator = await createSinchEmulator({ applicationKey: 'openapi', applicationSecret: 'b3BlbmFwaQ==' });
  const metrics = createMetrics({ defaultMetrics: false });
  const services = createServices({ config, logger, sequelize, metrics });
  const app = createApp({
    config,
    logger,
    sequelize,
    verifications: services.verifications,
    sinchEvents: services.sinchEvents,
    metrics,
    emulator,
  });
  const server = app.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/openapi.json`);
    if (!res.ok) throw new Error(`GET /api/openapi.json answered ${res.status}`);
    process.stdout.write(`${JSON.stringify(await res.json(), null, 2)}\n`);
  } finally {
    server.close();
    server.closeAllConnections();
    services.sinch.close();
    await Promise.all([emulator.close(), sequelize.close()]);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
