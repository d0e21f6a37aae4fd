import { z } from 'zod';
import { parseJsonKeepingBigIntegers } from './json.js';
import { envelopeSchema, outcomeOfEnvelope, webhookBodySchema } from './schemas.js';
import type { WebhookEvent } from './types.js';

export class InvalidWebhookError extends Error {
  override name = 'InvalidWebhookError';
}

/**
 * Parse RunningHub's webhook POST body: `{event: "TASK_END", taskId, eventData: "<outputs reply as JSON>"}`.
 * Pass the raw body text when you can, so a task id sent as a JSON number keeps all its digits.
 */
export function parseWebhookEvent(body: unknown): WebhookEvent {
  const value = typeof body === 'string' ? parseOrThrow(body, 'body') : body;
  const parsed = webhookBodySchema.safeParse(value);
  if (!parsed.success) throw new InvalidWebhookError(`webhook body: ${z.prettifyError(parsed.error)}`);
  const { event, taskId, eventData } = parsed.data;
  const data = typeof eventData === 'string' ? parseOrThrow(eventData, 'eventData') : eventData;
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

function parseOrThrow(text: string, what: string): unknown {
  try {
    return parseJsonKeepingBigIntegers(text);
  } catch (error) {
    throw new InvalidWebhookError(`webhook ${what} is not JSON: ${(error as Error).message}`);
  }
}
