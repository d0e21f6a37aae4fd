// Public surface of the RunningHub component: the HTTP client, its error classification, and the
// local simulator. Other components import from here only.
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
  WebhookEvent,
} from './types.js';
export { RunningHubError, isRunningHubError, classifyCode, type RunningHubErrorKind } from './errors.js';
export {
  createRunningHubClient,
  type RunningHubClient,
  type RunningHubClientOptions,
  type RequestOptions,
} from './client.js';
export { runningHubEnvSchema, runningHubClientOptionsFromEnv, type RunningHubEnv } from './env.js';
export { parseWebhookEvent, InvalidWebhookError, type ParseWebhookOptions } from './webhook.js';
export { describeTaskFailure } from './failure.js';
export { parseJsonKeepingBigIntegers, parseRunningHubJson } from './json.js';
export {
  startSimulator,
  connectSimulator,
  type RunningSimulator,
  type SimulatorControl,
  type SimulatorCounters,
  type SimulatorTaskView,
} from './simulator/index.js';
export {
  simulatorOptionsSchema,
  type SimulatorOptions,
  type SimulatorOptionsInput,
  type SimulatorFault,
  type SimulatorEndpoint,
} from './simulator/options.js';
