// Public surface of the database component. Other components import from here only.
export {
  createPool,
  isDatabaseUnavailable,
  UnsafeTextParameterError,
  isUnsafeTextParameter,
  type PoolSettings, type Pool, type PoolClient } from './pool.js';
export { runMigrations, loadMigrations, MIGRATIONS_DIR, type Migration } from './migrate.js';
export { startEmbeddedPostgres, findFreePort, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded.js';
// The task's life (statuses, phases, transitions, results, wake-ups): src/db/tasks/life.ts.
export {
  TASK_STATUSES,
  TASK_PHASES,
  TRANSITIONS,
  ALLOWED_STATUS_CHANGES,
  ILLEGAL_TRANSITION_SQLSTATE,
  IllegalTransitionError,
  isAllowedStatusChange,
  assertStatusChange,
  assertEndOfActive,
  asIllegalTransition,
  END_STATUSES,
  endOf,
  TASK_CHANNELS,
  type TaskStatus,
  type EndStatus,
  type TaskPhase,
  type Transition,
  type RemoteResult,
  type TaskResult,
  type ResultSource,
  type TaskEnd,
} from './tasks/life.js';
export { taskOutputSchema, nodeInfoSchema, nodeInfoListSchema, type NodeInfo, type TaskOutput, type NewTask, type AiTask } from './tasks/row.js';
// The API's statements.
export {
  requestFingerprint,
  createTask,
  getTask,
  listTasks,
  cancelTask,
  retryTask,
  countTasksByStatus,
  getTaskStats,
  type CreateTaskResult,
  type TaskCursor,
  type TaskListFilter,
  type TaskPage,
  type TransitionResult,
  type TaskStats,
} from './tasks/api.js';
// The queue (the processor's statements).
export {
  ensureAccount,
  getAccountUsage,
  claimPendingTasks,
  finishTask,
  requeueTask,
  recoverExpiredClaims,
  takeTasksToCheck,
  cancelRequestedPendingTasks,
  msUntilNextDueTask,
  type ClaimedTask,
  type ClaimRequest,
  type AccountUsage,
  type FinishedTask,
  type TaskRef,
  type RequeuedTask,
  type RecoveredClaim,
  type TaskToCheck,
} from './tasks/queue.js';
// Results from every source, and webhook events.
export {
  applyTaskResult,
  recordSubmission,
  recordPolledResult,
  recordWebhookResult,
  applyStoredWebhookResults,
  type SubmissionRecord,
  type WebhookRecord,
} from './tasks/results.js';
export {
  recordHeartbeat,
  markProcessorStopped,
  listLiveProcessors,
  recordProcessorError,
  type ProcessorBeat,
  type LiveProcessor,
} from './processors.js';
export { getSystemStats, type SystemStats } from './system-stats.js';
export {
  getMonitoringSnapshot,
  listTasksFinishedSince,
  type MonitoringSnapshot,
  type ProcessorHealth,
  type FinishedTaskTiming,
  type FinishedTasksPage,
} from './monitoring.js';
// Kept outputs (the keepingOutputs phase) and uploaded reference images (migration 004).
export {
  keptOutputSchema,
  startKeepingOutputs,
  takeOutputsToKeep,
  finishKeepingOutputs,
  failKeepingOutputs,
  extendKeepingLease,
  type KeptOutput,
  type TaskToKeep,
} from './tasks/outputs.js';
export { OUTPUTS_NOT_KEPT } from './tasks/life.js';
export { insertUpload, getUploads, findRunningHubUpload, recordRunningHubUpload, type Upload } from './uploads.js';
