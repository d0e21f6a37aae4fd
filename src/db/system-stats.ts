// GET /api/stats in one call: the task statistics plus one section per other table's module.
import type pg from 'pg';
import { getTaskStats, type TaskStats } from './tasks/api.js';
import { listLiveProcessors, type LiveProcessor } from './processors.js';
import { listAccountPauses, type AccountPause } from './account-pause.js';

/** A new section is one more key here and in the API's `statsSchema`. */
export interface SystemStats extends TaskStats {
  /** Processors that sent a heartbeat in the last 30 s. */
  processors: LiveProcessor[];
  /** RunningHub accounts whose claiming is paused because their wallet is empty (none: []). */
  accountPauses: (AccountPause & { account: string })[];
}

export async function getSystemStats(pool: pg.Pool): Promise<SystemStats> {
  const [tasks, processors, accountPauses] = await Promise.all([getTaskStats(pool), listLiveProcessors(pool), listAccountPauses(pool)]);
  return { ...tasks, processors, accountPauses };
}
