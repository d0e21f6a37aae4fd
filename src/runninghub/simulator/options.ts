import { z } from 'zod';

// The simulator's knobs, as one zod schema: `POST /__sim/config` bodies, the constructor and main.ts
// all go through it, so a typo in a test's config is an error instead of a silently ignored field.

const range = z
  .tuple([z.number().int().min(0), z.number().int().min(0)])
  .refine(([min, max]) => min <= max, 'range must be [min, max] with min <= max');

/** Endpoints a fault can be attached to. */
export const SIMULATOR_ENDPOINTS = [
  'create',
  'aiAppRun',
  'status',
  'outputs',
  'cancel',
  'accountStatus',
  'webhookDetail',
  'retryWebhook',
  'getJsonApiFormat',
  'apiCallDemo',
  'files',
  'upload',
  'uploadV2',
  'v2RunWorkflow',
  'v2RunAiApp',
  'v2Query',
  'v2QueueStatus',
] as const;
export type SimulatorEndpoint = (typeof SIMULATOR_ENDPOINTS)[number];

const times = z.number().int().min(1).optional();
export const faultSchema = z.discriminatedUnion('kind', [
  /** Handle the request (a create does create the task), then wait `ms` before replying. */
  z.object({ kind: z.literal('delay'), ms: z.number().int().min(0), times }),
  /** Reply with this HTTP status and an HTML body, without handling the request. */
  z.object({ kind: z.literal('http'), status: z.number().int().min(400).max(599), times }),
  /** Destroy the connection without a reply; with `afterHandling` the request took effect first. */
  z.object({ kind: z.literal('drop'), afterHandling: z.boolean().default(false), times }),
  /** Reply HTTP 200 with this business error envelope, without handling the request. */
  z.object({ kind: z.literal('code'), code: z.number().int(), msg: z.string().optional(), times }),
  /** Reply HTTP 200 with a body that is not a RunningHub envelope. */
  z.object({ kind: z.literal('malformed'), times }),
  /**
   * Handle the request, send the headers and half the body, then drop the connection. With the full
   * Content-Length by default; `chunked`: without one (chunked encoding, as a CDN streaming a file does),
   * so only the missing last chunk shows that the body is incomplete.
   */
  z.object({ kind: z.literal('truncate'), chunked: z.boolean().default(false), times }),
  /** Handle the request, send the headers and half the body, then nothing more: the connection stays open until the client gives up. */
  z.object({ kind: z.literal('stall'), times }),
]);
export type SimulatorFault = z.infer<typeof faultSchema>;
/** A fault as a caller writes it (defaults not yet filled in). */
export type SimulatorFaultInput = z.input<typeof faultSchema>;

export const keyConfigSchema = z.strictObject({
  concurrency: z.number().int().min(0).optional(),
  remainCoins: z.number().min(0).optional(),
  /**
   * An enterprise key's money wallet, as accountStatus `remainMoney` (a string) with `currency`; unset:
   * both null, as the docs' NORMAL (consumer) example shows them.
   */
  remainMoney: z.number().min(0).optional(),
  currency: z.string().min(1).default('CNY'),
  apiType: z.string().default('NORMAL'),
  free: z.boolean().default(false),
});
export type SimulatorKeyConfig = z.infer<typeof keyConfigSchema>;

const outputSpecSchema = z.object({
  nodeId: z.string(),
  fileType: z.string().default('png'),
  count: z.number().int().min(1).default(1),
});

export const targetSpecSchema = z.strictObject({
  /** nodeId → field names the node accepts. */
  nodes: z.record(z.string(), z.array(z.string())).default({}),
  outputs: z.array(outputSpecSchema).min(1).optional(),
  coinsPerRun: z.number().min(0).optional(),
});
export type SimulatorTargetSpec = z.infer<typeof targetSpecSchema>;

export const simulatorOptionsSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** 0 = any free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Base of the output file URLs; default http://<host>:<port> (set it when clients reach us by another name). */
  publicUrl: z.url().optional(),
  /** Slots per key unless the key's own config says otherwise. */
  concurrency: z.number().int().min(0).default(3),
  /**
   * What v2 queue/status reports as `concurrentLimit`, whatever the enforced `concurrency`: lets a test
   * tell the processor's own cap from the 421s the simulator would give. Unset or null (to clear it
   * through POST /__sim/config): the enforced limit.
   */
  reportedConcurrentLimit: z.number().int().min(0).nullish(),
  /** QUEUED tasks count toward the limit (the reference's default). */
  countQueuedTowardLimit: z.boolean().default(true),
  /** Per-key settings; with `acceptAnyKey` false (the default, as RunningHub) only these keys exist (others get 802). */
  keys: z.record(z.string(), keyConfigSchema).default({}),
  acceptAnyKey: z.boolean().default(false),
  /**
   * Strict (the default, as RunningHub): only the known workflows (`workflows` and `workflowsDir`) and
   * `webapps` exist (380 / 901), with their node ids and field names and string values (803).
   * Lenient mode is `{ strict: false, acceptAnyKey: true }` (LENIENT_SIMULATOR).
   */
  strict: z.boolean().default(true),
  /** Folder of API-format workflow JSON files named `<workflowId>.json`; default the shipped one (workflows.ts). */
  workflowsDir: z.string().min(1).optional(),
  workflows: z.record(z.string(), targetSpecSchema).default({}),
  webapps: z.record(z.string(), targetSpecSchema).default({}),
  /** A create whose `image` field names a file not uploaded with the same key gets 803 (part of strict mode). */
  requireUploadedImages: z.boolean().default(false),
  /** Size of each output file in bytes (a valid PNG padded with a private chunk); 0: a small 8×8 PNG. */
  outputBytes: z.number().int().min(0).max(1024 * 1024 * 1024).default(0),
  /** Outputs of a task whose workflow/app has none configured. */
  defaultOutputs: z.array(outputSpecSchema).min(1).default([{ nodeId: '9', fileType: 'png', count: 1 }]),
  coinsPerRun: z.number().min(0).default(1),
  remainCoins: z.number().min(0).default(1_000_000),
  /** How long a task stays QUEUED, then RUNNING: uniform in [min, max] ms. */
  queuedMs: range.default([500, 1500]),
  runningMs: range.default([2000, 5000]),
  /** Share of tasks that end FAILED (0..1). */
  failureRate: z.number().min(0).max(1).default(0),
  /** Outcomes for the next created tasks, used up in order before `failureRate` applies. */
  nextOutcomes: z.array(z.enum(['SUCCESS', 'FAILED', 'NO_OUTPUT'])).default([]),
  /**
   * Outputs reply while RUNNING: `data: {netWssUrl}` as the official ComfyUI node reads it (default),
   * or `data: null` as other docs show it.
   */
  runningOutputsDataMode: z.enum(['null', 'wss']).default('wss'),
  /** Send task ids as JSON numbers instead of strings (the schema says int64): tests the client's parsing. */
  numericTaskIds: z.boolean().default(false),
  /** Report ComfyUI `node_errors` in promptTips on create (code 0): the "submitted but broken" path. */
  promptNodeErrors: z.boolean().default(false),
  webhook: z
    .object({
      maxRetries: z.number().int().min(0).default(3),
      timeoutMs: z.number().int().min(1).default(5000),
      /** Wait before retry n (the last value repeats). */
      backoffMs: z.array(z.number().int().min(0)).min(1).default([1000, 5000, 30000]),
    })
    .prefault({}),
  /**
   * Task transitions wait for `advance(ms)` (POST /__sim/advance) instead of real time: deterministic
   * tests with tasks held QUEUED/RUNNING. Chosen at start only. Webhook retries and faults stay real-time.
   */
  manualClock: z.boolean().default(false),
  /** Finished tasks kept (oldest forgotten first), so a long `npm start` does not grow without bound. */
  maxFinishedTasks: z.number().int().min(1).default(20_000),
  /** Faults per endpoint; `times` counts down and the fault disappears at 0. */
  faults: z.partialRecord(z.enum(SIMULATOR_ENDPOINTS), faultSchema).default({}),
});

export type SimulatorOptions = z.infer<typeof simulatorOptionsSchema>;
/** What a caller may pass: any subset, defaults fill the rest. */
export type SimulatorOptionsInput = z.input<typeof simulatorOptionsSchema>;

/** The simulator as it was before strict became the default: any key, any workflow, any node. */
export const LENIENT_SIMULATOR = { strict: false, acceptAnyKey: true } as const satisfies SimulatorOptionsInput;
