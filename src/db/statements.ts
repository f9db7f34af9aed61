import type { Client } from 'pg';
import { DatabaseError, type Sequelize } from 'sequelize';

/** One SQL statement of a hot path, prepared once per connection under its name. */
export interface Statement {
  name: string;
  text: string;
}

export interface Statements {
  /** Runs a statement with bound values on a connection from Sequelize's pool; resolves its rows. */
  run<T>(statement: Statement, values: unknown[]): Promise<T[]>;
}

interface ConnectionManager {
  getConnection(options?: { type?: 'read' | 'write' }): Promise<Client>;
  releaseConnection(connection: Client): void;
}

/**
 * The hot paths' statements run as named prepared statements on the pg connections of Sequelize's
 * own pool (same pool, same limits, same metrics). Measured under load, Sequelize's query layer and
 * PostgreSQL re-planning each multi-CTE statement on every call cost more CPU than the statement's
 * work; prepared once per connection, PostgreSQL parses and plans them once.
 *
 * `prepared: false` sends them unnamed: for the embedded database, whose socket server multiplexes
 * every client onto ONE session (names would collide), and for poolers that cannot keep them.
 * Errors come out as Sequelize's DatabaseError, like everything else that touches the database.
 */
export function createStatements(sequelize: Sequelize, options: { prepared: boolean }): Statements {
  const manager = sequelize.connectionManager as unknown as ConnectionManager;
  return {
    async run<T>(statement: Statement, values: unknown[]): Promise<T[]> {
      const connection = await manager.getConnection({ type: 'write' });
      try {
        const result = await connection.query<T & Record<string, unknown>>(
          options.prepared ? { name: statement.name, text: statement.text, values } : { text: statement.text, values },
        );
        return result.rows;
      } catch (error) {
        throw error instanceof Error ? new DatabaseError(Object.assign(error, { sql: statement.name })) : error;
      } finally {
        manager.releaseConnection(connection);
      }
    },
  };
}

/** The SQLSTATE of a database error (e.g. '23505', a unique violation) and the constraint it names. */
export function sqlState(error: unknown): { code?: string; constraint?: string } {
  const parent =
    error instanceof DatabaseError ? (error.parent as { code?: unknown; constraint?: unknown }) : undefined;
  return {
    code: typeof parent?.code === 'string' ? parent.code : undefined,
    constraint: typeof parent?.constraint === 'string' ? parent.constraint : undefined,
  };
}
