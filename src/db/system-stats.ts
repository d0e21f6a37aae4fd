// GET /api/stats in one call: the task statistics plus one section per other table's module.
import type pg from 'pg';
import { getTaskStats, type TaskStats } from './tasks/api.js';
import { listLiveProcessors, type LiveProcessor } from './processors.js';

/** A new section is one more key here and in the API's `statsSchema`. */
export interface SystemStats extends TaskStats {
  /** Processors that sent a heartbeat in the last 30 s. */
  processors: LiveProcessor[];
}

export async function getSystemStats(pool: pg.Pool): Promise<SystemStats> {
  const [tasks, processors] = await Promise.all([getTaskStats(pool), listLiveProcessors(pool)]);
  return { ...tasks, processors };
}
