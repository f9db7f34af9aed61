/**
 * What sequelize-cli reads (wired by .sequelizerc): the same validated DATABASE_URL / DB_* settings
 * the service uses, so `npm run db:migrate` migrates exactly the database the service talks to.
 */
import { config as loadDotenv } from 'dotenv';
import { loadDatabaseConfig } from './index';
import { sequelizeOptions } from '../db/sequelize';

loadDotenv({ quiet: true });
const database = loadDatabaseConfig(process.env);

if (database.mode === 'embedded') {
  throw new Error(
    'npm run db:migrate needs a PostgreSQL server: set DATABASE_URL (or DB_HOST and friends). ' +
      'Without one, `npm start` uses the embedded database and applies migrations by itself.',
  );
}

export = { ...sequelizeOptions(database), logging: false };
