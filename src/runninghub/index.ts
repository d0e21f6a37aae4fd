// Public surface of the RunningHub component: the HTTP client and its error classification. The
// local simulator is not part of the production programs: it has its own entry,
// src/runninghub/simulator/index.ts, so the api and the processor bundles carry none of it.
export type {
  NodeInfo,
  CreateTaskRequest,
  WorkflowTaskRequest,
  AppTaskRequest,
  CreatedTask,
  TaskStatus,
  TaskOutcome,
  TaskOutput,
  TaskFailure,
  FailedReason,
  AccountStatus,
  WorkflowApiFormat,
  WebhookEvent,
} from './types.js';
export type { QueueStatus } from './queue-status.js';
export { RunningHubError, isRunningHubError, wasNeverSent, classifyCode, isBalanceRefusal, isBalanceFailure, type RunningHubErrorKind } from './errors.js';
export {
  createRunningHubClient,
  type RunningHubClient,
  type RunningHubClientOptions,
  type RequestOptions,
  type RunningHubApi,
} from './client.js';
export { runningHubEnvSchema, runningHubClientOptionsFromEnv, type RunningHubEnv } from './env.js';
export { parseWebhookEvent, InvalidWebhookError, type ParseWebhookOptions } from './webhook.js';
export { describeTaskFailure } from './failure.js';
export { parseJsonKeepingBigIntegers, parseRunningHubJson } from './json.js';
export { createUploader, uploadFileV1, uploadFileV2, type UploadTarget, type UploadFile, type UploadedFile } from './upload.js';
