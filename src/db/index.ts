// Public surface of the database component. Other components import from here only.
export {
  createPool,
  isDatabaseUnavailable,
  isLoginRefused,
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
  RUNNINGHUB_PHASES,
  TASK_EVENT_KINDS,
  END_EVENT_KINDS,
  LIVE_CHANNELS,
  type RunningHubPhase,
  type TaskEventKind,
  type TaskStatus,
  type EndStatus,
  type TaskPhase,
  type Transition,
  type RemoteResult,
  type TaskResult,
  type ResultSource,
  type TaskEnd,
} from './tasks/life.js';
export { INSTANCE_TYPES, type InstanceType } from './tasks/row.js';
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
  extendClaimLease,
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
  findTaskEnd,
  type FoundTaskEnd,
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
  listProcessorErrors,
  type ProcessorErrorGroup,
  type ProcessorBeat,
  type LiveProcessor,
} from './processors.js';
export { getSystemStats, type SystemStats } from './system-stats.js';
// The dashboard's Queue page: slot holders, backlog, the last hour, failure groups.
export {
  getQueueOverview,
  listFailureGroups,
  type QueueOverview,
  type AccountSlots,
  type SlotHolder,
  type ThroughputMinute,
  type FailureGroup,
} from './tasks/overview.js';
export { pauseAccount, resumeAccount, takeDueBalanceCheck, listAccountPauses, type AccountPause } from './account-pause.js';
export {
  getMonitoringSnapshot,
  listTasksFinishedSince,
  type MonitoringSnapshot,
  type ProcessorHealth,
  type FinishedTaskTiming,
  type FinishedTasksPage,
} from './monitoring.js';
// Live progress, callbacks and retention (migration 007).
export {
  taskEventSchema,
  parseTaskEventPayload,
  eventMatches,
  readTaskEventsAfter,
  latestTaskEventId,
  recordRunningHubPhase,
  recordTaskEvent,
  type TaskEvent,
  type TaskEventFilter,
} from './live/events.js';
export {
  claimDueCallbacks,
  recordCallbackOutcome,
  listTaskCallbacks,
  listStoryboardCallbacks,
  msUntilNextCallback,
  type DueCallback,
  type CallbackOutcome,
  type CallbackDelivery,
  type CallbackState,
} from './live/callbacks.js';
export { pruneFinished, type PruneInput, type PruneResult, type RetentionMode } from './live/retention.js';
// Storyboards (batches of shots) and profiles (named limits within the account's).
export {
  STORYBOARD_STATUSES,
  statusOf,
  storyboardFingerprint,
  createStoryboard,
  getStoryboard,
  listStoryboards,
  cancelStoryboard,
  retryStoryboard,
  type NewStoryboard,
  type StoryboardSettings,
  type StoryboardStatus,
  type StoryboardCounts,
  type Storyboard,
  type StoryboardWithDetails,
  type StoryboardCursor,
  type StoryboardListFilter,
  type StoryboardPage,
  type CreateStoryboardResult,
  type StoryboardActionResult,
} from './storyboards/api.js';
export { syncProfiles, getProfileUsage, type ProfileLimits, type ProfileUsage } from './storyboards/profiles.js';
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
