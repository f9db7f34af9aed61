import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

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
  const db = await PGlite.create(dataDir);
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
