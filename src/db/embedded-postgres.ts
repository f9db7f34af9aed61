import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * Sized for one developer's database rather than PostgreSQL's server defaults (128MB of shared buffers,
 * 16MB WAL segments). On a fresh data directory PGlite runs initdb, whose backends set up the buffers
 * again and again, then copies the new directory out as a tar image: with these settings that first
 * start took a fifth less CPU here (9 s instead of 11 s); a restart costs the same either way. The
 * server gets the buffer size too, so data directories made before run with the same settings.
 */
const SERVER_SETTINGS = ['-c', 'shared_buffers=16MB'];
const INITDB_SETTINGS = [...SERVER_SETTINGS, '--wal-segsize=1'];

export interface EmbeddedPostgres {
  host: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Real PostgreSQL compiled to WASM (PGlite), served on a loopback port so Sequelize and `pg`
 * talk to it exactly as to a server. `dataDir` persists across restarts; 'memory://' does not.
 * PGlite has one real connection: the socket server multiplexes clients and keeps a client's
 * transaction together, which is why the pool in front of it should stay small.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { maxConnections?: number; port?: number } = {},
): Promise<EmbeddedPostgres> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, {
    startParams: [...PGlite.defaultStartParams, ...SERVER_SETTINGS],
    initDbStartParams: INITDB_SETTINGS,
  });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 16,
  });
  await server.start();
  const [host = '127.0.0.1', port = '0'] = server.getServerConn().split(':');
  return {
    host,
    port: Number(port),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
