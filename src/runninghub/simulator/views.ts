import { z } from 'zod';

// What the simulator reports about itself (GET /__sim/counters, GET /__sim/tasks). Declared as schemas
// so a test or benchmark talking to a simulator in another process parses the replies like any other.

const countMap = z.record(z.string(), z.number());
const taskStatusSchema = z.enum(['QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED']);

export const simulatorCountersSchema = z.object({
  /** Tasks accepted by create / ai-app/run. */
  tasksCreated: z.number(),
  /** Creates refused with 421 TASK_QUEUE_MAXED. */
  createsRefused421: z.number(),
  /** Creates refused for any other business reason (802, 380, 803, 416…), by code. */
  createsRefusedByCode: countMap,
  /** QUEUED + RUNNING now, in total and per key. */
  inFlight: z.number(),
  inFlightByKey: countMap,
  /** The highest QUEUED + RUNNING count one key ever had at once (max over keys), and per key. */
  maxInFlight: z.number(),
  maxInFlightByKey: countMap,
  /** sha256 (16 hex) of each accepted create's body → how many times that exact body was accepted. */
  createsByFingerprint: countMap,
  /** Sum over fingerprints of (count - 1): creates that repeated an earlier body. */
  duplicateCreates: z.number(),
  /** Requests per endpoint (create, aiAppRun, status, outputs, cancel, accountStatus, files, unknown). */
  callsByEndpoint: countMap,
  tasksByStatus: z.record(taskStatusSchema, z.number()),
  cancels: z.number(),
  faultsInjected: z.number(),
  webhookAttempts: z.number(),
  webhooksDelivered: z.number(),
  /** Webhooks given up after all retries. */
  webhooksAbandoned: z.number(),
});
export type SimulatorCounters = z.infer<typeof simulatorCountersSchema>;

export const simulatorTaskViewSchema = z.object({
  taskId: z.string(),
  kind: z.enum(['workflow', 'app', 'external']),
  /** The API generation it was created through. */
  api: z.enum(['v1', 'v2']),
  /** As the create sent it, or null. */
  instanceType: z.string().nullable(),
  targetId: z.string().nullable(),
  status: taskStatusSchema,
  fingerprint: z.string().nullable(),
  /** Epoch ms. */
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  webhookUrl: z.string().nullable(),
  /** `at`: answered or given up (epoch ms); `sentAt`: the POST handed to the operating system (sub-millisecond). */
  webhookAttempts: z.array(z.object({ at: z.number(), sentAt: z.number().optional(), ok: z.boolean(), result: z.string() })),
  /** File URLs once SUCCESS. */
  outputs: z.array(z.string()),
});
export type SimulatorTaskView = z.infer<typeof simulatorTaskViewSchema>;

/** What the simulator serves at one output's fileUrl: what a kept copy must match. */
export interface ServedOutput {
  sha256: string;
  size: number;
  /** How many times the whole file went out (faults that cut a reply short do not count). */
  servedInFull: number;
}
