// `storyboard stats`: the queue as an operator wants it in a shell (seed 002's `worker_manager.py stats`):
// counts by status, the oldest PENDING task, throughput, failures by code, processors and their
// heartbeats, RunningHub slots in use. A table for people, JSON (`--json`) for scripts.
import {
  getMonitoringSnapshot,
  getSystemStats,
  TASK_STATUSES,
  type Pool,
  type TaskStatus,
} from '../db/index.js';

export interface ProcessorRow {
  processorId: string;
  host: string;
  pid: number;
  /** Heartbeat within 30 s (and not stopped). */
  live: boolean;
  heartbeatAgeSeconds: number;
  consecutiveErrors: number;
  lastError: string | null;
  /** Counters of the live ones (null for a processor that stopped beating). */
  submitted: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
}

export interface QueueStats {
  generatedAt: string;
  countsByStatus: Record<TaskStatus, number>;
  oldestPendingAgeSeconds: number | null;
  finishedLastMinute: number;
  finishedLastFiveMinutes: number;
  failuresByErrorCode: { code: string; count: number }[];
  slots: { inUse: number; limit: number };
  processors: ProcessorRow[];
}

export async function readQueueStats(pool: Pool): Promise<QueueStats> {
  const [system, snapshot] = await Promise.all([getSystemStats(pool), getMonitoringSnapshot(pool)]);
  const counters = new Map(system.processors.map((p) => [p.processorId, p]));
  return {
    generatedAt: new Date().toISOString(),
    countsByStatus: system.countsByStatus,
    oldestPendingAgeSeconds: system.oldestPendingAgeSeconds,
    finishedLastMinute: system.finishedLastMinute,
    finishedLastFiveMinutes: system.finishedLastFiveMinutes,
    failuresByErrorCode: system.failuresByErrorCode,
    slots: { inUse: snapshot.slotsInUse, limit: snapshot.slotsLimit },
    processors: snapshot.processors.map((p) => {
      const live = counters.get(p.processorId);
      return {
        processorId: p.processorId,
        host: p.host,
        pid: p.pid,
        live: p.live,
        heartbeatAgeSeconds: Math.round(p.heartbeatAgeSeconds * 10) / 10,
        consecutiveErrors: p.consecutiveErrors,
        lastError: p.lastError,
        submitted: live?.submitted ?? null,
        succeeded: live?.succeeded ?? null,
        failed: live?.failed ?? null,
        retried: live?.retried ?? null,
      };
    }),
  };
}

/** `0:02:05`, supervisorctl's uptime format; days as `3 days, 4:05:06`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const clock = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^-?[\d.]+$|^-$/.test(row[column]!)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function formatQueueStats(stats: QueueStats): string {
  const indent = (lines: string[]) => lines.map((l) => `  ${l}`);
  const out: string[] = [`Queue statistics at ${stats.generatedAt}`, ''];
  out.push('Tasks by status');
  out.push(
    ...indent(
      table(
        ['STATUS', 'COUNT'],
        TASK_STATUSES.map((status) => [status, String(stats.countsByStatus[status])]),
      ),
    ),
  );
  out.push(
    `  oldest PENDING: ${stats.oldestPendingAgeSeconds === null ? 'none' : `${formatDuration(stats.oldestPendingAgeSeconds)} ago`}`,
    '',
    `Throughput: ${stats.finishedLastMinute} finished in the last minute, ${stats.finishedLastFiveMinutes} in the last 5 minutes`,
    `RunningHub slots in use: ${stats.slots.inUse} / ${stats.slots.limit}`,
    '',
    'Failures in the last 24 hours by error code',
  );
  if (stats.failuresByErrorCode.length === 0) out.push('  none');
  else out.push(...indent(table(['CODE', 'COUNT'], stats.failuresByErrorCode.map((f) => [f.code, String(f.count)]))));
  out.push('', 'Processors (heartbeat within the last hour)');
  if (stats.processors.length === 0) out.push('  none');
  else {
    const count = (n: number | null) => (n === null ? '-' : String(n));
    out.push(
      ...indent(
        table(
          ['PROCESSOR', 'STATE', 'HEARTBEAT', 'ERRORS', 'SUBMITTED', 'SUCCEEDED', 'FAILED', 'RETRIED', 'LAST ERROR'],
          stats.processors.map((p) => [
            p.processorId,
            p.live ? 'LIVE' : 'SILENT',
            `${formatDuration(p.heartbeatAgeSeconds)} ago`,
            String(p.consecutiveErrors),
            count(p.submitted),
            count(p.succeeded),
            count(p.failed),
            count(p.retried),
            (p.lastError ?? '').slice(0, 60),
          ]),
        ),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
