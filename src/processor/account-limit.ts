// The account's limit of tasks at RunningHub at once. Fixed (RUNNINGHUB_MAX_RUNNING) by default; with
// RUNNINGHUB_ACCOUNT_LIMIT_SOURCE=runninghub it follows what RunningHub reports (v2 queue/status
// `concurrentLimit`), never above the configured maximum: a plan upgrade cannot make us exceed what
// the operator allowed, and a downgrade is followed at once.
import { z } from 'zod';

export const ACCOUNT_LIMIT_SOURCES = ['config', 'runninghub'] as const;
export type AccountLimitSource = (typeof ACCOUNT_LIMIT_SOURCES)[number];

const reportedLimitSchema = z.coerce.number().int().min(1).max(1000);

export interface AccountLimit {
  limit: number;
  /** Why RunningHub's number was not used as it is, or null. */
  note: string | null;
}

/** Whether RunningHub's `concurrentLimit` is a number we can follow (else we keep the last known limit). */
export function isUsableReport(reported: unknown): boolean {
  return reportedLimitSchema.safeParse(typeof reported === 'string' && reported.trim() === '' ? undefined : reported).success;
}

/**
 * The limit to use given RunningHub's reported `concurrentLimit` (any JSON value, as it came) and the
 * configured maximum: the reported number when it is a whole number from 1 up to the maximum, the
 * maximum when RunningHub reports more, and the maximum (with the reason) when the report is unusable.
 */
export function accountLimitFromReport(reported: unknown, configuredMax: number): AccountLimit {
  const parsed = reportedLimitSchema.safeParse(typeof reported === 'string' && reported.trim() === '' ? undefined : reported);
  if (!parsed.success) {
    return { limit: configuredMax, note: `RunningHub reported concurrentLimit ${JSON.stringify(reported) ?? 'undefined'}, not a whole number from 1; using RUNNINGHUB_MAX_RUNNING ${configuredMax}` };
  }
  if (parsed.data > configuredMax) {
    return { limit: configuredMax, note: `RunningHub allows ${parsed.data}; RUNNINGHUB_MAX_RUNNING caps it at ${configuredMax}` };
  }
  return { limit: parsed.data, note: null };
}
