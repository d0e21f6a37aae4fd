// Part of `npm run bench:processor`: (5) output keeping. The simulator serves PNG outputs of 1 MB and
// 20 MB over loopback; one real task-processor program keeps them (OUTPUT_DIR). Measured per size:
//   - SUCCESS at RunningHub (the simulator's end) → kept (the task's finished_at): p50 / p99;
//   - download throughput: the processor's (bytes / time of its successful downloads: stream, SHA-256,
//     write, rename; `downloadMs` of its `outputs.kept` log lines) against plain `curl` writing the same
//     files to a file in the same run, goal ratio >= 0.8;
//   - the processor's peak RSS (VmHWM) over the run, goal: independent of the file size.
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import type { Pool } from '../src/db/index.js';
import type { RunningSimulator } from '../src/runninghub/simulator/index.js';

export interface OutputKeepingBenchDeps {
  pool: Pool;
  sim: RunningSimulator;
  startProcessor(env: Record<string, string>): ChildProcess;
  stopProgram(child: ChildProcess): Promise<void>;
  until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs?: number, everyMs?: number): Promise<T>;
  insertBacklog(pool: Pool, count: number, label: string): Promise<void>;
  /** A log file per run (the processor logs `outputs.kept` at info). */
  logFile(label: string): string;
}

const MB = 1024 * 1024;
const run = promisify(execFile);
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function peakRssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? null : Math.round((Number(kb) / 1024) * 10) / 10;
}

async function oneSize(deps: OutputKeepingBenchDeps, bytes: number, tasks: number) {
  const { pool, sim } = deps;
  sim.reset();
  sim.setOptions({ outputBytes: bytes, queuedMs: [0, 0], runningMs: [50, 50] });
  await pool.query('TRUNCATE ai_tasks, runninghub_webhook_events');
  const label = `keep-${bytes / MB}mb`;
  const logFile = deps.logFile(label);
  // One download at a time, as curl below: per-download times then add up to the time spent downloading
  // (with 4 at once each takes ~4x longer and the sum would overstate it).
  const processor = deps.startProcessor({ LOG_LEVEL: 'info', TASK_PROCESSOR_LOG_FILE: logFile, PROCESSOR_ID: label, OUTPUT_KEEP_CONCURRENCY: '1' });
  await deps.insertBacklog(pool, tasks, label);
  await deps.until(`${tasks} tasks of ${bytes / MB} MB to be kept`, async () => {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_tasks WHERE status IN ('PENDING', 'ACTIVE')`);
    return rows[0]!.n === 0;
  });
  const rss = await peakRssMiB(processor.pid);
  await deps.stopProgram(processor);

  const { rows } = await pool.query<{ status: string; runninghub_task_id: string; finished_at: Date; outputs: { fileUrl: string; size: number }[] }>(
    `SELECT status, runninghub_task_id, finished_at, outputs FROM ai_tasks`,
  );
  const endedAt = new Map(sim.tasks().map((t) => [t.taskId, t.endedAt ?? 0]));
  const latencies = rows.map((r) => r.finished_at.getTime() - (endedAt.get(r.runninghub_task_id) ?? 0)).sort((a, b) => a - b);
  const kept = rows.filter((r) => r.status === 'SUCCESS' && r.outputs.every((o) => o.size === bytes)).length;

  // The processor's own keeping time per task (download, hash, write, rename), from its log.
  let keptBytes = 0;
  let keptMs = 0;
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (!line.includes('"outputs.kept"')) continue;
    const entry = JSON.parse(line) as { bytes: number; downloadMs: number };
    keptBytes += entry.bytes;
    keptMs += entry.downloadMs;
  }
  // curl, the same files, one after another, each to a file (as the processor writes one).
  let curlBytes = 0;
  let curlSeconds = 0;
  for (const row of rows) {
    for (const output of row.outputs) {
      // Not execFileSync: the simulator answers from this process's event loop.
      const { stdout } = await run('curl', ['-s', '-o', deps.logFile('curl-download'), '-w', '%{size_download} %{time_total}', output.fileUrl], { encoding: 'utf8' });
      const [size, seconds] = stdout.trim().split(' ').map(Number);
      curlBytes += size!;
      curlSeconds += seconds!;
    }
  }
  const processorMBps = keptBytes / MB / (keptMs / 1000);
  const curlMBps = curlBytes / MB / curlSeconds;
  return {
    fileMiB: bytes / MB,
    tasks,
    keptWithTheRightSize: kept,
    successToKeptMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
    processorMBps: Number(processorMBps.toFixed(1)),
    curlMBps: Number(curlMBps.toFixed(1)),
    ratio: Number((processorMBps / curlMBps).toFixed(2)),
    processorPeakRssMiB: rss,
  };
}

export async function benchOutputKeeping(deps: OutputKeepingBenchDeps, scale: number) {
  const small = await oneSize(deps, 1 * MB, Math.max(5, Math.round(60 * scale)));
  const large = await oneSize(deps, 20 * MB, Math.max(3, Math.round(15 * scale)));
  const ratios = [small.ratio, large.ratio];
  const rssGrowth = small.processorPeakRssMiB !== null && large.processorPeakRssMiB !== null ? Number((large.processorPeakRssMiB - small.processorPeakRssMiB).toFixed(1)) : null;
  return {
    '1MB': small,
    '20MB': large,
    goal: 'throughput ratio >= 0.8 against curl; peak RSS independent of the file size (20 MB run within 20 MiB of the 1 MB run)',
    met: {
      throughput: ratios.every((r) => r >= 0.8),
      rssIndependentOfSize: rssGrowth !== null && rssGrowth < 20,
      rssGrowthMiB: rssGrowth,
    },
  };
}
