// A debug timeline of slot handovers (TASK_PROCESSOR_TIMELINE_FILE): high-resolution wall-clock marks
// of the steps between a slot freeing and the next create (notification in, loop pass, claim, create
// sent and answered), kept in memory and written as JSON lines when the processor stops. It is for
// bench/processor.ts, which lines them up with the simulator's own times; it is not a log (nothing is
// written while the processor runs, so it does not disturb what it measures).
import { writeFileSync } from 'node:fs';

export type TimelineStep =
  | 'notified'
  | 'woke'
  | 'claim-start'
  | 'claim-end'
  | 'create-sent'
  | 'create-answered'
  | 'recorded'
  | 'pass-end';

export interface TimelineMark {
  step: TimelineStep;
  /** Milliseconds since the epoch, with the sub-millisecond part of performance.now(). */
  at: number;
  channel?: string;
  taskIds?: string[];
  taskId?: string;
  runninghubTaskId?: string;
}

export interface Timeline {
  mark(step: TimelineStep, details?: Omit<TimelineMark, 'step' | 'at'>): void;
  /** Write the marks to the file (once, at stop). */
  save(): void;
}

/** Stop recording past this many marks: a timeline left on by mistake must not grow without end. */
const MAX_MARKS = 200_000;

const noTimeline: Timeline = { mark: () => undefined, save: () => undefined };

export function createTimeline(file: string | undefined): Timeline {
  if (file === undefined) return noTimeline;
  const marks: TimelineMark[] = [];
  return {
    mark(step, details) {
      if (marks.length < MAX_MARKS) marks.push({ step, at: performance.timeOrigin + performance.now(), ...details });
    },
    save() {
      writeFileSync(file, marks.map((m) => JSON.stringify(m)).join('\n') + '\n');
    },
  };
}
