// npm run bench:storyboards — storyboards against the RunningHub simulator, 3 slots, tasks of T = 1 s,
// with webhooks on. Real programs: PostgreSQL (embedded, own folder), dist/api.js, dist/task-processor.js
// (production settings); the simulator runs in this process over real HTTP.
//
//   (1) fairness: a 200-shot storyboard, then a 5-shot one 1 s later (POST /api/storyboards): the small
//       one's completion time after its submission, goal <= 4 T. The same shots sent as lone tasks
//       (POST /api/tasks) are claimed in strict age order: what that gives is printed beside it.
//   (2) slot utilisation over the storyboard run = busy slot time / (3 x makespan), goal >= 0.97
//   (3) SSE: status change -> event at the client (goal p50 <= 20 ms), and 1,000 open streams (RSS growth <= 100 MiB)
//   (4) claim latency, empty table vs 1,000,000 finished rows, goal ratio <= 1.2 (both from bench/events.ts)
//
// BENCH_SCALE=0.2 runs a smaller large storyboard (40 shots) and fewer finished rows for a quick look; the report uses 1.
import os from 'node:os';
import path from 'node:path';
import { findFreePort, type Pool } from '../src/db/index.js';
import { startSimulator, type RunningSimulator } from '../src/runninghub/simulator/index.js';

import { measureClaimLatencyVsFinishedRows, measureOpenStreams, measureSseLatency } from './events.js';
import { children, startBenchDatabase, startProgram, stopProgram, until } from './programs.js';

type SimTask = ReturnType<RunningSimulator['tasks']>[number];

const API_KEY = 'bench-storyboards-key';
const SECRET = 'bench-webhook-secret-0123456789';
const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const T_MS = 1000;
const LARGE = Math.max(10, Math.round(200 * SCALE));
const SMALL = 5;
const WORKFLOW = '1904136902449209346';

const shot = (label: string, i: number) => ({ nodeInfoList: [{ nodeId: '6', fieldName: 'text', fieldValue: `${label} frame ${i}` }] });

async function post(url: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { id: string };
}

async function postStoryboard(apiUrl: string, name: string, shots: number): Promise<string> {
  const made = await post(`${apiUrl}/api/storyboards`, {
    name,
    entityType: 'project',
    entityId: name,
    workflowId: WORKFLOW,
    shots: Array.from({ length: shots }, (_, i) => shot(name, i)),
  });
  return made.id;
}

/** When the last of these tasks finished, by the database's clock, in epoch ms (undefined while one is unfinished). */
async function lastFinish(pool: Pool, where: string, param: unknown): Promise<number | undefined> {
  const { rows } = await pool.query<{ unfinished: number; last: string | null }>(
    `SELECT count(*) FILTER (WHERE finished_at IS NULL)::int AS unfinished,
            (extract(epoch FROM max(finished_at)) * 1000)::float8::text AS last
       FROM ai_tasks WHERE ${where}`,
    [param],
  );
  const row = rows[0]!;
  return row.unfinished === 0 && row.last !== null ? Number(row.last) : undefined;
}

/** Busy slot time / (3 x makespan) over the simulator's tasks, and the gap from a slot freed to the next create. */
function utilisationOf(tasks: SimTask[]): { utilisation: number; makespanMs: number; slotGapMs: { p50: number; p90: number; max: number } } {
  const firstCreate = Math.min(...tasks.map((t) => t.createdAt));
  const lastEnd = Math.max(...tasks.map((t) => t.endedAt ?? 0));
  const busy = tasks.reduce((sum, t) => sum + ((t.endedAt ?? lastEnd) - t.createdAt), 0);
  const makespan = lastEnd - firstCreate;
  const ends = tasks.map((t) => t.endedAt ?? lastEnd).sort((x, y) => x - y);
  const creates = tasks.map((t) => t.createdAt).sort((x, y) => x - y);
  const gaps = creates.slice(3).map((c, k) => c - ends[k]!).sort((x, y) => x - y);
  const pct = (p: number) => gaps[Math.min(gaps.length - 1, Math.ceil((p / 100) * gaps.length) - 1)] ?? 0;
  return { utilisation: Number((busy / (3 * makespan)).toFixed(4)), makespanMs: makespan, slotGapMs: { p50: pct(50), p90: pct(90), max: gaps.at(-1) ?? 0 } };
}

async function main(): Promise<void> {
  const { dataRoot, pg, pool, stop: stopDatabase } = await startBenchDatabase('storyboards');
  let sim: RunningSimulator | undefined;
  try {
    sim = await startSimulator({
      keys: { [API_KEY]: {} }, // strict, as RunningHub: only this key (802 for any other)
      concurrency: 10, // RunningHub would take more: the limit of 3 has to come from the processor
      queuedMs: [0, 0],
      runningMs: [T_MS, T_MS],
      failureRate: 0,
      webhook: { maxRetries: 3, timeoutMs: 5_000, backoffMs: [200] },
    });
    const apiPort = await findFreePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const api = startProgram('api', { DATABASE_URL: pg.url, PORT: String(apiPort), HOST: '127.0.0.1', RUNNINGHUB_WEBHOOK_SECRET: SECRET });
    await until('the API to be ready', async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.ok, 30_000, 50);
    const processor = startProgram('task-processor', {
      DATABASE_URL: pg.url,
      RUNNINGHUB_BASE_URL: sim.url,
      RUNNINGHUB_API_KEY: API_KEY,
      RUNNINGHUB_WEBHOOK_URL: `${apiUrl}/api/runninghub/webhook`,
      RUNNINGHUB_WEBHOOK_SECRET: SECRET,
      PROCESSOR_ID: 'bench-storyboards',
      TASK_PROCESSOR_LOG_FILE: path.join(dataRoot, 'processor.log'),
    });

    // (1) + (2): fair turns, storyboards.
    const largeId = await postStoryboard(apiUrl, 'large', LARGE);
    await new Promise((r) => setTimeout(r, T_MS));
    const smallSentAt = Date.now();
    const smallId = await postStoryboard(apiUrl, 'small', SMALL);
    const smallDoneAt = await until('the small storyboard to finish', () => lastFinish(pool, 'storyboard_id = $1', smallId), 600_000, 20);
    await until('the large storyboard to finish', () => lastFinish(pool, 'storyboard_id = $1', largeId), 600_000, 20);
    const fairSim = sim.tasks();
    const fair = utilisationOf(fairSim);
    const fairMs = smallDoneAt - smallSentAt;
    const counts = await (await fetch(`${apiUrl}/api/storyboards/${smallId}`)).json() as { status: string; success: number; total: number };
    // Each small shot's claim and end after the small storyboard was sent (database clock).
    const { rows: smallShots } = await pool.query<{ claimed: number; finished: number; attempts: number }>(
      `SELECT round(extract(epoch FROM submitted_at) * 1000 - $2)::int AS claimed, round(extract(epoch FROM finished_at) * 1000 - $2)::int AS finished, attempts
         FROM ai_tasks WHERE storyboard_id = $1 ORDER BY shot_index`,
      [smallId, smallSentAt],
    );
    const largeCounts = await (await fetch(`${apiUrl}/api/storyboards/${largeId}`)).json() as { status: string; success: number; total: number };

    // The same work as lone tasks: each its own group, so the claims go strictly by age.
    sim.reset();
    await pool.query(
      `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, created_at)
       SELECT 'shot', 'age-large-' || g, 'age large #' || g, $1,
              jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'age large frame ' || g)),
              clock_timestamp()
         FROM generate_series(1, $2) g`,
      [WORKFLOW, LARGE],
    );
    await new Promise((r) => setTimeout(r, T_MS));
    const ageSentAt = Date.now();
    for (let i = 0; i < SMALL; i++) {
      await post(`${apiUrl}/api/tasks`, { entityType: 'shot', entityId: `age-small-${i}`, entityName: `age small #${i}`, workflowId: WORKFLOW, ...shot('age small', i) });
    }
    const ageDoneAt = await until('the small lone tasks to finish', () => lastFinish(pool, `entity_id LIKE $1`, 'age-small-%'), 600_000, 20);
    await until('the large lone tasks to finish', () => lastFinish(pool, `entity_id LIKE $1`, 'age-large-%'), 600_000, 20);
    const ageMs = ageDoneAt - ageSentAt;
    await stopProgram(processor);

    // (3) + (4): bench/events.ts's measurements, on this run's api and server.
    const sse = await measureSseLatency(pool, apiUrl, 300);
    const streams = await measureOpenStreams(pool, apiUrl, api.pid!, 1000);
    const claims = await measureClaimLatencyVsFinishedRows(pg.url, Math.round(1_000_000 * SCALE), Math.max(100, Math.round(500 * SCALE)));

    const report = {
      machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
      settings: { slots: 3, taskMs: T_MS, largeShots: LARGE, smallShots: SMALL, smallSentAfterMs: T_MS },
      '1_fairness': {
        smallDoneAfterMs: fairMs,
        inT: Number((fairMs / T_MS).toFixed(2)),
        goal: '<= 4 T',
        // A storyboard that ended in failures says nothing about fairness: every shot must have succeeded.
        met: fairMs <= 4 * T_MS && counts.success === counts.total && largeCounts.success === largeCounts.total,
        strictAgeOrderSameRun: { smallDoneAfterMs: ageMs, inT: Number((ageMs / T_MS).toFixed(2)) },
        small: { status: counts.status, success: counts.success, total: counts.total, shotsMs: smallShots.map((r) => `${r.claimed}..${r.finished}`) },
        large: { status: largeCounts.status, success: largeCounts.success, total: largeCounts.total },
      },
      '2_utilisation': { ...fair, tasks: fairSim.length, idealMs: Math.ceil(fairSim.length / 3) * T_MS, goal: '>= 0.97', met: fair.utilisation >= 0.97 && largeCounts.success === largeCounts.total },
      '3_sse': {
        changeToEventMs: { p50: Number(sse.p50.toFixed(2)), p99: Number(sse.p99.toFixed(2)), changes: sse.samples.length },
        goal: 'p50 <= 20 ms',
        met: sse.p50 <= 20,
        openStreams: { streams: 1000, rssGrowthMiB: Number((streams.growthBytes / 1024 / 1024).toFixed(1)), listenConnections: streams.listenConnections, goal: '<= 100 MiB', met: streams.growthBytes <= 100 * 1024 * 1024 },
      },
      '4_claim_latency_1m_rows': {
        rows: claims.rows,
        claims: claims.rounds,
        emptyMs: { p50: Number(claims.empty.p50.toFixed(2)), p99: Number(claims.empty.p99.toFixed(2)) },
        fullMs: { p50: Number(claims.full.p50.toFixed(2)), p99: Number(claims.full.p99.toFixed(2)) },
        ratio: Number(claims.ratio.toFixed(2)),
        goal: '<= 1.2',
        met: claims.ratio <= 1.2,
      },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await Promise.all(children.map(stopProgram));
    await sim?.stop();
    await stopDatabase();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
