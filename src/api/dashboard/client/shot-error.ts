// How a failed shot's error reads on its card (a pure function: unit-tested without a browser).
import type { Task } from './types.js';

/**
 * A failed shot's error, the part a producer can act on first. RunningHub's failures read from the
 * general to the particular ("APIKEY_TASK_STATUS_ERROR | KSampler, node 3 | RuntimeError: out of
 * memory"): the last part is the reason, the rest (with the code) says where it came from.
 */
export function shotErrorText(error: NonNullable<Task['error']>): { reason: string; source: string } {
  const parts = error.message.split(' | ').map((part) => part.trim()).filter((part) => part !== '');
  const reason = parts.pop();
  if (reason === undefined) return { reason: error.code, source: '' };
  return { reason, source: parts.length > 0 ? `${error.code}: ${parts.join(' | ')}` : error.code };
}
