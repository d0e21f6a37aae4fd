import { z } from 'zod';
import type { FailedReason, TaskOutcome, TaskOutput, TaskStatus, WorkflowApiFormat } from './types.js';

// Zod schemas of RunningHub's v1 replies. They are lenient where RunningHub is known to vary (numbers
// as strings or numbers, ids as strings or numbers, optional fields missing) and strict where a wrong
// shape means we misunderstand the reply.

/** A task/workflow/app id: a decimal string; a JSON number only if it was small enough to be exact. */
export const idSchema = z.union([
  z.string().regex(/^\d+$/, 'expected a decimal id'),
  z.number().int().nonnegative().refine(Number.isSafeInteger, 'id too large to be exact').transform(String),
]);

/** The business code, which some replies send as a string. */
const codeSchema = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform((v) => String(Number(v)));

export const envelopeSchema = z.object({
  code: codeSchema,
  msg: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  /** Optional, as the docs allow: `{"code":813,"msg":"APIKEY_TASK_IS_QUEUED"}` is a whole reply. */
  data: z.unknown().optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** "83", 83, "", null → 83, 83, null, null. */
export const lenientNumber = z
  .union([z.number(), z.string(), z.null()])
  .optional()
  .transform((v) => {
    if (v === null || v === undefined || v === '') return null;
    const n = typeof v === 'number' ? v : Number(v);
    return Number.isFinite(n) ? n : null;
  });

export const optionalText = z
  .union([z.string(), z.number(), z.null()])
  .optional()
  .transform((v) => (v === null || v === undefined ? null : String(v)));

const taskStatusSchema = z
  .enum(['CREATE', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED'])
  .transform((s): TaskStatus => (s === 'CREATE' ? 'QUEUED' : s));

/**
 * A create's `data`. Once its taskId reads, RunningHub has created the task: a field beside it in a shape we
 * did not expect must not turn the reply into MALFORMED_REPLY, which the processor retries as a create (the
 * task would run twice). So the others fall back to what "unknown" means for each.
 */
export const createDataSchema = z.object({
  taskId: idSchema,
  clientId: optionalText.catch(null),
  taskStatus: taskStatusSchema
    .optional()
    .transform((s) => s ?? 'QUEUED')
    .catch('QUEUED'),
  netWssUrl: z
    .string()
    .nullish()
    .transform((v) => v ?? null)
    .catch(null),
  // A JSON string as documented; an object (seen in the wild) is taken as its JSON text.
  promptTips: z
    .unknown()
    .transform((v) => (typeof v === 'string' ? v : v === null || v === undefined ? null : JSON.stringify(v)))
    .catch(null),
});

/** promptTips is a JSON string with ComfyUI's validation result; only `node_errors` matters to us. */
const promptTipsSchema = z.object({
  node_errors: z.record(z.string(), z.unknown()).nullish(),
});

/** Node errors listed in promptTips, as "nodeId: detail" lines; [] when fine or unreadable. */
export function nodeErrorsOf(promptTips: string | null, parse: (text: string) => unknown): string[] {
  if (!promptTips) return [];
  let value: unknown;
  try {
    value = parse(promptTips);
  } catch {
    return [];
  }
  const tips = promptTipsSchema.safeParse(value);
  if (!tips.success || !tips.data.node_errors) return [];
  return Object.entries(tips.data.node_errors).map(([nodeId, detail]) => `${nodeId}: ${JSON.stringify(detail).slice(0, 500)}`);
}

export const statusDataSchema = taskStatusSchema;

const outputItemSchema = z.object({
  fileUrl: z.string().nullish(),
  fileType: z.string().nullish(),
  nodeId: optionalText,
  taskCostTime: lenientNumber,
  consumeCoins: lenientNumber,
});

/** The extension of a URL's path, lower case ("" without one): the file type when RunningHub gives none. */
export function extensionOf(url: string): string {
  const match = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url);
  return match?.[1]?.toLowerCase() ?? '';
}

/** The outputs that are files; an item without a fileUrl (a text output) is left out, as v2's results are. */
export const outputsDataSchema = z
  .array(outputItemSchema)
  .nullable()
  .optional()
  .transform((items) =>
    items?.flatMap((item): TaskOutput[] =>
      item.fileUrl
        ? [{ fileUrl: item.fileUrl, fileType: item.fileType ?? extensionOf(item.fileUrl), nodeId: item.nodeId, taskCostTime: item.taskCostTime, consumeCoins: item.consumeCoins }]
        : [],
    ),
  );

export const failedReasonSchema = z
  .object({
    node_id: optionalText,
    node_name: optionalText,
    exception_type: optionalText,
    exception_message: optionalText,
    traceback: optionalText,
  })
  .transform(
    (r): FailedReason => ({
      nodeId: r.node_id,
      nodeName: r.node_name,
      exceptionType: r.exception_type,
      exceptionMessage: r.exception_message,
      traceback: r.traceback,
    }),
  );

export const failedDataSchema = z
  .object({ failedReason: failedReasonSchema.nullish().catch(null) })
  .nullish()
  .catch(null)
  .transform((d) => d?.failedReason ?? null);

export const runningDataSchema = z
  .object({ netWssUrl: z.string().nullish() })
  .nullish()
  .catch(null)
  .transform((d) => d?.netWssUrl ?? null);

/** getJsonApiFormat's `data`: `{prompt: "<API-format workflow JSON>"}`. */
export const apiFormatDataSchema = z.object({ prompt: z.string().min(2) });

/** The API-format workflow inside `prompt`: node id → {class_type, inputs}. Link inputs (`["4", 0]`) are not settable. */
export const apiFormatSchema = z
  .record(z.string(), z.looseObject({ class_type: z.string(), inputs: z.record(z.string(), z.unknown()).default({}) }))
  .transform((nodes): WorkflowApiFormat =>
    Object.fromEntries(
      Object.entries(nodes).map(([nodeId, node]) => [
        nodeId,
        {
          classType: node.class_type,
          fields: Object.entries(node.inputs)
            .filter(([, value]) => !(Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number'))
            .map(([field]) => field),
        },
      ]),
    ),
  );

export const accountDataSchema = z.object({
  remainCoins: lenientNumber,
  currentTaskCounts: lenientNumber.transform((n) => n ?? 0),
  remainMoney: optionalText,
  currency: optionalText,
  apiType: optionalText,
});

export const webhookBodySchema = z.object({
  event: z.string(),
  taskId: idSchema,
  /** A JSON string with the outputs reply's shape; accepted as an object too. */
  eventData: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

/** Codes of the outputs endpoint that describe the task rather than a failed request. */
export type OutcomeFromEnvelope = { outcome: TaskOutcome } | { error: { code: string; msg: string; cause?: string } };

/** Map an outputs (or webhook eventData) envelope to the task's outcome, or to the error it carries. */
export function outcomeOfEnvelope(envelope: Envelope): OutcomeFromEnvelope {
  switch (envelope.code) {
    case '0': {
      const data = outputsDataSchema.safeParse(envelope.data);
      if (!data.success) return { error: { code: 'MALFORMED_REPLY', msg: `outputs data: ${z.prettifyError(data.error)}` } };
      if (data.data) return { outcome: { status: 'SUCCESS', outputs: data.data } };
      // An older API version answered in-progress tasks with code 0, data null and a Chinese message.
      if (envelope.msg.includes('排队')) return { outcome: { status: 'QUEUED' } };
      return { outcome: { status: 'RUNNING', netWssUrl: null } };
    }
    case '813':
      return { outcome: { status: 'QUEUED' } };
    case '804':
      return { outcome: { status: 'RUNNING', netWssUrl: runningDataSchema.parse(envelope.data) } };
    case '805':
      return {
        outcome: {
          status: 'FAILED',
          error: { code: '805', message: envelope.msg || 'APIKEY_TASK_STATUS_ERROR', failedReason: failedDataSchema.parse(envelope.data) },
        },
      };
    default:
      return { error: { code: envelope.code, msg: envelope.msg } };
  }
}
