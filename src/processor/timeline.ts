// A debug timeline of slot handovers and keepings (TASK_PROCESSOR_TIMELINE_FILE): high-resolution wall-clock
// marks of the steps between a slot freeing and the next create (notification in, loop pass, claim, create
// sent and answered) and of a task's keeping (taken, each output's transfer and disk steps, the commit),
// kept in memory and written as JSON lines when the processor stops. It is for bench/processor.ts and
// bench/output-keeping.ts, which line them up; it is not a log (nothing is written while the processor
// runs, so it does not disturb what it measures).
import { writeFileSync } from 'node:fs';

export type TimelineStep =
  | 'notified'
  | 'woke'
  | 'claim-start'
  | 'claim-end'
  | 'create-sent'
  | 'create-answered'
  | 'recorded'
  | 'pass-end'
  // One task's keeping (keep.ts): taken, then per output n request → headers → last byte → fdatasync → rename,
  // then the folder's fsync and the SUCCESS commit.
  | 'keep-taken'
  | 'keep-request'
  | 'keep-headers'
  | 'keep-last-byte'
  | 'keep-datasynced'
  | 'keep-renamed'
  | 'keep-dir-synced'
  | 'keep-committed';

export interface TimelineMark {
  step: TimelineStep;
  /** Milliseconds since the epoch, with the sub-millisecond part of performance.now(). */
  at: number;
  channel?: string;
  taskIds?: string[];
  taskId?: string;
  runninghubTaskId?: string;
  /** The output number, for the keeping steps of one output. */
  n?: number;
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
