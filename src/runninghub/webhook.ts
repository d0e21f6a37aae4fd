import { z } from 'zod';
import { replaceUnsafeTextIn } from '../shared/text.js';
import { parseRunningHubJson } from './json.js';
import { envelopeSchema, outcomeOfEnvelope, webhookBodySchema } from './schemas.js';
import { outcomeOfV2Task, v2TaskSchema } from './schemas-v2.js';
import type { WebhookEvent } from './types.js';

export class InvalidWebhookError extends Error {
  override name = 'InvalidWebhookError';
}

export interface ParseWebhookOptions {
  /**
   * Called with the fields whose text could not be stored (U+0000, lone surrogates) and was replaced
   * by U+FFFD: the event is still used (src/shared/text.ts), the caller notes it in its log.
   */
  onTextReplaced?: (fields: string[]) => void;
}

/**
 * Parse RunningHub's webhook POST body: `{event: "TASK_END", taskId, eventData: "<outputs reply as JSON>"}` (v1),
 * or, for a v2-submitted task, the v2 task object `{taskId, status, results…}` (a body without `event`).
 * Pass the raw body text when you can, so a task id sent as a JSON number keeps all its digits.
 */
export function parseWebhookEvent(body: unknown, options: ParseWebhookOptions = {}): WebhookEvent {
  const note = options.onTextReplaced;
  const value = typeof body === 'string' ? parseOrThrow(body, 'body', note) : repaired(body, 'body', note);
  if (value !== null && typeof value === 'object' && !('event' in value)) return v2Event(value);
  const parsed = webhookBodySchema.safeParse(value);
  if (!parsed.success) throw new InvalidWebhookError(`webhook body: ${z.prettifyError(parsed.error)}`);
  const { event, taskId, eventData } = parsed.data;
  const data = typeof eventData === 'string' ? parseOrThrow(eventData, 'eventData', note) : repaired(eventData, 'eventData', note);
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) throw new InvalidWebhookError(`webhook eventData: ${z.prettifyError(envelope.error)}`);
  const result = outcomeOfEnvelope(envelope.data);
  if ('error' in result) {
    // A terminal event that is neither outputs nor 805: keep RunningHub's code and message as the failure.
    return { event, taskId, outcome: { status: 'FAILED', error: { code: result.error.code, message: result.error.msg, failedReason: null } } };
  }
  const { outcome } = result;
  if (outcome.status !== 'SUCCESS' && outcome.status !== 'FAILED') {
    throw new InvalidWebhookError(`webhook eventData describes a task still ${outcome.status}`);
  }
  return { event, taskId, outcome };
}

/** A v2-submitted task's webhook: the v2 query object itself (`{taskId, status, results…}`). */
function v2Event(value: object): WebhookEvent {
  const parsed = v2TaskSchema.safeParse(value);
  if (!parsed.success) throw new InvalidWebhookError(`webhook body (v2): ${z.prettifyError(parsed.error)}`);
  const { taskId } = parsed.data;
  if (!taskId) throw new InvalidWebhookError('webhook body (v2) has no taskId');
  const outcome = outcomeOfV2Task(parsed.data);
  if (!outcome) throw new InvalidWebhookError('webhook body (v2) has no status');
  if (outcome.status === 'SUCCESS' || outcome.status === 'FAILED') return { event: 'TASK_END', taskId, outcome };
  throw new InvalidWebhookError(`webhook body (v2) describes a task still ${outcome.status}`);
}

function repaired(value: unknown, what: string, note: ParseWebhookOptions['onTextReplaced']): unknown {
  const result = replaceUnsafeTextIn(value);
  if (result.repairedPaths.length > 0) note?.(result.repairedPaths.map((path) => `${what}.${path}`));
  return result.value;
}

function parseOrThrow(text: string, what: string, note: ParseWebhookOptions['onTextReplaced']): unknown {
  try {
    return parseRunningHubJson(text, note && ((paths) => note(paths.map((path) => `${what}.${path}`))));
  } catch (error) {
    throw new InvalidWebhookError(`webhook ${what} is not JSON: ${(error as Error).message}`);
  }
}
