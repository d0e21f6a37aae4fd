// `storyboard` (dist/storyboard.js; `storyboard` on PATH in the image, `npx storyboard` / `npm run stats`
// in a checkout): operator commands. `storyboard stats [--json]` prints the queue statistics.
// DATABASE_URL names the database; without it, the embedded PostgreSQL of `npm start`.
import { z } from 'zod';
import { createPool } from '../db/index.js';
import { envInt, envPostgresUrl, parseEnv } from '../shared/env.js';
import { describeFailure, runProgram } from '../shared/program.js';
import { formatQueueStats, readQueueStats } from './index.js';

const USAGE = `usage: storyboard stats [--json]

  stats     queue statistics: tasks by status, oldest PENDING, throughput, failures by code,
            processors and their heartbeats, RunningHub slots in use
  --json    the same as one JSON object

DATABASE_URL selects the database (default: npm start's embedded PostgreSQL on EMBEDDED_DATABASE_PORT, 5433).
`;

const envSchema = z.object({
  DATABASE_URL: envPostgresUrl().optional(),
  EMBEDDED_DATABASE_PORT: envInt(1, 65_535).default(5433),
});

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [command, ...options] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    if (command === undefined) process.exitCode = 2;
    return;
  }
  const unknown = options.filter((option) => option !== '--json');
  if (command !== 'stats' || unknown.length > 0) {
    process.stderr.write(`storyboard: unknown ${command !== 'stats' ? `command ${command}` : `option ${unknown[0]}`}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const env = parseEnv(envSchema);
  const url = env.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${env.EMBEDDED_DATABASE_PORT}/postgres`;
  const pool = createPool({ connectionString: url, applicationName: 'storyboard stats', max: 3, connectionTimeoutMillis: 5_000, statementTimeoutMillis: 10_000 });
  try {
    const stats = await readQueueStats(pool);
    process.stdout.write(options.includes('--json') ? `${JSON.stringify(stats, null, 2)}\n` : formatQueueStats(stats));
  } catch (error) {
    const where = new URL(url);
    process.stderr.write(`storyboard stats: cannot query the database ${where.host}${where.pathname}: ${describeFailure(error)}\n`);
    process.exitCode = 1;
  } finally {
    await pool.end();
  }
}

runProgram('storyboard', main);
