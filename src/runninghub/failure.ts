import type { TaskFailure } from './types.js';

/**
 * One line for a failed task, as stored in ai_tasks.error_message: RunningHub's message, then where
 * ComfyUI failed and what it raised. Whether the failure arrived by webhook or by the outputs poll,
 * the stored text is the same.
 */
export function describeTaskFailure(failure: TaskFailure): string {
  const reason = failure.failedReason;
  if (!reason) return failure.message;
  const where = [reason.nodeName, reason.nodeId ? `node ${reason.nodeId}` : null].filter(Boolean).join(', ');
  const what = [reason.exceptionType, reason.exceptionMessage].filter(Boolean).join(': ');
  return [failure.message, where, what].filter(Boolean).join(' | ');
}
