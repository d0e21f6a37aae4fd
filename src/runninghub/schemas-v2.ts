import { z } from 'zod';
import type { TaskOutcome, TaskOutput } from './types.js';
import { extensionOf, failedReasonSchema, idSchema, lenientNumber, optionalText } from './schemas.js';

// Zod schemas of RunningHub's v2 replies (`/openapi/v2/*`, reference §0, §2.5, §4): a flat task object
// `{taskId, status, errorCode, errorMessage, results, usage, failedReason, clientId, promptTips}`
// instead of v1's `{code, msg, data}`. Lenient where clients in the wild disagree (codes as numbers or
// strings, `CANCEL` or `CANCELLED`, `failedReason: {}`), strict where a wrong shape means we misread it.

/** "" / null / "0" / 0 mean "no error"; anything else is the code as text ("421", "1003"). */
const errorCodeSchema = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => {
    const text = v === null || v === undefined ? '' : String(v).trim();
    return text === '' || text === '0' ? null : text;
  });

const v2StatusSchema = z.enum(['CREATE', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCEL', 'CANCELLED']);
export type V2Status = z.infer<typeof v2StatusSchema>;

const v2ResultSchema = z
  .object({ url: z.string().nullish(), outputType: z.string().nullish(), text: z.string().nullish(), nodeId: optionalText })
  .loose();

const v2UsageSchema = z
  .object({ taskCostTime: lenientNumber, consumeCoins: lenientNumber })
  .loose()
  .nullish()
  .catch(null);

/** The flat object of v2 submit, query and (v2-submitted) webhook replies. */
export const v2TaskSchema = z
  .object({
    taskId: idSchema.nullish(),
    status: v2StatusSchema.nullish(),
    errorCode: errorCodeSchema,
    errorMessage: z.string().nullish(),
    clientId: optionalText,
    promptTips: z.string().nullish(),
    netWssUrl: z.string().nullish(),
    results: z.array(v2ResultSchema).nullish(),
    usage: v2UsageSchema,
    // `{}` while nothing failed; the v1 shape (node_id, exception_message …) when something did.
    failedReason: failedReasonSchema.nullish().catch(null),
  })
  .loose();
export type V2Task = z.infer<typeof v2TaskSchema>;

/**
 * A v2 task object as the outcome the processor knows from v1. A v2 failure without a code reads as
 * 805 (v1's "task failed"), a cancel as CANCELLED: every end carries a named code either way. Null
 * when the object has no status.
 */
export function outcomeOfV2Task(task: V2Task): TaskOutcome | null {
  switch (task.status) {
    case 'CREATE':
    case 'QUEUED':
      return { status: 'QUEUED' };
    case 'RUNNING':
      return { status: 'RUNNING', netWssUrl: task.netWssUrl ?? null };
    case 'SUCCESS': {
      const outputs: TaskOutput[] = [];
      for (const result of task.results ?? []) {
        // Text results (LLM nodes) have no file; we keep files only.
        if (!result.url) continue;
        outputs.push({
          fileUrl: result.url,
          fileType: result.outputType ?? extensionOf(result.url),
          nodeId: result.nodeId,
          taskCostTime: task.usage?.taskCostTime ?? null,
          consumeCoins: task.usage?.consumeCoins ?? null,
        });
      }
      return { status: 'SUCCESS', outputs };
    }
    case 'FAILED':
      return {
        status: 'FAILED',
        error: { code: task.errorCode ?? '805', message: task.errorMessage || 'FAILED', failedReason: task.failedReason ?? null },
      };
    case 'CANCEL':
    case 'CANCELLED':
      return { status: 'FAILED', error: { code: 'CANCELLED', message: task.errorMessage || 'cancelled at RunningHub', failedReason: null } };
    case null:
    case undefined:
      return null;
  }
}
