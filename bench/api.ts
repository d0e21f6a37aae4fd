// npm run bench:api — POST /api/tasks through the real API against plain INSERTs through pg,
// same PostgreSQL, same table, same concurrency. Not part of `npm test`.
//
//   npm run bench:api -- [--duration 10] [--connections 50] [--ephemeral]
//
// The API runs as its own process (as in production), from source through tsx, so a broken
// build of another program does not stop the benchmark.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createPool, findFreePort, runMigrations, startEmbeddedPostgres } from '../src/db/index.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    'pool-size': { type: 'string', default: '20' },
    ephemeral: { type: 'boolean', default: false },
  },
});
const durationS = Number(args.duration);
const connections = Number(args.connections);
const poolSize = Number(args['pool-size']);
const GOAL = 0.7;

const body = {
  entityType: 'shot',
  entityId: 'bench',
  entityName: 'Benchmark shot',
  workflowId: '1904136902449209346',
  nodeInfoList: [
    { nodeId: '6', fieldName: 'text', fieldValue: 'a harbour at dawn, cinematic lighting' },
    { nodeId: '3', fieldName: 'seed', fieldValue: '1234567' },
  ],
};

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const root = path.resolve(import.meta.dirname, '..');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'storyboard-bench-api-'));
  await chmod(tmp, 0o755);
  const server = await startEmbeddedPostgres({ dataDir: path.join(tmp, 'data'), ephemeral: args.ephemeral });
  const pool = createPool({ connectionString: server.url, applicationName: 'bench-baseline', max: poolSize });
  await runMigrations(pool);
  const apiPort = await findFreePort();
  const api = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/api/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: server.url,
      PORT: String(apiPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_POOL_SIZE: String(poolSize),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const apiExited = new Promise<void>((resolve) => api.once('exit', () => resolve()));
  try {
    await waitForReady(`http://127.0.0.1:${apiPort}/readyz`);

    // Baseline: `connections` loops, each INSERTing as fast as the pool lets it.
    const insert = `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, webapp_id, node_info_list,
        priority, max_attempts) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) RETURNING id`;
    const values = [body.entityType, body.entityId, body.entityName, body.workflowId, null, JSON.stringify(body.nodeInfoList), 0, 3];
    const runBaseline = async (seconds: number): Promise<{ rps: number; p50: number; p99: number; count: number }> => {
      const latencies: number[] = [];
      const until = performance.now() + seconds * 1000;
      await Promise.all(
        Array.from({ length: connections }, async () => {
          while (performance.now() < until) {
            const started = performance.now();
            await pool.query(insert, values);
            latencies.push(performance.now() - started);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), count: latencies.length };
    };
    const runApi = (seconds: number) =>
      autocannon({
        url: `http://127.0.0.1:${apiPort}/api/tasks`,
        method: 'POST',
        connections,
        duration: seconds,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    console.log(
      `warming up (2 s each), then ${durationS} s of each side in the order baseline, API, API, baseline ` +
        `(${connections} concurrent, pool ${poolSize}, ${args.ephemeral ? 'fsync off' : 'durable commits'})`,
    );
    await runBaseline(2);
    await runApi(2);
    // ABBA order: a drift of the shared machine's load (or of the table's size) hits both sides alike.
    const half = durationS / 2;
    const b1 = await runBaseline(half);
    const a1 = await runApi(half);
    const a2 = await runApi(half);
    const b2 = await runBaseline(half);
    const baseline = {
      rps: (b1.count + b2.count) / (2 * half),
      p50: (b1.p50 + b2.p50) / 2,
      p99: Math.max(b1.p99, b2.p99),
      count: b1.count + b2.count,
    };
    const apiTotal = a1.requests.total + a2.requests.total;
    const apiRps = apiTotal / (a1.duration + a2.duration);
    const result = {
      p50: (a1.latency.p50 + a2.latency.p50) / 2,
      p99: Math.max(a1.latency.p99, a2.latency.p99),
      errors: a1.errors + a2.errors,
      timeouts: a1.timeouts + a2.timeouts,
      non2xx: a1.non2xx + a2.non2xx,
    };
    const ratio = apiRps / baseline.rps;
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ai_tasks');

    const fmt = (n: number) => n.toFixed(1);
    console.log('');
    console.log(`                      requests/s    p50 ms    p99 ms   count   (per half: requests/s)`);
    console.log(
      `baseline pg INSERT   ${fmt(baseline.rps).padStart(10)} ${fmt(baseline.p50).padStart(9)} ${fmt(baseline.p99).padStart(9)}   ${baseline.count}   ${fmt(b1.rps)} / ${fmt(b2.rps)}`,
    );
    console.log(
      `API POST /api/tasks  ${fmt(apiRps).padStart(10)} ${fmt(result.p50).padStart(9)} ${fmt(result.p99).padStart(9)}   ${apiTotal}   ${fmt(a1.requests.total / a1.duration)} / ${fmt(a2.requests.total / a2.duration)}`,
    );
    console.log(`ratio API/baseline   ${ratio.toFixed(2)}  (goal >= ${GOAL}: ${ratio >= GOAL ? 'met' : 'MISSED'})`);
    console.log(`API errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}; rows in ai_tasks ${rows[0]!.n}`);
    console.log(
      JSON.stringify({
        bench: 'api',
        connections,
        durationS,
        poolSize,
        ephemeral: args.ephemeral,
        baseline: { rps: baseline.rps, p50Ms: baseline.p50, p99Ms: baseline.p99 },
        api: { rps: apiRps, p50Ms: result.p50, p99Ms: result.p99, errors: result.errors, non2xx: result.non2xx },
        ratio,
      }),
    );
    if (result.errors > 0 || result.non2xx > 0) process.exitCode = 1;
  } finally {
    api.kill('SIGTERM');
    await apiExited;
    await pool.end();
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

async function waitForReady(url: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`the API did not become ready at ${url}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

await main();
