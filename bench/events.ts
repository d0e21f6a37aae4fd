// npm run bench:events — live progress and the claim with a large table (issue 13's benchmark: its SSE and
// claim-latency parts; bench/storyboards.ts calls these functions too). Real programs: an embedded PostgreSQL (own
// folder) and dist/api.js; SSE clients on real sockets in this process.
//
//   (1) status change → event at an SSE client: p50 / p99 over 300 changes made one at a time, goal p50 <= 20 ms
//   (2) 1,000 open SSE streams: RSS growth of the api process, goal <= 100 MiB (and one LISTEN connection)
//   (3) claim latency (claimPendingTasks, 3 tasks) with an empty table vs 1,000,000 finished rows, goal ratio <= 1.2
//       (two databases on one server, claims alternated between them: load on the machine hits both alike)
//
// BENCH_SCALE=0.1 runs smaller versions (for a quick look; the README's figures use 1).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimPendingTasks, createPool, ensureAccount, findFreePort, finishTask, runMigrations, type Pool } from '../src/db/index.js';
import { openSse, type SseClient } from '../test/support/sse.js';
import { startBenchDatabase } from './programs.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const ACCOUNT = 'b'.repeat(64);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const ms = (n: number) => `${n.toFixed(2)} ms`;
const verdict = (met: boolean) => (met ? 'goal met' : 'GOAL NOT MET');

async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** (1) Each change is an INSERT (a created event) committed on its own; timed until its frame is parsed. */
export async function measureSseLatency(pool: Pool, apiUrl: string, changes: number): Promise<{ p50: number; p99: number; samples: number[] }> {
  const client = openSse(`${apiUrl}/api/events?entityType=bench-sse`);
  await client.status;
  await until('the stream to be ready', () => client.comments.includes('ready'));
  // A first change proves the path works.
  await pool.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('bench-sse', 'warm-up', 'w', '1')`);
  await until('the warm-up event', () => client.frames.length >= 1);
  const samples: number[] = [];
  for (let i = 0; i < changes; i++) {
    const before = client.frames.length;
    let arrived = 0;
    const seen = new Promise<void>((resolve) => {
      client.onFrame = () => {
        arrived = performance.now();
        resolve();
      };
    });
    const start = performance.now();
    await pool.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) VALUES ('bench-sse', $1, 'n', '1')`, [`c-${i}`]);
    await seen;
    if (client.frames.length !== before + 1) {
      throw new Error(`bench: one change must be one event, got ${JSON.stringify(client.frames.slice(before))}`);
    }
    samples.push(arrived - start);
  }
  client.close();
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples };
}

/** (2) RSS of the api before and after `count` open streams (each has its first bytes), and LISTEN connections. */
export async function measureOpenStreams(pool: Pool, apiUrl: string, apiPid: number, count: number) {
  const clients: SseClient[] = [];
  const before = await rssBytes(apiPid);
  for (let i = 0; i < count; i++) clients.push(openSse(`${apiUrl}/api/events?entityType=bench-streams&entityId=${i % 50}`));
  await Promise.all(clients.map((c) => c.status));
  await until('every stream to be ready', () => clients.every((c) => c.comments.includes('ready')));
  await pool.query(`INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id) SELECT 'bench-streams', g::text, 'n', '1' FROM generate_series(0, 49) g`);
  await until('every stream to get its event', () => clients.every((c) => c.frames.length === 1));
  const after = await rssBytes(apiPid);
  const listening = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'LISTEN task_events%'`);
  clients.forEach((c) => c.close());
  return { beforeBytes: before, afterBytes: after, growthBytes: after - before, listenConnections: listening.rows[0]!.n };
}

/** One claim of 3 due tasks, timed; the tasks are then finished (their slots given back), untimed. */
async function timeOneClaim(pool: Pool): Promise<number> {
  await pool.query(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, created_at)
     SELECT 'bench-claim', 'r' || g, 'n', '1', clock_timestamp() FROM generate_series(1, 3) g`,
  );
  const start = performance.now();
  const claimed = await claimPendingTasks(pool, { account: ACCOUNT, processorId: 'bench', limit: 3, leaseMs: 60_000 });
  const elapsed = performance.now() - start;
  if (claimed.length !== 3) throw new Error(`bench: claimed ${claimed.length} of 3`);
  for (const task of claimed) await finishTask(pool, { taskId: task.id, claimToken: task.claimToken }, { status: 'SUCCESS', outputs: [] });
  return elapsed;
}

/**
 * (3) Claims on two databases of the same server, one nearly empty and one with the finished rows,
 * alternated round by round so that the machine's load (other work on a shared box) hits both alike.
 */
export async function measureClaimLatency(empty: Pool, full: Pool, rounds: number) {
  await ensureAccount(empty, ACCOUNT, 3);
  await ensureAccount(full, ACCOUNT, 3);
  const emptySamples: number[] = [];
  const fullSamples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    emptySamples.push(await timeOneClaim(empty));
    fullSamples.push(await timeOneClaim(full));
  }
  const stats = (samples: number[]) => {
    const sorted = samples.sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  return { empty: stats(emptySamples), full: stats(fullSamples) };
}

/** Finished rows as retention would find them, written without the event trigger (a bulk load, not history). */
export async function insertFinishedRows(pool: Pool, count: number): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    for (let done = 0; done < count; done += 100_000) {
      await client.query(
        `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, status, attempts, outputs, created_at, submitted_at, finished_at)
         SELECT 'bench-old', 'o' || g, 'Shot ' || g, '1904136902449209346', 'SUCCESS', 1, '[]'::jsonb,
                now() - interval '30 days' + g * interval '1 ms', now() - interval '30 days', now() - interval '29 days' + g * interval '1 ms'
           FROM generate_series($1::int + 1, $1::int + least(100000, $2::int - $1::int)) g`,
        [done, count],
      );
    }
    await client.query(`SET session_replication_role = origin`);
    await client.query('VACUUM ANALYZE ai_tasks');
  } finally {
    client.release();
  }
}

/**
 * (3) whole: two fresh databases on the server of `serverUrl` (one left empty, one loaded with `rows`
 * finished rows), claims alternated between them, both dropped afterwards.
 */
export async function measureClaimLatencyVsFinishedRows(serverUrl: string, rows: number, rounds: number) {
  const admin = createPool({ connectionString: serverUrl, applicationName: 'bench-claims-admin', max: 1 });
  const pools: Pool[] = [];
  const names = ['bench_claim_empty', 'bench_claim_full'];
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      // Loading a million rows takes longer than the default 10 s statement timeout.
      const pool = createPool({ connectionString: url.toString(), applicationName: `bench-${name}`, max: 2, statementTimeoutMillis: 600_000 });
      pools.push(pool);
      await runMigrations(pool);
    }
    const loadStart = performance.now();
    await insertFinishedRows(pools[1]!, rows);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const { empty, full } = await measureClaimLatency(pools[0]!, pools[1]!, rounds);
    return { rows, rounds, loadSeconds, empty, full, ratio: full.p50 / empty.p50 };
  } finally {
    await Promise.all(pools.map((pool) => pool.end()));
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const { pg, pool, stop: stopDatabase } = await startBenchDatabase('events');
  let api: ChildProcess | undefined;
  try {
    const port = await findFreePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    api = spawn(process.execPath, [path.join(ROOT, 'dist', 'api.js')], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', DATABASE_URL: pg.url, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await until('the API to be ready', async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.ok);

    const changes = Math.max(20, Math.round(300 * SCALE));
    const latency = await measureSseLatency(pool, apiUrl, changes);
    console.log(`(1) status change -> SSE event at the client, ${changes} changes: p50 ${ms(latency.p50)}, p99 ${ms(latency.p99)} (goal p50 <= 20 ms: ${verdict(latency.p50 <= 20)})`);

    const streams = Math.max(100, Math.round(1000 * SCALE));
    const open = await measureOpenStreams(pool, apiUrl, api.pid!, streams);
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      `(2) ${streams} open streams: api RSS ${mib(open.beforeBytes)} -> ${mib(open.afterBytes)}, growth ${mib(open.growthBytes)} (goal <= 100 MiB: ${verdict(open.growthBytes <= 100 * 1024 * 1024)}); LISTEN connections: ${open.listenConnections}`,
    );

    const claims = await measureClaimLatencyVsFinishedRows(pg.url, Math.round(1_000_000 * SCALE), Math.max(100, Math.round(500 * SCALE)));
    const { rows, rounds, empty, full, ratio } = claims;
    console.log(`    (${rows.toLocaleString('en')} finished rows loaded in ${claims.loadSeconds.toFixed(1)} s)`);
    console.log(
      `(3) claim latency, ${rounds} claims of 3: empty table p50 ${ms(empty.p50)} p99 ${ms(empty.p99)}; with ${rows.toLocaleString('en')} finished rows p50 ${ms(full.p50)} p99 ${ms(full.p99)}; ratio of p50 ${ratio.toFixed(2)} (goal <= 1.2: ${verdict(ratio <= 1.2)})`,
    );
  } finally {
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api!.once('exit', resolve));
      api.kill('SIGTERM');
      await exited;
    }
    await stopDatabase();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
