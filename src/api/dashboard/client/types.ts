// The replies the dashboard reads, as the server's own zod schemas describe them (types only: nothing of
// zod or the server ends up in the bundle; the server validates its replies against these schemas).
import type { z } from 'zod';
import type { accessSchema, failuresSchema, queueSchema } from '../../dashboard-schemas.js';
import type { taskPageSchema, taskSchema } from '../../schemas.js';
import type { storyboardPageSchema, storyboardSchema, storyboardSummarySchema } from '../../storyboard-schemas.js';

export type Queue = z.output<typeof queueSchema>;
export type Failures = z.output<typeof failuresSchema>;
export type Access = z.output<typeof accessSchema>['access'];
export type Task = z.output<typeof taskSchema>;
export type TaskPage = z.output<typeof taskPageSchema>;
export type StoryboardSummary = z.output<typeof storyboardSummarySchema>;
export type Storyboard = z.output<typeof storyboardSchema>;
export type StoryboardPage = z.output<typeof storyboardPageSchema>;

/** What every page gets: what the token may do, and a way to report an action's outcome. */
export interface PageContext {
  readonly access: Access;
  /** Settles once the access is known: a view awaits it before it draws buttons (or rejects: no token). */
  ready(): Promise<void>;
  /** Show a message in the page's status line (role=status): an action's outcome or error. */
  say(message: string, kind?: 'ok' | 'error'): void;
  /** Ask for a refresh of the page now (after an action). */
  refresh(): void;
  /** Name the tab after what the page shows (a storyboard, a task), and the top link it belongs under. */
  titled(name: string, section?: 'queue' | 'tasks' | 'storyboards'): void;
}

export interface View {
  refresh(): Promise<void>;
  dispose?(): void;
}
