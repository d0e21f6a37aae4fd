// The prompt a shot card shows (a pure function: unit-tested without a browser).
import type { Task } from './types.js';

/**
 * The shot's prompt, to tell the frames apart: its longest text input that is not a reference (an
 * upload, a URL, a RunningHub file name) or a number such as a seed. Workflows name their prompt field
 * as they like ("text", "prompt", …), so the longest text is the one taken. Null when there is none.
 */
export function promptOf(shot: Pick<Task, 'nodeInfoList'>): string | null {
  let best: string | null = null;
  for (const { fieldValue } of shot.nodeInfoList) {
    const text = fieldValue.trim();
    if (text === '' || /^(upload:|https?:\/\/|api\/)/i.test(text) || /^-?[\d.]+$/.test(text) || /\.(png|jpe?g|webp|gif)$/i.test(text)) continue;
    if (best === null || text.length > best.length) best = text;
  }
  return best;
}
