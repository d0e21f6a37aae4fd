// The text rule (text.ts) as a zod check, for the API's schemas. Kept apart from text.ts so that the
// supervisor's XML-RPC codec and config reader, which use the rule, do not pull zod into supervisorctl's
// small bundle (test/supervisor/supervisorctl-main.test.ts guards it).
import { z } from 'zod';
import { describeUnsafeText, findUnsafeText } from './text.js';

/**
 * Refinement for zod string schemas: `z.string().max(100).check(safeTextCheck)`. `safeText()` is the
 * same as a ready-made schema. The rule's own message names the problem; zod adds the field's path.
 */
export const safeTextCheck = z.superRefine<string>((text, ctx) => {
  const finding = findUnsafeText(text);
  if (finding) ctx.addIssue({ code: 'custom', message: describeUnsafeText(finding), input: text });
});

export function safeText(): z.ZodString {
  return z.string().check(safeTextCheck);
}
