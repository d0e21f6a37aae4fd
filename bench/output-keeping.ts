// Part of `npm run bench:processor`: (6) output keeping; also runs alone: `npx tsx bench/output-keeping.ts`.
// The simulator serves PNG outputs of 1 MB and 20 MB over loopback; real task-processor programs keep them
// (OUTPUT_DIR). Measured per size:
//   - SUCCESS at RunningHub (the simulator's end) → kept (the task's finished_at): p50 / p99, tasks going
//     through RunningHub (3 at once) and kept as they succeed, production settings;
//   - throughput, wall clock from the first request to the last file on disk, the same files the same number
//     of times: the processor (a burst of tasks waiting in keepingOutputs, its first request and last durable
//     file from its `outputs.kept` log lines) against plain `curl` writing them to files with the same number
//     of transfers at once (`--parallel-max`), alternated over BENCH_KEEP_ROUNDS rounds; goal: median ratio
//     >= 0.8. curl does not fsync, the processor does (a kept file is durable before SUCCESS): curl followed
//     by `sync` of its files (same durability) and curl one file at a time are printed too, for reference, and
//     a plain durable keeper written the obvious way in Node (bench/plain-keeper.ts), with and without SHA-256.
//   - the processor's peak RSS (VmHWM) over the latency run, goal: independent of the file size.
// BENCH_KEEP_BEFORE_DIST=<dir of another build's dist/>[,<another>…] (standalone run only) keeps the same files
// with those builds' processors too, alternated in the same rounds: before/after in one run. BENCH_KEEP_PROFILE_DIR=<dir>
// writes a CPU profile of each processor run there. BENCH_KEEP_CONCURRENCY, BENCH_KEEP_ROUNDS: see below.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Pool } from '../src/db/index.js';
import type { RunningSimulator } from '../src/runninghub/simulator/index.js';

export interface OutputKeepingBenchDeps {
  pool: Pool;
  sim: RunningSimulator;
  startProcessor: (env: Record<string, string>) => ChildProcess;
  /** The processor of another build (its dist/ folder), same environment: the "before" of a comparison. */
  startProcessorFrom?: (distDir: string, env: Record<string, string>) => ChildProcess;
  stopProgram(child: ChildProcess): Promise<void>;
  until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number, everyMs?: number): Promise<T>;
  insertBacklog(pool: Pool, count: number, label: string): Promise<void>;
  /** A log file per run (the processor logs `outputs.kept` at info). */
  logFile(label: string): string;
}

const MB = 1024 * 1024;
const run = promisify(execFile);
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
const round1 = (x: number): number => Math.round(x * 10) / 10;
const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/** Downloads one processor runs at once: the processor's default unless BENCH_KEEP_CONCURRENCY says otherwise; curl gets the same. */
const CONCURRENCY = Number(process.env.BENCH_KEEP_CONCURRENCY ?? '4');
const ROUNDS = Number(process.env.BENCH_KEEP_ROUNDS ?? '3');

async function peakRssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? null : round1(Number(kb) / 1024);
}

/** User + system CPU time of a running process (utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms). */
async function cpuMsOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : null;
}

interface StoredOutput {
  fileUrl: string;
  fileType?: string | null;
  nodeId?: string;
}

/** Tasks through RunningHub, kept as they succeed: SUCCESS → kept latency and peak RSS; returns RunningHub's outputs. */
async function latencyRun(deps: OutputKeepingBenchDeps, bytes: number, tasks: number, outputDir: string) {
  const { pool, sim } = deps;
  sim.reset();
  sim.setOptions({ outputBytes: bytes, queuedMs: [0, 0], runningMs: [50, 50] });
  await pool.query('TRUNCATE ai_tasks, runninghub_webhook_events');
  const label = `keep-${bytes / MB}mb`;
  const processor = deps.startProcessor({
    LOG_LEVEL: 'info',
    TASK_PROCESSOR_LOG_FILE: deps.logFile(label),
    PROCESSOR_ID: label,
    OUTPUT_DIR: outputDir,
    OUTPUT_KEEP_CONCURRENCY: String(CONCURRENCY),
  });
  await deps.insertBacklog(pool, tasks, label);
  await deps.until(`${tasks} tasks of ${bytes / MB} MB to be kept`, async () => {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE status IN ('PENDING', 'ACTIVE')`);
    return rows[0]!.n === 0;
  });
  const rss = await peakRssMiB(processor.pid);
  await deps.stopProgram(processor);
  const { rows } = await pool.query<{ status: string; runninghub_task_id: string; finished_at: Date; outputs: (StoredOutput & { size: number })[] }>(
    `SELECT status, runninghub_task_id, finished_at, outputs FROM ai_tasks`,
  );
  const endedAt = new Map(sim.tasks().map((t) => [t.taskId, t.endedAt ?? 0]));
  const latencies = rows.map((r) => r.finished_at.getTime() - (endedAt.get(r.runninghub_task_id) ?? 0)).sort((a, b) => a - b);
  return {
    keptWithTheRightSize: rows.filter((r) => r.status === 'SUCCESS' && r.outputs.every((o) => o.size === bytes)).length,
    successToKeptMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
    peakRssMiB: rss,
    // RunningHub's side of each output (the simulator keeps serving it): what the throughput rounds fetch.
    runninghub: rows.map((r) => ({ taskId: r.runninghub_task_id, outputs: r.outputs.map((o) => ({ fileUrl: o.fileUrl, fileType: o.fileType ?? null })) })),
  };
}

/**
 * The same files kept by one processor from a standing start: every task already in keepingOutputs (RunningHub
 * done), so the wall clock is the keeping alone. From its log: first request → last file durable on disk.
 */
async function processorRound(
  deps: OutputKeepingBenchDeps,
  label: string,
  start: (env: Record<string, string>) => ChildProcess,
  files: { taskId: string; outputs: StoredOutput[] }[],
  outputDir: string,
): Promise<{ bytes: number; wallMs: number; taskMs: number[]; splitMs: KeepingSplit | undefined; cpuMs: number | null }> {
  const { pool } = deps;
  await pool.query('TRUNCATE ai_tasks, runninghub_webhook_events');
  await pool.query(
    `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, status, attempts, runninghub_task_id, runninghub_outputs, next_check_at)
     SELECT 'shot', 'keep-' || f.ord, 'Shot ' || f.ord, '1904136902449209346', '[]'::jsonb, 'ACTIVE', 1, f.task_id, f.outputs, now()
       FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (task_id text, outputs jsonb)) WITH ORDINALITY AS f(task_id, outputs, ord)`,
    [JSON.stringify(files.map((f) => ({ task_id: f.taskId, outputs: f.outputs })))],
  );
  await rm(outputDir, { recursive: true, force: true });
  const logFile = deps.logFile(label);
  await rm(logFile, { force: true });
  const timelineFile = `${logFile}.timeline.jsonl`;
  await rm(timelineFile, { force: true });
  const processor = start({
    LOG_LEVEL: 'info',
    TASK_PROCESSOR_LOG_FILE: logFile,
    PROCESSOR_ID: label,
    OUTPUT_DIR: outputDir,
    OUTPUT_KEEP_CONCURRENCY: String(CONCURRENCY),
    TASK_PROCESSOR_TIMELINE_FILE: timelineFile,
  });
  await deps.until(`${label}: ${files.length} tasks to be kept`, async () => {
    const { rows } = await pool.query<{ n: number; failed: number }>(`SELECT count(*) FILTER (WHERE status = 'ACTIVE')::int AS n, count(*) FILTER (WHERE status = 'FAILED')::int AS failed FROM ai_tasks`);
    if (rows[0]!.failed > 0) throw new Error(`${label}: ${rows[0]!.failed} tasks FAILED`);
    return rows[0]!.n === 0;
  });
  // CPU the processor used (its start included, a few hundred ms): is keeping bound by its one JS thread?
  const cpuMs = await cpuMsOf(processor.pid);
  await deps.stopProgram(processor);
  let bytes = 0;
  let first = Infinity;
  let last = 0;
  const taskMs: number[] = [];
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"outputs.kept"')) continue;
    const entry = JSON.parse(line) as { bytes: number; ms: number; time: number | string; firstRequestAt?: number; lastOnDiskAt?: number };
    const loggedAt = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
    bytes += entry.bytes;
    taskMs.push(entry.ms);
    // An older build logs neither: its keeping's start (the log line less its `ms`) and the log line itself
    // (after the SUCCESS commit) stand in, a few ms wider than the exact figures.
    first = Math.min(first, entry.firstRequestAt ?? loggedAt - entry.ms);
    last = Math.max(last, entry.lastOnDiskAt ?? loggedAt);
  }
  await rm(outputDir, { recursive: true, force: true });
  // An older build writes no timeline (or one without keeping marks): no split for it.
  const marks = await readFile(timelineFile, 'utf8').then(
    (text) => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as KeepMark),
    () => [] as KeepMark[],
  );
  await rm(timelineFile, { force: true });
  return { bytes, wallMs: last - first, taskMs, splitMs: keepingSplit(marks), cpuMs };
}

interface KeepMark {
  step: string;
  at: number;
  taskId?: string;
  n?: number;
}

/** Per step of a keeping (the processor's timeline), the durations in ms of every task or output of a run. */
type KeepingSplit = Record<string, number[]>;

/**
 * One task's keeping cut into its steps (TASK_PROCESSOR_TIMELINE_FILE, keep.ts): taken → its first request
 * (a download slot), per output request → headers → last byte on disk → fdatasync → rename, the last rename →
 * the folder's fsync (and the outputs' events), → SUCCESS committed, → the next task taken after it.
 */
function keepingSplit(marks: KeepMark[]): KeepingSplit | undefined {
  const keep = marks.filter((m) => m.step.startsWith('keep-') && m.taskId !== undefined);
  if (keep.length === 0) return undefined;
  const split: KeepingSplit = {};
  const add = (name: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) (split[name] ??= []).push(ms);
  };
  const byTask = new Map<string, KeepMark[]>();
  for (const m of keep) byTask.set(m.taskId!, [...(byTask.get(m.taskId!) ?? []), m]);
  const takenAt = keep.filter((m) => m.step === 'keep-taken').map((m) => m.at).sort((a, b) => a - b);
  for (const taskMarks of byTask.values()) {
    const at = (step: string, n?: number) => taskMarks.find((m) => m.step === step && (n === undefined || m.n === n))?.at;
    const all = (step: string) => taskMarks.filter((m) => m.step === step).map((m) => m.at);
    const taken = at('keep-taken');
    const requests = all('keep-request');
    if (taken !== undefined && requests.length > 0) add('takenToFirstRequest', Math.min(...requests) - taken);
    for (const n of new Set(taskMarks.filter((m) => m.n !== undefined).map((m) => m.n!))) {
      const request = at('keep-request', n);
      const headers = at('keep-headers', n);
      const lastByte = at('keep-last-byte', n);
      const datasynced = at('keep-datasynced', n);
      const renamed = at('keep-renamed', n);
      if (request !== undefined && headers !== undefined) add('requestToHeaders', headers - request);
      if (headers !== undefined && lastByte !== undefined) add('headersToLastByte', lastByte - headers);
      if (lastByte !== undefined && datasynced !== undefined) add('lastByteToFdatasync', datasynced - lastByte);
      if (datasynced !== undefined && renamed !== undefined) add('fdatasyncToRename', renamed - datasynced);
    }
    const renamed = all('keep-renamed');
    const dirSynced = at('keep-dir-synced');
    const committed = at('keep-committed');
    if (renamed.length > 0 && dirSynced !== undefined) add('lastRenameToDirFsync', dirSynced - Math.max(...renamed));
    if (dirSynced !== undefined && committed !== undefined) add('dirFsyncToCommitted', committed - dirSynced);
    if (taken !== undefined && committed !== undefined) add('takenToCommitted', committed - taken);
    const nextTaken = committed === undefined ? undefined : takenAt.find((t) => t >= committed);
    if (committed !== undefined && nextTaken !== undefined) add('committedToNextTaken', nextTaken - committed);
  }
  return split;
}

/**
 * curl, the same files, `parallel` transfers at once, each to its own file: the process's wall clock. With
 * `durable`, then coreutils `sync` of those files (an fsync each), as the processor makes every kept file
 * durable: a reference with the same durability, beside the goal's plain curl.
 */
async function curlRound(urls: string[], dir: string, parallel: number, durable = false): Promise<{ bytes: number; wallMs: number }> {
  await rm(dir, { recursive: true, force: true });
  const args = ['-s', '--fail', '--create-dirs', '--parallel', '--parallel-max', String(parallel), '-w', '%{size_download}\n'];
  const files = urls.map((_, i) => path.join(dir, String(i)));
  urls.forEach((url, i) => args.push('-o', files[i]!, url));
  const started = performance.now();
  // Not execFileSync: the simulator answers from this process's event loop.
  const { stdout } = await run('curl', args, { encoding: 'utf8', maxBuffer: 16 * MB });
  if (durable) await run('sync', [...files, dir]);
  const wallMs = performance.now() - started;
  await rm(dir, { recursive: true, force: true });
  return { bytes: stdout.trim().split('\n').map(Number).reduce((a, b) => a + b, 0), wallMs };
}

/**
 * A plain durable Node keeper (bench/plain-keeper.ts: GET, SHA-256 unless `hash` is false, write, fsync, rename,
 * the folder's fsync; nothing else), the same files and transfers at once as curl: a reference, not a ceiling.
 */
async function plainKeeperRound(urls: string[], dir: string, parallel: number, hash: boolean): Promise<{ bytes: number; wallMs: number }> {
  await rm(dir, { recursive: true, force: true });
  const script = fileURLToPath(new URL('./plain-keeper.ts', import.meta.url));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...(hash ? [] : ['--no-hash']), dir, String(parallel), ...urls], {
    encoding: 'utf8',
    maxBuffer: 16 * MB,
  });
  await rm(dir, { recursive: true, force: true });
  return JSON.parse(stdout) as { bytes: number; wallMs: number };
}

async function oneSize(deps: OutputKeepingBenchDeps, bytes: number, tasks: number, workDir: string) {
  const outputDir = path.join(workDir, 'kept');
  const latency = await latencyRun(deps, bytes, tasks, outputDir);
  await rm(outputDir, { recursive: true, force: true });
  const files = latency.runninghub;
  const urls = files.flatMap((f) => f.outputs.map((o) => o.fileUrl));
  // Several builds, comma-separated: processorBefore, processorBefore2, … in the order given.
  const beforeDists = (process.env.BENCH_KEEP_BEFORE_DIST ?? '').split(',').filter((d) => d !== '');
  const variants: Record<string, () => Promise<{ bytes: number; wallMs: number; taskMs?: number[]; splitMs?: KeepingSplit | undefined; cpuMs?: number | null }>> = {
    processor: () => processorRound(deps, `keep-${bytes / MB}mb-after`, deps.startProcessor, files, outputDir),
    curl: () => curlRound(urls, path.join(workDir, 'curl'), CONCURRENCY),
    curlOneAtATime: () => curlRound(urls, path.join(workDir, 'curl'), 1),
    curlThenFsync: () => curlRound(urls, path.join(workDir, 'curl'), CONCURRENCY, true),
    plainNodeKeeper: () => plainKeeperRound(urls, path.join(workDir, 'plain'), CONCURRENCY, true),
    plainNodeKeeperNoHash: () => plainKeeperRound(urls, path.join(workDir, 'plain'), CONCURRENCY, false),
  };
  const startBefore = deps.startProcessorFrom;
  if (startBefore) {
    beforeDists.forEach((dist, i) => {
      const name = i === 0 ? 'processorBefore' : `processorBefore${i + 1}`;
      variants[name] = () => processorRound(deps, `keep-${bytes / MB}mb-${name}`, (env) => startBefore(dist, env), files, outputDir);
    });
  }
  const names = Object.keys(variants);
  const mbps: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: number[] = [];
  const durableRatios: number[] = [];
  const plainKeeperRatios: number[] = [];
  // Per processor variant: one task's keeping (taken → SUCCESS committed), p50 over every round: where the time goes.
  const taskMs: Record<string, number[]> = {};
  // Per processor variant and step of a keeping: every round's durations (the split's p50 and p90 below).
  const splits: Record<string, KeepingSplit> = {};
  const cpuMsPerRound: Record<string, (number | null)[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    // Each round in another order, so that no variant always runs first (cold) or last.
    const order = names.map((_, i) => names[(i + r) % names.length]!);
    const figures: Record<string, number> = {};
    for (const name of order) {
      const { bytes: got, wallMs, taskMs: ms, splitMs, cpuMs } = await variants[name]!();
      if (cpuMs !== undefined) (cpuMsPerRound[name] ??= []).push(cpuMs);
      if (ms) (taskMs[name] ??= []).push(...ms);
      for (const [step, values] of Object.entries(splitMs ?? {})) ((splits[name] ??= {})[step] ??= []).push(...values);
      if (got !== urls.length * bytes) throw new Error(`${name}: ${got} bytes, expected ${urls.length * bytes}`);
      figures[name] = got / MB / (wallMs / 1000);
      mbps[name]!.push(round1(figures[name]));
    }
    ratios.push(figures.processor! / figures.curl!);
    plainKeeperRatios.push(figures.plainNodeKeeper! / figures.curl!);
    durableRatios.push(figures.processor! / figures.curlThenFsync!);
  }
  return {
    fileMiB: bytes / MB,
    tasks,
    downloadsAtOnce: CONCURRENCY,
    keptWithTheRightSize: latency.keptWithTheRightSize,
    successToKeptMs: latency.successToKeptMs,
    MBpsPerRound: mbps,
    MBpsMedian: Object.fromEntries(names.map((n) => [n, round1(median(mbps[n]!))])),
    ratioPerRound: ratios.map((x) => Number(x.toFixed(2))),
    ratio: Number(median(ratios).toFixed(2)),
    // Not the goal: against curl whose files are then fsync'ed as ours are (the price of durability shown apart).
    ratioAgainstCurlThenFsync: Number(median(durableRatios).toFixed(2)),
    // A plain durable Node keeper (plain-keeper.ts) against the same curl: what the obvious Node code reaches here.
    plainNodeKeeperRatio: Number(median(plainKeeperRatios).toFixed(2)),
    // The processor's CPU (user + system, its start included) per round beside the round's wall clock above.
    processorCpuMsPerRound: cpuMsPerRound,
    taskKeepingMsP50: Object.fromEntries(Object.entries(taskMs).map(([n, ms]) => [n, round1(median(ms))])),
    // One keeping's steps (the processor's timeline), "p50 / p90" ms: per output for request → rename, per task otherwise.
    keepingSplitMs: Object.fromEntries(
      Object.entries(splits).map(([n, split]) => [
        n,
        Object.fromEntries(
          Object.entries(split).map(([step, ms]) => {
            const sorted = [...ms].sort((a, b) => a - b);
            return [step, `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 90).toFixed(2)}`];
          }),
        ),
      ]),
    ),
    processorPeakRssMiB: latency.peakRssMiB,
    load: load(),
  };
}

export async function benchOutputKeeping(deps: OutputKeepingBenchDeps, scale: number) {
  const workDir = path.dirname(deps.logFile('keep'));
  const small = await oneSize(deps, 1 * MB, Math.max(5, Math.round(60 * scale)), workDir);
  const large = await oneSize(deps, 20 * MB, Math.max(3, Math.round(15 * scale)), workDir);
  const rssGrowth = small.processorPeakRssMiB !== null && large.processorPeakRssMiB !== null ? round1(large.processorPeakRssMiB - small.processorPeakRssMiB) : null;
  return {
    '1MB': small,
    '20MB': large,
    goal: `throughput (first request → last file on disk, the same files) >= 0.8 x curl's with the same ${CONCURRENCY} transfers at once (median of ${ROUNDS} alternated rounds); peak RSS independent of the file size (20 MB run within 20 MiB of the 1 MB run)`,
    met: {
      throughput: small.ratio >= 0.8 && large.ratio >= 0.8,
      rssIndependentOfSize: rssGrowth !== null && rssGrowth < 20,
      rssGrowthMiB: rssGrowth,
    },
  };
}

// ---- alone: `npx tsx bench/output-keeping.ts` (the same set-up as bench/processor.ts, part 6 only) ----

async function main(): Promise<void> {
  const { findFreePort } = await import('../src/db/index.js');
  const { startSimulator } = await import('../src/runninghub/simulator/index.js');
  const { children, startBenchDatabase, startProgram, stopProgram, until } = await import('./programs.js');
  const root = fileURLToPath(new URL('../', import.meta.url));
  const apiKey = 'bench-keep-key';
  const secret = 'bench-webhook-secret-0123456789';
  const { dataRoot, pg, pool, stop: stopDatabase } = await startBenchDatabase('keep');
  let sim: RunningSimulator | undefined;
  try {
    sim = await startSimulator({ keys: { [apiKey]: {} }, concurrency: 10, queuedMs: [0, 0], runningMs: [50, 50], webhook: { maxRetries: 3, timeoutMs: 5_000, backoffMs: [200] } });
    const apiPort = await findFreePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    startProgram('api', { DATABASE_URL: pg.url, PORT: String(apiPort), HOST: '127.0.0.1', RUNNINGHUB_WEBHOOK_SECRET: secret });
    await until('the API to be ready', async () => (await fetch(`${apiUrl}/readyz`).catch(() => null))?.ok, 30_000, 50);
    const simUrl = sim.url;
    const processorEnv: Record<string, string> = {
      DATABASE_URL: pg.url,
      RUNNINGHUB_BASE_URL: simUrl,
      RUNNINGHUB_API_KEY: apiKey,
      RUNNINGHUB_WEBHOOK_URL: `${apiUrl}/api/runninghub/webhook`,
      RUNNINGHUB_WEBHOOK_SECRET: secret,
      UPLOAD_DIR: path.join(dataRoot, 'uploads'),
    };
    // BENCH_KEEP_PROFILE_DIR: a CPU profile of every processor run (where a keeping's time goes).
    const profileDir = process.env.BENCH_KEEP_PROFILE_DIR;
    const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
    const spawnProcessor = (distDir: string, env: Record<string, string>): ChildProcess => {
      const child = spawn(process.execPath, [...nodeFlags, path.join(distDir, 'task-processor.js')], {
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...processorEnv, ...env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      return child;
    };
    const result = await benchOutputKeeping(
      {
        pool,
        sim,
        startProcessor: (env) => spawnProcessor(path.join(root, 'dist'), env),
        startProcessorFrom: spawnProcessor,
        stopProgram,
        until,
        insertBacklog: async (db, count, label) => {
          await db.query(
            `INSERT INTO ai_tasks (entity_type, entity_id, entity_name, workflow_id, node_info_list, created_at)
             SELECT 'shot', $1 || '-' || g, 'Shot ' || g, '1904136902449209346',
                    jsonb_build_array(jsonb_build_object('nodeId', '6', 'fieldName', 'text', 'fieldValue', 'frame ' || $1 || '-' || g)),
                    clock_timestamp()
               FROM generate_series(1, $2) g`,
            [label, count],
          );
        },
        logFile: (label) => path.join(dataRoot, `${label}.log`),
      },
      Number(process.env.BENCH_SCALE ?? '1'),
    );
    console.log(JSON.stringify({ machine: `${os.cpus().length} cores, load ${load()}`, '6_output_keeping': result }, null, 2));
  } finally {
    await Promise.all(children.map(stopProgram));
    await sim?.stop();
    await stopDatabase();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
