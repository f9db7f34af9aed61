// sequelize-cli loads its config file with import(), which TypeScript's require hooks never see.
// This CommonJS shim loads the TypeScript config (src/config/database.ts) through ts-node when it is
// installed (development), and the compiled one (dist/config/database.js, `npm run build`) when not.
const path = require('path');

function load() {
  try {
    require.resolve('ts-node');
  } catch {
    return require(path.resolve(__dirname, '..', '..', 'dist', 'config', 'database.js'));
  }
  require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  return require('./database.ts');
}

module.exports = load();
