// v2's `GET /openapi/v2/queue/status` (reference §5.2): the one place RunningHub reports the account's
// limit itself (`concurrentLimit`) beside the key's tasks in flight. Served to every generation's client
// (like cancel, which is v1's in every mode): the processor follows the limit whatever RUNNINGHUB_API is.
import { z } from 'zod';
import { lenientNumber, optionalText } from './schemas.js';

export const QUEUE_STATUS_PATH = '/openapi/v2/queue/status';

export const queueStatusDataSchema = z
  .object({
    apiKeyType: optionalText,
    // Kept as RunningHub sent it (a number, or a string in some replies): whether it is usable is the
    // processor's decision (accountLimitFromReport), which names the value when it is not.
    concurrentLimit: z.union([z.number(), z.string(), z.null()]).optional().transform((v) => v ?? null),
    runningCount: lenientNumber,
    queuedCount: lenientNumber,
    totalCurrentTasks: lenientNumber,
  })
  .loose();

export interface QueueStatus {
  apiKeyType: string | null;
  /** The account's limit of tasks at once, as reported (a number, or text when RunningHub sent text). */
  concurrentLimit: number | string | null;
  runningCount: number | null;
  queuedCount: number | null;
  totalCurrentTasks: number | null;
}
