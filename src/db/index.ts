// Public surface of the database component. Other components import from here only.
export { createPool, type PoolSettings, type Pool, type PoolClient } from './pool.js';
export { runMigrations, loadMigrations, MIGRATIONS_DIR, type Migration } from './migrate.js';
export { startEmbeddedPostgres, findFreePort, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded.js';
